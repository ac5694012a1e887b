"""The running service: health, limits, error masking, settings, the worker, SMS backends, the
embedded Redis."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis

from infra import jobs
from infra.clock import clock
from infra.settings import DEV_SECRET, Settings, SettingsError, load_settings, parse_clock_offset
from infra.sms import HttpSms, SmsError
from kepuri.queue import open_queue
from kepuri.redis import EmbeddedRedis
from models import Session, VerificationCode
from schema import build_schema
from tests.conftest import Api, wait_subscribed
from tests.factories import person
from workers.main import build_worker


async def get(app, path: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        return await client.get(path)


async def test_healthz_and_readyz(app):
    health = await get(app, "/healthz")
    ready = await get(app, "/readyz")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (ready.status_code, ready.json()) == (
        200,
        {"status": "ok", "database": "ok", "redis": "ok"},
    )
    assert health.headers["x-request-id"]


async def test_oversized_bodies_are_refused_before_parsing(app):
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        declared = await client.post(
            "/graphql",
            content=b"x" * (1024 * 1024 + 1),
            headers={"content-type": "application/json"},
        )

        async def stream():
            for _ in range(20):
                yield b" " * 65536

        streamed = await client.post(
            "/graphql", content=stream(), headers={"content-type": "application/json"}
        )

    assert declared.status_code == streamed.status_code == 413
    assert declared.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


async def test_readyz_fails_when_redis_is_away(app, tmp_path):
    real = app.state.redis
    app.state.redis = aioredis.Redis(unix_socket_path=str(tmp_path / "nothing.sock"))
    try:
        ready = await get(app, "/readyz")
    finally:
        await app.state.redis.aclose()
        app.state.redis = real

    assert ready.status_code == 503
    assert ready.json()["redis"] != "ok"
    assert ready.json()["database"] == "ok"


async def test_deep_queries_are_refused(api: Api):
    deep = "{ me { memberships { organization { " + "parent { " * 12 + "name" + " }" * 15 + " }"

    body = await api.post(deep)

    assert "exceeds maximum operation depth" in body["errors"][0]["message"]


async def test_many_aliases_are_refused(api: Api):
    query = "{ " + " ".join(f"a{i}: me {{ id }}" for i in range(31)) + " }"

    body = await api.post(query)

    assert "aliases" in body["errors"][0]["message"]


async def test_production_masks_unexpected_errors_but_not_refusals(api: Api, monkeypatch):
    import resolvers.organizations as module

    async def broken(parent_code):
        raise RuntimeError("SELECT secret FROM somewhere")

    monkeypatch.setattr(module, "children_of", broken)
    schema = build_schema(mask_errors=True)

    crashed = await schema.execute("{ regions { code } }")
    refused = await schema.execute(
        'mutation { changePassword(oldPassword: "a", newPassword: "b") { ok } }',
        context_value=type("Ctx", (), {"user": None})(),
    )

    assert crashed.errors[0].message == "服务器内部错误"
    assert "secret" not in str(crashed.errors[0].formatted)
    assert crashed.errors[0].extensions["code"] == "INTERNAL_SERVER_ERROR"
    assert len(crashed.errors[0].extensions["requestId"]) == 16  # finds it in the log
    assert refused.errors[0].message == "请先登录"


def test_production_refuses_the_default_secret():
    env = {
        "KEPURI_ENV": "production",
        "DATABASE_URL": "postgres://x/y",
        "REDIS_URL": "redis://x",
        "SMS_BACKEND": "http",
        "SMS_HTTP_URL": "https://sms.example/send",
    }

    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings(env)
    with pytest.raises(SettingsError, match="SECRET_KEY"):
        load_settings({**env, "SECRET_KEY": "short"})
    with pytest.raises(SettingsError, match="CLOCK_OFFSET"):
        load_settings({**env, "SECRET_KEY": "s" * 40, "KEPURI_CLOCK_OFFSET": "+3d"})
    with pytest.raises(SettingsError, match="SMS"):
        load_settings({**env, "SECRET_KEY": "s" * 40, "SMS_BACKEND": "console"})
    assert load_settings({**env, "SECRET_KEY": "s" * 40}).production


def test_development_defaults_are_safe_to_start():
    settings = load_settings({})

    assert settings.secret_key == DEV_SECRET
    assert settings.db_url == "sqlite://var/kepuri.sqlite3"
    assert settings.redis_url == ""
    assert settings.public_base_url == "http://127.0.0.1:8000"
    assert load_settings({"PORT": "9000"}).public_base_url == "http://127.0.0.1:9000"


def test_the_working_calendar_comes_from_settings():
    settings = load_settings({"HOLIDAYS": "2026-10-01, 2026-10-02", "WORKDAYS": "2026-10-10,"})

    assert settings.holidays == (date(2026, 10, 1), date(2026, 10, 2))
    assert settings.workdays == (date(2026, 10, 10),)
    with pytest.raises(SettingsError, match="WORKDAYS"):
        load_settings({"WORKDAYS": "10月10日"})


@pytest.mark.parametrize(
    ("text", "delta"),
    [
        ("+12d", timedelta(days=12)),
        ("-3h", timedelta(hours=-3)),
        ("+30m", timedelta(minutes=30)),
        ("", timedelta(0)),
    ],
)
def test_clock_offsets(text, delta):
    assert parse_clock_offset(text) == delta


@pytest.mark.parametrize(
    "env",
    [
        {"PORT": "eighty"},
        {"KEPURI_CLOCK_OFFSET": "12 days"},
        {"KEPURI_WORKER_IN_PROCESS": "maybe"},
        {"SMS_BACKEND": "pigeon"},
    ],
)
def test_bad_settings_are_refused_with_their_name(env):
    with pytest.raises(SettingsError):
        load_settings(env)


async def test_a_real_worker_runs_the_purge_job_once(app, base_settings: Settings, api: Api):
    fresh = await person(api, "13912345678")
    await person(api, "13912345679")
    await Session.exclude(token_hash="").update(expires_at=clock.now() - timedelta(days=8))
    await Session.filter(user_id=fresh.user.id).update(expires_at=clock.now() + timedelta(days=1))
    await VerificationCode.create(
        phone="13912345678", purpose="REGISTER", code_hash="x", expires_at=clock.now()
    )
    await VerificationCode.filter().update(created_at=clock.now() - timedelta(days=2))
    first = await jobs.enqueue("purge_expired", job_id="purge-test")
    duplicate = await jobs.enqueue("purge_expired", job_id="purge-test")
    worker = build_worker(
        base_settings,
        await open_queue(base_settings),
        with_cron=False,
        burst=True,
        poll_delay=0.05,
    )
    await worker.async_run()
    await worker.close()
    assert first is not None
    result = await first.result(timeout=5)

    assert duplicate is None
    assert result == {"sessions": 1, "codes": 1, "documents": 0}
    assert await Session.all().count() == 1
    assert await VerificationCode.all().count() == 0


class _Gateway(BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append({"auth": self.headers["Authorization"], "body": json.loads(body)})
        self.send_response(self.status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def gateway():
    server = HTTPServer(("127.0.0.1", 0), _Gateway)
    _Gateway.received = []
    _Gateway.status = 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/send", _Gateway
    server.shutdown()


async def test_the_http_sms_backend_posts_to_the_gateway(gateway):
    url, handler = gateway

    await HttpSms(url, "key-123", timeout=2).send("13912345678", "验证码123456")

    assert handler.received == [
        {"auth": "Bearer key-123", "body": {"phone": "13912345678", "text": "验证码123456"}}
    ]


async def test_a_failing_gateway_is_a_clear_error_and_stores_no_code(gateway, app, api):
    url, handler = gateway
    handler.status = 503
    real = app.state.runtime.sms
    app.state.runtime.sms = HttpSms(url, "key", timeout=2)
    try:
        body = await api.data(
            'mutation { requestVerificationCode(phone: "13912345678", purpose: REGISTER) '
            "{ sent errors { code message } } }"
        )
    finally:
        app.state.runtime.sms = real

    assert body["requestVerificationCode"]["errors"][0]["code"] == "SMS_FAILED"
    assert await VerificationCode.all().count() == 0
    with pytest.raises(SmsError):
        await HttpSms("http://127.0.0.1:9/none", "key", timeout=1).send("13912345678", "x")


async def test_the_embedded_redis_is_shared_and_a_stale_socket_replaced(tmp_path: Path):
    first = EmbeddedRedis(tmp_path)
    assert await asyncio.to_thread(first.start) is True
    try:
        second = EmbeddedRedis(tmp_path)
        assert await asyncio.to_thread(second.start) is False  # found the live one
        client = aioredis.Redis(unix_socket_path=str(first.socket_path))
        assert await client.ping()
        await client.aclose()
    finally:
        first.stop()
    assert not first.socket_path.exists()

    first.socket_path.write_text("stale")
    third = EmbeddedRedis(tmp_path)
    assert await asyncio.to_thread(third.start) is True
    third.stop()


async def test_sqlite_runs_in_wal_mode(app, backend):
    from tortoise import connections

    conn = connections.get("default")
    if conn.capabilities.dialect != "sqlite":
        assert backend["database_url"].startswith("postgres")
        return
    _, rows = await conn.execute_query("PRAGMA journal_mode")

    assert rows[0][0] == "wal"


async def test_datetimes_compare_by_instant_whatever_their_offset(api: Api):
    """17:30 in Beijing is 09:30 UTC: before 10:00 UTC, though "17:30" sorts after "10:00" as
    text (SQLite compares stored datetimes as text, so they are all stored in UTC)."""
    from services.sessions import authenticate, token_hash
    from tests.conftest import china, set_now

    someone = await person(api, "13912345678")
    set_now(datetime(2026, 9, 10, 10, 0, tzinfo=UTC))
    await Session.filter(user_id=someone.user.id).update(expires_at=china("2026-09-10 17:30"))

    assert await authenticate(None, someone.token) is None
    assert await Session.filter(expires_at__lt=clock.now()).count() == 1
    assert await Session.filter(
        token_hash=token_hash(someone.token), expires_at__gt=datetime(2026, 9, 10, 9, 0, tzinfo=UTC)
    ).exists()


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[EmbeddedRedis]:
    """A Redis of the test's own, stopped whatever the test meets (a redis-server left running
    would outlive the suite)."""
    server = EmbeddedRedis(tmp_path)
    await asyncio.to_thread(server.start)
    yield server
    server.stop()


async def test_channels_subscribed_while_the_hub_connects_are_all_heard(
    redis_server: EmbeddedRedis,
):
    """A subscription that arrives while the hub is connecting (at start, or after Redis came
    back) used to open a second connection under the hub, which then read only that one: the
    channels subscribed on the first went silent."""
    from infra.hub import Hub, publish

    client = aioredis.Redis(unix_socket_path=str(redis_server.socket_path))
    connecting = client.connection_pool.get_connection

    async def slowly(*args: Any, **kwargs: Any) -> Any:  # a connection over a slow network
        await asyncio.sleep(0.1)
        return await connecting(*args, **kwargs)

    client.connection_pool.get_connection = slowly  # type: ignore[method-assign]
    hub = Hub(client)
    try:
        async with hub.subscribe("early") as early:  # subscribed by the hub as it connects
            await hub.start()
            await asyncio.sleep(0.02)  # the hub is connecting now
            async with hub.subscribe("meanwhile") as meanwhile:
                await wait_subscribed(client, "early")
                await wait_subscribed(client, "meanwhile")
                await publish(client, "meanwhile", {"n": 1})
                assert await asyncio.wait_for(meanwhile.get(), 5) == {"n": 1}
                await publish(client, "early", {"n": 2})
                assert await asyncio.wait_for(early.get(), 5) == {"n": 2}
    finally:
        await hub.stop()
        await client.aclose()


async def test_deployments_in_two_databases_of_one_redis_do_not_hear_each_other(
    redis_server: EmbeddedRedis,
):
    """Pub/sub ignores the database number: a staging deployment in database 1 of the production
    Redis would have sent its portals' change positions, and its people's ids to forget, to
    production's processes (and test runs beside each other, to each other)."""
    from infra.hub import Hub, publish

    ours, theirs = (
        aioredis.Redis(unix_socket_path=str(redis_server.socket_path), db=database)
        for database in (0, 1)
    )
    hub = Hub(ours)
    await hub.start()
    try:
        async with hub.subscribe("changes") as heard:
            await wait_subscribed(ours, "changes")
            await publish(theirs, "changes", {"position": 1_000_000})
            await publish(ours, "changes", {"position": 7})
            assert await asyncio.wait_for(heard.get(), 5) == {"position": 7}
            assert heard.empty()
    finally:
        await hub.stop()
        for client in (ours, theirs):
            await client.aclose()


class _Watcher:
    """Records what a hub tells a watcher, in order."""

    def __init__(self) -> None:
        self.told: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def heard(self, message: dict[str, Any]) -> None:
        self.told.put_nowait(("heard", message))

    def listening(self, yes: bool) -> None:
        self.told.put_nowait(("listening", yes))

    async def next(self) -> tuple[str, Any]:
        return await asyncio.wait_for(self.told.get(), 15)


class _Silenceable:
    """A TCP way to Redis's socket whose connections can fall silent without closing, as when a
    NAT forgets them or a host dies: neither side is told, and nothing more gets through."""

    def __init__(self, socket_path: Path) -> None:
        self.socket_path = socket_path
        self.links: list[dict[str, bool]] = []
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    def silence(self) -> None:
        for link in self.links:
            link["silent"] = True

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_unix_connection(self.socket_path)
        link = {"silent": False}
        self.links.append(link)

        async def pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            while data := await source.read(65536):
                if not link["silent"]:
                    sink.write(data)
            sink.close()

        with contextlib.suppress(OSError):
            await asyncio.gather(pump(reader, upstream_writer), pump(upstream_reader, writer))


async def test_the_hub_connects_anew_when_its_connection_falls_silent(redis_server: EmbeddedRedis):
    """Nothing tells a reader that its peer is gone: the hub pings Redis after a quiet while,
    and connects anew when no answer comes. Its subscribers are told to read on (what was
    published meanwhile is gone), and hear what comes next."""
    from infra.hub import RECONNECTED, Hub, publish

    way = _Silenceable(redis_server.socket_path)
    through = aioredis.Redis(host="127.0.0.1", port=await way.start())
    direct = aioredis.Redis(unix_socket_path=str(redis_server.socket_path))
    hub = Hub(through, heartbeat=0.2)
    watcher = _Watcher()
    hub.watch("changes", watcher)
    await hub.start()
    try:
        async with hub.subscribe("changes") as heard:
            assert await watcher.next() == ("listening", True)
            way.silence()
            await publish(direct, "changes", {"position": 1})  # lost on the silent connection
            assert await asyncio.wait_for(heard.get(), 5) == RECONNECTED
            assert await watcher.next() == ("listening", False)
            assert await watcher.next() == ("listening", True)  # confirmed on the new one
            await publish(direct, "changes", {"position": 2})
            assert await asyncio.wait_for(heard.get(), 5) == {"position": 2}
    finally:
        await hub.stop()
        await way.stop()
        for client in (through, direct):
            await client.aclose()


async def test_the_pubsub_hub_survives_a_redis_restart(redis_server: EmbeddedRedis):
    """Messages reach subscribers; after Redis restarts, subscribers are told (to re-read) and
    messages flow again (broadcaster hung forever here). The portals' change listener passes the
    news on to its live subscriptions too. A watcher (the session cache) hears that listening
    ended when the connection dropped, and began again only once Redis confirmed it."""
    from infra.hub import RECONNECTED, Hub, publish
    from services.portals import RecentChanges

    client = aioredis.Redis(unix_socket_path=str(redis_server.socket_path))
    hub = Hub(client)
    watcher = _Watcher()
    hub.watch("sessions", watcher)
    await hub.start()
    recent = RecentChanges(hub)
    try:
        async with hub.subscribe("document:1") as queue, recent.follow() as changes:
            await wait_subscribed(client, "document:1")
            await wait_subscribed(client, "changes")
            await publish(client, "document:1", {"status": "RUNNING"})
            assert await asyncio.wait_for(queue.get(), 5) == {"status": "RUNNING"}
            assert await watcher.next() == ("listening", True)
            await publish(client, "sessions", {"user": 3})
            assert await watcher.next() == ("heard", {"user": 3})

            redis_server.stop()
            assert await watcher.next() == ("listening", False)
            await asyncio.to_thread(redis_server.start)

            assert await asyncio.wait_for(queue.get(), 15) == RECONNECTED
            while (told := await watcher.next()) == ("listening", False):  # retries while away
                pass
            assert told == ("listening", True)
            await publish(client, "sessions", {"user": 4})
            assert await watcher.next() == ("heard", {"user": 4})
            assert await asyncio.wait_for(changes.get(), 5) == RECONNECTED
            await wait_subscribed(client, "document:1")
            await publish(client, "document:1", {"status": "READY"})
            assert await asyncio.wait_for(queue.get(), 5) == {"status": "READY"}
            await wait_subscribed(client, "changes")
            await publish(client, "changes", {"position": 7})
            assert await asyncio.wait_for(changes.get(), 5) == {"position": 7}
    finally:
        await recent.stop()
        await hub.stop()
        await client.aclose()


def test_log_lines_follow_the_level(base_settings: Settings, capsys):
    """JSON lines at or above the level; below it nothing is written (nor stamped)."""
    import structlog

    from kepuri.logs import configure_logging

    try:
        configure_logging(base_settings.with_overrides(log_level="INFO", log_format="json"))
        log = structlog.get_logger("kepuri.test")
        log.info("http_request", path="/graphql", status=200)
        log.debug("not_shown")
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    finally:
        configure_logging(base_settings)

    assert [(line["event"], line["level"], line["path"]) for line in lines] == [
        ("http_request", "info", "/graphql")
    ]
    assert lines[0]["timestamp"].endswith("Z")


def test_the_api_is_served_on_asyncio_s_own_loop(
    base_settings: Settings, monkeypatch: pytest.MonkeyPatch
):
    """uvloop starved some connections of a saturated process for about a second (see
    kepuri.cli._serve): `kepuri serve`, which the images run too, asks for asyncio's loop."""
    import uvicorn

    from kepuri import cli

    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: seen.update(options))

    args = cli._parser().parse_args(["serve", "--no-worker", "--port", "8765"])
    assert cli._serve(base_settings, args) == 0
    assert (seen["loop"], seen["port"]) == ("asyncio", 8765)


async def test_a_request_leaves_nothing_for_the_cyclic_collector(api: Api, settings: Any):
    """Each request's executor, context, person and loaders go when the request does
    (graphql-core's executor was a reference cycle, see schema/execution.py, and so was the
    engagement loader, which held its holder). Only this test's contexts count (from their own
    address): what an earlier test left running may end meanwhile. A request's loaders have no
    address, but no loader anywhere may be left in a cycle."""
    import gc

    from strawberry.dataloader import DataLoader

    from schema.context import Context, Loaders
    from schema.execution import Execution
    from schema.ids import to_global_id
    from tests.factories import filing_unit, make_activity, make_campaign

    here = "10.99.99.99"

    def ours(o: object) -> bool:
        context = o.context_value if isinstance(o, Execution) else o
        return isinstance(context, Context) and context.client_ip == here

    settings(response_cache_seconds=0)  # each anonymous request executes
    unit, _ = await filing_unit(api)
    shown = await make_activity(unit, await make_campaign(), title="看得见的活动")
    page = """query($id: ID!) { activity(id: $id) { title organization { name }
      engagement { likes } } }"""
    listed = "{ activities(first: 5) { edges { node { title engagement { likes } } } } }"
    someone = await person(api, "13912345678")
    query = "query { me { id name } }"
    await api.data(query, token=someone.token, ip=here)
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        for _ in range(3):
            await api.data(query, token=someone.token, ip=here)
            await api.data(page, {"id": to_global_id("Activity", shown.id)}, ip=here)
            await api.data(listed, ip=here)
            await api.data("mutation { logout { ok } }", ip=here)
        gc.collect()
        left = [
            type(o).__name__
            for o in gc.garbage
            if (isinstance(o, Execution | Context) and ours(o))
            or isinstance(o, Loaders | DataLoader)
        ]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()

    assert left == []


def test_a_statement_names_its_parameters_once_for_every_dialect():
    from infra.sql import Statement

    statement = Statement("SELECT :a::int, x FROM t WHERE b = :b2 AND c = :a")

    assert statement.render("postgres") == (
        "SELECT $1::int, x FROM t WHERE b = $2 AND c = $1",
        ["a", "b2"],
    )
    assert statement.render("sqlite") == (
        "SELECT ?::int, x FROM t WHERE b = ? AND c = ?",
        ["a", "b2", "a"],
    )


async def test_hits_of_one_identity_at_once_are_counted_together_and_exactly(app, monkeypatch):
    """Concurrent hits of one address go to Redis as one hit of that many when they all fit;
    when they do not, one by one, so that exactly the limit is admitted."""
    from infra.ratelimit import RateLimited

    limiter = app.state.runtime.limiter
    costs: list[int] = []
    hit = limiter.strategy.hit

    async def counting(item, *identity, cost=1):
        costs.append(cost)
        return await hit(item, *identity, cost=cost)

    monkeypatch.setattr(limiter.strategy, "hit", counting)

    async def attempt(spec: str, identity: str) -> int:
        try:
            await limiter.consume(spec, "test-addr", identity)
        except RateLimited as refused:
            return int(refused.retry_after or 0)
        return 0

    fits = await asyncio.gather(*[attempt("10/minute", "10.0.0.1") for _ in range(6)])
    assert fits == [0] * 6 and costs == [6]

    costs.clear()
    over = await asyncio.gather(*[attempt("5/minute", "10.0.0.2") for _ in range(8)])
    assert over[:5] == [0] * 5
    assert all(0 < wait <= 60 for wait in over[5:])
    assert costs == [8, 1, 1, 1, 1, 1, 1, 1, 1]  # all at once refused, then one by one

    # each admitted hit is in the window: the first address has room for 4 more, not 5
    admitted = await asyncio.gather(*[attempt("10/minute", "10.0.0.1") for _ in range(5)])
    assert sorted(admitted)[:4] == [0] * 4 and sorted(admitted)[4] > 0


async def test_a_request_under_several_limits_counts_each_and_waits_for_the_longest(app):
    from limits import parse

    from infra.ratelimit import RateLimited

    limiter = app.state.runtime.limiter
    account, address = ("1/minute", ("test-user", "7")), ("5/hour", ("test-addr", "10.0.0.3"))

    await limiter.consume_each(account, address)
    with pytest.raises(RateLimited) as refused:
        await limiter.consume_each(account, address)

    assert 0 < (refused.value.retry_after or 0) <= 60
    # the refused request's hit on the address counted all the same, as each hit does
    stats = await limiter.strategy.get_window_stats(parse("5/hour"), "test-addr", "10.0.0.3")
    assert stats.remaining == 3
