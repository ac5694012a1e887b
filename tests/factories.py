"""Factories: people, units and memberships made directly, sessions made through the API."""

from __future__ import annotations

from dataclasses import dataclass

from models import Membership, Organization, User
from models.enums import MemberRole, OrganizationKind
from services.clock import now
from services.passwords import hash_password
from services.regions import get_region
from tests.conftest import Api

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
