"""Database wiring: the Tortoise config, migrations, and connection lifetimes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate as run_migrations
from tortoise.migrations.operations import AlterField

from infra.settings import Settings, load_settings

MODEL_MODULES = ["models"]


def normalize_db_url(url: str) -> str:
    """Accept postgresql:// as well as postgres://; give SQLite a busy timeout (the API and a
    worker may write at once) and synchronous=NORMAL, the usual setting with WAL: a commit no
    longer waits for an fsync, and a crash of the process still loses nothing committed."""
    if url.startswith("postgresql://"):
        url = "postgres://" + url.removeprefix("postgresql://")
    if url.startswith("sqlite://") and ":memory:" not in url:
        for pragma in ("busy_timeout=5000", "synchronous=NORMAL"):
            if pragma.split("=")[0] not in url:
                url += ("&" if "?" in url else "?") + pragma
    return url


def prepare_sqlite_dir(db_url: str) -> None:
    """Create the folder of a SQLite file (aiosqlite 0.22 hangs instead of failing when the file
    cannot be opened)."""
    if db_url.startswith("sqlite://") and ":memory:" not in db_url:
        path = Path(db_url.removeprefix("sqlite://").split("?", 1)[0])
        path.parent.mkdir(parents=True, exist_ok=True)


async def keep_session(connection: Any) -> None:
    """How a pooled PostgreSQL connection is reset when given back, after asyncpg's own rollback
    of a transaction left open: nothing more. asyncpg's default sends a statement on every
    release (unlock advisory locks, close cursors, unlisten, RESET ALL): a second round trip for
    each query outside a transaction. This project keeps no session state to undo: its advisory
    locks are the transaction's (`pg_advisory_xact_lock`), it declares no cursors, listens to
    nothing and sets no session variable (tests/test_replica.py holds a release to no
    statement)."""


def _connection(url: str) -> str | dict[str, Any]:
    """A connection of the config: PostgreSQL's pool given back without the reset statement."""
    url = normalize_db_url(url)
    if not url.startswith("postgres://"):
        return url
    config: dict[str, Any] = expand_db_url(url)
    config["credentials"]["reset"] = keep_session
    return config


def tortoise_config(db_url: str, replica_url: str = "") -> dict[str, Any]:
    """Tortoise's config: the primary as `default`, and a read replica (reads of public work are
    routed to it by infra.sql.ReadRouter) when one is given."""
    connections = {"default": _connection(db_url)}
    if replica_url:
        connections["replica"] = _connection(replica_url)
    return {
        "connections": connections,
        **({"routers": ["infra.sql.ReadRouter"]} if replica_url else {}),
        "apps": {
            "models": {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "migrations",
            }
        },
        "use_tz": True,
        "timezone": "Asia/Shanghai",
    }


def _config_from_environment() -> dict[str, Any]:
    settings = load_settings()
    prepare_sqlite_dir(settings.db_url)
    return tortoise_config(settings.db_url)


def __getattr__(name: str) -> Any:
    # `TORTOISE_ORM` is read by `tortoise makemigrations` through [tool.tortoise] in
    # pyproject.toml; built on access so that importing this module reads no environment.
    if name == "TORTOISE_ORM":
        return _config_from_environment()
    raise AttributeError(name)


async def migrate(db_url: str) -> None:
    """Apply every migration, in a context of its own that is closed afterwards."""
    prepare_sqlite_dir(db_url)
    async with TortoiseContext():
        try:
            await run_migrations(config=tortoise_config(db_url))
        finally:
            await Tortoise.close_connections()


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[TortoiseContext]:
    """Connections for a command-line task or a worker, closed on the way out."""
    prepare_sqlite_dir(settings.db_url)
    async with TortoiseContext() as ctx:
        try:
            await ctx.init(config=tortoise_config(settings.db_url, settings.database_replica_url))
            yield ctx
        finally:
            await ctx.close_connections()


class AlterFieldState(AlterField):
    """An AlterField that changes what Tortoise knows of a field and leaves the column as it is:
    for changes that do not reach the database (an enum's generated description grows with a new
    member, the column stays VARCHAR). Tortoise 1.1 remakes a SQLite table for every AlterField
    and loses the table's unique constraints and indexes on the way (0002 lost the codes index,
    and 0009 would have lost the unique key that makes each notification exactly once)."""

    async def database_forward(self, *args: Any, **kwargs: Any) -> None:
        return None

    async def database_backward(self, *args: Any, **kwargs: Any) -> None:
        return None
