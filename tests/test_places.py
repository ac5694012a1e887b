"""The science map: where activities take place (checked against China and their region, in
any map's coordinate system), the activities near a point, and a region's map as GeoJSON."""

from __future__ import annotations

import math

import httpx
import pytest
from geojson_pydantic import FeatureCollection

from infra.clock import now
from infra.geo import CoordinateSystem, Point, distance_km, from_wgs84, to_wgs84
from models import Activity
from services import places, regions
from services.content import PUBLIC, changed
from tests.browser import PHONE, chromium
from tests.conftest import Api, china, set_now
from tests.factories import activity_input, filing_unit, make_activity, make_campaign
from tests.test_browsing import count_queries

GCJ, BD, WGS = CoordinateSystem.GCJ02, CoordinateSystem.BD09, CoordinateSystem.WGS84
SEATS = dict(regions.seats())
JINJIANG = SEATS["510104"]  # the seat of Chengdu's Jinjiang district
BEIJING = SEATS["110101"]
TOKYO = Point(35.6812, 139.7671)


def moved(point: Point, north_km: float, east_km: float) -> Point:
    """`point` moved so many km north and east (small distances)."""
    dlat = math.degrees(north_km / 6371.0088)
    dlon = math.degrees(east_km / (6371.0088 * math.cos(math.radians(point.latitude))))
    return Point(point.latitude + dlat, point.longitude + dlon)


@pytest.mark.parametrize("system", [GCJ, BD])
@pytest.mark.parametrize(
    "place",
    [JINJIANG, BEIJING, SEATS["650102"], SEATS["460202"], SEATS["230102"], SEATS["540102"]],
)
def test_chinese_map_coordinates_round_trip_within_a_metre(place: Point, system):
    shown = from_wgs84(place, system)

    assert 50 < distance_km(place, shown) * 1000 < 1500  # the offset Chinese maps draw with
    assert distance_km(to_wgs84(shown, system), place) * 1000 < 1.0


def test_the_seats_tell_china_and_the_region():
    assert regions.in_china(JINJIANG) and regions.in_china(moved(JINJIANG, 3, 3))
    assert not regions.in_china(TOKYO)
    assert not regions.in_china(Point(91, 0))


CREATE = """mutation($input: ActivityInput!) { createActivity(input: $input) {
  activity { id wgs: location { latitude longitude } gcj: location(coordinateSystem: GCJ02)
  { latitude longitude coordinateSystem } } errors { field code message } } }"""


@pytest.fixture
async def filer(api: Api):
    await make_campaign()
    _, filer = await filing_unit(api)
    set_now(china("2026-09-10 10:00"))
    return filer


def location(point: Point, system: CoordinateSystem = WGS) -> dict:
    shown = from_wgs84(point, system)
    return {
        "latitude": shown.latitude,
        "longitude": shown.longitude,
        "coordinateSystem": system.value,
    }


async def file(api: Api, filer, **overrides) -> dict:
    form = activity_input(**overrides)
    return (await api.data(CREATE, {"input": form}, token=filer.token))["createActivity"]


async def test_a_place_given_on_a_chinese_map_is_kept_in_wgs84_and_shown_back(api: Api, filer):
    place = moved(JINJIANG, 1.0, -0.5)

    made = await file(api, filer, location=location(place, GCJ))

    assert made["errors"] == []
    wgs, gcj = made["activity"]["wgs"], made["activity"]["gcj"]
    assert distance_km(Point(wgs["latitude"], wgs["longitude"]), place) * 1000 < 1.0
    given = from_wgs84(place, GCJ)
    assert distance_km(Point(gcj["latitude"], gcj["longitude"]), given) * 1000 < 1.0
    stored = await Activity.get()
    assert stored.location is not None and distance_km(stored.location, place) * 1000 < 1.0


async def test_a_place_outside_china_or_the_region_is_refused_and_saves_nothing(api: Api, filer):
    answers = [
        await file(api, filer, location=location(TOKYO)),
        await file(api, filer, location=location(BEIJING, BD)),
        await file(api, filer, location={"latitude": 95.0, "longitude": 104.0}),
    ]

    assert [[(e["field"], e["code"]) for e in a["errors"]] for a in answers] == [
        [("location", "LOCATION_OUTSIDE_CHINA")],
        [("location", "LOCATION_OUTSIDE_REGION")],
        [("location", "INVALID_LOCATION")],
    ]
    assert "锦江区" in answers[1]["errors"][0]["message"]
    assert await Activity.all().count() == 0


async def test_an_online_activity_keeps_no_place(api: Api, filer):
    made = await file(
        api,
        filer,
        form="ONLINE",
        address=None,
        onlineUrl="https://example.org/live",
        location=location(JINJIANG),
    )

    assert made["errors"] == [] and made["activity"]["wgs"] is None


NEAR = """query($lat: Float!, $lon: Float!, $r: Float!, $cs: CoordinateSystem!, $first: Int,
  $after: String) { activitiesNear(latitude: $lat, longitude: $lon, radiusKm: $r,
  coordinateSystem: $cs, first: $first, after: $after) { totalCount
  edges { cursor node { distanceKm activity { title } } } pageInfo { hasNextPage endCursor } } }"""


@pytest.fixture
async def spread(api: Api):
    """Public activities 0.5, 1, 2, 2.9, 3.1 and 20 km from a point in Chengdu (and one 1.5
    km away that is not approved, one without a place)."""
    campaign = await make_campaign()
    unit, _ = await filing_unit(api)
    center = moved(JINJIANG, 0.2, 0.2)
    for km, bearing in ((0.5, 0), (1, 90), (2, 180), (2.9, 270), (3.1, 45), (20, 0)):
        north = km * math.cos(math.radians(bearing))
        east = km * math.sin(math.radians(bearing))
        activity = await make_activity(unit, campaign, title=f"{km}公里")
        place = moved(center, north, east)
        await Activity.filter(id=activity.id).update(
            latitude=place.latitude, longitude=place.longitude
        )
    draft = await make_activity(unit, campaign, title="草稿", status="DRAFT")  # type: ignore[arg-type]
    place = moved(center, 1.5, 0)
    await Activity.filter(id=draft.id).update(latitude=place.latitude, longitude=place.longitude)
    await make_activity(unit, campaign, title="无位置")
    return center


async def near(api: Api, center: Point, radius: float, system=WGS, **more) -> dict:
    shown = from_wgs84(center, system)
    variables = {
        "lat": shown.latitude,
        "lon": shown.longitude,
        "r": radius,
        "cs": system.value,
        **more,
    }
    return (await api.data(NEAR, variables))["activitiesNear"]


async def test_activities_near_a_point_come_nearest_first_within_the_radius(api: Api, spread):
    found = await near(api, spread, 3)
    from_a_chinese_map = await near(api, spread, 3, GCJ)

    titles = [e["node"]["activity"]["title"] for e in found["edges"]]
    assert titles == ["0.5公里", "1公里", "2公里", "2.9公里"]
    assert [round(e["node"]["distanceKm"], 2) for e in found["edges"]] == [0.5, 1.0, 2.0, 2.9]
    assert found["totalCount"] == 4
    # the same, but for a fraction of a millimetre the conversion leaves in the cursors
    assert [e["node"] for e in from_a_chinese_map["edges"]] == [e["node"] for e in found["edges"]]
    assert (await near(api, spread, 30))["totalCount"] == 6


async def test_activities_near_a_point_page_by_keyset(api: Api, spread):
    first = await near(api, spread, 30, first=2)
    rest = await near(api, spread, 30, first=10, after=first["pageInfo"]["endCursor"])

    assert first["pageInfo"]["hasNextPage"] and not rest["pageInfo"]["hasNextPage"]
    titles = [e["node"]["activity"]["title"] for e in first["edges"] + rest["edges"]]
    assert titles == ["0.5公里", "1公里", "2公里", "2.9公里", "3.1公里", "20公里"]


async def test_a_search_too_wide_or_a_bad_cursor_is_refused(api: Api, spread):
    wide = await api.post(NEAR, {"lat": 30.6, "lon": 104.1, "r": 51, "cs": "WGS84"})
    cursor = await api.post(
        NEAR, {"lat": 30.6, "lon": 104.1, "r": 3, "cs": "WGS84", "after": "bm90LWEtY3Vyc29y"}
    )

    assert wide["errors"][0]["extensions"]["code"] == "INVALID"
    assert cursor["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_the_search_reads_the_box_from_the_index_then_the_page(api: Api, spread):
    """The same statements whatever the page size: the places in the box (ids and coordinates
    only), then the page's activities with what a list shows."""
    with count_queries() as small:
        await near(api, spread, 30, first=2)
    with count_queries() as large:
        await near(api, spread, 30, first=6)

    assert len(small) == len(large) == 2
    assert "latitude" in small[0].lower() and "count" not in small[0].lower()


MAP_PATH = "/map/{}.geojson"


async def geojson(api: Api, code: str, headers: dict | None = None, **query):
    transport = httpx.ASGITransport(app=api.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.get(MAP_PATH.format(code), params=query, headers=headers or {})


async def test_a_regions_map_is_geojson_cached_exactly_and_paged(api: Api, spread, monkeypatch):
    response = await geojson(api, "510100", **{"from": "2026-09-20", "to": "2026-09-20"})

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    collection = FeatureCollection.model_validate_json(response.content)  # the spec's model
    assert len(collection.features) == 6  # approved, with a place (the draft is not public)
    first = collection.features[0]
    assert first.geometry is not None and first.properties is not None
    assert first.properties["url"].startswith("http") and first.properties["startsAt"]

    tag = response.headers["etag"]
    again = await geojson(
        api, "510100", {"If-None-Match": tag}, **{"from": "2026-09-20", "to": "2026-09-20"}
    )
    assert again.status_code == 304

    # anything public changing moves the version: the next request gets the new answer
    await Activity.filter(title="20公里").update(deleted_at=now())
    await changed(PUBLIC)
    fresh = await geojson(
        api, "510100", {"If-None-Match": tag}, **{"from": "2026-09-20", "to": "2026-09-20"}
    )
    assert fresh.status_code == 200 and fresh.headers["etag"] != tag
    assert len(fresh.json()["features"]) == 5

    monkeypatch.setattr(places, "MAP_PAGE", 2)
    await changed(PUBLIC)
    pages, path = [], MAP_PATH.format("510100") + "?from=2026-09-20&to=2026-09-20"
    while path:
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            page = (await c.get(path)).json()
        pages.append([f["properties"]["title"] for f in page["features"]])
        path = page.get("next")
    assert [len(p) for p in pages] == [2, 2, 1]
    assert len({t for p in pages for t in p}) == 5


REGION_MAP = """query($r: String!, $a: Date!, $b: Date!, $after: String) {
  regionMap(regionCode: $r, firstDay: $a, lastDay: $b, after: $after) }"""


async def test_the_region_map_is_a_graphql_field_too(api: Api, spread, monkeypatch):
    days = {"r": "510100", "a": "2026-09-20", "b": "2026-09-20"}
    whole = (await api.data(REGION_MAP, days))["regionMap"]
    served = (await geojson(api, "510100", **{"from": "2026-09-20", "to": "2026-09-20"})).json()
    monkeypatch.setattr(places, "MAP_PAGE", 4)
    await changed(PUBLIC)  # anonymous answers are cached until public content changes
    first = (await api.data(REGION_MAP, days))["regionMap"]
    rest = (await api.data(REGION_MAP, {**days, "after": first["nextCursor"]}))["regionMap"]
    wide = await api.post(REGION_MAP, {**days, "b": "2026-12-20"})

    FeatureCollection.model_validate(whole)
    assert whole["features"] == served["features"] and len(whole["features"]) == 6
    assert first["features"] + rest["features"] == whole["features"] and "nextCursor" not in rest
    assert wide["errors"][0]["extensions"]["code"] == "INVALID_TIME"


async def test_a_map_outside_china_or_with_bad_dates_is_refused(api: Api, spread):
    assert (await geojson(api, "999999")).status_code == 404
    assert (
        await geojson(api, "510100", **{"from": "2026-09-20", "to": "2026-12-20"})
    ).status_code == 400
    assert (await geojson(api, "510100", **{"from": "yesterday"})).status_code == 400
    assert (await geojson(api, "510100", coordinateSystem="MARS")).status_code == 400


async def test_the_map_page_shows_the_points_and_the_list_with_no_other_server(
    served, api: Api, spread, tmp_path
):
    set_now(china("2026-09-18 10:00"))  # the week holds the activities of the 20th
    asked: list[str] = []
    async with chromium() as browser:
        context = await browser.new_context(**PHONE)
        await context.route(
            "**/*",
            lambda route: (
                route.continue_() if route.request.url.startswith(served) else route.abort()
            ),
        )
        page = await context.new_page()
        page.on("request", lambda request: asked.append(request.url))
        response = await page.goto(f"{served}/map/510100")
        assert response is not None and response.status == 200
        pins = await page.locator("svg circle.pin").count()
        items = await page.locator("main ul li").all_inner_texts()
        heading = await page.locator("h1").inner_text()
        summary = await page.locator("p.days").inner_text()
        await page.screenshot(path=str(tmp_path / "map.png"), full_page=True)
        unknown = await page.goto(f"{served}/map/999999")
        assert unknown is not None and unknown.status == 404

    assert heading == "成都市科普地图"
    assert summary == "2026-09-18 至 2026-09-24 · 6 个线下活动"
    assert pins == 6 and len(items) == 6
    assert items[0].startswith("1") and "0.5公里" in items[0]
    assert all(url.startswith(served) for url in asked)  # no tiles, fonts or scripts elsewhere


VENUE = """mutation($input: UnitProfileInput!) { saveUnitProfile(input: $input) {
  organization { location(coordinateSystem: GCJ02) { latitude longitude } }
  errors { field code } } }"""


def venue_profile(**more) -> dict:
    return {
        "name": "成都市锦江区实验小学",
        "kind": "SCHOOL",
        "regionCode": "510104",
        "contactName": "填报员",
        "contactPhone": "13911110001",
        "address": "锦江区科普路1号",
        **more,
    }


async def test_a_venue_keeps_a_default_place_its_offline_activities_take(api: Api, filer):
    place = moved(JINJIANG, -0.8, 0.4)
    saved = await api.data(
        VENUE, {"input": venue_profile(location=location(place, GCJ))}, token=filer.token
    )
    elsewhere = await api.data(
        VENUE, {"input": venue_profile(location=location(BEIJING))}, token=filer.token
    )
    kept = await api.data(VENUE, {"input": venue_profile()}, token=filer.token)

    shown = saved["saveUnitProfile"]["organization"]["location"]
    assert distance_km(Point(shown["latitude"], shown["longitude"]), from_wgs84(place, GCJ)) < 0.001
    assert elsewhere["saveUnitProfile"]["errors"] == [
        {"field": "location", "code": "LOCATION_OUTSIDE_REGION"}
    ]
    assert kept["saveUnitProfile"]["organization"]["location"] == shown  # absent: unchanged

    made = await file(api, filer)  # no location of its own
    wgs = made["activity"]["wgs"]
    assert distance_km(Point(wgs["latitude"], wgs["longitude"]), place) * 1000 < 1.0
    elsewhere_activity = await file(api, filer, regionCode="510105")  # another district
    assert elsewhere_activity["errors"] == [] and elsewhere_activity["activity"]["wgs"] is None
