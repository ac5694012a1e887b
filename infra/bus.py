"""Publishing on Redis pub/sub from services (API processes fan it out to subscriptions)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, TypeVar

import redis.asyncio as aioredis

_redis: aioredis.Redis | None = None
T = TypeVar("T")


def configure(redis: aioredis.Redis | None, *, keep: bool = False) -> None:
    global _redis
    if not (keep and _redis is not None):
        _redis = redis


def channel_key(channel: str, redis: aioredis.Redis) -> str:
    """The name Redis knows `channel` by. Pub/sub ignores the database number: deployments (or
    test runs) on one server, each in its own database, would hear each other's messages (and a
    portal's position, or a person's id, from the other database), so the number is in the name."""
    database = redis.connection_pool.connection_kwargs.get("db", 0)
    return f"kepuri:{database}:{channel}"


async def publish(
    channel: str, message: dict[str, Any], redis: aioredis.Redis | None = None
) -> None:
    """Send a message to every process's subscribers of `channel`."""
    client = redis or _redis
    if client is None:
        raise RuntimeError("no Redis for pub/sub in this process")
    await client.publish(channel_key(channel, client), json.dumps(message, ensure_ascii=False))


def offer(queue: asyncio.Queue[T], message: T) -> None:
    """Put a message on a subscriber's bounded queue; a subscriber that fell that far behind loses
    the oldest one. The change feed's and a document's messages each say "read on from where you
    are", so it is the newest that must not be lost (with the newest dropped, the changes it
    announced would wait for the next one); a notification lost either way is still in the list."""
    if queue.full():
        queue.get_nowait()
    queue.put_nowait(message)


def version_key(name: str, redis: aioredis.Redis) -> str:
    return channel_key(f"version:{name}", redis)


async def bump(*names: str) -> None:
    """Move the versions of `names` on (after a commit that changed what they name): whatever
    was cached under the old ones is never read again, in any process."""
    if _redis is None:  # a process that shares no cache (a command without Redis)
        return
    async with _redis.pipeline(transaction=False) as pipe:
        for name in names:
            pipe.incr(version_key(name, _redis))
        await pipe.execute()


def shared() -> aioredis.Redis | None:
    """The Redis this process shares versions and messages through (None: it shares none)."""
    return _redis


async def versions(names: tuple[str, ...], redis: aioredis.Redis) -> list[int]:
    values = await redis.mget([version_key(name, redis) for name in names])
    return [int(v) if v is not None else 0 for v in values]
