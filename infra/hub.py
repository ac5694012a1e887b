"""Fan-out of Redis pub/sub messages to the subscriptions of this process.

One pub/sub connection per process, local queues per subscriber, and a reconnect loop with
backoff: after Redis comes back every channel is subscribed again and each subscriber receives
`RECONNECTED`, so that it can re-read the state it follows (messages published while the
connection was down are gone). `broadcaster` was tried on these machines and hung forever after a
Redis restart, hence this small module.

A `Watcher` is for state that must never act on a missed message (the session cache): it is
called for each message of its channel as the message is read, with no queue that could drop
one, and told when Redis has confirmed the channel's subscription and when the connection is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Protocol

import redis.asyncio as aioredis
import structlog

from infra import bus

log = structlog.get_logger(__name__)

RECONNECTED: dict[str, Any] = {"reconnected": True}


async def publish(redis: aioredis.Redis, channel: str, message: dict[str, Any]) -> None:
    """Send a message to every process's subscribers of `channel` (workers call this too)."""
    await bus.publish(channel, message, redis)


class Watcher(Protocol):
    def heard(self, message: dict[str, Any]) -> None: ...

    def listening(self, yes: bool) -> None: ...


class Hub:
    def __init__(self, redis: aioredis.Redis, heartbeat: float = 5.0) -> None:
        self.redis = redis
        # After this many quiet seconds the hub pings Redis on its connection, and after as many
        # again without an answer it connects anew. A connection that died without a word (a
        # restarted NAT, a failed-over host) only ever reads nothing: TCP tells a reader nothing.
        self.heartbeat = heartbeat
        self.queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self.watchers: dict[str, list[Watcher]] = defaultdict(list)
        self.pubsub: Any = None  # set once connected and subscribed
        self.task: asyncio.Task[None] | None = None
        # One (un)subscription at a time, connecting included: two concurrent first commands on
        # a new PubSub each open a connection, and the one the hub reads is then only the
        # second; the channels subscribed on the first go silent.
        self._subscribing = asyncio.Lock()

    def watch(self, channel: str, watcher: Watcher) -> None:
        """Call `watcher` for every message of `channel` (register before `start`)."""
        if self.task is not None:
            raise RuntimeError("Hub.watch is for before the hub starts")
        self.watchers[bus.channel_key(channel, self.redis)].append(watcher)

    async def start(self) -> None:
        self.task = asyncio.create_task(self._run(), name="pubsub-hub")

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        self._tell_watchers(None, listening=False)
        if self.pubsub is not None:
            await self.pubsub.aclose()

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
        """A queue of the channel's messages, subscribed before the block starts."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        key = bus.channel_key(channel, self.redis)
        # a watched channel stays subscribed for the watchers, whoever comes and goes
        first = not self.queues[key] and key not in self.watchers
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
                if key not in self.watchers:
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
                    pubsub = self.redis.pubsub()
                    try:  # the "hub" channel keeps the connection open when nobody listens
                        own = bus.channel_key("hub", self.redis)
                        channels = dict.fromkeys([own, *self.queues, *self.watchers])
                        await pubsub.subscribe(*channels)
                    except BaseException:
                        with contextlib.suppress(Exception):
                            await pubsub.aclose()
                        raise
                    self.pubsub = pubsub
                if reconnect:
                    self._deliver_all(RECONNECTED)
                delay = 0.1
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis went away: back off and subscribe again
                self._tell_watchers(None, listening=False)
                log.warning("pubsub_reconnect", error=type(exc).__name__, in_seconds=delay)
                if self.pubsub is not None:
                    with contextlib.suppress(Exception):  # a dead peer may never confirm a close
                        await asyncio.wait_for(self.pubsub.aclose(), 5)
                self.pubsub = None
                reconnect = True
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _listen(self) -> None:
        """Hand out what the connection reads, until it fails or falls silent (an exception)."""
        loop = asyncio.get_running_loop()
        heard = loop.time()  # when the connection last said anything
        pinged: float | None = None  # when the hub asked, if it is still waiting for an answer
        while True:
            message = await self.pubsub.get_message(timeout=min(1.0, self.heartbeat))
            moment = loop.time()
            if message is None:
                if pinged is not None and moment - pinged > self.heartbeat:
                    raise TimeoutError("Redis did not answer the hub's PING")
                if pinged is None and moment - heard > self.heartbeat:
                    async with self._subscribing:
                        await self.pubsub.ping()
                    pinged = moment
                continue
            heard, pinged = moment, None
            kind = message["type"]
            if kind == "message":
                self._deliver(message["channel"].decode(), message["data"])
            elif kind in ("subscribe", "unsubscribe"):  # as Redis now has it
                channel = message["channel"].decode()
                self._tell_watchers(channel, listening=kind == "subscribe")

    def _deliver(self, channel: str, data: bytes) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            message = None
        for watcher in self.watchers.get(channel, ()):
            # a message it cannot read is still news to a watcher (it then forgets more)
            watcher.heard(message if isinstance(message, dict) else {})
        if message is not None:
            for queue in list(self.queues.get(channel, ())):
                bus.offer(queue, message)

    def _tell_watchers(self, channel: str | None, *, listening: bool) -> None:
        """Watchers of `channel` (all when None) learn that listening began or ended."""
        for key, watchers in self.watchers.items():
            if channel is None or key == channel:
                for watcher in watchers:
                    watcher.listening(listening)

    def _deliver_all(self, message: dict[str, Any]) -> None:
        for queues in self.queues.values():
            for queue in list(queues):
                bus.offer(queue, message)
