"""A query the schema has already found valid runs the short way (schema/vetted.py), without
strawberry's extension pipeline, and answers exactly as the whole way did: the same data, errors
and cost; each per-request check (variables, cost, registration, caching, error codes) still
refuses what it refused; anything else goes the whole way."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import strawberry

from infra import sql
from schema.error_codes import INTERNAL, UNAVAILABLE_MESSAGE
from schema.ids import to_global_id
from tests.conftest import Api
from tests.factories import filing_unit, make_activity, make_campaign, person

ONE = """query One($id: ID!) {
  activity(id: $id) { id title region { name } organization { name } engagement { likes }
                      viewer { liked } }
}"""
LISTED = """query Listed($first: Int, $filter: ActivityFilter) {
  a: activities(first: $first, filter: $filter) { totalCount edges { node { title
     region { code } organization { name } supervisor { name } jointAction { name }
     engagement { likes } campaign { year } } } }
  b: activities(first: $first, filter: $filter) { edges { node { title
     region { code } organization { name } supervisor { name } jointAction { name }
     engagement { likes } campaign { year } } } }
}"""
MINE = "query Mine { myActivities(first: 5) { edges { node { title } } } }"
LIKE = "mutation Like($id: ID!) { setLike(activityId: $id, liked: true) { errors { code } } }"


@pytest.fixture
def whole_way(monkeypatch: pytest.MonkeyPatch) -> list[str | None]:
    """The texts of the operations that went through strawberry's extension pipeline."""
    ran: list[str | None] = []
    runner = strawberry.Schema.create_extensions_runner

    def counted(self: Any, execution_context: Any, extensions: Any) -> Any:
        ran.append(execution_context.query)
        return runner(self, execution_context, extensions)

    monkeypatch.setattr(strawberry.Schema, "create_extensions_runner", counted)
    return ran


@pytest.fixture
async def shown(api: Api, settings: Any) -> str:
    """A public activity's ID; anonymous answers are not cached (each request executes)."""
    settings(response_cache_seconds=0)
    unit, _ = await filing_unit(api)
    activity = await make_activity(unit, await make_campaign(), title="走近人工智能")
    return to_global_id("Activity", activity.id)


def fresh(text: str, test: str) -> str:
    """The text as no earlier test sent it (the schema remembers texts for the process)."""
    return f"{text}\n# {test}"


async def twice(api: Api, text: str, variables: dict[str, Any], **kwargs: Any) -> list[Any]:
    return [await api.post(text, variables, **kwargs) for _ in range(2)]


async def test_a_known_query_answers_as_the_whole_way(api, shown, whole_way):
    liker = (await person(api, "13900000031")).token
    await api.post(LIKE, {"id": shown}, token=liker)
    cases = [
        (ONE, {"id": shown}, None),  # anonymous
        (ONE, {"id": shown}, liker),  # the viewer's own fields
        (ONE, {"id": to_global_id("Activity", 10**9)}, None),  # none such: null
        (LISTED, {"first": 5}, None),
        (LISTED, {"first": 5, "filter": {"regionCode": "110000"}}, liker),
        (MINE, {}, None),  # refused at its field: an error with a path and a code
    ]
    for n, (text, variables, token) in enumerate(cases):
        text = fresh(text, f"known {n}")
        first, second = await twice(api, text, variables, token=token)
        assert second == first
        assert whole_way.count(text) == 1  # the second went the short way
        assert "cost" in second["extensions"]  # reported the short way too
    liked = await api.post(fresh(ONE, "known 1"), {"id": shown}, token=liker)
    assert liked["data"]["activity"]["viewer"] == {"liked": True}
    anonymous = await api.post(fresh(ONE, "known 0"), {"id": shown})
    assert anonymous["data"]["activity"]["viewer"] is None  # nobody to be
    refused = await api.post(fresh(MINE, "known 5"), {})
    assert refused["errors"][0]["path"] == ["myActivities"]
    assert refused["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_every_check_of_a_request_still_refuses_on_the_short_way(
    api, shown, settings, whole_way
):
    text = fresh(LISTED, "checks")
    assert "errors" not in await api.post(text, {"first": 5})  # found valid: known now
    assert "errors" not in await api.post(text, {"first": 6})
    assert whole_way.count(text) == 1

    nul = await api.post(text, {"first": 5, "filter": {"regionCode": "11\x000000"}})
    assert nul["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert "空字符" in nul["errors"][0]["message"] and nul["data"] is None

    costly = await api.post(text, {"first": 100})  # two lists of 100: over the anonymous 1000
    assert costly["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    signed_in = await api.post(text, {"first": 100}, token=(await person(api, "13900000032")).token)
    assert "errors" not in signed_in  # the budget is the caller's
    assert signed_in["extensions"]["cost"]["maximumAvailable"] == 5000

    settings(registered_operations_only=True)
    unregistered = await api.post(text, {"first": 5})
    assert unregistered["errors"][0]["extensions"]["code"] == "OPERATION_NOT_REGISTERED"
    assert whole_way.count(text) == 4  # the first, then each refusal: the whole way


@pytest.mark.parametrize(
    ("failure", "code"),
    [(RuntimeError("坏了"), "INTERNAL_SERVER_ERROR"), (ConnectionError(), "SERVICE_UNAVAILABLE")],
)
async def test_an_unexpected_error_on_the_short_way_is_coded_logged_and_masked(
    api, app, shown, whole_way, monkeypatch, caplog, failure, code
):
    async def failing(*_: Any) -> Any:
        raise failure

    monkeypatch.setattr(sql.Prepared, "rows", failing)
    caplog.set_level(logging.ERROR)
    text = fresh(ONE, f"failing {code}")
    answers, ids = [], []
    for _ in range(2):  # the whole way, then the short way
        answers.append(await api.post(text, {"id": shown}))
        ids.append(api.last_response.headers["x-request-id"])
    assert whole_way.count(text) == 1
    for answer, request_id in zip(answers, ids, strict=True):
        (error,) = answer["errors"]
        assert answer["data"] == {"activity": None} and error["path"] == ["activity"]
        assert error["extensions"]["code"] == code
        if code == "INTERNAL_SERVER_ERROR":
            assert error["extensions"].pop("requestId") == request_id
        else:
            assert error["extensions"]["retryAfter"] > 0
    assert answers[1] == answers[0]
    logged = [r for r in caplog.records if r.name == "strawberry.execution"]
    assert len(logged) == 2  # each way logs what was not expected

    view = next(r for r in app.routes if getattr(r, "path", "") == "/graphql").endpoint
    monkeypatch.setattr(view.schema.vetted, "mask", True)  # as production's schema is made
    (masked,) = (await api.post(text, {"id": shown}))["errors"]
    assert masked["extensions"]["code"] == code
    assert masked["message"] == ("服务器内部错误" if code == INTERNAL else UNAVAILABLE_MESSAGE)


async def test_an_anonymous_answer_of_the_short_way_is_kept_as_the_whole_ways(
    api, shown, settings, whole_way
):
    settings(response_cache_seconds=60)
    text = fresh(ONE, "cached")
    await api.post(text, {"id": to_global_id("Activity", 10**9)})  # found valid
    first = await api.post(text, {"id": shown})  # the short way, then kept
    assert "x-cache" not in api.last_response.headers
    second = await api.post(text, {"id": shown})
    assert api.last_response.headers["x-cache"] == "hit" and second == first
    assert whole_way.count(text) == 1
