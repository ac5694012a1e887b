"""What the public does with an activity, as append-only records.

Every row is an event that changes the activity's counters once: `counted` turns true when the
write-behind job has added it to `activity_stats` (in the same transaction). Likes, favourites and
ratings are toggled or replaced by inserting the next row of a (activity, person) sequence; the
unique `seq` makes two racing changes impossible: one insert wins, the other finds it.
"""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.accounts import User
from models.activities import Activity
from models.enums import FlagStatus, FraudRule
from models.fields import UtcDatetimeField
from models.organizations import Organization


class PublicRecord(Model):
    """What every engagement record has: the activity, the person, whether it is counted."""

    id = fields.BigIntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    counted = fields.BooleanField(default=False, db_default=False)
    created_at = UtcDatetimeField(auto_now_add=True)

    activity_id: int
    user_id: int

    class Meta:
        abstract = True


class CheckInDevice(Model):
    """A venue's check-in device (a caravan's tablet): checks people's codes offline for the
    activities it is registered for, and uploads the scans later. Its token is stored as a hash."""

    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name=False, on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=50)
    token_hash = fields.CharField(max_length=64, unique=True)
    activity_ids: list[int] = fields.JSONField(default=list)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = UtcDatetimeField(auto_now_add=True)
    revoked_at = UtcDatetimeField(null=True)
    last_upload_at = UtcDatetimeField(null=True)

    organization_id: int

    class Meta:
        table = "check_in_devices"
        indexes = [Index(fields=["organization_id", "id"], name="devices_organization")]


class CheckIn(PublicRecord):
    """One check-in per person, activity and day (Asia/Shanghai). A client nonce makes a
    retried request return the first result. A check-in scanned by a device offline keeps the
    device and the time it was scanned (`created_at`), one made online the caller's address
    (the fraud rules look at both)."""

    day = fields.DateField()
    client_nonce = fields.CharField(max_length=64)
    device: fields.ForeignKeyNullableRelation[CheckInDevice] = fields.ForeignKeyField(
        "models.CheckInDevice", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    address = fields.CharField(max_length=45, null=True)

    device_id: int | None

    class Meta:
        table = "check_ins"
        unique_together = (("activity", "user", "day"), ("user", "client_nonce"))
        indexes = [
            Index(fields=["user_id", "id"], name="check_ins_user"),
            Index(fields=["counted", "id"], name="check_ins_uncounted"),
            # the fraud rules' windows: one activity's check-ins, one address's
            Index(fields=["activity_id", "created_at"], name="check_ins_activity_time"),
            Index(fields=["address", "created_at"], name="check_ins_address_time"),
        ]


class HeadCount(Model):
    """Visitors without an account a device counted at a venue (现场人数): an event that adds
    `count` to the activity's head count once."""

    id = fields.BigIntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, on_delete=fields.CASCADE
    )
    device: fields.ForeignKeyNullableRelation[CheckInDevice] = fields.ForeignKeyField(
        "models.CheckInDevice", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    count = fields.IntField()
    counted_at = UtcDatetimeField()  # the device's time
    client_nonce = fields.CharField(max_length=64)
    counted = fields.BooleanField(default=False, db_default=False)
    created_at = UtcDatetimeField(auto_now_add=True)

    activity_id: int
    device_id: int | None

    class Meta:
        table = "head_counts"
        unique_together = (("device", "client_nonce"),)
        indexes = [Index(fields=["counted", "id"], name="head_counts_uncounted")]


class Like(PublicRecord):
    """The n-th change of a person's like of an activity: `liked` is the state after it."""

    seq = fields.IntField()
    liked = fields.BooleanField()

    class Meta:
        table = "likes"
        unique_together = (("activity", "user", "seq"),)
        indexes = [
            Index(fields=["user_id", "id"], name="likes_user"),
            Index(fields=["counted", "id"], name="likes_uncounted"),
        ]


class Favorite(PublicRecord):
    """The n-th change of a person's favourite mark: `favorite` is the state after it."""

    seq = fields.IntField()
    favorite = fields.BooleanField()

    class Meta:
        table = "favorites"
        unique_together = (("activity", "user", "seq"),)
        indexes = [
            Index(fields=["user_id", "id"], name="favorites_user"),
            Index(fields=["counted", "id"], name="favorites_uncounted"),
        ]


class Rating(PublicRecord):
    """The n-th rating of a person (1..5, with feedback): the latest one stands. `sum_delta`
    and `count_delta` are what it changes in the activity's totals."""

    seq = fields.IntField()
    score = fields.SmallIntField()
    feedback = fields.TextField(null=True)
    sum_delta = fields.SmallIntField()
    count_delta = fields.SmallIntField()

    class Meta:
        table = "ratings"
        unique_together = (("activity", "user", "seq"),)
        indexes = [Index(fields=["counted", "id"], name="ratings_uncounted")]


class Comment(PublicRecord):
    """A comment (plain text, 1..500 characters). Staff may hide it."""

    body = fields.TextField()
    hidden_at = UtcDatetimeField(null=True)

    class Meta:
        table = "comments"
        indexes = [
            Index(fields=["activity_id", "id"], name="comments_activity"),
            Index(fields=["counted", "id"], name="comments_uncounted"),
        ]


class CommentModeration(Model):
    """Hiding a comment: an event of its own, so that the count drops exactly once."""

    id = fields.BigIntField(primary_key=True)
    comment: fields.ForeignKeyRelation[Comment] = fields.ForeignKeyField(
        "models.Comment", related_name=False, on_delete=fields.CASCADE
    )
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, on_delete=fields.CASCADE
    )
    moderator: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    reason = fields.CharField(max_length=200, null=True)
    counted = fields.BooleanField(default=False, db_default=False)
    created_at = UtcDatetimeField(auto_now_add=True)

    activity_id: int

    class Meta:
        table = "comment_moderations"
        unique_together = (("comment",),)
        indexes = [
            Index(fields=["counted", "id"], name="moderations_uncounted"),
            Index(fields=["activity_id", "counted"], name="moderations_activity"),
        ]


class EngagementFlag(Model):
    """Engagement a fraud rule found suspicious (services/fraud.py): its records are taken out
    of the activity's counts until a reviewer of its supervising unit confirms the fraud (out
    for good) or dismisses the flag (back in). The amounts it took out are kept, so that a
    dismissal puts back exactly those."""

    id = fields.BigIntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, on_delete=fields.CASCADE
    )
    rule = fields.CharEnumField(FraudRule, max_length=32)
    reason = fields.CharField(max_length=300)
    status = fields.CharEnumField(FlagStatus, max_length=16, default=FlagStatus.PENDING)
    check_ins = fields.IntField(default=0)
    offline_check_ins = fields.IntField(default=0)
    likes = fields.IntField(default=0)
    rating_sum = fields.IntField(default=0)
    rating_count = fields.IntField(default=0)
    created_at = UtcDatetimeField(auto_now_add=True)
    resolved_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    resolved_at = UtcDatetimeField(null=True)
    note = fields.CharField(max_length=200, null=True)

    activity_id: int
    resolved_by_id: int | None

    class Meta:
        table = "engagement_flags"
        indexes = [
            Index(fields=["status", "activity_id"], name="flags_status"),
            Index(fields=["activity_id", "id"], name="flags_activity"),
        ]


class FlaggedRecord(Model):
    """A record under a flag: a check-in, or a person's like or rating of an activity (then
    their latest row, standing for the whole sequence). A record is flagged once. While its
    flag is not dismissed (`held`), the person's likes or ratings of the activity are held."""

    id = fields.BigIntField(primary_key=True)
    flag: fields.ForeignKeyRelation[EngagementFlag] = fields.ForeignKeyField(
        "models.EngagementFlag", related_name=False, on_delete=fields.CASCADE
    )
    kind = fields.CharField(max_length=1)  # the counters' event prefix: c, l, r
    record_id = fields.BigIntField()
    activity_id = fields.IntField()
    user_id = fields.IntField()
    held = fields.BooleanField(default=True)

    flag_id: int

    class Meta:
        table = "flagged_records"
        unique_together = (("kind", "record_id"),)
        indexes = [
            Index(fields=["activity_id", "user_id"], name="flagged_person"),
            Index(fields=["flag_id"], name="flagged_flag"),
        ]


class FlagAdjustment(Model):
    """A flag taking its amounts out of the counts (`sign` -1), or its dismissal putting them
    back (+1): an event of the counters like a record, so that each moves the count once."""

    id = fields.BigIntField(primary_key=True)
    flag: fields.ForeignKeyRelation[EngagementFlag] = fields.ForeignKeyField(
        "models.EngagementFlag", related_name=False, on_delete=fields.CASCADE
    )
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, on_delete=fields.CASCADE
    )
    sign = fields.SmallIntField()
    check_ins = fields.IntField()
    offline_check_ins = fields.IntField()
    likes = fields.IntField()
    rating_sum = fields.IntField()
    rating_count = fields.IntField()
    counted = fields.BooleanField(default=False, db_default=False)
    created_at = UtcDatetimeField(auto_now_add=True)

    activity_id: int
    flag_id: int

    class Meta:
        table = "flag_adjustments"
        unique_together = (("flag", "sign"),)
        indexes = [Index(fields=["counted", "id"], name="adjustments_uncounted")]


class ScanPosition(Model):
    """How far the fraud rules have read a kind of record (its last id)."""

    kind = fields.CharField(max_length=1, primary_key=True)
    position = fields.BigIntField(default=0)

    class Meta:
        table = "fraud_scan_positions"
