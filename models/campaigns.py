"""A year's campaign, its phase windows (national and regional), regional settings and the
joint-action catalogue."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.enums import Phase
from models.fields import UtcDatetimeField


class Campaign(Model):
    """One year's science day: name, theme and focus dates."""

    id = fields.IntField(primary_key=True)
    year = fields.IntField(unique=True)
    name = fields.CharField(max_length=100)
    theme = fields.CharField(max_length=200)
    starts_on = fields.DateField()
    ends_on = fields.DateField()
    # days before each deadline on which those who still owe something are reminded
    reminder_days: list[int] | None = fields.JSONField(null=True)
    # the weight of each evaluation indicator (by name); missing ones weigh 1
    indicator_weights: dict[str, float] | None = fields.JSONField(null=True)
    # TECH_VOLUNTEERS scored by national staff rather than computed from volunteer records
    volunteers_scored_by_hand = fields.BooleanField(default=False, db_default=False)
    created_at = UtcDatetimeField(auto_now_add=True)

    class Meta:
        table = "campaigns"

    @property
    def label(self) -> str:
        return f"{self.year}年全国科普日活动"


class PhaseWindow(Model):
    """When a phase opens and closes: nationally (no region) or for a region's subtree."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="windows", on_delete=fields.CASCADE
    )
    phase = fields.CharEnumField(Phase, max_length=20)
    region_code = fields.CharField(max_length=6, null=True)
    opens_at = UtcDatetimeField()
    closes_at = UtcDatetimeField()
    updated_at = UtcDatetimeField(auto_now=True)

    campaign_id: int

    class Meta:
        table = "phase_windows"
        unique_together = (("campaign", "phase", "region_code"),)
        indexes = [Index(fields=["campaign_id", "region_code"], name="windows_campaign_region")]


class RegionalSetting(Model):
    """What a province or city sets for the units under it: a sub-theme, a media cap."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="regional_settings", on_delete=fields.CASCADE
    )
    region_code = fields.CharField(max_length=6)
    sub_theme = fields.CharField(max_length=200, null=True)
    max_media = fields.IntField(null=True)

    campaign_id: int

    class Meta:
        table = "regional_settings"
        unique_together = (("campaign", "region_code"),)


class JointAction(Model):
    """A joint action (联合行动) of the catalogue: national, or added by a region."""

    id = fields.IntField(primary_key=True)
    campaign: fields.ForeignKeyRelation[Campaign] = fields.ForeignKeyField(
        "models.Campaign", related_name="joint_actions", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    lead_units: list[str] = fields.JSONField(default=list)
    region_code = fields.CharField(max_length=6, null=True)
    position = fields.IntField(default=0, db_default=0)

    campaign_id: int

    class Meta:
        table = "joint_actions"
        unique_together = (("campaign", "region_code", "name"),)
