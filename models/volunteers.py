"""Science volunteers (科技志愿者): people a unit registered at its activities, their time on
duty, and the unit's records and corrections of their hours."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.accounts import User
from models.activities import Activity
from models.engagement import CheckInDevice
from models.enums import DeliveryStatus, ShiftSource, VolunteerStatus
from models.fields import UtcDatetimeField


class Volunteer(Model):
    """A person registered as a volunteer at an activity, by phone: an account, or a phone
    that has none yet (`user` is set when its person first acts). `minutes` is the service
    credited, never more than the activity lasts: the unit's own figure once it recorded one
    (`recorded_minutes`), else the shifts on duty. `on_duty_since` is set while a shift is open,
    and only one can be."""

    id = fields.IntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.CASCADE
    )
    phone = fields.CharField(max_length=11)
    name = fields.CharField(max_length=50)
    status = fields.CharEnumField(VolunteerStatus, max_length=12, default=VolunteerStatus.INVITED)
    minutes = fields.IntField(default=0)
    recorded_minutes = fields.IntField(null=True)
    on_duty_since = UtcDatetimeField(null=True)
    invite_sms = fields.CharEnumField(DeliveryStatus, max_length=12, default=DeliveryStatus.SKIPPED)
    registered_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = UtcDatetimeField(auto_now_add=True)
    updated_at = UtcDatetimeField(auto_now=True)

    activity_id: int
    user_id: int | None

    class Meta:
        table = "volunteers"
        unique_together = (("activity", "phone"),)
        indexes = [
            Index(fields=["user_id", "activity_id"], name="volunteers_user"),
            Index(fields=["phone", "user_id"], name="volunteers_phone"),
        ]


class VolunteerShift(Model):
    """A volunteer's time on duty, from a check-in to its check-out (open while `ended_at` is
    empty). A device's scans carry their nonces: the same scan uploaded again is not taken
    twice."""

    id = fields.IntField(primary_key=True)
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name=False, on_delete=fields.CASCADE
    )
    started_at = UtcDatetimeField()
    ended_at = UtcDatetimeField(null=True)
    source = fields.CharEnumField(ShiftSource, max_length=8)
    device: fields.ForeignKeyNullableRelation[CheckInDevice] = fields.ForeignKeyField(
        "models.CheckInDevice", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    start_nonce = fields.CharField(max_length=48, null=True)
    end_nonce = fields.CharField(max_length=48, null=True)

    volunteer_id: int

    class Meta:
        table = "volunteer_shifts"
        unique_together = (("volunteer", "start_nonce"), ("volunteer", "end_nonce"))
        indexes = [Index(fields=["volunteer_id", "started_at"], name="shifts_volunteer")]


class VolunteerCorrection(Model):
    """The unit's record or correction of a volunteer's hours: by whom, when, from what to
    what, and why (kept for good: the audit of the hours the evaluation counts)."""

    id = fields.IntField(primary_key=True)
    volunteer: fields.ForeignKeyRelation[Volunteer] = fields.ForeignKeyField(
        "models.Volunteer", related_name=False, on_delete=fields.CASCADE
    )
    recorded_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    minutes_before = fields.IntField()
    minutes_after = fields.IntField()
    note = fields.TextField()
    created_at = UtcDatetimeField(auto_now_add=True)

    volunteer_id: int
    recorded_by_id: int | None

    class Meta:
        table = "volunteer_corrections"
        indexes = [Index(fields=["volunteer_id", "id"], name="corrections_volunteer")]
