"""Domain events of the activity lifecycle. Handlers run inside the transaction of the change, so
what they write (an outbox row, a notification) commits or rolls back with it. Later capabilities
(notifications, portal feeds) subscribe here instead of being called by the lifecycle."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


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
