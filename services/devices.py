"""Offline check-in at venues without a network (a science caravan's stop, a village school).

A unit's staff register a check-in device for some of their approved activities; its token is
shown once. The device downloads a bundle (the activities, their check-in windows, the public
key of personal check-in codes: services/checkin_codes.py), checks people's codes offline, and
uploads what it scanned when it has a network again. Each scan is answered on its own:
accepted, a duplicate (the same scan uploaded again, or a person who already checked in to that
activity that day, online or offline: they count once), or refused with a code (a forged code,
a scan outside the activity's window give or take the device clock's drift, an activity the
device is not registered for). An accepted scan is a check-in like any other, kept with its
device and the time it was scanned, and counted through the same counters.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tortoise import timezone
from tortoise.queryset import QuerySet

from infra import sql
from infra.clock import CHINA, now
from infra.errors import Collector, PermissionDenied, ServiceError
from models import Activity, CheckIn, CheckInDevice, HeadCount, User
from models.enums import ActivityStatus
from services import audit, checkin_codes
from services.activities import FILING_ROLES
from services.counters import Counters
from services.engagement import NewCheckIn, check_in_window, checked_in, insert_check_ins
from services.errors import EngagementErrorCode
from services.permissions import Grant
from services.rules import member_org_ids
from services.runtime import Runtime
from services.sessions import token_hash

TOKEN_PREFIX = "kpd_"  # noqa: S105 (a prefix, not a secret)
MAX_ACTIVITIES = 20
MAX_SCANS = 500
YIELD_EVERY = 100
NONCE_LENGTH = (8, 48)


def _own_unit(grants: list[Grant], organization_id: int) -> None:
    if organization_id not in member_org_ids(grants, FILING_ROLES):
        raise PermissionDenied("只有本单位的管理员和填报人可以管理打卡设备")


async def create_device(
    user: User,
    grants: list[Grant],
    organization_id: int,
    name: str,
    activity_ids: Sequence[int],
) -> tuple[CheckInDevice, str]:
    """A device of the unit for some of its approved activities, and its token (shown once)."""
    _own_unit(grants, organization_id)
    errors = Collector()
    name = (name or "").strip()
    if not 1 <= len(name) <= 50:
        errors.add(EngagementErrorCode.INVALID, "设备名称须为1至50个字符", "name")
    wanted = sorted(set(activity_ids))
    if not 1 <= len(wanted) <= MAX_ACTIVITIES:
        errors.add(EngagementErrorCode.INVALID, f"请选择1至{MAX_ACTIVITIES}个活动", "activityIds")
    errors.raise_if_any()
    found = await Activity.filter(
        id__in=wanted, organization_id=organization_id, deleted_at=None
    ).values_list("id", "status")
    if len(found) != len(wanted):
        raise ServiceError.of(EngagementErrorCode.NOT_FOUND, "活动不存在", "activityIds")
    if any(ActivityStatus(status) is not ActivityStatus.APPROVED for _, status in found):
        raise ServiceError.of(
            EngagementErrorCode.NOT_APPROVED, "只有审核通过的活动可以离线打卡", "activityIds"
        )
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    device = await CheckInDevice.create(
        organization_id=organization_id,
        name=name,
        token_hash=token_hash(token),
        activity_ids=wanted,
        created_by=user,
    )
    await audit.record("check_in_device_created", actor=user, target=device, activities=wanted)
    return device, token


async def revoke_device(user: User, grants: list[Grant], device_id: int) -> CheckInDevice:
    device = await CheckInDevice.get_or_none(id=device_id)
    if device is None or device.organization_id not in member_org_ids(grants, FILING_ROLES):
        raise ServiceError.of(EngagementErrorCode.NOT_FOUND, "设备不存在", "id")
    if device.revoked_at is None:
        device.revoked_at = now()
        await device.save(update_fields=["revoked_at"])
        await audit.record("check_in_device_revoked", actor=user, target=device)
    return device


async def devices_of(grants: list[Grant], organization_id: int) -> list[CheckInDevice]:
    _own_unit(grants, organization_id)
    return await CheckInDevice.filter(organization_id=organization_id).order_by("-id")


async def device_for(token: str) -> CheckInDevice | None:
    """The device a token belongs to (revoked ones too: they are told so)."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    return await CheckInDevice.get_or_none(token_hash=token_hash(token))


@dataclass(frozen=True)
class Bundle:
    device: CheckInDevice
    activities: list[Activity]
    public_key: bytes
    key_id: str
    tolerance: timedelta


async def bundle(device: CheckInDevice, secret: str, tolerance: timedelta) -> Bundle:
    """What a device needs to work offline."""
    require_usable(device)
    activities = await _public_activities(device).order_by("starts_at", "id")
    return Bundle(
        device=device,
        activities=activities,
        public_key=checkin_codes.public_key(secret),
        key_id=checkin_codes.key_id(secret),
        tolerance=tolerance,
    )


def _public_activities(device: CheckInDevice) -> QuerySet[Activity]:
    """The device's activities the public may still check in to."""
    return Activity.filter(
        id__in=device.activity_ids, status=ActivityStatus.APPROVED, deleted_at=None
    )


def require_usable(device: CheckInDevice) -> None:
    if device.revoked_at is not None:
        raise ServiceError.of(EngagementErrorCode.DEVICE_REVOKED, "该打卡设备已停用")


class ScanStatus(StrEnum):
    ACCEPTED = "ACCEPTED"
    DUPLICATE = "DUPLICATE"
    REFUSED = "REFUSED"


@dataclass(frozen=True)
class Scan:
    activity_id: int
    code: str
    scanned_at: datetime
    client_nonce: str


@dataclass(frozen=True)
class Tally:
    """A head count: visitors without an account the device counted (现场人数)."""

    activity_id: int
    count: int
    counted_at: datetime
    client_nonce: str


MAX_HEAD_COUNT = 100_000


@dataclass(frozen=True)
class ScanResult:
    client_nonce: str
    status: ScanStatus
    code: EngagementErrorCode | None = None
    message: str | None = None
    check_in: NewCheckIn | None = None


def _refused(scan: Scan, code: EngagementErrorCode, message: str) -> ScanResult:
    return ScanResult(scan.client_nonce, ScanStatus.REFUSED, code, message)


async def admit_upload(rt: Runtime, device: CheckInDevice) -> None:
    """A device uploads at most so many batches a minute (a stolen token cannot flood)."""
    await rt.limiter.consume_each(
        (rt.settings.rate_limit_device_upload, ("device-upload", str(device.id)))
    )


async def upload(
    counters: Counters,
    device: CheckInDevice,
    scans: Sequence[Scan],
    secret: str,
    tolerance: timedelta,
    tallies: Sequence[Tally] = (),
) -> tuple[list[ScanResult], list[ScanResult]]:
    """Record a batch of offline scans and head counts; one result for each, in order.
    Uploading the same batch again changes nothing."""
    require_usable(device)
    if len(scans) + len(tallies) > MAX_SCANS:
        raise ServiceError.of(
            EngagementErrorCode.INVALID, f"每次最多上传{MAX_SCANS}条记录", "scans"
        )
    activities = {a.id: a for a in await _public_activities(device)}
    moment = now()
    results: list[ScanResult | None] = []
    wanted: list[tuple[int, NewCheckIn]] = []  # the position of each scan to insert
    for n, scan in enumerate(scans, 1):
        result, row = _checked(scan, device, activities, secret, tolerance, moment)
        if n % YIELD_EVERY == 0:  # a batch never holds the loop long from online requests
            await asyncio.sleep(0)
        results.append(result)
        if row is not None:
            wanted.append((len(results) - 1, row))
    users = set(
        await User.filter(id__in={r.user_id for _, r in wanted}).values_list("id", flat=True)
    )
    kept = []
    for position, row in wanted:
        if row.user_id in users:
            kept.append((position, row))
        else:
            results[position] = _refused(
                scans[position], EngagementErrorCode.FORGED_CODE, "打卡码所属账号不存在"
            )
    inserted = await insert_check_ins([row for _, row in kept]) if kept else []
    for (position, _), done in zip(kept, inserted, strict=True):
        scan = scans[position]
        if isinstance(done, NewCheckIn):
            results[position] = ScanResult(scan.client_nonce, ScanStatus.ACCEPTED, check_in=done)
        elif done is None:  # this scan before, or the person's check-in of that day
            results[position] = ScanResult(scan.client_nonce, ScanStatus.DUPLICATE)
        else:  # the activity or the person went away meanwhile
            results[position] = _refused(scan, EngagementErrorCode.NOT_FOUND, "活动或账号不存在")
    counted = await _tallies(counters, device, tallies, activities, tolerance, moment)
    accepted = [r.check_in for r in results if r is not None and r.check_in is not None]
    await counters.record_all(CheckIn, accepted)
    await checked_in([(row.user_id, activities[row.activity_id], row.day) for row in accepted])
    device.last_upload_at = moment
    await device.save(update_fields=["last_upload_at"])
    return [r for r in results if r is not None], counted


def in_window(
    activity: Activity, at: datetime, tolerance: timedelta, moment: datetime
) -> str | None:
    """Why a device's time `at` (of a scan, of a head count) is refused for an activity, or
    None: it must lie in the activity's check-in window, and not after `moment` (now), give or
    take the device clock's `tolerance`."""
    opens, closes = check_in_window(activity)
    if at.tzinfo is None or not (opens - tolerance <= at <= closes + tolerance):
        return "时间不在活动打卡时间内"
    if at > moment + tolerance:
        return "时间晚于现在"
    return None


async def _tallies(
    counters: Counters,
    device: CheckInDevice,
    tallies: Sequence[Tally],
    activities: dict[int, Activity],
    tolerance: timedelta,
    moment: datetime,
) -> list[ScanResult]:
    results: list[ScanResult] = []
    wanted: list[tuple[int, HeadCount]] = []
    for tally in tallies:
        nonce = (tally.client_nonce or "").strip()
        activity = activities.get(tally.activity_id)
        refusal: tuple[EngagementErrorCode, str] | None = None
        if not NONCE_LENGTH[0] <= len(nonce) <= NONCE_LENGTH[1]:
            refusal = (EngagementErrorCode.INVALID, "clientNonce 须为8至48个字符")
        elif not 1 <= tally.count <= MAX_HEAD_COUNT:
            refusal = (EngagementErrorCode.INVALID, f"人数须为1至{MAX_HEAD_COUNT}")
        elif activity is None:
            refusal = (EngagementErrorCode.NOT_ON_DEVICE, "该设备未登记此活动，或活动已不公开")
        elif why := in_window(activity, tally.counted_at, tolerance, moment):
            refusal = (EngagementErrorCode.OUTSIDE_WINDOW, why)
        if refusal is not None:
            results.append(ScanResult(tally.client_nonce, ScanStatus.REFUSED, *refusal))
            continue
        results.append(ScanResult(nonce, ScanStatus.DUPLICATE))
        wanted.append(
            (
                len(results) - 1,
                HeadCount(
                    activity_id=tally.activity_id,
                    device_id=device.id,
                    count=tally.count,
                    counted_at=tally.counted_at,
                    client_nonce=nonce,
                    created_at=timezone.now(),
                ),
            )
        )
    if not wanted:
        return results
    stamp = HeadCount._meta.fields_map["created_at"].to_db_value
    inserted = await sql.insert_new(
        HeadCount._meta.db_table,
        ("activity_id", "device_id", "count", "counted_at", "client_nonce", "created_at"),
        [
            (
                h.activity_id,
                h.device_id,
                h.count,
                stamp(h.counted_at, h),
                h.client_nonce,
                stamp(h.created_at, h),
            )
            for _, h in wanted
        ],
        returning=("id", "client_nonce"),
    )
    ids = {row["client_nonce"]: row["id"] for row in inserted}
    new = []
    for position, row in wanted:
        if row.client_nonce in ids:  # else: uploaded before
            row.id = ids.pop(row.client_nonce)
            results[position] = ScanResult(row.client_nonce, ScanStatus.ACCEPTED)
            new.append(row)
    await counters.record_all(HeadCount, new)
    return results


def _checked(
    scan: Scan,
    device: CheckInDevice,
    activities: dict[int, Activity],
    secret: str,
    tolerance: timedelta,
    moment: datetime,
) -> tuple[ScanResult | None, NewCheckIn | None]:
    """A scan's refusal, or the check-in it would be."""
    nonce = (scan.client_nonce or "").strip()
    if not NONCE_LENGTH[0] <= len(nonce) <= NONCE_LENGTH[1]:
        return _refused(scan, EngagementErrorCode.INVALID, "clientNonce 须为8至48个字符"), None
    activity = activities.get(scan.activity_id)
    if activity is None:
        return _refused(
            scan, EngagementErrorCode.NOT_ON_DEVICE, "该设备未登记此活动，或活动已不公开"
        ), None
    content = checkin_codes.check(scan.code, secret)
    if content is None:
        return _refused(scan, EngagementErrorCode.FORGED_CODE, "打卡码无效"), None
    scanned = scan.scanned_at
    if why := in_window(activity, scanned, tolerance, moment):
        return _refused(scan, EngagementErrorCode.OUTSIDE_WINDOW, "扫码" + why), None
    days = {(scanned + shift).astimezone(CHINA).date() for shift in (-tolerance, tolerance)}
    if content.day not in days:  # yesterday's code (a screenshot kept)
        return _refused(scan, EngagementErrorCode.FORGED_CODE, "打卡码已过期"), None
    row = NewCheckIn(
        activity_id=activity.id,
        user_id=content.user_id,
        day=scanned.astimezone(CHINA).date(),
        client_nonce=f"d{device.id}:{nonce}",
        created_at=scanned,
        device_id=device.id,
    )
    return None, row
