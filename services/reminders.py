"""Deadline reminders: before each phase closes, at the campaign's offsets (default 7, 3 and 1
days), the units that still owe something there are reminded, once: activities to file, supplement
or summarize, and, before RECOMMENDATION closes, the recommending bodies (provincial associations
and national societies) that have not recommended anything yet.

The sweep asks the database "who owes what before which deadline" with indexed GROUP BY queries,
a batch of units at a time; each batch costs a fixed number of statements (the owing units, their
people, one INSERT of the notifications), so the statement count grows with the number of
batches, not of activities. The deadline that applies to a unit's activity is its region's own or
the national one; every window is swept for the activities it governs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.expressions import Q, Subquery
from tortoise.functions import Count
from tortoise.queryset import QuerySet

from infra.clock import local_date, now
from models import (
    Activity,
    Campaign,
    Membership,
    Notification,
    Organization,
    PhaseWindow,
    Recommendation,
    Region,
)
from models.enums import (
    ActivityStatus,
    DeliveryStatus,
    MemberRole,
    NotificationKind,
    OrganizationKind,
    Phase,
    RecommendationStatus,
    RegionLevel,
)
from services.notifications import queue_deliveries, render
from services.regions import get_region, subtree

DEFAULT_DAYS = (7, 3, 1)
BATCH = 1000
OWED = {
    Phase.FILING: "提交活动填报",
    Phase.SUPPLEMENT: "补充活动信息",
    Phase.SUMMARY: "提交活动总结",
}


@dataclass(frozen=True)
class Sweep:
    reminders: int = 0
    batches: int = 0


def _owing(phase: Phase, campaign_id: int) -> QuerySet[Activity]:
    """Activities whose unit still owes something in `phase`."""
    query = Activity.filter(campaign_id=campaign_id, deleted_at=None)
    if phase is Phase.FILING:
        return query.filter(status=ActivityStatus.DRAFT)
    if phase is Phase.SUPPLEMENT:
        return query.filter(
            status__in=[ActivityStatus.PENDING_REVIEW, ActivityStatus.APPROVED],
            supplemented_at=None,
        )
    return query.filter(status=ActivityStatus.APPROVED, summarized_at=None)


async def _governed(
    query: QuerySet[Activity], window: PhaseWindow, windows: list[PhaseWindow]
) -> QuerySet[Activity]:
    """The activities this window's deadline applies to: in its region (all, if national) and
    not under a more specific window of the same phase."""
    if window.region_code:
        region = await get_region(window.region_code)
        assert region is not None
        query = query.filter(subtree(region))
    for other in windows:
        if other.id == window.id or not other.region_code:
            continue
        inner = await get_region(other.region_code)
        if inner is None:
            continue
        if window.region_code is None or (
            inner.code != window.region_code
            and window.region_code in (inner.province_code, inner.prefecture_code)
        ):
            query = query.exclude(subtree(inner))
    return query


async def sweep(moment: datetime | None = None) -> Sweep:
    """Create (once) every reminder due now; their delivery is queued."""
    moment = moment or now()
    total = Sweep()
    campaigns = await Campaign.filter(
        id__in=Subquery(PhaseWindow.filter(closes_at__gt=moment).values("campaign_id"))
    )
    for campaign in campaigns:
        days = sorted(set(campaign.reminder_days or DEFAULT_DAYS), reverse=True)
        for phase, owed in OWED.items():
            windows = await PhaseWindow.filter(campaign_id=campaign.id, phase=phase)
            for window in windows:
                if window.closes_at <= moment:
                    continue
                # the nearest offset already reached; earlier ones were sent, or are moot
                due = [d for d in days if moment >= window.closes_at - timedelta(days=d)]
                if not due:
                    continue
                offset = min(due)
                query = await _governed(_owing(phase, campaign.id), window, windows)
                total = await _remind(query, phase, owed, window, offset, total)
        total = await _remind_recommenders(campaign, days, moment, total)
    return total


RECOMMEND = "推荐优秀组织单位和优秀活动"


async def _remind_recommenders(
    campaign: Campaign, days: list[int], moment: datetime, total: Sweep
) -> Sweep:
    """Bodies without a standing recommendation, before their RECOMMENDATION window closes: a
    province's own window governs its association, the national one the others."""
    windows = await PhaseWindow.filter(campaign_id=campaign.id, phase=Phase.RECOMMENDATION)
    provincial = {
        w.region_code
        for w in windows
        if w.region_code and await Region.exists(code=w.region_code, level=RegionLevel.PROVINCE)
    }
    for window in windows:
        due = [d for d in days if moment >= window.closes_at - timedelta(days=d)]
        if window.closes_at <= moment or not due or window.region_code not in (None, *provincial):
            continue
        bodies = Organization.filter(
            kind__in=[OrganizationKind.PROVINCIAL_ASSOCIATION, OrganizationKind.NATIONAL_SOCIETY]
        ).exclude(
            id__in=Subquery(
                Recommendation.filter(
                    campaign_id=campaign.id, status=RecommendationStatus.ACTIVE
                ).values("recommender_id")
            )
        )
        if window.region_code:
            bodies = bodies.filter(
                kind=OrganizationKind.PROVINCIAL_ASSOCIATION, province_code=window.region_code
            )
        elif provincial:
            bodies = bodies.exclude(
                kind=OrganizationKind.PROVINCIAL_ASSOCIATION, province_code__in=provincial
            )
        owing = [int(i) for i in await bodies.values_list("id", flat=True)]  # type: ignore[call-overload]
        if not owing:
            continue
        title, body = render(
            NotificationKind.DEADLINE_REMINDER,
            deadline=local_date(window.closes_at),
            owed=RECOMMEND,
            count=0,
        )
        people = await Membership.filter(organization_id__in=owing, role=MemberRole.ADMIN).values(
            "organization_id", "user_id"
        )
        key = f"deadline:{Phase.RECOMMENDATION.value}:{window.closes_at.isoformat()}:{min(due)}"
        rows = [
            _reminder(p["user_id"], f"{key}:{p['organization_id']}", title, body) for p in people
        ]
        total = Sweep(total.reminders + await _store(rows), total.batches + 1)
    return total


def _reminder(user_id: int, key: str, title: str, body: str) -> Notification:
    """A deadline reminder (by SMS too), once per key and person."""
    return Notification(
        recipient_id=user_id,
        kind=NotificationKind.DEADLINE_REMINDER,
        key=key,
        title=title,
        body=body,
        sms_status=DeliveryStatus.PENDING,
    )


async def _store(rows: list[Notification]) -> int:
    """Insert the reminders not sent yet (a key is sent once) and queue their delivery."""
    if not rows:
        return 0
    await Notification.bulk_create(rows, ignore_conflicts=True)
    keys = list({row.key for row in rows})
    created = await Notification.filter(
        Q(key__in=keys), attempts=0, kind=NotificationKind.DEADLINE_REMINDER
    ).values_list("id", flat=True)
    await queue_deliveries(created)  # type: ignore[arg-type]
    return len(rows)


async def _remind(
    query: QuerySet[Activity],
    phase: Phase,
    owed: str,
    window: PhaseWindow,
    offset: int,
    total: Sweep,
) -> Sweep:
    deadline = local_date(window.closes_at)
    after = 0
    while True:
        units = await (
            query.filter(organization_id__gt=after)
            .annotate(n=Count("id"))
            .group_by("organization_id")
            .order_by("organization_id")
            .limit(BATCH)
            .values("organization_id", "n")
        )
        if not units:
            return total
        after = units[-1]["organization_id"]
        owing = {u["organization_id"]: u["n"] for u in units}
        texts = {
            unit: render(
                NotificationKind.DEADLINE_REMINDER, deadline=deadline, owed=owed, count=count
            )
            for unit, count in owing.items()
        }
        people = await Membership.filter(
            organization_id__in=list(owing), role__in=[MemberRole.FILER, MemberRole.ADMIN]
        ).values("organization_id", "user_id")
        rows = [
            _reminder(
                p["user_id"],
                f"deadline:{phase.value}:{window.closes_at.isoformat()}:{offset}:"
                f"{p['organization_id']}",
                *texts[p["organization_id"]],
            )
            for p in people
        ]
        await _store(rows)
        total = Sweep(total.reminders + len(rows), total.batches + 1)
