"""GraphQL over HTTP: graphql-http's audit of the running app finds no MUST failed and no SHOULD
unmet, and `application/graphql-response+json` answers as the spec says."""

from __future__ import annotations

import asyncio
import json

import httpx
from starlette.applications import Starlette

from tests.conftest import ROOT

AUDIT = ROOT / "tests" / "http_audit"
GRAPHQL_RESPONSE = "application/graphql-response+json"


async def test_graphql_http_audit_passes_every_check(served):
    """`make test` installs Node.js and the audit (tests/http_audit); the audit's own requests
    go to the app served on this machine only."""
    process = await asyncio.create_subprocess_exec(
        "node",
        str(AUDIT / "audit.mjs"),
        f"{served}/graphql",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode == 0, err.decode()
    results = json.loads(out)

    assert len(results) > 50
    assert [r for r in results if r["status"] != "ok"] == []


async def post(app: Starlette, body: dict, accept: str = GRAPHQL_RESPONSE) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=("10.1.2.3", 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        return await client.post("/graphql", json=body, headers={"Accept": accept})


async def test_a_request_that_never_ran_is_a_4xx_without_data(app):
    unparsable = await post(app, {"query": "{"})
    invalid = await post(app, {"query": "{ nothing }"})
    coerced = await post(
        app,
        {
            "query": "query($n: Int) { activities(first: $n) { totalCount } }",
            "variables": {"n": "x"},
        },
    )
    legacy = await post(app, {"query": "{ nothing }"}, accept="application/json")

    for response in (unparsable, invalid, coerced):
        assert response.status_code == 400
        assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)
        assert "data" not in response.json() and response.json()["errors"]
    assert legacy.status_code == 200 and legacy.headers["content-type"] == "application/json"


async def test_an_operation_that_ran_is_200_whatever_its_field_errors(app):
    ran = await post(app, {"query": "{ __typename }"})
    # a non-null field that needs a sign-in: its error (with a path) nulls the whole data
    refused = await post(app, {"query": "{ notifications(first: 1) { totalCount } }"})

    assert ran.status_code == 200 and ran.json()["data"] == {"__typename": "Query"}
    assert refused.status_code == 200 and refused.json()["data"] is None
    assert refused.json()["errors"][0]["path"] == ["notifications"]
    assert refused.headers["content-type"].startswith(GRAPHQL_RESPONSE)
