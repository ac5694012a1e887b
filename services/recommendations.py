"""Recommendations: provincial associations and national societies recommend outstanding units
and activities under them, inside the RECOMMENDATION window and within their quota.

What is "under" a body:
- a provincial association: the activities in its province supervised by an association of the
  province (or by "other", which belongs to it), and the units of its province below the national
  level (itself excepted);
- a national society: the activities it supervises, and the units placed under it or that filed an
  approved activity it supervises this year.
An activity must be approved and summarized to be recommended.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from infra.clock import now
from infra.errors import Collector, PermissionDenied, ServiceError
from models import Activity, Campaign, Organization, Recommendation, RecommendationQuota, User
from models.enums import (
    ActivityStatus,
    CommendationKind,
    MemberRole,
    NotificationKind,
    OrganizationKind,
    Phase,
    RecommendationStatus,
)
from services import audit
from services.campaigns import require_open, windows_for
from services.errors import CommendationErrorCode
from services.events import transaction
from services.notifications import notify, render, unit_people
from services.permissions import Grant, is_national_staff, require_national_staff
from services.regions import get_region
from services.rules import association_covers
from services.runtime import Runtime
from services.validation import check_text

BODY_KINDS = (OrganizationKind.PROVINCIAL_ASSOCIATION, OrganizationKind.NATIONAL_SOCIETY)
LOCAL_SUPERVISORS = (
    OrganizationKind.PROVINCIAL_ASSOCIATION,
    OrganizationKind.MUNICIPAL_ASSOCIATION,
    OrganizationKind.COUNTY_ASSOCIATION,
    OrganizationKind.OTHER,
)
NATIONAL_KINDS = (
    OrganizationKind.NATIONAL_ORGANIZER,
    OrganizationKind.MINISTRY,
    OrganizationKind.NATIONAL_SOCIETY,
    OrganizationKind.PROVINCIAL_ASSOCIATION,
)
KIND_LABELS = {CommendationKind.UNIT: "优秀组织单位", CommendationKind.ACTIVITY: "优秀活动"}


def target_key(kind: CommendationKind, target_id: int) -> str:
    return f"{kind.value}:{target_id}"


def activities_under(body: Organization, prefix: str = "") -> Q:
    """Activities a body answers for (`prefix` names the relation leading to the activity)."""
    conditions: dict[str, Any] = (
        {f"{prefix}supervisor_id": body.id}
        if body.kind is OrganizationKind.NATIONAL_SOCIETY
        else {
            f"{prefix}province_code": body.province_code,
            f"{prefix}supervisor_kind__in": LOCAL_SUPERVISORS,
        }
    )
    return Q(**conditions)


async def unit_is_under(body: Organization, unit: Organization, campaign_id: int) -> bool:
    if unit.id == body.id:
        return False
    if body.kind is OrganizationKind.PROVINCIAL_ASSOCIATION:
        return association_covers(body, unit) and unit.kind not in NATIONAL_KINDS
    return unit.parent_id == body.id or await Activity.exists(
        organization_id=unit.id,
        campaign_id=campaign_id,
        supervisor_id=body.id,
        status=ActivityStatus.APPROVED,
        deleted_at=None,
    )


def recommender_ids(grants: list[Grant]) -> set[int]:
    """The bodies whose recommendations a person makes (their ADMIN memberships)."""
    return {
        g.organization_id for g in grants if g.role is MemberRole.ADMIN and g.kind in BODY_KINDS
    }


def reader_ids(grants: list[Grant]) -> set[int]:
    """The bodies whose recommendations a person may read (admins and reviewers)."""
    return {
        g.organization_id
        for g in grants
        if g.role in (MemberRole.ADMIN, MemberRole.REVIEWER) and g.kind in BODY_KINDS
    }


async def _recommender(grants: list[Grant], recommender_id: int | None) -> Organization:
    own = recommender_ids(grants)
    if not own:
        raise PermissionDenied("只有省级科协和全国学会的管理员可以推荐")
    if recommender_id is None:
        if len(own) > 1:
            raise ServiceError.of(
                CommendationErrorCode.AMBIGUOUS_UNIT,
                "您管理多个推荐单位，请指定推荐单位",
                "recommenderId",
            )
        recommender_id = next(iter(own))
    if recommender_id not in own:
        raise ServiceError.of(
            CommendationErrorCode.NOT_A_RECOMMENDER, "您不是该推荐单位的管理员", "recommenderId"
        )
    return await Organization.get(id=recommender_id)


async def check_window(campaign_id: int, body: Organization) -> None:
    """Refuse outside the body's RECOMMENDATION window (a province's own, else the national one;
    national societies keep the national one)."""
    region = (
        await get_region(body.region_id)
        if body.kind is OrganizationKind.PROVINCIAL_ASSOCIATION
        else None
    )
    require_open(
        (await windows_for(campaign_id, region)).get(Phase.RECOMMENDATION),
        "推荐工作",
        unset=CommendationErrorCode.RECOMMENDATION_NOT_OPEN,
        not_open=CommendationErrorCode.RECOMMENDATION_NOT_OPEN,
        closed=CommendationErrorCode.RECOMMENDATION_CLOSED,
    )


@dataclass(frozen=True)
class Quota:
    units: int
    activities: int
    units_used: int
    activities_used: int

    def limit(self, kind: CommendationKind) -> int:
        return self.units if kind is CommendationKind.UNIT else self.activities

    def used(self, kind: CommendationKind) -> int:
        return self.units_used if kind is CommendationKind.UNIT else self.activities_used


async def quota_of(rt: Runtime, campaign_id: int, organization_id: int) -> Quota:
    row = await RecommendationQuota.get_or_none(
        campaign_id=campaign_id, organization_id=organization_id
    )
    standing = Recommendation.filter(
        campaign_id=campaign_id,
        recommender_id=organization_id,
        status=RecommendationStatus.ACTIVE,
    )
    settings = rt.settings
    return Quota(
        units=row.units if row and row.units is not None else settings.recommendation_quota_units,
        activities=row.activities
        if row and row.activities is not None
        else settings.recommendation_quota_activities,
        units_used=await standing.filter(target_kind=CommendationKind.UNIT).count(),
        activities_used=await standing.filter(target_kind=CommendationKind.ACTIVITY).count(),
    )


@dataclass(frozen=True)
class RecommendationData:
    campaign_id: int
    target_kind: CommendationKind
    organization_id: int | None
    activity_id: int | None
    reason: str
    recommender_id: int | None = None


async def _target(
    data: RecommendationData, body: Organization
) -> tuple[Organization, Activity | None]:
    """The unit (and activity) recommended, checked to be eligible and under the body."""
    if data.target_kind is CommendationKind.ACTIVITY:
        if data.activity_id is None:
            raise ServiceError.of(CommendationErrorCode.REQUIRED, "请选择推荐的活动", "activityId")
        activity = await Activity.get_or_none(
            id=data.activity_id, campaign_id=data.campaign_id, deleted_at=None
        )
        if activity is None:
            raise ServiceError.of(CommendationErrorCode.NOT_FOUND, "活动不存在", "activityId")
        if not await Activity.filter(activities_under(body), id=activity.id).exists():
            raise ServiceError.of(
                CommendationErrorCode.NOT_UNDER_RECOMMENDER,
                "只能推荐本单位归口的活动",
                "activityId",
            )
        if activity.status is not ActivityStatus.APPROVED:
            raise ServiceError.of(
                CommendationErrorCode.NOT_APPROVED, "只能推荐审核通过的活动", "activityId"
            )
        if activity.summarized_at is None:
            raise ServiceError.of(
                CommendationErrorCode.NOT_SUMMARIZED, "只能推荐已提交活动总结的活动", "activityId"
            )
        return await Organization.get(id=activity.organization_id), activity
    if data.organization_id is None:
        raise ServiceError.of(CommendationErrorCode.REQUIRED, "请选择推荐的单位", "organizationId")
    unit = await Organization.get_or_none(id=data.organization_id)
    if unit is None:
        raise ServiceError.of(CommendationErrorCode.NOT_FOUND, "单位不存在", "organizationId")
    if not await unit_is_under(body, unit, data.campaign_id):
        raise ServiceError.of(
            CommendationErrorCode.NOT_UNDER_RECOMMENDER,
            "只能推荐本单位所辖的单位",
            "organizationId",
        )
    return unit, None


async def recommend(
    rt: Runtime, user: User, grants: list[Grant], data: RecommendationData
) -> Recommendation:
    errors = Collector()
    reason = check_text(errors, data.reason, "reason", "推荐理由", max_length=1000, multiline=True)
    errors.raise_if_any()
    body = await _recommender(grants, data.recommender_id)
    campaign = await Campaign.get_or_none(id=data.campaign_id)
    if campaign is None:
        raise ServiceError.of(CommendationErrorCode.NO_CAMPAIGN, "活动年度不存在", "campaignId")
    await check_window(campaign.id, body)
    unit, activity = await _target(data, body)
    key = target_key(data.target_kind, activity.id if activity else unit.id)
    async with transaction():
        # the quota row is the recommender's lock: two requests at once cannot both take the
        # last place (PostgreSQL row lock; SQLite writes one transaction at a time)
        await RecommendationQuota.get_or_create(campaign_id=campaign.id, organization_id=body.id)
        await (
            RecommendationQuota.filter(campaign_id=campaign.id, organization_id=body.id)
            .select_for_update()
            .first()
        )
        quota = await quota_of(rt, campaign.id, body.id)
        if quota.used(data.target_kind) >= quota.limit(data.target_kind):
            raise ServiceError.of(
                CommendationErrorCode.QUOTA_EXCEEDED,
                f"{KIND_LABELS[data.target_kind]}推荐名额已用完（共{quota.limit(data.target_kind)}个）",
                "targetKind",
            )
        try:
            recommendation = await Recommendation.create(
                campaign_id=campaign.id,
                recommender_id=body.id,
                recommended_by=user,
                target_kind=data.target_kind,
                organization_id=unit.id,
                activity_id=activity.id if activity else None,
                reason=reason,
                active_target=key,
            )
        except IntegrityError as exc:
            raise ServiceError.of(
                CommendationErrorCode.ALREADY_RECOMMENDED, "已推荐过该单位或活动", "targetKind"
            ) from exc
        await audit.record("recommended", actor=user, target=recommendation, key=key)
        await _notify_recommended(recommendation, body, unit, activity, campaign.year)
    return recommendation


async def _notify_recommended(
    recommendation: Recommendation,
    body: Organization,
    unit: Organization,
    activity: Activity | None,
    year: int,
) -> None:
    holder = activity.title if activity else unit.name
    title, text = render(
        NotificationKind.RECOMMENDED,
        recommender=body.name,
        holder=holder,
        category=KIND_LABELS[recommendation.target_kind],
        year=year,
    )
    await notify(
        await unit_people(unit.id, activity),
        NotificationKind.RECOMMENDED,
        f"recommended:{recommendation.id}",
        title,
        text,
    )


async def withdraw(user: User, grants: list[Grant], recommendation_id: int) -> Recommendation:
    recommendation = await Recommendation.get_or_none(id=recommendation_id)
    if recommendation is None or recommendation.recommender_id not in reader_ids(grants):
        raise ServiceError.of(CommendationErrorCode.NOT_FOUND, "推荐不存在", "id")
    if recommendation.recommender_id not in recommender_ids(grants):
        raise PermissionDenied("只有推荐单位的管理员可以撤回推荐")
    if recommendation.status is RecommendationStatus.WITHDRAWN:
        raise ServiceError.of(CommendationErrorCode.ALREADY_WITHDRAWN, "该推荐已撤回", "id")
    body = await Organization.get(id=recommendation.recommender_id)
    await check_window(recommendation.campaign_id, body)
    async with transaction():
        changed = await Recommendation.filter(
            id=recommendation.id, status=RecommendationStatus.ACTIVE
        ).update(status=RecommendationStatus.WITHDRAWN, active_target=None, withdrawn_at=now())
        if not changed:
            raise ServiceError.of(CommendationErrorCode.ALREADY_WITHDRAWN, "该推荐已撤回", "id")
        await audit.record("recommendation_withdrawn", actor=user, target=recommendation)
    await recommendation.refresh_from_db()
    return recommendation


async def set_quota(
    user: User,
    grants: list[Grant],
    campaign_id: int,
    organization_id: int,
    units: int | None,
    activities: int | None,
) -> RecommendationQuota:
    """National staff set a recommender's quota (null: back to the default)."""
    require_national_staff(grants, "仅限主办单位工作人员设置推荐名额")
    errors = Collector()
    for field, value in (("units", units), ("activities", activities)):
        if value is not None and not 0 <= value <= 10_000:
            errors.add(CommendationErrorCode.INVALID, "推荐名额须在0到10000之间", field)
    errors.raise_if_any()
    if not await Campaign.exists(id=campaign_id):
        raise ServiceError.of(CommendationErrorCode.NO_CAMPAIGN, "活动年度不存在", "campaignId")
    body = await Organization.get_or_none(id=organization_id)
    if body is None or body.kind not in BODY_KINDS:
        raise ServiceError.of(
            CommendationErrorCode.NOT_A_RECOMMENDER,
            "只有省级科协和全国学会有推荐名额",
            "organizationId",
        )
    quota, _ = await RecommendationQuota.update_or_create(
        campaign_id=campaign_id,
        organization_id=body.id,
        defaults={"units": units, "activities": activities},
    )
    await audit.record(
        "recommendation_quota_set", actor=user, target=body, units=units, activities=activities
    )
    return quota


def visible(grants: list[Grant], campaign_id: int, recommender_id: int | None) -> Q:
    """The recommendations a person may list: national staff all, a body's staff their own."""
    scope = Q(campaign_id=campaign_id)
    if recommender_id is not None:
        scope &= Q(recommender_id=recommender_id)
    if is_national_staff(grants):
        return scope
    return scope & Q(recommender_id__in=reader_ids(grants) or {0})
