"""A region's map as GeoJSON (`/map/<regionCode>.geojson`): the public activities with a place
that start on the days asked for, for web maps and apps; and as a page (`/map/<regionCode>`).

    /map/510100.geojson?from=2026-09-20&to=2026-09-21&coordinateSystem=GCJ02&after=<cursor>

`from` and `to` are China dates (default: today, and a week on; at most 31 days). Coordinates are
WGS-84 as RFC 7946 says, unless `coordinateSystem` asks for a Chinese map's. A page holds 1,000
features at most; the collection's `next` member gives the address of the following page.

An answer is cached exactly like the API's public answers: its ETag names the version of public
content (`services.content`) it was built under, a request that sends it back gets 304 until
something public changes, and the body is kept in Redis under that version for every process.
"""

from __future__ import annotations

import hashlib
import math
from datetime import date, timedelta
from urllib.parse import urlencode

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from infra import bus, sql
from infra.clock import today
from infra.errors import ServiceError
from infra.geo import CoordinateSystem, Point
from kepuri import pages
from schema.pagination import decode_cursor, exact_int, iso_datetime
from services import places, regions
from services.content import PUBLIC
from services.regions import get_region

MEDIA_TYPE = "application/geo+json"
KEEP_SECONDS = 3600


def _refused(message: str, status: int = 400) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def _dates(request: Request) -> tuple[date, date] | str:
    try:
        first = date.fromisoformat(request.query_params.get("from") or today().isoformat())
        last = date.fromisoformat(
            request.query_params.get("to") or (first + timedelta(days=7)).isoformat()
        )
    except ValueError:
        return "from 和 to 须为日期（YYYY-MM-DD）"
    try:
        places.check_days(first, last)
    except ServiceError as error:
        return error.errors[0].message
    return first, last


async def region_geojson(request: Request) -> Response:
    region = await get_region(request.path_params["code"])
    if region is None:
        return _refused("行政区划代码无效", 404)
    dates = _dates(request)
    if isinstance(dates, str):
        return _refused(dates)
    try:
        system = CoordinateSystem(request.query_params.get("coordinateSystem") or "WGS84")
    except ValueError:
        return _refused("coordinateSystem 须为 WGS84、GCJ02 或 BD09")
    cursor = request.query_params.get("after")
    after = None
    if cursor:
        try:
            moment, pk = decode_cursor(cursor, (iso_datetime, exact_int))
        except GraphQLError:
            return _refused("分页游标无效")
        after = (moment, pk)
    settings = request.app.state.runtime.settings
    asked = [region.code, *map(str, dates), system.value, cursor or ""]
    digest = hashlib.sha256("|".join(asked).encode()).hexdigest()[:24]
    redis = bus.shared()
    version = (await bus.versions((PUBLIC,), redis))[0] if redis is not None else None
    tag = f'W/"{version}-{digest}"' if version is not None else None
    headers = {"Cache-Control": f"public, max-age={settings.public_max_age}", "Vary": "Accept"}
    if tag is not None:
        headers["ETag"] = tag
        if request.headers.get("if-none-match") == tag:
            return Response(status_code=304, headers=headers)
    key = bus.channel_key(f"map:{version}:{digest}", redis) if redis is not None else None
    body = await redis.get(key) if redis is not None and key is not None else None
    if body is None:
        with sql.reads_from(sql.PRIMARY):  # kept for the version: a lagging replica may not have it
            page = await places.region_map(region, *dates, after, system, settings.public_base_url)
        collection = page.collection(region, system)
        if page.after is not None:
            query = {
                "from": dates[0].isoformat(),
                "to": dates[1].isoformat(),
                "coordinateSystem": system.value,
                "after": collection["nextCursor"],
            }
            collection["next"] = f"{request.url.path}?{urlencode(query)}"
        body = orjson.dumps(collection)
        if redis is not None and key is not None:
            await redis.set(key, body, ex=KEEP_SECONDS)
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


PAGE_PINS = 200  # the points a page draws (the GeoJSON holds them all)
MAP_WIDTH = 360  # the drawing's units: about a phone's CSS pixels
MAP_HEIGHT = 480
MARGIN = 16


async def region_page(request: Request) -> Response:
    """A region's science map for a phone (`/map/<regionCode>`): the week's activities as
    numbered points drawn on the page itself, over the seats of the divisions around them, and
    the same numbers in a list. Nothing comes from another server: no tiles, no script."""
    region = await get_region(request.path_params["code"])
    if region is None:
        return pages.render("not_found.html", 404)
    try:
        first = date.fromisoformat(request.query_params.get("from") or today().isoformat())
    except ValueError:
        first = today()
    last = first + timedelta(days=6)
    settings = request.app.state.runtime.settings
    with sql.reads_from(sql.REPLICA):
        page = await places.region_map(
            region, first, last, None, CoordinateSystem.WGS84, settings.public_base_url
        )
    features = page.features[:PAGE_PINS]
    points = [Point(*reversed(f["geometry"]["coordinates"])) for f in features]
    project = _Projection(points)
    pins = []
    for number, (feature, point) in enumerate(zip(features, points, strict=True), 1):
        x, y = project(point)
        facts = feature["properties"]
        pins.append(
            {
                "number": number,
                "x": x,
                "y": y,
                "title": facts["title"],
                "url": facts["url"] or "#",
                "address": facts["address"],
                "time": facts["startsAt"][5:16].replace("T", " "),
            }
        )
    return pages.render(
        "map.html",
        region=region.name,
        first=first.isoformat(),
        last=last.isoformat(),
        previous=(first - timedelta(days=7)).isoformat(),
        next=(first + timedelta(days=7)).isoformat(),
        pins=pins,
        seats=await _seats_within(points, project),
        total=len(page.features),
        complete=page.after is None,  # else more than one answer of the GeoJSON holds
        shown=len(pins),
        width=MAP_WIDTH,
        height=project.height,
        scale=project.scale_bar(),
    )


class _Projection:
    """Equirectangular, scaled at the middle latitude (true enough for a city or a province),
    fitted into the drawing whichever way the points spread."""

    def __init__(self, points: list[Point]) -> None:
        pad = 0.01
        south = min((p.latitude for p in points), default=0) - pad
        north = max((p.latitude for p in points), default=0) + pad
        west = min((p.longitude for p in points), default=0) - pad
        east = max((p.longitude for p in points), default=0) + pad
        self.squeeze = math.cos(math.radians((south + north) / 2))
        self.north, self.west, self.south, self.east = north, west, south, east
        wide, tall = (east - west) * self.squeeze, north - south
        self.scale = min((MAP_WIDTH - 2 * MARGIN) / wide, (MAP_HEIGHT - 2 * MARGIN) / tall)
        self.height = round(tall * self.scale + 2 * MARGIN)
        self.left = (MAP_WIDTH - wide * self.scale) / 2  # centred across

    def __call__(self, point: Point) -> tuple[float, float]:
        x = self.left + (point.longitude - self.west) * self.squeeze * self.scale
        y = MARGIN + (self.north - point.latitude) * self.scale
        return round(x, 1), round(y, 1)

    def scale_bar(self) -> tuple[float, str]:
        """A round distance about a quarter of the drawing wide: its length and its label."""
        per_km = self.scale / 111.195  # drawing units per km (a degree of latitude: 111.195 km)
        wanted = (MAP_WIDTH / 4) / per_km
        km = max(
            (k for k in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500) if k <= wanted),
            default=0.1,
        )
        return round(km * per_km, 1), (f"{km:g} 公里" if km >= 1 else f"{km * 1000:g} 米")

    def holds(self, point: Point) -> bool:
        return (
            self.south <= point.latitude <= self.north and self.west <= point.longitude <= self.east
        )


async def _seats_within(points: list[Point], project: _Projection) -> list[dict[str, object]]:
    """The divisions' seats on the drawn area, named, for a sense of where the points are."""
    if not points:
        return []
    inside = [(code, p) for code, p in regions.seats() if project.holds(p)][:40]
    named = await regions.get_regions([code for code, _ in inside])
    return [
        {"x": project(p)[0], "y": project(p)[1], "name": found.name}
        for (_, p), found in zip(inside, named, strict=True)
        if found is not None
    ]
