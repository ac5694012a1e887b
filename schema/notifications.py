"""The GraphQL types of notifications: outputs, inputs and payloads.

Its resolvers are in resolvers/notifications.py."""

from __future__ import annotations

from datetime import datetime

import strawberry

from models import Notification
from models.enums import NotificationKind
from schema.ids import to_global_id
from schema.node import Node
from schema.types import Error
from services.errors import NotificationErrorCode

strawberry.enum(NotificationKind)


@strawberry.type(
    name="NotificationError",
    description="A refusal of a mutation on notifications: "
    "the input it concerns, why (in Chinese), and a code.",
)
class NotificationError(Error[NotificationErrorCode]):
    pass


@strawberry.type(name="Notification")
class NotificationType(Node):
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
    errors: list[NotificationError] = strawberry.field(default_factory=list)
