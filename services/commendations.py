"""Commendation: national staff decide a proposed list, it stays on public notice for a number of
working days while anyone signed in may object, staff may take entries off, and after the notice
the remaining entries become FINAL, each with a serial number for its certificate.

An entry's serial is given once, when it becomes final, and never changes (certificates rendered
again carry the same one). A revoked entry keeps its serial, which then verifies as not valid.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from infra import jobs, qr
from infra.clock import CHINA, local_date, now
from infra.errors import Collector, ServiceError
from models import Activity, Campaign, Commendation, Objection, Organization, Recommendation, User
from models.enums import (
    ActivityStatus,
    CommendationKind,
    CommendationStatus,
    NotificationKind,
    OrganizationKind,
    RecommendationStatus,
)
from services import audit
from services.campaigns import campaign_for
from services.content import PUBLIC, publishes
from services.errors import CommendationErrorCode
from services.events import later, transaction
from services.notifications import notify, render, unit_people
from services.permissions import Grant, is_national_staff, require_national_staff
from services.recommendations import KIND_LABELS, target_key
from services.runtime import Runtime
from services.validation import check_text

MAX_DECISION = 5000
PUBLIC_STATUSES = (CommendationStatus.PROPOSED, CommendationStatus.FINAL)
SERIAL_LETTERS = {CommendationKind.UNIT: "U", CommendationKind.ACTIVITY: "A"}


def notice_end(
    start: datetime,
    working_days: int,
    holidays: tuple[date, ...],
    workdays: tuple[date, ...] = (),
) -> datetime:
    """The end of a public notice that starts at `start`: midnight (China time) after the
    `working_days`-th working day following the day of publication. Saturdays, Sundays and the
    configured holidays are not counted; a weekend day worked in exchange for a holiday is."""
    day = start.astimezone(CHINA).date()
    counted = 0
    while counted < working_days:
        day += timedelta(days=1)
        if day in workdays or (day.weekday() < 5 and day not in holidays):
            counted += 1
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=CHINA).astimezone(UTC)


def last_notice_day(commendation: Commendation) -> str:
    """The last day of an entry's notice, as people read it."""
    return local_date(commendation.notice_ends_at - timedelta(seconds=1))


def visible(grants: list[Grant]) -> Q:
    """Everyone sees the proposed list (it is published for notice) and the final lists; only
    national staff see entries taken off or revoked."""
    if is_national_staff(grants):
        return Q()
    return Q(status__in=PUBLIC_STATUSES)


@dataclass(frozen=True)
class Decision:
    year: int
    unit_ids: list[int]
    activity_ids: list[int]


@publishes(PUBLIC)
async def decide(
    rt: Runtime, user: User, grants: list[Grant], decision: Decision
) -> list[Commendation]:
    """Put units and activities on the proposed list (from recommendations or not) and publish it
    for public notice from now."""
    require_national_staff(grants)
    campaign = await campaign_for(decision.year)
    unit_ids = list(dict.fromkeys(decision.unit_ids))
    activity_ids = list(dict.fromkeys(decision.activity_ids))
    if not unit_ids and not activity_ids:
        raise ServiceError.of(CommendationErrorCode.REQUIRED, "请选择表扬的单位或活动", "unitIds")
    if len(unit_ids) + len(activity_ids) > MAX_DECISION:
        raise ServiceError.of(
            CommendationErrorCode.TOO_MANY_ITEMS, f"一次最多决定{MAX_DECISION}个表扬对象", "unitIds"
        )
    errors = Collector()
    units = {o.id: o for o in await Organization.filter(id__in=unit_ids)}
    if len(units) < len(unit_ids):
        errors.add(CommendationErrorCode.NOT_FOUND, "部分单位不存在", "unitIds")
    if any(o.kind is OrganizationKind.NATIONAL_ORGANIZER for o in units.values()):
        errors.add(CommendationErrorCode.KIND_NOT_ALLOWED, "主办单位不能被表扬", "unitIds")
    activities = {
        a.id: a
        for a in await Activity.filter(
            id__in=activity_ids, campaign_id=campaign.id, deleted_at=None
        ).select_related("organization")
    }
    if len(activities) < len(activity_ids):
        errors.add(CommendationErrorCode.NOT_FOUND, "部分活动不存在或不属于该年度", "activityIds")
    if any(a.status is not ActivityStatus.APPROVED for a in activities.values()):
        errors.add(CommendationErrorCode.NOT_APPROVED, "只能表扬审核通过的活动", "activityIds")
    errors.raise_if_any()

    keys = [target_key(CommendationKind.UNIT, i) for i in unit_ids] + [
        target_key(CommendationKind.ACTIVITY, i) for i in activity_ids
    ]
    taken = await Commendation.filter(campaign_id=campaign.id, active_target__in=keys).values_list(
        "holder_name", flat=True
    )
    if taken:
        names = "、".join(str(n) for n in list(taken)[:3])
        raise ServiceError.of(
            CommendationErrorCode.ALREADY_PROPOSED, f"已在表扬名单中：{names}", "unitIds"
        )
    recommended = {
        str(key): int(rid)
        for rid, key in await Recommendation.filter(
            campaign_id=campaign.id, status=RecommendationStatus.ACTIVE, active_target__in=keys
        )
        .order_by("-id")
        .values_list("id", "active_target")
    }
    start = now()
    settings = rt.settings
    ends = notice_end(start, settings.notice_working_days, settings.holidays, settings.workdays)
    rows = [
        Commendation(
            campaign_id=campaign.id,
            kind=CommendationKind.UNIT,
            organization_id=unit.id,
            recommendation_id=recommended.get(target_key(CommendationKind.UNIT, unit.id)),
            holder_name=unit.name,
            unit_name=unit.name,
            active_target=target_key(CommendationKind.UNIT, unit.id),
            decided_by_id=user.id,
            notice_starts_at=start,
            notice_ends_at=ends,
        )
        for unit in (units[i] for i in unit_ids)
    ] + [
        Commendation(
            campaign_id=campaign.id,
            kind=CommendationKind.ACTIVITY,
            organization_id=activity.organization_id,
            activity_id=activity.id,
            recommendation_id=recommended.get(target_key(CommendationKind.ACTIVITY, activity.id)),
            holder_name=activity.title,
            unit_name=activity.organization.name,
            active_target=target_key(CommendationKind.ACTIVITY, activity.id),
            decided_by_id=user.id,
            notice_starts_at=start,
            notice_ends_at=ends,
        )
        for activity in (activities[i] for i in activity_ids)
    ]
    async with transaction():
        try:
            await Commendation.bulk_create(rows, batch_size=500)
        except IntegrityError as exc:  # decided at the same moment by someone else
            raise ServiceError.of(
                CommendationErrorCode.ALREADY_PROPOSED, "部分对象已在表扬名单中", "unitIds"
            ) from exc
        await audit.record(
            "commendations_proposed",
            actor=user,
            target=campaign,
            units=len(unit_ids),
            activities=len(activity_ids),
            notice_ends_at=ends.isoformat(),
        )
    return await Commendation.filter(campaign_id=campaign.id, active_target__in=keys).order_by("id")


async def _proposed(commendation_id: int, grants: list[Grant]) -> Commendation:
    commendation = await Commendation.filter(visible(grants), id=commendation_id).first()
    if commendation is None:
        raise ServiceError.of(
            CommendationErrorCode.NOT_FOUND, "表扬名单中没有该条目", "commendationId"
        )
    return commendation


async def raise_objection(
    user: User, grants: list[Grant], commendation_id: int, reason: str
) -> Objection:
    """Anyone signed in objects under their own account, while the entry is on notice."""
    text = _reason(reason, "异议理由", min_length=5)
    commendation = await _proposed(commendation_id, grants)
    if commendation.status is not CommendationStatus.PROPOSED:
        raise ServiceError.of(
            CommendationErrorCode.NOT_ON_NOTICE, "该条目不在公示期内", "commendationId"
        )
    if now() >= commendation.notice_ends_at:
        raise ServiceError.of(
            CommendationErrorCode.NOT_ON_NOTICE,
            f"该条目的公示期已于{last_notice_day(commendation)}结束",
            "commendationId",
        )
    try:
        objection = await Objection.create(commendation=commendation, user=user, reason=text)
    except IntegrityError as exc:
        raise ServiceError.of(
            CommendationErrorCode.ALREADY_OBJECTED, "您已对该条目提出过异议", "commendationId"
        ) from exc
    await audit.record("objection_raised", actor=user, target=commendation)
    return objection


def _reason(reason: str, label: str, min_length: int = 1) -> str:
    errors = Collector()
    text = check_text(
        errors, reason, "reason", label, max_length=1000, min_length=min_length, multiline=True
    )
    errors.raise_if_any()
    return text


@publishes(PUBLIC)
async def remove(
    user: User, grants: list[Grant], commendation_id: int, reason: str
) -> Commendation:
    """Staff take a proposed entry off the list (it can be decided again later)."""
    require_national_staff(grants)
    text = _reason(reason, "移除理由")
    commendation = await _proposed(commendation_id, grants)
    changed = await Commendation.filter(
        id=commendation.id, status=CommendationStatus.PROPOSED
    ).update(
        status=CommendationStatus.REMOVED, active_target=None, removed_reason=text, removed_at=now()
    )
    if not changed:
        raise ServiceError.of(CommendationErrorCode.NOT_PROPOSED, "只能移除公示中的条目", "id")
    await audit.record("commendation_removed", actor=user, target=commendation, reason=text)
    await commendation.refresh_from_db()
    return commendation


def serial_for(year: int, kind: CommendationKind, number: int) -> str:
    """`KP2026-U-00042-7KQ3`: year, kind and number for people; four random characters so that
    serials cannot be guessed from one another."""
    tail = "".join(secrets.choice(qr.ALPHABET) for _ in range(4))
    return f"KP{year}-{SERIAL_LETTERS[kind]}-{number:05d}-{tail}"


@publishes(PUBLIC)
async def finalize(user: User, grants: list[Grant], year: int) -> list[Commendation]:
    """After the notice, the remaining proposed entries become FINAL with their serials."""
    require_national_staff(grants)
    campaign = await campaign_for(year)
    proposed = Commendation.filter(campaign_id=campaign.id, status=CommendationStatus.PROPOSED)
    if not await proposed.exists():
        raise ServiceError.of(
            CommendationErrorCode.NOTHING_TO_FINALIZE, "没有待确定的表扬名单", "year"
        )
    moment = now()
    still_on_notice = (
        await proposed.filter(notice_ends_at__gt=moment).order_by("-notice_ends_at").first()
    )
    if still_on_notice is not None:
        raise ServiceError.of(
            CommendationErrorCode.NOTICE_NOT_OVER,
            f"公示期至{last_notice_day(still_on_notice)}结束，结束后方可确定名单",
            "year",
        )
    finalized: list[int] = []
    async with transaction():
        for kind in CommendationKind:
            numbered = await Commendation.filter(
                campaign_id=campaign.id, kind=kind, serial__isnull=False
            ).count()
            ids: list[int] = (
                await proposed.filter(kind=kind)
                .order_by("id")
                .values_list(  # type: ignore[assignment]
                    "id", flat=True
                )
            )
            for commendation_id in ids:
                # guarded: an entry removed meanwhile stays removed, and takes no number
                changed = await Commendation.filter(
                    id=commendation_id, status=CommendationStatus.PROPOSED
                ).update(
                    status=CommendationStatus.FINAL,
                    serial=serial_for(year, kind, numbered + 1),
                    finalized_at=moment,
                )
                if changed:
                    numbered += 1
                    finalized.append(commendation_id)
        await audit.record(
            "commendations_finalized", actor=user, target=campaign, count=len(finalized)
        )

        async def announce() -> None:
            await jobs.enqueue(
                "announce_commendations",
                campaign.id,
                job_id=f"announce:{campaign.id}:{moment.timestamp()}",
            )

        await later(announce)
    return await Commendation.filter(id__in=finalized).order_by("id")


@publishes(PUBLIC)
async def revoke(
    user: User, grants: list[Grant], commendation_id: int, reason: str
) -> Commendation:
    """Staff withdraw a final commendation: its certificate no longer verifies."""
    require_national_staff(grants)
    text = _reason(reason, "撤销理由")
    changed = await Commendation.filter(id=commendation_id, status=CommendationStatus.FINAL).update(
        status=CommendationStatus.REVOKED, revoked_at=now(), revoked_reason=text
    )
    if not changed:
        raise ServiceError.of(CommendationErrorCode.NOT_FINAL, "只能撤销已确定的表扬", "id")
    commendation = await Commendation.get(id=commendation_id)
    await audit.record("commendation_revoked", actor=user, target=commendation, reason=text)
    return commendation


async def announce(campaign_id: int, certificates: bool = False) -> int:
    """Tell the people of every commended unit (and the filer of a commended activity) that it is
    commended, or that its certificate is ready; once per entry and occasion, however often it
    runs (the notification key)."""
    campaign = await Campaign.get(id=campaign_id)
    kind = NotificationKind.CERTIFICATE_READY if certificates else NotificationKind.COMMENDED
    sent = 0
    after = 0
    while True:
        query = Commendation.filter(
            campaign_id=campaign_id, status=CommendationStatus.FINAL, id__gt=after
        )
        if certificates:
            query = query.filter(certificate_file__isnull=False)
        batch = await query.order_by("id").limit(500).select_related("activity")
        if not batch:
            return sent
        for entry in batch:
            after = entry.id
            people = await unit_people(entry.organization_id, entry.activity)
            title, body = render(
                kind,
                holder=entry.holder_name,
                campaign=campaign.label,
                category=KIND_LABELS[entry.kind],
                serial=entry.serial,
            )
            await notify(people, kind, f"{kind.value.lower()}:{entry.id}", title, body)
            sent += 1


def can_download(grants: list[Grant], commendation: Commendation) -> bool:
    """A certificate goes to the people of the commended unit and to national staff."""
    return is_national_staff(grants) or any(
        g.organization_id == commendation.organization_id for g in grants
    )
