"""Concurrent calls of one kind sent as one round trip (group commit).

In a burst, many requests reach the same step at once (the insert of a check-in, the update of
the live counters), and a round trip each costs the process more than the work itself. A
`Batcher` sends the first call on the next turn of the event loop, together with every call made
in that turn; calls made while a batch is on its way wait for it and go together in the next one.
An idle server adds no delay; a busy one sends fewer, larger batches.

The batch runs in a task of its own: a caller that gives up (its client gone) does not take the
others' calls with it, and its own call is still made, as a statement already sent would be.
A call that must not share (`alone`: one in a database transaction, whose statements wait for
its commit and must see what it wrote) is run by itself, at once, where its caller runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class Batcher(Generic[T, R]):
    """`await batcher(item)` gives `run`'s result for that item; `run` takes the items of a
    batch in the order they came and returns one result for each, in the same order. A result
    that is an exception is raised to that item's caller alone; an exception `run` raises, to
    every caller of the batch. When `alone()` is true at a call, the call is a batch of its own,
    run at once in its caller's context."""

    def __init__(
        self,
        run: Callable[[list[T]], Awaitable[Sequence[R | Exception]]],
        max_size: int = 128,
        *,
        alone: Callable[[], bool] | None = None,
    ) -> None:
        self._run = run
        self._max_size = max_size
        self._alone = alone
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._sending: asyncio.Task[None] | None = None

    async def __call__(self, item: T) -> R:
        if self._alone is not None and self._alone():
            (result,) = await self._run([item])
            if isinstance(result, Exception):
                raise result
            return result
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # a new event loop (tests start several): start afresh
            self._loop, self._waiting, self._sending = loop, [], None
        future: asyncio.Future[R] = loop.create_future()
        self._waiting.append((item, future))
        if self._sending is None:
            self._sending = loop.create_task(self._send())
        return await future

    async def _send(self) -> None:
        batch: list[tuple[T, asyncio.Future[R]]] = []
        try:
            while self._waiting:
                batch = self._waiting[: self._max_size]
                del self._waiting[: self._max_size]
                try:
                    results = await self._run([item for item, _ in batch])
                except Exception as error:  # every caller of the batch hears of it
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, Exception):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
                batch = []
        finally:
            # cancelled (the loop shutting down) or broken: nobody is left waiting for ever
            left, self._waiting, self._sending = [*batch, *self._waiting], [], None
            for _, future in left:
                if not future.done():
                    future.cancel()
