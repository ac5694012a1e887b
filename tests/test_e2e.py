"""The two-command path for real: `kepuri migrate`, `seed-demo`, `create-admin` and `serve` as
processes, then a newcomer's first steps over HTTP against the served API."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.cluster import KEPURI, ready
from tests.conftest import (
    drop_postgres_database,
    free_port,
    fresh_backend_for_processes,
)


def gql(base: str, query: str, variables: dict | None = None, token: str | None = None) -> dict:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = httpx.post(
        f"{base}/graphql",
        json={"query": query, "variables": variables or {}},
        headers=headers,
        timeout=10,
    )
    response.raise_for_status()
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


def _errors_logged(output: str) -> list[dict]:
    """The JSON log lines at error level or above in a command's output."""
    lines = []
    for text in output.splitlines():
        with contextlib.suppress(ValueError):
            line = json.loads(text)
            if isinstance(line, dict) and line.get("level") in ("error", "critical"):
                lines.append(line)
    return lines


@pytest.fixture
async def served(tmp_path: Path, backend: dict[str, str]):
    env = {
        **os.environ,
        "KEPURI_VAR_DIR": str(tmp_path / "var"),
        "SMS_OUTBOX": str(tmp_path / "sms.jsonl"),
        "PORT": str(free_port()),
        "LOG_FORMAT": "json",
        **await fresh_backend_for_processes(backend, "_e2e", 1),
    }
    for command in (
        ["migrate"],
        ["seed-demo"],
        [
            "create-admin",
            "--phone",
            "13700000000",
            "--password",
            "Admin2026pw",
            "--name",
            "值班管理员",
        ],
    ):
        done = subprocess.run(
            KEPURI + command, env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert done.returncode == 0, done.stderr
        assert not _errors_logged(done.stderr), done.stderr
    server = subprocess.Popen(
        [*KEPURI, "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{env['PORT']}"
    try:
        await ready(base)
        yield base, tmp_path, env
    finally:
        server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)
        if backend["database_url"]:
            await drop_postgres_database(env["DATABASE_URL"])
    # uvicorn re-raises the SIGTERM it handled, after a clean shutdown
    assert server.returncode in (0, -signal.SIGTERM), output
    assert "Application shutdown complete" in output
    if not backend["redis_url"]:  # the server stopped the embedded Redis it started
        assert not (tmp_path / "var" / "redis.sock").exists()
        assert "embedded_redis_stopped" in output


async def test_a_newcomer_registers_files_a_unit_and_finds_supervisors(served):
    base, tmp_path, _env = served

    page = httpx.get(f"{base}/graphql", headers={"Accept": "text/html"}, timeout=5)
    assert page.status_code == 200 and "graphiql" in page.text.lower()

    sent = gql(
        base,
        'mutation { requestVerificationCode(phone: "13912345678", purpose: REGISTER)'
        " { sent errors { code } } }",
    )
    assert sent["requestVerificationCode"] == {"sent": True, "errors": []}
    code = json.loads((tmp_path / "sms.jsonl").read_text().splitlines()[-1])["code"]
    registered = gql(
        base,
        """mutation($input: RegisterInput!) { register(input: $input) {
        token user { id name } errors { code } } }""",
        {
            "input": {
                "phone": "13912345678",
                "code": code,
                "password": "Kepuri2026x",
                "name": "新用户",
                "acceptAgreement": True,
            }
        },
    )["register"]
    assert registered["errors"] == []

    login = gql(
        base,
        'mutation { login(phone: "13912345678", password: "Kepuri2026x") '
        "{ token errors { code } } }",
    )["login"]
    token = login["token"]
    me = gql(base, "{ me { name phone } }", token=token)["me"]
    assert me == {"name": "新用户", "phone": "13912345678"}

    saved = gql(
        base,
        """mutation($input: UnitProfileInput!) { saveUnitProfile(input: $input) {
        organization { name region { name } } errors { code } } }""",
        {
            "input": {
                "name": "西宁市第一中学",
                "kind": "SCHOOL",
                "regionCode": "630102",
                "contactName": "马老师",
                "contactPhone": "13912345678",
                "address": "西宁市城东区1号",
            }
        },
        token=token,
    )
    assert saved["saveUnitProfile"] == {
        "organization": {"name": "西宁市第一中学", "region": {"name": "城东区"}},
        "errors": [],
    }

    units = gql(
        base,
        '{ supervisingUnits(kind: PROVINCIAL_ASSOCIATION, search: "青海") '
        "{ edges { node { name } } totalCount } }",
    )["supervisingUnits"]
    assert units == {"edges": [{"node": {"name": "青海省科学技术协会"}}], "totalCount": 1}

    for phone, password in (("13800000001", "Kepuri2026"), ("13700000000", "Admin2026pw")):
        admin = gql(
            base,
            f'mutation {{ login(phone: "{phone}", password: "{password}") '
            "{ token user { memberships { role organization { kind } } } } }",
        )
        memberships = admin["login"]["user"]["memberships"]
        assert {"role": "ADMIN", "organization": {"kind": "NATIONAL_ORGANIZER"}} in memberships
