"""The arq worker: its functions, cron jobs and lifecycle.

`kepuri worker` runs it as a process of its own (production); in the default development setup
`kepuri serve` runs the same worker inside the API process, sharing its database connections.
"""

from __future__ import annotations

from typing import Any

import structlog
from arq import cron
from arq.connections import ArqRedis
from arq.worker import Worker

from kepuri.queue import QUEUE_NAME
from kepuri.settings import Settings
from services import activities, maintenance
from services.counters import Counters

log = structlog.get_logger(__name__)


async def purge_expired(ctx: dict[str, Any]) -> dict[str, int]:
    result = await maintenance.purge_expired()
    log.info("purged_expired", **result)
    return result


async def render_qr(ctx: dict[str, Any], activity_id: int) -> bool:
    """Render an activity's QR code as PNG and SVG (idempotent)."""
    settings: Settings = ctx["settings"]
    return await activities.render_qr(activity_id, settings.public_base_url)


async def flush_engagement(ctx: dict[str, Any]) -> int:
    """Write engagement counters behind to the database (idempotent; see services.counters)."""
    flushed = await Counters(ctx["redis"]).flush()
    if flushed:
        log.info("engagement_flushed", events=flushed)
    return flushed


FUNCTIONS: list[Any] = [purge_expired, render_qr, flush_engagement]
CRON_JOBS = [
    cron(purge_expired, minute={17}, unique=True, run_at_startup=False),
    cron(flush_engagement, second={0, 30}, unique=True, run_at_startup=True, timeout=300),
]


def build_worker(
    settings: Settings,
    redis: ArqRedis,
    *,
    with_cron: bool = True,
    burst: bool = False,
    handle_signals: bool = False,
    **options: Any,
) -> Worker:
    """A worker on `redis`; the caller owns the database connections (and their context)."""
    return Worker(
        functions=FUNCTIONS,
        cron_jobs=CRON_JOBS if with_cron else None,
        redis_pool=redis,
        queue_name=QUEUE_NAME,
        handle_signals=handle_signals,
        burst=burst,
        max_tries=5,
        job_timeout=300,
        keep_result=3600,
        ctx={"settings": settings},
        **options,
    )
