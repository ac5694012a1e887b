"""Offline check-in: a unit's device, registered for its approved activity, verifies people's
codes with only its bundle, and uploads its scans later; each scan is answered on its own, an
upload repeated changes nothing, and a person counts once a day, online or offline."""

from __future__ import annotations

import base64
from datetime import date, timedelta

import pytest

from models import ActivityStats, CheckIn
from models.enums import ActivityStatus
from schema.ids import to_global_id
from services import checkin_codes, reports
from tests.conftest import Api, china, set_now
from tests.factories import filing_unit, make_activity, make_campaign, make_user, person

CREATE = """
mutation($i: CheckInDeviceInput!) {
  createCheckInDevice(input: $i) { device { id name activityIds } token errors { field code } }
}
"""
REVOKE = (
    "mutation($id: ID!) { revokeCheckInDevice(id: $id) { device { revokedAt } errors { code } } }"
)
BUNDLE = """{ checkInBundle { publicKey keyId clockToleranceSeconds
  device { name } activities { id title opensAt closesAt } } }"""
UPLOAD = """
mutation($s: [ScanInput!]!) {
  uploadCheckIns(scans: $s) { results { clientNonce status code } errors { code } }
}
"""
CODE = "{ me { checkInCode { code validOn } } }"
COUNT = "query($id: ID!) { activity(id: $id) { engagement { checkIns } } }"
ONLINE = """mutation($a: ID!, $n: String!) { checkIn(activityId: $a, clientNonce: $n)
{ checkIn { id } errors { code } } }"""


@pytest.fixture
async def venue(api: Api):
    """A Chengdu school with an approved activity under way (2026-09-20 09:00-17:00) and a
    draft, a device registered for the activity, and a visitor with an account."""
    campaign = await make_campaign()
    unit, filer = await filing_unit(api)
    activity = await make_activity(unit, campaign, title="大篷车进村")
    draft = await make_activity(unit, campaign, title="草稿", status=ActivityStatus.DRAFT)
    set_now(china("2026-09-20 10:00"))
    made = (
        await api.data(
            CREATE,
            {
                "i": {
                    "organizationId": to_global_id("Organization", unit.id),
                    "name": "大篷车平板",
                    "activityIds": [to_global_id("Activity", activity.id)],
                }
            },
            token=filer.token,
        )
    )["createCheckInDevice"]
    assert made["errors"] == [] and made["token"].startswith("kpd_")
    visitor = await person(api, "13900001111", "村民")
    return {
        "unit": unit,
        "filer": filer,
        "activity": activity,
        "id": to_global_id("Activity", activity.id),
        "draft": draft,
        "device": made["device"],
        "token": made["token"],
        "visitor": visitor,
    }


def scan(venue, code: str, at: str, nonce: str, activity: str | None = None) -> dict:
    return {
        "activityId": activity or venue["id"],
        "code": code,
        "scannedAt": china(at).isoformat(),
        "clientNonce": nonce,
    }


def head(venue, count: int, at: str, nonce: str) -> dict:
    return {
        "activityId": venue["id"],
        "count": count,
        "countedAt": china(at).isoformat(),
        "clientNonce": nonce,
    }


async def test_a_device_checks_a_code_offline_with_only_its_bundle(api: Api, venue, base_settings):
    bundle = (await api.data(BUNDLE, token=venue["token"]))["checkInBundle"]
    shown = (await api.data(CODE, token=venue["visitor"].token))["me"]["checkInCode"]

    key = base64.b64decode(bundle["publicKey"])  # all the device keeps
    content = checkin_codes.read(shown["code"], key)

    assert content is not None and content.user_id == venue["visitor"].user.id
    assert shown["validOn"] == "2026-09-20" and content.day == date(2026, 9, 20)
    assert "13900001111" not in shown["code"]  # it names no phone
    assert bundle["activities"][0]["title"] == "大篷车进村"
    assert bundle["activities"][0]["opensAt"] < "2026-09-20T09:00"
    assert bundle["clockToleranceSeconds"] == 600 and bundle["device"]["name"] == "大篷车平板"
    forged = checkin_codes.issue("another secret" * 4, venue["visitor"].user.id, date(2026, 9, 20))
    prefix, payload, signature, tag = shown["code"].split(".")
    other_person = checkin_codes.issue("x", 999, date(2026, 9, 20)).split(".")[1]
    bad_signature = ".".join((prefix, payload, signature[:-3] + "AAA", tag))
    bad_tag = ".".join((prefix, payload, signature, tag[:-3] + "AAA"))
    swapped = ".".join((prefix, other_person, signature, tag))
    assert checkin_codes.read(forged, key) is None
    assert checkin_codes.read(bad_signature, key) is None
    assert checkin_codes.read(swapped, key) is None
    # the server checks a code by its tag, which only the server makes (a device ignores it)
    secret = base_settings.secret_key
    assert checkin_codes.check(shown["code"], secret) == content
    assert checkin_codes.read(bad_tag, key) == content
    assert checkin_codes.check(forged, secret) is None
    assert checkin_codes.check(bad_tag, secret) is None
    assert checkin_codes.check(swapped, secret) is None
    # another person's code is their own: nobody sees anyone else's
    other = await api.data(
        "query($id: ID!) { node(id: $id) { ... on User { checkInCode { code } } } }",
        {"id": to_global_id("User", venue["visitor"].user.id)},
        token=venue["filer"].token,
    )
    assert other["node"] is None or other["node"]["checkInCode"] is None


async def test_an_upload_answers_each_scan_and_a_repeat_changes_nothing(
    api: Api, venue, base_settings
):
    secret = base_settings.secret_key
    day = date(2026, 9, 20)
    people = [venue["visitor"].user] + [
        await make_user(f"1390000200{i}", f"观众{i}") for i in range(3)
    ]
    code = {p.id: checkin_codes.issue(secret, p.id, day) for p in people}
    scans = [
        scan(venue, code[people[0].id], "2026-09-20 09:30", "scan-0001"),
        scan(venue, code[people[1].id], "2026-09-20 07:55", "scan-0002"),  # drift: 5 min early
        scan(venue, code[people[2].id], "2026-09-20 06:00", "scan-0003"),  # outside the window
        scan(venue, "KP1.Zm9yZ2Vk.AAAA", "2026-09-20 09:40", "scan-0004"),  # forged
        scan(
            venue,
            code[people[3].id],
            "2026-09-20 09:45",
            "scan-0005",
            to_global_id("Activity", venue["draft"].id),  # not on this device
        ),
        scan(
            venue,
            checkin_codes.issue(secret, people[3].id, date(2026, 9, 19)),  # yesterday's code
            "2026-09-20 09:50",
            "scan-0006",
        ),
        scan(venue, code[people[0].id], "2026-09-20 09:31", "scan-0007"),  # the same person again
    ]

    first = (await api.data(UPLOAD, {"s": scans}, token=venue["token"]))["uploadCheckIns"]
    again = (await api.data(UPLOAD, {"s": scans}, token=venue["token"]))["uploadCheckIns"]

    assert [(r["clientNonce"], r["status"], r["code"]) for r in first["results"]] == [
        ("scan-0001", "ACCEPTED", None),
        ("scan-0002", "ACCEPTED", None),
        ("scan-0003", "REFUSED", "OUTSIDE_WINDOW"),
        ("scan-0004", "REFUSED", "FORGED_CODE"),
        ("scan-0005", "REFUSED", "NOT_ON_DEVICE"),
        ("scan-0006", "REFUSED", "FORGED_CODE"),
        ("scan-0007", "DUPLICATE", None),
    ]
    assert [r["status"] for r in again["results"]] == [
        "DUPLICATE",
        "DUPLICATE",
        "REFUSED",
        "REFUSED",
        "REFUSED",
        "REFUSED",
        "DUPLICATE",
    ]
    counted = (await api.data(COUNT, {"id": venue["id"]}))["activity"]["engagement"]
    assert counted["checkIns"] == 2
    kept = await CheckIn.get(user_id=people[0].id)
    assert kept.device_id is not None and kept.created_at == china("2026-09-20 09:30")


async def test_a_person_counts_once_a_day_online_and_offline(api: Api, venue, base_settings):
    visitor = venue["visitor"]
    online = (await api.data(ONLINE, {"a": venue["id"], "n": "online-0001"}, token=visitor.token))[
        "checkIn"
    ]
    assert online["errors"] == []
    code = (await api.data(CODE, token=visitor.token))["me"]["checkInCode"]["code"]

    offline = (
        await api.data(
            UPLOAD,
            {"s": [scan(venue, code, "2026-09-20 10:00", "scan-1001")]},
            token=venue["token"],
        )
    )["uploadCheckIns"]

    assert offline["results"][0]["status"] == "DUPLICATE"
    assert (await api.data(COUNT, {"id": venue["id"]}))["activity"]["engagement"]["checkIns"] == 1
    assert await CheckIn.filter(activity_id=venue["activity"].id).count() == 1


async def test_a_revoked_device_is_refused_and_only_the_units_people_manage_devices(
    api: Api, venue, base_settings
):
    other = await person(api, "13900003333", "别人")
    refused = await api.post(
        REVOKE, {"id": venue["device"]["id"]}, token=other.token
    )  # not theirs: as if it did not exist
    assert refused["data"]["revokeCheckInDevice"]["errors"] == [{"code": "NOT_FOUND"}]
    revoked = (await api.data(REVOKE, {"id": venue["device"]["id"]}, token=venue["filer"].token))[
        "revokeCheckInDevice"
    ]
    assert revoked["errors"] == [] and revoked["device"]["revokedAt"]
    code = checkin_codes.issue(
        base_settings.secret_key, venue["visitor"].user.id, date(2026, 9, 20)
    )

    upload = (
        await api.data(
            UPLOAD,
            {"s": [scan(venue, code, "2026-09-20 10:00", "scan-2001")]},
            token=venue["token"],
        )
    )["uploadCheckIns"]
    bundle = await api.post(BUNDLE, token=venue["token"])

    assert upload["errors"] == [{"code": "DEVICE_REVOKED"}] and upload["results"] == []
    assert bundle["errors"][0]["extensions"]["code"] == "DEVICE_REVOKED"
    assert await CheckIn.all().count() == 0
    # a device of a draft, or of another unit's activity, or made by an outsider: refused
    draft = (
        await api.data(
            CREATE,
            {
                "i": {
                    "organizationId": to_global_id("Organization", venue["unit"].id),
                    "name": "第二台",
                    "activityIds": [to_global_id("Activity", venue["draft"].id)],
                }
            },
            token=venue["filer"].token,
        )
    )["createCheckInDevice"]
    assert draft["errors"] == [{"field": "activityIds", "code": "NOT_APPROVED"}]
    outsider = await api.post(
        CREATE,
        {
            "i": {
                "organizationId": to_global_id("Organization", venue["unit"].id),
                "name": "冒名的设备",
                "activityIds": [venue["id"]],
            }
        },
        token=other.token,
    )
    assert outsider["errors"][0]["extensions"]["code"] == "FORBIDDEN"


HEADS = """
mutation($h: [HeadCountInput!]!) {
  uploadCheckIns(headCounts: $h) { headCounts { clientNonce status code } errors { code } }
}
"""
ENGAGEMENT = """query($id: ID!) { activity(id: $id) { engagement {
  checkIns offlineCheckIns headCount attendance } } }"""


async def test_head_counts_and_offline_check_ins_are_counted_apart_and_exactly(
    api: Api, venue, base_settings
):
    """Visitors without an account, counted by the device, add to the attendance; offline
    check-ins are part of checkIns and shown apart; both survive the write-behind and a cold
    read from the database."""
    from services.counters import live_key

    heads = [
        head(venue, 35, "2026-09-20 09:15", "head-0001"),
        head(venue, 12, "2026-09-20 09:50", "head-0002"),
        head(venue, 0, "2026-09-20 11:00", "head-0003"),
        head(venue, 9, "2026-09-21 11:00", "head-0004"),
    ]
    first = (await api.data(HEADS, {"h": heads}, token=venue["token"]))["uploadCheckIns"]
    again = (await api.data(HEADS, {"h": heads}, token=venue["token"]))["uploadCheckIns"]
    code = (await api.data(CODE, token=venue["visitor"].token))["me"]["checkInCode"]["code"]
    await api.data(
        UPLOAD, {"s": [scan(venue, code, "2026-09-20 09:20", "scan-3001")]}, token=venue["token"]
    )
    other = await person(api, "13900004444", "线上观众")
    await api.data(ONLINE, {"a": venue["id"], "n": "online-3001"}, token=other.token)

    assert [(r["status"], r["code"]) for r in first["headCounts"]] == [
        ("ACCEPTED", None),
        ("ACCEPTED", None),
        ("REFUSED", "INVALID"),
        ("REFUSED", "OUTSIDE_WINDOW"),
    ]
    assert [r["status"] for r in again["headCounts"]][:2] == ["DUPLICATE", "DUPLICATE"]
    expected = {"checkIns": 2, "offlineCheckIns": 1, "headCount": 47, "attendance": 49}
    shown = await api.data(ENGAGEMENT, {"id": venue["id"]})
    assert shown["activity"]["engagement"] == expected

    # written behind, then read cold from the database: the same
    counters = api.app.state.runtime.live
    await counters.flush(settle=timedelta(0))
    stats = await ActivityStats.get(activity_id=venue["activity"].id)
    assert (stats.check_ins, stats.offline_check_ins, stats.head_count) == (2, 1, 47)
    figures = await reports.summary(reports.Scope(year=2026))
    assert (figures["engagement"]["offline_check_ins"], figures["engagement"]["head_count"]) == (
        1,
        47,
    )
    await counters.redis.delete(live_key(venue["activity"].id))
    assert (await counters.read([venue["activity"].id]))[venue["activity"].id]["head_count"] == 47
    shown = await api.data(ENGAGEMENT, {"id": venue["id"]})
    assert shown["activity"]["engagement"] == expected


async def test_a_device_uploads_a_few_batches_a_minute(api: Api, venue, base_settings, settings):
    settings(rate_limit_device_upload="2/minute")
    code = checkin_codes.issue(
        base_settings.secret_key, venue["visitor"].user.id, date(2026, 9, 20)
    )
    batches = [[scan(venue, code, "2026-09-20 09:30", f"scan-900{i}")] for i in range(3)]

    answers = [
        (await api.data(UPLOAD, {"s": b}, token=venue["token"]))["uploadCheckIns"] for b in batches
    ]

    assert [a["errors"] for a in answers] == [[], [], [{"code": "RATE_LIMITED"}]]
    assert answers[2]["results"] == []
    assert await CheckIn.filter(client_nonce__startswith="d").count() == 1
