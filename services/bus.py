"""Publishing on Redis pub/sub from services (API processes fan it out to subscriptions)."""

from __future__ import annotations

import json
from typing import Any

import redis.asyncio as aioredis

_redis: aioredis.Redis | None = None


def configure(redis: aioredis.Redis | None, *, keep: bool = False) -> None:
    global _redis
    if not (keep and _redis is not None):
        _redis = redis


async def publish(
    channel: str, message: dict[str, Any], redis: aioredis.Redis | None = None
) -> None:
    """Send a message to every process's subscribers of `channel`."""
    client = redis or _redis
    if client is None:
        raise RuntimeError("no Redis for pub/sub in this process")
    await client.publish(f"kepuri:{channel}", json.dumps(message, ensure_ascii=False))
