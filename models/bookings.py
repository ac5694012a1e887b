"""Booking (预约): places of an activity that needs them, in one or more time slots, with a
waiting list. A slot counts its places taken in `booked` (booked and offered places), changed
only by a conditional UPDATE that never lets it pass `capacity`."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.accounts import User
from models.activities import Activity
from models.enums import BookingStatus
from models.fields import UtcDatetimeField


class BookingSlot(Model):
    """A time slot of an activity that needs booking, with its places."""

    id = fields.IntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, on_delete=fields.CASCADE
    )
    starts_at = UtcDatetimeField()
    ends_at = UtcDatetimeField()
    capacity = fields.IntField()
    booked = fields.IntField(default=0)  # places taken: booked, or offered to the waiting

    activity_id: int

    class Meta:
        table = "booking_slots"
        indexes = [Index(fields=["activity_id", "starts_at"], name="slots_activity")]


class Booking(Model):
    """A person's booking of a slot (one per slot: booking again after cancelling reuses it).
    WAITING ones are served in the order of `queued_at`, an OFFERED one holds a freed place
    until `offered_until`."""

    id = fields.IntField(primary_key=True)
    slot: fields.ForeignKeyRelation[BookingSlot] = fields.ForeignKeyField(
        "models.BookingSlot", related_name=False, on_delete=fields.CASCADE
    )
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(BookingStatus, max_length=16)
    queued_at = UtcDatetimeField()
    offered_until = UtcDatetimeField(null=True)
    attended_at = UtcDatetimeField(null=True)
    updated_at = UtcDatetimeField(auto_now=True)

    slot_id: int
    activity_id: int
    user_id: int

    class Meta:
        table = "bookings"
        unique_together = (("slot", "user"),)
        indexes = [
            Index(fields=["slot_id", "status", "queued_at"], name="bookings_queue"),
            Index(fields=["user_id", "id"], name="bookings_user"),
            Index(fields=["status", "offered_until"], name="bookings_offers"),
            Index(fields=["activity_id", "user_id"], name="bookings_activity"),
        ]
