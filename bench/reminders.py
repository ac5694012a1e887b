"""One full deadline-reminder sweep over 100,000 activities of 3,000 units across provinces.

    .venv/bin/python -m bench.reminders [--backend servers|embedded] [--activities N] [--units N]

Prints the sweep's time and its SQL statement count, and the same for a tenth of the data: the
count should grow with the number of batches (units / 1,000 per window), not with activities.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import time
from datetime import timedelta
from typing import Any

from bench.setup import bench_environment


class _Counter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE")):
            self.count += 1


async def _seed(activities: int, units: int) -> None:
    from infra.clock import now, today
    from models import (
        Activity,
        Campaign,
        Membership,
        Organization,
        PhaseWindow,
        Region,
        User,
    )
    from models.enums import ActivityStatus, MemberRole, OrganizationKind, Phase, RegionLevel

    rng = random.Random(11)
    moment = now()
    campaign = await Campaign.create(
        year=today().year, name="压测", theme="压测", starts_on=today(), ends_on=today()
    )
    for phase in (Phase.FILING, Phase.SUPPLEMENT, Phase.SUMMARY):
        await PhaseWindow.create(
            campaign=campaign,
            phase=phase,
            region_code=None,
            opens_at=moment - timedelta(days=30),
            closes_at=moment + timedelta(days=2),
        )
    for code in ("510000", "630000", "440100"):  # regional deadlines, as in real seasons
        await PhaseWindow.create(
            campaign=campaign,
            phase=Phase.SUPPLEMENT,
            region_code=code,
            opens_at=moment - timedelta(days=30),
            closes_at=moment + timedelta(days=1),
        )
    counties = await Region.filter(level=RegionLevel.COUNTY).order_by("code")
    province = {
        o.region_id: o.id
        for o in await Organization.filter(kind=OrganizationKind.PROVINCIAL_ASSOCIATION)
    }
    orgs = [
        Organization(
            name=f"压测单位{i}",
            kind=OrganizationKind.SCHOOL,
            region_id=counties[i % len(counties)].code,
            province_code=counties[i % len(counties)].province_code,
            prefecture_code=counties[i % len(counties)].prefecture_code,
            contact_name="压测",
            contact_phone="13800000000",
            address="压测",
        )
        for i in range(units)
    ]
    await Organization.bulk_create(orgs, batch_size=1000)
    orgs = await Organization.filter(name__startswith="压测单位").order_by("id")
    people = [
        User(
            phone=f"166{i:08d}",
            name="压测",
            password_hash="x",  # noqa: S106
            agreement_accepted_at=moment,
            password_changed_at=moment,
        )
        for i in range(units)
    ]
    await User.bulk_create(people, batch_size=1000)
    people = await User.filter(phone__startswith="166").order_by("id")
    await Membership.bulk_create(
        [
            Membership(user_id=u.id, organization_id=o.id, role=MemberRole.FILER)
            for u, o in zip(people, orgs, strict=True)
        ],
        batch_size=1000,
    )
    statuses = [
        ActivityStatus.DRAFT,
        ActivityStatus.PENDING_REVIEW,
        ActivityStatus.APPROVED,
        ActivityStatus.APPROVED,
        ActivityStatus.APPROVED,
    ]
    rows = []
    for i in range(activities):
        org = orgs[rng.randrange(units)]
        status = rng.choice(statuses)
        rows.append(
            Activity(
                campaign=campaign,
                organization_id=org.id,
                title=f"压测活动{i}",
                description="压测",
                form="OFFLINE",
                starts_at=moment - timedelta(days=3),
                ends_at=moment - timedelta(days=2),
                region_id=org.region_id,
                province_code=org.province_code,
                prefecture_code=org.prefecture_code,
                address="压测",
                supervisor_kind="OTHER",
                supervisor_id=province.get(org.province_code, province["510000"]),
                host_units=["压测"],
                status=status,
                submitted_at=None if status is ActivityStatus.DRAFT else moment,
                # realistic gaps: most have supplemented, fewer have summarized
                supplemented_at=moment if rng.random() < 0.7 else None,
                summarized_at=moment if rng.random() < 0.5 else None,
            )
        )
        if len(rows) == 5000:
            await Activity.bulk_create(rows)
            rows = []
    if rows:
        await Activity.bulk_create(rows)


async def _run(activities: int, units: int, backend: str) -> dict[str, Any]:
    from infra import jobs
    from kepuri.queue import open_queue
    from services import reminders

    async with bench_environment(backend, "rem", 13) as settings:
        await _seed(activities, units)
        queue = await open_queue(settings)
        await queue.flushdb()
        jobs.configure(queue)
        counter = _Counter()
        logger = logging.getLogger("tortoise.db_client")
        logger.addHandler(counter)
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        started = time.perf_counter()
        result = await reminders.sweep()
        seconds = time.perf_counter() - started
        logger.removeHandler(counter)
        await queue.aclose()
    return {
        "seconds": seconds,
        "statements": counter.count,
        "reminders": result.reminders,
        "batches": result.batches,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["servers", "embedded"], default="servers")
    parser.add_argument("--activities", type=int, default=100_000)
    parser.add_argument("--units", type=int, default=3_000)
    args = parser.parse_args()
    small = asyncio.run(_run(args.activities // 10, args.units, args.backend))
    full = asyncio.run(_run(args.activities, args.units, args.backend))
    print(f"\n== reminder sweep, {args.backend}")
    for label, r, n in (("tenth", small, args.activities // 10), ("full", full, args.activities)):
        print(
            f"{label:5} {n:>7,} activities, {args.units:,} units: {r['seconds']:6.2f} s, "
            f"{r['statements']} SQL statements, {r['batches']} batches, "
            f"{r['reminders']:,} reminders"
        )
    print("target: under 60 s on PostgreSQL; statements grow with batches, not activities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
