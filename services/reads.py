"""Which database a GraphQL operation reads from, when a read replica is configured
(DATABASE_REPLICA_URL; infra.sql routes the reads):

- a query reads from the replica, except when its answer is to be kept in the shared response
  cache (an entry must be built on the primary: it stands for the current versions of public
  content, which a lagging replica may not have yet) and except for a person who wrote within
  REPLICA_STICKY_SECONDS (they read their own writes back);
- a mutation or a subscription reads and writes on the primary, and a mutation of a signed-in
  person marks them as having just written, in Redis, for every API process.
"""

from __future__ import annotations

from redis.asyncio import Redis

from infra import bus


def _key(user_id: int, redis: Redis) -> str:
    return bus.channel_key(f"wrote:{user_id}", redis)


async def wrote_recently(redis: Redis, user_id: int) -> bool:
    return bool(await redis.exists(_key(user_id, redis)))


async def mark_written(redis: Redis, user_id: int, seconds: int) -> None:
    if seconds > 0:
        await redis.set(_key(user_id, redis), 1, ex=seconds)
