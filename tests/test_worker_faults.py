"""Jobs are not lost when the services beneath fail: a worker outlives a Redis outage, a dead
worker's job is taken up by the next, a job lost with an emptied Redis is queued again, and a
failed write leaves nothing half-done behind."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from arq import create_pool
from arq.connections import RedisSettings
from arq.constants import in_progress_key_prefix
from arq.jobs import Job
from tortoise import timezone

from infra import storage
from kepuri.queue import QUEUE_NAME
from kepuri.redis import EmbeddedRedis
from models import Document
from models.enums import DocumentStatus
from schema.ids import parse_global_id
from tests.conftest import Api, kepuri_process, process_env, run_worker, using_storage
from tests.test_documents import REQUEST, summarized  # noqa: F401 (a fixture)
from tests.test_service import redis_server  # noqa: F401 (a fixture)
from workers.main import build_worker, requeue_documents


async def until(condition, seconds: float, what: str) -> None:
    """Wait for `condition()` (a state another process or task reaches), checking often."""
    deadline = time.monotonic() + seconds
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.02)


async def test_a_worker_carries_on_when_redis_comes_back(
    app,
    base_settings,
    redis_server: EmbeddedRedis,  # noqa: F811
):
    """arq's worker ended (status 1 for `kepuri worker`) when its Redis connection dropped, and
    with it write-behind, documents and notifications. It now waits, and runs the next job."""
    queue = await create_pool(
        RedisSettings(unix_socket_path=str(redis_server.socket_path)),
        default_queue_name=QUEUE_NAME,
    )
    worker = build_worker(base_settings, queue, with_cron=False, poll_delay=0.05)
    running = asyncio.create_task(worker.async_run())
    try:
        polled = worker.health_check_key  # written by the worker's first poll
        await until(lambda: _true_async(queue.exists(polled)), 10, "the worker polls")
        redis_server.stop()
        await until(
            lambda: _true(running.done() or getattr(worker, "_away_since", None) is not None),
            10,
            "the worker notices",
        )
        assert not running.done(), running.exception()
        await asyncio.to_thread(redis_server.start)

        job = await queue.enqueue_job("purge_expired")
        assert job is not None
        result = await job.result(timeout=20, poll_delay=0.05)

        assert set(result) >= {"sessions"}
        assert not running.done()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()


async def _true(value: bool) -> bool:
    return value


@pytest.fixture
async def worker_processes(base_settings, backend) -> AsyncIterator[list]:
    """`kepuri worker` processes on the test's database and Redis, killed whatever happens."""
    env = process_env(base_settings, backend, WORKER_LEASE_SECONDS="2")
    started: list[asyncio.subprocess.Process] = []

    async def start() -> asyncio.subprocess.Process:
        process = await kepuri_process(
            env,
            "worker",
            stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its render pool dies with it
        )
        started.append(process)
        return process

    yield start  # type: ignore[misc]
    for process in started:
        if process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()


async def test_a_dead_worker_s_document_is_taken_up_by_the_next_worker(
    api: Api,
    app,
    summarized,  # noqa: F811
    worker_processes,
):
    """A worker killed mid-render held its job for arq's longest timeout (30 minutes), and the
    document stayed RUNNING; now a claim lasts a lease (2 s here, 60 by default) renewed while
    the job runs, and the next worker renders the document."""
    token = summarized["filer"].token
    requested = (await api.data(REQUEST, {"a": summarized["id"]}, token=token))[
        "requestActivitySummaryPdf"
    ]["document"]
    document_id = parse_global_id(requested["id"], "Document")
    claim = f"{in_progress_key_prefix}render_document:{document_id}"
    redis = app.state.redis

    first = await worker_processes()
    await until(lambda: _true_async(redis.exists(claim)), 30, "the first worker claims the job")
    os.killpg(first.pid, signal.SIGKILL)
    await first.wait()
    assert (await Document.get(id=document_id)).status is not DocumentStatus.READY

    await worker_processes()

    await until(lambda: _ready(document_id), 60, "the next worker renders the document")
    assert (await Document.get(id=document_id)).attempts >= 1


async def _true_async(awaitable) -> bool:
    return bool(await awaitable)


async def _ready(document_id: int) -> bool:
    return (await Document.get(id=document_id)).status is DocumentStatus.READY


async def test_a_document_whose_job_was_lost_is_queued_again_and_rendered(
    api: Api,
    app,
    base_settings,
    summarized,  # noqa: F811
):
    """Redis restarted empty (or the enqueue failed): the document stayed QUEUED for ever. The
    sweep queues its job again, under the same id."""
    token = summarized["filer"].token
    await api.data(REQUEST, {"a": summarized["id"]}, token=token)
    document = await Document.get()
    await app.state.redis.flushdb()  # the queued job is gone
    assert await app.state.queue.zcard(QUEUE_NAME) == 0

    fresh = await requeue_documents({})
    await Document.filter(id=document.id).update(updated_at=timezone.now() - timedelta(minutes=3))
    stranded = await requeue_documents({})
    await run_worker(app, base_settings)

    assert fresh == 0  # a document that has just been queued is left alone
    assert stranded == 1
    assert (await Document.get(id=document.id)).status is DocumentStatus.READY


async def test_the_sweep_queues_no_job_twice(api: Api, app, summarized):  # noqa: F811
    token = summarized["filer"].token
    await api.data(REQUEST, {"a": summarized["id"]}, token=token)
    document = await Document.get()
    await Document.filter(id=document.id).update(updated_at=timezone.now() - timedelta(minutes=3))

    await requeue_documents({})
    await requeue_documents({})

    assert await app.state.queue.zcard(QUEUE_NAME) == 1
    job = Job(f"render_document:{document.id}", app.state.queue)
    assert (await job.info()).function == "render_document"


async def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path, monkeypatch):
    def full_disk(source, target):
        raise OSError(28, "No space left on device")

    with using_storage(storage.LocalStorage(tmp_path)):
        monkeypatch.setattr(os, "replace", full_disk)
        try:
            with pytest.raises(OSError):
                await storage.save("posters/a.jpg", b"x" * 1000)
        finally:
            monkeypatch.undo()

    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []
