"""Science routes: an association publishes one of public activities in its region; a visitor
who checks in at every stop on its days completes it once, is told, and is counted once, even
when the last two check-ins race."""

from __future__ import annotations

import asyncio
from datetime import date

import pytest

from models import Campaign, CheckInDevice, Notification, RouteCompletion
from models.enums import ActivityStatus, MemberRole, NotificationKind, OrganizationKind
from schema.ids import decode_global_id, to_global_id
from services import checkin_codes
from services.sessions import token_hash
from tests.conftest import Api, china, set_now
from tests.factories import association, filing_unit, make_activity, make_campaign, member, person

STOPS = "stops { ... on Activity { title } ... on Organization { name } }"
PUBLISH = f"""mutation($i: RouteInput!) {{ publishRoute(input: $i) {{
  route {{ id name completionCount {STOPS} region {{ code }} }} errors {{ field code }} }} }}"""
ROUTES = f"""query($r: String!) {{ routes(regionCode: $r) {{ totalCount
  edges {{ node {{ name completionCount {STOPS} }} }} }} }}"""
CHECK_IN = """mutation($a: ID!, $n: String!) { checkIn(activityId: $a, clientNonce: $n)
  { errors { code } } }"""
MINE = "{ me { completedRoutes { completedAt route { name completionCount } } } }"


@pytest.fixture
async def city(api: Api):
    """Three public activities in Chengdu on 2026-09-20 and 21 (it is 10:00 on the 20th), one
    in Beijing, a draft, Chengdu's association's admin, and the school's filer."""
    campaign = await make_campaign()
    unit, filer = await filing_unit(api)
    stops = [
        await make_activity(unit, campaign, title=f"第{i}站", ends_at="2026-09-21 17:00")
        for i in (1, 2, 3)
    ]
    beijing_unit, _ = await filing_unit(api, "13911112222", "110105", "北京的学校")
    beijing = await make_activity(beijing_unit, campaign, title="北京的活动")
    draft = await make_activity(unit, campaign, title="草稿", status=ActivityStatus.DRAFT)
    chengdu = await association(OrganizationKind.MUNICIPAL_ASSOCIATION, "510100")
    admin = await member(api, "13911113333", chengdu, MemberRole.ADMIN, "市科协管理员")
    set_now(china("2026-09-20 10:00"))
    return {
        "stops": [to_global_id("Activity", a.id) for a in stops],
        "beijing": to_global_id("Activity", beijing.id),
        "draft": to_global_id("Activity", draft.id),
        "admin": admin,
        "filer": filer,
        "unit": unit,
    }


def route_input(stops: list[str], **more) -> dict:
    return {
        "regionCode": "510100",
        "name": "成都科技馆一日游",
        "description": "三站打卡，完成即得路线徽章。",
        "stops": stops,
        "validFrom": "2026-09-19",
        "validUntil": "2026-09-21",
        **more,
    }


async def publish(api: Api, token: str, activity_ids: list[str], **more) -> dict:
    answer = await api.post(PUBLISH, {"i": route_input(activity_ids, **more)}, token=token)
    return answer


async def test_an_association_publishes_a_route_of_public_activities_in_its_region(api: Api, city):
    made = await publish(api, city["admin"].token, city["stops"])
    refused = [
        await publish(api, city["admin"].token, [*city["stops"][:2], city["beijing"]]),
        await publish(api, city["admin"].token, [*city["stops"][:2], city["draft"]]),
        await publish(api, city["admin"].token, city["stops"][:1]),
        await publish(api, city["admin"].token, [city["stops"][0]] * 2),
        await publish(api, city["admin"].token, city["stops"], validUntil="2026-09-18"),
    ]
    school = await publish(api, city["filer"].token, city["stops"])

    route = made["data"]["publishRoute"]
    assert route["errors"] == []
    assert [s["title"] for s in route["route"]["stops"]] == ["第1站", "第2站", "第3站"]
    assert [r["data"]["publishRoute"]["errors"][0]["code"] for r in refused] == [
        "INVALID_REGION",
        "NOT_APPROVED",
        "TOO_MANY_ITEMS",
        "INVALID",
        "INVALID_TIME",
    ]
    assert school["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    province = (await api.data(ROUTES, {"r": "510000"}))["routes"]
    assert (
        province["totalCount"] == 1 and province["edges"][0]["node"]["name"] == "成都科技馆一日游"
    )
    assert (await api.data(ROUTES, {"r": "110000"}))["routes"]["totalCount"] == 0


async def check_in(api: Api, token: str, activity_id: str, nonce: str) -> None:
    done = await api.data(CHECK_IN, {"a": activity_id, "n": nonce}, token=token)
    assert done["checkIn"]["errors"] == []


async def test_every_stop_checked_in_completes_the_route_once(api: Api, city):
    await publish(api, city["admin"].token, city["stops"])
    visitor = await person(api, "13966660001", "游客")

    await check_in(api, visitor.token, city["stops"][0], "route-0001")
    await check_in(api, visitor.token, city["stops"][2], "route-0003")
    assert (await api.data(MINE, token=visitor.token))["me"]["completedRoutes"] == []
    await check_in(api, visitor.token, city["stops"][1], "route-0002")
    set_now(china("2026-09-21 10:00"))  # the next day, all over again: still once
    for i, stop in enumerate(city["stops"]):
        await check_in(api, visitor.token, stop, f"again-{i:04d}")

    mine = (await api.data(MINE, token=visitor.token))["me"]["completedRoutes"]
    assert [(m["route"]["name"], m["route"]["completionCount"]) for m in mine] == [
        ("成都科技馆一日游", 1)
    ]
    told = await Notification.filter(
        recipient_id=visitor.user.id, kind=NotificationKind.ROUTE_COMPLETED
    ).values_list("title", flat=True)
    assert told == ["您已完成科普路线：成都科技馆一日游"]


async def test_the_last_two_check_ins_racing_complete_the_route_once(api: Api, city):
    await publish(api, city["admin"].token, city["stops"])
    people = [await person(api, f"1396666100{i}", f"游客{i}") for i in range(3)]
    for i, p in enumerate(people):
        await check_in(api, p.token, city["stops"][0], f"first-{i:04d}")

    await asyncio.gather(
        *(
            check_in(api, p.token, stop, f"race-{i}-{j}")
            for i, p in enumerate(people)
            for j, stop in enumerate(city["stops"][1:])
        )
    )

    assert await RouteCompletion.all().count() == 3
    routes = (await api.data(ROUTES, {"r": "510100"}))["routes"]["edges"]
    assert routes[0]["node"]["completionCount"] == 3
    assert await Notification.filter(kind=NotificationKind.ROUTE_COMPLETED).count() == 3


UPLOAD = """mutation($s: [ScanInput!]!) { uploadCheckIns(scans: $s) { results { status } } }"""


async def test_stops_scanned_offline_complete_the_route_too(api: Api, city, base_settings):
    await publish(api, city["admin"].token, city["stops"])
    visitor = await person(api, "13966662001", "村民")
    await check_in(api, visitor.token, city["stops"][0], "online-0001")
    token = "kpd_route-test-device"
    await CheckInDevice.create(
        organization_id=city["unit"].id,
        name="大篷车",
        token_hash=token_hash(token),
        activity_ids=[decode_global_id(a)[1] for a in city["stops"]],  # type: ignore[index]
    )
    code = checkin_codes.issue(base_settings.secret_key, visitor.user.id, date(2026, 9, 20))
    scans = [
        {
            "activityId": stop,
            "code": code,
            "scannedAt": china(f"2026-09-20 09:{30 + i}").isoformat(),
            "clientNonce": f"scan-{i:04d}",
        }
        for i, stop in enumerate(city["stops"][1:])
    ]

    done = await api.data(UPLOAD, {"s": scans}, token=token)

    assert [r["status"] for r in done["uploadCheckIns"]["results"]] == ["ACCEPTED"] * 2
    mine = (await api.data(MINE, token=visitor.token))["me"]["completedRoutes"]
    assert len(mine) == 1 and mine[0]["route"]["completionCount"] == 1


async def test_a_venue_is_a_stop_visited_at_any_of_its_activities(api: Api, city):
    campaign = await Campaign.get()
    museum, _ = await filing_unit(api, "13911114444", "510105", "成都科技馆")
    exhibit = await make_activity(museum, campaign, title="机器人展", ends_at="2026-09-21 17:00")
    venue = to_global_id("Organization", museum.id)
    made = await publish(api, city["admin"].token, [city["stops"][0], venue])
    route = made["data"]["publishRoute"]["route"]
    assert [s.get("title") or s.get("name") for s in route["stops"]] == ["第1站", "成都科技馆"]
    visitor = await person(api, "13966663001", "游客")

    await check_in(api, visitor.token, city["stops"][0], "venue-0001")
    await check_in(api, visitor.token, to_global_id("Activity", exhibit.id), "venue-0002")

    mine = (await api.data(MINE, token=visitor.token))["me"]["completedRoutes"]
    assert [m["route"]["completionCount"] for m in mine] == [1]
