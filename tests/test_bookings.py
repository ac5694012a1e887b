"""Booking with capacity and a waiting list: never more bookings than places whatever the
concurrency, once per person and slot, a freed place offered down the list with a deadline (the
clock moved, never slept), cancelling refused once begun, check-ins marking attendance, and
reminders the day before, once."""

from __future__ import annotations

import asyncio
import io
from datetime import timedelta

import pytest

from models import Booking, BookingSlot, Notification
from models.enums import BookingStatus, NotificationKind
from schema.ids import to_global_id
from tests.conftest import Api, china, set_now
from tests.factories import filing_unit, make_activity, make_campaign, person
from workers.main import expire_booking_offers, remind_bookings

CONFIGURE = """mutation($a: ID!, $s: [BookingSlotInput!]!) { configureBooking(activityId: $a,
  slots: $s) { slots { id capacity placesLeft } errors { field code } } }"""
BOOK = """mutation($a: ID!) { book(activityId: $a) {
  booking { id status offeredUntil } errors { code } } }"""
CANCEL = """mutation($id: ID!) { cancelBooking(id: $id) { booking { status } errors { code } } }"""
LIST = """query($a: ID!) { activityBookings(activityId: $a) { edges { node { status attendedAt
  noShow person { name } } } } }"""
CHECK_IN = """mutation($a: ID!, $n: String!) { checkIn(activityId: $a, clientNonce: $n)
  { errors { code } } }"""


@pytest.fixture
async def lab(api: Api):
    """A lab open day in Chengdu on 2026-09-20, 09:00-17:00; it is two days before."""
    campaign = await make_campaign()
    unit, filer = await filing_unit(api)
    activity = await make_activity(unit, campaign, title="实验室开放日")
    set_now(china("2026-09-18 10:00"))
    return {"id": to_global_id("Activity", activity.id), "filer": filer, "activity": activity}


async def configure(api: Api, lab, capacity: int) -> dict:
    slot = {
        "startsAt": china("2026-09-20 09:00").isoformat(),
        "endsAt": china("2026-09-20 17:00").isoformat(),
        "capacity": capacity,
    }
    done = await api.data(CONFIGURE, {"a": lab["id"], "s": [slot]}, token=lab["filer"].token)
    return done["configureBooking"]


async def book(api: Api, lab, who) -> dict:
    return (await api.data(BOOK, {"a": lab["id"]}, token=who.token))["book"]


async def people(api: Api, n: int, start: int = 0) -> list:
    return [await person(api, f"1397777{start + i:04d}", f"观众{start + i}") for i in range(n)]


async def test_only_the_unit_sets_booking_up(api: Api, lab):
    stranger = (await people(api, 1))[0]
    refused = await api.data(
        CONFIGURE,
        {
            "a": lab["id"],
            "s": [
                {
                    "startsAt": "2026-09-20T09:00:00+08:00",
                    "endsAt": "2026-09-20T10:00:00+08:00",
                    "capacity": 3,
                }
            ],
        },
        token=stranger.token,
    )
    outside = await api.data(
        CONFIGURE,
        {
            "a": lab["id"],
            "s": [
                {
                    "startsAt": "2026-09-21T09:00:00+08:00",
                    "endsAt": "2026-09-21T10:00:00+08:00",
                    "capacity": 3,
                }
            ],
        },
        token=lab["filer"].token,
    )

    assert refused["configureBooking"]["errors"] == [{"field": "activityId", "code": "NOT_FOUND"}]
    assert outside["configureBooking"]["errors"][0]["code"] == "INVALID"
    assert (await configure(api, lab, 3))["slots"][0]["placesLeft"] == 3


async def test_never_more_bookings_than_places_whatever_the_concurrency(api: Api, lab):
    await configure(api, lab, 5)
    crowd = await people(api, 30)

    answers = await asyncio.gather(*(book(api, lab, p) for p in crowd))
    again = await asyncio.gather(*(book(api, lab, p) for p in crowd[:10]))  # the same people

    statuses = [a["booking"]["status"] for a in answers]
    assert statuses.count("BOOKED") == 5 and statuses.count("WAITING") == 25
    assert [a["booking"]["id"] for a in again] == [a["booking"]["id"] for a in answers[:10]]
    assert await Booking.all().count() == 30
    assert await Booking.filter(status=BookingStatus.BOOKED).count() == 5
    assert (await BookingSlot.get()).booked == 5


async def test_a_freed_place_goes_down_the_waiting_list_with_a_deadline(api: Api, lab, app):
    await configure(api, lab, 1)
    first, second, third = await people(api, 3)
    mine = await book(api, lab, first)
    assert [(await book(api, lab, p))["booking"]["status"] for p in (second, third)] == [
        "WAITING",
        "WAITING",
    ]

    await api.data(CANCEL, {"id": mine["booking"]["id"]}, token=first.token)
    offered = await Booking.get(user_id=second.user.id)
    assert offered.status is BookingStatus.OFFERED
    assert offered.offered_until is not None  # BOOKING_OFFER_HOURS on (the clock runs on)
    assert abs(offered.offered_until - china("2026-09-18 22:00")) < timedelta(minutes=1)
    told = await Notification.filter(kind=NotificationKind.BOOKING_OFFERED).values_list(
        "recipient_id", flat=True
    )
    assert told == [second.user.id]

    ctx = {"settings": app.state.runtime.settings, "redis": app.state.redis}
    assert await expire_booking_offers(ctx) == 0  # not yet
    set_now(china("2026-09-18 22:01"))
    assert await expire_booking_offers(ctx) == 1
    assert (await Booking.get(user_id=second.user.id)).status is BookingStatus.EXPIRED
    assert (await Booking.get(user_id=third.user.id)).status is BookingStatus.OFFERED
    assert (await book(api, lab, second))["booking"]["status"] == "WAITING"  # to the back

    taken = await book(api, lab, third)
    assert taken["booking"]["status"] == "BOOKED"
    assert (await BookingSlot.get()).booked == 1
    await api.data(CANCEL, {"id": taken["booking"]["id"]}, token=third.token)
    assert (await Booking.get(user_id=second.user.id)).status is BookingStatus.OFFERED
    second_offer = await Booking.get(user_id=second.user.id)
    await api.data(CANCEL, {"id": to_global_id("Booking", second_offer.id)}, token=second.token)
    assert (await BookingSlot.get()).booked == 0  # nobody waits: the place is free again


async def test_cancelling_is_refused_once_begun_and_check_ins_mark_attendance(api: Api, lab):
    await configure(api, lab, 3)
    came, stayed_away = await people(api, 2)
    booking = await book(api, lab, came)
    await book(api, lab, stayed_away)

    set_now(china("2026-09-20 09:30"))
    late = await api.data(CANCEL, {"id": booking["booking"]["id"]}, token=came.token)
    checked = await api.data(CHECK_IN, {"a": lab["id"], "n": "lab-0001"}, token=came.token)
    set_now(china("2026-09-20 18:00"))
    answer = await api.data(LIST, {"a": lab["id"]}, token=lab["filer"].token)
    listed = [e["node"] for e in answer["activityBookings"]["edges"]]
    stranger = await api.post(LIST, {"a": lab["id"]}, token=came.token)

    assert late["cancelBooking"]["errors"] == [{"code": "BOOKING_CLOSED"}]
    assert checked["checkIn"]["errors"] == []
    assert [(b["person"]["name"], b["attendedAt"] is not None, b["noShow"]) for b in listed] == [
        ("观众0", True, False),
        ("观众1", False, True),
    ]
    assert stranger["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_people_with_a_place_are_reminded_the_day_before_once(api: Api, lab, app):
    await configure(api, lab, 1)
    booked, waiting = await people(api, 2)
    await book(api, lab, booked)
    await book(api, lab, waiting)
    ctx = {"settings": app.state.runtime.settings, "redis": app.state.redis}

    assert await remind_bookings(ctx) == 0  # two days before
    set_now(china("2026-09-19 08:00"))
    assert await remind_bookings(ctx) == 1
    assert await remind_bookings(ctx) == 0

    reminded = await Notification.filter(kind=NotificationKind.BOOKING_REMINDER).values_list(
        "recipient_id", "title"
    )
    assert reminded == [(booked.user.id, "明天的活动提醒：实验室开放日")]


EXPORT = """mutation($a: ID!) { requestBookingList(activityId: $a) {
  document { id } errors { code } } }"""


async def test_the_unit_exports_its_booking_list_as_a_spreadsheet(
    api: Api, lab, app, base_settings
):
    from openpyxl import load_workbook

    from tests.conftest import run_worker
    from tests.test_documents import DOCUMENT, fetch

    await configure(api, lab, 1)
    came, waiting = await people(api, 2)
    await book(api, lab, came)
    await book(api, lab, waiting)
    set_now(china("2026-09-20 10:00"))
    await api.data(CHECK_IN, {"a": lab["id"], "n": "lab-0009"}, token=came.token)

    requested = (await api.data(EXPORT, {"a": lab["id"]}, token=lab["filer"].token))[
        "requestBookingList"
    ]
    refused = (await api.data(EXPORT, {"a": lab["id"]}, token=came.token))["requestBookingList"]
    await run_worker(app, base_settings)
    ready = (
        await api.data(DOCUMENT, {"id": requested["document"]["id"]}, token=lab["filer"].token)
    )["document"]
    book_ = load_workbook(io.BytesIO((await fetch(api, ready["downloadUrl"])).content))

    assert refused["errors"] == [{"code": "NOT_FOUND"}]
    assert book_.sheetnames == ["09月20日 09.00-17.00"]
    rows = [[c.value for c in row] for row in book_.active.iter_rows()]
    assert rows[0][0] == "《实验室开放日》预约名单（09月20日 09.00-17.00）"
    assert rows[2] == ["序号", "姓名", "手机号", "状态", "预约时间", "签到时间"]
    assert [r[:4] for r in rows[3:]] == [
        [1, "观众0", "139****0000", "已签到"],
        [2, "观众1", "139****0001", "候补"],
    ]
    assert rows[3][5] is not None and rows[4][5] is None
