"""`node(id:)` and `nodes(ids:)`: any object by its global ID, seen by whom the type's own query
shows it to (else null, as for an ID that names nothing)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.types import Info

from infra.errors import PermissionDenied, ServiceError
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
    Volunteer,
    WebhookDelivery,
)
from schema.activities import visible
from schema.context import Context
from schema.ids import decode_global_id
from schema.node import MODELS, Node
from schema.permissions import bad_argument
from services import (
    bookings,
    commendations,
    documents,
    engagement,
    fraud,
    recommendations,
    volunteers,
    webhooks,
)
from services.activities import FILING_ROLES
from services.permissions import can_manage_members, is_national_staff
from services.rules import can_view, member_org_ids

Finder = Callable[[Info[Context, None], int], Awaitable[Any]]


async def _activity(info: Info[Context, None], pk: int) -> Any:
    return await visible(await info.context.loaders.activity.load(pk), info)


async def _public(model: type[Any], pk: int) -> Any:
    return await model.get_or_none(id=pk)


async def _own(model: type[Any], owner: str, info: Info[Context, None], pk: int) -> Any:
    user = info.context.user
    return await model.get_or_none(id=pk, **{owner: user.id}) if user else None


async def _user(info: Info[Context, None], pk: int) -> Any:
    user = info.context.user
    return user if user is not None and user.id == pk else None  # as `me`


async def _comment(info: Info[Context, None], pk: int) -> Any:
    comment = await Comment.get_or_none(id=pk)
    if comment is None or await _activity(info, comment.activity_id) is None:
        return None
    return await engagement.visible_comments(comment.activity_id).filter(id=pk).first()


async def _recommendation(info: Info[Context, None], pk: int) -> Any:
    found = await Recommendation.get_or_none(id=pk)
    if found is None or info.context.user is None:
        return None
    rule = recommendations.visible(await info.context.grants(), found.campaign_id, None)
    return await Recommendation.filter(rule, id=pk).first()


async def _commendation(info: Info[Context, None], pk: int) -> Any:
    rule = commendations.visible(await info.context.grants())
    return await Commendation.filter(rule, id=pk).first()


async def _objection(info: Info[Context, None], pk: int) -> Any:
    staff = is_national_staff(await info.context.grants())  # as Commendation.objections
    return await Objection.get_or_none(id=pk) if staff else None


async def _document(info: Info[Context, None], pk: int) -> Any:
    document = await Document.get_or_none(id=pk)
    user = info.context.user
    if document is None or user is None:
        return None
    return (
        document if await documents.can_read(user, await info.context.grants(), document) else None
    )


async def _invitation(info: Info[Context, None], pk: int) -> Any:
    """The invitee's, and their unit's admins' (who sent it)."""
    invitation = await Invitation.get_or_none(id=pk).select_related("organization")
    user = info.context.user
    if invitation is None or user is None:
        return None
    if invitation.user_id == user.id:
        return invitation
    admin = can_manage_members(await info.context.grants(), invitation.organization)
    return invitation if admin else None


async def _api_client(info: Info[Context, None], pk: int) -> Any:
    client = info.context.api_client
    if client is not None and client.id == pk:
        return client
    staff = is_national_staff(await info.context.grants())
    return await ApiClient.get_or_none(id=pk) if staff else None


async def _device(info: Info[Context, None], pk: int) -> Any:
    """A unit's admins and filers see its devices (checkInDevices lists them); a device itself."""
    own = info.context.device
    if own is not None:
        return own if own.id == pk else None
    device = await CheckInDevice.get_or_none(id=pk)
    filing = member_org_ids(await info.context.grants(), FILING_ROLES)
    return device if device is not None and device.organization_id in filing else None


async def _flag(info: Info[Context, None], pk: int) -> Any:
    """What engagementFlags lists: the activity's reviewers and national staff."""
    flag = await EngagementFlag.get_or_none(id=pk)
    if flag is None:
        return None
    activity = await Activity.get_or_none(id=flag.activity_id)
    seen = activity is not None and fraud.sees_flags(await info.context.grants(), activity)
    return flag if seen else None


async def _booking(info: Info[Context, None], pk: int) -> Any:
    """The person's own, and (as activityBookings lists them) its activity's insiders'."""
    booking = await Booking.get_or_none(id=pk)
    user = info.context.user
    if booking is None or user is None:
        return None
    if booking.user_id == user.id:
        return booking
    activity = await Activity.get_or_none(id=booking.activity_id)
    seen = activity is not None and bookings.sees_list(await info.context.grants(), activity)
    return booking if seen else None


async def _slot(info: Info[Context, None], pk: int) -> Any:
    """As the activity's bookingSlots show it: to whoever may see the activity."""
    slot = await BookingSlot.get_or_none(id=pk)
    if slot is None:
        return None
    activity = await Activity.get_or_none(id=slot.activity_id)
    seen = activity is not None and can_view(await info.context.grants(), activity)
    return slot if seen else None


async def _volunteer(info: Info[Context, None], pk: int) -> Any:
    """The volunteer themselves, and whoever sees the unit's volunteerHours."""
    volunteer = await Volunteer.get_or_none(id=pk)
    if volunteer is None:
        return None
    seen = await volunteers.sees_volunteer(
        info.context.user, await info.context.grants(), volunteer
    )
    return volunteer if seen else None


async def _webhook(info: Info[Context, None], pk: int) -> Any:
    try:
        return await webhooks.owned_webhook(
            await info.context.grants(), info.context.api_client, pk
        )
    except (ServiceError, PermissionDenied):
        return None


async def _delivery(info: Info[Context, None], pk: int) -> Any:
    delivery = await WebhookDelivery.get_or_none(id=pk)
    if delivery is None or await _webhook(info, delivery.webhook_id) is None:
        return None
    return delivery


FINDERS: dict[str, Finder] = {
    "Activity": _activity,
    "ApiClient": _api_client,
    "Booking": _booking,
    "BookingSlot": _slot,
    "Campaign": lambda info, pk: _public(Campaign, pk),
    "CheckIn": lambda info, pk: _own(CheckIn, "user_id", info, pk),
    "CheckInDevice": _device,
    "Comment": _comment,
    "Commendation": _commendation,
    "Document": _document,
    "EngagementFlag": _flag,
    "Invitation": _invitation,
    "JointAction": lambda info, pk: _public(JointAction, pk),
    "Notification": lambda info, pk: _own(Notification, "recipient_id", info, pk),
    "Objection": _objection,
    "Organization": lambda info, pk: _public(Organization, pk),
    "Recommendation": _recommendation,
    "ScienceRoute": lambda info, pk: _public(ScienceRoute, pk),
    "User": _user,
    "Volunteer": _volunteer,
    "Webhook": _webhook,
    "WebhookDelivery": _delivery,
}
assert set(FINDERS) == set(MODELS), set(FINDERS) ^ set(MODELS)


async def find(info: Info[Context, None], id: str) -> Any:
    decoded = decode_global_id(id)
    if decoded is None or decoded[0] not in FINDERS:
        return None
    kind, pk = decoded
    return await FINDERS[kind](info, pk)


@strawberry.type
class NodeQuery:
    @strawberry.field(
        description="Any object by its global ID (null if the caller may not see it)."
    )
    async def node(self, info: Info[Context, None], id: strawberry.ID) -> Node | None:
        return await find(info, id)

    @strawberry.field(description="Objects by their global IDs, in order (at most 100).")
    async def nodes(self, info: Info[Context, None], ids: list[strawberry.ID]) -> list[Node | None]:
        if len(ids) > 100:
            raise bad_argument("一次最多查询100个ID")
        return [await find(info, i) for i in ids]
