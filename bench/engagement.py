"""Burst of check-ins and likes from 64 concurrent signed-in users against one server process.

    .venv/bin/python -m bench.engagement [--backend embedded|servers] [--seconds N]

Prints, from one run: throughput and p50/p99 of the real `checkIn` and `setLike` mutations, of the
`me` query by the same users (the floor every signed-in request pays: authentication, from the
process's session cache once a token has been seen), and of a bare Starlette endpoint that only
increments a Redis counter (the ceiling of one Python process); then the `checkIn` burst again
while venue devices upload batches of 500 offline scans (`uploadCheckIns`, DEVICES devices, each
a batch every UPLOAD_EVERY seconds): the scans accepted per second, and how much the online
burst's ratio to `me` falls; then flushes the counters and checks that nothing was lost or
counted twice.

`servers` uses PostgreSQL and Redis from BENCH_DATABASE_URL / BENCH_REDIS_URL (defaults: the local
servers, a fresh database `kepuri_bench`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.setup import backend_for_processes

ROOT = Path(__file__).resolve().parents[1]
USERS = 64
# every check-in of the burst is a new one (a person once per activity): 64,000, enough for three
# 5 s rounds at 4,000 a second, far beyond one process
ACTIVITIES = 1000
ROUNDS = 3  # each scenario runs this often, interleaved; the median round is reported
# venue devices uploading offline scans during the online burst: each registered for 20 of the
# activities, scanning people of their own (SCANNED_PEOPLE), a batch of 500 every UPLOAD_EVERY s
DEVICES = 2
UPLOAD_EVERY = 1.0
SCAN_BATCH = 500
SCANNED_PEOPLE = 400

CHECK_IN = (
    "mutation($a: ID!, $n: String!) { checkIn(activityId: $a, clientNonce: $n) "
    "{ checkIn { id } engagement { checkIns } errors { code } } }"
)
LIKE = (
    "mutation($a: ID!, $on: Boolean!) { setLike(activityId: $a, liked: $on) "
    "{ engagement { likes } errors { code } } }"
)
ME = "query { me { id name } }"
UPLOAD = (
    "mutation($s: [ScanInput!]!) { uploadCheckIns(scans: $s) "
    "{ results { status code } errors { code } } }"
)


WITH_UPLOADS = "checkIn, devices uploading"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(command: list[str], core: int) -> list[str]:
    """Pin a process to one core when `taskset` exists (the server gets one, the load another)."""
    return ["taskset", "-c", str(core), *command] if shutil.which("taskset") else command


async def wait_ready(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                await client.get(url, timeout=1)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError(f"{url} did not answer")


async def seed(env: dict[str, str]) -> dict[str, Any]:
    """Users, a unit and approved activities happening now, written straight to the database."""
    os.environ.update(env)
    from infra import qr
    from infra.clock import now, today
    from infra.passwords import configure, hash_password
    from infra.settings import load_settings
    from kepuri.db import database
    from models import Activity, ActivityStats, Campaign, CheckInDevice, Organization, User
    from models.enums import ActivityStatus, OrganizationKind
    from services import checkin_codes
    from services.regions import get_region
    from services.sessions import token_hash

    settings = load_settings()
    configure("CHEAPEST")
    async with database(settings):
        year = today().year
        campaign, _ = await Campaign.get_or_create(
            year=year,
            defaults={"name": "压测", "theme": "压测", "starts_on": today(), "ends_on": today()},
        )
        region = await get_region("510104")
        assert region is not None
        province = await Organization.get(
            kind=OrganizationKind.PROVINCIAL_ASSOCIATION, region_id="510000"
        )
        unit = await Organization.create(
            name="压测学校",
            kind=OrganizationKind.SCHOOL,
            region_id=region.code,
            province_code=region.province_code,
            prefecture_code=region.prefecture_code,
            contact_name="压测",
            contact_phone="13800000000",
            address="压测路",
        )
        moment = now()
        activity_ids = []
        for i in range(ACTIVITIES):
            activity = await Activity.create(
                campaign=campaign,
                organization=unit,
                title=f"压测活动{i}",
                description="压测",
                form="OFFLINE",
                starts_at=moment - timedelta(minutes=30),
                ends_at=moment + timedelta(hours=6),
                region_id=region.code,
                province_code=region.province_code,
                prefecture_code=region.prefecture_code,
                address="压测路",
                supervisor_kind=OrganizationKind.OTHER,
                supervisor=province,
                host_units=["压测学校"],
                status=ActivityStatus.APPROVED,
                submitted_at=moment,
                qr_token=qr.new_token(),
            )
            await ActivityStats.create(activity=activity)
            activity_ids.append(activity.id)
        password_hash = await hash_password("Bench2026pw")
        phones = [f"1770000{i:04d}" for i in range(USERS)]
        scanned = [f"1771000{i:04d}" for i in range(SCANNED_PEOPLE)]
        await User.bulk_create(
            [
                User(
                    phone=p,
                    name=f"压测{i}",
                    password_hash=password_hash,
                    agreement_accepted_at=moment,
                    password_changed_at=moment,
                )
                for i, p in enumerate(phones + scanned)
            ]
        )
        people = await User.filter(phone__in=scanned).values_list("id", flat=True)
        devices = []
        for d in range(DEVICES):
            token = f"kpd_bench-device-{d:02d}"
            ids = activity_ids[20 * d : 20 * (d + 1)]
            await CheckInDevice.create(
                organization=unit, name=f"大篷车{d}", token_hash=token_hash(token), activity_ids=ids
            )
            devices.append({"token": token, "activities": ids})
        codes = {p: checkin_codes.issue(settings.secret_key, p, today()) for p in people}
    return {"activities": activity_ids, "phones": phones, "devices": devices, "codes": codes}


async def sign_in(base: str, phones: list[str]) -> list[str]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        tokens = []
        for phone in phones:
            response = await client.post(
                "/graphql",
                json={
                    "query": 'mutation($p: String!) { login(phone: $p, password: "Bench2026pw") '
                    "{ token errors { code } } }",
                    "variables": {"p": phone},
                },
            )
            tokens.append(response.json()["data"]["login"]["token"])
    return tokens


def settled(pids: list[int], quiet: float = 0.02, timeout: float = 60) -> None:
    """Wait until the processes `pids` (servers on the measured core) have stopped working:
    less than `quiet` of a core over 0.25 s. wrk stops at the end of its time, but a server goes
    on answering the requests queued on its connections: 64 requests of a 100-item list are
    seconds of work, which ran into whatever was measured next on that core."""
    ticks = os.sysconf("SC_CLK_TCK")

    def used() -> float:
        total = 0
        for pid in pids:
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / ticks

    deadline = time.monotonic() + timeout
    before = used()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = used()
        if now - before <= quiet * 0.25:
            return
        before = now


def burst(
    url: str,
    calls: list[tuple[str | None, dict[str, Any]]],
    work: Path,
    name: str,
    seconds: int,
    settle: list[int] | None = None,
) -> dict[str, float]:
    """Load `url` with wrk (64 connections, on the other core) cycling through `calls`, once
    the processes `settle` have worked off an earlier burst."""
    if settle:
        settled(settle)
    requests = work / f"{name}.tsv"
    requests.write_text(
        "".join(f"{token or ''}\t{json.dumps(body, ensure_ascii=False)}\n" for token, body in calls)
    )
    threads = 2
    command = [
        "wrk",
        "-t",
        str(threads),
        "-c",
        str(USERS),
        "-d",
        f"{seconds}s",
        "--latency",
        "-s",
        str(ROOT / "bench" / "burst.lua"),
        url,
        "--",
        str(requests),
        str(threads),
    ]
    done = subprocess.run(pinned(command, 1), capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["per_second"] = result["requests"] / result["seconds"]
    return result


def upload_batches(seeded: dict[str, Any]) -> list[list[tuple[str, dict[str, Any]]]]:
    """The scans of each device, in batches of SCAN_BATCH: each a person new to that activity
    (every scan is accepted), scanned in the last minutes."""
    from infra.clock import now
    from schema.ids import to_global_id

    moment = now()
    people = list(seeded["codes"].items())
    devices = []
    for d, device in enumerate(seeded["devices"]):
        scans = [
            {
                "activityId": to_global_id("Activity", activity),
                "code": code,
                "scannedAt": (moment - timedelta(seconds=n % 600)).isoformat(),
                "clientNonce": f"bench-{d}-{activity}-{person}",
            }
            for n, (activity, (person, code)) in enumerate(
                (a, p) for p in people for a in device["activities"]
            )
        ]
        devices.append(
            [
                (device["token"], {"query": UPLOAD, "variables": {"s": scans[i : i + SCAN_BATCH]}})
                for i in range(0, len(scans), SCAN_BATCH)
            ]
        )
    return devices


async def upload_during(
    base: str, devices: list[list[tuple[str, dict[str, Any]]]], seconds: float
) -> dict[str, float]:
    """Each device uploads its next batch every UPLOAD_EVERY seconds for `seconds`; the scans
    accepted (and refused), per second."""
    accepted = refused = 0
    started = time.monotonic()

    async def device(batches: list[tuple[str, dict[str, Any]]], client: httpx.AsyncClient) -> None:
        nonlocal accepted, refused
        while time.monotonic() - started < seconds and batches:
            token, body = batches.pop(0)
            tick = time.monotonic()
            response = await client.post(
                "/graphql", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            results = response.json()["data"]["uploadCheckIns"]["results"]
            accepted += sum(r["status"] == "ACCEPTED" for r in results)
            refused += sum(r["status"] != "ACCEPTED" for r in results)
            await asyncio.sleep(max(0.0, UPLOAD_EVERY - (time.monotonic() - tick)))

    async with httpx.AsyncClient(base_url=base, timeout=60) as client:
        await asyncio.gather(*(device(batches, client) for batches in devices))
    elapsed = time.monotonic() - started
    return {"accepted_per_second": accepted / elapsed, "refused": refused}


async def verify(env: dict[str, str], activity_ids: list[int]) -> dict[str, int]:
    """Flush the counters, then compare the database, Redis and the records."""
    os.environ.update(env)
    from infra.settings import load_settings
    from kepuri.db import database
    from kepuri.redis import redis_client
    from models import ActivityStats, CheckIn, Like
    from services.counters import Counters

    settings = load_settings()
    redis = redis_client(settings)
    async with database(settings):
        counters = Counters(redis)
        await counters.flush(settle=timedelta(0))
        live = await counters.read(activity_ids)
        check_ins = await CheckIn.filter(activity_id__in=activity_ids).count()
        likes = (
            await Like.filter(activity_id__in=activity_ids, liked=True).count()
            - await Like.filter(activity_id__in=activity_ids, liked=False).count()
        )
        stats = await ActivityStats.filter(activity_id__in=activity_ids)
    await redis.aclose()
    return {
        "check_in_records": check_ins,
        "check_ins_in_database": sum(s.check_ins for s in stats),
        "check_ins_in_redis": sum(c["check_ins"] for c in live.values()),
        "net_like_records": likes,
        "likes_in_database": sum(s.likes for s in stats),
        "likes_in_redis": sum(c["likes"] for c in live.values()),
    }


async def run(backend: str, seconds: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="kepuri-bench-"))
    port, ceiling_port = free_port(), free_port()
    env = {
        **os.environ,
        "KEPURI_VAR_DIR": str(work),
        "PORT": str(port),
        "KEPURI_WORKER_IN_PROCESS": "false",
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_ENGAGE_ACCOUNT": "1000000/minute",
        "RATE_LIMIT_ENGAGE_ADDRESS": "1000000/minute",
        "RATE_LIMIT_DEVICE_UPLOAD": "1000000/minute",
    }
    urls, embedded = await backend_for_processes(backend, work, "engagement", 14)
    env.update(urls)
    kepuri = [sys.executable, "-m", "kepuri.cli"]
    subprocess.run([*kepuri, "migrate"], env=env, check=True, capture_output=True)
    seeded = await seed(env)
    from schema.ids import to_global_id

    activity_ids = [to_global_id("Activity", a) for a in seeded["activities"]]
    server = subprocess.Popen(
        pinned([*kepuri, "serve", "--no-worker"], 0),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ceiling = subprocess.Popen(
        pinned(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.ceiling:app",
                "--port",
                str(ceiling_port),
                "--log-level",
                "warning",
                "--no-access-log",  # uvloop: the best one Python process does (3,000-4,000
                # req/s here on asyncio's loop, which `kepuri serve` takes for its fairness)
            ],
            0,
        ),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base, ceiling_base = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{ceiling_port}"
    try:
        await wait_ready(f"{base}/healthz")
        await wait_ready(f"{ceiling_base}/bump")
        tokens = await sign_in(base, seeded["phones"])
        # every check-in is a new one: each person once per activity
        check_ins = [
            (
                tokens[u],
                {"query": CHECK_IN, "variables": {"a": activity_ids[i], "n": f"bench-{u}-{i}"}},
            )
            for i in range(ACTIVITIES)
            for u in range(USERS)
        ]
        # every like call changes the state: like, then unlike, activity after activity
        likes = [
            (
                tokens[u],
                {
                    "query": LIKE,
                    "variables": {
                        "a": activity_ids[(u + i // 2) % len(activity_ids)],
                        "on": i % 2 == 0,
                    },
                },
            )
            for i in range(2 * ACTIVITIES)
            for u in range(USERS)
        ]
        me = [(tokens[u], {"query": ME}) for u in range(USERS)]
        bumps: list[tuple[str | None, dict[str, Any]]] = [(None, {})]
        burst(f"{base}/graphql", me, work, "warmup", 2)
        rounds: dict[str, list[dict[str, float]]] = {}
        share = len(check_ins) // (2 * ROUNDS)  # every burst checks in anew
        fresh = iter(range(2 * ROUNDS))
        devices = upload_batches(seeded)
        for r in range(ROUNDS):
            for name, url, calls in (
                ("me", f"{base}/graphql", me),
                ("checkIn", f"{base}/graphql", None),
                ("setLike", f"{base}/graphql", likes),
                ("ceiling (Starlette + Redis INCR)", f"{ceiling_base}/bump", bumps),
                (WITH_UPLOADS, f"{base}/graphql", None),
            ):
                if calls is None:
                    n = next(fresh)
                    calls = check_ins[n * share : (n + 1) * share]
                uploads = None
                if name == WITH_UPLOADS:
                    uploads = asyncio.ensure_future(upload_during(base, devices, seconds))
                result = await asyncio.to_thread(burst, url, calls, work, f"r{r}", seconds)
                if uploads is not None:
                    result.update(await uploads)
                if name.startswith("checkIn") and result["requests"] > len(calls):
                    print(
                        f"warning: {name} in round {r} sent {result['requests']} requests for "
                        f"{len(calls)} prepared: the rest were retries (raise ACTIVITIES)"
                    )
                rounds.setdefault(name, []).append(result)
        results: dict[str, Any] = {
            name: sorted(runs, key=lambda run: run["per_second"])[len(runs) // 2]
            for name, runs in rounds.items()
        }
    finally:
        for process in (server, ceiling):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
    results["counts"] = await verify(env, seeded["activities"])
    if embedded is not None:
        embedded.stop()
    shutil.rmtree(work, ignore_errors=True)
    return results


def report(backend: str, results: dict[str, Any]) -> None:
    me = results["me"]["per_second"]
    ceiling = results["ceiling (Starlette + Redis INCR)"]["per_second"]
    print(
        f"\n== engagement burst, {backend}, {USERS} concurrent users, one server process, "
        f"median of {ROUNDS} rounds"
    )
    print(
        f"{'':34} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'vs me':>6} "
        f"{'vs ceiling':>10}"
    )
    for name in ("me", "checkIn", "setLike", "ceiling (Starlette + Redis INCR)", WITH_UPLOADS):
        r = results[name]
        print(
            f"{name:34} {r['requests']:>8} {r['per_second']:>8.0f} {r['p50_ms']:>8.1f} "
            f"{r['p99_ms']:>8.1f} {r['per_second'] / me:>6.2f} {r['per_second'] / ceiling:>10.2f}"
            + (f"  ({r['failures']} refused)" if r["failures"] else "")
        )
    alone = results["checkIn"]["per_second"] / me
    shared = results[WITH_UPLOADS]["per_second"] / me
    print(
        f"uploads: {results[WITH_UPLOADS]['accepted_per_second']:.0f} offline scans accepted a "
        f"second ({DEVICES} devices, {SCAN_BATCH} a batch, one every {UPLOAD_EVERY:g} s); "
        f"checkIn vs me {alone:.2f} alone, {shared:.2f} with the uploads: "
        f"{100 * (1 - shared / alone):.0f}% lower (target: at most 10%)"
    )
    counts = results["counts"]
    exact = (
        counts["check_in_records"]
        == counts["check_ins_in_database"]
        == counts["check_ins_in_redis"]
        and counts["net_like_records"] == counts["likes_in_database"] == counts["likes_in_redis"]
    )
    print("counts after the flush:", json.dumps(counts, ensure_ascii=False))
    print("lost or duplicated counts:", "none" if exact else "MISMATCH")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["embedded", "servers"], default="embedded")
    parser.add_argument("--seconds", type=int, default=5, help="length of each burst")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench.engagement drives the server with wrk: `make bench` installs it (Debian)")
        return 2
    results = asyncio.run(run(args.backend, args.seconds))
    report(args.backend, results)
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / f"engagement-{args.backend}.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
