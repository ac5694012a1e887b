"""Check-in fraud kept out of the numbers: each rule on its own, then flags through the API:
counts without the flagged engagement at once, the reviewer's queue, a flag dismissed (counted
again) and one confirmed (out for good), each moving the counts exactly once, live, after the
write-behind and from a cold cache; a unit never judges its own numbers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from infra.clock import now
from infra.geo import Point
from models import ActivityStats, AuditLog, EngagementFlag, HeadCount, Notification
from models.enums import FlagStatus, FraudRule, MemberRole, NotificationKind, OrganizationKind
from schema.ids import to_global_id
from services import fraud
from services.counters import live_key
from services.fraud import CHECK_IN, LIKE, RATING, Limits, Seen
from tests.conftest import Api, china, set_now
from tests.factories import (
    filing_unit,
    grant,
    make_activity,
    make_campaign,
    member,
    national_organizer,
    person,
)
from tests.factories import reviewer_of as make_reviewer
from workers.main import scan_engagement

PROVINCIAL = OrganizationKind.PROVINCIAL_ASSOCIATION
T0 = datetime(2026, 9, 20, 2, 0, tzinfo=UTC)
OLD = T0 - timedelta(days=400)


def seen(n: int, **given: object) -> Seen:
    """The n-th record of a made-up stream: a check-in a few seconds after the last, by an old
    account, at activity 1 in Chengdu."""
    values: dict[str, object] = {
        "kind": CHECK_IN,
        "id": n,
        "activity_id": 1,
        "user_id": n,
        "at": T0 + timedelta(seconds=3 * n),
        "joined": OLD,
        "place": "510100",
    }
    values.update(given)
    return Seen(**values)  # type: ignore[arg-type]


LIMITS = Limits(burst_floor=50, new_accounts=10, cohort_size=10)


# ---------------------------------------------------------------- each rule


def test_a_device_scanning_more_than_the_activity_explains_is_a_burst():
    fast = [seen(n, device_id=7) for n in range(60)]  # 60 in 3 minutes, activity of 30
    expected = [seen(n, device_id=7, expected=30) for n in range(60)]
    big = [seen(n, device_id=7, expected=500) for n in range(60)]  # a big fair explains it
    slow = [seen(n, device_id=7, at=T0 + timedelta(minutes=n)) for n in range(60)]
    spread = [seen(n, device_id=n % 2) for n in range(60)]  # two devices, 30 each

    found = fraud.source_burst(expected, LIMITS)
    assert [f.rule for f in found] == [FraudRule.SOURCE_BURST]
    assert len(found[0].records) == 60 and "设备" in found[0].reason
    assert len(fraud.source_burst(fast, LIMITS)) == 1  # the floor (50) when no size is given
    assert fraud.source_burst(big, LIMITS) == []
    assert fraud.source_burst(slow, LIMITS) == []
    assert fraud.source_burst(spread, LIMITS) == []


def test_an_address_bursting_keeps_the_check_ins_outside_the_burst():
    quiet = [seen(n, address="1.2.3.4", at=T0 + timedelta(hours=1, minutes=n)) for n in range(5)]
    burst = [seen(100 + n, address="1.2.3.4") for n in range(51)]

    found = fraud.source_burst(quiet + burst, LIMITS)

    assert {r.id for r in found[0].records} == {r.id for r in burst}
    assert "网络地址" in found[0].reason


def test_many_new_accounts_from_one_address_are_flagged():
    def young(n: int, address: str = "5.6.7.8") -> Seen:
        return seen(n, address=address, joined=T0 - timedelta(hours=2), activity_id=n % 3)

    new = [young(n) for n in range(10)]
    fewer = new[:9]
    old = [seen(n, address="5.6.7.8") for n in range(30)]
    apart = [young(n, address=f"5.6.7.{n}") for n in range(30)]

    found = fraud.new_accounts_one_address(new + old, LIMITS)
    assert [f.rule for f in found] == [FraudRule.NEW_ACCOUNTS_ONE_ADDRESS]
    assert {r.id for r in found[0].records} == {r.id for r in new}  # across activities
    assert "10个新注册账号" in found[0].reason
    assert fraud.new_accounts_one_address(fewer, LIMITS) == []
    assert fraud.new_accounts_one_address(old, LIMITS) == []
    assert fraud.new_accounts_one_address(apart, LIMITS) == []


def test_one_account_in_two_cities_within_minutes_flags_the_later_check_in():
    chengdu = seen(1, user_id=5, at=T0)
    beijing = seen(2, user_id=5, activity_id=2, place="110100", at=T0 + timedelta(minutes=20))
    later = seen(3, user_id=5, activity_id=2, place="110100", at=T0 + timedelta(hours=2))
    same_city = seen(4, user_id=5, activity_id=3, at=T0 + timedelta(minutes=5))
    online = seen(5, user_id=5, activity_id=4, place=None, at=T0 + timedelta(minutes=10))

    found = fraud.far_apart([chengdu, beijing], LIMITS)
    assert [(f.rule, [r.id for r in f.records]) for f in found] == [(FraudRule.FAR_APART, [2])]
    assert "20分钟" in found[0].reason
    assert fraud.far_apart([chengdu, later], LIMITS) == []
    assert fraud.far_apart([chengdu, same_city, online], LIMITS) == []


def test_by_their_places_check_ins_are_far_apart_beyond_the_distance_whatever_the_city():
    here = Point(30.60, 104.10)
    near = Point(30.60 + 0.18, 104.10)  # 20 km north, in another district's city code
    far = Point(30.60 + 0.72, 104.10)  # 80 km north, in the same city code

    first = seen(1, user_id=5, at=T0, point=here)
    close = seen(
        2, user_id=5, activity_id=2, place="510600", point=near, at=T0 + timedelta(minutes=10)
    )
    away = seen(3, user_id=5, activity_id=3, point=far, at=T0 + timedelta(minutes=10))

    assert fraud.far_apart([first, close], LIMITS) == []
    found = fraud.far_apart([first, away], LIMITS)
    assert [r.id for f in found for r in f.records] == [3]
    assert "相距80公里" in found[0].reason


def test_likes_and_ratings_of_accounts_made_together_are_a_cohort():
    def made_together(n: int, kind: str) -> Seen:
        return seen(n, kind=kind, joined=T0 - timedelta(days=1, seconds=20 * n))

    likes = [made_together(n, LIKE) for n in range(10)]
    ratings = [made_together(n, RATING) for n in range(10)]
    apart = [seen(n, kind=LIKE, joined=T0 - timedelta(days=n)) for n in range(30)]
    slow = [
        seen(n, kind=LIKE, joined=T0 - timedelta(days=1, seconds=n), at=T0 + timedelta(hours=n))
        for n in range(30)
    ]
    check_ins = [made_together(n, CHECK_IN) for n in range(30)]

    found = fraud.account_cohort(likes + ratings, LIMITS)
    assert sorted(("点赞" in f.reason, len(f.records)) for f in found) == [(False, 10), (True, 10)]
    assert fraud.account_cohort(likes[:9], LIMITS) == []
    assert fraud.account_cohort(apart, LIMITS) == []
    assert fraud.account_cohort(slow, LIMITS) == []
    assert fraud.account_cohort(check_ins, LIMITS) == []


# ---------------------------------------------------------------- through the API

CHECK_IN_OP = """mutation($a: ID!, $n: String!) { checkIn(activityId: $a, clientNonce: $n)
{ errors { code } } }"""
LIKE_OP = """mutation($a: ID!, $on: Boolean!) { setLike(activityId: $a, liked: $on)
{ engagement { likes } errors { code } } }"""
RATE_OP = """mutation($a: ID!, $s: Int!) { rateActivity(activityId: $a, score: $s)
{ errors { code } } }"""
COUNTS = """query($a: ID!) { activity(id: $a) { engagement { checkIns likes ratingCount } } }"""
QUEUE = """query($s: FlagStatus) { engagementFlags(status: $s, first: 20) { totalCount
  edges { node { id rule reason status checkIns likes ratingCount note
  activity { title } resolvedBy { name } } } } }"""
EVALUATION = """query { evaluation(year: 2026, first: 100) { edges { node {
  organization { name } scores { indicator inputs { name value } } } } } }"""
RESOLVE = """mutation($id: ID!, $fraud: Boolean!, $note: String) {
  resolveEngagementFlag(id: $id, fraudConfirmed: $fraud, note: $note) {
    flag { status note } errors { code } } }"""


@pytest.fixture
async def venue(api: Api, settings):
    """An activity under way in Chengdu, its school's filer, and the Sichuan association's
    reviewer (its supervisor). The rules' thresholds are small."""
    settings(fraud_new_accounts=3, fraud_cohort_size=3, fraud_burst_floor=100)
    campaign = await make_campaign()
    unit, filer = await filing_unit(api)
    activity = await make_activity(unit, campaign, title="机器人体验日")
    set_now(china("2026-09-20 10:00"))
    reviewer = await make_reviewer(api, "13955550001", PROVINCIAL, "510000")
    return {
        "unit": unit,
        "filer": filer,
        "reviewer": reviewer,
        "activity": activity,
        "id": to_global_id("Activity", activity.id),
    }


async def counts(api: Api, venue) -> dict:
    """As a signed-in person sees them (an anonymous answer may lag a few seconds: README)."""
    answer = await api.data(COUNTS, {"a": venue["id"]}, token=venue["filer"].token)
    return answer["activity"]["engagement"]


async def run_scan(app) -> int:
    """The cron job, as the worker runs it."""
    ctx = {"settings": app.state.runtime.settings, "redis": app.state.redis}
    return await scan_engagement(ctx)


async def all_ways(api: Api, app, venue) -> list[dict]:
    """The counts live, after the write-behind (in the table), and from a cold cache."""
    live = await counts(api, venue)
    await app.state.runtime.live.flush(settle=timedelta(0))
    stats = await ActivityStats.get(activity_id=venue["activity"].id)
    table = {"checkIns": stats.check_ins, "likes": stats.likes, "ratingCount": stats.rating_count}
    await app.state.redis.delete(live_key(venue["activity"].id))
    return [live, table, await counts(api, venue)]


async def visitors(api: Api, n: int, start: int = 0) -> list:
    return [await person(api, f"1396666{start + i:04d}", f"访客{i}") for i in range(n)]


async def evaluated(api: Api, app, venue, province: str = "四川省科学技术协会") -> dict:
    """The inputs of the province's PUBLIC_EVALUATION, after the write-behind."""
    await app.state.runtime.live.flush(settle=timedelta(0))
    staff = venue.get("staff")
    if staff is None:
        staff = venue["staff"] = await member(
            api, "13955559999", await national_organizer(), MemberRole.ADMIN
        )
    rows = (await api.data(EVALUATION, token=staff.token))["evaluation"]["edges"]
    body = next(r["node"] for r in rows if r["node"]["organization"]["name"] == province)
    public = next(x for x in body["scores"] if x["indicator"] == "PUBLIC_EVALUATION")
    return {i["name"]: i["value"] for i in public["inputs"]}


async def queue(api: Api, token: str, status: str | None = "PENDING") -> dict:
    return (await api.data(QUEUE, {"s": status}, token=token))["engagementFlags"]


async def test_new_accounts_from_one_address_are_out_of_the_counts_until_dismissed(
    api: Api, app, venue
):
    honest = (await visitors(api, 1, start=900))[0]
    await api.data(CHECK_IN_OP, {"a": venue["id"], "n": "honest-0001"}, token=honest.token)
    for i, p in enumerate(await visitors(api, 4)):
        done = await api.post(
            CHECK_IN_OP, {"a": venue["id"], "n": f"farm-{i:04d}"}, token=p.token, ip="10.9.9.9"
        )
        assert done["data"]["checkIn"]["errors"] == []
    assert (await counts(api, venue))["checkIns"] == 5

    assert await run_scan(app) == 1
    assert await run_scan(app) == 0  # nothing is flagged twice

    assert (await counts(api, venue))["checkIns"] == 1
    pending = await queue(api, venue["reviewer"].token)
    assert pending["totalCount"] == 1
    flag = pending["edges"][0]["node"]
    assert flag["rule"] == "NEW_ACCOUNTS_ONE_ADDRESS" and flag["checkIns"] == 4
    assert "4个新注册账号" in flag["reason"] and flag["activity"]["title"] == "机器人体验日"
    told = await Notification.filter(
        recipient_id=venue["filer"].user.id, kind=NotificationKind.ENGAGEMENT_FLAGGED
    ).values_list("body", flat=True)
    assert len(told) == 1 and "4个新注册账号" in told[0]
    # the unit and other reviewers do not see the queue's flags
    assert (await queue(api, venue["filer"].token))["totalCount"] == 0
    # nor does the evaluation count the flagged check-ins; a head count weighs half
    await HeadCount.create(
        activity_id=venue["activity"].id, count=10, counted_at=now(), client_nonce="count-001"
    )
    inputs = await evaluated(api, app, venue)
    assert (inputs["check_ins"], inputs["head_count"], inputs["engagement"]) == (1, 10, 6)

    done = await api.data(
        RESOLVE,
        {"id": flag["id"], "fraud": False, "note": "学校机房统一上网"},
        token=venue["reviewer"].token,
    )
    assert done["resolveEngagementFlag"] == {
        "flag": {"status": "DISMISSED", "note": "学校机房统一上网"},
        "errors": [],
    }
    again = await api.data(
        RESOLVE, {"id": flag["id"], "fraud": True}, token=venue["reviewer"].token
    )
    assert again["resolveEngagementFlag"]["errors"] == [{"code": "ALREADY_RESOLVED"}]

    expected = {"checkIns": 5, "likes": 0, "ratingCount": 0}
    assert await all_ways(api, app, venue) == [expected] * 3
    assert (await evaluated(api, app, venue))["check_ins"] == 5
    assert await run_scan(app) == 0  # a dismissed flag's records stay dismissed
    audit = await AuditLog.filter(action__startswith="engagement_flag").values_list(
        "action", flat=True
    )
    assert sorted(audit) == ["engagement_flag_resolved", "engagement_flagged"]
    assert await Notification.filter(kind=NotificationKind.ENGAGEMENT_RESOLVED).count() == 1


async def test_a_confirmed_cohort_stays_out_and_its_accounts_cannot_move_the_counts(
    api: Api, app, venue
):
    cohort = await visitors(api, 3)
    for p in cohort:
        assert (await api.data(LIKE_OP, {"a": venue["id"], "on": True}, token=p.token))["setLike"][
            "errors"
        ] == []
        assert (await api.data(RATE_OP, {"a": venue["id"], "s": 5}, token=p.token))["rateActivity"][
            "errors"
        ] == []
    assert await run_scan(app) == 2  # the likes, and the ratings
    flags = (await queue(api, venue["reviewer"].token))["edges"]
    assert sorted((f["node"]["likes"], f["node"]["ratingCount"]) for f in flags) == [
        (0, 3),
        (3, 0),
    ]
    assert await counts(api, venue) == {"checkIns": 0, "likes": 0, "ratingCount": 0}

    # held: an unlike would take out again what the flag took out; a new rating is refused
    unlike = await api.data(LIKE_OP, {"a": venue["id"], "on": False}, token=cohort[0].token)
    assert unlike["setLike"] == {"engagement": {"likes": 0}, "errors": []}
    rerate = await api.data(RATE_OP, {"a": venue["id"], "s": 1}, token=cohort[0].token)
    assert rerate["rateActivity"]["errors"] == [{"code": "HELD_FOR_REVIEW"}]

    for f in flags:
        done = await api.data(
            RESOLVE, {"id": f["node"]["id"], "fraud": True}, token=venue["reviewer"].token
        )
        assert done["resolveEngagementFlag"]["flag"]["status"] == "CONFIRMED"
    confirmed = await queue(api, venue["reviewer"].token, "CONFIRMED")
    assert confirmed["totalCount"] == 2
    assert {e["node"]["resolvedBy"]["name"] for e in confirmed["edges"]} == {"审核员"}
    # confirmed: out for good, and still held
    assert await all_ways(api, app, venue) == [{"checkIns": 0, "likes": 0, "ratingCount": 0}] * 3
    unlike = await api.data(LIKE_OP, {"a": venue["id"], "on": False}, token=cohort[1].token)
    assert unlike["setLike"]["engagement"] == {"likes": 0}
    # someone else's like counts as ever
    other = (await visitors(api, 1, start=500))[0]
    await api.data(LIKE_OP, {"a": venue["id"], "on": True}, token=other.token)
    assert (await counts(api, venue))["likes"] == 1


async def test_a_unit_never_judges_its_own_numbers(api: Api, app, venue):
    for i, p in enumerate(await visitors(api, 3)):
        await api.post(
            CHECK_IN_OP, {"a": venue["id"], "n": f"farm-{i:04d}"}, token=p.token, ip="10.9.9.9"
        )
    await run_scan(app)
    flag = (await queue(api, venue["reviewer"].token))["edges"][0]["node"]
    # a reviewer who also belongs to the school sees the flag and may not decide it
    await grant(venue["reviewer"].user, venue["unit"], MemberRole.FILER)
    refused = await api.post(
        RESOLVE, {"id": flag["id"], "fraud": False}, token=venue["reviewer"].token
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # the school's own filer is told the flag does not exist, as for any other id
    unknown = await api.data(
        RESOLVE, {"id": flag["id"], "fraud": False}, token=venue["filer"].token
    )
    assert unknown["resolveEngagementFlag"]["errors"] == [{"code": "NOT_FOUND"}]
    assert (await EngagementFlag.get()).status is FlagStatus.PENDING
    assert (await counts(api, venue))["checkIns"] == 0


async def test_two_reviewers_deciding_at_once_move_the_counts_once(api: Api, app, venue):
    for i, p in enumerate(await visitors(api, 3)):
        await api.post(
            CHECK_IN_OP, {"a": venue["id"], "n": f"farm-{i:04d}"}, token=p.token, ip="10.9.9.9"
        )
    # two scans at once flag the records once
    assert sum(await asyncio.gather(run_scan(app), run_scan(app))) == 1
    flag = (await queue(api, venue["reviewer"].token))["edges"][0]["node"]
    second = await make_reviewer(api, "13955550002", PROVINCIAL, "510000")

    answers = await asyncio.gather(
        *(
            api.data(RESOLVE, {"id": flag["id"], "fraud": False}, token=who.token)
            for who in (venue["reviewer"], second, venue["reviewer"], second)
        )
    )

    errors = [a["resolveEngagementFlag"]["errors"] for a in answers]
    assert errors.count([]) == 1
    assert errors.count([{"code": "ALREADY_RESOLVED"}]) == 3
    assert await all_ways(api, app, venue) == [{"checkIns": 3, "likes": 0, "ratingCount": 0}] * 3
