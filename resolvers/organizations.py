"""Regions, unit profiles, supervising units, members."""

from __future__ import annotations

from typing import Literal

import strawberry
from strawberry import UNSET
from strawberry.types import Info

from infra.errors import ServiceError
from infra.geo import Point
from models import Invitation
from models.enums import OrganizationKind as Kind
from resolvers.common import attempt, caller, signed_in
from schema.context import Context
from schema.ids import parse_global_id
from schema.organizations import (
    AddMemberPayload,
    InvitationPayload,
    InvitationType,
    OrganizationError,
    OrganizationOkPayload,
    OrganizationType,
    SaveUnitProfilePayload,
    UnitProfileInput,
)
from schema.pagination import Connection, keyset_connection
from schema.permissions import IsAuthenticated, bad_argument
from schema.types import LocationInput, MemberRole, OrganizationKind, RegionType
from services import organizations
from services.regions import children_of, get_region


@strawberry.type
class OrganizationsQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The caller's invitations still waiting for an answer, newest first.",
    )
    async def my_invitations(self, info: Info[Context, None]) -> list[InvitationType]:
        return await organizations.pending_invitations(caller(info)).limit(100)  # type: ignore[return-value]

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


def _place(given: LocationInput | None) -> Point | Literal["keep"] | None:
    """A profile's place as given: absent keeps the one there, null takes it away."""
    if given is UNSET:
        return "keep"
    return given.point() if given is not None else None


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
            location=_place(input.location),
        )
        org, errors = await attempt(
            OrganizationError,
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
            ),
        )
        info.context._grants = None  # a new unit changes the caller's memberships
        return SaveUnitProfilePayload(organization=org, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="An organization's admin (or a national admin) invites a person to a role in "
        "it; the person becomes a member once they accept (adding oneself needs no invitation).",
    )
    async def add_member(
        self,
        info: Info[Context, None],
        organization_id: strawberry.ID,
        phone: str,
        role: MemberRole,
    ) -> AddMemberPayload:
        user, grants = await signed_in(info)
        made, errors = await attempt(
            OrganizationError,
            lambda: organizations.add_member(
                info.context.runtime,
                user,
                grants,
                parse_global_id(organization_id, "Organization", "organizationId"),
                phone,
                role,
                ip=info.context.client_ip,
            ),
        )
        if isinstance(made, Invitation):
            return AddMemberPayload(invitation=made, errors=errors)  # type: ignore[arg-type]
        return AddMemberPayload(membership=made, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Accept (and become a member) or decline an invitation to a unit.",
    )
    async def answer_invitation(
        self, info: Info[Context, None], id: strawberry.ID, accept: bool
    ) -> InvitationPayload:
        user = caller(info)
        answered, errors = await attempt(
            OrganizationError,
            lambda: organizations.answer_invitation(
                user, parse_global_id(id, "Invitation"), accept, ip=info.context.client_ip
            ),
        )
        if answered is None:
            return InvitationPayload(errors=errors)
        invitation, membership = answered
        return InvitationPayload(invitation=invitation, membership=membership)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Leave a unit (every role in it); its last admin names another first.",
    )
    async def leave_organization(
        self, info: Info[Context, None], organization_id: strawberry.ID
    ) -> OrganizationOkPayload:
        user = caller(info)
        _, errors = await attempt(
            OrganizationError,
            lambda: organizations.leave_organization(
                user,
                parse_global_id(organization_id, "Organization", "organizationId"),
                ip=info.context.client_ip,
            ),
        )
        return OrganizationOkPayload(ok=not errors, errors=errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="A unit's admin removes a member (every role), never the last admin.",
    )
    async def remove_member(
        self, info: Info[Context, None], organization_id: strawberry.ID, user_id: strawberry.ID
    ) -> OrganizationOkPayload:
        user, grants = await signed_in(info)
        _, errors = await attempt(
            OrganizationError,
            lambda: organizations.remove_member(
                user,
                grants,
                parse_global_id(organization_id, "Organization", "organizationId"),
                parse_global_id(user_id, "User", "userId"),
                ip=info.context.client_ip,
            ),
        )
        return OrganizationOkPayload(ok=not errors, errors=errors)
