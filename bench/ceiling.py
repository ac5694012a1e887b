"""The ceiling of one Python process: a bare Starlette endpoint that increments a Redis counter."""

from __future__ import annotations

import os

import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

_redis = aioredis.Redis.from_url(os.environ["REDIS_URL"])


async def bump(request: Request) -> JSONResponse:
    return JSONResponse({"n": await _redis.incr("bench:ceiling")})


app = Starlette(routes=[Route("/bump", bump, methods=["POST"])])
