"""Queueing jobs from services: the process's arq pool, set once at start-up (API and worker)."""

from __future__ import annotations

from typing import Any

from arq import ArqRedis
from arq.jobs import Job

_queue: ArqRedis | None = None


def configure(queue: ArqRedis | None, *, keep: bool = False) -> None:
    """Set the queue (`keep`: unless one is set, as when a worker runs inside the API)."""
    global _queue
    if not (keep and _queue is not None):
        _queue = queue


async def enqueue(function: str, *args: Any, job_id: str | None = None) -> Job | None:
    """Queue a job (after the transaction commits; IDs only). A duplicate `job_id` is ignored
    while queued or while its result is kept (None is returned)."""
    if _queue is None:
        raise RuntimeError("no job queue in this process")
    return await _queue.enqueue_job(function, *args, _job_id=job_id)
