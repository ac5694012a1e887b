"""Activities from filing to summary, their media, reviews, QR images, and engagement records."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from infra.geo import Point
from models.accounts import User
from models.campaigns import Campaign, JointAction
from models.enums import ActivityForm, ActivityStatus, MediaKind, OrganizationKind, ReviewDecision
from models.fields import UtcDatetimeField
from models.organizations import Organization, Region


class Activity(Model):
    """A science activity filed by a unit and reviewed by its supervising unit."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="activities", on_delete=fields.RESTRICT
    )
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="activities", on_delete=fields.RESTRICT
    )
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    title = fields.CharField(max_length=100)
    description = fields.TextField()
    form = fields.CharEnumField(ActivityForm, max_length=16)
    starts_at = UtcDatetimeField()
    ends_at = UtcDatetimeField()
    region: fields.ForeignKeyRelation[Region] = fields.ForeignKeyField(
        "models.Region", related_name=False, on_delete=fields.RESTRICT
    )
    province_code = fields.CharField(max_length=6)
    prefecture_code = fields.CharField(max_length=6, null=True)
    address = fields.CharField(max_length=200, null=True)
    # where it takes place (offline and hybrid ones, when the filer gave it): WGS-84
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    online_url = fields.CharField(max_length=500, null=True)
    supervisor_kind = fields.CharEnumField(OrganizationKind, max_length=32)
    supervisor: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="supervised_activities", on_delete=fields.RESTRICT
    )
    supervisor_name = fields.CharField(max_length=100, null=True)
    # a review pending too long moves up the supervision chain; its reviewers may then decide
    escalated_to: fields.ForeignKeyNullableRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    escalated_at = UtcDatetimeField(null=True)
    host_units: list[str] = fields.JSONField(default=list)
    organizer_units: list[str] = fields.JSONField(default=list)
    joint_action: fields.ForeignKeyNullableRelation[JointAction] = fields.ForeignKeyField(
        "models.JointAction", related_name="activities", null=True, on_delete=fields.SET_NULL
    )
    sub_theme = fields.CharField(max_length=200, null=True)
    show_on_cloud = fields.BooleanField(default=True, db_default=True)
    expected_participants = fields.IntField(null=True)
    booking_required = fields.BooleanField(default=False, db_default=False)
    poster = fields.CharField(max_length=200, null=True)
    status = fields.CharEnumField(ActivityStatus, max_length=20, default=ActivityStatus.DRAFT)
    submitted_at = UtcDatetimeField(null=True)
    reviewed_at = UtcDatetimeField(null=True)
    qr_token = fields.CharField(max_length=16, unique=True, null=True)
    supplemented_at = UtcDatetimeField(null=True)
    summary_text = fields.TextField(null=True)
    participant_count = fields.IntField(null=True)
    summarized_at = UtcDatetimeField(null=True)
    deleted_at = UtcDatetimeField(null=True)
    created_at = UtcDatetimeField(auto_now_add=True)
    updated_at = UtcDatetimeField(auto_now=True)

    campaign_id: int
    organization_id: int
    region_id: str
    supervisor_id: int
    joint_action_id: int | None
    escalated_to_id: int | None
    created_by_id: int | None

    class Meta:
        table = "activities"
        indexes = [
            # public browsing: approved, shown, not deleted, in time order
            Index(fields=["status", "show_on_cloud", "starts_at", "id"], name="act_public"),
            Index(fields=["province_code", "status", "starts_at", "id"], name="act_province_page"),
            Index(
                fields=["prefecture_code", "status", "starts_at", "id"], name="act_prefecture_page"
            ),
            Index(fields=["region_id", "status", "starts_at", "id"], name="act_region_page"),
            Index(fields=["joint_action_id", "status"], name="act_joint_action"),
            Index(fields=["campaign_id", "status"], name="act_campaign"),
            # a unit's own list, a supervisor's review queue (oldest first)
            Index(fields=["organization_id", "status", "id"], name="act_organization"),
            Index(fields=["supervisor_id", "status", "submitted_at", "id"], name="act_review"),
            Index(fields=["escalated_to_id", "status", "submitted_at", "id"], name="act_escalated"),
            Index(fields=["status", "submitted_at"], name="act_pending_since"),
            # approved activities near a point: a latitude range, then the longitudes within it
            Index(fields=["status", "latitude", "longitude"], name="act_place"),
        ]

    @property
    def location(self) -> Point | None:
        return Point.at(self.latitude, self.longitude)


class ActivityMedia(Model):
    """A supplementary item: an uploaded photo, or a video, news or online link."""

    id = fields.IntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name="media", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(MediaKind, max_length=16)
    url = fields.CharField(max_length=500)
    position = fields.IntField(default=0, db_default=0)

    activity_id: int

    class Meta:
        table = "activity_media"
        indexes = [Index(fields=["activity_id", "position"], name="media_activity")]


class Review(Model):
    """One decision of a supervising unit on an activity (the history stays)."""

    id = fields.IntField(primary_key=True)
    activity: fields.ForeignKeyRelation[Activity] = fields.ForeignKeyField(
        "models.Activity", related_name="reviews", on_delete=fields.CASCADE
    )
    reviewer: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name=False, on_delete=fields.RESTRICT
    )
    decision = fields.CharEnumField(ReviewDecision, max_length=16)
    comment = fields.TextField(null=True)
    reviewed_at = UtcDatetimeField()

    activity_id: int

    class Meta:
        table = "reviews"
        indexes = [Index(fields=["activity_id", "reviewed_at"], name="reviews_activity")]


class ActivityStats(Model):
    """Engagement counters of an activity, as last written behind from Redis."""

    id = fields.IntField(primary_key=True)
    activity: fields.OneToOneRelation[Activity] = fields.OneToOneField(
        "models.Activity", related_name="stats", on_delete=fields.CASCADE
    )
    check_ins = fields.IntField(default=0, db_default=0)
    likes = fields.IntField(default=0, db_default=0)
    comments = fields.IntField(default=0, db_default=0)
    favorites = fields.IntField(default=0, db_default=0)
    rating_sum = fields.IntField(default=0, db_default=0)
    rating_count = fields.IntField(default=0, db_default=0)
    offline_check_ins = fields.IntField(default=0, db_default=0)  # of check_ins, by devices
    head_count = fields.IntField(default=0, db_default=0)  # visitors without an account

    activity_id: int

    class Meta:
        table = "activity_stats"
