"""The public read path against a hand-written baseline, side by side in one run.

    .venv/bin/python -m bench.browse [--backend embedded|servers] [--seconds N] [--activities N]

Seeds public activities across every province (units, joint actions, posters, engagement
counts), starts kepuri (one process, one core) and the baseline of bench/baseline.py (the same
core, in turn), checks that both answer the contract's `Activities` and `Activity` queries
identically, then loads each with wrk from the other core, three interleaved rounds, for four
requests: 20 items of one province, 100 of one province, 100 unfiltered, and one activity. It
prints the median throughput of each and the ratio kepuri / baseline, with the response cache off
(RESPONSE_CACHE_SECONDS=0) and on, and the SQL statements of each request on either side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.engagement import ROOT, burst, free_port, pinned, wait_ready
from bench.setup import backend_for_processes
from tests.test_contract import client_operations

ROUNDS = 3


def requests_of(seeded: dict[str, Any]) -> dict[str, dict[str, Any]]:
    operations = client_operations()
    listing = operations["Activities"]
    return {
        "20 items, one province": {
            "query": listing,
            "variables": {"first": 20, "filter": {"regionCode": "510000"}},
        },
        "100 items, one province": {
            "query": listing,
            "variables": {"first": 100, "filter": {"regionCode": "510000"}},
        },
        "100 items, no filter": {"query": listing, "variables": {"first": 100}},
        "Activity(id)": {
            "query": operations["Activity"],
            "variables": {"id": seeded["one"]},
        },
    }


async def seed(env: dict[str, str], count: int) -> dict[str, Any]:
    """Public activities in every province's counties, written straight to the database."""
    os.environ.update(env)
    from tortoise import connections

    from infra.clock import now
    from infra.settings import load_settings
    from kepuri.db import database
    from models import Activity, ActivityStats, Campaign, JointAction, Organization, Region
    from models.enums import ActivityStatus, OrganizationKind, RegionLevel
    from schema.ids import to_global_id

    rng = random.Random(2026)  # the same installation every run
    settings = load_settings()
    async with database(settings):
        moment = now()
        campaign = await Campaign.create(
            year=moment.year,
            name="全国科普日",
            theme="科技为民",
            starts_on=moment.date(),
            ends_on=moment.date(),
        )
        actions = [
            await JointAction.create(
                campaign=campaign, name=f"联合行动{i}", lead_units=["中国科协"]
            )
            for i in range(10)
        ]
        counties = await Region.filter(level=RegionLevel.COUNTY).order_by("code")
        provinces = {
            o.province_code: o
            for o in await Organization.filter(kind=OrganizationKind.PROVINCIAL_ASSOCIATION)
        }
        places = [c for c in counties if c.province_code in provinces]
        units = []
        for i in range(300):
            place = places[(i * 97) % len(places)]
            units.append(
                Organization(
                    name=f"科普单位{i}",
                    kind=OrganizationKind.SCHOOL,
                    region_id=place.code,
                    province_code=place.province_code,
                    prefecture_code=place.prefecture_code,
                    contact_name="联系人",
                    contact_phone="13800000000",
                    address="科普路1号",
                )
            )
        await Organization.bulk_create(units)
        units = await Organization.filter(name__startswith="科普单位").order_by("id")
        # a third of them in Sichuan, the province the filtered requests ask for
        sichuan = [c for c in places if c.province_code == "510000"]
        rows = []
        for i in range(count):
            place = sichuan[i % len(sichuan)] if i % 3 == 0 else places[(i * 31) % len(places)]
            starts = moment + timedelta(minutes=rng.randrange(0, 60 * 24 * 30))
            rows.append(
                Activity(
                    campaign_id=campaign.id,
                    organization_id=units[i % len(units)].id,
                    title=f"科普活动第{i}场：人工智能与生活",
                    description="面向公众的科普讲座与互动体验。",
                    form="OFFLINE",
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=3),
                    region_id=place.code,
                    province_code=place.province_code,
                    prefecture_code=place.prefecture_code,
                    address="科普路1号",
                    supervisor_kind=OrganizationKind.OTHER,
                    supervisor_id=provinces[place.province_code].id,
                    supervisor_name="其他",
                    host_units=[units[i % len(units)].name],
                    organizer_units=["中国科协"],
                    status=ActivityStatus.APPROVED,
                    submitted_at=moment,
                    joint_action_id=actions[i % len(actions)].id if i % 4 == 0 else None,
                    poster=f"posters/{i:06d}.webp" if i % 2 == 0 else None,
                )
            )
        await Activity.bulk_create(rows, batch_size=1000)
        ids = await Activity.all().order_by("id").values_list("id", flat=True)
        await ActivityStats.bulk_create(
            [
                ActivityStats(
                    activity_id=pk,
                    check_ins=rng.randrange(0, 500),
                    likes=rng.randrange(0, 200),
                    comments=rng.randrange(0, 50),
                    favorites=rng.randrange(0, 80),
                    rating_sum=(rated := rng.randrange(0, 30)) * 4,
                    rating_count=rated,
                )
                for pk in ids
            ],
            batch_size=1000,
        )
        if settings.db_url.startswith("postgres"):  # the planner's statistics, as autovacuum
            await connections.get("default").execute_script("ANALYZE")  # would soon have them
    return {"count": len(ids), "one": to_global_id("Activity", ids[len(ids) // 2])}


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        pinned(command, 0), env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def statements(env: dict[str, str], calls: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The SQL statements of each request, each side served in this process on the same data:
    kepuri's counted as its tests count them (Tortoise's log of each), the baseline's by its own
    counter; kepuri's twice, the response cache off and on (the second request of each)."""
    import bench.baseline as baseline
    from kepuri.app import create_app
    from tests.test_browsing import count_queries

    counted: dict[str, Any] = {}
    for cache in ("0", "3600"):
        os.environ.update({**env, "RESPONSE_CACHE_SECONDS": cache})
        app = create_app()
        async with app.router.lifespan_context(app), _client(app) as client:
            for name, body in calls.items():
                await client.post("/graphql", json=body)
                with count_queries() as seen:
                    await client.post("/graphql", json=body)
                counted[f"{name}|kepuri|{'off' if cache == '0' else 'on'}"] = len(seen)
    async with baseline.app.router.lifespan_context(baseline.app), _client(baseline.app) as client:
        for name, body in calls.items():
            before = baseline.db.statements
            await client.post("/graphql", json=body)
            counted[f"{name}|baseline"] = baseline.db.statements - before
    return counted


def _client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://bench")


async def answers(base: str, calls: dict[str, dict[str, Any]]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        return {
            name: (await client.post("/graphql", json=body)).json()["data"]
            for name, body in calls.items()
        }


async def run(backend: str, seconds: int, count: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="kepuri-browse-"))
    port, baseline_port = free_port(), free_port()
    base, baseline = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{baseline_port}"
    env = {
        **os.environ,
        "KEPURI_VAR_DIR": str(work),
        "PORT": str(port),
        "PUBLIC_BASE_URL": base,
        "KEPURI_WORKER_IN_PROCESS": "false",
        "LOG_LEVEL": "WARNING",
    }
    urls, embedded = await backend_for_processes(backend, work, "browse", 13)
    env.update(urls)
    env["BASELINE_DATABASE_URL"] = env["DATABASE_URL"] or f"sqlite://{work / 'kepuri.sqlite3'}"
    kepuri = [sys.executable, "-m", "kepuri.cli"]
    subprocess.run([*kepuri, "migrate"], env=env, check=True, capture_output=True)
    seeded = await seed(env, count)
    calls = requests_of(seeded)
    results: dict[str, Any] = {"activities": seeded["count"]}
    results["statements"] = await statements(env, calls)
    baseline_server = start(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.baseline:app",
            "--port",
            str(baseline_port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--loop",
            "asyncio",
        ],
        env,
    )
    try:
        await wait_ready(f"{baseline}/graphql")
        for cache in ("off", "on"):
            served = {**env, "RESPONSE_CACHE_SECONDS": "0" if cache == "off" else "3600"}
            server = start([*kepuri, "serve", "--no-worker"], served)
            try:
                await wait_ready(f"{base}/healthz")
                ours, theirs = await answers(base, calls), await answers(baseline, calls)
                differing = [name for name in calls if ours[name] != theirs[name]]
                if differing:
                    raise AssertionError(f"kepuri and the baseline differ: {differing}")
                rounds: dict[str, list[dict[str, float]]] = {}
                for r in range(ROUNDS):
                    for name, body in calls.items():
                        for who, url in (("kepuri", base), ("baseline", baseline)):
                            result = burst(
                                f"{url}/graphql",
                                [(None, body)],
                                work,
                                f"{r}",
                                seconds,
                                settle=[server.pid, baseline_server.pid],
                            )
                            rounds.setdefault(f"{name}|{who}", []).append(result)
                results[cache] = {
                    key: sorted(runs, key=lambda run: run["per_second"])[len(runs) // 2]
                    for key, runs in rounds.items()
                }
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
    finally:
        baseline_server.send_signal(signal.SIGTERM)
        baseline_server.wait(timeout=30)
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(work, ignore_errors=True)
    return results


def report(backend: str, results: dict[str, Any]) -> None:
    print(
        f"\n== browse, {backend}, {results['activities']} public activities, one server process "
        f"per side, median of {ROUNDS} interleaved rounds (identical answers checked)"
    )
    for cache in ("off", "on"):
        print(f"-- response cache {cache}")
        print(
            f"{'':26} {'kepuri req/s':>13} {'baseline req/s':>15} {'ratio':>6} {'p50 ms':>7}"
            f" {'SQL kepuri':>11} {'SQL baseline':>13}"
        )
        table, counted = results[cache], results["statements"]
        for name in [k.split("|")[0] for k in table if k.endswith("|kepuri")]:
            ours, theirs = table[f"{name}|kepuri"], table[f"{name}|baseline"]
            print(
                f"{name:26} {ours['per_second']:>13.0f} {theirs['per_second']:>15.0f} "
                f"{ours['per_second'] / theirs['per_second']:>6.2f} {ours['p50_ms']:>7.1f}"
                f" {counted[f'{name}|kepuri|{cache}']:>11} {counted[f'{name}|baseline']:>13}"
                + (f"  ({ours['failures']} failed)" if ours["failures"] else "")
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["embedded", "servers"], default="embedded")
    parser.add_argument("--seconds", type=int, default=5, help="length of each burst")
    parser.add_argument("--activities", type=int, default=20_000)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench.browse drives the servers with wrk: `make bench` installs it (Debian)")
        return 2
    results = asyncio.run(run(args.backend, args.seconds, args.activities))
    report(args.backend, results)
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / f"browse-{args.backend}.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
