"""What provincial portals read: the change log of public activities, and their API clients."""

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
