"""Public reads from a read replica. A second database stands in for it: a snapshot of the
primary taken when the test has written its rows (a replica that lags), in which one title is
then changed, so that each answer shows where it was read; and each statement is logged under
the connection that ran it."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlparse

import httpx
from tortoise import connections
from tortoise.context import TortoiseContext
from tortoise.router import router

from kepuri.db import normalize_db_url, tortoise_config
from models.enums import ActivityStatus
from schema.ids import to_global_id
from tests.conftest import (
    Api,
    china,
    drop_postgres_database,
    recreate_postgres_database,
    set_now,
    with_database_suffix,
)
from tests.factories import filing_unit, make_activity, make_campaign

LIST = "{ activities(first: 10) { edges { node { title } } } }"
ONE = "query($id: ID!) { activity(id: $id) { title } }"
UPDATE = """
mutation($id: ID!, $input: ActivityUpdateInput!) {
  updateActivity(id: $id, input: $input) { activity { title } errors { code } }
}
"""


async def snapshot(primary: str) -> str:
    """A copy of the primary database as it is now, as a new database of the same kind."""
    if primary.startswith("postgres"):
        copy = with_database_suffix(primary, "_replica")
        await recreate_postgres_database(copy)

        def dump() -> None:
            source = normalize_db_url(primary).replace("postgres://", "postgresql://", 1)
            target = normalize_db_url(copy).replace("postgres://", "postgresql://", 1)
            dumped = subprocess.run(
                ["pg_dump", "--no-owner", source], capture_output=True, check=True
            ).stdout
            subprocess.run(["psql", "-q", target], input=dumped, capture_output=True, check=True)

        await asyncio.to_thread(dump)
        return copy
    path = tempfile.mkdtemp(prefix="kepuri-replica-") + "/replica.sqlite3"
    source = sqlite3.connect(urlparse(primary).path or primary.removeprefix("sqlite://"))
    with sqlite3.connect(path) as target:
        source.backup(target)
    source.close()
    return f"sqlite://{path}"


@contextmanager
def statements() -> Iterator[dict[str, list[str]]]:
    """The SQL statements each connection of the current context runs, by its name."""
    seen: dict[str, list[str]] = {"default": [], "replica": []}
    originals = {}
    for name, found in seen.items():

        class Kept(logging.Handler):
            def emit(self, record: logging.LogRecord, into: list[str] = found) -> None:
                text = record.getMessage().lstrip()
                if text[:6].upper() in ("SELECT", "INSERT", "UPDATE", "DELETE"):
                    into.append(text)

        logger = logging.getLogger(f"kepuri.test.sql.{name}")
        logger.handlers = [Kept()]
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        originals[name] = connections.get(name).log
        connections.get(name).log = logger
    try:
        yield seen
    finally:
        for name, original in originals.items():
            connections.get(name).log = original


def touching(seen: list[str], table: str) -> list[str]:
    return [s for s in seen if f'"{table}"' in s or f" {table} " in s]


async def test_public_reads_go_to_the_replica_and_writes_and_own_reads_to_the_primary(
    api: Api, base_settings
):
    campaign = await make_campaign()
    unit, filer = await filing_unit(api)
    activity = await make_activity(unit, campaign, title="主库上的活动")
    await make_activity(unit, campaign, title="草稿", status=ActivityStatus.DRAFT)
    activity_id = to_global_id("Activity", activity.id)
    set_now(china("2026-09-10 10:00"))  # filing is open: an approved activity may be edited
    replica = await snapshot(base_settings.db_url)
    async with TortoiseContext() as ctx:
        await ctx.init(config=tortoise_config(base_settings.db_url, replica))
        try:
            await connections.get("replica").execute_query(
                f"UPDATE activities SET title = '副本上的活动' WHERE id = {activity.id}"
            )

            # a signed-in person's query: read on the replica, nothing of it on the primary
            with statements() as seen:
                shown = await api.data(ONE, {"id": activity_id}, token=filer.token)
            assert shown["activity"]["title"] == "副本上的活动"
            assert touching(seen["replica"], "activities")
            assert touching(seen["default"], "activities") == []

            # the page behind the QR code is public: the replica too
            with statements() as seen:
                async with httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=api.app), base_url="http://testserver"
                ) as client:
                    page = await client.get(f"/a/{activity.qr_token}")
            assert "副本上的活动" in page.text and touching(seen["default"], "activities") == []

            # their mutation reads and writes on the primary
            with statements() as seen:
                changed = await api.data(
                    UPDATE,
                    {"id": activity_id, "input": {"title": "改过的活动"}},
                    token=filer.token,
                )
            assert changed["updateActivity"]["errors"] == []
            assert seen["replica"] == []
            assert any(s.upper().startswith("UPDATE") for s in seen["default"])

            # and right after it they read what they wrote, from the primary
            with statements() as seen:
                again = await api.data(ONE, {"id": activity_id}, token=filer.token)
            assert again["activity"]["title"] == "改过的活动" and seen["replica"] == []

            # an anonymous list, whose answer the shared cache keeps, is built on the primary
            with statements() as seen:
                listed = await api.data(LIST)
            assert touching(seen["replica"], "activities") == []
            assert listed["activities"]["edges"] == []  # resubmitted: in review, not public
        finally:
            router.init_routers([])
    if replica.startswith("postgres"):
        await drop_postgres_database(replica)
