"""Factories: people, units and memberships made directly, sessions made through the API."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

from infra.clock import now
from infra.passwords import hash_password
from infra.qr import new_token
from models import (
    Activity,
    ActivityStats,
    Campaign,
    JointAction,
    Membership,
    Organization,
    PhaseWindow,
    User,
)
from models.enums import ActivityForm, ActivityStatus, MemberRole, OrganizationKind, Phase
from services.regions import get_region
from tests.conftest import Api, china

PASSWORD = "Passw0rd1"

LOGIN = """
mutation Login($phone: String!, $password: String!) {
  login(phone: $phone, password: $password) { token user { id name } errors { field message code } }
}
"""


@dataclass
class Person:
    user: User
    token: str

    @property
    def phone(self) -> str:
        return self.user.phone


async def make_user(phone: str, name: str = "张三", password: str = PASSWORD) -> User:
    moment = now()
    return await User.create(
        phone=phone,
        name=name,
        password_hash=await hash_password(password),
        agreement_accepted_at=moment,
        password_changed_at=moment,
    )


async def sign_in(api: Api, phone: str, password: str = PASSWORD) -> str:
    data = await api.data(LOGIN, {"phone": phone, "password": password})
    assert data["login"]["errors"] == [], data
    return data["login"]["token"]


async def person(api: Api, phone: str, name: str = "张三") -> Person:
    user = await make_user(phone, name)
    return Person(user, await sign_in(api, phone))


async def make_unit(
    name: str = "成都市锦江区实验小学",
    kind: OrganizationKind = OrganizationKind.SCHOOL,
    region_code: str = "510104",
) -> Organization:
    region = await get_region(region_code)
    assert region is not None
    return await Organization.create(
        name=name,
        kind=kind,
        region_id=region.code,
        province_code=region.province_code,
        prefecture_code=region.prefecture_code,
        contact_name="李老师",
        contact_phone="13900000000",
        address="成都市锦江区科普路1号",
    )


async def association(kind: OrganizationKind, region_code: str) -> Organization:
    """A seeded association (provincial or municipal) of a region."""
    return await Organization.get(kind=kind, region_id=region_code)


async def national_organizer() -> Organization:
    return await Organization.get(kind=OrganizationKind.NATIONAL_ORGANIZER)


async def grant(user: User, organization: Organization, role: MemberRole) -> Membership:
    return await Membership.create(user=user, organization=organization, role=role)


async def member(
    api: Api, phone: str, organization: Organization, role: MemberRole, name: str = "张三"
) -> Person:
    someone = await person(api, phone, name)
    await grant(someone.user, organization, role)
    return someone


async def make_campaign(
    year: int = 2026,
    *,
    filing: tuple[str, str] = ("2026-08-01 00:00", "2026-09-25 23:59"),
    supplement: str = "2026-10-09 23:59",
    summary: str = "2026-10-16 23:59",
    recommendation: tuple[str, str] = ("2026-10-01 00:00", "2026-10-23 23:59"),
) -> Campaign:
    """A campaign shaped like 2020's national one (dates moved to `year`)."""
    campaign = await Campaign.create(
        year=year,
        name=f"{year}年全国科普日",
        theme="科技为民",
        starts_on=date(year, 9, 19),
        ends_on=date(year, 9, 25),
    )
    opens = china(filing[0])
    windows = {
        Phase.FILING: filing,
        Phase.SUPPLEMENT: (filing[0], supplement),
        Phase.SUMMARY: (filing[0], summary),
        Phase.RECOMMENDATION: recommendation,
    }
    for phase, (start, end) in windows.items():
        await PhaseWindow.create(
            campaign=campaign,
            phase=phase,
            region_code=None,
            opens_at=china(start) if phase is not Phase.FILING else opens,
            closes_at=china(end),
        )
    return campaign


async def regional_window(
    campaign: Campaign, phase: Phase, region_code: str, opens: str, closes: str
) -> PhaseWindow:
    return await PhaseWindow.create(
        campaign=campaign,
        phase=phase,
        region_code=region_code,
        opens_at=china(opens),
        closes_at=china(closes),
    )


async def filing_unit(
    api: Api,
    phone: str = "13911110001",
    region_code: str = "510104",
    name: str = "成都市锦江区实验小学",
) -> tuple[Organization, Person]:
    """A school with a complete profile and its filer (FILER and ADMIN)."""
    unit = await make_unit(name, region_code=region_code)
    filer = await member(api, phone, unit, MemberRole.ADMIN, "填报员")
    await grant(filer.user, unit, MemberRole.FILER)
    return unit, filer


async def reviewer_of(api: Api, phone: str, kind: OrganizationKind, region_code: str) -> Person:
    return await member(
        api, phone, await association(kind, region_code), MemberRole.REVIEWER, "审核员"
    )


def activity_input(**overrides: object) -> dict[str, object]:
    """A complete filing form (an offline activity in Chengdu, supervisor "other")."""
    form: dict[str, object] = {
        "title": "走进科技馆：人工智能体验日",
        "description": "带领学生体验人工智能科普展项，并开展互动讲座。",
        "form": "OFFLINE",
        "startsAt": "2026-09-20T09:00:00+08:00",
        "endsAt": "2026-09-20T17:00:00+08:00",
        "regionCode": "510104",
        "address": "成都市锦江区科普路1号",
        "supervisorKind": "OTHER",
        "supervisorName": "成都市锦江区教育局",
        "hostUnits": ["成都市锦江区实验小学"],
        "organizerUnits": ["成都市锦江区科学技术协会", "成都科技馆"],
    }
    form.update(overrides)
    return form


async def make_activity(
    unit: Organization,
    campaign: Campaign,
    *,
    status: ActivityStatus = ActivityStatus.APPROVED,
    region_code: str | None = None,
    starts_at: str = "2026-09-20 09:00",
    ends_at: str = "2026-09-20 17:00",
    title: str = "科普活动",
    form: ActivityForm = ActivityForm.OFFLINE,
    joint_action: JointAction | None = None,
    show_on_cloud: bool = True,
) -> Activity:
    """An activity written directly (for list and permission tests)."""
    region = await get_region(region_code or unit.region_id)
    assert region is not None
    province = await association(OrganizationKind.PROVINCIAL_ASSOCIATION, region.province_code)
    submitted = status is not ActivityStatus.DRAFT
    activity = await Activity.create(
        campaign=campaign,
        organization=unit,
        title=title,
        description="简介",
        form=form,
        starts_at=china(starts_at),
        ends_at=china(ends_at),
        region_id=region.code,
        province_code=region.province_code,
        prefecture_code=region.prefecture_code,
        address="某地",
        supervisor_kind=OrganizationKind.OTHER,
        supervisor=province,
        supervisor_name="其他",
        host_units=[unit.name],
        status=status,
        submitted_at=now() if submitted else None,
        joint_action=joint_action,
        show_on_cloud=show_on_cloud,
        qr_token=new_token() if submitted else None,
    )
    await ActivityStats.create(activity=activity)
    return activity


async def table_state(ignore: frozenset[str] = frozenset({"audit_log"})) -> dict[str, str]:
    """Every table's rows, as a digest per table: a refused call changes none of them, neither a
    count nor a value (a refused sign-in is audited: the audit log is left out by default)."""
    from tortoise import Tortoise

    state = {}
    for model in Tortoise.apps["models"].values():
        if model._meta.db_table in ignore:
            continue
        rows = await model.all().order_by(model._meta.pk_attr).values_list()
        state[model._meta.db_table] = hashlib.sha256(repr(rows).encode()).hexdigest()[:16]
    return state
