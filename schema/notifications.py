"""The GraphQL types of notifications: outputs, inputs and payloads.

Its resolvers are in resolvers/notifications.py."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models import Notification
from models.enums import NotificationKind
from schema.ids import to_global_id
from schema.types import MutationError

strawberry.enum(NotificationKind)


@strawberry.type(name="Notification")
class NotificationType:
    kind: NotificationKind
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None

    @strawberry.field
    def id(self, root: strawberry.Parent[Notification]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Notification", root.id))


@strawberry.type
class NotificationPreferences:
    email: bool
    sms: bool


@strawberry.type
class MarkReadPayload:
    ok: bool


@strawberry.type
class PreferencesPayload:
    preferences: NotificationPreferences | None = None
    errors: list[MutationError] = strawberry.field(default_factory=list)
