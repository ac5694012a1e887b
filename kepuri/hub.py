"""Fan-out of Redis pub/sub messages to the subscriptions of this process.

One pub/sub connection per process, local queues per subscriber, and a reconnect loop with
backoff: after Redis comes back every channel is subscribed again and each subscriber receives
`RECONNECTED`, so that it can re-read the state it follows (messages published while the
connection was down are gone). `broadcaster` was tried on these machines and hung forever after a
Redis restart, hence this small module.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import redis.asyncio as aioredis
import structlog

from services import bus

log = structlog.get_logger(__name__)

RECONNECTED: dict[str, Any] = {"reconnected": True}


async def publish(redis: aioredis.Redis, channel: str, message: dict[str, Any]) -> None:
    """Send a message to every process's subscribers of `channel` (workers call this too)."""
    await bus.publish(channel, message, redis)


class Hub:
    def __init__(self, redis: aioredis.Redis) -> None:
        self.redis = redis
        self.queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self.pubsub: Any = None  # set once connected and subscribed
        self.task: asyncio.Task[None] | None = None
        # One (un)subscription at a time, connecting included: two concurrent first commands on
        # a new PubSub each open a connection, and the one the hub reads is then only the
        # second; the channels subscribed on the first go silent.
        self._subscribing = asyncio.Lock()

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="pubsub-hub")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        if self.pubsub is not None:
            await self.pubsub.aclose()

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue of the channel's messages, subscribed before the block starts."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        key = f"kepuri:{channel}"
        first = not self.queues[key]
        self.queues[key].add(queue)
        try:
            if first:
                async with self._subscribing:
                    if self.pubsub is not None:  # else the connecting hub subscribes it
                        await self.pubsub.subscribe(key)
            yield queue
        finally:
            self.queues[key].discard(queue)
            if not self.queues[key]:
                del self.queues[key]
                async with self._subscribing:
                    if self.pubsub is not None and not self.queues.get(key):
                        with contextlib.suppress(Exception):
                            await self.pubsub.unsubscribe(key)

    async def _run(self) -> None:
        delay = 0.1
        reconnect = False
        while True:
            try:
                async with self._subscribing:
                    pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
                    try:  # "kepuri:hub" keeps the connection open when nobody listens
                        await pubsub.subscribe("kepuri:hub", *self.queues)
                    except BaseException:
                        with contextlib.suppress(Exception):
                            await pubsub.aclose()
                        raise
                    self.pubsub = pubsub
                if reconnect:
                    self._deliver_all(RECONNECTED)
                delay = 0.1
                while True:
                    message = await self.pubsub.get_message(timeout=1.0)
                    if message is not None and message["type"] == "message":
                        self._deliver(message["channel"].decode(), message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: back off and subscribe again
                log.warning("pubsub_reconnect", error=type(exc).__name__, in_seconds=delay)
                if self.pubsub is not None:
                    with contextlib.suppress(Exception):
                        await self.pubsub.aclose()
                self.pubsub = None
                reconnect = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _deliver(self, channel: str, data: bytes) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        for queue in list(self.queues.get(channel, ())):
            bus.offer(queue, message)

    def _deliver_all(self, message: dict[str, Any]) -> None:
        for queues in self.queues.values():
            for queue in list(queues):
                bus.offer(queue, message)
