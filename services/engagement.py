"""The public's engagement with an activity: check-in, like, favourite, rating, comments.

Each operation inserts one record (no shared row is updated on this path), then applies its event
to the live counters (`services.counters`). Unique constraints make duplicates impossible when
requests race; a retried check-in with the same client nonce returns the first result. Check-ins
and likes (and favourites) of requests that arrive together are inserted by one statement
(`infra.batching`); one in a transaction is inserted alone, since it waits for that commit.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from async_lru import alru_cache
from tortoise import timezone
from tortoise.exceptions import IntegrityError

from infra import sql
from infra.batching import Batcher
from infra.clock import CHINA, local_date, now, today
from infra.errors import Collector, PermissionDenied, ServiceError
from models import Activity, CheckIn, Comment, CommentModeration, Favorite, Like, Rating, User
from models.enums import ActivityStatus
from services import audit, bookings, fraud, routes
from services.content import COMMENTS, publishes
from services.counters import Counters, Counts
from services.errors import EngagementErrorCode
from services.events import DomainEvent, later, subscribe, transaction
from services.permissions import Grant
from services.rules import may_moderate
from services.runtime import Runtime
from services.validation import clean_lines

CHECK_IN_MARGIN = timedelta(hours=1)


async def _limit(rt: Runtime, user: User, ip: str | None) -> None:
    settings = rt.settings
    await rt.limiter.consume_each(
        (settings.rate_limit_engage_account, ("engage-user", str(user.id))),
        (settings.rate_limit_engage_address, ("engage-addr", ip or "unknown")),
    )


_CHECKED = (
    "id",
    "organization_id",
    "status",
    "starts_at",
    "ends_at",
    "qr_token",
    "booking_required",
)


async def _read_engagement_columns(activity_ids: list[int]) -> list[Activity | None]:
    """The columns above of several activities, in one query."""
    found = {
        a.id: a
        for a in await Activity.filter(id__in=set(activity_ids), deleted_at=None).only(*_CHECKED)
    }
    return [found.get(i) for i in activity_ids]


_engagement_reads: Batcher[int, Activity | None] = Batcher(
    _read_engagement_columns, alone=sql.in_transaction
)


# The columns above change rarely (review, edits): each process keeps them a few seconds, so that a
# burst of check-ins on one activity reads its row once, however many requests arrive together
# (the cache runs one lookup for all of them), and the activities a burst finds missing are read
# together. A withdrawn activity takes engagement for at most this long.
@alru_cache(maxsize=10_000, ttl=3)
async def _engagement_columns(activity_id: int) -> Activity | None:
    return await _engagement_reads(activity_id)


def _no_such_activity() -> ServiceError:
    return ServiceError.of(EngagementErrorCode.NOT_FOUND, "活动不存在", "activityId")


async def _public_activity(activity_id: int) -> Activity:
    """The few columns engagement needs of an approved activity. One that is not approved gets
    the answer of one that does not exist: the code would tell anyone the status of any id."""
    activity = await _engagement_columns(activity_id)
    if activity is None or activity.status is not ActivityStatus.APPROVED:
        raise _no_such_activity()
    return activity


async def _forget(event: DomainEvent) -> None:
    """A change made through this process is seen at once (other processes: within seconds)."""
    _engagement_columns.cache_invalidate(event.activity_id)


subscribe(_forget)


def forget_all() -> None:
    _engagement_columns.cache_clear()


async def _admitted(rt: Runtime, user: User, activity_id: int, ip: str | None) -> Activity:
    """Rate limits first: a refused request costs the database nothing (made-up activity ids
    included), then the activity (kept by the process a few seconds, so mostly no query)."""
    await _limit(rt, user, ip)
    return await _public_activity(activity_id)


class CheckInState(enum.Enum):
    BEFORE = "活动未开始"
    OPEN = "扫码打卡"
    AFTER = "活动已结束"


def check_in_window(activity: Activity) -> tuple[datetime, datetime]:
    """When check-in opens and closes: the activity's time, with a margin each side."""
    return activity.starts_at - CHECK_IN_MARGIN, activity.ends_at + CHECK_IN_MARGIN


def check_in_state(activity: Activity) -> CheckInState:
    """Whether check-in is open now, or not yet, or no longer (what the QR page's button says)."""
    opens, closes = check_in_window(activity)
    moment = now()
    if moment < opens:
        return CheckInState.BEFORE
    return CheckInState.OPEN if moment <= closes else CheckInState.AFTER


async def check_in(
    rt: Runtime,
    counters: Counters,
    user: User,
    activity_id: int,
    client_nonce: str,
    qr_token: str | None,
    ip: str | None,
) -> tuple[CheckIn, Counts]:
    """Check in during the activity (an hour of margin each side), once a day; the same nonce
    returns the first check-in. Returns it with the activity's counts."""
    nonce = (client_nonce or "").strip()
    if not 8 <= len(nonce) <= 64:
        raise ServiceError.of(
            EngagementErrorCode.INVALID, "clientNonce 须为8至64个字符", "clientNonce"
        )
    activity = await _admitted(rt, user, activity_id, ip)
    if qr_token is not None and qr_token.strip().upper() != activity.qr_token:
        raise ServiceError.of(EngagementErrorCode.INVALID_QR, "二维码与活动不符", "qrToken")
    if check_in_state(activity) is not CheckInState.OPEN:
        earlier = await CheckIn.get_or_none(user_id=user.id, client_nonce=nonce)
        if earlier is not None:  # a late retry of a check-in that was in time
            return await _same_request(counters, earlier, activity_id)
        opens, closes = check_in_window(activity)
        raise ServiceError.of(
            EngagementErrorCode.CHECK_IN_CLOSED,
            f"活动打卡时间为{_clock(opens)}至{_clock(closes)}",
            "activityId",
        )
    wanted = CheckIn(
        activity_id=activity.id,
        user_id=user.id,
        day=today(),
        client_nonce=nonce,
        created_at=timezone.now(),
        address=(ip or "")[:45] or None,
    )
    try:
        row = await _check_ins(wanted)
    except IntegrityError:  # the activity was deleted since it was read (a foreign key)
        raise _no_such_activity() from None
    if row is None:
        earlier = await CheckIn.get_or_none(user_id=user.id, client_nonce=nonce)
        if earlier is not None:  # a retry (or the same request racing itself)
            return await _same_request(counters, earlier, activity_id)
        raise ServiceError.of(
            EngagementErrorCode.ALREADY_CHECKED_IN, "您今天已在此活动打卡", "activityId"
        )
    counts = await counters.record(row)
    await checked_in([(user.id, activity, row.day)])
    return row, counts


async def checked_in(visits: Sequence[tuple[int, Activity, date]]) -> None:
    """What follows check-ins once written ((person, activity, China day) each), online or
    from a device: the science routes they complete, the bookings they attend (an activity
    read with the columns engagement reads, its unit and whether it needs booking)."""
    await routes.checked_in(visits)
    for user_id, activity, _ in visits:
        if activity.booking_required:
            await bookings.attended(user_id, activity.id)


_CHECK_IN_COLUMNS = (
    "activity_id",
    "user_id",
    "day",
    "client_nonce",
    "created_at",
    "device_id",
    "address",
)


@dataclass(slots=True)
class NewCheckIn:
    """A check-in to insert, without a model's weight (a device uploads hundreds at once)."""

    activity_id: int
    user_id: int
    day: date
    client_nonce: str
    created_at: datetime
    device_id: int | None = None
    address: str | None = None
    id: int | None = None


Row = TypeVar("Row", CheckIn, NewCheckIn)


async def insert_check_ins(wanted: Sequence[Row]) -> list[Row | Exception | None]:
    """Insert check-ins in one statement: each comes back with its id, or None where it
    collides with one already there (the same nonce, or the person's check-in of that day).
    When the statement fails on one of them (a person or activity deleted meanwhile), each is
    inserted alone, so that only that one fails."""
    stamp = CheckIn._meta.fields_map["created_at"].to_db_value
    try:
        inserted = await sql.insert_new(
            CheckIn._meta.db_table,
            _CHECK_IN_COLUMNS,
            [
                (
                    c.activity_id,
                    c.user_id,
                    c.day,
                    c.client_nonce,
                    stamp(c.created_at, CheckIn),  # the class: the value as it is
                    c.device_id,
                    c.address,
                )
                for c in wanted
            ],
            returning=("id", "user_id", "client_nonce"),
        )
    except IntegrityError as error:
        if len(wanted) == 1:
            return [error]
        return [row for c in wanted for row in await insert_check_ins([c])]
    ids = {(r["user_id"], r["client_nonce"]): r["id"] for r in inserted}
    rows: list[Row | Exception | None] = []
    for c in wanted:
        # the same nonce twice in one batch: the first is inserted, the second finds it after
        c.id = ids.pop((c.user_id, c.client_nonce), None)
        rows.append(c if c.id is not None else None)
    return rows


# The check-ins of concurrent requests are inserted together (one statement per batch).
_check_ins: Batcher[CheckIn, CheckIn | None] = Batcher(insert_check_ins, alone=sql.in_transaction)


async def _same_request(
    counters: Counters, earlier: CheckIn, activity_id: int
) -> tuple[CheckIn, Counts]:
    if earlier.activity_id != activity_id:
        raise ServiceError.of(
            EngagementErrorCode.INVALID, "clientNonce 已用于另一次打卡", "clientNonce"
        )
    return earlier, (await counters.read([activity_id]))[activity_id]


def _clock(moment: datetime) -> str:
    local = moment.astimezone(CHINA)
    return f"{local_date(moment)} {local:%H:%M}"


def _unheld(model: type[Like] | type[Favorite], activity: str, user: str) -> str:
    """The condition that a fraud flag does not hold the person's likes of the activity (there
    is none on favourites, which no rule flags)."""
    if model is not Like:
        return "TRUE"
    return (  # identifiers and parameter names of the code, never input
        f"NOT EXISTS (SELECT 1 FROM flagged_records h WHERE h.kind = '{fraud.LIKE}' "  # noqa: S608
        f"AND h.activity_id = {activity} AND h.user_id = {user} AND h.held = TRUE)"
    )


def _next_state(model: type[Like] | type[Favorite], attr: str) -> sql.Statement:
    """Insert the person's next row of `model` with `attr` = :wanted, unless their latest row
    already says so or a fraud flag holds it (then nothing): the reads and the write in one
    statement."""
    table = model._meta.db_table  # identifiers of the code, never input
    return sql.Statement(
        f"""
        INSERT INTO {table} (activity_id, user_id, seq, {attr}, counted, created_at)
        SELECT :activity, :user, COALESCE(MAX(seq), 0) + 1, :wanted, FALSE, :now
        FROM {table} WHERE activity_id = :activity AND user_id = :user
        HAVING COALESCE(
            (SELECT {attr} FROM {table} WHERE activity_id = :activity AND user_id = :user
             ORDER BY seq DESC LIMIT 1),
            FALSE
        ) <> :wanted AND {_unheld(model, ":activity", ":user")}
        RETURNING id
        """  # noqa: S608
    )


@functools.cache
def _next_states(model: type[Like] | type[Favorite], attr: str, size: int) -> sql.Statement:
    """`_next_state` for `size` people at once (no two of them the same person and activity):
    the i-th takes :a<i>, :u<i>, :w<i>."""
    table = model._meta.db_table  # identifiers of the code, never input
    values = ", ".join(
        f"(CAST(:a{i} AS INTEGER), CAST(:u{i} AS INTEGER), CAST(:w{i} AS BOOLEAN))"
        for i in range(size)
    )
    same = "t.activity_id = v.column1 AND t.user_id = v.column2"
    return sql.Statement(
        f"""
        INSERT INTO {table} (activity_id, user_id, seq, {attr}, counted, created_at)
        SELECT v.column1, v.column2,
            COALESCE((SELECT MAX(seq) FROM {table} t WHERE {same}), 0) + 1,
            v.column3, FALSE, :now
        FROM (VALUES {values}) AS v
        WHERE COALESCE(
            (SELECT {attr} FROM {table} t WHERE {same} ORDER BY seq DESC LIMIT 1), FALSE
        ) <> v.column3 AND {_unheld(model, "v.column1", "v.column2")}
        RETURNING id, activity_id, user_id
        """  # noqa: S608
    )


Toggle = tuple[int, int, bool]  # the activity, the person, the state they want


class _Toggles:
    """The toggles of `model` by concurrent requests, one statement for a batch. When another
    process takes a place in one of the batch's sequences meanwhile, the statement fails as a
    whole, and each toggle of the batch is made alone."""

    def __init__(self, model: type[Like] | type[Favorite], attr: str) -> None:
        self.model, self.attr = model, attr
        self.one = _next_state(model, attr)
        self.batched: Batcher[Toggle, int | None] = Batcher(self.run, alone=sql.in_transaction)

    async def __call__(self, toggle: Toggle) -> int | None:
        """The id of the row that made the person's state `wanted`, or None when it was."""
        return await self.batched(toggle)

    async def alone(self, toggle: Toggle) -> int | None:
        """The toggle by its own statement. Raises IntegrityError when the statement keeps
        failing: not a race for a place in the sequence (that is tried again) but a foreign key
        (the activity deleted since it was read)."""
        activity_id, user_id, wanted = toggle
        # the wall clock, as Tortoise stamps every other record: the write-behind settles by it,
        # and the demo clock (KEPURI_CLOCK_OFFSET) may run ahead of it
        created = self._stamp()
        attempts = 3
        while True:
            try:
                inserted = await self.one.rows(
                    activity=activity_id, user=user_id, wanted=wanted, now=created
                )
            except IntegrityError:  # another request took the same place in the sequence: again
                attempts -= 1
                if not attempts:
                    raise
                continue
            return int(inserted[0]["id"]) if inserted else None

    async def run(self, toggles: list[Toggle]) -> list[int | Exception | None]:
        """One statement for the first toggle of each person and activity in the batch; the
        others (the same person again) after it, one by one, in the order they came. A toggle
        that cannot be written fails alone."""
        firsts: dict[tuple[int, int], int] = {}  # (activity, person): index of their first
        for i, (activity_id, user_id, _) in enumerate(toggles):
            firsts.setdefault((activity_id, user_id), i)
        results: list[int | Exception | None] = [None] * len(toggles)
        alone = list(range(len(toggles)))  # all, unless the shared statement writes the firsts
        if len(firsts) > 1:
            written = await self._together([toggles[i] for i in firsts.values()])
            if written is not None:
                for key, i in firsts.items():
                    results[i] = written.get(key)
                shared = set(firsts.values())
                alone = [i for i in alone if i not in shared]
        for i in alone:
            try:
                results[i] = await self.alone(toggles[i])
            except IntegrityError as error:
                results[i] = error
        return results

    async def _together(self, toggles: list[Toggle]) -> dict[tuple[int, int], int] | None:
        """The ids of the rows written, by (activity, person); None when another process took a
        place in one of the sequences meanwhile (the statement failed as a whole)."""
        values: dict[str, Any] = {"now": self._stamp()}
        for n, (activity_id, user_id, wanted) in enumerate(toggles):
            values[f"a{n}"], values[f"u{n}"], values[f"w{n}"] = activity_id, user_id, wanted
        try:
            inserted = await _next_states(self.model, self.attr, len(toggles)).rows(**values)
        except IntegrityError:
            return None
        return {(r["activity_id"], r["user_id"]): int(r["id"]) for r in inserted}

    def _stamp(self) -> Any:
        return self.model._meta.fields_map["created_at"].to_db_value(timezone.now(), self.model)


_TOGGLES = {Like: _Toggles(Like, "liked"), Favorite: _Toggles(Favorite, "favorite")}


async def _toggle(
    model: type[Like] | type[Favorite],
    attr: str,
    counters: Counters,
    user: User,
    activity_id: int,
    wanted: bool,
) -> Counts:
    """Make the person's state `wanted` (a new row of their sequence, or nothing when it
    already is); return the activity's counts."""
    try:
        inserted = await _TOGGLES[model]((activity_id, user.id, wanted))
    except IntegrityError:  # the activity was deleted since it was read (a foreign key)
        raise _no_such_activity() from None
    if inserted is None:  # already in that state, or held by a fraud flag: nothing changes
        return (await counters.read([activity_id]))[activity_id]
    row = model(id=inserted, activity_id=activity_id, user_id=user.id, **{attr: wanted})
    return await counters.record(row)


async def _not_held(kind: str, activity_id: int, user: User) -> None:
    """A person whose rating of an activity is under a fraud flag cannot change it until a
    reviewer dismisses the flag: the flag took out what their ratings counted. (Their likes
    are held by the like statement itself: a like then changes nothing.)"""
    if await fraud.held(kind, activity_id, user.id):
        raise ServiceError.of(
            EngagementErrorCode.HELD_FOR_REVIEW,
            "您对该活动的互动正在核查中，暂不能修改",
            "activityId",
        )


async def set_like(
    rt: Runtime, counters: Counters, user: User, activity_id: int, liked: bool, ip: str | None
) -> Counts:
    await _admitted(rt, user, activity_id, ip)
    return await _toggle(Like, "liked", counters, user, activity_id, liked)


async def set_favorite(
    rt: Runtime, counters: Counters, user: User, activity_id: int, favorite: bool, ip: str | None
) -> Counts:
    await _admitted(rt, user, activity_id, ip)
    return await _toggle(Favorite, "favorite", counters, user, activity_id, favorite)


async def rate(
    rt: Runtime,
    counters: Counters,
    user: User,
    activity_id: int,
    score: int,
    feedback: str | None,
    ip: str | None,
) -> Counts:
    """One rating per person: a new one replaces the old (in the average too)."""
    errors = Collector()
    if not 1 <= score <= 5:
        errors.add(EngagementErrorCode.INVALID, "评分须为1至5分", "score")
    text = clean_lines(feedback, compact=True)
    if len(text) > 500:
        errors.add(EngagementErrorCode.INVALID, "反馈意见不能超过500个字符", "feedback")
    errors.raise_if_any()
    await _admitted(rt, user, activity_id, ip)
    await _not_held(fraud.RATING, activity_id, user)
    for _ in range(3):
        latest = (
            await Rating.filter(activity_id=activity_id, user_id=user.id).order_by("-seq").first()
        )
        try:
            row = await Rating.create(
                activity_id=activity_id,
                user_id=user.id,
                seq=(latest.seq if latest else 0) + 1,
                score=score,
                feedback=text or None,
                sum_delta=score - (latest.score if latest else 0),
                count_delta=0 if latest else 1,
            )
        except IntegrityError:
            continue
        return await counters.record(row)
    raise ServiceError.of(EngagementErrorCode.INVALID, "评分提交冲突，请重试", "score")


@publishes(COMMENTS)
async def add_comment(
    rt: Runtime, counters: Counters, user: User, activity_id: int, body: str, ip: str | None
) -> Comment:
    text = clean_lines(body, compact=True)
    if not 1 <= len(text) <= 500:
        raise ServiceError.of(EngagementErrorCode.INVALID, "评论须为1至500个字符", "body")
    lowered = text.lower()
    if any(word.lower() in lowered for word in rt.settings.blocked_words):
        raise ServiceError.of(
            EngagementErrorCode.COMMENT_BLOCKED, "评论含有不当内容，请修改后再发布", "body"
        )
    await _admitted(rt, user, activity_id, ip)
    comment = await Comment.create(activity_id=activity_id, user_id=user.id, body=text)
    await counters.record(comment)
    return comment


@publishes(COMMENTS)
async def hide_comment(
    counters: Counters, user: User, grants: list[Grant], comment_id: int, reason: str | None
) -> None:
    """National staff, or reviewers of the activity's supervising unit, hide a comment (once)."""
    comment = await Comment.get_or_none(id=comment_id)
    if comment is None:
        raise ServiceError.of(EngagementErrorCode.NOT_FOUND, "评论不存在", "id")
    activity = await Activity.get(id=comment.activity_id)
    if not may_moderate(grants, activity):
        raise PermissionDenied("只有主办单位或归口单位的工作人员可以隐藏评论")
    if comment.hidden_at is not None:
        return
    try:
        # the moderation record (which the count follows) and the hiding go together or not at all
        async with transaction():
            moderation = await CommentModeration.create(
                comment_id=comment.id,
                activity_id=comment.activity_id,
                moderator=user,
                reason=(reason or "")[:200] or None,
            )
            await Comment.filter(id=comment.id).update(hidden_at=now())
            await audit.record("comment_hidden", actor=user, target=comment, reason=reason)

            async def count() -> None:
                await counters.record(moderation)

            await later(count)
    except IntegrityError:  # hidden by someone else at the same moment
        return


def visible_comments(activity_id: int) -> Any:
    return Comment.filter(activity_id=activity_id, hidden_at=None)


async def current_states(model: type[Like] | type[Favorite], attr: str, user_id: int) -> list[int]:
    """The activities a person likes (or has marked), newest change first."""
    rows = (
        await model.filter(user_id=user_id)
        .order_by("activity_id", "seq")
        .values("activity_id", attr, "id")
    )
    latest: dict[int, tuple[bool, int]] = {}
    for row in rows:
        latest[row["activity_id"]] = (row[attr], row["id"])
    ordered = sorted(((rid, aid) for aid, (on, rid) in latest.items() if on), reverse=True)
    return [aid for _, aid in ordered]


async def participated(user_id: int) -> list[int]:
    """Activities the person checked in to, most recent first."""
    rows = (
        await CheckIn.filter(user_id=user_id).order_by("-id").values_list("activity_id", flat=True)
    )
    return list(dict.fromkeys(int(r) for r in rows))  # type: ignore[call-overload]
