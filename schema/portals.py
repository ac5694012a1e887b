"""The GraphQL types of portals: outputs, inputs and payloads.

Its resolvers are in resolvers/portals.py."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from models import ActivityChange, ApiClient, Webhook, WebhookDelivery
from models.enums import ChangeKind
from schema.activities import ActivityType
from schema.context import Context
from schema.ids import to_global_id
from schema.node import Node
from schema.pagination import encode_cursor
from schema.types import Error, OkPayload
from services import portals
from services.errors import PortalErrorCode

strawberry.enum(ChangeKind)


@strawberry.type(
    name="PortalError",
    description="A refusal of a mutation on portals, API clients and webhooks: "
    "the input it concerns, why (in Chinese), and a code.",
)
class PortalError(Error[PortalErrorCode]):
    pass


@strawberry.type(name="PortalOkPayload")
class PortalOkPayload(OkPayload[PortalError]):
    pass


@strawberry.type(name="ApiClient")
class ApiClientType(Node):
    name: str
    region_code: str
    active: bool

    @strawberry.field
    def id(self, root: strawberry.Parent[ApiClient]) -> strawberry.ID:
        return strawberry.ID(to_global_id("ApiClient", root.id))


@strawberry.type(name="ActivityChange", description="A change of a public activity.")
class ActivityChangeType:
    kind: ChangeKind
    occurred_at: datetime

    @strawberry.field(description="The position in the feed: resume after it.")
    def cursor(self, root: strawberry.Parent[ActivityChange]) -> str:
        return encode_cursor([root.id])

    @strawberry.field(
        description="The activity as this change shows it: its public version then (for a "
        "withdrawal, the last one portals saw, never the edit that withdrew it)."
    )
    def activity(
        self, root: strawberry.Parent[ActivityChange], info: Info[Context, None]
    ) -> ActivityType:
        # Answered without a coroutine from the change's own version, so that a selection of
        # plain fields executes synchronously for each of the many subscribers of a live change.
        # A change written before versions were kept loads the row (graphql-core awaits it).
        version = portals.shown(root)
        if version is not None:
            return version  # type: ignore[return-value]
        return info.context.loaders.activity.load(root.activity_id)  # type: ignore[return-value]


@strawberry.type(name="Webhook")
class WebhookType(Node):
    url: str
    events: list[str]
    region_code: str | None
    active: bool

    @strawberry.field
    def id(self, root: strawberry.Parent[Webhook]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Webhook", root.id))


@strawberry.type(name="WebhookDelivery")
class WebhookDeliveryType(Node):
    event: str
    status: str
    attempts: int
    last_status_code: int | None
    created_at: datetime

    @strawberry.field
    def id(self, root: strawberry.Parent[WebhookDelivery]) -> strawberry.ID:
        return strawberry.ID(to_global_id("WebhookDelivery", root.id))


@strawberry.input
class WebhookInput:
    url: str
    events: list[str]
    region_code: str | None = None


@strawberry.type
class WebhookPayload:
    webhook: WebhookType | None = None
    secret: str | None = strawberry.field(default=None, description="Shown once.")
    errors: list[PortalError] = strawberry.field(default_factory=list)


@strawberry.type
class ErrorsPayload:
    errors: list[PortalError] = strawberry.field(default_factory=list)


@strawberry.type
class ApiClientPayload:
    api_client: ApiClientType | None = None
    token: str | None = strawberry.field(default=None, description="Shown once.")
    errors: list[PortalError] = strawberry.field(default_factory=list)
