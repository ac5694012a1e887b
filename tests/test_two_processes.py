"""Two API processes and a worker on one database and Redis: a portal subscribed on one process
receives a change made through the other (the pub/sub fan-out), as in production."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis.asyncio

from services import portals
from tests.conftest import (
    drop_postgres_database,
    free_port,
    fresh_backend_for_processes,
    graphql_subscription,
    wait_subscribed,
)

KEPURI = [sys.executable, "-m", "kepuri.cli"]


async def gql(
    base: str, query: str, variables: dict | None = None, token: str | None = None
) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(timeout=15) as client:
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


@pytest.fixture
async def cluster(tmp_path: Path, backend: dict[str, str]):
    env = {
        **os.environ,
        "KEPURI_VAR_DIR": str(tmp_path / "var"),
        "LOG_LEVEL": "WARNING",
        "KEPURI_WORKER_IN_PROCESS": "false",
        "PASSWORD_HASH_PROFILE": "CHEAPEST",
        "SMS_OUTBOX": str(tmp_path / "sms.jsonl"),
        **await fresh_backend_for_processes(backend, "_two", 2),
    }
    for command in (
        ["migrate"],
        ["create-admin", "--phone", "13700000001", "--password", "Admin2026pw", "--name", "管理员"],
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
    for _ in range(2):
        port = free_port()
        processes.append(
            subprocess.Popen([*KEPURI, "serve", "--no-worker", "--port", str(port)], env=env)
        )
        bases.append(f"http://127.0.0.1:{port}")
        await ready(bases[-1])  # the first one starts the embedded Redis the others share
    processes.append(subprocess.Popen([*KEPURI, "worker"], env=env))
    if env["REDIS_URL"]:
        client = redis.asyncio.Redis.from_url(env["REDIS_URL"])
    else:
        client = redis.asyncio.Redis(unix_socket_path=str(tmp_path / "var" / "redis.sock"))
    try:
        yield bases, tmp_path / "sms.jsonl", client
    finally:
        await client.aclose()
        for process in reversed(processes):
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=30)
        if backend["database_url"]:
            await drop_postgres_database(env["DATABASE_URL"])


async def test_a_subscriber_on_one_process_hears_a_change_made_through_the_other(cluster):
    (a, b), outbox, redis_client = cluster
    token = (
        await gql(b, 'mutation { login(phone: "13700000001", password: "Admin2026pw") { token } }')
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
        """mutation($o: ID!) { addMember(organizationId: $o, phone: "13700000001",
        role: REVIEWER) { errors { code } } }""",
        {"o": sichuan["node"]["id"]},
        token,
    )
    # a school's filer registers (the SMS code from the console backend's outbox) and files
    await gql(
        a, 'mutation { requestVerificationCode(phone: "13700000002", purpose: REGISTER) { sent } }'
    )
    code = json.loads(outbox.read_text().splitlines()[-1])["code"]
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
    created = (
        await gql(
            b,
            """mutation($i: ActivityInput!) { createActivity(input: $i)
        { activity { id } errors { field code } } }""",
            {
                "i": {
                    "campaignId": campaign_id,
                    "title": "跨进程的活动",
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
    activity_id = created["activity"]["id"]
    await gql(
        b,
        "mutation($id: ID!) { submitActivity(id: $id) { errors { code } } }",
        {"id": activity_id},
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

    async with graphql_subscription(
        a, portal, "subscription { activityUpdates { kind activity { title } } }"
    ) as socket:
        await wait_subscribed(redis_client, f"kepuri:{portals.CHANNEL}")
        await gql(
            b,
            """mutation($id: ID!) { reviewActivity(id: $id, decision: APPROVE)
            { errors { code } } }""",
            {"id": activity_id},
            token,
        )
        message = json.loads(await asyncio.wait_for(socket.recv(), 15))

    assert message["payload"]["data"]["activityUpdates"] == {
        "kind": "ACTIVITY_PUBLISHED",
        "activity": {"title": "跨进程的活动"},
    }
