"""The demo data of `make run`: what the README promises is there, and loading it twice adds
nothing."""

from __future__ import annotations

from datetime import date, datetime

import httpx

from infra.clock import CHINA, now, today
from kepuri.demo import DEMO_ACCOUNTS, current_season, seed_demo
from models import (
    Activity,
    ActivityStats,
    Campaign,
    Commendation,
    Organization,
    PhaseWindow,
    User,
    Volunteer,
)
from models.enums import ActivityForm, ActivityStatus, Phase
from schema.ids import to_global_id
from services.campaigns import campaign_of_year, windows_for
from services.regions import get_region, in_region
from tests.conftest import Api
from tests.factories import sign_in

SEASON_2020 = """{ commendations(year: 2020) { totalCount
  edges { node { holderName certificate { serial } } } } }"""
ROUTES = '{ routes(regionCode: "510000") { edges { node { name stops { id } } } } }'
VERIFY = "query($serial: String!) { verifyCertificate(serial: $serial) { valid holderName } }"


async def test_demo_data_is_complete_and_idempotent(api: Api):
    await seed_demo()
    counts = (
        await User.all().count(),
        await Activity.all().count(),
        await PhaseWindow.all().count(),
        await Commendation.all().count(),
        await Volunteer.all().count(),
    )
    await seed_demo()

    assert (
        await User.all().count(),
        await Activity.all().count(),
        await PhaseWindow.all().count(),
        await Commendation.all().count(),
        await Volunteer.all().count(),
    ) == counts
    assert counts[-1] == 2  # the school's volunteers at its activity under way
    # the end of the 2020 season: final lists whose serials verify
    final = (await api.data(SEASON_2020))["commendations"]
    assert final["totalCount"] == 3
    serial = final["edges"][0]["node"]["certificate"]["serial"]
    verified = (await api.data(VERIFY, {"serial": serial}))["verifyCertificate"]
    assert verified["valid"] and verified["holderName"] == "成都市锦江区实验小学"
    assert {a.phone for a in DEMO_ACCOUNTS} <= set(await User.all().values_list("phone", flat=True))
    assert await sign_in(api, "13800000004", "Kepuri2026")

    current = await campaign_of_year(None)
    assert current is not None and current.year == now().year
    filing = (await windows_for(current.id, None))[Phase.FILING]
    assert filing.opens_at < now() < filing.closes_at
    later = await windows_for(current.id, None)
    # the season is under way, filing opened before it, the activities lie inside it
    assert current.starts_on <= today() <= current.ends_on
    assert local_day(filing.opens_at) < current.starts_on
    assert local_day(filing.closes_at) == current.ends_on
    assert local_day(later[Phase.RECOMMENDATION].opens_at) > current.ends_on
    spans = await Activity.filter(campaign=current).values_list("starts_at", "ends_at")
    assert all(
        current.starts_on <= local_day(starts) and local_day(ends) <= current.ends_on
        for starts, ends in spans
    )
    assert min(s for s, _ in spans) < now() < max(s for s, _ in spans)  # some ahead, some past
    assert all(later[p].closes_at > now() for p in (Phase.SUPPLEMENT, Phase.SUMMARY))
    statuses = set(await Activity.filter(campaign=current).values_list("status", flat=True))
    assert statuses == set(ActivityStatus)
    assert 200 <= await Activity.filter(campaign=current).count() <= 400
    assert len(set(await Activity.all().values_list("province_code", flat=True))) >= 5

    c2020 = await Campaign.get(year=2020)
    sichuan = await windows_for(c2020.id, await get_region("510104"))
    qinghai = await windows_for(c2020.id, await get_region("630102"))
    assert sichuan[Phase.FILING].closes_at.day == 21
    assert qinghai[Phase.FILING].closes_at.day == 25
    assert await Campaign.filter(year=2023).exists()


def local_day(moment: datetime) -> date:
    return moment.astimezone(CHINA).date()


def test_the_demo_season_is_under_way_and_inside_its_year():
    for day in (date(2026, 1, 1), date(2026, 1, 5), date(2026, 6, 15), date(2026, 12, 31)):
        starts, ends = current_season(day)
        assert starts <= day <= ends
        assert starts.year == ends.year == day.year
        assert (ends - starts).days == 29
    assert current_season(date(2026, 6, 15))[0] == date(2026, 6, 5)  # ten days in


COMMENTS = """query($id: ID!) { activity(id: $id) { engagement { comments } }
  comments(activityId: $id, first: 10) { totalCount } }"""
QUEUE = "{ reviewQueue(first: 50) { totalCount edges { node { title region { code } } } } }"
MINE = "{ myActivities(first: 50) { edges { node { title status label posterUrl } } } }"


async def test_the_demo_tells_one_story(api: Api):
    """Every account has something to do; units have their own contacts; approved activities
    carry posters and some engagement, so reports, schedules and the QR page show something."""
    await seed_demo()
    current = await campaign_of_year(None)
    assert current is not None

    reviewer = await sign_in(api, "13800000003", "Kepuri2026")  # the Chengdu association
    queue = (await api.data(QUEUE, token=reviewer))["reviewQueue"]
    assert queue["totalCount"] > 0
    assert all(e["node"]["region"]["code"].startswith("5101") for e in queue["edges"])

    filer = await sign_in(api, "13800000004", "Kepuri2026")  # the Jinjiang school
    mine = (await api.data(MINE, token=filer))["myActivities"]["edges"]
    this_season = {e["node"]["status"] for e in mine if str(current.year) in e["node"]["label"]}
    assert this_season == {"DRAFT", "PENDING_REVIEW", "APPROVED"}

    demo_units = Organization.filter(intro="演示单位")
    assert await demo_units.count() > 20
    phones = await demo_units.values_list("contact_phone", flat=True)
    assert len(set(phones)) == len(phones)

    approved = Activity.filter(campaign=current, status=ActivityStatus.APPROVED)
    assert await approved.filter(poster=None).count() == 0
    posters = set(await approved.values_list("poster", flat=True))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="http://testserver"
    ) as client:
        for poster in posters:  # as the QR page and the clients fetch them
            response = await client.get(f"/media/{poster}")
            assert response.status_code == 200, poster
            assert response.headers["content-type"] == "image/jpeg"
    begun = await approved.filter(starts_at__lt=now()).values_list("id", flat=True)
    check_ins = await ActivityStats.filter(activity_id__in=begun).values_list(
        "check_ins", flat=True
    )
    assert begun and min(check_ins) > 0
    # the school's activity under way, behind its QR code: visitors have commented on it
    under_way = await Activity.get(title="【演示】锦江实验小学“小小科学家”课堂")
    assert under_way.starts_at < now() < under_way.ends_at
    shown = await api.data(COMMENTS, {"id": to_global_id("Activity", under_way.id)})
    assert shown["comments"]["totalCount"] == shown["activity"]["engagement"]["comments"] == 3
    # offline activities are on the map (each in its county, as filing checks), and Chengdu
    # has a science route through some of them
    placed = await approved.exclude(form=ActivityForm.ONLINE).prefetch_related("region")
    assert placed and all(a.location is not None for a in placed)
    for activity in placed[:30]:
        assert activity.location is not None and in_region(activity.location, activity.region)
    assert await Activity.filter(form=ActivityForm.ONLINE, latitude__isnull=False).count() == 0
    routes = (await api.data(ROUTES))["routes"]["edges"]
    assert [len(r["node"]["stops"]) for r in routes] == [3]
