"""Rate limits on top of the `limits` package (moving windows in Redis, shared by all processes).

A limit is a setting in `limits` notation, several separated by ";" ("1/minute;10/day").

Hits made at the same moment are counted together (`infra.batching`): the hits of one identity
(a school's address) go to Redis as one hit of that many when they all fit, and one by one, in
the order they came, when they do not. Besides the round trips saved, the requests of a burst
then leave this first step together, and share the round trips of the next ones too.
"""

from __future__ import annotations

import asyncio
import math
import time
from enum import StrEnum
from typing import Any

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from infra.batching import Batcher
from infra.errors import FieldError, ServiceError

Call = tuple[str, tuple[str, ...]]  # a spec and an identity


def _wait_message(seconds: int) -> str:
    if seconds > 7200:
        return f"请求过于频繁，请在{math.ceil(seconds / 3600)}小时后重试"
    if seconds > 120:
        return f"请求过于频繁，请在{math.ceil(seconds / 60)}分钟后重试"
    return f"请求过于频繁，请在{seconds}秒后重试"


class RateLimitCode(StrEnum):
    RATE_LIMITED = "RATE_LIMITED"


class RateLimited(ServiceError):
    def __init__(self, retry_after: int, field: str | None = None) -> None:
        super().__init__(
            FieldError(RateLimitCode.RATE_LIMITED, _wait_message(retry_after), field),
            retry_after=retry_after,
        )


class Limiter:
    def __init__(self, storage_uri: str, namespace: str = "kepuri:rl", **options: Any) -> None:
        self.storage = storage_from_string(
            storage_uri, implementation="redispy", key_prefix=namespace, **options
        )
        self.strategy = MovingWindowRateLimiter(self.storage)
        self._parsed: dict[str, list[RateLimitItem]] = {}
        self._consuming: Batcher[tuple[Call, ...], int] = Batcher(self._consume_together)

    def _items(self, spec: str) -> list[RateLimitItem]:
        if spec not in self._parsed:
            self._parsed[spec] = parse_many(spec)
        return self._parsed[spec]

    async def wait_seconds(self, spec: str, *identity: str) -> int:
        """Seconds until one more hit fits under every limit of `spec` (0: it fits now)."""
        wait = 0.0
        for item in self._items(spec):
            if not await self.strategy.test(item, *identity):
                stats = await self.strategy.get_window_stats(item, *identity)
                wait = max(wait, stats.reset_time - time.time(), 1.0)
        return math.ceil(wait)

    async def clear(self, spec: str, *identity: str) -> None:
        """Forget the hits of `identity` under `spec` (a person who proved who they are)."""
        for item in self._items(spec):
            await self.strategy.clear(item, *identity)

    async def consume(self, spec: str, *identity: str, field: str | None = None) -> None:
        """Count one more hit, or refuse (naming the wait) when it would exceed `spec`."""
        await self.consume_each((spec, identity), field=field)

    async def consume_each(self, *calls: Call, field: str | None = None) -> None:
        """`consume` under each (spec, identity) at once: every hit is counted, and the longest
        wait refuses the request."""
        wait = await self._consuming(calls)
        if wait:
            raise RateLimited(wait, field)

    async def _consume_together(self, requests: list[tuple[Call, ...]]) -> list[int]:
        """The longest wait of each request's calls (0: all counted); the calls of one spec and
        identity are counted at once."""
        same: dict[Call, list[int]] = {}
        for i, calls in enumerate(requests):
            for call in calls:
                same.setdefault(call, []).append(i)
        waits = [0] * len(requests)

        async def consume(call: Call, members: list[int]) -> None:
            spec, identity = call
            items = self._items(spec)
            # one atomic hit of that many, when they all fit
            together = len(members) > 1 and len(items) == 1
            if together and await self.strategy.hit(items[0], *identity, cost=len(members)):
                return
            for i in members:
                waits[i] = max(waits[i], await self._consume_one(spec, identity))

        await asyncio.gather(*(consume(call, members) for call, members in same.items()))
        return waits

    async def _consume_one(self, spec: str, identity: tuple[str, ...]) -> int:
        """One hit under every limit of `spec` (one atomic Redis call each), or the wait."""
        for item in self._items(spec):
            if not await self.strategy.hit(item, *identity):
                return await self.wait_seconds(spec, *identity) or 1
        return 0
