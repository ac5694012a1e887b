"""The GraphQL types of booking (预约). Their resolvers are in resolvers/bookings.py."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from models import Booking, BookingSlot
from models.enums import BookingStatus
from schema.accounts import UserType
from schema.context import Context
from schema.engagement import EngagementError
from schema.ids import to_global_id
from schema.node import Node
from services import bookings


@strawberry.type(name="BookingSlot", description="A time slot of an activity that needs booking.")
class BookingSlotType(Node):
    starts_at: datetime
    ends_at: datetime
    capacity: int

    @strawberry.field
    def id(self, root: strawberry.Parent[BookingSlot]) -> strawberry.ID:
        return strawberry.ID(to_global_id("BookingSlot", root.id))

    @strawberry.field(description="Places taken (booked, or held for someone on the list).")
    def booked(self, root: strawberry.Parent[BookingSlot]) -> int:
        return root.booked

    @strawberry.field
    def places_left(self, root: strawberry.Parent[BookingSlot]) -> int:
        return max(0, root.capacity - root.booked)


@strawberry.type(name="Booking")
class BookingType(Node):
    status: BookingStatus
    queued_at: datetime
    offered_until: datetime | None = strawberry.field(
        description="For an OFFERED booking: book again before this to take the place."
    )
    attended_at: datetime | None

    @strawberry.field
    def id(self, root: strawberry.Parent[Booking]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Booking", root.id))

    @strawberry.field
    async def slot(self, root: strawberry.Parent[Booking]) -> BookingSlotType:
        return await _slot_of(root)  # type: ignore[return-value]

    @strawberry.field(description="Booked, never checked in, and the slot is over.")
    async def no_show(self, root: strawberry.Parent[Booking]) -> bool:
        return bookings.no_show(root, await _slot_of(root))

    @strawberry.field(description="The person (for the activity's unit and its reviewers).")
    async def person(
        self, root: strawberry.Parent[Booking], info: Info[Context, None]
    ) -> UserType | None:
        return await info.context.loaders.user.load(root.user_id)  # type: ignore[return-value]

    @strawberry.field(description="The activity's ID.")
    def activity_id(self, root: strawberry.Parent[Booking]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Activity", root.activity_id))


async def _slot_of(booking: Booking) -> BookingSlot:
    """The booking's slot: joined in by the lists, else read."""
    joined = booking.__dict__.get("_slot")
    if isinstance(joined, BookingSlot):
        return joined
    return await BookingSlot.get(id=booking.slot_id)


@strawberry.input
class BookingSlotInput:
    starts_at: datetime
    ends_at: datetime
    capacity: int


@strawberry.type
class BookingPayload:
    booking: BookingType | None = None
    errors: list[EngagementError] = strawberry.field(default_factory=list)


@strawberry.type
class BookingSetupPayload:
    slots: list[BookingSlotType] = strawberry.field(default_factory=list)
    errors: list[EngagementError] = strawberry.field(default_factory=list)
