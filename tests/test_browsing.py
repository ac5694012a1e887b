"""Public browsing: filters, keyset pages, and a constant number of SQL queries per page."""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any

import pytest
from tortoise import connections

from models import Activity, JointAction
from models.enums import ActivityForm, ActivityStatus
from schema.ids import to_global_id
from services import content
from services.activities import ActivityFilter, public_activities
from tests.conftest import Api
from tests.factories import filing_unit, make_activity, make_campaign, person
from tests.test_activities import LIST
from tests.test_contract import client_operations


@contextmanager
def count_queries():
    """Count the SQL statements Tortoise sends (its db_client logger logs each one)."""
    logger = logging.getLogger("tortoise.db_client")
    seen: list[str] = []

    class Counter(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage()
            if message.lstrip().upper().startswith(("SELECT", "INSERT", "UPDATE", "DELETE")):
                seen.append(message)

    handler = Counter(level=logging.DEBUG)
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield seen
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate


@pytest.fixture
async def many(api: Api):
    """120 approved activities of 12 units across Sichuan, Qinghai and Beijing, some in a
    joint action, plus drafts, pending, rejected, hidden and deleted ones."""
    campaign = await make_campaign()
    reading = await JointAction.create(campaign=campaign, name="科普阅读", lead_units=["中国科协"])
    places = ["510104", "510105", "510703", "630102", "630121", "110105"]
    units = []
    for i in range(12):
        unit, _ = await filing_unit(api, f"1391111{i:04d}", places[i % 6], f"学校{i}")
        units.append(unit)
    for i in range(120):
        await make_activity(
            units[i % 12],
            campaign,
            title=f"活动{i:03d}",
            starts_at=f"2026-09-{1 + i % 28:02d} {8 + i % 10:02d}:00",
            ends_at=f"2026-09-{1 + i % 28:02d} 20:00",
            form=ActivityForm.ONLINE if i % 4 == 0 else ActivityForm.OFFLINE,
            joint_action=reading if i % 3 == 0 else None,
        )
    for status in (ActivityStatus.DRAFT, ActivityStatus.PENDING_REVIEW, ActivityStatus.REJECTED):
        await make_activity(units[0], campaign, status=status, title="不公开")
    await make_activity(units[0], campaign, title="不展示", show_on_cloud=False)
    deleted = await make_activity(units[0], campaign, title="已删除")
    await Activity.filter(id=deleted.id).update(deleted_at=deleted.created_at)
    return {"campaign": campaign, "reading": reading}


async def page_queries(api: Api, first: int) -> int:
    await api.data(LIST, {"first": first})  # warm the regions and the live counts
    with count_queries() as seen:
        data = (await api.data(LIST, {"first": first}))["activities"]
    assert len(data["edges"]) == first
    return len(seen)


def _state(model: Any) -> dict[str, Any]:
    """A model's fields and the relations joined into it, each value with its type."""
    return {
        name: _state(value) if hasattr(value, "_meta") else (type(value), value)
        for name, value in vars(model).items()
    }


async def test_rows_become_the_same_models_the_short_way_as_tortoise_makes_them(api: Api, many):
    from infra import sql
    from resolvers.activities import listed_by_id
    from schema.activities import LISTED, SHOWN

    sql._PLANS.clear()
    page = Activity.filter(deleted_at=None).select_related(*LISTED).order_by("starts_at", "id")
    shown = Activity.filter(deleted_at=None).select_related(*SHOWN).order_by("id").limit(5)
    tortoise_page, short_page = await page, await sql.models(page)
    tortoise_shown, short_shown = await shown, await sql.models(shown)
    by_id = await listed_by_id([a.id for a in tortoise_page[:7]])

    assert len(short_page) == len(tortoise_page) == 124
    assert [_state(a) for a in short_page] == [_state(a) for a in tortoise_page]
    assert [_state(a) for a in short_shown] == [_state(a) for a in tortoise_shown]
    assert {a.id: _state(a) for a in by_id} == {a.id: _state(a) for a in tortoise_page[:7]}
    assert any(a.joint_action is None for a in short_page)  # a relation not there: None
    assert any(a.joint_action is not None for a in short_page)
    assert short_page[0].starts_at.tzinfo is not None  # China's time, as Tortoise gives it
    assert sql._PLANS and None not in sql._PLANS.values()  # none left to Tortoise's executor


async def test_a_read_on_postgresql_is_one_statement_the_pool_adding_none(
    api: Api, many, settings, base_settings
):
    if not base_settings.db_url.startswith("postgres"):
        pytest.skip("PostgreSQL's pool: SQLite's one connection is never reset")
    settings(response_cache_seconds=0)
    shown = await Activity.filter(title="活动000").first()
    assert shown is not None
    query, variables = client_operations()["Activity"], {"id": to_global_id("Activity", shown.id)}
    await api.data(query, variables)
    pool = connections.get("default")._pool
    sent: list[str] = []

    def log(record: Any) -> None:
        sent.append(record.query)

    pooled = [holder._con for holder in pool._holders if holder._con is not None]
    for connection in pooled:
        connection.add_query_logger(log)
    try:
        await api.data(query, variables)
        # a transaction left open is still rolled back when its connection is given back
        async with pool.acquire() as raw:
            await raw.execute("BEGIN")
            await raw.execute("UPDATE activities SET title = '改' WHERE id = $1", shown.id)
    finally:
        for connection in pooled:
            connection.remove_query_logger(log)

    # the activity's one statement, then the open transaction and asyncpg's rollback of it: no
    # reset statement after either
    assert sent[0].startswith("SELECT") and sent[1:] == [
        "BEGIN",
        "UPDATE activities SET title = '改' WHERE id = $1",
        "ROLLBACK",
    ]
    assert (await Activity.get(id=shown.id)).title == "活动000"


async def test_listing_100_costs_the_same_queries_as_listing_10(api: Api, many, settings):
    settings(response_cache_seconds=0)
    ten = await page_queries(api, 10)
    hundred = await page_queries(api, 100)

    assert ten == hundred == 1  # the page, with its relations joined in; the total was kept


async def test_the_public_requests_cost_no_more_statements_than_hand_written_sql(
    api: Api, many, settings
):
    """The contract's list and activity, anonymous, with the response cache off: what the
    hand-written baseline of bench/ sends (a province's list: the region's level, the page, the
    count; one activity: one) is the most they may send."""
    settings(response_cache_seconds=0)
    contract = client_operations()
    one = (await api.data(LIST, {"first": 1}))["activities"]["edges"][0]["node"]["id"]
    calls = [
        ("Activities", {"first": 20, "filter": {"regionCode": "510000"}}, 3),
        ("Activities", {"first": 100}, 2),
        ("Activity", {"id": one}, 1),
    ]
    for name, variables, most in calls:
        with count_queries() as first_time:
            await api.data(contract[name], variables)
        with count_queries() as again:
            await api.data(contract[name], variables)

        assert len(first_time) <= most, (name, variables, first_time)
        assert len(again) <= most, (name, variables, again)
    assert len(again) == 1


async def test_a_list_total_is_counted_once_and_exact_after_each_change(api: Api, many, settings):
    """The total of a list is kept between changes of public content (no COUNT per request),
    and each change is in the very next total (each mutation's own, through the API, is in
    tests/test_response_cache.py)."""
    settings(response_cache_seconds=0)
    query = "query($f: ActivityFilter) { activities(first: 1, filter: $f) { totalCount } }"

    async def totals() -> list[int]:
        return [
            (await api.data(query, {"f": flt}))["activities"]["totalCount"]
            for flt in ({}, {"regionCode": "510000"}, {"regionCode": "630000"})
        ]

    async def truth() -> list[int]:
        public = Activity.filter(status=ActivityStatus.APPROVED, show_on_cloud=True)
        public = public.filter(deleted_at=None)
        return [
            await public.count(),
            await public.filter(province_code="510000").count(),
            await public.filter(province_code="630000").count(),
        ]

    async def change(**values: Any) -> None:
        await Activity.filter(id=pending.id).update(**values)
        await content.changed(content.PUBLIC)

    pending = await Activity.filter(status=ActivityStatus.PENDING_REVIEW).first()
    assert pending is not None and pending.province_code == "510000"
    seen = [await totals()]
    with count_queries() as kept:
        seen.append(await totals())
    await change(status=ActivityStatus.APPROVED)
    seen.append(await totals())
    await change(show_on_cloud=False)
    seen.append(await totals())
    await change(show_on_cloud=True, deleted_at=pending.created_at)
    seen.append(await totals())

    assert not [q for q in kept if "COUNT(" in q.upper()]
    assert seen[0] == seen[1] == seen[3] == seen[4] == await truth()
    assert [now - before for now, before in zip(seen[2], seen[1], strict=True)] == [1, 1, 0]


async def test_only_public_activities_are_listed_in_time_order(api: Api, many):
    seen = []
    after = None
    while True:
        page = (await api.data(LIST, {"first": 50, "after": after}))["activities"]
        seen += [e["node"]["title"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]

    assert len(seen) == len(set(seen)) == 120
    assert not {"不公开", "不展示", "已删除"} & set(seen)
    assert page["totalCount"] == 120
    starts = [a.starts_at for a in await Activity.filter(title__in=seen)]
    assert len(starts) == 120


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"regionCode": "510000"}, 60),
        ({"regionCode": "510100"}, 40),
        ({"regionCode": "510104"}, 20),
        ({"regionCode": "630000"}, 40),
        ({"form": "ONLINE"}, 30),
        ({"year": 2026}, 120),
        ({"year": 2020}, 0),
        ({"search": "活动01"}, 10),
        # the same instants written in UTC: stored values are normalized, so text comparison
        # on SQLite agrees with time order
        ({"startsAfter": "2026-09-09T16:00:00+00:00", "startsBefore": "2026-09-11T16:00:00Z"}, 8),
        (
            {
                "startsAfter": "2026-09-10T00:00:00+08:00",
                "startsBefore": "2026-09-12T00:00:00+08:00",
            },
            8,
        ),
    ],
)
async def test_filters(api: Api, many, flt, expected):
    page = (await api.data(LIST, {"filter": flt, "first": 100}))["activities"]

    assert page["totalCount"] == expected
    assert len(page["edges"]) == min(expected, 100)


async def test_filter_by_joint_action(api: Api, many):
    flt = {"jointActionId": to_global_id("JointAction", many["reading"].id)}

    page = (await api.data(LIST, {"filter": flt, "first": 100}))["activities"]

    assert page["totalCount"] == 40
    assert {e["node"]["jointAction"]["name"] for e in page["edges"]} == {"科普阅读"}


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"filter": {"regionCode": "999999"}}, "INVALID_REGION"),
        ({"first": 500}, "INVALID_ARGUMENT"),
        ({"after": "WzEsMl0="}, "INVALID_CURSOR"),
    ],
)
async def test_bad_list_arguments(api: Api, many, variables, code):
    body = await api.post(LIST, variables)

    assert body["errors"][0]["extensions"]["code"] == code


async def test_the_list_query_uses_the_indexes(app, many):
    """EXPLAIN on PostgreSQL (with sequential scans off, so that the planner shows which index it
    can use: with 120 rows it would rightly scan) and EXPLAIN QUERY PLAN on SQLite."""
    conn = connections.get("default")
    query = await public_activities(ActivityFilter(region_code="510000"))
    sql = query.order_by("starts_at", "id").limit(21).sql(params_inline=True)
    if conn.capabilities.dialect == "postgres":
        async with conn.acquire_connection() as raw:
            await raw.execute("SET enable_seqscan = off")
            try:
                plan = "\n".join(r[0] for r in await raw.fetch("EXPLAIN " + sql))
            finally:
                await raw.execute("RESET enable_seqscan")
        assert "Seq Scan on activities" not in plan, plan
    else:
        _, rows = await conn.execute_query("EXPLAIN QUERY PLAN " + sql)
        plan = "\n".join(str(tuple(r)) for r in rows)
        assert "SCAN activities" not in plan.replace("USING INDEX", "INDEX"), plan
    assert "act_province" in plan or "act_public" in plan, plan


EVERYTHING = """
query($first: Int) {
  activities(first: $first) {
    edges { cursor node {
      id title description status form startsAt endsAt address onlineUrl label hostUnits
      organizerUnits subTheme showOnCloud submittedAt reviewedAt escalatedAt posterUrl
      campaign { id year name theme startsOn endsOn label subTheme
                 phases { phase opensAt closesAt regionCode }
                 jointActions { id name leadUnits regionCode } }
      region { code name level parentCode }
      organization { id name kind address intro contactName contactPhone
                     region { code name } parent { id name } }
      supervisor { id name kind region { code } parent { name } }
      escalatedTo { id name }
      jointAction { id name leadUnits regionCode }
      qrCode { token pngUrl svgUrl }
      media { kind url }
      summary { text participantCount submittedAt }
      reviews { decision comment reviewedAt reviewer { name } }
      engagement { checkIns likes comments favorites ratingAverage }
      viewer { checkedIn liked favorited rating }
    } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}
"""


async def test_every_nested_field_of_a_list_costs_the_same_statements_for_any_page(api: Api, many):
    """However many items a page holds, each nested object and list of the list (the campaign
    and its windows and joint actions, units and their regions and parents, media, reviews,
    engagement, the viewer's marks) is one batched load, not one per item."""
    viewer = await person(api, "13955550000")

    async def statements(first: int) -> int:
        await api.data(EVERYTHING, {"first": first}, token=viewer.token)  # warm the caches
        with count_queries() as seen:
            page = await api.data(EVERYTHING, {"first": first}, token=viewer.token)
        assert len(page["activities"]["edges"]) == first
        return len(seen)

    assert await statements(5) == await statements(40)
