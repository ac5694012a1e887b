"""Booking: units set places up, the public book and cancel, units see their lists."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from models import Booking, BookingSlot
from resolvers.common import activity_pk, answer, attempt, caller, signed_in
from schema.bookings import (
    BookingPayload,
    BookingSetupPayload,
    BookingSlotInput,
    BookingType,
)
from schema.context import Context
from schema.engagement import EngagementError
from schema.ids import parse_global_id
from schema.pagination import Connection, exact_int, iso_datetime, keyset_connection
from schema.permissions import IsAuthenticated
from services import bookings


@strawberry.type
class BookingsQuery:
    @strawberry.field(
        description="An activity's bookings, by slot and in the order they came (its unit, "
        "its reviewers and national staff)."
    )
    async def activity_bookings(
        self,
        info: Info[Context, None],
        activity_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[BookingType]:
        _, grants = await signed_in(info)
        query = await answer(lambda: bookings.of_activity(grants, activity_pk(activity_id)))
        return await keyset_connection(
            query,
            first=first,
            after=after,
            keys=("slot_id", "queued_at", "id"),
            parsers=(exact_int, iso_datetime, exact_int),
            related=("slot",),
        )


@strawberry.type
class BookingsMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Make an activity need booking, in these slots with their places (an "
        "empty list: no booking). The unit's filers and admins; not once anybody booked.",
    )
    async def configure_booking(
        self, info: Info[Context, None], activity_id: strawberry.ID, slots: list[BookingSlotInput]
    ) -> BookingSetupPayload:
        user, grants = await signed_in(info)

        async def configure() -> list[BookingSlot]:
            forms = [bookings.SlotForm(s.starts_at, s.ends_at, s.capacity) for s in slots]
            return await bookings.configure(user, grants, activity_pk(activity_id), forms)

        made, errors = await attempt(EngagementError, configure)
        return BookingSetupPayload(slots=made or [], errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Book a place in a slot (the only one when slotId is not given), or join "
        "its waiting list; take a place offered. Once per person and slot.",
    )
    async def book(
        self,
        info: Info[Context, None],
        activity_id: strawberry.ID,
        slot_id: strawberry.ID | None = None,
    ) -> BookingPayload:
        user = caller(info)

        async def take() -> Booking:
            slot = parse_global_id(slot_id, "BookingSlot", "slotId") if slot_id else None
            return await bookings.book(user, activity_pk(activity_id), slot)

        booking, errors = await attempt(EngagementError, take)
        return BookingPayload(booking=booking, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Give a booking up before its slot begins; its place goes to the next on "
        "the waiting list.",
    )
    async def cancel_booking(self, info: Info[Context, None], id: strawberry.ID) -> BookingPayload:
        user = caller(info)
        hours = info.context.runtime.settings.booking_offer_hours

        async def give_up() -> Booking:
            return await bookings.cancel(user, parse_global_id(id, "Booking", "id"), hours)

        booking, errors = await attempt(EngagementError, give_up)
        return BookingPayload(booking=booking, errors=errors)  # type: ignore[arg-type]
