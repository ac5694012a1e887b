"""Science volunteers (科技志愿者): who served at an activity, and for how long.

A unit's filers register volunteers at its activities by phone: a person with an account is told
in the app, a phone without one gets an SMS invitation, and its registration waits for the
person's account (`of_person` finds it by the phone until the person first acts on it, which
binds it to the account). Nobody is a volunteer without their say: the person confirms or
declines, and checking in as the volunteer confirms. Only confirmed volunteers' hours count, in
`volunteerHours` and in the evaluation, so a unit cannot make up volunteers.

Time on duty is taken by checking in and out on the activity's page, or by the unit's check-in
device scanning the volunteer's personal code (its nonces make an upload safe to repeat). One
shift is open at a time (`Volunteer.on_duty_since`, set and cleared by conditional UPDATEs).
The hours credited are the shifts' time within the activity's own time, never more than the
activity lasts; the unit may instead record the hours afterwards (a volunteer who could not
check in), up to the activity's summary deadline, with a reason: each record or correction is
kept (`VolunteerCorrection`) and audited, and the unit's figure then stands. Nobody records
their own hours.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from infra import jobs
from infra.clock import local_date, now
from infra.errors import Collector, PermissionDenied, ServiceError
from infra.sms import SmsError
from models import (
    Activity,
    CheckInDevice,
    Organization,
    User,
    Volunteer,
    VolunteerCorrection,
    VolunteerShift,
)
from models.enums import (
    ActivityStatus,
    DeliveryStatus,
    NotificationKind,
    Phase,
    ShiftSource,
    VolunteerStatus,
)
from services import audit, checkin_codes, notifications
from services.activities import FILING_ROLES
from services.campaigns import campaign_for, windows_for
from services.devices import NONCE_LENGTH, ScanResult, ScanStatus, in_window, require_usable
from services.engagement import check_in_window
from services.errors import EngagementErrorCode, VolunteerErrorCode
from services.events import later, transaction
from services.permissions import Grant
from services.regions import get_region
from services.rules import can_view_private, member_org_ids
from services.runtime import Runtime
from services.validation import check_mobile, check_text

MAX_PER_ACTIVITY = 2000
MAX_NOTE = 500
MAX_DEVICE_SCANS = 100  # a device's volunteer scans per upload
COUNTED = VolunteerStatus.CONFIRMED  # whose hours count


def _missing(field: str = "id") -> ServiceError:
    return ServiceError.of(VolunteerErrorCode.NOT_FOUND, "志愿者登记不存在", field)


def duration_minutes(activity: Activity) -> int:
    """The most a volunteer can be credited at an activity: as long as it lasts."""
    return max(0, int((activity.ends_at - activity.starts_at).total_seconds() // 60))


def _hours(minutes: int) -> str:
    return f"{minutes / 60:g}"


# ---------------------------------------------------------------- registering


async def register(
    rt: Runtime, user: User, grants: list[Grant], activity_id: int, phone: str, name: str
) -> Volunteer:
    """Register a volunteer at one of the unit's activities (its filers and admins). The same
    phone again answers the registration there. The answer is the same whether the phone has an
    account or not."""
    activity = await Activity.get_or_none(id=activity_id, deleted_at=None)
    if activity is None or activity.organization_id not in member_org_ids(grants, FILING_ROLES):
        raise ServiceError.of(VolunteerErrorCode.NOT_FOUND, "活动不存在", "activityId")
    errors = Collector()
    phone = check_mobile(errors, phone)
    name = check_text(errors, name, "name", "志愿者姓名", max_length=50)
    errors.raise_if_any()
    existing = await Volunteer.get_or_none(activity_id=activity.id, phone=phone)
    if existing is not None:
        return existing
    if await Volunteer.filter(activity_id=activity.id).count() >= MAX_PER_ACTIVITY:
        raise ServiceError.of(
            VolunteerErrorCode.TOO_MANY_VOLUNTEERS,
            f"每个活动最多登记{MAX_PER_ACTIVITY}名志愿者",
            "phone",
        )
    # each registration may send an SMS to a stranger's phone: a unit's are counted
    await rt.limiter.consume(
        rt.settings.rate_limit_volunteer_invite, "volunteer-invite", str(activity.organization_id)
    )
    person = await User.get_or_none(phone=phone)
    try:
        async with transaction():
            volunteer = await Volunteer.create(
                activity_id=activity.id,
                user_id=person.id if person else None,
                phone=phone,
                name=name,
                registered_by_id=user.id,
                invite_sms=DeliveryStatus.SKIPPED if person else DeliveryStatus.PENDING,
            )
            await audit.record("volunteer_registered", actor=user, target=volunteer)
            if person is not None:
                await _invite_notice(volunteer, activity)
            else:
                await later(lambda: _queue_invite_sms(volunteer.id))
    except IntegrityError:  # the same phone registered at once by two filers: answer the other
        return await Volunteer.get(activity_id=activity.id, phone=phone)
    return volunteer


async def _invitation(activity: Activity) -> tuple[str, str]:
    organization = await Organization.get(id=activity.organization_id)
    return notifications.render(
        NotificationKind.VOLUNTEER_INVITED,
        organization=organization.name,
        title=activity.title,
        when=local_date(activity.starts_at),
    )


async def _invite_notice(volunteer: Volunteer, activity: Activity) -> None:
    assert volunteer.user_id is not None
    title, body = await _invitation(activity)
    await notifications.notify(
        [volunteer.user_id],
        NotificationKind.VOLUNTEER_INVITED,
        f"volunteer-invited:{volunteer.id}",
        title,
        body,
    )


async def _queue_invite_sms(volunteer_id: int) -> None:
    await jobs.enqueue("invite_volunteer", volunteer_id, job_id=f"invite_volunteer:{volunteer_id}")


async def send_invitation(rt: Runtime, volunteer_id: int, *, final_try: bool) -> bool:
    """The SMS invitation of a phone without an account (the job; sent once: claimed before
    sending). False when it failed and should be tried again."""
    claimed = await Volunteer.filter(id=volunteer_id, invite_sms=DeliveryStatus.PENDING).update(
        invite_sms=DeliveryStatus.SENDING
    )
    if not claimed:
        return True
    volunteer = await Volunteer.get(id=volunteer_id)
    activity = await Activity.get(id=volunteer.activity_id)
    title, _ = await _invitation(activity)
    text = f"【全国科普日】{title}。注册全国科普日活动平台账号（本手机号）后即可确认。"
    try:
        await rt.sms.send(volunteer.phone, text)
    except SmsError:
        failed = DeliveryStatus.FAILED if final_try else DeliveryStatus.PENDING
        await Volunteer.filter(id=volunteer_id).update(invite_sms=failed)
        return False
    await Volunteer.filter(id=volunteer_id).update(invite_sms=DeliveryStatus.SENT)
    return True


# ---------------------------------------------------------------- the volunteer's own


def of_person(user: User) -> Q:
    """A person's registrations: bound to their account, or made for their phone before it had
    one (not yet bound)."""
    return of_account(user.id, user.phone)


def of_account(user_id: int, phone: str) -> Q:
    return Q(user_id=user_id) | Q(phone=phone, user_id=None)


def is_persons(volunteer: Volunteer, user: User) -> bool:
    """`of_person` for a registration at hand."""
    return volunteer.user_id == user.id or (
        volunteer.user_id is None and volunteer.phone == user.phone
    )


async def _bind(volunteer: Volunteer, user: User) -> None:
    if volunteer.user_id is None:
        await Volunteer.filter(id=volunteer.id, user_id=None).update(user_id=user.id)
        volunteer.user_id = user.id


async def _acting(volunteer: Volunteer, user: User, by: str) -> None:
    """The person acts on their registration (checks in or out, on the page or at a device):
    it becomes theirs, and acting on an invitation says yes to it."""
    await _bind(volunteer, user)
    if volunteer.status is VolunteerStatus.INVITED:
        await Volunteer.filter(id=volunteer.id, status=VolunteerStatus.INVITED).update(
            status=VolunteerStatus.CONFIRMED
        )
        await audit.record("volunteer_confirmed", actor=user, target=volunteer, by=by)


async def answer(user: User, volunteer_id: int, accept: bool) -> Volunteer:
    """The person confirms or declines a registration, once."""
    volunteer = await Volunteer.filter(of_person(user), id=volunteer_id).first()
    if volunteer is None:
        raise _missing()
    await _bind(volunteer, user)
    status = VolunteerStatus.CONFIRMED if accept else VolunteerStatus.DECLINED
    done = await Volunteer.filter(id=volunteer.id, status=VolunteerStatus.INVITED).update(
        status=status
    )
    if not done:
        raise ServiceError.of(VolunteerErrorCode.ALREADY_ANSWERED, "已答复过该邀请", "id")
    await audit.record(
        "volunteer_confirmed" if accept else "volunteer_declined", actor=user, target=volunteer
    )
    await volunteer.refresh_from_db()
    return volunteer


async def _serving(user: User, activity_id: int) -> tuple[Volunteer, Activity]:
    """The person's registration at an approved activity, confirmed by acting on it."""
    activity = await Activity.get_or_none(
        id=activity_id, status=ActivityStatus.APPROVED, deleted_at=None
    )
    volunteer = (
        await Volunteer.filter(of_person(user), activity_id=activity_id).first()
        if activity is not None
        else None
    )
    if activity is None or volunteer is None:
        raise ServiceError.of(
            VolunteerErrorCode.NOT_VOLUNTEER, "您不是该活动登记的志愿者", "activityId"
        )
    if volunteer.status is VolunteerStatus.DECLINED:
        raise ServiceError.of(
            VolunteerErrorCode.DECLINED, "您已谢绝担任该活动的志愿者", "activityId"
        )
    await _acting(volunteer, user, "check_in")
    return volunteer, activity


def _on_time(activity: Activity, at: datetime) -> bool:
    opens, closes = check_in_window(activity)
    return opens <= at <= closes


async def start(user: User, activity_id: int) -> Volunteer:
    """Check in as the activity's volunteer, on its page, while it runs."""
    volunteer, activity = await _serving(user, activity_id)
    moment = now()
    if not _on_time(activity, moment):
        raise ServiceError.of(
            VolunteerErrorCode.OUTSIDE_WINDOW, "不在活动时间内，不能签到", "activityId"
        )
    if not await _open(volunteer, moment, ShiftSource.PAGE):
        raise ServiceError.of(VolunteerErrorCode.ALREADY_ON_DUTY, "您已签到，请勿重复签到")
    await volunteer.refresh_from_db()
    return volunteer


async def finish(user: User, activity_id: int) -> Volunteer:
    """Check out: the shift's time within the activity is credited."""
    volunteer, activity = await _serving(user, activity_id)
    if not await _close(volunteer, activity, now()):
        raise ServiceError.of(VolunteerErrorCode.NOT_ON_DUTY, "您尚未签到，不能签退")
    await volunteer.refresh_from_db()
    return volunteer


async def _open(
    volunteer: Volunteer,
    at: datetime,
    source: ShiftSource,
    device_id: int | None = None,
    nonce: str | None = None,
) -> bool:
    """Begin a shift at `at`, unless one is open."""
    async with transaction():
        opened = await Volunteer.filter(id=volunteer.id, on_duty_since=None).update(
            on_duty_since=at
        )
        if opened:
            await VolunteerShift.create(
                volunteer_id=volunteer.id,
                started_at=at,
                source=source,
                device_id=device_id,
                start_nonce=nonce,
            )
    return bool(opened)


async def _close(
    volunteer: Volunteer, activity: Activity, at: datetime, nonce: str | None = None
) -> bool:
    """End the open shift at `at` (not before it began) and credit it."""
    async with transaction():
        shift = (
            await VolunteerShift.filter(volunteer_id=volunteer.id, ended_at=None)
            .order_by("-started_at")
            .first()
        )
        closed = shift is not None and await Volunteer.filter(
            id=volunteer.id, on_duty_since__isnull=False
        ).update(on_duty_since=None)
        if not closed or shift is None:
            return False
        await VolunteerShift.filter(id=shift.id).update(
            ended_at=max(at, shift.started_at), end_nonce=nonce
        )
        await _credit(volunteer.id, activity)
    return True


def _credited(shifts: Sequence[VolunteerShift], activity: Activity) -> int:
    """The minutes (to the nearest) of closed shifts within the activity's time, at most its
    duration."""
    seconds = 0.0
    for shift in shifts:
        if shift.ended_at is None:
            continue
        begin = max(shift.started_at, activity.starts_at)
        end = min(shift.ended_at, activity.ends_at)
        seconds += max(0.0, (end - begin).total_seconds())
    return min(round(seconds / 60), duration_minutes(activity))


async def _credit(volunteer_id: int, activity: Activity) -> None:
    """Credit the shifts, unless the unit recorded the hours (its figure stands)."""
    shifts = await VolunteerShift.filter(volunteer_id=volunteer_id)
    await Volunteer.filter(id=volunteer_id, recorded_minutes=None).update(
        minutes=_credited(shifts, activity)
    )


# ---------------------------------------------------------------- the unit's record


async def record_hours(
    user: User, grants: list[Grant], volunteer_id: int, hours: float, note: str
) -> Volunteer:
    """The unit records (or corrects) a volunteer's hours after the activity began, until its
    summary deadline, with a reason; never more than the activity lasts, never one's own."""
    volunteer = await Volunteer.get_or_none(id=volunteer_id)
    activity = (
        await Activity.get_or_none(id=volunteer.activity_id, deleted_at=None)
        if volunteer is not None
        else None
    )
    if (
        volunteer is None
        or activity is None
        or activity.organization_id not in member_org_ids(grants, FILING_ROLES)
    ):
        raise _missing()
    if volunteer.user_id == user.id or volunteer.phone == user.phone:
        raise ServiceError.of(VolunteerErrorCode.OWN_HOURS, "不能为自己记录志愿服务时长", "id")
    errors = Collector()
    cap = duration_minutes(activity)
    minutes = round(hours * 60) if math.isfinite(hours) and abs(hours) < 1e6 else -1
    if minutes < 0:
        errors.add(VolunteerErrorCode.INVALID, "时长须为不小于0的小时数", "hours")
    elif minutes > cap:
        errors.add(
            VolunteerErrorCode.HOURS_OVER_DURATION,
            f"志愿服务时长不能超过活动时长（{_hours(cap)}小时）",
            "hours",
        )
    reason = check_text(errors, note, "note", "记录说明", max_length=MAX_NOTE, multiline=True)
    errors.raise_if_any()
    if activity.status is not ActivityStatus.APPROVED:
        raise ServiceError.of(
            VolunteerErrorCode.NOT_APPROVED, "活动审核通过后才能记录志愿服务时长", "id"
        )
    moment = now()
    if moment < activity.starts_at:
        raise ServiceError.of(
            VolunteerErrorCode.NOT_STARTED, "活动开始后才能记录志愿服务时长", "id"
        )
    window = (await windows_for(activity.campaign_id, await get_region(activity.region_id))).get(
        Phase.SUMMARY
    )
    if window is not None and moment > window.closes_at:
        raise ServiceError.of(
            VolunteerErrorCode.DEADLINE_PASSED,
            f"志愿服务时长须在活动总结截止前记录（已于{local_date(window.closes_at)}截止）",
            "id",
        )
    async with transaction():
        current = await Volunteer.select_for_update().get(id=volunteer.id)
        await Volunteer.filter(id=volunteer.id).update(minutes=minutes, recorded_minutes=minutes)
        await VolunteerCorrection.create(
            volunteer_id=volunteer.id,
            recorded_by_id=user.id,
            minutes_before=current.minutes,
            minutes_after=minutes,
            note=reason,
        )
        await audit.record(
            "volunteer_hours_recorded",
            actor=user,
            target=volunteer,
            minutes_before=current.minutes,
            minutes_after=minutes,
            note=reason,
        )
    await volunteer.refresh_from_db()
    return volunteer


# ---------------------------------------------------------------- reading


def sees_hours(grants: list[Grant], organization: Organization) -> bool:
    """Who sees a unit's volunteers and their hours: its members, the associations over it and
    national staff (as its contact details)."""
    return can_view_private(grants, organization)


async def sees_volunteer(user: User | None, grants: list[Grant], volunteer: Volunteer) -> bool:
    """The volunteer themselves, and whoever sees the hours of the activity's unit."""
    if user is not None and is_persons(volunteer, user):
        return True
    activity = await Activity.get_or_none(id=volunteer.activity_id, deleted_at=None)
    if activity is None:
        return False
    return sees_hours(grants, await Organization.get(id=activity.organization_id))


def counted_service(records: QuerySet[Volunteer]) -> QuerySet[Volunteer]:
    """What of volunteer records counts (in `volunteerHours` and the evaluation): confirmed
    volunteers' hours. Per group: the people, each once (`people`), their minutes (`served`)
    and the activities they served at (`activities`)."""
    return records.filter(status=COUNTED, minutes__gt=0).annotate(
        people=Count("phone", distinct=True),
        served=Sum("minutes"),
        activities=Count("activity_id", distinct=True),
    )


@dataclass(frozen=True)
class UnitHours:
    organization: Organization
    year: int
    volunteers: int  # confirmed people with hours (by phone, each once)
    minutes: int  # confirmed volunteers' hours
    activities: int  # activities with confirmed volunteers' hours
    unconfirmed_minutes: int  # hours of volunteers who have not confirmed (not counted)
    records: QuerySet[Volunteer]


async def unit_hours(grants: list[Grant], organization_id: int, year: int) -> UnitHours:
    """A unit's volunteers and hours in a year's campaign: for those who see them."""
    organization = await Organization.get_or_none(id=organization_id)
    if organization is None:
        raise ServiceError.of(VolunteerErrorCode.NOT_FOUND, "单位不存在", "organizationId")
    if not sees_hours(grants, organization):
        raise PermissionDenied("只有本单位及其上级科协可以查看志愿服务时长")
    campaign = await campaign_for(year)
    records = Volunteer.filter(
        activity__organization_id=organization.id,
        activity__campaign_id=campaign.id,
        activity__deleted_at=None,
    )
    unit = "activity__organization_id"  # one group: the sums over the unit
    counted = (
        await counted_service(records)
        .group_by(unit)
        .first()
        .values("people", "served", "activities")
    )
    pending = (
        await records.filter(status=VolunteerStatus.INVITED)
        .annotate(served=Sum("minutes"))
        .group_by(unit)
        .first()
        .values("served")
    )
    return UnitHours(
        organization,
        year,
        int((counted or {}).get("people") or 0),
        int((counted or {}).get("served") or 0),
        int((counted or {}).get("activities") or 0),
        int((pending or {}).get("served") or 0),
        records,
    )


@dataclass(frozen=True)
class YearOfService:
    year: int
    minutes: int  # confirmed
    records: list[Volunteer]  # with `_activity` joined in, soonest first


async def volunteering(user: User) -> list[YearOfService]:
    """A person's registrations by campaign year, newest year first, with the hours counted."""
    records = (
        await Volunteer.filter(of_person(user), activity__deleted_at=None)
        .select_related("activity__campaign")
        .order_by("activity__starts_at", "id")
    )
    years: dict[int, list[Volunteer]] = defaultdict(list)
    for record in records:
        years[record.activity.campaign.year].append(record)
    return [
        YearOfService(
            year,
            sum(r.minutes for r in found if r.status is COUNTED),
            found,
        )
        for year, found in sorted(years.items(), reverse=True)
    ]


async def record_of_year(user: User, year: int) -> YearOfService:
    """The person's confirmed service in a year: what their PDF record shows."""
    for found in await volunteering(user):
        if found.year == year:
            kept = [r for r in found.records if r.status is COUNTED and r.minutes > 0]
            return YearOfService(year, found.minutes, kept)
    return YearOfService(year, 0, [])


# ---------------------------------------------------------------- a venue device's scans


class Direction(StrEnum):
    IN = "IN"
    OUT = "OUT"


@dataclass(frozen=True)
class VolunteerScan:
    """A device's scan of a volunteer's personal code, checking them in or out."""

    activity_id: int
    code: str
    direction: Direction
    scanned_at: datetime
    client_nonce: str


async def device_scans(
    device: CheckInDevice, scans: Sequence[VolunteerScan], secret: str, tolerance: timedelta
) -> list[ScanResult]:
    """Record a device's volunteer scans, in the order they were scanned; one result each.
    Uploading them again changes nothing."""
    require_usable(device)
    if len(scans) > MAX_DEVICE_SCANS:
        raise ServiceError.of(
            EngagementErrorCode.INVALID,
            f"每次最多上传{MAX_DEVICE_SCANS}条志愿者签到签退记录",
            "volunteerScans",
        )
    moment = now()
    activities = {
        a.id: a
        for a in await Activity.filter(
            id__in=[s.activity_id for s in scans if s.activity_id in device.activity_ids],
            status=ActivityStatus.APPROVED,
            deleted_at=None,
        )
    }
    results: dict[int, ScanResult] = {}
    for n in sorted(range(len(scans)), key=lambda n: scans[n].scanned_at.timestamp()):
        scan = scans[n]
        try:
            results[n] = await _device_scan(device, scan, activities, secret, tolerance, moment)
        except IntegrityError:  # the same scan in two uploads at once: the other took it
            results[n] = ScanResult(scan.client_nonce, ScanStatus.DUPLICATE)
    return [results[n] for n in range(len(scans))]


async def _device_scan(
    device: CheckInDevice,
    scan: VolunteerScan,
    activities: dict[int, Activity],
    secret: str,
    tolerance: timedelta,
    moment: datetime,
) -> ScanResult:
    def refused(code: EngagementErrorCode, message: str) -> ScanResult:
        return ScanResult(scan.client_nonce, ScanStatus.REFUSED, code, message)

    nonce = (scan.client_nonce or "").strip()
    if not NONCE_LENGTH[0] <= len(nonce) <= NONCE_LENGTH[1]:
        return refused(EngagementErrorCode.INVALID, "clientNonce 须为8至48个字符")
    activity = activities.get(scan.activity_id)
    if activity is None:
        return refused(EngagementErrorCode.NOT_ON_DEVICE, "该设备未登记此活动，或活动未通过审核")
    content = checkin_codes.check(scan.code, secret)
    if content is None:
        return refused(EngagementErrorCode.FORGED_CODE, "打卡码无效")
    if why := in_window(activity, scan.scanned_at, tolerance, moment):
        return refused(EngagementErrorCode.OUTSIDE_WINDOW, why)
    person = await User.get_or_none(id=content.user_id)
    volunteer = (
        await Volunteer.filter(of_person(person), activity_id=activity.id).first()
        if person is not None
        else None
    )
    if person is None or volunteer is None or volunteer.status is VolunteerStatus.DECLINED:
        return refused(EngagementErrorCode.NOT_VOLUNTEER, "此人不是该活动登记的志愿者")
    seen = "start_nonce" if scan.direction is Direction.IN else "end_nonce"
    if await VolunteerShift.filter(volunteer_id=volunteer.id, **{seen: nonce}).exists():
        return ScanResult(nonce, ScanStatus.DUPLICATE)
    await _acting(volunteer, person, "device")
    if scan.direction is Direction.IN:
        done = await _open(volunteer, scan.scanned_at, ShiftSource.DEVICE, device.id, nonce)
    else:
        done = await _close(volunteer, activity, scan.scanned_at, nonce)
    if not done:  # in while on duty, out while off duty: the scan says nothing new
        return ScanResult(nonce, ScanStatus.DUPLICATE)
    return ScanResult(nonce, ScanStatus.ACCEPTED)
