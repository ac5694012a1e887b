"""Check-in fraud kept out of the numbers.

Check-in, like and rating counts feed the commendation indicators, so they are worth faking. A
job (`scan`, every minute) reads the records that arrived since its last run, with the records
around them in time, and gives them to the rules: small functions of records, each with its
thresholds in the settings (`Limits`). What a rule finds becomes a flag per activity:

- its records are taken out of the activity's counts by an adjustment event, which goes through
  the same counters and write-behind as the records themselves (`services.counters`), so that
  the public counts, the reports and the evaluation all leave them out, exactly once;
- a reviewer of the activity's supervising unit (not of its own unit) confirms the fraud, and
  the records stay out for good, or dismisses the flag, and a second event puts back exactly the
  amounts the first took out (`resolve`); the decision, its reason and note are audited, and the
  unit is told of the flag and of the decision;
- while a person's like or rating of an activity is flagged, their likes and ratings of it are
  held (`held`): a toggle would otherwise move a count the flag has already taken out.

A record is flagged once (a unique key), so that a run repeated after a crash, or overlapping the
last one, flags nothing twice. Each run reads again the last `OVERLAP` ids before its position:
a record whose insert committed after a later one had been read is not missed.

"Far apart" means in two different prefecture-level cities, since activities carry no coordinates
yet; online activities have no place and never count as far apart.
"""

from __future__ import annotations

import functools
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from infra import sql
from infra.clock import now
from infra.errors import Collector, PermissionDenied, ServiceError
from infra.geo import Point, distance_km
from infra.settings import Settings
from models import (
    Activity,
    CheckIn,
    EngagementFlag,
    FlagAdjustment,
    FlaggedRecord,
    Like,
    Rating,
    ScanPosition,
    User,
)
from models.enums import ActivityForm, FlagStatus, FraudRule, NotificationKind
from services import audit, notifications
from services.counters import ADJUSTED, Counters
from services.errors import EngagementErrorCode
from services.events import later, transaction
from services.permissions import Grant, is_national_staff
from services.rules import REVIEWING_ROLES, member_org_ids, reviews_it

CHECK_IN, LIKE, RATING = "c", "l", "r"  # the counters' event prefixes of the three kinds
OVERLAP = 1000
BATCH = 2000


@dataclass(frozen=True)
class Limits:
    """The rules' thresholds (settings `FRAUD_*`)."""

    window: timedelta = timedelta(minutes=10)
    burst_floor: int = 200
    new_account_age: timedelta = timedelta(hours=24)
    new_accounts: int = 20
    travel: timedelta = timedelta(minutes=30)
    far_km: float = 50.0
    cohort_span: timedelta = timedelta(minutes=10)
    cohort_size: int = 20

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(
            window=timedelta(minutes=settings.fraud_window_minutes),
            burst_floor=settings.fraud_burst_floor,
            new_account_age=timedelta(hours=settings.fraud_new_account_hours),
            new_accounts=settings.fraud_new_accounts,
            travel=timedelta(minutes=settings.fraud_travel_minutes),
            far_km=settings.fraud_far_km,
            cohort_span=timedelta(minutes=settings.fraud_cohort_minutes),
            cohort_size=settings.fraud_cohort_size,
        )


@dataclass(frozen=True)
class Seen:
    """A record as the rules see it."""

    kind: str
    id: int
    activity_id: int
    user_id: int
    at: datetime  # when it happened (a device's scan: the time of the scan)
    joined: datetime  # when the person's account was made
    device_id: int | None = None
    address: str | None = None
    place: str | None = None  # the activity's city (prefecture code); None when online
    expected: int = 0  # the activity's expected participants (0: not given)
    point: Point | None = None  # where the activity takes place, when its filer gave it


@dataclass(frozen=True)
class Finding:
    rule: FraudRule
    reason: str
    records: tuple[Seen, ...] = field(default_factory=tuple)


def _more_than(limit: int, people: Counter[int]) -> bool:
    return people.total() > limit


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def _grouped(records: Iterable[Seen], key: Callable[[Seen], Any]) -> dict[Any, list[Seen]]:
    """Records by `key` (None keys left out), each group in time order."""
    groups: dict[Any, list[Seen]] = defaultdict(list)
    for record in records:
        k = key(record)
        if k is not None:
            groups[k].append(record)
    for group in groups.values():
        group.sort(key=lambda r: (r.at, r.id))
    return groups


def _dense(rows: list[Seen], span: timedelta, enough: Callable[[Counter[int]], bool]) -> list[Seen]:
    """The rows (in time order) of every stretch no longer than `span` whose people (a count per
    person) are `enough`: a sliding window, linear in the rows."""
    marked = [False] * len(rows)
    people: Counter[int] = Counter()
    start = 0
    for end, row in enumerate(rows):
        people[row.user_id] += 1
        while row.at - rows[start].at > span:
            people[rows[start].user_id] -= 1
            if not people[rows[start].user_id]:
                del people[rows[start].user_id]
            start += 1
        if enough(people):
            for i in range(end, start - 1, -1):
                if marked[i]:
                    break  # the rest of the stretch was marked by an earlier window
                marked[i] = True
    return [row for row, m in zip(rows, marked, strict=True) if m]


# ---------------------------------------------------------------- the rules


def source_burst(check_ins: Sequence[Seen], limits: Limits) -> list[Finding]:
    """Many check-ins at one activity from one device or one address within the window, more
    than the activity's size explains (its expected participants, and never fewer than the
    floor: a school's network, a busy caravan)."""

    def source(r: Seen) -> tuple[int, str, Any] | None:
        if r.kind != CHECK_IN:
            return None
        if r.device_id is not None:
            return (r.activity_id, "设备", r.device_id)
        return (r.activity_id, "网络地址", r.address) if r.address else None

    findings = []
    for (_, what, _), rows in _grouped(check_ins, source).items():
        limit = max(limits.burst_floor, rows[0].expected)
        burst = _dense(rows, limits.window, functools.partial(_more_than, limit))
        if burst:
            findings.append(
                Finding(
                    FraudRule.SOURCE_BURST,
                    f"{_minutes(limits.window)}分钟内同一{what}打卡超过{limit}次"
                    f"（活动预计{rows[0].expected or '未填'}人）",
                    tuple(burst),
                )
            )
    return findings


def new_accounts_one_address(check_ins: Sequence[Seen], limits: Limits) -> list[Finding]:
    """Many accounts made in the last hours checking in from one address within the window."""

    def address(r: Seen) -> str | None:
        young = r.kind == CHECK_IN and r.at - r.joined <= limits.new_account_age
        return r.address if young else None

    findings = []
    for rows in _grouped(check_ins, address).values():
        found = _dense(rows, limits.window, lambda people: len(people) >= limits.new_accounts)
        if found:
            findings.append(
                Finding(
                    FraudRule.NEW_ACCOUNTS_ONE_ADDRESS,
                    f"{_minutes(limits.window)}分钟内{len({r.user_id for r in found})}个新注册"
                    "账号从同一网络地址打卡",
                    tuple(found),
                )
            )
    return findings


def far_apart(check_ins: Sequence[Seen], limits: Limits) -> list[Finding]:
    """One account checking in at two places far apart within minutes: the later check-in of
    each such pair (the earlier may well be real). Far: more than `far_km` apart where both
    activities have a place, else in two different cities."""
    findings = []
    for rows in _grouped(
        check_ins, lambda r: r.user_id if r.kind == CHECK_IN and r.place else None
    ).values():
        for before, after in pairwise(rows):
            if after.at - before.at > limits.travel or not _far(before, after, limits):
                continue
            gap = max(1, int((after.at - before.at).total_seconds() // 60))
            if before.point is not None and after.point is not None:
                km = distance_km(before.point, after.point)
                reason = f"同一账号{gap}分钟内先后在相距{km:.0f}公里的两个活动打卡"
            else:
                reason = f"同一账号{gap}分钟内先后在两个城市的活动打卡"
            findings.append(Finding(FraudRule.FAR_APART, reason, (after,)))
    return findings


def _far(a: Seen, b: Seen, limits: Limits) -> bool:
    if a.point is not None and b.point is not None:
        return distance_km(a.point, b.point) > limits.far_km
    return a.place != b.place


def account_cohort(records: Sequence[Seen], limits: Limits) -> list[Finding]:
    """Likes (or ratings) of one activity within the window from many accounts that were made
    within minutes of each other.

    Linear, on a grid: each record falls in a cell of (its time by windows, its account's making
    by cohort spans), and each square of two by two cells is judged by its people. Any cohort the
    rule describes lies in one such square, so none is missed; a square may also join accounts up
    to two spans apart, within two windows (reviewers see the reason and decide)."""
    findings = []
    liked_or_rated = (r for r in records if r.kind in (LIKE, RATING))
    for (_, kind), rows in _grouped(liked_or_rated, lambda r: (r.activity_id, r.kind)).items():
        cells: dict[tuple[int, int], list[Seen]] = defaultdict(list)
        for r in rows:
            cells[(_period(r.at, limits.window), _period(r.joined, limits.cohort_span))].append(r)
        cohort: dict[int, Seen] = {}
        for t, j in list(cells):
            square = [
                r
                for cell in ((t, j), (t + 1, j), (t, j + 1), (t + 1, j + 1))
                for r in cells.get(cell, ())
            ]
            if len({r.user_id for r in square}) >= limits.cohort_size:
                cohort.update((r.id, r) for r in square)
        if cohort:
            what = "点赞" if kind == LIKE else "评分"
            findings.append(
                Finding(
                    FraudRule.ACCOUNT_COHORT,
                    f"{_minutes(limits.window)}分钟内{len({r.user_id for r in cohort.values()})}"
                    f"个在{_minutes(limits.cohort_span)}分钟内先后注册的账号集中{what}",
                    tuple(sorted(cohort.values(), key=lambda r: r.id)),
                )
            )
    return findings


def _period(moment: datetime, span: timedelta) -> int:
    """The number of the span-long period since the epoch that `moment` falls in."""
    return int(moment.timestamp() // span.total_seconds())


RULES: tuple[Callable[[Sequence[Seen], Limits], list[Finding]], ...] = (
    source_burst,
    new_accounts_one_address,
    far_apart,
    account_cohort,
)


# ---------------------------------------------------------------- reading the records


_MODELS: dict[str, type[Model]] = {CHECK_IN: CheckIn, LIKE: Like, RATING: Rating}
_COMMON = (
    "id",
    "activity_id",
    "user_id",
    "created_at",
    "user__created_at",
    "activity__prefecture_code",
    "activity__form",
    "activity__expected_participants",
    "activity__latitude",
    "activity__longitude",
)


async def _seen(kind: str, query: QuerySet[Any]) -> list[Seen]:
    extra = ("device_id", "address") if kind == CHECK_IN else ("liked",) if kind == LIKE else ()
    rows = await query.values(*_COMMON, *extra)
    return [
        Seen(
            kind=kind,
            id=row["id"],
            activity_id=row["activity_id"],
            user_id=row["user_id"],
            at=row["created_at"],
            joined=row["user__created_at"],
            device_id=row.get("device_id"),
            address=row.get("address"),
            place=None
            if row["activity__form"] == ActivityForm.ONLINE
            else row["activity__prefecture_code"],
            expected=row["activity__expected_participants"] or 0,
            point=Point.at(row["activity__latitude"], row["activity__longitude"]),
        )
        for row in rows
        if row.get("liked", True)  # an unlike takes nothing: nothing to flag
    ]


async def _around(
    kind: str, records: list[Seen], key: str, value: Callable[[Seen], Any], span: timedelta
) -> list[Seen]:
    """The records of `kind` sharing `key` with one of `records`, within `span` of its time."""
    ranges: dict[Any, tuple[datetime, datetime]] = {}
    for r in records:
        v = value(r)
        if v is None:
            continue
        low, high = ranges.get(v, (r.at, r.at))
        ranges[v] = (min(low, r.at), max(high, r.at))
    found: list[Seen] = []
    items = list(ranges.items())
    for i in range(0, len(items), 100):
        where = Q(
            *(
                Q(**{key: v, "created_at__gte": low - span, "created_at__lte": high + span})
                for v, (low, high) in items[i : i + 100]
            ),
            join_type=Q.OR,
        )
        found += await _seen(kind, _MODELS[kind].filter(where))
    return found


async def _batch(kind: str, after: int, limits: Limits) -> tuple[list[Seen], list[int]]:
    """The records of `kind` after id `after` (a batch), with those around them the rules
    compare them with; and the ids of the batch."""
    model = _MODELS[kind]
    ids = [
        int(i)  # type: ignore[call-overload]
        for i in await model.filter(id__gt=after)
        .order_by("id")
        .limit(BATCH)
        .values_list("id", flat=True)
    ]
    if not ids:
        return [], ids
    new = await _seen(kind, model.filter(id__gt=after, id__lte=ids[-1]))
    context = await _around(kind, new, "activity_id", lambda r: r.activity_id, limits.window)
    if kind == CHECK_IN:
        context += await _around(kind, new, "address", lambda r: r.address, limits.window)
        context += await _around(kind, new, "user_id", lambda r: r.user_id, limits.travel)
    unique = {r.id: r for r in [*new, *context]}
    return list(unique.values()), ids


# ---------------------------------------------------------------- flags


async def _latest(kind: str, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], Any]:
    """The latest row of each (activity, person) sequence of likes or ratings."""
    model = Like if kind == LIKE else Rating
    latest: dict[tuple[int, int], Any] = {}
    items = sorted(pairs)
    for i in range(0, len(items), 200):
        where = Q(*(Q(activity_id=a, user_id=u) for a, u in items[i : i + 200]), join_type=Q.OR)
        for row in await model.filter(where).order_by("seq"):
            latest[(row.activity_id, row.user_id)] = row
    return latest


async def _records(found: Finding) -> dict[tuple[str, int], tuple[Seen, Any]]:
    """The records a finding flags, by (kind, record id): a check-in as it is, a person's likes
    or ratings of the activity as their latest row (with that row)."""
    records: dict[tuple[str, int], tuple[Seen, Any]] = {}
    pairs: dict[str, dict[tuple[int, int], Seen]] = defaultdict(dict)
    for r in found.records:
        if r.kind == CHECK_IN:
            records[(CHECK_IN, r.id)] = (r, None)
        else:
            pairs[r.kind][(r.activity_id, r.user_id)] = r
    for kind, seen in pairs.items():
        held = set(
            await FlaggedRecord.filter(
                Q(*(Q(activity_id=a, user_id=u) for a, u in seen), join_type=Q.OR),
                kind=kind,
                held=True,
            ).values_list("activity_id", "user_id")
        )
        for pair, row in (await _latest(kind, set(seen) - held)).items():
            records[(kind, row.id)] = (seen[pair], row)
    return records


def _amount(kind: str, seen: Seen, row: Any, into: dict[str, int]) -> None:
    """What a flagged record adds to the counts (ADJUSTED): a check-in one (offline too, from a
    device); a person's like sequence its state (1 or 0); their ratings the latest score, once."""
    if kind == CHECK_IN:
        into["check_ins"] += 1
        into["offline_check_ins"] += 1 if seen.device_id is not None else 0
    elif kind == LIKE:
        into["likes"] += 1 if row.liked else 0
    else:
        into["rating_sum"] += row.score
        into["rating_count"] += 1


class _NothingNew(Exception):
    """Every record of a finding was flagged before: the flag is rolled back."""


async def _flag(counters: Counters, found: Finding, activity_id: int) -> EngagementFlag | None:
    """One flag of an activity's records in a finding (those not flagged before), its records
    taken out of the counts and the unit told, in one transaction; None when nothing is new."""
    records = await _records(found)
    if not records:
        return None
    try:
        async with transaction():
            flag = await EngagementFlag.create(
                activity_id=activity_id, rule=found.rule, reason=found.reason[:300]
            )
            inserted = await sql.insert_new(
                FlaggedRecord._meta.db_table,
                ("flag_id", "kind", "record_id", "activity_id", "user_id", "held"),
                [
                    (flag.id, kind, record_id, seen.activity_id, seen.user_id, True)
                    for (kind, record_id), (seen, _) in records.items()
                ],
                returning=("kind", "record_id"),
            )
            if not inserted:
                raise _NothingNew
            amounts = dict.fromkeys(ADJUSTED, 0)
            for row in inserted:
                key = (row["kind"], int(row["record_id"]))
                _amount(key[0], *records[key], amounts)
            await flag.update_from_dict(amounts).save(update_fields=list(ADJUSTED))
            await _adjust(counters, flag, -1)
            await audit.record(
                "engagement_flagged",
                target=flag,
                rule=found.rule.value,
                reason=flag.reason,
                records=len(inserted),
            )
            await _tell_unit(flag, NotificationKind.ENGAGEMENT_FLAGGED)
    except _NothingNew:
        return None
    return flag


async def _adjust(counters: Counters, flag: EngagementFlag, sign: int) -> None:
    """The event that takes the flag's amounts out of the counts (-1) or puts them back (+1),
    applied to the live counters once the transaction commits (else by the write-behind)."""
    amounts = {name: sign * getattr(flag, name) for name in ADJUSTED}
    adjustment = await FlagAdjustment.create(
        flag_id=flag.id, activity_id=flag.activity_id, sign=sign, **amounts
    )

    async def count() -> None:
        await counters.record(adjustment)

    await later(count)


async def _tell_unit(flag: EngagementFlag, kind: NotificationKind) -> None:
    activity = await Activity.get(id=flag.activity_id)
    title, body = notifications.render(
        kind, title=activity.title, reason=flag.reason, status=flag.status.value, note=flag.note
    )
    await notifications.notify(
        await notifications.unit_people(activity.organization_id),
        kind,
        f"flag:{flag.id}:{flag.status.value}",
        title,
        body,
    )


async def scan(counters: Counters, limits: Limits) -> int:
    """Run the rules over the records that arrived since the last scan (the cron job): the
    number of flags made. Idempotent: a record is flagged once, whatever runs again."""
    made = 0
    for kind in (CHECK_IN, LIKE, RATING):
        position, _ = await ScanPosition.get_or_create(kind=kind)
        after = max(0, position.position - OVERLAP)
        while True:
            records, ids = await _batch(kind, after, limits)
            for rule in RULES:
                for found in rule(records, limits):
                    made += await _flag_each_activity(counters, found)
            if ids and ids[-1] > position.position:
                position.position = ids[-1]
                await position.save(update_fields=["position"])
            if len(ids) < BATCH:
                break
            after = ids[-1]
    return made


async def _flag_each_activity(counters: Counters, found: Finding) -> int:
    """A finding's flags, one per activity (each goes to that activity's reviewers)."""
    made = 0
    for activity_id in sorted({r.activity_id for r in found.records}):
        mine = tuple(r for r in found.records if r.activity_id == activity_id)
        flag = await _flag(counters, Finding(found.rule, found.reason, mine), activity_id)
        made += int(flag is not None)
    return made


# ---------------------------------------------------------------- the reviewers' side


async def held(kind: str, activity_id: int, user_id: int) -> bool:
    """Whether a person's likes (or ratings) of an activity are held by a flag not dismissed."""
    return await FlaggedRecord.exists(
        kind=kind, activity_id=activity_id, user_id=user_id, held=True
    )


def sees_flags(grants: list[Grant], activity: Activity) -> bool:
    """National staff, and reviewers of the activity's supervising unit (or of the body its
    review escalated to), see its flags."""
    return is_national_staff(grants) or reviews_it(grants, activity)


def may_resolve(user: User, grants: list[Grant], activity: Activity) -> bool:
    """Separation of duties: a unit never judges its own numbers, nor does the filer."""
    return (
        sees_flags(grants, activity)
        and activity.organization_id not in member_org_ids(grants)
        and activity.created_by_id != user.id
    )


def queue(grants: list[Grant], status: FlagStatus | None) -> QuerySet[EngagementFlag]:
    """The flags a caller sees (national staff: all; reviewers: their units' activities)."""
    flags = EngagementFlag.all()
    if status is not None:
        flags = flags.filter(status=status)
    if is_national_staff(grants):
        return flags
    units = member_org_ids(grants, REVIEWING_ROLES)
    return flags.filter(
        Q(activity__supervisor_id__in=units) | Q(activity__escalated_to_id__in=units)
    )


async def resolve(
    counters: Counters,
    user: User,
    grants: list[Grant],
    flag_id: int,
    fraud: bool,
    note: str | None,
) -> EngagementFlag:
    """Confirm a flag (its records stay out of the counts for good) or dismiss it (they come
    back, exactly what was taken out); once."""
    errors = Collector()
    text = " ".join((note or "").split())
    if len(text) > 200:
        errors.add(EngagementErrorCode.INVALID, "处理说明不能超过200个字符", "note")
    errors.raise_if_any()
    flag = await EngagementFlag.get_or_none(id=flag_id)
    activity = await Activity.get_or_none(id=flag.activity_id) if flag else None
    if flag is None or activity is None or not sees_flags(grants, activity):
        raise ServiceError.of(EngagementErrorCode.NOT_FOUND, "核查记录不存在", "id")
    if not may_resolve(user, grants, activity):
        raise PermissionDenied("本单位的活动须由归口单位的其他审核人员核查")
    async with transaction():
        status = FlagStatus.CONFIRMED if fraud else FlagStatus.DISMISSED
        # one decision: of two reviewers deciding at once, the second finds it decided
        decided = await EngagementFlag.filter(id=flag.id, status=FlagStatus.PENDING).update(
            status=status, resolved_by_id=user.id, resolved_at=now(), note=text or None
        )
        if not decided:
            raise ServiceError.of(EngagementErrorCode.ALREADY_RESOLVED, "该记录已处理", "id")
        await flag.refresh_from_db()
        if not fraud:
            await FlaggedRecord.filter(flag_id=flag.id).update(held=False)
            await _adjust(counters, flag, +1)
        await audit.record(
            "engagement_flag_resolved",
            actor=user,
            target=flag,
            decision=status.value,
            rule=flag.rule.value,
            reason=flag.reason,
            note=flag.note,
        )
        await _tell_unit(flag, NotificationKind.ENGAGEMENT_RESOLVED)
    return flag
