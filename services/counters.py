"""Engagement counters: exact, kept live in Redis, written behind to the database.

The records (check-ins, like/favourite/rating rows, comments, moderations) are the truth; each row
is an event that changes the counters once. Three paths keep two copies of the counts exact:

- the request path inserts the record, then applies its event to the Redis hash of the activity,
  guarded by the event's id in a Redis set, so that an event is applied at most once;
- the write-behind job takes uncounted rows, applies each event to Redis again (the guard makes that
  a no-op unless the request died before doing it), adds the sums to `activity_stats` and marks the
  rows counted in one transaction. A crash anywhere leaves rows uncounted, and the next run finishes
  the work: nothing is lost, nothing counted twice;
- a read of an activity whose Redis hash is missing (a cold start, an eviction) computes the counts
  from `activity_stats` plus the uncounted rows in one query, and stores them with the ids of
  those rows in the guard set, in one atomic step.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import redis.asyncio as aioredis
from tortoise import connections
from tortoise.expressions import F
from tortoise.models import Model
from tortoise.transactions import in_transaction

from infra.batching import Batcher
from models import (
    ActivityStats,
    CheckIn,
    Comment,
    CommentModeration,
    Favorite,
    FlagAdjustment,
    HeadCount,
    Like,
    Rating,
)

FIELDS = (
    "check_ins",
    "likes",
    "comments",
    "favorites",
    "rating_sum",
    "rating_count",
    "offline_check_ins",  # of check_ins, those scanned by a device offline
    "head_count",  # visitors without an account, counted by a device
)
# what a fraud flag takes out of the counts (services/fraud.py)
ADJUSTED = ("check_ins", "offline_check_ins", "likes", "rating_sum", "rating_count")
GUARD_TTL = 2 * 24 * 3600
# Rows younger than this are left to the request that wrote them (it applies its event to Redis
# within milliseconds); the job only finishes what a request did not.
SETTLE = timedelta(seconds=30)

# KEYS: the live hash and the guard set of each event, in pairs; ARGV: the guards' TTL, whether
# to answer with the counts (1) or not (0), then for each event its id, the number of its deltas
# and the deltas as field, value pairs. Returns for each event the hash after it (or 1 when not
# asked for the counts), or an empty list where the hash is missing (nothing applied).
_APPLY = """
local ttl, counts, at, out = ARGV[1], ARGV[2] == '1', 3, {}
for k = 1, #KEYS, 2 do
  local event, n = ARGV[at], tonumber(ARGV[at + 1])
  if redis.call('EXISTS', KEYS[k]) == 0 then
    out[#out + 1] = {}
  else
    if redis.call('SADD', KEYS[k + 1], event) == 1 then
      redis.call('EXPIRE', KEYS[k + 1], ttl)
      for i = at + 2, at + 2 * n, 2 do redis.call('HINCRBY', KEYS[k], ARGV[i], ARGV[i + 1]) end
    end
    out[#out + 1] = counts and redis.call('HGETALL', KEYS[k]) or 1
  end
  at = at + 2 + 2 * n
end
return out
"""
_WARM = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local n = tonumber(ARGV[1])
for i = 2, 2 * n, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
for i = 2 * n + 2, #ARGV do redis.call('SADD', KEYS[2], ARGV[i]) end
redis.call('EXPIRE', KEYS[2], 172800)
return 1
"""


Counts = dict[str, int]
Event = tuple[int, str, dict[str, int]]  # the activity, the event's id, its deltas


def _counts(found: dict[bytes, bytes]) -> Counts:
    """The counts of an activity's hash as Redis gives it."""
    return {f: int(found.get(f.encode(), 0)) for f in FIELDS}


def live_key(activity_id: int) -> str:
    return f"kepuri:eng:{activity_id}"


def guard_key(activity_id: int) -> str:
    return f"kepuri:eng:applied:{activity_id}"


@dataclass(frozen=True)
class Source:
    """One kind of record: how its rows become events."""

    model: type[Model]
    prefix: str
    deltas: Callable[[Any], dict[str, int]]
    # the same, as SQL columns in FIELDS order, for the cold read
    sql: str

    def event_id(self, row: Any) -> str:
        return f"{self.prefix}{row.id}"


SOURCES = [
    Source(
        CheckIn,
        "c",
        lambda r: {"check_ins": 1, "offline_check_ins": 1 if r.device_id else 0},
        "1, 0, 0, 0, 0, 0, CASE WHEN device_id IS NULL THEN 0 ELSE 1 END, 0",
    ),
    Source(
        Like,
        "l",
        lambda r: {"likes": 1 if r.liked else -1},
        "0, CASE WHEN liked THEN 1 ELSE -1 END, 0, 0, 0, 0, 0, 0",
    ),
    Source(
        Favorite,
        "f",
        lambda r: {"favorites": 1 if r.favorite else -1},
        "0, 0, 0, CASE WHEN favorite THEN 1 ELSE -1 END, 0, 0, 0, 0",
    ),
    Source(
        Rating,
        "r",
        lambda r: {"rating_sum": r.sum_delta, "rating_count": r.count_delta},
        "0, 0, 0, 0, sum_delta, count_delta, 0, 0",
    ),
    Source(Comment, "m", lambda r: {"comments": 1}, "0, 0, 1, 0, 0, 0, 0, 0"),
    Source(CommentModeration, "h", lambda r: {"comments": -1}, "0, 0, -1, 0, 0, 0, 0, 0"),
    Source(HeadCount, "p", lambda r: {"head_count": r.count}, "0, 0, 0, 0, 0, 0, 0, count"),
    # a fraud flag taking engagement out of the counts, or its dismissal putting it back
    Source(
        FlagAdjustment,
        "x",
        lambda r: {name: getattr(r, name) for name in ADJUSTED},
        "check_ins, likes, 0, 0, rating_sum, rating_count, offline_check_ins, 0",
    ),
]
SOURCE_BY_MODEL = {s.model: s for s in SOURCES}


class Counters:
    """The live side, over one Redis connection pool."""

    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self._apply = redis.register_script(_APPLY)
        # the events of concurrent requests go to Redis together, in one script call
        self._applying: Batcher[Event, Counts | None] = Batcher(self._apply_events)
        self._warm = redis.register_script(_WARM)
        self._warming: dict[tuple[int, ...], asyncio.Future[dict[int, dict[str, int]]]] = {}

    async def record(self, row: Model) -> dict[str, int]:
        """Apply a just-committed record's event to the live counters (at most once) and return
        the activity's counts, in one round trip (from the database when Redis has none)."""
        source = SOURCE_BY_MODEL[type(row)]
        activity_id: int = row.activity_id  # type: ignore[attr-defined]
        event_id, deltas = source.event_id(row), source.deltas(row)
        counts = await self._apply_event(activity_id, event_id, deltas)
        if counts is not None:
            return counts
        # The hash was missing. Warm it, then apply the event to it all the same: a concurrent
        # request may have warmed it first from a read taken before this row committed (its guard
        # set then lacks this event; when it holds it, applying is a no-op).
        warmed = (await self.read([activity_id]))[activity_id]
        counts = await self._apply_event(activity_id, event_id, deltas)
        return counts if counts is not None else warmed

    async def record_all(self, model: type[Model], rows: Sequence[Any]) -> None:
        """`record` for many just-committed records of `model` at once (a device's upload): one
        script call for all, then the cold activities warmed and their events applied again
        (a no-op for an event the warm read already holds)."""
        if not rows:
            return
        source = SOURCE_BY_MODEL[model]
        events = [(row.activity_id, source.event_id(row), source.deltas(row)) for row in rows]
        replies = await self._apply_events(events, counts=False)
        cold = [event for event, counts in zip(events, replies, strict=True) if counts is None]
        if cold:
            await self.read({activity_id for activity_id, _, _ in cold})
            await self._apply_events(cold, counts=False)

    async def _apply_event(
        self, activity_id: int, event_id: str, deltas: dict[str, int]
    ) -> Counts | None:
        return await self._applying((activity_id, event_id, deltas))

    async def _apply_events(self, events: list[Event], counts: bool = True) -> list[Counts | None]:
        """Apply each event to its activity's hash (at most once); the counts after each (empty
        when not asked for), or None where the hash is missing. One round trip for all."""
        keys: list[str] = []
        args: list[Any] = [GUARD_TTL, int(counts)]
        for activity_id, event_id, deltas in events:
            keys += [live_key(activity_id), guard_key(activity_id)]
            changes = [(name, value) for name, value in deltas.items() if value]
            args += [event_id, len(changes)]
            for name, value in changes:
                args += [name, value]
        replies = await self._apply(keys=keys, args=args)
        if not counts:
            return [{} if reply == 1 else None for reply in replies]
        # a script gives a hash as a flat list: field, value, field, value...
        return [
            _counts(dict(zip(flat[::2], flat[1::2], strict=True))) if flat else None
            for flat in replies
        ]

    async def read(self, activity_ids: Iterable[int]) -> dict[int, dict[str, int]]:
        """Counts of each activity: from Redis, the missing ones from the database (one query)."""
        ids = list(dict.fromkeys(activity_ids))
        if not ids:
            return {}
        async with self.redis.pipeline(transaction=False) as pipe:
            for activity_id in ids:
                pipe.hgetall(live_key(activity_id))
            found = await pipe.execute()
        counts: dict[int, dict[str, int]] = {}
        missing = []
        for activity_id, raw in zip(ids, found, strict=True):
            if raw:
                counts[activity_id] = _counts(raw)
            else:
                missing.append(activity_id)
        if missing:
            counts.update(await self._warm_once(tuple(missing)))
        return counts

    async def _warm_once(self, ids: tuple[int, ...]) -> dict[int, dict[str, int]]:
        """Warm cold activities, one database read for all the requests that find the same ones
        cold at the same moment (the first scans of an activity arrive together)."""
        running = self._warming.get(ids)
        if running is None:
            running = asyncio.ensure_future(self._warm_from_database(list(ids)))
            self._warming[ids] = running
            running.add_done_callback(lambda _: self._warming.pop(ids, None))
        # one waiter that gives up (a client gone) does not cancel the read for the others
        return await asyncio.shield(running)

    async def _warm_from_database(self, ids: list[int]) -> dict[int, dict[str, int]]:
        # Integers and constant table names only: nothing here comes from a request.
        in_list = ", ".join(str(int(i)) for i in ids)
        parts = [
            f"SELECT activity_id, '' AS src, 0 AS row_id, {', '.join(FIELDS)} "  # noqa: S608
            f"FROM activity_stats WHERE activity_id IN ({in_list})"
        ]
        for source in SOURCES:
            table = source.model._meta.db_table
            parts.append(
                f"SELECT activity_id, '{source.prefix}', id, {source.sql} FROM {table} "  # noqa: S608
                f"WHERE activity_id IN ({in_list}) AND counted = FALSE"
            )
        conn = connections.get("default")
        _, rows = await conn.execute_query(" UNION ALL ".join(parts))
        totals = {i: dict.fromkeys(FIELDS, 0) for i in ids}
        events: dict[int, list[str]] = defaultdict(list)
        for row in rows:
            values = list(row)
            activity_id, prefix, row_id = int(values[0]), values[1], values[2]
            for name, value in zip(FIELDS, values[3:], strict=True):
                totals[activity_id][name] += int(value)
            if prefix:
                events[activity_id].append(f"{prefix}{row_id}")
        for activity_id, counts in totals.items():
            args: list[Any] = [len(FIELDS)]
            for name in FIELDS:
                args += [name, counts[name]]
            args += events[activity_id]
            await self._warm(keys=[live_key(activity_id), guard_key(activity_id)], args=args)
        return totals

    async def flush(self, *, settle: timedelta = SETTLE, batch: int = 500) -> int:
        """Write uncounted events behind to `activity_stats` (the arq cron job; idempotent)."""
        cutoff = datetime.now(UTC) - settle  # created_at is wall-clock time, not the demo clock
        done = 0
        for source in SOURCES:
            while True:
                flushed = await self._flush_batch(source, cutoff, batch)
                done += flushed
                if flushed < batch:
                    break
        return done

    async def _flush_batch(self, source: Source, cutoff: datetime, batch: int) -> int:
        applied: list[tuple[int, str]] = []
        async with in_transaction("default"):
            rows: list[Any] = await (
                source.model.filter(counted=False, created_at__lte=cutoff)
                .order_by("id")
                .limit(batch)
                .select_for_update(skip_locked=True)
            )
            if not rows:
                return 0
            sums: dict[int, dict[str, int]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))
            events: list[Event] = []
            for row in rows:
                deltas = source.deltas(row)
                events.append((row.activity_id, source.event_id(row), deltas))
                applied.append((row.activity_id, source.event_id(row)))
                for name, value in deltas.items():
                    sums[row.activity_id][name] += value
            # Redis first: the events a request died before applying are applied now.
            await self._apply_events(events, counts=False)
            for activity_id, deltas in sums.items():
                changes = {name: F(name) + value for name, value in deltas.items() if value}
                if changes:
                    await ActivityStats.filter(activity_id=activity_id).update(**changes)
            await source.model.filter(id__in=[row.id for row in rows]).update(counted=True)
        # Committed: the guards of these events are no longer needed.
        async with self.redis.pipeline(transaction=False) as pipe:
            for activity_id, event_id in applied:
                pipe.srem(guard_key(activity_id), event_id)
            await pipe.execute()
        return len(rows)
