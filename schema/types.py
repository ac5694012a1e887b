"""GraphQL object types. Roots are ORM rows: plain fields resolve as attributes, relations through
the request's DataLoaders."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from infra.errors import ServiceError
from models import Favorite, Invitation, Like, Membership, Organization, Region, User
from models.enums import (
    InvitationStatus,
    MemberRole,
    OrganizationKind,
    RegionLevel,
    VerificationPurpose,
)
from schema.context import Context
from schema.ids import to_global_id
from schema.pagination import Connection, list_connection
from schema.permissions import forbidden
from services import engagement
from services.errors import ErrorCode
from services.permissions import is_national_staff
from services.rules import can_view, can_view_private

if TYPE_CHECKING:
    from schema.activity_types import ActivityType

# The enums of models and services, registered as GraphQL enums (strawberry marks the classes).
for _enum in (
    RegionLevel,
    OrganizationKind,
    MemberRole,
    VerificationPurpose,
    InvitationStatus,
    ErrorCode,
):
    strawberry.enum(_enum)


@strawberry.type(description="An expected refusal: which input, why (in Chinese), and a code.")
class MutationError:
    field: str | None
    message: str
    code: ErrorCode


@strawberry.type
class OkPayload:
    ok: bool = False
    errors: list[MutationError] = strawberry.field(default_factory=list)


def errors_of(error: ServiceError) -> list[MutationError]:
    return [
        MutationError(field=e.field, message=e.message, code=ErrorCode(e.code.value))
        for e in error.errors
    ]


@strawberry.type(name="Region", description="An administrative division (GB/T 2260 code).")
class RegionType:
    code: str
    name: str
    level: RegionLevel

    @strawberry.field
    def parent_code(self, root: strawberry.Parent[Region]) -> str | None:
        return root.parent_code


def _mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}"


@strawberry.type(name="User")
class UserType:
    name: str

    @strawberry.field
    def id(self, root: strawberry.Parent[User]) -> strawberry.ID:
        return strawberry.ID(to_global_id("User", root.id))

    @strawberry.field(description="The full number for the person and national staff, else masked.")
    async def phone(self, root: strawberry.Parent[User], info: Info[Context, None]) -> str:
        if await _sees_person(root, info):
            return root.phone
        return _mask_phone(root.phone)

    @strawberry.field(description="Only the person and national staff see it.")
    async def email(self, root: strawberry.Parent[User], info: Info[Context, None]) -> str | None:
        return root.email if await _sees_person(root, info) else None

    @strawberry.field
    async def memberships(
        self, root: strawberry.Parent[User], info: Info[Context, None]
    ) -> list[MembershipType]:
        if not await _sees_person(root, info):
            return []
        return await info.context.loaders.memberships_of_user.load(root.id)  # type: ignore[return-value]

    @strawberry.field(description="Activities the person checked in to (own account only).")
    async def participated_activities(
        self,
        root: strawberry.Parent[User],
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[ActivityType, strawberry.lazy("schema.activity_types")]]:
        return await _own_list(root, info, engagement.participated(root.id), first, after)

    @strawberry.field(description="Activities the person likes (own account only).")
    async def liked_activities(
        self,
        root: strawberry.Parent[User],
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[ActivityType, strawberry.lazy("schema.activity_types")]]:
        ids = engagement.current_states(Like, "liked", root.id)
        return await _own_list(root, info, ids, first, after)

    @strawberry.field(description="Activities the person marked as favourite (own account only).")
    async def favorite_activities(
        self,
        root: strawberry.Parent[User],
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[ActivityType, strawberry.lazy("schema.activity_types")]]:
        ids = engagement.current_states(Favorite, "favorite", root.id)
        return await _own_list(root, info, ids, first, after)


async def _own_list(
    user: User,
    info: Info[Context, None],
    ids: Awaitable[list[int]],
    first: int | None,
    after: str | None,
) -> Connection[Any]:
    viewer = info.context.user
    if viewer is None or viewer.id != user.id:
        raise forbidden("只能查看自己的活动记录")
    activity_ids = await ids
    grants = await info.context.grants()

    async def load(keys: list[int]) -> list[Any]:
        """Only what the person may see now: a liked activity that went back to review, or
        was hidden or deleted, drops out of the list (it comes back once public again)."""
        rows = await info.context.loaders.activity.load_many(keys)
        return [row if row is not None and can_view(grants, row) else None for row in rows]

    return await list_connection(activity_ids, first=first, after=after, load=load)


async def _sees_person(user: User, info: Info[Context, None]) -> bool:
    viewer = info.context.user
    if viewer is None:
        return False
    return viewer.id == user.id or is_national_staff(await info.context.grants())


@strawberry.type(name="Organization", description="A unit (单位) in the supervision tree.")
class OrganizationType:
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
class InvitationType:
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
