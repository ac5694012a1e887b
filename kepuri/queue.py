"""The job queue behind one small module (arq today; arq is in maintenance mode, so keep it
swappable). Jobs are enqueued through `Runtime.enqueue`, after the transaction commits."""

from __future__ import annotations

from arq import ArqRedis, create_pool

from infra.settings import Settings
from kepuri.redis import arq_settings

QUEUE_NAME = "kepuri:queue"


async def open_queue(settings: Settings) -> ArqRedis:
    return await create_pool(arq_settings(settings), default_queue_name=QUEUE_NAME)
