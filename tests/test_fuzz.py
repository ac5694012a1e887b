"""The live schema under generated operations: whatever a client sends, the answer is never a 5xx
nor an error of ours (INTERNAL_SERVER_ERROR), and nothing is logged as an unhandled exception.

hypothesis-graphql generates operations from the schema the server publishes, both valid ones
(every field and argument, with values of their types, NUL and far-off dates included) and
invalid ones (wrong types, missing arguments), sent as an anonymous caller and as a signed-in
filer. Bounded for CI (`FUZZ_EXAMPLES` per strategy, derandomized so that a run is repeatable);
set KEPURI_FUZZ_EXAMPLES higher for a longer hunt locally.
"""

from __future__ import annotations

import asyncio
import logging
import os
from datetime import datetime, timedelta, timezone

import graphql
import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries

from schema import sdl
from schema.ids import to_global_id
from tests.conftest import Api
from tests.factories import filing_unit, make_activity, make_campaign

FUZZ_EXAMPLES = int(os.environ.get("KEPURI_FUZZ_EXAMPLES", "120"))

IDS = st.sampled_from(
    ["Activity", "Organization", "Campaign", "Document", "User", "Comment"]
).flatmap(
    lambda kind: st.integers(min_value=0, max_value=2**70).map(lambda pk: to_global_id(kind, pk))
)
SCALARS = {
    "DateTime": st.one_of(
        st.datetimes(
            timezones=st.integers(-14 * 60, 14 * 60).map(
                lambda minutes: timezone(timedelta(minutes=minutes))
            )
        ).map(datetime.isoformat),
        st.sampled_from(["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00"]),
        st.text(max_size=30),
    ).map(nodes.String),
    "Date": st.one_of(st.dates().map(lambda d: d.isoformat()), st.text(max_size=12)).map(
        nodes.String
    ),
    "ID": st.one_of(IDS, st.text(max_size=20)).map(nodes.String),
    "Upload": st.just(graphql.NullValueNode()),
}


class _Incidents(logging.Handler):
    """Error records of the loggers that report unexpected exceptions."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage()[:300])


def _strategy(mode: Mode, operation):
    return operation(sdl(), custom_scalars=SCALARS, mode=mode)


@pytest.mark.parametrize(
    ("operation", "mode", "signed_in"),
    [
        (queries, Mode.POSITIVE, False),
        (queries, Mode.NEGATIVE, False),
        (mutations, Mode.POSITIVE, False),
        (mutations, Mode.POSITIVE, True),
        (mutations, Mode.NEGATIVE, True),
        (queries, Mode.POSITIVE, True),
    ],
    ids=[
        "queries",
        "invalid-queries",
        "mutations",
        "signed-in-mutations",
        "invalid-mutations",
        "signed-in-queries",
    ],
)
async def test_no_generated_operation_meets_an_error_of_ours(
    api: Api, app, generous_limits, operation, mode, signed_in
):
    campaign = await make_campaign()
    unit, filer = await filing_unit(api)
    await make_activity(unit, campaign)
    token = filer.token if signed_in else None
    loop = asyncio.get_running_loop()
    failures: list[tuple[str, int, str]] = []
    incidents = _Incidents()
    watched = [logging.getLogger(name) for name in ("strawberry.execution", "kepuri.app")]
    for logger in watched:
        logger.addHandler(incidents)

    async def send(document: str) -> None:
        transport = httpx.ASGITransport(app=app, client=("10.7.7.7", 4000))
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post("/graphql", json={"query": document}, headers=headers)
        codes = [
            (e.get("extensions") or {}).get("code") for e in response.json().get("errors") or []
        ]
        if response.status_code >= 500 or "INTERNAL_SERVER_ERROR" in codes:
            failures.append((document, response.status_code, response.text[:300]))

    @settings(
        max_examples=FUZZ_EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(document=_strategy(mode, operation))
    def explore(document: str) -> None:
        asyncio.run_coroutine_threadsafe(send(document), loop).result(timeout=60)

    try:
        await asyncio.to_thread(explore)
    finally:
        for logger in watched:
            logger.removeHandler(incidents)

    assert failures == []
    assert incidents.seen == []


@pytest.fixture
def generous_limits(settings):
    """Limits high enough, so that generated operations reach the resolvers instead of stopping at
    the rate limits (which have their own tests)."""
    settings(
        rate_limit_engage_account="100000/minute",
        rate_limit_engage_address="100000/minute",
        rate_limit_code_address="100000/minute",
        rate_limit_code_phone="100000/minute",
        rate_limit_login_phone="100000/minute",
        rate_limit_login_address="100000/minute",
        rate_limit_member_lookup="100000/minute",
    )
