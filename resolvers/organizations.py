"""Regions, unit profiles, supervising units, members."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from models.enums import OrganizationKind as Kind
from resolvers.common import attempt, signed_in
from schema.context import Context
from schema.ids import parse_global_id
from schema.pagination import Connection, keyset_connection
from schema.permissions import IsAuthenticated, bad_argument
from schema.types import (
    MemberRole,
    MembershipType,
    MutationError,
    OrganizationKind,
    OrganizationType,
    RegionType,
)
from services import organizations
from services.errors import ServiceError
from services.regions import children_of, get_region


@strawberry.input
class UnitProfileInput:
    name: str
    kind: OrganizationKind
    region_code: str
    contact_name: str
    contact_phone: str
    address: str
    intro: str | None = None


@strawberry.type
class SaveUnitProfilePayload:
    organization: OrganizationType | None = None
    errors: list[MutationError] = strawberry.field(default_factory=list)


@strawberry.type
class AddMemberPayload:
    membership: MembershipType | None = None
    errors: list[MutationError] = strawberry.field(default_factory=list)


@strawberry.type
class OrganizationsQuery:
    @strawberry.field(description="Children of a region; the provinces when parentCode is null.")
    async def regions(self, parent_code: str | None = None) -> list[RegionType]:
        if parent_code is not None and await get_region(parent_code) is None:
            raise bad_argument("行政区划代码无效", "INVALID_REGION")
        return await children_of(parent_code)  # type: ignore[return-value]

    @strawberry.field(description="Supervising units (归口单位) of a kind, by name, in a region.")
    async def supervising_units(
        self,
        kind: OrganizationKind,
        search: str | None = None,
        region_code: str | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[OrganizationType]:
        try:
            query = await organizations.search_supervising_units(Kind(kind), search, region_code)
        except ServiceError as e:
            raise bad_argument(e.errors[0].message, e.errors[0].code.value) from e
        return await keyset_connection(query, first=first, after=after)


@strawberry.type
class OrganizationsMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Create the caller's unit on first use (the caller becomes ADMIN), or update.",
    )
    async def save_unit_profile(
        self,
        info: Info[Context, None],
        input: UnitProfileInput,
        organization_id: strawberry.ID | None = None,
    ) -> SaveUnitProfilePayload:
        user, grants = await signed_in(info)
        profile = organizations.UnitProfile(
            name=input.name,
            kind=Kind(input.kind),
            region_code=input.region_code,
            contact_name=input.contact_name,
            contact_phone=input.contact_phone,
            address=input.address,
            intro=input.intro,
        )
        org, errors = await attempt(
            lambda: organizations.save_unit_profile(
                user,
                grants,
                profile,
                organization_id=(
                    parse_global_id(organization_id, "Organization", "organizationId")
                    if organization_id
                    else None
                ),
                ip=info.context.client_ip,
            )
        )
        info.context._grants = None  # a new unit changes the caller's memberships
        return SaveUnitProfilePayload(organization=org, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="An organization's admin (or a national admin) gives a person a role in it.",
    )
    async def add_member(
        self,
        info: Info[Context, None],
        organization_id: strawberry.ID,
        phone: str,
        role: MemberRole,
    ) -> AddMemberPayload:
        user, grants = await signed_in(info)
        membership, errors = await attempt(
            lambda: organizations.add_member(
                info.context.runtime,
                user,
                grants,
                parse_global_id(organization_id, "Organization", "organizationId"),
                phone,
                role,
                ip=info.context.client_ip,
            )
        )
        return AddMemberPayload(membership=membership, errors=errors)  # type: ignore[arg-type]
