"""What the public sees, and when it changes: after every commit that changes public content,
its version moves on (`infra.bus.bump`), so that an answer cached under the old version is never
served again, by any process (schema/response_cache.py).

Two kinds: `PUBLIC` (activities, campaigns, units, commendations) and `COMMENTS`, which change
more often and which only the comment lists show. Engagement counts are not content: cached
answers that show them may lag by RESPONSE_CACHE_ENGAGEMENT_SECONDS.

The same versions keep the public lists' totals (`public_count`): a COUNT over the approved
activities of the country is a scan of a large part of the table, so it runs once per version
of public content and filter, not once per request.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar

from tortoise.queryset import QuerySet

from infra import bus, sql
from services.events import DomainEvent, later, subscribe, unsubscribe

PUBLIC = "public"
COMMENTS = "comments"
KINDS = (PUBLIC, COMMENTS)
COUNT_SECONDS = 24 * 3600  # a count nobody asks for again goes; a new version makes a new one


async def changed(*kinds: str) -> None:
    """Public content of these kinds changes in the current transaction (or just did)."""

    async def bump() -> None:
        await bus.bump(*kinds)

    await later(bump)


P = ParamSpec("P")
T = TypeVar("T")


def publishes(*kinds: str) -> Callable[[Callable[P, Awaitable[T]]], Callable[P, Awaitable[T]]]:
    """An operation that changes public content of these kinds: once it has returned (and the
    transaction it may run in has committed), their versions move on."""

    def wrap(operation: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
        @functools.wraps(operation)
        async def run(*args: P.args, **kwargs: P.kwargs) -> T:
            result = await operation(*args, **kwargs)
            await changed(*kinds)
            return result

        return run

    return wrap


async def _activity_changed(event: DomainEvent) -> None:
    if event.was_public or event.is_public:  # a draft or a review the public never sees: no
        await changed(PUBLIC)


def register() -> None:
    """Hang the versions on every lifecycle event of an activity (once per process)."""
    unsubscribe(_activity_changed)
    subscribe(_activity_changed)


async def public_count(query: QuerySet[Any], parameters: dict[str, Any]) -> int:
    """How many rows `query` (a public list, narrowed by `parameters`) holds: counted once per
    version of public content, kept in Redis for every process. Exact: a change moves the
    version on after it commits, so a count read under a version was taken after every change
    that version stands for."""
    redis = bus.shared()
    if redis is None:
        return await query.count()
    (version,) = await bus.versions((PUBLIC,), redis)
    digest = hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()[:32]
    key = bus.channel_key(f"count:{version}:{digest}", redis)
    kept = await redis.get(key)
    if kept is not None:
        return int(kept)
    with sql.reads_from(sql.PRIMARY):  # kept for the version: a lagging replica may not have it
        total = await query.count()
    await redis.set(key, total, ex=COUNT_SECONDS)
    return total
