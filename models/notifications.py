"""Notifications: stored for the app, delivered by email and SMS as each person prefers."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.accounts import User
from models.enums import DeliveryStatus, NotificationKind
from models.fields import UtcDatetimeField


class Notification(Model):
    """One message to one person. `key` names the occasion (an outcome, a reminder of an
    obligation before a deadline at an offset): unique per recipient, so it is sent once."""

    id = fields.BigIntField(primary_key=True)
    recipient: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(NotificationKind, max_length=24)
    key = fields.CharField(max_length=200)
    title = fields.CharField(max_length=200)
    body = fields.TextField()
    email_status = fields.CharEnumField(
        DeliveryStatus, max_length=12, default=DeliveryStatus.PENDING
    )
    sms_status = fields.CharEnumField(DeliveryStatus, max_length=12, default=DeliveryStatus.SKIPPED)
    attempts = fields.SmallIntField(default=0, db_default=0)
    last_error = fields.TextField(null=True)
    created_at = UtcDatetimeField(auto_now_add=True)
    read_at = UtcDatetimeField(null=True)

    recipient_id: int

    class Meta:
        table = "notifications"
        unique_together = (("recipient", "key"),)
        indexes = [Index(fields=["recipient_id", "id"], name="notifications_recipient")]
