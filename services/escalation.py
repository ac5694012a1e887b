"""Reviews that wait too long: reminded after N days, escalated after M days to the next
supervisor up the chain (city → province → national organizer), whose reviewers may then decide.

Both are found with indexed queries over pending activities, a batch at a time; reminders are
once per reviewing organization and day, escalation notices once per activity and level.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import timedelta

from tortoise.expressions import Q
from tortoise.functions import Count

from infra.clock import local_date, now
from models import Activity, Membership, Organization
from models.enums import ActivityStatus, NotificationKind
from services.notifications import notify, render
from services.rules import REVIEWING_ROLES

BATCH = 500


@dataclass(frozen=True)
class ReviewSweep:
    reminded: int = 0
    escalated: int = 0


async def _reviewers(organization_ids: list[int]) -> dict[int, list[int]]:
    people: dict[int, list[int]] = defaultdict(list)
    for row in await Membership.filter(
        organization_id__in=organization_ids, role__in=list(REVIEWING_ROLES)
    ).values("organization_id", "user_id"):
        people[row["organization_id"]].append(row["user_id"])
    return people


async def _remind(remind_days: int) -> int:
    """Each reviewing organization with reviews waiting longer than `remind_days`: once a day."""
    cutoff = now() - timedelta(days=remind_days)
    pending = Activity.filter(
        status=ActivityStatus.PENDING_REVIEW, deleted_at=None, submitted_at__lt=cutoff
    )
    waiting: dict[int, int] = defaultdict(int)
    for column, query in (
        ("supervisor_id", pending.filter(escalated_to_id=None)),
        ("escalated_to_id", pending.filter(escalated_to_id__not_isnull=True)),
    ):
        for row in await query.annotate(n=Count("id")).group_by(column).values(column, "n"):
            waiting[row[column]] += row["n"]
    people = await _reviewers(list(waiting))
    today = local_date(now())
    for organization_id, count in waiting.items():
        title, body = render(NotificationKind.REVIEW_REMINDER, count=count, days=remind_days)
        await notify(
            people.get(organization_id, []),
            NotificationKind.REVIEW_REMINDER,
            f"review-remind:{organization_id}:{today}",
            title,
            body,
        )
    return len(waiting)


async def _escalate(escalate_days: int) -> int:
    """Move reviews waiting longer than `escalate_days` (at their current level) one level up."""
    cutoff = now() - timedelta(days=escalate_days)
    stuck = Activity.filter(
        Q(escalated_to_id=None, submitted_at__lt=cutoff)
        | Q(escalated_to_id__not_isnull=True, escalated_at__lt=cutoff),
        status=ActivityStatus.PENDING_REVIEW,
        deleted_at=None,
    )
    moved = 0
    after = 0
    while True:
        rows = (
            await stuck.filter(id__gt=after)
            .order_by("id")
            .limit(BATCH)
            .values("id", "title", "supervisor_id", "escalated_to_id")
        )
        if not rows:
            return moved
        after = rows[-1]["id"]
        current = {r["id"]: r["escalated_to_id"] or r["supervisor_id"] for r in rows}
        parents = dict(
            await Organization.filter(id__in=set(current.values())).values_list("id", "parent_id")
        )
        by_target: dict[int, list[dict]] = defaultdict(list)
        for row in rows:
            target = parents.get(current[row["id"]])
            if target is not None:  # the national organizer is the last level
                by_target[target].append(row)
        people = await _reviewers(list(by_target))
        moment = now()
        for target, activities in by_target.items():
            await Activity.filter(id__in=[a["id"] for a in activities]).update(
                escalated_to_id=target, escalated_at=moment
            )
            for activity in activities:
                title, body = render(
                    NotificationKind.REVIEW_ESCALATED, title=activity["title"], days=escalate_days
                )
                await notify(
                    people.get(target, []),
                    NotificationKind.REVIEW_ESCALATED,
                    f"escalated:{activity['id']}:{target}",
                    title,
                    body,
                )
            moved += len(activities)


async def sweep(remind_days: int, escalate_days: int) -> ReviewSweep:
    escalated = await _escalate(escalate_days)
    reminded = await _remind(remind_days)
    return ReviewSweep(reminded=reminded, escalated=escalated)
