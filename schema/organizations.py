"""The GraphQL types of organizations: outputs, inputs and payloads.

Its resolvers are in resolvers/organizations.py."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry import UNSET
from strawberry.types import Info

from infra.geo import CoordinateSystem
from models import Invitation, Membership, Organization
from models.enums import (
    InvitationStatus,
    MemberRole,
    OrganizationKind,
)
from schema.context import Context
from schema.ids import to_global_id
from schema.node import Node
from schema.types import Error, LocationInput, LocationType, OkPayload, RegionType, located
from services.errors import OrganizationErrorCode
from services.rules import can_view_private


@strawberry.type(
    name="OrganizationError",
    description="A refusal of a mutation on units and members: "
    "the input it concerns, why (in Chinese), and a code.",
)
class OrganizationError(Error[OrganizationErrorCode]):
    pass


@strawberry.type(name="OrganizationOkPayload")
class OrganizationOkPayload(OkPayload[OrganizationError]):
    pass


@strawberry.input
class UnitProfileInput:
    name: str
    kind: OrganizationKind
    region_code: str
    contact_name: str
    contact_phone: str
    address: str
    intro: str | None = None
    location: LocationInput | None = strawberry.field(
        default=UNSET,
        description="A venue's default place: its offline activities take it unless they give "
        "their own (absent: unchanged; null: none).",
    )


@strawberry.type
class SaveUnitProfilePayload:
    organization: OrganizationType | None = None
    errors: list[OrganizationError] = strawberry.field(default_factory=list)


@strawberry.type
class AddMemberPayload:
    membership: MembershipType | None = strawberry.field(
        default=None, description="Null until the person accepts the invitation."
    )
    invitation: InvitationType | None = None
    errors: list[OrganizationError] = strawberry.field(default_factory=list)


@strawberry.type
class InvitationPayload:
    invitation: InvitationType | None = None
    membership: MembershipType | None = None
    errors: list[OrganizationError] = strawberry.field(default_factory=list)


@strawberry.type(name="Organization", description="A unit (单位) in the supervision tree.")
class OrganizationType(Node):
    name: str
    kind: OrganizationKind

    @strawberry.field
    def id(self, root: strawberry.Parent[Organization]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Organization", root.id))

    @strawberry.field
    async def region(
        self, root: strawberry.Parent[Organization], info: Info[Context, None]
    ) -> RegionType:
        return await info.context.loaders.region.load(root.region_id)  # type: ignore[return-value]

    @strawberry.field(description="The supervising organization above this one.")
    async def parent(
        self, root: strawberry.Parent[Organization], info: Info[Context, None]
    ) -> OrganizationType | None:
        if root.parent_id is None:
            return None
        return await info.context.loaders.organization.load(root.parent_id)  # type: ignore[return-value]

    @strawberry.field(
        description="Visible to the unit's members, its associations and national staff."
    )
    async def contact_name(
        self, root: strawberry.Parent[Organization], info: Info[Context, None]
    ) -> str | None:
        return root.contact_name if await _sees_unit(root, info) else None

    @strawberry.field(
        description="Visible to the unit's members, its associations and national staff."
    )
    async def contact_phone(
        self, root: strawberry.Parent[Organization], info: Info[Context, None]
    ) -> str | None:
        return root.contact_phone if await _sees_unit(root, info) else None

    @strawberry.field
    def address(self, root: strawberry.Parent[Organization]) -> str:
        return root.address

    @strawberry.field
    def intro(self, root: strawberry.Parent[Organization]) -> str | None:
        return root.intro

    @strawberry.field(description="Its default place (venues), in the system asked for.")
    def location(
        self,
        root: strawberry.Parent[Organization],
        coordinate_system: CoordinateSystem = CoordinateSystem.WGS84,
    ) -> LocationType | None:
        return located(root.location, coordinate_system)


async def _sees_unit(organization: Organization, info: Info[Context, None]) -> bool:
    if info.context.user is None:
        return False
    return can_view_private(await info.context.grants(), organization)


@strawberry.type(name="Membership")
class MembershipType:
    role: MemberRole

    @strawberry.field
    async def organization(
        self, root: strawberry.Parent[Membership], info: Info[Context, None]
    ) -> OrganizationType:
        return await info.context.loaders.organization.load(root.organization_id)  # type: ignore[return-value]


@strawberry.type(
    name="Invitation",
    description="An invitation to a role in a unit: a membership once the person accepts it.",
)
class InvitationType(Node):
    role: MemberRole
    status: InvitationStatus
    created_at: datetime

    @strawberry.field
    def id(self, root: strawberry.Parent[Invitation]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Invitation", root.id))

    @strawberry.field
    async def organization(
        self, root: strawberry.Parent[Invitation], info: Info[Context, None]
    ) -> OrganizationType:
        return await info.context.loaders.organization.load(root.organization_id)  # type: ignore[return-value]

    @strawberry.field(description="Who invited (their name).")
    async def invited_by(
        self, root: strawberry.Parent[Invitation], info: Info[Context, None]
    ) -> str | None:
        if root.invited_by_id is None:
            return None
        inviter = await info.context.loaders.user.load(root.invited_by_id)
        return inviter.name if inviter else None
