"""Provincial portals: the change log of public activities (a transactional outbox), the feed over
it, and the API clients that read it.

A change is written by a handler of the lifecycle's domain events, inside the transaction of the
change itself; nothing that is not public enters it. On PostgreSQL the writer takes a transaction
lock first, so positions (ids) commit in order and a reader that has seen position N never sees a
smaller one appear later. After the commit a message on the bus tells subscribers to read on.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import secrets
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from enum import Enum
from typing import Any, Protocol

import structlog
from tortoise import connections
from tortoise.queryset import QuerySet

from infra import bus
from infra.errors import PermissionDenied, ServiceError
from infra.ids import encode_cursor, to_global_id
from models import Activity, ActivityChange, ApiClient, Region, User
from models.enums import ChangeKind, RegionLevel
from services import webhooks
from services.errors import PortalErrorCode
from services.events import DomainEvent, EventKind, later, subscribe, unsubscribe
from services.permissions import Grant, is_national_staff, require_national_staff
from services.regions import get_region, subtree
from services.sessions import token_hash

TOKEN_PREFIX = "kpc_"  # noqa: S105 (tells API client tokens from session tokens)
CHANNEL = "changes"
OUTBOX_LOCK = 7_114_201  # pg_advisory_xact_lock key of the change log

log = structlog.get_logger(__name__)


def change_kind(event: DomainEvent) -> ChangeKind | None:
    """What a portal sees of an event: only changes to what is (or was) public."""
    if event.kind is EventKind.ACTIVITY_DELETED:
        return ChangeKind.ACTIVITY_WITHDRAWN if event.was_public else None
    if not event.was_public and event.is_public:
        return ChangeKind.ACTIVITY_PUBLISHED
    if event.was_public and not event.is_public:
        return ChangeKind.ACTIVITY_WITHDRAWN
    if not event.is_public:
        return None
    return {
        EventKind.ACTIVITY_SUPPLEMENTED: ChangeKind.ACTIVITY_SUPPLEMENTED,
        EventKind.ACTIVITY_SUMMARIZED: ChangeKind.ACTIVITY_SUMMARIZED,
    }.get(event.kind, ChangeKind.ACTIVITY_UPDATED)


def public_version(activity: Activity) -> dict[str, Any]:
    """The activity's stored values, ready for JSON: a version of it a change can show."""
    return {name: _plain(getattr(activity, name)) for name in Activity._meta.fields_db_projection}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value.value if isinstance(value, Enum) else value


def shown(change: ActivityChange) -> Activity | None:
    """The activity as the change shows it (an unsaved row, the same object each time it is
    asked for); None for a change written before versions were kept."""
    if change.published is None:
        return None
    cached = getattr(change, "_shown", None)
    if cached is None:
        fields = Activity._meta.fields_map
        cached = Activity(
            **{name: fields[name].to_python_value(v) for name, v in change.published.items()}
        )
        change._shown = cached
    return cached


async def _record(event: DomainEvent) -> None:
    kind = change_kind(event)
    if kind is None:
        return
    activity = await Activity.get(id=event.activity_id)
    connection = connections.get("default")
    if connection.capabilities.dialect == "postgres":
        await connection.execute_query(f"SELECT pg_advisory_xact_lock({OUTBOX_LOCK})")
    if kind is ChangeKind.ACTIVITY_WITHDRAWN:
        # what portals saw last, not the edit (unreviewed) or deletion that withdrew it
        last = await ActivityChange.filter(activity_id=activity.id).order_by("-id").first()
        published = last.published if last is not None else None
    else:
        published = public_version(activity)
    change = await ActivityChange.create(
        kind=kind,
        activity_id=activity.id,
        region_code=activity.region_id,
        province_code=activity.province_code,
        prefecture_code=activity.prefecture_code,
        published=published,
    )
    version = shown(change)
    await webhooks.record_deliveries(
        change,
        {
            "kind": kind.value,
            "cursor": encode_cursor([change.id]),
            "occurredAt": change.occurred_at.isoformat(),
            "activity": {"id": to_global_id("Activity", activity.id)}
            if version is None
            else {
                "id": to_global_id("Activity", version.id),
                "title": version.title,
                "status": version.status.value,
                "regionCode": version.region_id,
                "startsAt": version.starts_at.isoformat(),
                "endsAt": version.ends_at.isoformat(),
            },
        },
    )

    async def announce() -> None:
        await bus.publish(CHANNEL, {"position": change.id, "province": change.province_code})

    await later(announce)


def register() -> None:
    """Hang the change log on every lifecycle event (once per process)."""
    unsubscribe(_record)
    subscribe(_record)


# ---------------------------------------------------------------- API clients


async def create_client(
    user: User, grants: list[Grant], name: str, region_code: str
) -> tuple[ApiClient, str]:
    """A portal's client for a region; the token is returned once and stored as a hash."""
    require_national_staff(grants)
    region = await get_region(region_code)
    if region is None:
        raise ServiceError.of(PortalErrorCode.INVALID_REGION, "行政区划代码无效", "regionCode")
    text = (name or "").strip()
    if not 1 <= len(text) <= 100:
        raise ServiceError.of(PortalErrorCode.INVALID, "名称须为1至100个字符", "name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    client = await ApiClient.create(
        name=text, region_code=region.code, token_hash=token_hash(token), created_by=user
    )
    return client, token


async def revoke_client(grants: list[Grant], client_id: int) -> None:
    require_national_staff(grants)
    if not await ApiClient.filter(id=client_id).update(active=False):
        raise ServiceError.of(PortalErrorCode.NOT_FOUND, "API客户端不存在", "id")


async def client_for(token: str) -> ApiClient | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 128:
        return None
    return await ApiClient.get_or_none(token_hash=token_hash(token), active=True)


# ---------------------------------------------------------------- the feed


async def feed_region(
    client: ApiClient | None, grants: list[Grant], region_code: str | None
) -> Region | None:
    """The region a reader may follow: an API client its own region (or inside it), national
    staff any (None: the nation). Anyone else is refused."""
    asked = await get_region(region_code) if region_code else None
    if region_code and asked is None:
        raise ServiceError.of(PortalErrorCode.INVALID_REGION, "行政区划代码无效", "regionCode")
    if client is not None:
        own = await get_region(client.region_code)
        assert own is not None
        if asked is None:
            return own
        inside = own.code in (asked.code, asked.prefecture_code, asked.province_code)
        if not inside:
            raise PermissionDenied("只能订阅本平台所属地区的活动")
        return asked
    if is_national_staff(grants):
        return asked
    raise PermissionDenied("仅限省级平台和主办单位工作人员")


def changes_in(region: Region | None) -> QuerySet[ActivityChange]:
    query = ActivityChange.all()
    if region is None:
        return query
    if region.level is RegionLevel.COUNTY:
        return query.filter(region_code=region.code)
    return query.filter(subtree(region))


# ---------------------------------------------------------------- live subscriptions


def in_region(change: ActivityChange, region: Region | None) -> bool:
    """Whether `change` lies in `region`'s subtree (in memory, as `changes_in` filters in SQL)."""
    if region is None:
        return True
    if region.level is RegionLevel.PROVINCE:
        return change.province_code == region.code
    if region.level is RegionLevel.PREFECTURE:
        return change.prefecture_code == region.code
    return change.region_code == region.code


class Listener(Protocol):
    """What follows the bus for this process (`infra.hub.Hub`)."""

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[asyncio.Queue[Any]]: ...


class RecentChanges:
    """The newest changes, read once per process for all its live subscriptions.

    Every subscription of a process wakes on the same bus message; without this each would read
    the log (and the activity) itself, a query or two per subscriber per change. Here the changes
    an announcement names are read first, once, and only then is it passed on to the
    subscriptions (`follow`), which take them from memory, each straight on to its delivery. The
    kept rows are complete from `floor` (exclusive) to `upto`: a reader that is further behind,
    or a change not read yet, goes to the database as before.
    """

    def __init__(self, bus_listener: Listener | None = None, keep: int = 2000) -> None:
        self.keep = keep
        self.rows: list[ActivityChange] = []
        # the rows are every change with floor < id <= upto
        self.floor: int | None = None
        self.upto: int | None = None
        self._reading: asyncio.Future[None] | None = None
        self.bus_listener = bus_listener
        self.followers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._listening = asyncio.Event()
        self._pump: asyncio.Task[None] | None = None

    @contextlib.asynccontextmanager
    async def follow(self) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """The bus's announcements of changes, each once the changes it names are read here (or
        failed to be). Listening has begun when the block starts: read the log after that."""
        if self.bus_listener is None:
            raise RuntimeError("RecentChanges.follow needs the process's bus listener")
        if self._pump is None or self._pump.done():
            self._listening.clear()
            self._pump = asyncio.create_task(self._pass_on(), name="recent-changes")
        await self._listening.wait()
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self.followers.add(queue)
        try:
            yield queue
        finally:
            self.followers.discard(queue)

    async def stop(self) -> None:
        if self._pump is not None:
            self._pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pump

    async def _pass_on(self) -> None:
        assert self.bus_listener is not None
        while True:
            try:
                async with self.bus_listener.subscribe(CHANNEL) as announcements:
                    self._listening.set()
                    while True:
                        message = await announcements.get()
                        await self._read_ahead(message)
                        for queue in list(self.followers):
                            bus.offer(queue, message)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # listening failed (Redis away): followers read on anew
                log.warning("recent_changes_listen_failed", error=type(exc).__name__)
                for queue in list(self.followers):
                    bus.offer(queue, {"reconnected": True})
                await asyncio.sleep(1.0)

    async def _read_ahead(self, message: dict[str, Any]) -> None:
        position = message.get("position")
        if type(position) is not int or self.upto is None:
            return  # nobody has asked yet: the first follower sets where the kept rows start
        try:
            await self.after(self.upto, position)
        except Exception as exc:  # the followers will each try (and fail) themselves
            log.warning("recent_changes_read_failed", error=type(exc).__name__)

    def clear(self) -> None:
        self.rows, self.floor, self.upto = [], None, None

    async def after(self, last: int, position: int) -> list[ActivityChange] | None:
        """Every change with `last` < id <= `position` (activities loaded), or None when this
        process does not keep them (the caller reads the database)."""
        while True:
            if self.floor is None or self.upto is None:
                self.floor = self.upto = last
            if last < self.floor:
                return None
            if position <= self.upto:
                return self._between(last, position)  # already read: all but the first reader
            if position - self.upto > self.keep:  # a burst (an import): not worth holding
                self.clear()
                self.floor = self.upto = position  # everybody reads the database once, in batches
                return None
            # One read for everybody waiting on this announcement; they all wake together when
            # it is done.
            if self._reading is None:
                self._reading = asyncio.ensure_future(self._read(self.upto, position))
            # a subscriber that leaves while it waits does not cancel the read for the others
            await asyncio.shield(self._reading)

    async def _read(self, since: int, position: int) -> None:
        try:
            fresh = await ActivityChange.filter(id__gt=since, id__lte=position).order_by("id")
            if self.upto != since:  # cleared meanwhile (a burst): these would leave a gap
                return
            for row in fresh:
                # one object for every subscriber: their identical answers are computed once
                # (schema.sharing)
                row.shared_results = {}
            self.rows.extend(fresh)
            self.upto = position
            if len(self.rows) > self.keep:
                dropped = self.rows[: len(self.rows) - self.keep]
                self.rows = self.rows[len(dropped) :]
                self.floor = dropped[-1].id
        finally:
            self._reading = None

    def _between(self, last: int, position: int) -> list[ActivityChange]:
        start = bisect.bisect_right(self.rows, last, key=lambda row: row.id)
        end = bisect.bisect_right(self.rows, position, key=lambda row: row.id)
        return self.rows[start:end]


REPLAY_BATCH = 500


async def updates(
    recent: RecentChanges, region: Region | None, after: int | None
) -> AsyncGenerator[ActivityChange, None]:
    """The changes of `region` (None: everywhere) after position `after` (None: from now): those
    in the log first, then live ones as they are announced, in order, without a gap or a repeat.

    It listens first and then reads the log: a change committed in between is in one or the other,
    and reading by position after the last one given never repeats or skips."""
    changes = changes_in(region)
    async with recent.follow() as live:
        if after is None:
            newest = await ActivityChange.all().order_by("-id").first()
            last = newest.id if newest else 0
        else:
            last = after
        while True:
            rows = await changes.filter(id__gt=last).order_by("id").limit(REPLAY_BATCH)
            for row in rows:
                last = row.id
                yield row
            if len(rows) == REPLAY_BATCH:
                continue
            # caught up: follow the announcements, with the changes the process keeps
            while True:
                position = (await live.get()).get("position")
                if type(position) is not int:
                    break  # a reconnect of the bus: read the log again
                kept = await recent.after(last, position)
                if kept is None:
                    break  # this follower is too far behind what the process keeps
                for row in kept:
                    if in_region(row, region):
                        yield row  # with its activity as read with it
                last = max(last, position)
