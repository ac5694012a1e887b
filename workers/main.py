"""The arq worker: its functions, cron jobs and lifecycle.

`kepuri worker` runs it as a process of its own (production); in the default development setup
`kepuri serve` runs the same worker inside the API process, sharing its database connections.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import redis.exceptions
import structlog
from arq import Retry, cron, func
from arq.connections import ArqRedis
from arq.constants import in_progress_key_prefix
from arq.worker import Worker as ArqWorker

from infra import bus, hub, jobs
from infra.settings import Settings
from kepuri.queue import QUEUE_NAME
from kepuri.redis import limits_storage_options, limits_storage_uri
from services import (
    activities,
    bookings,
    commendations,
    documents,
    escalation,
    fraud,
    maintenance,
    notifications,
    reminders,
    volunteers,
    webhooks,
)
from services.counters import Counters
from services.runtime import Runtime

log = structlog.get_logger(__name__)

# Redis errors that mean "not reachable now": the worker waits and carries on
REDIS_AWAY = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError)


class Worker(ArqWorker):
    """arq's worker, with two changes that keep jobs from being lost or stuck.

    - Redis going away pauses the worker instead of ending it: a start or a poll that cannot
      reach Redis is logged (once per outage) and tried again with a growing wait, and redis-py
      connects anew when Redis answers (arq's own loop let the error end the process).
    - A job is claimed for `lease_seconds`, and the claim is renewed while the job runs: a job
      whose worker died is taken up by another once its claim lapses, within a minute (arq
      claims every job for the longest timeout of all functions, 30 minutes here). A job is
      idempotent, so the rare second run after a stall is harmless.
    """

    def __init__(self, *args: Any, lease_seconds: float = 60.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lease_seconds = lease_seconds
        self.in_progress_timeout_s = lease_seconds
        self._renewed_at = 0.0
        self._away_since: float | None = None

    async def main(self) -> None:
        started = False
        original = self.on_startup

        async def startup(ctx: dict[str, Any]) -> None:
            nonlocal started
            if original is not None:
                await original(ctx)
            started = True

        self.on_startup = startup
        while True:
            try:
                await super().main()
                return
            except REDIS_AWAY as error:
                if started:  # only a burst worker's own loop gets here: it ends
                    raise
                await self._away(error)

    async def _poll_iteration(self) -> None:
        try:
            await super()._poll_iteration()
            await self._renew_claims()
        except REDIS_AWAY as error:
            await self._away(error)
            return
        if self._away_since is not None:
            log.info("worker_redis_back", seconds=round(time.monotonic() - self._away_since, 1))
            self._away_since = None

    async def _away(self, error: BaseException) -> None:
        """Log the first failure of an outage, and wait longer the longer it lasts."""
        if self._away_since is None:
            self._away_since = time.monotonic()
            log.warning("worker_redis_away", error=repr(error))
        await asyncio.sleep(min(0.5 + (time.monotonic() - self._away_since) / 2, 10.0))

    async def _renew_claims(self) -> None:
        """Extend the claim of every job this worker runs, every third of a lease."""
        if time.monotonic() - self._renewed_at < self.lease_seconds / 3:
            return
        self._renewed_at = time.monotonic()
        running = [job_id for job_id, task in self.tasks.items() if not task.done()]
        if not running:
            return
        async with self.pool.pipeline(transaction=False) as pipe:
            for job_id in running:
                pipe.pexpire(in_progress_key_prefix + job_id, int(self.lease_seconds * 1000))
            await pipe.execute()


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


async def scan_engagement(ctx: dict[str, Any]) -> int:
    """Run the fraud rules over the engagement that arrived since the last run (cron;
    idempotent; see services.fraud)."""
    settings: Settings = ctx["settings"]
    made = await fraud.scan(Counters(ctx["redis"]), fraud.Limits.of(settings))
    if made:
        log.info("engagement_flagged", flags=made)
    return made


async def expire_booking_offers(ctx: dict[str, Any]) -> int:
    """Places offered from the waiting list and not taken in time pass on (cron)."""
    settings: Settings = ctx["settings"]
    return await bookings.expire_offers(settings.booking_offer_hours)


async def remind_bookings(ctx: dict[str, Any]) -> int:
    """Remind people with a place tomorrow, once each (cron)."""
    return await bookings.remind_tomorrow()


def _pool(ctx: dict[str, Any]) -> ProcessPoolExecutor:
    """The worker's pool (each job gets a copy of the worker's ctx: a pool made in a job would
    be made again for every job, two new processes per document)."""
    pool: ProcessPoolExecutor = ctx["pool"]
    return pool


async def remind_deadlines(ctx: dict[str, Any]) -> int:
    """Remind those who still owe something before a deadline (cron; exactly once per key)."""
    result = await reminders.sweep()
    if result.reminders:
        log.info("deadline_reminders", reminders=result.reminders, batches=result.batches)
    return result.reminders


async def deliver_webhook(ctx: dict[str, Any], delivery_id: int) -> None:
    """One signed try; a failed one comes back on the retry schedule (about a day)."""
    settings: Settings = ctx["settings"]
    wait = await webhooks.deliver(delivery_id, settings.webhook_allowed_hosts)
    if wait is not None:
        raise Retry(defer=wait * settings.webhook_retry_scale)


async def review_sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Remind reviewers of waiting reviews and escalate the stuck ones (cron)."""
    settings: Settings = ctx["settings"]
    result = await escalation.sweep(settings.review_remind_days, settings.review_escalate_days)
    return {"reminded": result.reminded, "escalated": result.escalated}


async def deliver_notification(ctx: dict[str, Any], notification_id: int) -> bool:
    """Push a notification to the app and send it by email/SMS; retried with backoff."""
    settings: Settings = ctx["settings"]

    async def publish(user_id: int, message: dict[str, Any]) -> None:
        await hub.publish(ctx["redis"], f"user:{user_id}", message)

    final = ctx["job_try"] >= MAX_TRIES
    ok = await notifications.deliver(ctx["runtime"], notification_id, publish, final_try=final)
    if not ok and not final:
        raise Retry(defer=settings.notification_retry_seconds * 2 ** (ctx["job_try"] - 1))
    return ok


async def invite_volunteer(ctx: dict[str, Any], volunteer_id: int) -> bool:
    """The SMS invitation of a volunteer registered by a phone without an account; retried
    with backoff, sent once."""
    settings: Settings = ctx["settings"]
    final = ctx["job_try"] >= MAX_TRIES
    ok = await volunteers.send_invitation(ctx["runtime"], volunteer_id, final_try=final)
    if not ok and not final:
        raise Retry(defer=settings.notification_retry_seconds * 2 ** (ctx["job_try"] - 1))
    return ok


async def announce_commendations(
    ctx: dict[str, Any], campaign_id: int, certificates: bool = False
) -> int:
    """Tell commended units (or, with `certificates`, that their certificates are ready)."""
    return await commendations.announce(campaign_id, certificates)


async def _startup(ctx: dict[str, Any]) -> None:
    """Jobs may queue jobs; delivery needs the SMS backend and settings; WeasyPrint runs in a
    pool of processes, as many as cores, started on first use and kept warm (one font
    configuration each)."""
    jobs.configure(ctx["redis"], keep=True)
    bus.configure(ctx["redis"], keep=True)
    settings: Settings = ctx["settings"]
    ctx["runtime"] = Runtime.build(
        settings, limits_storage_uri(settings), limits_storage_options(settings)
    )
    ctx["pool"] = ProcessPoolExecutor(
        max_workers=os.cpu_count() or 2, mp_context=multiprocessing.get_context("spawn")
    )


async def render_document(ctx: dict[str, Any], document_id: int) -> bool:
    """Render a document; retried with exponential backoff, FAILED after the last try."""
    settings: Settings = ctx["settings"]

    async def notify(message: dict[str, Any]) -> None:
        await hub.publish(ctx["redis"], f"document:{document_id}", message)

    try:
        return await documents.render_document(
            document_id, Counters(ctx["redis"]), settings.public_base_url, _pool(ctx), notify
        )
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        if ctx["job_try"] < MAX_TRIES:
            await documents.mark_retrying(document_id, error, notify)
            log.warning("document_retry", document=document_id, error=error, attempt=ctx["job_try"])
            raise Retry(defer=settings.document_retry_seconds * 2 ** (ctx["job_try"] - 1)) from exc
        await documents.mark_failed(document_id, f"文档生成失败（{error}）", notify)
        log.error("document_failed", document=document_id, error=error)
        return False


async def requeue_documents(ctx: dict[str, Any]) -> int:
    """Queue again the jobs of documents whose job was lost (cron; see services.documents)."""
    return await documents.requeue_stranded()


async def _shutdown(ctx: dict[str, Any]) -> None:
    pool = ctx.pop("pool", None)
    if pool is not None:
        pool.shutdown(cancel_futures=True)


MAX_TRIES = 5
FUNCTIONS: list[Any] = [
    purge_expired,
    render_qr,
    flush_engagement,
    scan_engagement,
    expire_booking_offers,
    remind_bookings,
    func(render_document, timeout=1800),  # all certificates of a year in one job
    deliver_notification,
    invite_volunteer,
    announce_commendations,
    remind_deadlines,
    review_sweep,
    requeue_documents,
    func(deliver_webhook, max_tries=len(webhooks.RETRY_SCHEDULE) + 1),
]
CRON_JOBS = [
    cron(purge_expired, minute={17}, unique=True, run_at_startup=False),
    cron(flush_engagement, second={0, 30}, unique=True, run_at_startup=True, timeout=300),
    cron(scan_engagement, second={15}, unique=True, timeout=300),
    cron(expire_booking_offers, second={40}, unique=True, timeout=300),
    cron(remind_bookings, minute={3}, unique=True, timeout=1800),
    cron(remind_deadlines, minute=set(range(0, 60, 5)), unique=True, timeout=1800),
    cron(review_sweep, minute={7, 22, 37, 52}, unique=True, timeout=1800),
    cron(requeue_documents, second={45}, unique=True, timeout=60),
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
        max_tries=MAX_TRIES,
        on_startup=_startup,
        on_shutdown=_shutdown,
        job_timeout=300,
        keep_result=3600,
        ctx={"settings": settings},
        lease_seconds=settings.worker_lease_seconds,
        **options,
    )
