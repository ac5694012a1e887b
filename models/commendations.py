"""The season's end: recommendations by the organizing bodies, their quotas, the evaluation of
the bodies, and the commendations with their public notice, objections and certificates."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.accounts import User
from models.activities import Activity
from models.campaigns import Campaign
from models.enums import CommendationKind, CommendationStatus, Indicator, RecommendationStatus
from models.fields import UtcDatetimeField
from models.organizations import Organization


class Recommendation(Model):
    """A provincial association or national society recommends a unit or an activity under it.

    `active_target` ("UNIT:12", "ACTIVITY:34") is set while the recommendation stands and
    cleared when it is withdrawn: the unique key allows one standing recommendation per target
    and recommender (NULLs never collide), however two requests race."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name=False, on_delete=fields.CASCADE
    )
    recommender: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name=False, on_delete=fields.CASCADE
    )
    recommended_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    target_kind = fields.CharEnumField(CommendationKind, max_length=12)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name=False, on_delete=fields.CASCADE
    )
    activity: fields.ForeignKeyNullableRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, null=True, on_delete=fields.CASCADE
    )
    reason = fields.TextField()
    status = fields.CharEnumField(
        RecommendationStatus, max_length=12, default=RecommendationStatus.ACTIVE
    )
    active_target = fields.CharField(max_length=32, null=True)
    withdrawn_at = UtcDatetimeField(null=True)
    created_at = UtcDatetimeField(auto_now_add=True)

    campaign_id: int
    recommender_id: int
    organization_id: int
    activity_id: int | None

    class Meta:
        table = "recommendations"
        unique_together = (("campaign", "recommender", "active_target"),)
        indexes = [
            Index(fields=["campaign_id", "status", "id"], name="recommendations_campaign"),
            Index(fields=["campaign_id", "active_target"], name="recommendations_target"),
        ]


class RecommendationQuota(Model):
    """How many units and activities a recommender may recommend (null: the default)."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name=False, on_delete=fields.CASCADE
    )
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name=False, on_delete=fields.CASCADE
    )
    units = fields.IntField(null=True)
    activities = fields.IntField(null=True)
    updated_at = UtcDatetimeField(auto_now=True)

    campaign_id: int
    organization_id: int

    class Meta:
        table = "recommendation_quotas"
        unique_together = (("campaign", "organization"),)


class IndicatorScore(Model):
    """A score national staff gave an organizing body on an indicator not computed from data."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name=False, on_delete=fields.CASCADE
    )
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name=False, on_delete=fields.CASCADE
    )
    indicator = fields.CharEnumField(Indicator, max_length=24)
    score = fields.FloatField()
    note = fields.TextField(null=True)
    scored_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    updated_at = UtcDatetimeField(auto_now=True)

    campaign_id: int
    organization_id: int

    class Meta:
        table = "indicator_scores"
        unique_together = (("campaign", "organization", "indicator"),)


class Commendation(Model):
    """An entry of the commendation list: proposed for public notice, then final (or removed).

    `holder_name` is the unit's name or the activity's title when it was decided: a certificate
    says what was commended, whatever is renamed later. `serial` is given once, when the entry
    becomes final, and rendering again never changes it. `active_target` keeps one standing
    entry per target and campaign (cleared when removed)."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name=False, on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(CommendationKind, max_length=12)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name=False, on_delete=fields.CASCADE
    )
    activity: fields.ForeignKeyNullableRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name=False, null=True, on_delete=fields.CASCADE
    )
    recommendation: fields.ForeignKeyNullableRelation[Recommendation] = fields.ForeignKeyField(
        "models.Recommendation", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    holder_name = fields.CharField(max_length=200)
    unit_name = fields.CharField(max_length=100)
    status = fields.CharEnumField(
        CommendationStatus, max_length=12, default=CommendationStatus.PROPOSED
    )
    active_target = fields.CharField(max_length=32, null=True)
    decided_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    notice_starts_at = UtcDatetimeField()
    notice_ends_at = UtcDatetimeField()
    removed_reason = fields.TextField(null=True)
    removed_at = UtcDatetimeField(null=True)
    finalized_at = UtcDatetimeField(null=True)
    serial = fields.CharField(max_length=32, unique=True, null=True)
    certificate_file = fields.CharField(max_length=200, null=True)
    revoked_at = UtcDatetimeField(null=True)
    revoked_reason = fields.TextField(null=True)
    created_at = UtcDatetimeField(auto_now_add=True)

    campaign_id: int
    organization_id: int
    activity_id: int | None
    recommendation_id: int | None

    class Meta:
        table = "commendations"
        unique_together = (("campaign", "active_target"),)
        indexes = [
            Index(fields=["campaign_id", "kind", "status", "id"], name="commendations_list"),
            Index(fields=["organization_id"], name="commendations_holder"),
        ]


class Objection(Model):
    """Someone signed in objects to a proposed entry during its public notice, under their own
    account (one objection per person and entry)."""

    id = fields.IntField(primary_key=True)
    commendation: fields.ForeignKeyRelation[Commendation] = fields.ForeignKeyField(
        "models.Commendation", related_name="objections", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    reason = fields.TextField()
    created_at = UtcDatetimeField(auto_now_add=True)

    commendation_id: int
    user_id: int

    class Meta:
        table = "objections"
        unique_together = (("commendation", "user"),)
