"""Portal fan-out: subscribers of one region on one API process, changes made through another
process, against a bare websocket broadcast of the same messages to the same number of clients.

    .venv/bin/python -m bench.fanout [--backend embedded|servers] [--subscribers N] [--changes N]
        [--rounds N]

Kepuri runs as in production (two `kepuri serve --no-worker` processes and a `kepuri worker`, see
`tests/cluster.py`); every subscriber is a Sichuan portal client on the first process, and each
change is an approval through the second. The baseline is `bench/broadcast.py` in its own uvicorn
process, sent the very messages kepuri delivered. Latency runs from just before the change (or the
broadcast) is requested to each client's receipt, and for kepuri also from the change itself (its
`occurredAt`, stamped in the transaction, so the approval's own work is left out: that is the
delivery). Each prints p50/p95; the ratio is kepuri's delivery p95 / the bare p95 (target: at most
2), per round and the median of the rounds (each round starts kepuri and the baseline afresh).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import websockets

from bench.setup import server_urls
from tests.cluster import gql, portal_scenario, ready, running_cluster
from tests.conftest import free_port, graphql_subscription

UPDATES = """subscription($after: String) { activityUpdates(after: $after)
{ cursor kind occurredAt activity { id title startsAt address } } }"""
APPROVE = "mutation($id: ID!) { reviewActivity(id: $id, decision: APPROVE) { errors { code } } }"
NEWEST = "{ activityChanges(first: 100) { pageInfo { endCursor } } }"


class Receipts:
    """When each client received each message (by the order of arrival)."""

    def __init__(self, clients: int) -> None:
        self.clients = clients
        self.times: dict[int, list[float]] = {}
        self.texts: dict[int, str] = {}
        self.complete: dict[int, asyncio.Event] = {}

    def expect(self, index: int) -> asyncio.Event:
        return self.complete.setdefault(index, asyncio.Event())

    async def follow(self, socket: Any) -> None:
        index = 0
        while True:
            text = await socket.recv()
            self.times.setdefault(index, []).append(time.time())
            self.texts.setdefault(index, text)
            if len(self.times[index]) == self.clients:
                self.expect(index).set()
            index += 1


async def measure(
    receipts: Receipts, changes: int, cause: Callable[[int], Awaitable[None]]
) -> list[float]:
    """Cause messages 0..changes one after another, each once every client has the one before;
    return when each was requested (message 0 only warms up and proves every client live)."""
    requested = []
    for index in range(changes + 1):
        requested.append(time.time())
        await cause(index)
        await asyncio.wait_for(receipts.expect(index).wait(), 120)
    return requested


def quiet_collector() -> None:
    """Keep this process's garbage collector out of the receipts: a full collection walks every
    object of a thousand open sockets (tens of milliseconds), and it would fall into one run or
    the other by chance. What exists once the clients are connected is left out of collections."""
    gc.collect()
    gc.freeze()


def latencies(receipts: Receipts, since: list[float]) -> list[float]:
    """Milliseconds from `since[i]` to each receipt of message i, for all messages but the first."""
    return [
        (moment - since[index]) * 1000
        for index in range(1, len(since))
        for moment in receipts.times[index]
    ]


async def kepuri_run(
    directory: Path, backend: dict[str, str], subscribers: int, changes: int
) -> tuple[list[float], list[float], list[str]]:
    """Latencies from the request of each change, from the change itself (its `occurredAt`,
    stamped in the transaction), and the messages delivered."""
    async with running_cluster(directory, backend, suffix="") as cluster:
        a, b = cluster.bases
        scenario = await portal_scenario(cluster, activities=changes + 2)
        await gql(b, APPROVE, {"id": scenario.pending.pop(0)}, scenario.admin)
        cursor = (await gql(a, NEWEST, token=scenario.portal))["activityChanges"]["pageInfo"][
            "endCursor"
        ]
        receipts = Receipts(subscribers)
        async with AsyncExitStack() as stack:
            sockets = [
                await stack.enter_async_context(
                    graphql_subscription(a, scenario.portal, UPDATES, {"after": cursor})
                )
                for _ in range(subscribers)
            ]
            readers = [asyncio.create_task(receipts.follow(socket)) for socket in sockets]
            quiet_collector()

            async def approve(index: int) -> None:
                await gql(b, APPROVE, {"id": scenario.pending[index]}, scenario.admin)

            requested = await measure(receipts, changes, approve)
            for reader in readers:
                reader.cancel()
        texts = [receipts.texts[i] for i in range(changes + 1)]
        occurred = [
            datetime.fromisoformat(
                json.loads(text)["payload"]["data"]["activityUpdates"]["occurredAt"]
            ).timestamp()
            for text in texts
        ]
        return latencies(receipts, requested), latencies(receipts, occurred), texts


async def bare_run(messages: list[str], subscribers: int) -> list[float]:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "bench.broadcast:app", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        await ready(base)
        receipts = Receipts(subscribers)
        async with AsyncExitStack() as stack:
            sockets = [
                await stack.enter_async_context(websockets.connect(f"ws://127.0.0.1:{port}/ws"))
                for _ in range(subscribers)
            ]
            readers = [asyncio.create_task(receipts.follow(socket)) for socket in sockets]
            quiet_collector()
            async with httpx.AsyncClient(timeout=60) as client:

                async def broadcast(index: int) -> None:
                    (await client.post(f"{base}/send", content=messages[index])).raise_for_status()

                requested = await measure(receipts, len(messages) - 1, broadcast)
            for reader in readers:
                reader.cancel()
        return latencies(receipts, requested)
    finally:
        server.terminate()
        server.wait(timeout=30)


def percentile(values: list[float], share: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[round(share * 100) - 1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["embedded", "servers"], default="embedded")
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--changes", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4 * args.subscribers + 256  # both ends of every socket, in processes started below
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))
    backend = {"database_url": "", "redis_url": ""}
    if args.backend == "servers":
        urls = server_urls("fanout", 8)  # the processes get their own database and Redis db by it
        backend = {"database_url": urls["DATABASE_URL"], "redis_url": urls["REDIS_URL"]}
    directory = Path(tempfile.mkdtemp(prefix="kepuri-bench-fanout-"))
    os.environ["LOG_LEVEL"] = "WARNING"
    rounds = []
    try:
        for number in range(args.rounds):  # kepuri, then the baseline, each round afresh
            place = directory / f"round{number}"
            place.mkdir()
            requested, kepuri, messages = asyncio.run(
                kepuri_run(place, backend, args.subscribers, args.changes)
            )
            bare = asyncio.run(bare_run(messages, args.subscribers))
            rounds.append((requested, kepuri, bare))
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    print(
        f"\n== fan-out, {args.backend}: {args.subscribers} subscribers, {args.changes} changes, "
        f"{args.rounds} rounds"
    )
    ratios = []
    for number, (requested, kepuri, bare) in enumerate(rounds, 1):
        for label, values in (
            ("kepuri, from the change request", requested),
            ("kepuri, from the change", kepuri),
            ("bare broadcast, from its request", bare),
        ):
            print(
                f"{number}  {label:33} p50 {percentile(values, 0.5):7.1f} ms   "
                f"p95 {percentile(values, 0.95):7.1f} ms   ({len(values):,} deliveries)"
            )
        ratios.append(percentile(kepuri, 0.95) / percentile(bare, 0.95))
        print(f"{number}  p95 ratio kepuri / bare: {ratios[-1]:.2f}")
    print(
        f"p95 ratio kepuri / bare, median of {len(ratios)} rounds: "
        f"{statistics.median(ratios):.2f} (rounds: {', '.join(f'{r:.2f}' for r in ratios)}; "
        "target: at most 2)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
