"""Provincial portals: API clients, the change feed and its live subscription with replay."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator

import strawberry
from strawberry.types import Info

from infra.errors import PermissionDenied, ServiceError
from models import Region, WebhookDelivery
from resolvers.common import attempt, signed_in
from schema.context import Context
from schema.ids import parse_global_id
from schema.pagination import Connection, decode_cursor, exact_int, keyset_connection
from schema.permissions import IsPortalOrStaff, bad_argument, forbidden
from schema.portals import (
    ActivityChangeType,
    ApiClientPayload,
    ErrorsPayload,
    PortalError,
    PortalOkPayload,
    WebhookDeliveryType,
    WebhookInput,
    WebhookPayload,
)
from services import portals, webhooks


async def _region(info: Info[Context, None], region_code: str | None) -> Region | None:
    grants = await info.context.grants()
    try:
        return await portals.feed_region(info.context.api_client, grants, region_code)
    except ServiceError as e:
        raise bad_argument(e.errors[0].message, e.errors[0].code.value) from e
    except PermissionDenied as e:
        raise forbidden(str(e)) from e


@strawberry.type
class PortalsQuery:
    @strawberry.field(description="The change log of a region as a feed (API clients, staff).")
    async def activity_changes(
        self,
        info: Info[Context, None],
        region_code: str | None = None,
        after: str | None = None,
        first: int | None = None,
    ) -> Connection[ActivityChangeType]:
        region = await _region(info, region_code)
        return await keyset_connection(portals.changes_in(region), first=first, after=after)

    @strawberry.field(description="A webhook's deliveries, newest first (its portal, staff).")
    async def webhook_deliveries(
        self,
        info: Info[Context, None],
        webhook_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[WebhookDeliveryType]:
        grants = await info.context.grants()
        try:
            webhook = await webhooks.owned_webhook(
                grants, info.context.api_client, parse_global_id(webhook_id, "Webhook")
            )
        except ServiceError as e:
            raise bad_argument(e.errors[0].message, e.errors[0].code.value) from e
        except PermissionDenied as e:
            raise forbidden(str(e)) from e
        return await keyset_connection(
            WebhookDelivery.filter(webhook_id=webhook.id),
            first=first,
            after=after,
            descending=True,
        )


@strawberry.type
class PortalsMutation:
    @strawberry.mutation(description="National staff create a portal's API client for a region.")
    async def create_api_client(
        self, info: Info[Context, None], name: str, region_code: str
    ) -> ApiClientPayload:
        user, grants = await signed_in(info)
        created, errors = await attempt(
            PortalError, lambda: portals.create_client(user, grants, name, region_code)
        )
        if created is None:
            return ApiClientPayload(errors=errors)
        client, token = created
        return ApiClientPayload(api_client=client, token=token)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsPortalOrStaff],
        description="A portal (or staff) subscribes a URL to changes of a region.",
    )
    async def create_webhook(
        self, info: Info[Context, None], input: WebhookInput
    ) -> WebhookPayload:
        grants = await info.context.grants()
        made, errors = await attempt(
            PortalError,
            lambda: webhooks.create_webhook(
                grants,
                info.context.api_client,
                input.url,
                input.events,
                input.region_code,
                info.context.runtime.settings.webhook_allowed_hosts,
            ),
        )
        if made is None:
            return WebhookPayload(errors=errors)
        webhook, secret = made
        return WebhookPayload(webhook=webhook, secret=secret)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsPortalOrStaff],
        description="Send a delivery again (a new series of tries).",
    )
    async def redeliver_webhook(
        self, info: Info[Context, None], delivery_id: strawberry.ID
    ) -> ErrorsPayload:
        grants = await info.context.grants()
        _, errors = await attempt(
            PortalError,
            lambda: webhooks.redeliver(
                grants,
                info.context.api_client,
                parse_global_id(delivery_id, "WebhookDelivery", "deliveryId"),
            ),
        )
        return ErrorsPayload(errors=errors)

    @strawberry.mutation
    async def revoke_api_client(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> PortalOkPayload:
        _, grants = await signed_in(info)
        _, errors = await attempt(
            PortalError, lambda: portals.revoke_client(grants, parse_global_id(id, "ApiClient"))
        )
        return PortalOkPayload(ok=not errors, errors=errors)


@strawberry.type
class PortalsSubscription:
    @strawberry.subscription(
        description="Changes of a region: with `after`, every change since that cursor first "
        "(from the log), then live ones, in order, without a gap or a repeat."
    )
    async def activity_updates(
        self, info: Info[Context, None], region_code: str | None = None, after: str | None = None
    ) -> AsyncGenerator[ActivityChangeType, None]:
        region = await _region(info, region_code)
        since = decode_cursor(after, (exact_int,))[0] if after else None
        updates = portals.updates(info.context.recent_changes, region, since)
        async with contextlib.aclosing(updates):
            async for change in updates:
                yield change  # type: ignore[misc]
