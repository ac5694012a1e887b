"""The hand-written baseline of bench.browse: the contract's `Activities` and `Activity` queries
answered by Starlette, plain SQL (asyncpg on PostgreSQL, aiosqlite on SQLite) and orjson, with
the engagement counts read from Redis as kepuri reads them (one pipeline per page). Its answers
are checked against kepuri's, field for field, before anything is measured.

    DATABASE_URL=... REDIS_URL=... uvicorn bench.baseline:app
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

CHINA = ZoneInfo("Asia/Shanghai")
BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://127.0.0.1:8000")
COUNTS = ("check_ins", "likes", "comments", "favorites", "rating_sum", "rating_count")
PUBLIC = "a.status = 'APPROVED' AND a.show_on_cloud AND a.deleted_at IS NULL"
LIST = f"""
SELECT a.id, a.title, a.form, a.starts_at, a.ends_at, a.poster, a.region_id, r.name, o.id,
       o.name, j.id, j.name, c.year, s.check_ins, s.likes, s.comments, s.favorites,
       s.rating_sum, s.rating_count
FROM activities a
JOIN regions r ON r.code = a.region_id
JOIN organizations o ON o.id = a.organization_id
JOIN campaigns c ON c.id = a.campaign_id
LEFT JOIN joint_actions j ON j.id = a.joint_action_id
LEFT JOIN activity_stats s ON s.activity_id = a.id
WHERE {PUBLIC} {{where}}
ORDER BY a.starts_at, a.id LIMIT {{limit}}
"""
ONE = f"""
SELECT a.id, a.title, a.description, a.status, a.form, a.starts_at, a.ends_at, a.address,
       a.online_url, a.host_units, a.organizer_units, a.region_id, r.name, o.id, o.name,
       v.id, v.name, v.kind, c.year, s.check_ins, s.likes, s.comments, s.favorites,
       s.rating_sum, s.rating_count
FROM activities a
JOIN regions r ON r.code = a.region_id
JOIN organizations o ON o.id = a.organization_id
JOIN organizations v ON v.id = a.supervisor_id
JOIN campaigns c ON c.id = a.campaign_id
LEFT JOIN activity_stats s ON s.activity_id = a.id
WHERE {PUBLIC} AND a.id = {{param}}
"""


def gid(kind: str, pk: int) -> str:
    return base64.b64encode(f"{kind}:{pk}".encode()).decode()


def moment(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite keeps text
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(CHINA)


def cursor(starts_at: datetime, pk: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([starts_at.isoformat(), pk]).encode()).decode()


def engagement(counts: dict[str, int]) -> dict[str, Any]:
    rated = counts["rating_count"]
    return {
        "checkIns": counts["check_ins"],
        "likes": counts["likes"],
        "comments": counts["comments"],
        "favorites": counts["favorites"],
        "ratingAverage": round(counts["rating_sum"] / rated, 2) if rated else None,
    }


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.postgres = url.startswith("postgres")
        self.pool: Any = None
        self.statements = 0  # sent so far (bench.browse shows them per request)

    async def open(self) -> None:
        if self.postgres:
            import asyncpg

            self.pool = await asyncpg.create_pool(self.url.replace("postgres://", "postgresql://"))
        else:
            import aiosqlite

            self.pool = await aiosqlite.connect(self.url.removeprefix("sqlite://"))

    async def rows(self, text: str, *args: Any) -> list[tuple[Any, ...]]:
        """Placeholders are $1 (asyncpg's); SQLite gets ?."""
        self.statements += 1
        if self.postgres:
            async with self.pool.acquire() as connection:
                return [tuple(r) for r in await connection.fetch(text, *args)]
        async with self.pool.execute(text.replace("$1", "?"), args) as cursor_:
            return list(await cursor_.fetchall())


db: Database
redis: aioredis.Redis


async def counts_of(rows: list[tuple[Any, ...]], at: int) -> list[dict[str, int]]:
    """Each row's counts: the live Redis hash (as kepuri keeps it), else the stats columns."""
    async with redis.pipeline(transaction=False) as pipe:
        for row in rows:
            pipe.hgetall(f"kepuri:eng:{row[0]}")
        live = await pipe.execute()
    out = []
    for row, found in zip(rows, live, strict=True):
        if found:
            out.append({k.decode(): int(v) for k, v in found.items() if k.decode() in COUNTS})
        else:
            out.append({k: int(row[at + i] or 0) for i, k in enumerate(COUNTS)})
    return out


async def activities(variables: dict[str, Any]) -> dict[str, Any]:
    first = min(int(variables.get("first") or 20), 100)
    region = ((variables.get("filter") or {}).get("regionCode")) or None
    where, args = "", []
    if region:
        level = await db.rows("SELECT level FROM regions WHERE code = $1", region)
        column = {"PROVINCE": "province_code", "PREFECTURE": "prefecture_code"}.get(
            level[0][0], "region_id"
        )
        where, args = f"AND a.{column} = $1", [region]
    rows = await db.rows(LIST.format(where=where, limit=first + 1), *args)
    total = (await db.rows(f"SELECT count(*) FROM activities a WHERE {PUBLIC} {where}", *args))[0][
        0
    ]
    page = rows[:first]
    counts = await counts_of(page, 13)
    edges = []
    for row, count in zip(page, counts, strict=True):
        starts = moment(row[3])
        edges.append(
            {
                "cursor": cursor(starts, row[0]),
                "node": {
                    "id": gid("Activity", row[0]),
                    "title": row[1],
                    "form": row[2],
                    "startsAt": starts.isoformat(),
                    "endsAt": moment(row[4]).isoformat(),
                    "label": f"{row[12]}年全国科普日活动",
                    "region": {"code": row[6], "name": row[7]},
                    "organization": {"id": gid("Organization", row[8]), "name": row[9]},
                    "jointAction": {"id": gid("JointAction", row[10]), "name": row[11]}
                    if row[10] is not None
                    else None,
                    "posterUrl": f"{BASE_URL.rstrip('/')}/media/{row[5]}" if row[5] else None,
                    "engagement": engagement(count),
                },
            }
        )
    return {
        "activities": {
            "edges": edges,
            "pageInfo": {
                "hasNextPage": len(rows) > first,
                "endCursor": edges[-1]["cursor"] if edges else None,
            },
            "totalCount": total,
        }
    }


def _units(value: Any) -> list[str]:
    return json.loads(value) if isinstance(value, str) else list(value or [])


async def activity(variables: dict[str, Any]) -> dict[str, Any]:
    try:
        kind, _, pk = base64.b64decode(variables["id"]).decode().partition(":")
        key = int(pk) if kind == "Activity" else 0
    except ValueError:
        key = 0
    rows = await db.rows(ONE.format(param="$1"), key)
    if not rows:
        return {"activity": None}
    row = rows[0]
    (count,) = await counts_of(rows, 19)
    return {
        "activity": {
            "id": gid("Activity", row[0]),
            "title": row[1],
            "description": row[2],
            "status": row[3],
            "form": row[4],
            "startsAt": moment(row[5]).isoformat(),
            "endsAt": moment(row[6]).isoformat(),
            "address": row[7],
            "onlineUrl": row[8],
            "label": f"{row[18]}年全国科普日活动",
            "hostUnits": _units(row[9]),
            "organizerUnits": _units(row[10]),
            "region": {"code": row[11], "name": row[12]},
            "organization": {"id": gid("Organization", row[13]), "name": row[14]},
            "supervisor": {"id": gid("Organization", row[15]), "name": row[16], "kind": row[17]},
            "engagement": engagement(count),
            "viewer": None,
        }
    }


async def graphql(request: Request) -> Response:
    body = orjson.loads(await request.body())
    query, variables = body["query"], body.get("variables") or {}
    data = await (activities(variables) if "activities(" in query else activity(variables))
    return Response(orjson.dumps({"data": data}), media_type="application/json")


@contextlib.asynccontextmanager
async def lifespan(_: Starlette) -> AsyncIterator[None]:
    global db, redis
    db = Database(os.environ["BASELINE_DATABASE_URL"])
    await db.open()
    url = os.environ["REDIS_URL"]
    if url.startswith("unix://"):
        path, _, _ = url.removeprefix("unix://").partition("?")
        redis = aioredis.Redis(unix_socket_path=path)
    else:
        redis = aioredis.Redis.from_url(url)
    yield


app = Starlette(routes=[Route("/graphql", graphql, methods=["POST"])], lifespan=lifespan)
