"""Relay's global object identification: every type with an ID implements `Node`, and
`node(id:)` / `nodes(ids:)` find any of them (resolvers/node.py) with the visibility of the
type's own query."""

from __future__ import annotations

from typing import Any

import strawberry

from models import (
    Activity,
    ApiClient,
    Booking,
    BookingSlot,
    Campaign,
    CheckIn,
    CheckInDevice,
    Commendation,
    Comment,
    Document,
    EngagementFlag,
    Invitation,
    JointAction,
    Notification,
    Objection,
    Organization,
    Recommendation,
    ScienceRoute,
    User,
    Volunteer,
    Webhook,
    WebhookDelivery,
)

# the model whose rows each Node type's objects are (its roots), by the type's name
MODELS: dict[str, type[Any]] = {
    "Activity": Activity,
    "ApiClient": ApiClient,
    "Booking": Booking,
    "BookingSlot": BookingSlot,
    "Campaign": Campaign,
    "CheckIn": CheckIn,
    "CheckInDevice": CheckInDevice,
    "Comment": Comment,
    "Commendation": Commendation,
    "Document": Document,
    "EngagementFlag": EngagementFlag,
    "Invitation": Invitation,
    "JointAction": JointAction,
    "Notification": Notification,
    "Objection": Objection,
    "Organization": Organization,
    "Recommendation": Recommendation,
    "ScienceRoute": ScienceRoute,
    "User": User,
    "Volunteer": Volunteer,
    "Webhook": Webhook,
    "WebhookDelivery": WebhookDelivery,
}
_NAMES = {model: name for name, model in MODELS.items()}


@strawberry.interface(description="An object with a global ID (Relay's object identification).")
class Node:
    @strawberry.field(description="The object's global ID: the same spelling wherever it appears.")
    def id(self) -> strawberry.ID:  # each type says how (from its root's primary key)
        raise NotImplementedError

    @classmethod
    def resolve_type(cls, obj: Any, *_: Any) -> str:
        return _NAMES[type(obj)]

    @classmethod
    def is_type_of(cls, obj: Any, *_: Any) -> bool:
        """Whether `obj` (a row) is one of this type's: strawberry would ask for an instance of
        the type itself, as soon as a type implements an interface."""
        return isinstance(obj, MODELS[cls.__strawberry_definition__.name])  # type: ignore[attr-defined]

    is_type_of.__func__.needs_no_info = True  # type: ignore[attr-defined]
