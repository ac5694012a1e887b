"""A region's map as GeoJSON (`/map/<regionCode>.geojson`): the public activities with a place
that start on the days asked for, for web maps and apps.

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
from datetime import date, timedelta
from urllib.parse import urlencode

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from infra import bus, sql
from infra.clock import today
from infra.geo import CoordinateSystem
from infra.ids import encode_cursor
from schema.pagination import decode_cursor, exact_int, iso_datetime
from services import places
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
    if last < first or (last - first).days >= places.MAP_DAYS:
        return f"日期范围须为1至{places.MAP_DAYS}天"
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
        collection: dict[str, object] = {
            "type": "FeatureCollection",
            "features": page.features,
            "region": {"code": region.code, "name": region.name},
            "coordinateSystem": system.value,
        }
        if page.after is not None:
            query = {
                "from": dates[0].isoformat(),
                "to": dates[1].isoformat(),
                "coordinateSystem": system.value,
                "after": encode_cursor(list(page.after)),
            }
            collection["next"] = f"{request.url.path}?{urlencode(query)}"
        body = orjson.dumps(collection)
        if redis is not None and key is not None:
            await redis.set(key, body, ex=KEEP_SECONDS)
    return Response(body, media_type=MEDIA_TYPE, headers=headers)
