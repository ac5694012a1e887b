"""Regions (GB/T 2260), organizations in the supervision tree, and memberships."""

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from infra.geo import Point
from models.accounts import User
from models.enums import InvitationStatus, MemberRole, OrganizationKind, RegionLevel
from models.fields import UtcDatetimeField


class Region(Model):
    """An administrative division by its 6-digit code, with province and prefecture for filters."""

    code = fields.CharField(max_length=6, primary_key=True)
    name = fields.CharField(max_length=64)
    level = fields.CharEnumField(RegionLevel, max_length=16)
    parent_code = fields.CharField(max_length=6, null=True)
    province_code = fields.CharField(max_length=6)
    prefecture_code = fields.CharField(max_length=6, null=True)

    class Meta:
        table = "regions"
        indexes = [
            Index(fields=["parent_code"], name="regions_parent"),
            Index(fields=["province_code"], name="regions_province"),
            Index(fields=["prefecture_code"], name="regions_prefecture"),
        ]


class Organization(Model):
    """A unit (单位): a filing unit or a supervising body, placed in the supervision tree."""

    @property
    def location(self) -> Point | None:
        return Point.at(self.latitude, self.longitude)

    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=100)
    kind = fields.CharEnumField(OrganizationKind, max_length=32)
    parent: fields.ForeignKeyNullableRelation["Organization"] = fields.ForeignKeyField(
        "models.Organization", related_name="children", null=True, on_delete=fields.RESTRICT
    )
    region: fields.ForeignKeyRelation[Region] = fields.ForeignKeyField(
        "models.Region", related_name=False, on_delete=fields.RESTRICT
    )
    province_code = fields.CharField(max_length=6)
    prefecture_code = fields.CharField(max_length=6, null=True)
    contact_name = fields.CharField(max_length=50, default="", db_default="")
    contact_phone = fields.CharField(max_length=32, default="", db_default="")
    address = fields.CharField(max_length=200, default="", db_default="")
    # a venue's default place (WGS-84): its offline activities take it unless they give theirs
    latitude = fields.FloatField(null=True)
    longitude = fields.FloatField(null=True)
    intro = fields.TextField(null=True)
    created_at = UtcDatetimeField(auto_now_add=True)
    updated_at = UtcDatetimeField(auto_now=True)

    region_id: str
    parent_id: int | None

    class Meta:
        table = "organizations"
        indexes = [
            Index(fields=["kind", "province_code"], name="orgs_kind_province"),
            Index(fields=["kind", "prefecture_code"], name="orgs_kind_prefecture"),
            Index(fields=["kind", "region_id"], name="orgs_kind_region"),
            Index(fields=["parent_id"], name="orgs_parent"),
        ]


class Membership(Model):
    """A person's role in an organization, one row per role."""

    id = fields.IntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="memberships", on_delete=fields.CASCADE
    )
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name="memberships", on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(MemberRole, max_length=16)
    created_at = UtcDatetimeField(auto_now_add=True)

    user_id: int
    organization_id: int

    class Meta:
        table = "memberships"
        unique_together = (("user", "organization", "role"),)
        indexes = [Index(fields=["organization_id", "role"], name="memberships_org_role")]


class Invitation(Model):
    """An admin's invitation of a person to a role in a unit: a membership only once the person
    accepts it (nobody is made a member of a unit without their say)."""

    id = fields.IntField(primary_key=True)
    organization: fields.ForeignKeyRelation[Organization] = fields.ForeignKeyField(
        "models.Organization", related_name=False, on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, on_delete=fields.CASCADE
    )
    role = fields.CharEnumField(MemberRole, max_length=16)
    invited_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    status = fields.CharEnumField(InvitationStatus, max_length=12, default=InvitationStatus.PENDING)
    created_at = UtcDatetimeField(auto_now_add=True)
    answered_at = UtcDatetimeField(null=True)

    organization_id: int
    user_id: int
    invited_by_id: int | None

    class Meta:
        table = "invitations"
        indexes = [Index(fields=["user_id", "status"], name="invitations_invitee")]
