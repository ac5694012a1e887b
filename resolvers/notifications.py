"""Notifications in the app: the list, marking read, preferences, the live stream."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from infra.errors import ServiceError
from models import Notification
from resolvers.common import caller
from schema.context import Context
from schema.ids import parse_global_id
from schema.notifications import (
    MarkReadPayload,
    NotificationPreferences,
    NotificationType,
    PreferencesPayload,
)
from schema.pagination import Connection, keyset_connection
from schema.permissions import IsAuthenticated, bad_argument
from services import notifications


@strawberry.type
class NotificationsQuery:
    @strawberry.field(permission_classes=[IsAuthenticated], description="Newest first.")
    async def notifications(
        self,
        info: Info[Context, None],
        unread_only: bool | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[NotificationType]:
        query = Notification.filter(recipient_id=caller(info).id)
        if unread_only:
            query = query.filter(read_at=None)
        return await keyset_connection(query, first=first, after=after, descending=True)


@strawberry.type
class NotificationsMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Mark the caller's notifications read (at most 100).",
    )
    async def mark_notifications_read(
        self, info: Info[Context, None], ids: list[strawberry.ID]
    ) -> MarkReadPayload:
        if len(ids) > 100:
            raise bad_argument("一次最多标记100条")
        keys = []
        for value in ids:
            try:
                keys.append(parse_global_id(value, "Notification"))
            except ServiceError:
                continue
        await notifications.mark_read(caller(info), keys)
        return MarkReadPayload(ok=True)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Email and SMS on or off (absent: unchanged).",
    )
    async def update_notification_preferences(
        self, info: Info[Context, None], email: bool | None = None, sms: bool | None = None
    ) -> PreferencesPayload:
        user = await notifications.set_preferences(caller(info), email=email, sms=sms)
        return PreferencesPayload(
            preferences=NotificationPreferences(email=user.notify_by_email, sms=user.notify_by_sms)
        )


@strawberry.type
class NotificationsSubscription:
    @strawberry.subscription(
        permission_classes=[IsAuthenticated],
        description="The caller's new notifications, as they are created.",
    )
    async def notification_received(
        self, info: Info[Context, None]
    ) -> AsyncGenerator[NotificationType, None]:
        user = caller(info)
        hub = info.context.hub
        async with hub.subscribe(f"user:{user.id}") as messages:
            while True:
                message = await messages.get()
                if "id" not in message:  # a reconnect: nothing to re-read for a stream
                    continue
                row = await Notification.get_or_none(id=message["id"], recipient_id=user.id)
                if row is not None:
                    yield row  # type: ignore[misc]
