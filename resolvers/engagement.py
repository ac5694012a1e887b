"""The public's engagement: check-in, like, favourite, rating, comments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import strawberry
from strawberry.types import Info

from infra.errors import PermissionDenied, ServiceError
from models import CheckInDevice, EngagementFlag
from models.enums import FlagStatus
from resolvers.common import activity_pk, attempt, caller, signed_in
from schema.activities import engagement_of, visible
from schema.context import Context
from schema.engagement import (
    CheckInBundleType,
    CheckInDeviceInput,
    CheckInDevicePayload,
    CheckInDeviceType,
    CheckInPayload,
    CommentPayload,
    CommentType,
    EngagementError,
    EngagementFlagPayload,
    EngagementFlagType,
    EngagementOkPayload,
    EngagementPayload,
    HeadCountInput,
    ScanInput,
    UploadCheckInsPayload,
    UploadedScanType,
    VolunteerScanInput,
)
from schema.ids import parse_global_id
from schema.pagination import Connection, keyset_connection
from schema.permissions import IsAuthenticated
from services import devices, engagement, fraud, volunteers


@strawberry.type
class EngagementQuery:
    @strawberry.field(description="Visible comments of an activity, newest first.")
    async def comments(
        self,
        info: Info[Context, None],
        activity_id: strawberry.ID,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[CommentType]:
        try:
            pk = activity_pk(activity_id)
        except ServiceError:
            pk = 0
        # the comments of an activity nobody may see (withdrawn, deleted) are not shown either
        shown = await visible(await info.context.loaders.activity.load(pk), info) if pk else None
        return await keyset_connection(
            engagement.visible_comments(shown.id if shown else 0),
            first=first,
            after=after,
            descending=True,
        )


@strawberry.type
class EngagementMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Check in during the activity; the same clientNonce never counts twice.",
    )
    async def check_in(
        self,
        info: Info[Context, None],
        activity_id: strawberry.ID,
        client_nonce: str,
        qr_token: str | None = None,
    ) -> CheckInPayload:
        user = caller(info)
        rt = info.context.runtime
        done, errors = await attempt(
            EngagementError,
            lambda: engagement.check_in(
                rt,
                rt.live,
                user,
                activity_pk(activity_id),
                client_nonce,
                qr_token,
                info.context.client_ip,
            ),
        )
        if done is None:
            return CheckInPayload(errors=errors)
        row, counts = done
        return CheckInPayload(check_in=row, engagement=engagement_of(counts))  # type: ignore[arg-type]

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def set_like(
        self, info: Info[Context, None], activity_id: strawberry.ID, liked: bool
    ) -> EngagementPayload:
        user = caller(info)
        rt = info.context.runtime

        async def like() -> dict[str, int]:
            return await engagement.set_like(
                rt, rt.live, user, activity_pk(activity_id), liked, info.context.client_ip
            )

        return await _counted(like)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def set_favorite(
        self, info: Info[Context, None], activity_id: strawberry.ID, favorite: bool
    ) -> EngagementPayload:
        user = caller(info)
        rt = info.context.runtime

        async def mark() -> dict[str, int]:
            return await engagement.set_favorite(
                rt, rt.live, user, activity_pk(activity_id), favorite, info.context.client_ip
            )

        return await _counted(mark)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Score 1..5; one rating per person, a new one replaces the old.",
    )
    async def rate_activity(
        self,
        info: Info[Context, None],
        activity_id: strawberry.ID,
        score: int,
        feedback: str | None = None,
    ) -> EngagementPayload:
        user = caller(info)
        rt = info.context.runtime

        async def rating() -> dict[str, int]:
            return await engagement.rate(
                rt,
                rt.live,
                user,
                activity_pk(activity_id),
                score,
                feedback,
                info.context.client_ip,
            )

        return await _counted(rating)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def add_comment(
        self, info: Info[Context, None], activity_id: strawberry.ID, body: str
    ) -> CommentPayload:
        user = caller(info)
        rt = info.context.runtime
        comment, errors = await attempt(
            EngagementError,
            lambda: engagement.add_comment(
                rt, rt.live, user, activity_pk(activity_id), body, info.context.client_ip
            ),
        )
        return CommentPayload(comment=comment, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="National staff or the supervising unit's reviewers hide a comment.",
    )
    async def hide_comment(
        self, info: Info[Context, None], id: strawberry.ID, reason: str | None = None
    ) -> EngagementOkPayload:
        user, grants = await signed_in(info)
        rt = info.context.runtime
        _, errors = await attempt(
            EngagementError,
            lambda: engagement.hide_comment(
                rt.live, user, grants, parse_global_id(id, "Comment"), reason
            ),
        )
        return EngagementOkPayload(ok=not errors, errors=errors)


async def _counted(call: Callable[[], Awaitable[dict[str, int]]]) -> EngagementPayload:
    counts, errors = await attempt(EngagementError, call)
    if counts is None:
        return EngagementPayload(errors=errors)
    return EngagementPayload(engagement=engagement_of(counts))


def _pk_or_zero(value: strawberry.ID) -> int:
    try:
        return activity_pk(value)
    except ServiceError:
        return 0  # refused as an activity the device does not have


def _scan(scan: ScanInput) -> devices.Scan:
    return devices.Scan(
        _pk_or_zero(scan.activity_id), scan.code, scan.scanned_at, scan.client_nonce
    )


def _uploaded(result: devices.ScanResult) -> UploadedScanType:
    return UploadedScanType(
        client_nonce=result.client_nonce,
        status=result.status,
        code=result.code,
        message=result.message,
    )


def _tolerance(info: Info[Context, None]) -> timedelta:
    return timedelta(minutes=info.context.runtime.settings.check_in_clock_tolerance_minutes)


def _device(info: Info[Context, None]) -> CheckInDevice:
    device = info.context.device
    if device is None:
        raise PermissionDenied("请使用打卡设备的令牌")
    return device


@strawberry.type
class DeviceQuery:
    @strawberry.field(description="The check-in devices of a unit (its admins and filers).")
    async def check_in_devices(
        self, info: Info[Context, None], organization_id: strawberry.ID
    ) -> list[CheckInDeviceType]:
        _, grants = await signed_in(info)
        unit = parse_global_id(organization_id, "Organization", "organizationId")
        return await devices.devices_of(grants, unit)  # type: ignore[return-value]

    @strawberry.field(description="A check-in device's bundle (with the device's token).")
    async def check_in_bundle(self, info: Info[Context, None]) -> CheckInBundleType:
        settings = info.context.runtime.settings
        return await devices.bundle(  # type: ignore[return-value]
            _device(info), settings.secret_key, _tolerance(info)
        )


@strawberry.type
class DeviceMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Register a device of the unit for offline check-in at some of its approved "
        "activities; its token is in the answer, once.",
    )
    async def create_check_in_device(
        self, info: Info[Context, None], input: CheckInDeviceInput
    ) -> CheckInDevicePayload:
        user, grants = await signed_in(info)

        async def create() -> tuple[CheckInDevice, str]:
            unit = parse_global_id(input.organization_id, "Organization", "organizationId")
            ids = [parse_global_id(a, "Activity", "activityIds") for a in input.activity_ids]
            return await devices.create_device(user, grants, unit, input.name, ids)

        done, errors = await attempt(EngagementError, create)
        if done is None:
            return CheckInDevicePayload(errors=errors)
        device, token = done
        return CheckInDevicePayload(device=device, token=token)  # type: ignore[arg-type]

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def revoke_check_in_device(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> CheckInDevicePayload:
        user, grants = await signed_in(info)

        async def revoke() -> CheckInDevice:
            pk = parse_global_id(id, "CheckInDevice", "id")
            return await devices.revoke_device(user, grants, pk)

        device, errors = await attempt(EngagementError, revoke)
        return CheckInDevicePayload(device=device, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        description="A check-in device's scans, uploaded when it has a network (with the "
        "device's token): each answered on its own; uploading them again changes nothing."
    )
    async def upload_check_ins(
        self,
        info: Info[Context, None],
        scans: list[ScanInput] | None = None,
        head_counts: list[HeadCountInput] | None = None,
        volunteer_scans: list[VolunteerScanInput] | None = None,
    ) -> UploadCheckInsPayload:
        device = _device(info)
        rt = info.context.runtime
        wanted = [_scan(s) for s in scans or []]
        tallies = [
            devices.Tally(_pk_or_zero(h.activity_id), h.count, h.counted_at, h.client_nonce)
            for h in head_counts or []
        ]
        serving = [
            volunteers.VolunteerScan(
                _pk_or_zero(v.activity_id), v.code, v.direction, v.scanned_at, v.client_nonce
            )
            for v in volunteer_scans or []
        ]
        secret = rt.settings.secret_key

        async def upload() -> tuple[list[devices.ScanResult], ...]:
            await devices.admit_upload(rt, device)
            scanned, counted = await devices.upload(
                rt.live, device, wanted, secret, _tolerance(info), tallies
            )
            served = await volunteers.device_scans(device, serving, secret, _tolerance(info))
            return scanned, counted, served

        done, errors = await attempt(EngagementError, upload)
        if done is None:
            return UploadCheckInsPayload(errors=errors)
        scanned, counted, served = done
        return UploadCheckInsPayload(
            results=[_uploaded(r) for r in scanned],
            head_counts=[_uploaded(r) for r in counted],
            volunteer_scans=[_uploaded(r) for r in served],
        )


@strawberry.type
class FraudQuery:
    @strawberry.field(
        description="Flagged engagement the caller reviews (national staff: all), oldest first."
    )
    async def engagement_flags(
        self,
        info: Info[Context, None],
        status: FlagStatus | None = FlagStatus.PENDING,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[EngagementFlagType]:
        _, grants = await signed_in(info)
        return await keyset_connection(fraud.queue(grants, status), first=first, after=after)


@strawberry.type
class FraudMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="A reviewer of the supervising unit confirms a flag as fraud (its "
        "engagement stays out of the counts) or dismisses it (it counts again); once.",
    )
    async def resolve_engagement_flag(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        fraud_confirmed: bool,
        note: str | None = None,
    ) -> EngagementFlagPayload:
        user, grants = await signed_in(info)
        rt = info.context.runtime

        async def decide() -> EngagementFlag:
            pk = parse_global_id(id, "EngagementFlag", "id")
            return await fraud.resolve(rt.live, user, grants, pk, fraud_confirmed, note)

        flag, errors = await attempt(EngagementError, decide)
        return EngagementFlagPayload(flag=flag, errors=errors)  # type: ignore[arg-type]
