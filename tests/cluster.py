"""Kepuri as production runs it — API processes without a worker, and one worker, on one database
and Redis — started as separate processes, and a portal's scenario set up through their API.
Used by `tests/test_two_processes.py` and `bench/fanout.py`."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis.asyncio

from infra.settings import load_settings
from kepuri.redis import redis_client
from tests.conftest import drop_postgres_database, free_port, fresh_backend_for_processes

KEPURI = [sys.executable, "-m", "kepuri.cli"]
ADMIN_PHONE, ADMIN_PASSWORD = "13700000001", "Admin2026pw"


async def gql(
    base: str, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            f"{base}/graphql", headers=headers, json={"query": query, "variables": variables or {}}
        )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def ready(base: str) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(f"{base}/readyz", timeout=1)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{base} did not become ready")


@dataclass
class Cluster:
    bases: list[str]  # the API processes
    outbox: Path  # the console SMS backend's messages
    redis: Any  # a client of the Redis they share
    env: dict[str, str]  # the processes' environment (for `kepuri` commands beside them)


@asynccontextmanager
async def running_cluster(
    directory: Path,
    backend: dict[str, str],
    servers: int = 2,
    suffix: str = "_two",
    extra: dict[str, str] | None = None,
) -> AsyncIterator[Cluster]:
    """`servers` API processes and a worker, with an admin (ADMIN_PHONE / ADMIN_PASSWORD);
    `extra` adds to (or overrides) their environment."""
    env = {
        **os.environ,
        "KEPURI_VAR_DIR": str(directory / "var"),
        "LOG_LEVEL": "WARNING",
        "KEPURI_WORKER_IN_PROCESS": "false",
        "PASSWORD_HASH_PROFILE": "CHEAPEST",
        "SMS_OUTBOX": str(directory / "sms.jsonl"),
        **await fresh_backend_for_processes(backend, suffix, 2),
        **(extra or {}),
    }
    for command in (
        ["migrate"],
        ["create-admin", "--phone", ADMIN_PHONE, "--password", ADMIN_PASSWORD, "--name", "管理员"],
    ):
        done = await asyncio.create_subprocess_exec(
            *KEPURI,
            *command,
            env=env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, errors = await done.communicate()
        assert done.returncode == 0, errors.decode()
    processes, bases = [], []
    try:
        for _ in range(servers):
            port = free_port()
            processes.append(
                subprocess.Popen([*KEPURI, "serve", "--no-worker", "--port", str(port)], env=env)
            )
            bases.append(f"http://127.0.0.1:{port}")
            await ready(bases[-1])  # the first one starts the embedded Redis the others share
        processes.append(subprocess.Popen([*KEPURI, "worker"], env=env))
        if env["REDIS_URL"] or env.get("REDIS_SENTINELS"):
            client = redis_client(load_settings(env))
        else:
            client = redis.asyncio.Redis(unix_socket_path=str(directory / "var" / "redis.sock"))
        try:
            yield Cluster(bases=bases, outbox=directory / "sms.jsonl", redis=client, env=env)
        finally:
            await client.aclose()
    finally:
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        if env["DATABASE_URL"]:
            await drop_postgres_database(env["DATABASE_URL"])


@dataclass
class PortalScenario:
    admin: str  # the admin's token, who is also a reviewer of Sichuan's association
    portal: str  # an API client of Sichuan
    pending: list[str]  # activities in Chengdu waiting for review
    filer: str  # the token of the school's filer, who filed them


async def portal_scenario(cluster: Cluster, activities: int = 1) -> PortalScenario:
    """A campaign open for filing, a Chengdu school that filed `activities` activities through the
    second process (the first when there is one), and a portal of Sichuan."""
    a, b = cluster.bases[0], cluster.bases[-1]
    token = (
        await gql(
            b,
            "mutation($p: String!, $w: String!) { login(phone: $p, password: $w) { token } }",
            {"p": ADMIN_PHONE, "w": ADMIN_PASSWORD},
        )
    )["login"]["token"]
    now = datetime.now(UTC)
    year = now.astimezone().year
    campaign = await gql(
        b,
        """mutation($i: CampaignInput!) { createCampaign(input: $i)
        { campaign { id } } }""",
        {
            "i": {
                "year": year,
                "name": "科普日",
                "theme": "科技",
                "startsOn": f"{year}-01-01",
                "endsOn": f"{year}-12-31",
            }
        },
        token,
    )
    campaign_id = campaign["createCampaign"]["campaign"]["id"]
    await gql(
        b,
        """mutation($i: PhaseWindowInput!) { setPhaseWindow(input: $i) { errors
        { code } } }""",
        {
            "i": {
                "campaignId": campaign_id,
                "phase": "FILING",
                "opensAt": (now - timedelta(days=1)).isoformat(),
                "closesAt": (now + timedelta(days=1)).isoformat(),
            }
        },
        token,
    )
    sichuan = (
        await gql(
            b,
            '{ supervisingUnits(kind: PROVINCIAL_ASSOCIATION, search: "四川") '
            "{ edges { node { id } } } }",
        )
    )["supervisingUnits"]["edges"][0]
    await gql(
        b,
        """mutation($o: ID!, $p: String!) { addMember(organizationId: $o, phone: $p,
        role: REVIEWER) { errors { code } } }""",
        {"o": sichuan["node"]["id"], "p": ADMIN_PHONE},
        token,
    )
    # a school's filer registers (the SMS code from the console backend's outbox) and files
    await gql(
        a, 'mutation { requestVerificationCode(phone: "13700000002", purpose: REGISTER) { sent } }'
    )
    code = json.loads(cluster.outbox.read_text().splitlines()[-1])["code"]
    filer = (
        await gql(
            a,
            "mutation($i: RegisterInput!) { register(input: $i) { token } }",
            {
                "i": {
                    "phone": "13700000002",
                    "code": code,
                    "password": "Filer2026pw",
                    "name": "李老师",
                    "acceptAgreement": True,
                }
            },
        )
    )["register"]["token"]
    saved = await gql(
        b,
        """mutation($i: UnitProfileInput!) { saveUnitProfile(input: $i)
        { errors { code } } }""",
        {
            "i": {
                "name": "成都市实验学校",
                "kind": "SCHOOL",
                "regionCode": "510104",
                "contactName": "李老师",
                "contactPhone": "13700000002",
                "address": "科普路1号",
            }
        },
        filer,
    )
    assert saved["saveUnitProfile"]["errors"] == []
    starts = now + timedelta(hours=1)
    pending = []
    for number in range(1, activities + 1):
        created = (
            await gql(
                b,
                """mutation($i: ActivityInput!) { createActivity(input: $i)
            { activity { id } errors { field code } } }""",
                {
                    "i": {
                        "campaignId": campaign_id,
                        "title": f"第{number}个跨进程的活动",
                        "description": "简介",
                        "form": "OFFLINE",
                        "startsAt": starts.isoformat(),
                        "endsAt": (starts + timedelta(hours=1)).isoformat(),
                        "regionCode": "510104",
                        "address": "科普路1号",
                        "supervisorKind": "OTHER",
                        "supervisorName": "教育局",
                        "hostUnits": ["成都市实验学校"],
                    }
                },
                filer,
            )
        )["createActivity"]
        assert created["errors"] == [], created
        pending.append(created["activity"]["id"])
        await gql(
            b,
            "mutation($id: ID!) { submitActivity(id: $id) { errors { code } } }",
            {"id": pending[-1]},
            filer,
        )
    portal = (
        await gql(
            b,
            """mutation { createApiClient(name: "四川平台", regionCode: "510000")
        { token } }""",
            token=token,
        )
    )["createApiClient"]["token"]

    return PortalScenario(admin=token, portal=portal, pending=pending, filer=filer)
