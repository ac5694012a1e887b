"""The environment every database benchmark starts from: a scratch folder, a fresh database
(SQLite there, or a new PostgreSQL database), Redis (embedded, or a server), migrations and
reference data, and the ORM connected. Everything is removed afterwards."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any


def server_urls(name: str, redis_db: int) -> dict[str, str]:
    """DATABASE_URL and REDIS_URL of a benchmark on the local servers (BENCH_DATABASE_URL and
    BENCH_REDIS_URL override them)."""
    return {
        "DATABASE_URL": os.environ.get(
            "BENCH_DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/kepuri_bench_{name}"
        ),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", f"redis://127.0.0.1:6379/{redis_db}"),
    }


@asynccontextmanager
async def bench_environment(backend: str, name: str, redis_db: int) -> AsyncIterator[Any]:
    """Yield the settings of a migrated, seeded-with-reference-data installation."""
    work = Path(tempfile.mkdtemp(prefix=f"kepuri-bench-{name}-"))
    os.environ.update(
        {
            "KEPURI_VAR_DIR": str(work),
            "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
            "DATABASE_URL": "",
            "REDIS_URL": "",
        }
    )
    if backend == "servers":
        os.environ.update(server_urls(name, redis_db))
        from tests.conftest import recreate_postgres_database

        await recreate_postgres_database(os.environ["DATABASE_URL"])
    from infra.settings import load_settings
    from kepuri.app import configure_process
    from kepuri.db import database, migrate
    from kepuri.redis import ensure_redis
    from services.organizations import sync_reference_organizations
    from services.regions import sync_regions

    settings = load_settings()
    configure_process(settings)
    embedded = ensure_redis(settings)
    await migrate(settings.db_url)
    try:
        async with database(settings):
            await sync_regions()
            await sync_reference_organizations()
            yield settings
    finally:
        if embedded is not None:
            embedded.stop()
        shutil.rmtree(work, ignore_errors=True)


async def backend_for_processes(
    backend: str, work: Path, name: str, redis_db: int
) -> tuple[dict[str, str], Any]:
    """DATABASE_URL and REDIS_URL for the server processes of a benchmark: the local servers (a
    fresh database, an emptied Redis database), or Redis embedded in `work` (and SQLite there,
    which needs no URL); and the embedded Redis, to stop afterwards (None on the servers)."""
    if backend == "servers":
        urls = server_urls(name, redis_db)
        from tests.conftest import recreate_postgres_database

        await recreate_postgres_database(urls["DATABASE_URL"])
        import redis.asyncio as aioredis

        flush = aioredis.Redis.from_url(urls["REDIS_URL"])
        await flush.flushdb()
        await flush.aclose()
        return urls, None
    from kepuri.redis import EmbeddedRedis

    embedded = EmbeddedRedis(work)
    embedded.start()
    return {"DATABASE_URL": "", "REDIS_URL": f"unix://{embedded.socket_path}?db=0"}, embedded
