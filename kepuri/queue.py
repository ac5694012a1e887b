"""The job queue behind one small module (arq today; arq is in maintenance mode, so keep it
swappable). Enqueue after the transaction commits and pass IDs only."""

from __future__ import annotations

from typing import Any

from arq import ArqRedis, create_pool
from arq.jobs import Job

from kepuri.redis import arq_settings
from kepuri.settings import Settings

QUEUE_NAME = "kepuri:queue"


async def open_queue(settings: Settings) -> ArqRedis:
    return await create_pool(arq_settings(settings), default_queue_name=QUEUE_NAME)


async def enqueue(
    queue: ArqRedis, function: str, *args: Any, job_id: str | None = None, **kwargs: Any
) -> Job | None:
    """Enqueue a job; with `job_id` a duplicate is ignored while queued or while its result is
    kept (returns None then)."""
    return await queue.enqueue_job(function, *args, _job_id=job_id, **kwargs)
