"""Two API processes and a worker on one database and Redis: a portal subscribed on one process
receives a change made through the other (the pub/sub fan-out), as in production."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.cluster import ADMIN_PASSWORD, ADMIN_PHONE, KEPURI, gql, portal_scenario, running_cluster
from tests.conftest import graphql_subscription, next_message

APPROVE = (
    """mutation($id: ID!) { reviewActivity(id: $id, decision: APPROVE) { errors { code } } }"""
)
UPDATES = """subscription($after: String) { activityUpdates(after: $after)
{ kind activity { title } } }"""


async def test_a_subscriber_on_one_process_hears_a_change_made_through_the_other(
    tmp_path: Path, backend: dict[str, str]
):
    """A portal follows from its cursor on A while a reviewer approves through B.

    Nothing here waits for A to be subscribed: without a cursor a subscription begins at the
    change log's newest entry as A reads it, so a change committed before that read is rightly
    never sent, and a test that raced it would fail now and then. From a cursor the next change
    arrives whenever A gets to it (replayed or heard). The one after is approved only once that
    one has arrived, when A can only hear it: B's announcement on the bus."""
    async with running_cluster(tmp_path, backend) as cluster:
        a, b = cluster.bases
        scenario = await portal_scenario(cluster, activities=3)
        first, second, third = scenario.pending
        await gql(b, APPROVE, {"id": first}, scenario.admin)
        feed = await gql(a, "{ activityChanges { pageInfo { endCursor } } }", token=scenario.portal)
        cursor = feed["activityChanges"]["pageInfo"]["endCursor"]
        async with graphql_subscription(a, scenario.portal, UPDATES, {"after": cursor}) as socket:
            heard = []
            for activity in (second, third):
                await gql(b, APPROVE, {"id": activity}, scenario.admin)
                heard.append((await next_message(socket, 15))["payload"]["data"])

    assert heard == [
        {"activityUpdates": {"kind": "ACTIVITY_PUBLISHED", "activity": {"title": title}}}
        for title in ("第2个跨进程的活动", "第3个跨进程的活动")
    ]


LOGIN = "mutation($p: String!, $w: String!) { login(phone: $p, password: $w) { token } }"
ME = "query { me { id } }"


async def refused_within(base: str, token: str, seconds: float) -> None:
    """Until `base` no longer knows the token (another process revoked it: it hears that on
    the bus, a moment later), at most `seconds`."""
    started = time.monotonic()
    while (await gql(base, ME, token=token))["me"] is not None:
        assert time.monotonic() - started < seconds, "the session is still kept"
        await asyncio.sleep(0.02)


async def test_a_session_ended_through_one_process_is_refused_by_the_other(
    tmp_path: Path, backend: dict[str, str]
):
    """Each process keeps the sessions it read for SESSION_CACHE_SECONDS (60): a logout through
    B, and an admin's password reset from the command line, end them on A at once."""
    async with running_cluster(tmp_path, backend) as cluster:
        a, b = cluster.bases
        login = {"p": ADMIN_PHONE, "w": ADMIN_PASSWORD}
        laptop = (await gql(b, LOGIN, login))["login"]["token"]
        phone = (await gql(b, LOGIN, login))["login"]["token"]
        for token in (laptop, phone):
            assert (await gql(a, ME, token=token))["me"] is not None  # A keeps both now

        await gql(b, "mutation { logout { ok } }", token=laptop)
        await refused_within(a, laptop, 5)
        assert (await gql(a, ME, token=phone))["me"] is not None

        reset = await asyncio.create_subprocess_exec(
            *KEPURI,
            *(
                "create-admin",
                "--phone",
                ADMIN_PHONE,
                "--password",
                "Changed2026pw",
                "--name",
                "管理员",
            ),
            env=cluster.env,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        _, errors = await reset.communicate()
        assert reset.returncode == 0, errors.decode()
        await refused_within(a, phone, 5)
