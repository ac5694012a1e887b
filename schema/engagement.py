"""The GraphQL types of engagement: outputs, inputs and payloads.

Its resolvers are in resolvers/engagement.py."""

from __future__ import annotations

import base64
from datetime import date, datetime

import strawberry
from strawberry.types import Info

from models import Activity, CheckIn, CheckInDevice, Comment, EngagementFlag
from models.enums import FlagStatus, FraudRule
from schema.accounts import UserType
from schema.activities import ActivityType, Engagement
from schema.context import Context
from schema.ids import to_global_id
from schema.node import Node
from schema.types import Error, OkPayload
from services import devices
from services.devices import ScanStatus
from services.engagement import check_in_window
from services.errors import EngagementErrorCode
from services.volunteers import Direction


@strawberry.type(
    name="EngagementError",
    description="A refusal of a mutation on engagement (check-ins, likes, comments, ratings): "
    "the input it concerns, why (in Chinese), and a code.",
)
class EngagementError(Error[EngagementErrorCode]):
    pass


@strawberry.type(name="EngagementOkPayload")
class EngagementOkPayload(OkPayload[EngagementError]):
    pass


@strawberry.type(name="CheckIn")
class CheckInType(Node):
    created_at: datetime

    @strawberry.field
    def id(self, root: strawberry.Parent[CheckIn]) -> strawberry.ID:
        return strawberry.ID(to_global_id("CheckIn", root.id))


@strawberry.type(name="Comment")
class CommentType(Node):
    body: str
    created_at: datetime

    @strawberry.field
    def id(self, root: strawberry.Parent[Comment]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Comment", root.id))

    @strawberry.field
    async def author(self, root: strawberry.Parent[Comment], info: Info[Context, None]) -> UserType:
        return await info.context.loaders.user.load(root.user_id)  # type: ignore[return-value]


@strawberry.type
class CheckInPayload:
    check_in: CheckInType | None = None
    engagement: Engagement | None = None
    errors: list[EngagementError] = strawberry.field(default_factory=list)


@strawberry.type
class EngagementPayload:
    engagement: Engagement | None = None
    errors: list[EngagementError] = strawberry.field(default_factory=list)


@strawberry.type
class CommentPayload:
    comment: CommentType | None = None
    errors: list[EngagementError] = strawberry.field(default_factory=list)


@strawberry.type(
    name="CheckInCode",
    description="The person's code for check-in devices, good for one day (China time): shown "
    "as a QR code; a device verifies it offline with the key of its bundle. It names no phone.",
)
class CheckInCodeType:
    code: str
    valid_on: date


@strawberry.type(name="CheckInDevice", description="A venue's device for offline check-in.")
class CheckInDeviceType(Node):
    name: str
    created_at: datetime
    revoked_at: datetime | None
    last_upload_at: datetime | None

    @strawberry.field
    def id(self, root: strawberry.Parent[CheckInDevice]) -> strawberry.ID:
        return strawberry.ID(to_global_id("CheckInDevice", root.id))

    @strawberry.field(description="The activities it checks people in to.")
    def activity_ids(self, root: strawberry.Parent[CheckInDevice]) -> list[strawberry.ID]:
        return [strawberry.ID(to_global_id("Activity", pk)) for pk in root.activity_ids]


@strawberry.type
class CheckInDevicePayload:
    device: CheckInDeviceType | None = None
    token: str | None = strawberry.field(
        default=None, description="The device's token: shown once, on creation."
    )
    errors: list[EngagementError] = strawberry.field(default_factory=list)


@strawberry.input
class CheckInDeviceInput:
    organization_id: strawberry.ID
    name: str
    activity_ids: list[strawberry.ID]


@strawberry.type(name="BundleActivity")
class BundleActivityType:
    title: str
    starts_at: datetime
    ends_at: datetime
    address: str | None

    @strawberry.field
    def id(self, root: strawberry.Parent[Activity]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Activity", root.id))

    @strawberry.field(description="When check-in opens (the start, less a margin).")
    def opens_at(self, root: strawberry.Parent[Activity]) -> datetime:
        return check_in_window(root)[0]

    @strawberry.field(description="When check-in closes (the end, plus a margin).")
    def closes_at(self, root: strawberry.Parent[Activity]) -> datetime:
        return check_in_window(root)[1]


@strawberry.type(
    name="CheckInBundle",
    description="What a check-in device needs to work without a network: its activities with "
    "their windows, and the public key (Ed25519, raw, base64) that signs people's codes.",
)
class CheckInBundleType:
    @strawberry.field
    def device(self, root: strawberry.Parent[devices.Bundle]) -> CheckInDeviceType:
        return root.device  # type: ignore[return-value]

    @strawberry.field
    def activities(self, root: strawberry.Parent[devices.Bundle]) -> list[BundleActivityType]:
        return root.activities  # type: ignore[return-value]

    @strawberry.field
    def public_key(self, root: strawberry.Parent[devices.Bundle]) -> str:
        return base64.b64encode(root.public_key).decode()

    @strawberry.field
    def key_id(self, root: strawberry.Parent[devices.Bundle]) -> str:
        return root.key_id

    @strawberry.field(description="How far a device's clock may be off, in seconds.")
    def clock_tolerance_seconds(self, root: strawberry.Parent[devices.Bundle]) -> int:
        return int(root.tolerance.total_seconds())


@strawberry.input
class ScanInput:
    activity_id: strawberry.ID
    code: str = strawberry.field(description="The person's check-in code, as scanned.")
    scanned_at: datetime = strawberry.field(description="The device's time of the scan.")
    client_nonce: str = strawberry.field(description="The device's own id of the scan.")


@strawberry.input
class VolunteerScanInput:
    activity_id: strawberry.ID
    code: str = strawberry.field(description="The volunteer's check-in code, as scanned.")
    direction: Direction
    scanned_at: datetime = strawberry.field(description="The device's time of the scan.")
    client_nonce: str = strawberry.field(description="The device's own id of the scan.")


@strawberry.input
class HeadCountInput:
    activity_id: strawberry.ID
    count: int = strawberry.field(description="Visitors without an account (现场人数).")
    counted_at: datetime = strawberry.field(description="The device's time of the count.")
    client_nonce: str = strawberry.field(description="The device's own id of the count.")


@strawberry.type(name="UploadedScan")
class UploadedScanType:
    client_nonce: str
    status: ScanStatus
    code: EngagementErrorCode | None = None
    message: str | None = None


@strawberry.type
class UploadCheckInsPayload:
    results: list[UploadedScanType] = strawberry.field(
        default_factory=list, description="One per scan, in order."
    )
    head_counts: list[UploadedScanType] = strawberry.field(
        default_factory=list, description="One per head count, in order."
    )
    volunteer_scans: list[UploadedScanType] = strawberry.field(
        default_factory=list, description="One per volunteer scan, in order."
    )
    errors: list[EngagementError] = strawberry.field(default_factory=list)


@strawberry.type(
    name="EngagementFlag",
    description="Engagement a fraud rule found suspicious: its records are out of the "
    "activity's counts until a reviewer of the supervising unit confirms the fraud (out for "
    "good) or dismisses the flag (back in).",
)
class EngagementFlagType(Node):
    rule: FraudRule
    reason: str = strawberry.field(description="Why, in Chinese.")
    status: FlagStatus
    check_ins: int = strawberry.field(description="Check-ins it took out of the counts.")
    offline_check_ins: int = strawberry.field(description="Of those, scanned by a device.")
    likes: int
    rating_count: int = strawberry.field(description="Ratings it took out.")
    created_at: datetime
    resolved_at: datetime | None
    note: str | None = strawberry.field(description="The reviewer's note on the decision.")

    @strawberry.field
    def id(self, root: strawberry.Parent[EngagementFlag]) -> strawberry.ID:
        return strawberry.ID(to_global_id("EngagementFlag", root.id))

    @strawberry.field
    async def activity(
        self, root: strawberry.Parent[EngagementFlag], info: Info[Context, None]
    ) -> ActivityType | None:
        return await info.context.loaders.activity.load(root.activity_id)  # type: ignore[return-value]

    @strawberry.field(description="The reviewer who decided.")
    async def resolved_by(
        self, root: strawberry.Parent[EngagementFlag], info: Info[Context, None]
    ) -> UserType | None:
        if root.resolved_by_id is None:
            return None
        return await info.context.loaders.user.load(root.resolved_by_id)  # type: ignore[return-value]


@strawberry.type
class EngagementFlagPayload:
    flag: EngagementFlagType | None = None
    errors: list[EngagementError] = strawberry.field(default_factory=list)
