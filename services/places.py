"""Where public activities take place: the ones near a point, and a region's map.

Activities keep their place in WGS-84 (`infra.geo`), indexed by latitude then longitude: a
search takes the box around its circle from the index, then keeps what lies within the radius
by the exact distance, nearest first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from tortoise.expressions import Q

from infra import sql
from infra.clock import CHINA
from infra.errors import Collector, ServiceError
from infra.geo import CoordinateSystem, Point, box_around, distance_km, from_wgs84
from infra.ids import encode_cursor, to_global_id
from models import Activity, Region
from models.enums import ActivityStatus
from services.activities import public
from services.errors import ActivityErrorCode
from services.regions import subtree

MAX_RADIUS_KM = 50.0


@dataclass(frozen=True, order=True)
class Near:
    distance_km: float
    activity_id: int


def check_search(center: Point, radius_km: float) -> None:
    errors = Collector()
    if not center.is_valid():
        errors.add(ActivityErrorCode.INVALID_LOCATION, "经纬度无效", "latitude")
    if not 0 < radius_km <= MAX_RADIUS_KM:
        errors.add(
            ActivityErrorCode.INVALID, f"搜索半径须大于0、不超过{MAX_RADIUS_KM:g}公里", "radiusKm"
        )
    errors.raise_if_any()


# the box from the index (status, latitude, longitude), then what is public: written once
_BOX = sql.Statement(
    """
    SELECT id, latitude, longitude FROM activities
    WHERE status = :status AND latitude >= :south AND latitude <= :north
      AND longitude >= :west AND longitude <= :east
      AND show_on_cloud = :shown AND deleted_at IS NULL
      AND starts_at >= :after AND starts_at < :before
    """
)
_EVER = (datetime(1900, 1, 1, tzinfo=CHINA), datetime(2200, 1, 1, tzinfo=CHINA))


async def near(
    center: Point,
    radius_km: float,
    starts_after: datetime | None = None,
    starts_before: datetime | None = None,
) -> list[Near]:
    """Public activities within `radius_km` of `center` (WGS-84), nearest first (equal
    distances by id), each with its distance."""
    check_search(center, radius_km)
    box = box_around(center, radius_km)
    stamp = Activity._meta.fields_map["starts_at"].to_db_value
    rows = await _BOX.rows(
        status=ActivityStatus.APPROVED.value,
        shown=True,
        south=box.south,
        north=box.north,
        west=box.west,
        east=box.east,
        after=stamp(starts_after or _EVER[0], Activity),
        before=stamp(starts_before or _EVER[1], Activity),
    )
    found = []
    for row in rows:
        distance = distance_km(center, Point(row["latitude"], row["longitude"]))
        if distance <= radius_km:
            found.append(Near(distance, row["id"]))
    found.sort()
    return found


MAP_PAGE = 1000  # features in one answer (about 300 bytes each); the rest through `next`
MAP_DAYS = 31  # the longest date range of a map


@dataclass(frozen=True)
class MapPage:
    features: list[dict[str, Any]]
    after: tuple[datetime, int] | None  # where the next page starts, if there is one

    def collection(self, region: Region, system: CoordinateSystem) -> dict[str, Any]:
        """The page as a GeoJSON FeatureCollection (with members of its own: the region, the
        coordinate system, and `nextCursor` when there is more)."""
        collection: dict[str, Any] = {
            "type": "FeatureCollection",
            "features": self.features,
            "region": {"code": region.code, "name": region.name},
            "coordinateSystem": system.value,
        }
        if self.after is not None:
            collection["nextCursor"] = encode_cursor(list(self.after))
        return collection


def check_days(first_day: date, last_day: date) -> None:
    if not 0 <= (last_day - first_day).days < MAP_DAYS:
        raise ServiceError.of(
            ActivityErrorCode.INVALID_TIME, f"日期范围须为1至{MAP_DAYS}天", "lastDay"
        )


async def region_map(
    region: Region,
    first_day: date,
    last_day: date,
    after: tuple[datetime, int] | None,
    system: CoordinateSystem,
    base_url: str,
) -> MapPage:
    """The public activities of a region's subtree that start on the days given (China time)
    and have a place, as GeoJSON features in time order (RFC 7946 wants WGS-84; `system` gives
    the coordinates of Chinese maps instead), a page of them."""
    starts = datetime.combine(first_day, time(), CHINA)
    ends = datetime.combine(last_day + timedelta(days=1), time(), CHINA)
    check_days(first_day, last_day)
    query = public().filter(
        subtree(region), starts_at__gte=starts, starts_at__lt=ends, latitude__isnull=False
    )
    if after is not None:
        moment, pk = after
        query = query.filter(Q(starts_at__gt=moment) | Q(starts_at=moment, id__gt=pk))
    rows = await query.order_by("starts_at", "id").limit(MAP_PAGE + 1)
    features = [_feature(row, system, base_url) for row in rows[:MAP_PAGE]]
    more = len(rows) > MAP_PAGE
    last = rows[MAP_PAGE - 1] if more else None
    return MapPage(features, (last.starts_at, last.id) if last else None)


def _feature(activity: Activity, system: CoordinateSystem, base_url: str) -> dict[str, Any]:
    point = activity.location
    assert point is not None
    shown = from_wgs84(point, system)
    return {
        "type": "Feature",
        "id": to_global_id("Activity", activity.id),
        "geometry": {
            "type": "Point",
            "coordinates": [round(shown.longitude, 6), round(shown.latitude, 6)],
        },
        "properties": {
            "title": activity.title,
            "form": activity.form.value,
            "startsAt": activity.starts_at.astimezone(CHINA).isoformat(),
            "endsAt": activity.ends_at.astimezone(CHINA).isoformat(),
            "address": activity.address,
            "hostUnits": activity.host_units,
            "regionCode": activity.region_id,
            "url": f"{base_url}/a/{activity.qr_token}" if activity.qr_token else None,
        },
    }
