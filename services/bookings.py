"""Booking (预约) with capacity and a waiting list.

A unit makes an activity need booking, in one or more time slots with their places. A person
books a slot once: a place if one is free, else the waiting list. Places are counted on the slot
(`booked`) by a conditional UPDATE that only succeeds below `capacity`, so no concurrency can
give more places than there are. A place given back (a cancellation, an offer not taken) is not
freed but offered to the first on the waiting list, who has BOOKING_OFFER_HOURS to take it (by
booking again); an offer not taken passes on (the cron job), and a place nobody waits for is
freed. Cancelling is refused once the slot has begun. A check-in at the activity marks the
booking attended; after the end, a booking never attended is a no-show. People with a place are
reminded the day before, once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.queryset import QuerySet

from infra.clock import CHINA, now, today
from infra.errors import Collector, ServiceError
from models import Activity, Booking, BookingSlot, User
from models.enums import BookingStatus, MemberRole, NotificationKind
from services import audit, notifications
from services.errors import EngagementErrorCode
from services.events import transaction
from services.permissions import Grant
from services.rules import can_view, is_insider, is_public, member_org_ids

MAX_SLOTS = 20
MAX_CAPACITY = 100_000
HOLDING = (BookingStatus.BOOKED, BookingStatus.OFFERED)  # statuses that hold a place


@dataclass(frozen=True)
class SlotForm:
    starts_at: datetime
    ends_at: datetime
    capacity: int


def _missing() -> ServiceError:
    return ServiceError.of(EngagementErrorCode.NOT_FOUND, "活动不存在", "activityId")


async def configure(
    user: User, grants: list[Grant], activity_id: int, slots: Sequence[SlotForm]
) -> list[BookingSlot]:
    """Make an activity need booking in these slots (none: no booking). Its unit's members
    only; not once anybody booked."""
    activity = await Activity.get_or_none(id=activity_id, deleted_at=None)
    filing = member_org_ids(grants, (MemberRole.FILER, MemberRole.ADMIN))
    if activity is None or activity.organization_id not in filing:
        raise _missing()
    errors = Collector()
    if len(slots) > MAX_SLOTS:
        errors.add(EngagementErrorCode.INVALID, f"最多{MAX_SLOTS}个预约时段", "slots")
    for slot in slots:
        if not 1 <= slot.capacity <= MAX_CAPACITY:
            errors.add(EngagementErrorCode.INVALID, "名额须为1至10万", "slots")
        if not activity.starts_at <= slot.starts_at < slot.ends_at <= activity.ends_at:
            errors.add(EngagementErrorCode.INVALID, "预约时段须在活动时间之内", "slots")
    errors.raise_if_any()
    if await Booking.filter(activity_id=activity.id).exists():
        raise ServiceError.of(
            EngagementErrorCode.BOOKINGS_EXIST, "已有公众预约，不能再修改预约设置", "slots"
        )
    async with transaction():
        await BookingSlot.filter(activity_id=activity.id).delete()
        made = [
            await BookingSlot.create(
                activity=activity, starts_at=s.starts_at, ends_at=s.ends_at, capacity=s.capacity
            )
            for s in sorted(slots, key=lambda s: s.starts_at)
        ]
        await Activity.filter(id=activity.id).update(booking_required=bool(made))
        await audit.record(
            "booking_configured",
            actor=user,
            target=activity,
            slots=len(made),
            places=sum(s.capacity for s in made),
        )
    return made


async def slots_of(activity_ids: Sequence[int]) -> dict[int, list[BookingSlot]]:
    found: dict[int, list[BookingSlot]] = {pk: [] for pk in activity_ids}
    for slot in await BookingSlot.filter(activity_id__in=activity_ids).order_by("starts_at"):
        found[slot.activity_id].append(slot)
    return found


async def _slot(activity_id: int, slot_id: int | None) -> BookingSlot:
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None or not is_public(activity):
        raise _missing()
    if not activity.booking_required:
        raise ServiceError.of(
            EngagementErrorCode.BOOKING_NOT_REQUIRED, "该活动无需预约", "activityId"
        )
    slots = (await slots_of([activity.id]))[activity.id]
    if slot_id is None and len(slots) == 1:
        return slots[0]
    chosen = next((s for s in slots if s.id == slot_id), None)
    if chosen is None:
        raise ServiceError.of(EngagementErrorCode.INVALID, "请选择预约时段", "slotId")
    return chosen


async def book(user: User, activity_id: int, slot_id: int | None = None) -> Booking:
    """A place in the slot if one is free, else the waiting list; taking a place offered;
    once per person and slot (booking again answers the booking there)."""
    slot = await _slot(activity_id, slot_id)
    moment = now()
    if moment >= slot.starts_at:
        raise ServiceError.of(
            EngagementErrorCode.BOOKING_CLOSED, "该时段已开始，不能预约", "slotId"
        )
    for _ in range(3):
        booking = await Booking.get_or_none(slot_id=slot.id, user_id=user.id)
        if booking is not None and booking.status in (BookingStatus.BOOKED, BookingStatus.WAITING):
            return booking
        if booking is not None and booking.status is BookingStatus.OFFERED:
            taken = await Booking.filter(
                id=booking.id, status=BookingStatus.OFFERED, offered_until__gte=moment
            ).update(status=BookingStatus.BOOKED, offered_until=None)
            if taken:
                await booking.refresh_from_db()
                return booking
            continue  # the offer lapsed meanwhile: it is passed on; book afresh
        try:
            return await _take(slot, user, booking, moment)
        except IntegrityError:  # the same person booking twice at once: answer the other
            continue
    raise ServiceError.of(EngagementErrorCode.INVALID, "预约冲突，请重试", "slotId")


async def _take(
    slot: BookingSlot, user: User, booking: Booking | None, moment: datetime
) -> Booking:
    async with transaction():
        took = await BookingSlot.filter(id=slot.id, booked__lt=F("capacity")).update(
            booked=F("booked") + 1
        )
        status = BookingStatus.BOOKED if took else BookingStatus.WAITING
        if booking is None:
            return await Booking.create(
                slot_id=slot.id,
                activity_id=slot.activity_id,
                user_id=user.id,
                status=status,
                queued_at=moment,
            )
        again = await Booking.filter(
            id=booking.id, status__in=[BookingStatus.CANCELLED, BookingStatus.EXPIRED]
        ).update(status=status, queued_at=moment, offered_until=None, attended_at=None)
        if not again:
            raise IntegrityError("booked again meanwhile")
    await booking.refresh_from_db()
    return booking


async def cancel(user: User, booking_id: int, offer_hours: int) -> Booking:
    """Give a booking up (a place, a place offered, or a place on the list) before its slot
    begins; a place goes to the next on the list."""
    booking = await Booking.get_or_none(id=booking_id, user_id=user.id)
    if booking is None:
        raise ServiceError.of(EngagementErrorCode.NOT_FOUND, "预约不存在", "id")
    slot = await BookingSlot.get(id=booking.slot_id)
    if now() >= slot.starts_at:
        raise ServiceError.of(EngagementErrorCode.BOOKING_CLOSED, "活动已开始，不能取消预约", "id")
    was = booking.status
    if was not in (*HOLDING, BookingStatus.WAITING):
        raise ServiceError.of(EngagementErrorCode.ALREADY_CANCELLED, "该预约已取消", "id")
    async with transaction():
        done = await Booking.filter(id=booking.id, status=was).update(
            status=BookingStatus.CANCELLED, offered_until=None
        )
        if not done:  # changed meanwhile (an offer lapsing): nothing done, the person retries
            raise ServiceError.of(EngagementErrorCode.INVALID, "预约状态已变化，请刷新", "id")
        if was in HOLDING:
            await _pass_on(slot, offer_hours)
    await booking.refresh_from_db()
    return booking


async def _pass_on(slot: BookingSlot, hours: int) -> None:
    """A place given back: offered to the first on the waiting list for `hours` (it stays
    taken), or freed when nobody waits. Inside the giving back's transaction."""
    while True:
        first = (
            await Booking.filter(slot_id=slot.id, status=BookingStatus.WAITING)
            .order_by("queued_at", "id")
            .first()
        )
        if first is None:
            await BookingSlot.filter(id=slot.id).update(booked=F("booked") - 1)
            return
        until = min(now() + timedelta(hours=hours), slot.starts_at)
        offered = await Booking.filter(id=first.id, status=BookingStatus.WAITING).update(
            status=BookingStatus.OFFERED, offered_until=until
        )
        if offered:  # else another giving back offered that one its place: the next
            await _offer_notice(first, until)
            return


async def _offer_notice(booking: Booking, until: datetime) -> None:
    activity = await Activity.get(id=booking.activity_id)
    deadline = until.astimezone(CHINA).strftime("%m月%d日 %H:%M")
    title, body = notifications.render(
        NotificationKind.BOOKING_OFFERED, title=activity.title, deadline=deadline
    )
    await notifications.notify(
        [booking.user_id],
        NotificationKind.BOOKING_OFFERED,
        f"booking-offer:{booking.id}:{until.isoformat()}",
        title,
        body,
        sms=True,
    )


async def expire_offers(offer_hours: int) -> int:
    """Offers not taken by their deadline pass on (the cron job; idempotent)."""
    moment = now()
    lapsed = 0
    for booking in await Booking.filter(
        status=BookingStatus.OFFERED, offered_until__lt=moment
    ).order_by("offered_until"):
        async with transaction():
            done = await Booking.filter(
                id=booking.id, status=BookingStatus.OFFERED, offered_until__lt=moment
            ).update(status=BookingStatus.EXPIRED)
            if done:
                await _pass_on(await BookingSlot.get(id=booking.slot_id), offer_hours)
                lapsed += 1
    return lapsed


async def remind_tomorrow() -> int:
    """Remind people with a place in a slot that begins tomorrow (China date), once each."""
    tomorrow = today() + timedelta(days=1)
    starts = datetime.combine(tomorrow, datetime.min.time(), CHINA)
    slots = await BookingSlot.filter(
        starts_at__gte=starts, starts_at__lt=starts + timedelta(days=1)
    )
    sent = 0
    for slot in slots:
        activity = await Activity.get(id=slot.activity_id)
        people = await Booking.filter(slot_id=slot.id, status=BookingStatus.BOOKED).values_list(
            "id", "user_id"
        )
        when = slot.starts_at.astimezone(CHINA).strftime("%m月%d日 %H:%M")
        title, body = notifications.render(
            NotificationKind.BOOKING_REMINDER,
            title=activity.title,
            when=when,
            address=activity.address or activity.online_url or "",
        )
        for booking_id, user_id in people:
            sent += await notifications.notify(
                [user_id],
                NotificationKind.BOOKING_REMINDER,
                f"booking-reminder:{booking_id}",  # once: the key is unique per person
                title,
                body,
                sms=True,
            )
    return sent


async def attended(user_id: int, activity_id: int) -> None:
    """A check-in at an activity that needs booking marks the person's booking attended."""
    await Booking.filter(
        activity_id=activity_id, user_id=user_id, status=BookingStatus.BOOKED, attended_at=None
    ).update(attended_at=now())


def sees_list(grants: list[Grant], activity: Activity) -> bool:
    """Who sees an activity's bookings (and exports them): its unit, its reviewers and national
    staff, while they may see the activity."""
    return can_view(grants, activity) and is_insider(grants, activity)


async def of_activity(grants: list[Grant], activity_id: int) -> QuerySet[Booking]:
    """An activity's bookings, for those who see its list."""
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None or not sees_list(grants, activity):
        raise _missing()
    return Booking.filter(activity_id=activity.id)


def no_show(booking: Booking, slot: BookingSlot) -> bool:
    """Booked, never checked in, and the slot is over."""
    return (
        booking.status is BookingStatus.BOOKED
        and booking.attended_at is None
        and now() > slot.ends_at
    )
