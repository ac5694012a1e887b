"""Two API processes and a worker on one database and Redis: a portal subscribed on one process
receives a change made through the other (the pub/sub fan-out), as in production."""

from __future__ import annotations

from pathlib import Path

from services import portals
from tests.cluster import gql, portal_scenario, running_cluster
from tests.conftest import graphql_subscription, next_message, wait_subscribed


async def test_a_subscriber_on_one_process_hears_a_change_made_through_the_other(
    tmp_path: Path, backend: dict[str, str]
):
    async with running_cluster(tmp_path, backend) as cluster:
        a, b = cluster.bases
        scenario = await portal_scenario(cluster)
        async with graphql_subscription(
            a, scenario.portal, "subscription { activityUpdates { kind activity { title } } }"
        ) as socket:
            await wait_subscribed(cluster.redis, f"kepuri:{portals.CHANNEL}")
            await gql(
                b,
                """mutation($id: ID!) { reviewActivity(id: $id, decision: APPROVE)
                { errors { code } } }""",
                {"id": scenario.pending[0]},
                scenario.admin,
            )
            message = await next_message(socket, 15)

    assert message["payload"]["data"]["activityUpdates"] == {
        "kind": "ACTIVITY_PUBLISHED",
        "activity": {"title": "第1个跨进程的活动"},
    }
