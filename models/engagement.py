"""What the public does with an activity: check-ins (append-only), likes, favourites, ratings.
Unique constraints make duplicates impossible even when two requests race."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.accounts import User
from models.activities import Activity


class CheckIn(Model):
    """One check-in per person, activity and day (Asia/Shanghai)."""

    id = fields.BigIntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    day = fields.DateField()
    client_nonce = fields.CharField(max_length=64)
    created_at = fields.DatetimeField(auto_now_add=True)

    activity_id: int
    user_id: int

    class Meta:
        table = "check_ins"
        unique_together = (("activity", "user", "day"), ("user", "client_nonce"))
        indexes = [Index(fields=["user_id", "id"], name="check_ins_user")]


class Like(Model):
    id = fields.BigIntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    activity_id: int
    user_id: int

    class Meta:
        table = "likes"
        unique_together = (("activity", "user"),)
        indexes = [Index(fields=["user_id", "id"], name="likes_user")]


class Favorite(Model):
    id = fields.BigIntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    activity_id: int
    user_id: int

    class Meta:
        table = "favorites"
        unique_together = (("activity", "user"),)
        indexes = [Index(fields=["user_id", "id"], name="favorites_user")]


class Rating(Model):
    """A score 1..5 with optional feedback. A new rating replaces the person's old one."""

    id = fields.BigIntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    score = fields.SmallIntField()
    feedback = fields.TextField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    activity_id: int
    user_id: int

    class Meta:
        table = "ratings"
        unique_together = (("activity", "user"),)
