"""What provincial portals read: the change log of public activities, and their API clients."""

from typing import Any

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.accounts import User
from models.activities import Activity
from models.enums import ChangeKind
from models.fields import UtcDatetimeField


class ActivityChange(Model):
    """A change a portal can see, written in the transaction of the change (an outbox). The id is
    the feed's position: writers take a lock, so positions commit in order."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharEnumField(ChangeKind, max_length=24)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, on_delete=fields.CASCADE
    )
    region_code = fields.CharField(max_length=6)
    province_code = fields.CharField(max_length=6)
    prefecture_code = fields.CharField(max_length=6, null=True)
    occurred_at = UtcDatetimeField(auto_now_add=True)
    # The activity as this change shows it: its public version at the change, and for a
    # withdrawal the last public one (never the unreviewed edit that withdrew it). Null in rows
    # written before it was kept (services.portals.shown).
    published: dict[str, Any] | None = fields.JSONField(null=True)

    activity_id: int

    class Meta:
        table = "activity_changes"
        indexes = [
            Index(fields=["province_code", "id"], name="changes_province"),
            Index(fields=["prefecture_code", "id"], name="changes_prefecture"),
            Index(fields=["region_code", "id"], name="changes_region"),
        ]


class ApiClient(Model):
    """A portal's credentials: a token (stored as a hash) that sees one region's changes."""

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    region_code = fields.CharField(max_length=6)
    token_hash = fields.CharField(max_length=64, unique=True)
    active = fields.BooleanField(default=True, db_default=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = UtcDatetimeField(auto_now_add=True)

    class Meta:
        table = "api_clients"


class Webhook(Model):
    """A portal's endpoint for changes of a region. The secret signs every delivery."""

    id = fields.IntField(primary_key=True)
    url = fields.CharField(max_length=500)
    events: list[str] = fields.JSONField(default=list)
    region_code = fields.CharField(max_length=6, null=True)
    secret = fields.CharField(max_length=64)
    active = fields.BooleanField(default=True, db_default=True)
    disabled_reason = fields.CharField(max_length=200, null=True)
    api_client: fields.ForeignKeyNullableRelation[ApiClient] = fields.ForeignKeyField(
        "models.ApiClient", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = UtcDatetimeField(auto_now_add=True)

    api_client_id: int | None

    class Meta:
        table = "webhooks"


class WebhookDelivery(Model):
    """One change sent to one webhook: the stored payload, its state, one attempt row per try."""

    id = fields.BigIntField(primary_key=True)
    webhook: fields.ForeignKeyRelation[Webhook] = fields.ForeignKeyField(
        "models.Webhook", related_name="deliveries", on_delete=fields.CASCADE
    )
    change: fields.ForeignKeyRelation[ActivityChange] = fields.ForeignKeyField(
        "models.ActivityChange", related_name=False, on_delete=fields.CASCADE
    )
    event = fields.CharField(max_length=32)
    payload = fields.TextField()
    status = fields.CharField(max_length=12, default="PENDING", db_default="PENDING")
    attempts = fields.SmallIntField(default=0, db_default=0)
    last_status_code = fields.SmallIntField(null=True)
    created_at = UtcDatetimeField(auto_now_add=True)

    webhook_id: int
    change_id: int

    class Meta:
        table = "webhook_deliveries"
        unique_together = (("webhook", "change"),)
        indexes = [Index(fields=["webhook_id", "id"], name="deliveries_webhook")]


class WebhookAttempt(Model):
    id = fields.BigIntField(primary_key=True)
    delivery: fields.ForeignKeyRelation[WebhookDelivery] = fields.ForeignKeyField(
        "models.WebhookDelivery", related_name="attempt_rows", on_delete=fields.CASCADE
    )
    status_code = fields.SmallIntField(null=True)
    error = fields.CharField(max_length=300, null=True)
    duration_ms = fields.IntField(default=0, db_default=0)
    attempted_at = UtcDatetimeField(auto_now_add=True)

    class Meta:
        table = "webhook_attempts"
        indexes = [Index(fields=["delivery_id", "id"], name="attempts_delivery")]
