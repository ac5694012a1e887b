"""The response cache (schema/response_cache.py): anonymous answers come from Redis without a
statement; no change leaves a stale one (every mutation of the contract, as the matrix makes
them); signed-in callers never share an entry; and a change made through one process is in the
very next answer of another."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from infra import bus
from tests.cluster import gql, portal_scenario, running_cluster
from tests.conftest import Api, china, set_now
from tests.factories import filing_unit, make_activity, make_campaign, person
from tests.test_browsing import count_queries
from tests.test_contract import client_operations
from tests.test_matrix import MATRIX, VARIABLES, Scene, _done, mutations
from tests.test_matrix import scene as matrix_scene  # noqa: F401 (the `scene` fixture)

LIST = """query { activities(first: 20) { edges { node { id title organization { name }
region { name } engagement { likes } } } totalCount } }"""
# the public queries of the contract (anonymous answers are cached), on the public activity
PUBLIC = {
    "Activities": VARIABLES["Activities"],
    "Activity": lambda s: {"id": s["public"]},
    "ActivityByQr": lambda s: {"token": s["public_token"]},
    "Campaign": VARIABLES["Campaign"],
    "Comments": lambda s: {"activityId": s["public"]},
    "Commendations": VARIABLES["Commendations"],
    "Regions": lambda s: {},
    "SupervisingUnits": VARIABLES["SupervisingUnits"],
}


async def anonymous(
    app: Starlette, query: str, variables: dict[str, Any] | None = None, token: str | None = None
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 40000))
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )


async def test_an_anonymous_answer_is_read_from_redis_without_a_statement(app, api: Api):
    unit, _ = await filing_unit(api)
    await make_activity(unit, await make_campaign(), title="缓存里的活动")

    first = await anonymous(app, LIST)
    with count_queries() as statements:
        second = await anonymous(app, LIST)

    assert "x-cache" not in first.headers and second.headers["x-cache"] == "hit"
    assert second.json() == first.json()
    assert first.json()["data"]["activities"]["totalCount"] == 1
    assert statements == []


async def test_the_same_request_at_once_is_answered_by_one_execution(app, api: Api):
    """A burst of one list (a hundred phones opening the site at once): the first request
    computes it, the others wait for that answer instead of each computing it again."""
    unit, _ = await filing_unit(api)
    await make_activity(unit, await make_campaign(), title="同时打开的活动")
    await anonymous(app, LIST.replace("first: 20", "first: 19"))  # the live counts are read
    with count_queries() as alone:
        await anonymous(app, LIST.replace("first: 20", "first: 18"))

    with count_queries() as together:
        answers = await asyncio.gather(*(anonymous(app, LIST) for _ in range(10)))

    assert len({a.text for a in answers}) == 1
    assert sum(a.headers.get("x-cache") == "hit" for a in answers) == 9
    assert len(together) == len(alone)


async def test_the_same_request_that_may_not_be_kept_is_answered_each_time(app, settings):
    """Identical requests at once whose answer is not kept (an error, a mutation): each waits for
    the first, then is answered on its own, none fails."""
    settings(rate_limit_code_phone="100/minute")
    code = 'mutation { requestVerificationCode(phone: "13944449999", purpose: REGISTER) { sent } }'

    answers = await asyncio.gather(*(anonymous(app, code) for _ in range(10)))

    assert [a.status_code for a in answers] == [200] * 10
    assert all("sent" in a.json()["data"]["requestVerificationCode"] for a in answers)


async def test_signed_in_callers_never_share_an_entry(app, api: Api):
    """The same request by two people: each gets their own answer, and neither one is kept."""
    one, other = await person(api, "13944440001", "甲"), await person(api, "13944440002", "乙")
    query = "query { me { name } }"

    answers = [await anonymous(app, query, token=p.token) for p in (one, other, one, other)]

    assert [a.json()["data"]["me"]["name"] for a in answers] == ["甲", "乙", "甲", "乙"]
    assert all("x-cache" not in a.headers for a in answers)
    assert (await anonymous(app, query)).json()["data"]["me"] is None


async def test_what_is_not_a_public_query_is_never_kept(app, api: Api):
    refused = "query { notifications(first: 1) { totalCount } }"  # needs a sign-in
    invalid = "query { nothing }"
    mutation = 'mutation { requestVerificationCode(phone: "139", purpose: REGISTER) { sent } }'

    for query in (refused, invalid, mutation, refused, invalid):
        assert "x-cache" not in (await anonymous(app, query)).headers


def _without_counts(value: Any) -> Any:
    """An answer without its engagement counts (which may lag; see the README)."""
    if isinstance(value, dict):
        return {k: _without_counts(v) for k, v in value.items() if k != "engagement"}
    if isinstance(value, list):
        return [_without_counts(v) for v in value]
    return value


async def _public_answers(app: Starlette, scene: Scene) -> dict[str, Any]:
    operations = client_operations()
    return {
        name: _without_counts(
            (
                await anonymous(app, operations[name], VARIABLES.get(name, lambda s: {})(scene))
            ).json()
        )
        for name in PUBLIC
    }


@pytest.mark.parametrize("operation", sorted(mutations()))
async def test_no_mutation_leaves_a_stale_answer_in_the_cache(
    app,
    api: Api,
    matrix_scene: Scene,  # noqa: F811 (the fixture)
    settings,
    operation: str,
):
    """Each mutation of the contract, made by its actor as in the matrix, after the public
    queries were answered (and kept): the next anonymous answers are those without a cache
    (nor the lists' kept totals)."""
    scene = matrix_scene
    settings(webhook_allowed_hosts=("127.0.0.1:9",))
    row = MATRIX[operation]
    set_now(china(row.at))
    if row.arrange:
        await row.arrange(api, scene)
        set_now(china(row.at))
    await _public_answers(app, scene)  # kept

    await _done(api, scene, operation)
    cached = await _public_answers(app, scene)
    settings(response_cache_seconds=0)
    shared = bus.shared()
    bus.configure(None)  # nothing kept anywhere: the lists' totals counted afresh too
    try:
        fresh = await _public_answers(app, scene)
    finally:
        bus.configure(shared)

    assert cached == fresh


async def test_a_change_through_one_process_is_in_the_next_answer_of_another(
    tmp_path: Path, backend: dict[str, str]
):
    """Approval, edit (back to review), approval again, deletion: each through B, each seen in
    A's very next anonymous answer, though A answered (and kept) the list before each."""
    listing = "{ activities(first: 50) { edges { node { title } } } }"
    approve = (
        "mutation($id: ID!) { reviewActivity(id: $id, decision: APPROVE) { errors { code } } }"
    )
    edit = """mutation($id: ID!) { updateActivity(id: $id, input: {title: "改过的标题"})
    { errors { code } } }"""
    delete = "mutation($id: ID!) { deleteActivity(id: $id) { errors { code } } }"

    async def titles(base: str) -> list[str]:
        await gql(base, listing)  # answered once (and kept) before the next change
        return [e["node"]["title"] for e in (await gql(base, listing))["activities"]["edges"]]

    async with running_cluster(tmp_path, backend) as cluster:
        a, b = cluster.bases
        scenario = await portal_scenario(cluster, activities=1)
        (activity,) = scenario.pending
        filer = scenario.filer
        seen = [await titles(a)]
        await gql(b, approve, {"id": activity}, scenario.admin)
        seen.append(await titles(a))
        await gql(b, edit, {"id": activity}, filer)
        seen.append(await titles(a))
        await gql(b, approve, {"id": activity}, scenario.admin)
        seen.append(await titles(a))
        await gql(b, delete, {"id": activity}, filer)
        seen.append(await titles(a))

    assert seen == [[], ["第1个跨进程的活动"], [], ["改过的标题"], []], json.dumps(seen)
