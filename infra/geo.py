"""Points on the earth: stored in WGS-84, given and shown in the systems Chinese maps use.

Chinese map services draw in GCJ-02 (AutoNavi/高德, Tencent, Google in China) or Baidu's BD-09,
offsets of a few hundred metres from WGS-84 (GPS). Every coordinate the API takes or gives names
its system and is converted here with `prcoords` (public domain; its "bored" inverses iterate to
well under a millimetre), so that a pin dropped on a Chinese map lands where the activity is.
Distances are great-circle (haversine) on the mean earth radius.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import prcoords

EARTH_KM = 6371.0088  # mean radius (IUGG)


class CoordinateSystem(StrEnum):
    WGS84 = "WGS84"  # GPS, OpenStreetMap
    GCJ02 = "GCJ02"  # AutoNavi (高德), Tencent, Google in China
    BD09 = "BD09"  # Baidu


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float

    @classmethod
    def at(cls, latitude: float | None, longitude: float | None) -> Point | None:
        """The point of two stored columns; None where a place was not given."""
        if latitude is None or longitude is None:
            return None
        return cls(latitude, longitude)

    def is_valid(self) -> bool:
        return (
            math.isfinite(self.latitude)
            and math.isfinite(self.longitude)
            and -90 <= self.latitude <= 90
            and -180 <= self.longitude <= 180
        )


# prcoords' conversions of each system to WGS-84 and back
_TO_WGS84 = {
    CoordinateSystem.GCJ02: prcoords.gcj_wgs_bored,
    CoordinateSystem.BD09: prcoords.bd_wgs_bored,
}
_FROM_WGS84 = {CoordinateSystem.GCJ02: prcoords.wgs_gcj, CoordinateSystem.BD09: prcoords.wgs_bd}


def _converted(point: Point, convert: Callable[[Any], Any] | None) -> Point:
    """`point` through one of prcoords' conversions; as it is where there is none (WGS-84), and
    where Chinese maps offset nothing: outside China, or not a point on the earth at all
    (prcoords would return those as they are, and warn)."""
    given = prcoords.Coords(point.latitude, point.longitude)
    if convert is None or not prcoords.sanity_in_china_p(given):
        return point
    moved = convert(given)
    return Point(moved.lat, moved.lon)


def to_wgs84(point: Point, system: CoordinateSystem) -> Point:
    """A point given in `system`, in WGS-84."""
    return _converted(point, _TO_WGS84.get(system))


def from_wgs84(point: Point, system: CoordinateSystem) -> Point:
    """A WGS-84 point, in `system`."""
    return _converted(point, _FROM_WGS84.get(system))


def distance_km(a: Point, b: Point) -> float:
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_KM * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class Box:
    """A latitude/longitude box (what an index can range over)."""

    south: float
    north: float
    west: float
    east: float


def box_around(center: Point, radius_km: float) -> Box:
    """The smallest box holding every point within `radius_km` of `center` (China lies far from
    the poles and the antimeridian, which this does not handle)."""
    dlat = math.degrees(radius_km / EARTH_KM)
    # the widest longitude span is at the latitude nearest the pole within the circle
    widest = min(89.0, abs(center.latitude) + dlat)
    dlon = math.degrees(radius_km / (EARTH_KM * math.cos(math.radians(widest))))
    return Box(
        center.latitude - dlat,
        center.latitude + dlat,
        center.longitude - dlon,
        center.longitude + dlon,
    )
