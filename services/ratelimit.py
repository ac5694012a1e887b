"""Rate limits on top of the `limits` package (moving windows in Redis, shared by all processes).

A limit is a setting in `limits` notation, several separated by ";" ("1/minute;10/day").
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse_many
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from services.errors import ErrorCode, FieldError, ServiceError


def _wait_message(seconds: int) -> str:
    if seconds > 7200:
        return f"请求过于频繁，请在{math.ceil(seconds / 3600)}小时后重试"
    if seconds > 120:
        return f"请求过于频繁，请在{math.ceil(seconds / 60)}分钟后重试"
    return f"请求过于频繁，请在{seconds}秒后重试"


class RateLimited(ServiceError):
    def __init__(self, retry_after: int, field: str | None = None) -> None:
        super().__init__(
            FieldError(ErrorCode.RATE_LIMITED, _wait_message(retry_after), field),
            retry_after=retry_after,
        )


class Limiter:
    def __init__(self, storage_uri: str, namespace: str = "kepuri:rl") -> None:
        self.storage = storage_from_string(
            storage_uri, implementation="redispy", key_prefix=namespace
        )
        self.strategy = MovingWindowRateLimiter(self.storage)
        self._parsed: dict[str, list[RateLimitItem]] = {}

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

    async def check(self, spec: str, *identity: str, field: str | None = None) -> None:
        """Refuse with RATE_LIMITED (naming the wait) when another hit would exceed `spec`."""
        wait = await self.wait_seconds(spec, *identity)
        if wait:
            raise RateLimited(wait, field)

    async def hit(self, spec: str, *identity: str) -> None:
        for item in self._items(spec):
            await self.strategy.hit(item, *identity)

    async def consume(self, spec: str, *identity: str, field: str | None = None) -> None:
        """Count one more hit, or refuse (naming the wait) when it would exceed `spec`: one
        atomic Redis call per limit when the hit fits."""
        for item in self._items(spec):
            if not await self.strategy.hit(item, *identity):
                raise RateLimited(await self.wait_seconds(spec, *identity) or 1, field)
