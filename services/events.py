"""Domain events of the activity lifecycle. Handlers run inside the transaction of the change, so
what they write (an outbox row, a notification) commits or rolls back with it. Later capabilities
(notifications, portal feeds) subscribe here instead of being called by the lifecycle."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from tortoise.transactions import in_transaction


class EventKind(StrEnum):
    ACTIVITY_CREATED = "ACTIVITY_CREATED"
    ACTIVITY_UPDATED = "ACTIVITY_UPDATED"
    ACTIVITY_SUBMITTED = "ACTIVITY_SUBMITTED"
    ACTIVITY_APPROVED = "ACTIVITY_APPROVED"
    ACTIVITY_REJECTED = "ACTIVITY_REJECTED"
    ACTIVITY_SUPPLEMENTED = "ACTIVITY_SUPPLEMENTED"
    ACTIVITY_SUMMARIZED = "ACTIVITY_SUMMARIZED"
    ACTIVITY_DELETED = "ACTIVITY_DELETED"


@dataclass(frozen=True)
class DomainEvent:
    kind: EventKind
    activity_id: int
    actor_id: int | None
    was_public: bool = False
    is_public: bool = False
    data: dict[str, Any] = field(default_factory=dict)


Handler = Callable[[DomainEvent], Awaitable[None]]
_handlers: dict[EventKind | None, list[Handler]] = defaultdict(list)


def subscribe(handler: Handler, kind: EventKind | None = None) -> Handler:
    """Call `handler` for events of `kind` (every event when None)."""
    _handlers[kind].append(handler)
    return handler


def unsubscribe(handler: Handler) -> None:
    for handlers in _handlers.values():
        if handler in handlers:
            handlers.remove(handler)


async def emit(event: DomainEvent) -> None:
    for handler in [*_handlers[event.kind], *_handlers[None]]:
        await handler(event)


Action = Callable[[], Awaitable[None]]
_after_commit: ContextVar[list[Action] | None] = ContextVar("after_commit", default=None)


@asynccontextmanager
async def transaction() -> AsyncIterator[None]:
    """A database transaction whose `later` actions run once it has committed (and never when
    it rolls back): jobs are queued only for changes that exist."""
    pending: list[Action] = []
    token = _after_commit.set(pending)
    try:
        async with in_transaction("default"):
            yield
    finally:
        _after_commit.reset(token)
    for action in pending:
        await action()


async def later(action: Action) -> None:
    """Run `action` after the current `transaction()` commits, or now outside of one."""
    pending = _after_commit.get()
    if pending is None:
        await action()
    else:
        pending.append(action)
