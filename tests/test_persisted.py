"""Persisted operations: the client contract registered by the command, sent by `documentId` or
by Apollo's automatic persisted queries, the registered-only mode, and GET answers a CDN may keep
(Cache-Control, ETag, 304)."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from infra import bus
from models import Activity, PersistedDocument
from schema.persisted import document_id, register, split_operations
from services import content
from tests.conftest import ROOT, Api, graphql_subscription, next_message, process_env
from tests.factories import filing_unit, make_activity, make_campaign, person

CONTRACT = ROOT.parent / "shared" / "client-operations.graphql"
ACTIVITIES = "query Listed($first: Int) { activities(first: $first) { edges { node { title } } } }"


async def call(
    app: Starlette,
    method: str = "POST",
    body: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        if method == "GET":
            return await client.get("/graphql", params=params, headers=headers or {})
        return await client.post("/graphql", json=body, headers=headers or {})


def code_of(response: httpx.Response) -> str:
    return response.json()["errors"][0]["extensions"]["code"]


@pytest.fixture
async def listed(api: Api) -> None:
    unit, _ = await filing_unit(api)
    await make_activity(unit, await make_campaign(), title="登记过的活动")


async def command(base_settings, backend, *args: str) -> tuple[int, str, str]:
    """`kepuri register-operations ...` in a process of its own, on the test's database."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kepuri.cli",
        "register-operations",
        *args,
        env=process_env(base_settings, backend),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_the_contract_is_registered_and_runs_by_id(app, listed, base_settings, backend):
    """The command registers every operation of the contract (checked against the schema) and
    prints their ids; a registered query runs by `documentId`, by POST and by GET."""
    status, out, err = await command(base_settings, backend, str(CONTRACT))
    assert status == 0, err
    manifest = json.loads(out)
    texts = dict(split_operations(CONTRACT.read_text(encoding="utf-8")))
    again = await register(list(texts.items()))  # registering again changes nothing

    assert set(manifest) == set(texts) and again == manifest
    assert await PersistedDocument.all().count() == len(texts)
    assert manifest["Activities"] == document_id(texts["Activities"])
    by_post = await call(
        app, body={"documentId": manifest["Activities"], "variables": {"first": 5}}
    )
    by_get = await call(
        app,
        "GET",
        params={"documentId": manifest["Activities"], "variables": json.dumps({"first": 5})},
    )
    assert by_post.status_code == by_get.status_code == 200
    titles = [e["node"]["title"] for e in by_post.json()["data"]["activities"]["edges"]]
    assert titles == ["登记过的活动"] and by_get.json() == by_post.json()


async def test_an_operation_that_does_not_validate_is_not_registered(
    tmp_path, base_settings, backend
):
    broken = tmp_path / "broken.graphql"
    broken.write_text("query Broken { activities { noSuchField } }", encoding="utf-8")

    status, _, err = await command(base_settings, backend, str(broken))

    assert status == 2 and "Broken" in err
    assert await PersistedDocument.all().count() == 0


async def test_automatic_persisted_queries_as_apollo_clients_speak_them(app, listed):
    digest = hashlib.sha256(ACTIVITIES.encode()).hexdigest()
    apq = {"persistedQuery": {"version": 1, "sha256Hash": digest}}

    unknown = await call(app, body={"extensions": apq, "variables": {"first": 5}})
    stored = await call(
        app, body={"query": ACTIVITIES, "extensions": apq, "variables": {"first": 5}}
    )
    by_hash = await call(app, body={"extensions": apq, "variables": {"first": 5}})
    by_get = await call(
        app, "GET", params={"extensions": json.dumps(apq), "variables": json.dumps({"first": 5})}
    )

    # the status, message and code Apollo's link looks for before it sends the text
    assert unknown.status_code == 200
    assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert code_of(unknown) == "PERSISTED_QUERY_NOT_FOUND"
    assert stored.json()["data"]["activities"]["edges"]
    assert by_hash.json() == stored.json() and by_get.json() == stored.json()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (
            {
                "query": ACTIVITIES,
                "extensions": {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}},
            },
            "PERSISTED_QUERY_HASH_MISMATCH",
        ),
        ({"documentId": "sha256:" + "0" * 64}, "PERSISTED_DOCUMENT_NOT_FOUND"),
        ({"documentId": "sha256:" + "A" * 64}, "PERSISTED_QUERY_INVALID"),
        ({"documentId": 12}, "PERSISTED_QUERY_INVALID"),
        ({"extensions": {"persistedQuery": "abc"}}, "PERSISTED_QUERY_INVALID"),
        (
            {"extensions": {"persistedQuery": {"sha256Hash": "../../etc"}}},
            "PERSISTED_QUERY_INVALID",
        ),
    ],
)
async def test_a_bad_or_unknown_id_is_refused_with_a_code(app, body, code):
    response = await call(app, body=body)

    assert response.status_code == 400
    assert code_of(response) == code


async def test_registered_only_runs_nothing_else_however_it_is_sent(
    app, api: Api, settings, listed, served
):
    manifest = await register(split_operations(CONTRACT.read_text(encoding="utf-8")))
    someone = await person(api, "13933331111")
    settings(registered_operations_only=True)
    text = dict(split_operations(CONTRACT.read_text(encoding="utf-8")))["Activities"]
    other = "mutation { logout { ok } }"
    apq = {
        "persistedQuery": {"version": 1, "sha256Hash": hashlib.sha256(other.encode()).hexdigest()}
    }

    registered_by_id = await call(app, body={"documentId": manifest["Activities"]})
    registered_by_text = await call(app, body={"query": text})
    free_text = await call(
        app, body={"query": other}, headers={"Authorization": f"Bearer {someone.token}"}
    )
    self_persisted = await call(app, body={"query": other, "extensions": apq})
    by_hash_later = await call(app, body={"extensions": apq})

    assert registered_by_id.json()["data"] and registered_by_text.json()["data"]
    assert code_of(free_text) == "OPERATION_NOT_REGISTERED"
    assert code_of(self_persisted) == "OPERATION_NOT_REGISTERED"
    assert code_of(by_hash_later) == "PERSISTED_QUERY_NOT_FOUND"  # nothing was kept
    settings(registered_operations_only=False)
    assert (await api.data("{ me { id } }", token=someone.token))["me"]  # not logged out
    settings(registered_operations_only=True)
    subscription = "subscription { notificationReceived { title } }"
    async with graphql_subscription(served, someone.token, subscription) as socket:
        answer = await next_message(socket)
    assert answer["type"] == "error" or "errors" in answer.get("payload", {}), answer
    assert "OPERATION_NOT_REGISTERED" in json.dumps(answer)


async def test_public_answers_to_get_carry_cache_headers_and_answer_304(app, api: Api, listed):
    params = {"query": ACTIVITIES, "variables": json.dumps({"first": 5})}
    someone = await person(api, "13933331112")

    first = await call(app, "GET", params=params)
    again = await call(app, "GET", params=params, headers={"If-None-Match": first.headers["etag"]})
    signed_in = await call(
        app, "GET", params=params, headers={"Authorization": f"Bearer {someone.token}"}
    )
    failed = await call(app, "GET", params={"query": "{ activity(id: 1) { nope } }"})
    await Activity.filter(title="登记过的活动").update(title="改过的活动")
    await bus.bump(content.PUBLIC)  # as the services do after such a change
    changed = await call(
        app, "GET", params=params, headers={"If-None-Match": first.headers["etag"]}
    )

    assert first.status_code == 200 and first.headers["cache-control"].startswith("public")
    assert "max-age=10" in first.headers["cache-control"]
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert signed_in.headers["cache-control"] == "private, no-store"
    assert failed.headers["cache-control"] == "private, no-store"
    assert changed.status_code == 200 and changed.headers["etag"] != first.headers["etag"]


async def test_mutations_are_not_sent_by_get(app):
    response = await call(app, "GET", params={"query": "mutation { logout { ok } }"})

    assert response.status_code == 405
    assert code_of(response) == "METHOD_NOT_ALLOWED"
