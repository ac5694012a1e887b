"""Demo data for `make run`: a handful of accounts to try the API with (idempotent)."""

from __future__ import annotations

from dataclasses import dataclass

from models import Membership, Organization, User
from models.enums import MemberRole, OrganizationKind
from services.clock import now
from services.organizations import create_national_admin, supervising_association
from services.passwords import hash_password
from services.regions import get_region

DEMO_PASSWORD = "Kepuri2026"  # noqa: S105 (published in the README: demo data only)


@dataclass(frozen=True)
class DemoAccount:
    phone: str
    name: str
    role: str


DEMO_ACCOUNTS = [
    DemoAccount("13800000001", "全国科普日管理员", "national admin (中国科学技术协会 ADMIN)"),
    DemoAccount("13800000002", "四川审核员", "reviewer of 四川省科学技术协会"),
    DemoAccount("13800000003", "成都审核员", "reviewer of 成都市科学技术协会"),
    DemoAccount("13800000004", "锦江填报员", "ADMIN and FILER of 成都市锦江区实验小学"),
    DemoAccount("13800000005", "西宁填报员", "ADMIN of 青海省科技馆"),
    DemoAccount("13800000006", "热心市民", "public user without a unit"),
]


async def _person(phone: str, name: str, password_hash: str) -> User:
    moment = now()
    user, _ = await User.get_or_create(
        phone=phone,
        defaults={
            "name": name,
            "password_hash": password_hash,
            "agreement_accepted_at": moment,
            "password_changed_at": moment,
        },
    )
    return user


async def _unit(name: str, kind: OrganizationKind, region_code: str, contact: User) -> Organization:
    existing = await Organization.filter(name=name, kind=kind).first()
    if existing:
        return existing
    region = await get_region(region_code)
    assert region is not None
    parent = await supervising_association(region)
    return await Organization.create(
        name=name,
        kind=kind,
        parent_id=parent.id if parent else None,
        region_id=region.code,
        province_code=region.province_code,
        prefecture_code=region.prefecture_code,
        contact_name=contact.name,
        contact_phone=contact.phone,
        address=f"{region.name}科普路1号",
        intro="演示单位",
    )


async def _grant(user: User, organization: Organization, role: MemberRole) -> None:
    await Membership.get_or_create(user=user, organization=organization, role=role)


async def seed_demo() -> list[DemoAccount]:
    admin, sichuan, chengdu, filer, xining, public = DEMO_ACCOUNTS
    await create_national_admin(admin.phone, DEMO_PASSWORD, admin.name)
    password_hash = await hash_password(DEMO_PASSWORD)
    sichuan_reviewer = await _person(sichuan.phone, sichuan.name, password_hash)
    await _grant(
        sichuan_reviewer,
        await Organization.get(kind=OrganizationKind.PROVINCIAL_ASSOCIATION, region_id="510000"),
        MemberRole.REVIEWER,
    )
    chengdu_reviewer = await _person(chengdu.phone, chengdu.name, password_hash)
    await _grant(
        chengdu_reviewer,
        await Organization.get(kind=OrganizationKind.MUNICIPAL_ASSOCIATION, region_id="510100"),
        MemberRole.REVIEWER,
    )
    school_filer = await _person(filer.phone, filer.name, password_hash)
    school = await _unit("成都市锦江区实验小学", OrganizationKind.SCHOOL, "510104", school_filer)
    await _grant(school_filer, school, MemberRole.ADMIN)
    await _grant(school_filer, school, MemberRole.FILER)
    qinghai_filer = await _person(xining.phone, xining.name, password_hash)
    museum = await _unit("青海省科技馆", OrganizationKind.VENUE, "630104", qinghai_filer)
    await _grant(qinghai_filer, museum, MemberRole.ADMIN)
    await _person(public.phone, public.name, password_hash)
    return DEMO_ACCOUNTS
