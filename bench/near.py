"""`activitiesNear` over 100,000 activities against a hand-written query over the same index.

    .venv/bin/python -m bench.near [--backend embedded|servers] [--activities N] [--calls N]

Seeds public activities around the seats of China's counties (each within 15 km of one, cities
denser: several per county), then searches at 3 km and 30 km around random seats, each search
made both ways in turn with the same centres, three interleaved rounds:

- kepuri: `services.places.near` (the box from the index through Tortoise, the exact distance,
  nearest first) and the first page of 20 activities with what a list shows, as the resolver does;
- baseline: the same two statements written by hand on the driver (asyncpg or aiosqlite), the
  distance computed the same way, rows as tuples.

Prints the median searches a second of each and the ratio kepuri / baseline, the rows the box
held against those within the radius, and the plan the database chose for the box (the index).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import sys
import time
from typing import Any

from bench.documents import this_years_school
from bench.setup import bench_environment

ROUNDS = 3
PAGE = 20


async def seed(count: int) -> list[tuple[float, float]]:
    """`count` approved activities near county seats; returns the seats (latitude, longitude)."""
    from infra.clock import now
    from models import Activity, Organization
    from models.enums import ActivityForm, ActivityStatus, OrganizationKind
    from services.regions import get_region, seats

    rng = random.Random(20260920)
    places = [(code, p) for code, p in seats() if not code.startswith(("71", "81", "82"))]
    moment = now()
    campaign, unit = await this_years_school("压测学校")
    province = await Organization.filter(kind=OrganizationKind.PROVINCIAL_ASSOCIATION).first()
    assert province is not None
    batch: list[Activity] = []
    for i in range(count):
        code, seat = rng.choice(places)
        region = await get_region(code)
        if region is None:
            continue
        distance, bearing = 15 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        latitude = seat.latitude + math.degrees(distance * math.cos(bearing) / 6371.0)
        longitude = seat.longitude + math.degrees(
            distance * math.sin(bearing) / (6371.0 * math.cos(math.radians(seat.latitude)))
        )
        batch.append(
            Activity(
                campaign=campaign,
                organization=unit,
                title=f"压测活动{i}",
                description="压测",
                form=ActivityForm.OFFLINE,
                starts_at=moment,
                ends_at=moment,
                region_id=region.code,
                province_code=region.province_code,
                prefecture_code=region.prefecture_code,
                address="压测路",
                latitude=latitude,
                longitude=longitude,
                supervisor_kind=OrganizationKind.OTHER,
                supervisor=province,
                host_units=["压测学校"],
                status=ActivityStatus.APPROVED,
            )
        )
        if len(batch) == 2000:
            await Activity.bulk_create(batch)
            batch = []
    if batch:
        await Activity.bulk_create(batch)
    return [(p.latitude, p.longitude) for _, p in places]


class Baseline:
    """The same search written by hand on the driver."""

    BOX = (
        "SELECT id, latitude, longitude FROM activities WHERE status = 'APPROVED' "
        "AND show_on_cloud AND deleted_at IS NULL AND latitude >= {0} AND latitude <= {1} "
        "AND longitude >= {2} AND longitude <= {3}"
    )
    PAGE = (
        "SELECT a.*, c.name, o.name FROM activities a JOIN campaigns c ON c.id = a.campaign_id "
        "JOIN organizations o ON o.id = a.organization_id WHERE a.id IN ({0})"
    )

    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith("postgres")
        self.connection: Any = None

    async def open(self, sqlite_path: str) -> None:
        if self.postgres:
            import asyncpg

            self.connection = await asyncpg.connect(
                self.url.replace("postgres://", "postgresql://")
            )
        else:
            import aiosqlite

            self.connection = await aiosqlite.connect(sqlite_path)

    async def close(self) -> None:
        await self.connection.close()

    def _marks(self, n: int, start: int = 1) -> list[str]:
        return [f"${i}" for i in range(start, start + n)] if self.postgres else ["?"] * n

    async def rows(self, sql: str, *values: Any) -> list[Any]:
        if self.postgres:
            return list(await self.connection.fetch(sql, *values))
        async with self.connection.execute(sql, values) as cursor:
            return list(await cursor.fetchall())

    async def near(self, latitude: float, longitude: float, radius: float) -> list[Any]:
        from infra.geo import Point, box_around, distance_km

        center = Point(latitude, longitude)
        box = box_around(center, radius)
        found = []
        sql = self.BOX.format(*self._marks(4))
        for pk, lat, lon in await self.rows(sql, box.south, box.north, box.west, box.east):
            d = distance_km(center, Point(lat, lon))
            if d <= radius:
                found.append((d, pk))
        found.sort()
        page = [pk for _, pk in found[:PAGE]]
        if page:
            await self.rows(self.PAGE.format(", ".join(self._marks(len(page)))), *page)
        return found

    async def plan(self, latitude: float, longitude: float, radius: float) -> str:
        from infra.geo import Point, box_around

        box = box_around(Point(latitude, longitude), radius)
        sql = self.BOX.format(*self._marks(4))
        explain = "EXPLAIN " if self.postgres else "EXPLAIN QUERY PLAN "
        rows = await self.rows(explain + sql, box.south, box.north, box.west, box.east)
        return " | ".join(str(row[-1]) for row in rows)


async def kepuri_near(latitude: float, longitude: float, radius: float) -> list[Any]:
    """What the resolver does: the search, then its first page with what a list shows."""
    from infra.geo import Point
    from resolvers.activities import listed_by_id
    from services import places

    found = await places.near(Point(latitude, longitude), radius)
    await listed_by_id([n.activity_id for n in found[:PAGE]])
    return found


async def rate(search: Any, centres: list[tuple[float, float]], radius: float) -> float:
    started = time.perf_counter()
    for latitude, longitude in centres:
        await search(latitude, longitude, radius)
    return len(centres) / (time.perf_counter() - started)


async def run(backend: str, count: int, calls: int) -> dict[str, Any]:
    async with bench_environment(backend, "near", 13) as settings:
        started = time.perf_counter()
        seats = await seed(count)
        seeded = time.perf_counter() - started
        baseline = Baseline(settings.db_url)
        await baseline.open(str(settings.var_dir / "kepuri.sqlite3"))
        rng = random.Random(7)
        results: dict[str, Any] = {"seeded_seconds": round(seeded, 1), "radii": {}}
        try:
            for radius in (3.0, 30.0):
                centres = [rng.choice(seats) for _ in range(calls)]
                # the same answers, both ways
                for latitude, longitude in centres[:20]:
                    mine = [
                        (round(n.distance_km, 9), n.activity_id)
                        for n in await kepuri_near(latitude, longitude, radius)
                    ]
                    theirs = [
                        (round(d, 9), pk)
                        for d, pk in await baseline.near(latitude, longitude, radius)
                    ]
                    assert mine == theirs, "kepuri and the baseline disagree"
                rounds: dict[str, list[float]] = {"kepuri": [], "baseline": []}
                for _ in range(ROUNDS):
                    rounds["kepuri"].append(await rate(kepuri_near, centres, radius))
                    rounds["baseline"].append(await rate(baseline.near, centres, radius))
                sizes = [len(await baseline.near(la, lo, radius)) for la, lo in centres[:50]]
                results["radii"][radius] = {
                    "kepuri": statistics.median(rounds["kepuri"]),
                    "baseline": statistics.median(rounds["baseline"]),
                    "found_median": statistics.median(sizes),
                    "plan": await baseline.plan(*centres[0], radius),
                }
        finally:
            await baseline.close()
        return results


def report(backend: str, count: int, results: dict[str, Any]) -> None:
    print(
        f"\n== activitiesNear, {backend}, {count:,} activities "
        f"(seeded in {results['seeded_seconds']} s), median of {ROUNDS} rounds"
    )
    head = f"{'radius':>8} {'kepuri /s':>10} {'baseline /s':>12} {'ratio':>6} {'found':>6}"
    print(f"{head}  plan of the box")
    for radius, r in results["radii"].items():
        print(
            f"{radius:>6g}km {r['kepuri']:>10.0f} {r['baseline']:>12.0f} "
            f"{r['kepuri'] / r['baseline']:>6.2f} {r['found_median']:>6.0f}  {r['plan'][:90]}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["embedded", "servers"], default="embedded")
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    results = asyncio.run(run(args.backend, args.activities, args.calls))
    report(args.backend, args.activities, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
