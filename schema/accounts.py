"""The GraphQL types of accounts: outputs, inputs and payloads.

Its resolvers are in resolvers/accounts.py."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry.types import Info

from infra.clock import today
from models import Booking, Favorite, Like, User
from schema.context import Context
from schema.ids import to_global_id
from schema.node import Node
from schema.organizations import MembershipType
from schema.pagination import Connection, list_connection
from schema.permissions import forbidden
from schema.types import Error, OkPayload
from schema.volunteers import VolunteerYearType
from services import checkin_codes, engagement, routes, volunteers
from services.errors import AccountErrorCode
from services.permissions import is_national_staff
from services.rules import can_view
from services.validation import mask_phone

if TYPE_CHECKING:
    from schema.activities import ActivityType
    from schema.bookings import BookingType
    from schema.engagement import CheckInCodeType
    from schema.routes import RouteCompletionType


@strawberry.type(
    name="AccountError",
    description="A refusal of a mutation on accounts: "
    "the input it concerns, why (in Chinese), and a code.",
)
class AccountError(Error[AccountErrorCode]):
    pass


@strawberry.type(name="AccountOkPayload")
class AccountOkPayload(OkPayload[AccountError]):
    pass


@strawberry.input
class RegisterInput:
    phone: str
    code: str
    password: str
    name: str
    accept_agreement: bool


@strawberry.input
class ResetPasswordInput:
    phone: str
    code: str
    new_password: str


@strawberry.input
class ProfileInput:
    name: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET


@strawberry.type
class RequestVerificationCodePayload:
    sent: bool = False
    retry_after_seconds: int | None = None
    errors: list[AccountError] = strawberry.field(default_factory=list)


@strawberry.type
class AuthPayload:
    token: str | None = None
    user: UserType | None = None
    errors: list[AccountError] = strawberry.field(default_factory=list)


@strawberry.type
class LogoutPayload:
    ok: bool


@strawberry.type
class UpdateProfilePayload:
    user: UserType | None = None
    errors: list[AccountError] = strawberry.field(default_factory=list)


@strawberry.type(name="User")
class UserType(Node):
    name: str

    @strawberry.field
    def id(self, root: strawberry.Parent[User]) -> strawberry.ID:
        return strawberry.ID(to_global_id("User", root.id))

    @strawberry.field(description="The full number for the person and national staff, else masked.")
    async def phone(self, root: strawberry.Parent[User], info: Info[Context, None]) -> str:
        if await _sees_person(root, info):
            return root.phone
        return mask_phone(root.phone)

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

    @strawberry.field(
        description="Today's code for check-in devices, to show as a QR code (own account only): "
        "a venue without a network checks it offline; it rotates daily and names no phone."
    )
    def check_in_code(
        self, root: strawberry.Parent[User], info: Info[Context, None]
    ) -> Annotated[CheckInCodeType, strawberry.lazy("schema.engagement")] | None:
        if info.context.user is None or info.context.user.id != root.id:
            return None
        from schema.engagement import CheckInCodeType

        day = today()
        code = checkin_codes.issue(info.context.runtime.settings.secret_key, root.id, day)
        return CheckInCodeType(code=code, valid_on=day)

    @strawberry.field(
        description="Science routes the person completed, newest first (own account only)."
    )
    async def completed_routes(
        self, root: strawberry.Parent[User], info: Info[Context, None]
    ) -> list[Annotated[RouteCompletionType, strawberry.lazy("schema.routes")]]:
        if info.context.user is None or info.context.user.id != root.id:
            return []
        return await routes.completed_by(root.id)  # type: ignore[return-value]

    @strawberry.field(description="The person's bookings, newest first (own account only).")
    async def bookings(
        self, root: strawberry.Parent[User], info: Info[Context, None]
    ) -> list[Annotated[BookingType, strawberry.lazy("schema.bookings")]]:
        if info.context.user is None or info.context.user.id != root.id:
            return []
        mine = Booking.filter(user_id=root.id).select_related("slot").order_by("-id")
        return await mine  # type: ignore[return-value]

    @strawberry.field(
        description="The person's volunteering by year, newest first, with confirmed hours "
        "(own account only)."
    )
    async def volunteering(
        self, root: strawberry.Parent[User], info: Info[Context, None]
    ) -> list[Annotated[VolunteerYearType, strawberry.lazy("schema.volunteers")]]:

        if info.context.user is None or info.context.user.id != root.id:
            return []
        found = await volunteers.volunteering(info.context.user)
        return [VolunteerYearType.of(y) for y in found]

    @strawberry.field(description="Activities the person checked in to (own account only).")
    async def participated_activities(
        self,
        root: strawberry.Parent[User],
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[ActivityType, strawberry.lazy("schema.activities")]]:
        return await _own_list(root, info, engagement.participated(root.id), first, after)

    @strawberry.field(description="Activities the person likes (own account only).")
    async def liked_activities(
        self,
        root: strawberry.Parent[User],
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[ActivityType, strawberry.lazy("schema.activities")]]:
        ids = engagement.current_states(Like, "liked", root.id)
        return await _own_list(root, info, ids, first, after)

    @strawberry.field(description="Activities the person marked as favourite (own account only).")
    async def favorite_activities(
        self,
        root: strawberry.Parent[User],
        info: Info[Context, None],
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[Annotated[ActivityType, strawberry.lazy("schema.activities")]]:
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
