"""Science routes (科普路线): an association's ordered set of activities to visit in a window;
a person who checks in at every stop within it completes the route, once."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.accounts import User
from models.activities import Activity
from models.fields import UtcDatetimeField
from models.organizations import Organization, Region


class ScienceRoute(Model):
    """A route an association published for its region, open from one day to another (China
    dates, both included). `completions` counts the people who completed it (written with each
    completion, in its transaction)."""

    id = fields.IntField(primary_key=True)
    region: fields.ForeignKeyRelation[Region] = fields.ForeignKeyField(
        "models.Region", related_name=False, on_delete=fields.RESTRICT
    )
    province_code = fields.CharField(max_length=6)
    prefecture_code = fields.CharField(max_length=6, null=True)
    name = fields.CharField(max_length=100)
    description = fields.TextField()
    valid_from = fields.DateField()  # China dates, both included
    valid_until = fields.DateField()
    completions = fields.IntField(default=0)
    published_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    created_at = UtcDatetimeField(auto_now_add=True)

    region_id: str

    class Meta:
        table = "science_routes"
        indexes = [
            Index(fields=["province_code", "id"], name="routes_province"),
            Index(fields=["prefecture_code", "id"], name="routes_prefecture"),
            Index(fields=["region_id", "id"], name="routes_region"),
        ]


class RouteStop(Model):
    """The n-th stop of a route: an activity, or a venue (a unit that hosts often), visited by
    checking in at any of its public activities."""

    id = fields.IntField(primary_key=True)
    route: fields.ForeignKeyRelation[ScienceRoute] = fields.ForeignKeyField(
        "models.ScienceRoute", related_name=False, on_delete=fields.CASCADE
    )
    activity: fields.ForeignKeyNullableRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, null=True, on_delete=fields.CASCADE
    )
    venue: fields.ForeignKeyNullableRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name=False, null=True, on_delete=fields.CASCADE
    )
    position = fields.SmallIntField()

    route_id: int
    activity_id: int | None
    venue_id: int | None

    class Meta:
        table = "route_stops"
        unique_together = (("route", "position"), ("route", "activity"), ("route", "venue"))
        indexes = [
            Index(fields=["activity_id"], name="route_stops_activity"),
            Index(fields=["venue_id"], name="route_stops_venue"),
        ]


class RouteCompletion(Model):
    """A person who checked in at every stop of a route within its window (once per route)."""

    id = fields.IntField(primary_key=True)
    route: fields.ForeignKeyRelation[ScienceRoute] = fields.ForeignKeyField(
        "models.ScienceRoute", related_name=False, on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    completed_at = UtcDatetimeField()

    route_id: int
    user_id: int

    class Meta:
        table = "route_completions"
        unique_together = (("route", "user"),)
        indexes = [Index(fields=["user_id", "id"], name="route_completions_user")]
