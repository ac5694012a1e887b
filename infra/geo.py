"""Points on the earth: stored in WGS-84, given and shown in the systems Chinese maps use.

Chinese map services draw in GCJ-02 (AutoNavi/高德, Tencent, Google in China) or Baidu's BD-09,
offsets of a few hundred metres from WGS-84 (GPS). Every coordinate the API takes or gives names
its system and is converted here with `prcoords` (public domain; its "bored" inverses iterate to
well under a millimetre), so that a pin dropped on a Chinese map lands where the activity is.
Distances are great-circle (haversine) on the mean earth radius.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

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

    def is_valid(self) -> bool:
        return (
            math.isfinite(self.latitude)
            and math.isfinite(self.longitude)
            and -90 <= self.latitude <= 90
            and -180 <= self.longitude <= 180
        )


def _offset(given: prcoords.Coords) -> bool:
    """Whether Chinese maps offset the point at all (none outside China: prcoords would
    return it as it is, and warn)."""
    return bool(prcoords.sanity_in_china_p(given))


def to_wgs84(point: Point, system: CoordinateSystem) -> Point:
    """A point given in `system`, in WGS-84."""
    given = prcoords.Coords(point.latitude, point.longitude)
    if not _offset(given):
        return point
    if system is CoordinateSystem.GCJ02:
        given = prcoords.gcj_wgs_bored(given)
    elif system is CoordinateSystem.BD09:
        given = prcoords.bd_wgs_bored(given)
    return Point(given.lat, given.lon)


def from_wgs84(point: Point, system: CoordinateSystem) -> Point:
    """A WGS-84 point, in `system`."""
    given = prcoords.Coords(point.latitude, point.longitude)
    if not _offset(given):
        return point
    if system is CoordinateSystem.GCJ02:
        given = prcoords.wgs_gcj(given)
    elif system is CoordinateSystem.BD09:
        given = prcoords.wgs_bd(given)
    return Point(given.lat, given.lon)


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
