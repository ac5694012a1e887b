"""The evaluation of the organizing bodies (every provincial association and national society)
on seven indicators, for a campaign.

Six indicators are computed from the platform's data, by grouped SQL (no activity is loaded into
Python), each on a 0..100 scale relative to the best body where it is a volume:

- SOCIAL_MOBILIZATION: 50 × units mobilized / the most + 50 × activities approved / the most;
- JOINT_ACTIONS: 100 × approved activities in joint actions / the most;
- ONLINE_ACTIVITIES: 100 × approved online and hybrid activities / the most;
- INFORMATION_SERVICE: 100 × (supplements on time + summaries on time) / (2 × approved activities),
  "on time" by the body's own SUPPLEMENT and SUMMARY deadlines (a province's, else the national);
- PUBLIC_EVALUATION: 50 × mean rating / 5 + 50 × engagement per approved activity / the most
  (check-ins online and offline, likes, comments, favourites, and head counts at half weight:
  a device's bare count of visitors vouches for less than a person's own check-in; as last
  written behind to `activity_stats`, so without engagement a fraud flag holds out).

- TECH_VOLUNTEERS: 40 × volunteer hours / the most + 30 × volunteers / the most + 30 ×
  activities with volunteers / the most, from the volunteer records of approved activities
  (services/volunteers.py): only volunteers who confirmed count, each person once per body.
  National staff may keep scoring it by hand for a campaign (`volunteers_scored_by_hand`).

PUBLICITY is scored by national staff. The total is the weighted mean of the
seven scores (the campaign's weights; 1 each by default; an unscored indicator counts 0); bodies
are ranked by it (equal totals share a rank). Every computed score carries the inputs it came from.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tortoise.expressions import Q
from tortoise.functions import Count, Sum

from infra.errors import Collector, PermissionDenied, ServiceError
from models import (
    Activity,
    ActivityStats,
    Campaign,
    IndicatorScore,
    Organization,
    PhaseWindow,
    User,
    Volunteer,
)
from models.enums import (
    ActivityForm,
    ActivityStatus,
    Indicator,
    OrganizationKind,
    Phase,
)
from services import audit, volunteers
from services.campaigns import campaign_for
from services.errors import CommendationErrorCode
from services.permissions import Grant, is_national_staff, require_national_staff
from services.recommendations import BODY_KINDS, LOCAL_SUPERVISORS, reader_ids
from services.validation import check_text

COMPUTED = (
    Indicator.SOCIAL_MOBILIZATION,
    Indicator.JOINT_ACTIONS,
    Indicator.ONLINE_ACTIVITIES,
    Indicator.INFORMATION_SERVICE,
    Indicator.PUBLIC_EVALUATION,
    Indicator.TECH_VOLUNTEERS,
)


def computed(campaign: Campaign) -> tuple[Indicator, ...]:
    """The indicators computed for a campaign (the others are scored by national staff)."""
    if campaign.volunteers_scored_by_hand:
        return tuple(i for i in COMPUTED if i is not Indicator.TECH_VOLUNTEERS)
    return COMPUTED


LABELS = {
    "units": "动员单位数（有活动通过审核的单位）",
    "approved": "审核通过的活动数",
    "most_units": "各单位中最多的动员单位数",
    "most_approved": "各单位中最多的通过活动数",
    "joint": "参加联合行动的通过活动数",
    "most_joint": "各单位中最多的联合行动活动数",
    "online": "线上及线上线下结合的通过活动数",
    "most_online": "各单位中最多的网络活动数",
    "supplemented_on_time": "按时提交补充材料的活动数",
    "summarized_on_time": "按时提交活动总结的活动数",
    "mean_rating": "平均评分（满分5分）",
    "ratings": "评分人次",
    "check_ins": "打卡人次（含离线打卡）",
    "offline_check_ins": "其中离线打卡人次",
    "head_count": "现场计数人数（按一半计入互动）",
    "engagement": "打卡、点赞、评论、收藏及现场计数（半数）合计",
    "engagement_per_activity": "每个通过活动的平均互动数",
    "most_engagement_per_activity": "各单位中最高的每活动平均互动数",
    "volunteers": "科技志愿者人数（已确认，按人计）",
    "volunteer_hours": "志愿服务时长（小时）",
    "activities_with_volunteers": "有志愿者服务的通过活动数",
    "most_volunteers": "各单位中最多的志愿者人数",
    "most_volunteer_hours": "各单位中最多的志愿服务时长（小时）",
    "most_activities_with_volunteers": "各单位中最多的有志愿者活动数",
}
Key = tuple[str, Any]  # ("province", "510000") or ("society", 42)
# what each count of `activity_stats` weighs in PUBLIC_EVALUATION's engagement (offline
# check-ins are among the check-ins, so they weigh nothing more)
ENGAGEMENT_WEIGHTS = {
    "check_ins": 1.0,
    "likes": 1.0,
    "comments": 1.0,
    "favorites": 1.0,
    "offline_check_ins": 0.0,
    "head_count": 0.5,
}


@dataclass
class Score:
    indicator: Indicator
    score: float | None
    computed: bool
    inputs: dict[str, float] = field(default_factory=dict)
    note: str | None = None


@dataclass
class Entry:
    organization: Organization
    scores: list[Score]
    total: float = 0.0
    rank: int = 0


def _key(body: Organization) -> Key:
    if body.kind is OrganizationKind.NATIONAL_SOCIETY:
        return ("society", body.id)
    return ("province", body.province_code)


DEADLINE_PHASES = (Phase.SUPPLEMENT, Phase.SUMMARY)
Deadlines = tuple[datetime | None, ...]


async def _deadlines(campaign_id: int) -> Callable[[Organization], Deadlines]:
    """Each body's SUPPLEMENT and SUMMARY deadlines, from one read of the campaign's windows: a
    provincial association's own province's where it set them, else the national ones."""
    closes = {
        (w.region_code, w.phase): w.closes_at
        for w in await PhaseWindow.filter(campaign_id=campaign_id, phase__in=DEADLINE_PHASES)
    }

    def of(body: Organization) -> Deadlines:
        region = (
            body.province_code if body.kind is OrganizationKind.PROVINCIAL_ASSOCIATION else None
        )
        return tuple(closes.get((region, p), closes.get((None, p))) for p in DEADLINE_PHASES)

    return of


def _scoped(campaign_id: int, keys: list[Key], prefix: str = "") -> Q:
    """Approved activities of the campaign under the bodies of `keys` (all of one kind);
    `prefix` names the relation leading to the activity."""
    ids = [k[1] for k in keys]
    under: dict[str, Any] = (
        {"supervisor_kind": OrganizationKind.NATIONAL_SOCIETY, "supervisor_id__in": ids}
        if keys and keys[0][0] == "society"
        else {"supervisor_kind__in": LOCAL_SUPERVISORS, "province_code__in": ids}
    )
    conditions = {
        "campaign_id": campaign_id,
        "status": ActivityStatus.APPROVED,
        "deleted_at": None,
        **under,
    }
    return Q(**{prefix + name: value for name, value in conditions.items()})


def _group(keys: list[Key], prefix: str = "") -> str:
    return (
        f"{prefix}supervisor_id" if keys and keys[0][0] == "society" else f"{prefix}province_code"
    )


async def _figures(campaign_id: int, bodies: list[Organization]) -> dict[Key, dict[str, float]]:
    """The raw figures of every body: a few grouped queries per kind of body and deadline."""
    figures: dict[Key, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    by_kind: dict[str, list[Key]] = defaultdict(list)
    by_deadline: dict[tuple[str, Deadlines], list[Key]] = defaultdict(list)
    deadlines_of = await _deadlines(campaign_id)
    for body in bodies:
        key = _key(body)
        by_kind[key[0]].append(key)
        by_deadline[(key[0], deadlines_of(body))].append(key)
    for keys in by_kind.values():
        group = _group(keys)
        rows = (
            await Activity.filter(_scoped(campaign_id, keys))
            .annotate(
                approved=Count("id"),
                units=Count("organization_id", distinct=True),
                joint=Count("id", _filter=Q(joint_action_id__isnull=False)),
                online=Count("id", _filter=Q(form__in=[ActivityForm.ONLINE, ActivityForm.HYBRID])),
            )
            .group_by(group)
            .values(group, "approved", "units", "joint", "online")
        )
        for row in rows:
            target = figures[(keys[0][0], row[group])]
            for name in ("approved", "units", "joint", "online"):
                target[name] = float(row[name] or 0)
        stats_group = _group(keys, "activity__")
        for row in (
            await ActivityStats.filter(_scoped(campaign_id, keys, "activity__"))
            .annotate(
                rating_sum=Sum("rating_sum"),
                rating_count=Sum("rating_count"),
                check_ins=Sum("check_ins"),
                likes=Sum("likes"),
                comments=Sum("comments"),
                favorites=Sum("favorites"),
                offline_check_ins=Sum("offline_check_ins"),
                head_count=Sum("head_count"),
            )
            .group_by(stats_group)
            .values(stats_group, "rating_sum", "rating_count", *ENGAGEMENT_WEIGHTS)
        ):
            target = figures[(keys[0][0], row[stats_group])]
            target["rating_sum"] = float(row["rating_sum"] or 0)
            target["ratings"] = float(row["rating_count"] or 0)
            for name in ("check_ins", "offline_check_ins", "head_count"):
                target[name] = float(row[name] or 0)
            target["engagement"] = float(
                sum(weight * (row[n] or 0) for n, weight in ENGAGEMENT_WEIGHTS.items())
            )

        for row in (
            await volunteers.counted_service(
                Volunteer.filter(_scoped(campaign_id, keys, "activity__"))
            )
            .group_by(stats_group)
            .values(stats_group, "people", "served", "activities")
        ):
            target = figures[(keys[0][0], row[stats_group])]
            target["volunteers"] = float(row["people"] or 0)
            target["volunteer_hours"] = round(float(row["served"] or 0) / 60, 2)
            target["activities_with_volunteers"] = float(row["activities"] or 0)

    for (kind, (supplement_by, summary_by)), keys in by_deadline.items():
        group = _group(keys)
        on_time = {
            "supplemented_on_time": Q(supplemented_at__isnull=False)
            & (Q(supplemented_at__lte=supplement_by) if supplement_by else Q()),
            "summarized_on_time": Q(summarized_at__isnull=False)
            & (Q(summarized_at__lte=summary_by) if summary_by else Q()),
        }
        for row in (
            await Activity.filter(_scoped(campaign_id, keys))
            .annotate(**{name: Count("id", _filter=q) for name, q in on_time.items()})
            .group_by(group)
            .values(group, *on_time)
        ):
            target = figures[(kind, row[group])]
            for name in on_time:
                target[name] = float(row[name] or 0)
    return figures


def _share(value: float, most: float) -> float:
    return value / most if most else 0.0


def _computed(raw: dict[str, float], most: dict[str, float]) -> list[Score]:
    approved = raw.get("approved", 0.0)
    per_activity = _share(raw.get("engagement", 0.0), approved)
    mean_rating = _share(raw.get("rating_sum", 0.0), raw.get("ratings", 0.0))
    on_time = raw.get("supplemented_on_time", 0.0) + raw.get("summarized_on_time", 0.0)
    return [
        Score(
            Indicator.SOCIAL_MOBILIZATION,
            50 * _share(raw.get("units", 0.0), most["units"])
            + 50 * _share(approved, most["approved"]),
            True,
            {
                "units": raw.get("units", 0.0),
                "approved": approved,
                "most_units": most["units"],
                "most_approved": most["approved"],
            },
        ),
        Score(
            Indicator.JOINT_ACTIONS,
            100 * _share(raw.get("joint", 0.0), most["joint"]),
            True,
            {"joint": raw.get("joint", 0.0), "most_joint": most["joint"]},
        ),
        Score(
            Indicator.ONLINE_ACTIVITIES,
            100 * _share(raw.get("online", 0.0), most["online"]),
            True,
            {"online": raw.get("online", 0.0), "most_online": most["online"]},
        ),
        Score(
            Indicator.INFORMATION_SERVICE,
            100 * _share(on_time, 2 * approved),
            True,
            {
                "approved": approved,
                "supplemented_on_time": raw.get("supplemented_on_time", 0.0),
                "summarized_on_time": raw.get("summarized_on_time", 0.0),
            },
        ),
        Score(
            Indicator.PUBLIC_EVALUATION,
            50 * mean_rating / 5 + 50 * _share(per_activity, most["engagement_per_activity"]),
            True,
            {
                "mean_rating": round(mean_rating, 2),
                "ratings": raw.get("ratings", 0.0),
                "check_ins": raw.get("check_ins", 0.0),
                "offline_check_ins": raw.get("offline_check_ins", 0.0),
                "head_count": raw.get("head_count", 0.0),
                "engagement": raw.get("engagement", 0.0),
                "engagement_per_activity": round(per_activity, 2),
                "most_engagement_per_activity": round(most["engagement_per_activity"], 2),
            },
        ),
        Score(
            Indicator.TECH_VOLUNTEERS,
            40 * _share(raw.get("volunteer_hours", 0.0), most["volunteer_hours"])
            + 30 * _share(raw.get("volunteers", 0.0), most["volunteers"])
            + 30
            * _share(
                raw.get("activities_with_volunteers", 0.0), most["activities_with_volunteers"]
            ),
            True,
            {
                "volunteers": raw.get("volunteers", 0.0),
                "volunteer_hours": raw.get("volunteer_hours", 0.0),
                "activities_with_volunteers": raw.get("activities_with_volunteers", 0.0),
                "most_volunteers": most["volunteers"],
                "most_volunteer_hours": most["volunteer_hours"],
                "most_activities_with_volunteers": most["activities_with_volunteers"],
            },
        ),
    ]


def weights_of(campaign: Campaign) -> dict[Indicator, float]:
    stored = campaign.indicator_weights or {}
    return {i: float(stored.get(i.value, 1.0)) for i in Indicator}


async def evaluate(grants: list[Grant], year: int) -> list[Entry]:
    """Every body's scores, total and rank; national staff see all, a body's staff their own."""
    if is_national_staff(grants):
        allowed: set[int] | None = None
    else:
        allowed = reader_ids(grants)
        if not allowed:
            raise PermissionDenied("仅限主办单位和组织单位工作人员查看考核结果")
    campaign = await campaign_for(year)
    bodies = await Organization.filter(kind__in=BODY_KINDS).order_by("id")
    figures = await _figures(campaign.id, bodies)
    raw = {body.id: figures.get(_key(body), {}) for body in bodies}
    most = {
        name: max((r.get(name, 0.0) for r in raw.values()), default=0.0)
        for name in (
            "units",
            "approved",
            "joint",
            "online",
            "volunteers",
            "volunteer_hours",
            "activities_with_volunteers",
        )
    }
    most["engagement_per_activity"] = max(
        (_share(r.get("engagement", 0.0), r.get("approved", 0.0)) for r in raw.values()),
        default=0.0,
    )
    manual = {
        (s.organization_id, s.indicator): s
        for s in await IndicatorScore.filter(campaign_id=campaign.id)
    }
    weights = weights_of(campaign)
    weight_sum = sum(weights.values()) or 1.0
    entries = []
    by_hand = [i for i in Indicator if i not in computed(campaign)]
    for body in bodies:
        scores = {s.indicator: s for s in _computed(raw[body.id], most)}
        for indicator in by_hand:
            given = manual.get((body.id, indicator))
            scores[indicator] = Score(
                indicator, given.score if given else None, False, note=given.note if given else None
            )
        ordered = [scores[i] for i in Indicator]
        for score in ordered:
            if score.score is not None:
                score.score = round(score.score, 2)
        total = sum(weights[s.indicator] * (s.score or 0.0) for s in ordered) / weight_sum
        entries.append(Entry(body, ordered, round(total, 2)))
    entries.sort(key=lambda e: (-e.total, e.organization.id))
    for position, entry in enumerate(entries, start=1):
        previous = entries[position - 2] if position > 1 else None
        entry.rank = previous.rank if previous and previous.total == entry.total else position
    if allowed is not None:
        entries = [e for e in entries if e.organization.id in allowed]
    return entries


async def score_indicator(
    user: User,
    grants: list[Grant],
    *,
    year: int,
    organization_id: int,
    indicator: Indicator,
    score: float,
    note: str | None,
) -> IndicatorScore:
    require_national_staff(grants, "仅限主办单位工作人员评分")
    campaign = await campaign_for(year)
    errors = Collector()
    if indicator in computed(campaign):
        errors.add(
            CommendationErrorCode.COMPUTED_INDICATOR,
            "该指标由平台数据计算，不能手工评分",
            "indicator",
        )
    if not 0 <= score <= 100:
        errors.add(CommendationErrorCode.INVALID, "分数须在0到100之间", "score")
    text = check_text(
        errors, note, "note", "评分说明", max_length=1000, required=False, multiline=True
    )
    errors.raise_if_any()
    body = await Organization.get_or_none(id=organization_id)
    if body is None or body.kind not in BODY_KINDS:
        raise ServiceError.of(
            CommendationErrorCode.NOT_FOUND, "只有省级科协和全国学会参加考核", "organizationId"
        )
    row, _ = await IndicatorScore.update_or_create(
        campaign_id=campaign.id,
        organization_id=body.id,
        indicator=indicator,
        defaults={"score": score, "note": text or None, "scored_by_id": user.id},
    )
    await audit.record(
        "indicator_scored", actor=user, target=body, indicator=indicator.value, score=score
    )
    return row


async def set_weights(
    user: User, grants: list[Grant], year: int, weights: dict[Indicator, float]
) -> Campaign:
    require_national_staff(grants, "仅限主办单位工作人员设置权重")
    if any(not 0 <= w <= 100 for w in weights.values()):
        raise ServiceError.of(CommendationErrorCode.INVALID, "权重须在0到100之间", "weights")
    campaign = await campaign_for(year)
    merged = {i.value: w for i, w in weights_of(campaign).items()}
    merged.update({i.value: float(w) for i, w in weights.items()})
    if not any(merged.values()):
        raise ServiceError.of(CommendationErrorCode.INVALID, "权重不能全部为0", "weights")
    campaign.indicator_weights = merged
    await campaign.save(update_fields=["indicator_weights"])
    await audit.record("indicator_weights_set", actor=user, target=campaign, weights=merged)
    return campaign


async def score_volunteers_by_hand(
    user: User, grants: list[Grant], year: int, by_hand: bool
) -> Campaign:
    """Whether national staff keep scoring TECH_VOLUNTEERS by hand for a campaign, instead of
    computing it from the volunteer records (scores given by hand are kept either way)."""
    require_national_staff(grants, "仅限主办单位工作人员设置评分方式")
    campaign = await campaign_for(year)
    campaign.volunteers_scored_by_hand = by_hand
    await campaign.save(update_fields=["volunteers_scored_by_hand"])
    await audit.record("volunteer_scoring_set", actor=user, target=campaign, by_hand=by_hand)
    return campaign
