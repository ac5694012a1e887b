"""Provincial portals: the change log of public activities, the feed, API clients, and the live
subscription that replays what a reconnecting portal missed."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import threading
from contextlib import AsyncExitStack
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from models import ActivityChange, Webhook, WebhookAttempt, WebhookDelivery
from models.enums import MemberRole, OrganizationKind, Phase
from schema import portals as portal_types
from services.portals import shown
from tests.conftest import Api, china, graphql_subscription, next_message, run_worker, set_now
from tests.factories import (
    filing_unit,
    make_campaign,
    member,
    national_organizer,
    person,
    regional_window,
    reviewer_of,
)
from tests.test_activities import CREATE, REVIEW, SUBMIT, SUPPLEMENT, UPDATE, activity_input
from tests.test_browsing import count_queries

CLIENT = """
mutation($name: String!, $region: String!) {
  createApiClient(name: $name, regionCode: $region) {
    apiClient { id name regionCode active } token errors { code }
  }
}
"""
FEED = """
query($region: String, $after: String, $first: Int) {
  activityChanges(regionCode: $region, after: $after, first: $first) {
    edges { cursor node { kind occurredAt activity { id title status } } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
UPDATES = """
subscription($region: String, $after: String) {
  activityUpdates(regionCode: $region, after: $after) {
    cursor kind occurredAt activity { id title status region { code } }
  }
}
"""


@pytest.fixture
async def portal(api: Api):
    campaign = await make_campaign()
    await regional_window(campaign, Phase.FILING, "440000", "2026-08-01 00:00", "2026-09-25 23:59")
    _, filer = await filing_unit(api)
    reviewer = await reviewer_of(
        api, "13944440001", OrganizationKind.PROVINCIAL_ASSOCIATION, "510000"
    )
    staff = await member(api, "13944440002", await national_organizer(), MemberRole.ADMIN)
    set_now(china("2026-09-10 10:00"))
    tokens = {}
    for name, region in (("四川省科普平台", "510000"), ("广东省科普平台", "440000")):
        made = (await api.data(CLIENT, {"name": name, "region": region}, token=staff.token))[
            "createApiClient"
        ]
        assert made["errors"] == [] and made["token"].startswith("kpc_")
        tokens[region] = made["token"]
    return {
        "filer": filer,
        "reviewer": reviewer,
        "staff": staff,
        "sichuan": tokens["510000"],
        "guangdong": tokens["440000"],
    }


async def approved_activity(api: Api, portal, title: str) -> str:
    created = (
        await api.data(CREATE, {"input": activity_input(title=title)}, token=portal["filer"].token)
    )["createActivity"]["activity"]["id"]
    await api.data(SUBMIT, {"id": created}, token=portal["filer"].token)
    await api.data(REVIEW, {"id": created, "decision": "APPROVE"}, token=portal["reviewer"].token)
    return created


async def approve_for(api: Api, portal, sockets: list, title: str) -> str:
    """Approve a new activity and wait until every subscriber has received it (the newest
    subscribers replay the earlier ones first)."""
    pending = (
        await api.data(CREATE, {"input": activity_input(title=title)}, token=portal["filer"].token)
    )["createActivity"]["activity"]["id"]
    await api.data(SUBMIT, {"id": pending}, token=portal["filer"].token)
    await api.data(REVIEW, {"id": pending, "decision": "APPROVE"}, token=portal["reviewer"].token)
    for socket in sockets:
        while True:
            message = await next_message(socket, 10)
            if message["payload"]["data"]["activityUpdates"]["activity"]["id"] == pending:
                break
    return pending


def kinds(feed: dict) -> list[tuple[str, str]]:
    return [(e["node"]["kind"], e["node"]["activity"]["title"]) for e in feed["edges"]]


async def test_only_public_changes_enter_the_log_in_order(api: Api, portal):
    first = await approved_activity(api, portal, "第一个")
    await api.data(
        SUPPLEMENT,
        {"id": first, "input": {"newsUrls": ["https://n.example.cn/1"]}},
        token=portal["filer"].token,
    )
    await api.data(
        UPDATE, {"id": first, "input": {"title": "改过的第一个"}}, token=portal["filer"].token
    )  # back to review: no longer public
    draft = (
        await api.data(CREATE, {"input": activity_input(title="草稿")}, token=portal["filer"].token)
    )["createActivity"]["activity"]["id"]
    assert draft

    feed = (await api.data(FEED, token=portal["sichuan"]))["activityChanges"]

    # each change shows the version it published; the withdrawal, the last one portals saw
    # (the unreviewed edit that withdrew it is nobody's business but the unit's and reviewers')
    assert kinds(feed) == [
        ("ACTIVITY_PUBLISHED", "第一个"),
        ("ACTIVITY_SUPPLEMENTED", "第一个"),
        ("ACTIVITY_WITHDRAWN", "第一个"),
    ]
    assert await ActivityChange.all().count() == 3


async def test_a_portal_sees_only_its_region(api: Api, portal):
    await approved_activity(api, portal, "四川的活动")

    guangdong = (await api.data(FEED, token=portal["guangdong"]))["activityChanges"]
    national = (await api.data(FEED, token=portal["staff"].token))["activityChanges"]
    chengdu = (await api.data(FEED, {"region": "510100"}, token=portal["sichuan"]))[
        "activityChanges"
    ]
    wider = await api.post(FEED, {"region": "510000"}, token=portal["guangdong"])

    assert guangdong["edges"] == []
    assert kinds(national) == kinds(chengdu) == [("ACTIVITY_PUBLISHED", "四川的活动")]
    assert wider["errors"][0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.parametrize("who", ["anonymous", "public", "reviewer"])
async def test_people_other_than_portals_and_staff_are_refused(api: Api, portal, who):
    tokens = {
        "anonymous": None,
        "public": (await person(api, "13944440009")).token,
        "reviewer": portal["reviewer"].token,
    }

    body = await api.post(FEED, token=tokens[who])

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_revoked_client_is_refused(api: Api, portal):
    client_id = (
        await api.data(
            CLIENT, {"name": "临时平台", "region": "510000"}, token=portal["staff"].token
        )
    )["createApiClient"]
    revoked = await api.data(
        "mutation($id: ID!) { revokeApiClient(id: $id) { ok errors { code } } }",
        {"id": client_id["apiClient"]["id"]},
        token=portal["staff"].token,
    )

    body = await api.post(FEED, token=client_id["token"])

    assert revoked["revokeApiClient"] == {"ok": True, "errors": []}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_a_reconnecting_portal_gets_exactly_what_it_missed_then_live_ones(
    api: Api, portal, served, app
):
    await approved_activity(api, portal, "一")
    seen = (await api.data(FEED, token=portal["sichuan"]))["activityChanges"]
    cursor = seen["pageInfo"]["endCursor"]
    await approved_activity(api, portal, "二")  # missed while away
    await approved_activity(api, portal, "三")
    received = []
    async with graphql_subscription(
        served, portal["sichuan"], UPDATES, {"after": cursor}
    ) as socket:
        for _ in range(2):
            received.append(await next_message(socket, 10))
        await approved_activity(api, portal, "四")  # live
        received.append(await next_message(socket, 10))

    updates = [m["payload"]["data"]["activityUpdates"] for m in received]
    assert [(u["kind"], u["activity"]["title"]) for u in updates] == [
        ("ACTIVITY_PUBLISHED", "二"),
        ("ACTIVITY_PUBLISHED", "三"),
        ("ACTIVITY_PUBLISHED", "四"),
    ]
    assert all(u["activity"]["region"]["code"].startswith("51") for u in updates)


WEBHOOK = """
mutation($input: WebhookInput!) {
  createWebhook(input: $input) {
    webhook { id url events regionCode active } secret errors { code }
  }
}
"""
DELIVERIES = """
query($id: ID!) {
  webhookDeliveries(webhookId: $id) {
    edges { node { id event status attempts lastStatusCode createdAt } }
  }
}
"""


class _Receiver(BaseHTTPRequestHandler):
    answers: list[int] = []
    received: list[dict] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.append({"headers": dict(self.headers), "body": body})
        status = self.answers.pop(0) if self.answers else 200
        self.send_response(status)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def receiver():
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    _Receiver.received = []
    _Receiver.answers = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port, _Receiver
    server.shutdown()


async def hook(api: Api, portal, port: int) -> dict:
    """A Sichuan webhook to the local receiver (which the API's settings allow)."""
    runtime = api.app.state.runtime
    runtime.settings = runtime.settings.with_overrides(webhook_allowed_hosts=(f"127.0.0.1:{port}",))
    made = (
        await api.data(
            WEBHOOK,
            {"input": {"url": f"http://127.0.0.1:{port}/hook", "events": ["ACTIVITY_PUBLISHED"]}},
            token=portal["sichuan"],
        )
    )["createWebhook"]
    assert made["errors"] == [] and made["webhook"]["regionCode"] == "510000"
    return made


async def test_a_receiver_failing_twice_gets_one_signed_delivery_in_three_attempts(
    api: Api, portal, app, base_settings, receiver
):
    port, handler = receiver
    handler.answers = [500, 503, 200]
    made = await hook(api, portal, port)
    await approved_activity(api, portal, "推送的活动")
    settings = base_settings.with_overrides(
        webhook_allowed_hosts=(f"127.0.0.1:{port}",), webhook_retry_scale=0.001
    )

    await run_worker(app, settings)

    assert len(handler.received) == 3
    delivery_ids = {r["headers"]["X-Kepuri-Delivery"] for r in handler.received}
    assert len(delivery_ids) == 1
    last = handler.received[-1]
    t, v1 = (part.split("=", 1)[1] for part in last["headers"]["X-Kepuri-Signature"].split(","))
    expected = hmac.new(
        made["secret"].encode(), f"{t}.".encode() + last["body"], hashlib.sha256
    ).hexdigest()
    assert hmac.compare_digest(v1, expected)
    body = json.loads(last["body"])
    assert body["kind"] == "ACTIVITY_PUBLISHED" and body["activity"]["title"] == "推送的活动"
    assert last["headers"]["X-Kepuri-Event"] == "ACTIVITY_PUBLISHED"
    log = (await api.data(DELIVERIES, {"id": made["webhook"]["id"]}, token=portal["sichuan"]))[
        "webhookDeliveries"
    ]["edges"]
    assert [
        (d["node"]["status"], d["node"]["attempts"], d["node"]["lastStatusCode"]) for d in log
    ] == [("SUCCEEDED", 3, 200)]
    assert await WebhookAttempt.all().count() == 3


async def test_a_private_address_outside_the_allow_list_is_refused(
    api: Api, portal, app, base_settings, receiver
):
    port, handler = receiver
    await hook(api, portal, port)
    await approved_activity(api, portal, "不该送达")

    await run_worker(app, base_settings)

    assert handler.received == []
    delivery = await WebhookDelivery.get()
    attempt = await WebhookAttempt.get()
    assert delivery.status == "FAILED" and "拒绝访问内部地址" in (attempt.error or "")


@pytest.mark.parametrize(("answer", "tries", "active"), [(410, 1, False), (400, 1, True)])
async def test_4xx_is_not_retried_and_410_disables(
    api: Api, portal, app, base_settings, receiver, answer, tries, active
):
    port, handler = receiver
    handler.answers = [answer]
    made = await hook(api, portal, port)
    await approved_activity(api, portal, "被拒收")
    settings = base_settings.with_overrides(
        webhook_allowed_hosts=(f"127.0.0.1:{port}",), webhook_retry_scale=0.001
    )

    await run_worker(app, settings)

    assert len(handler.received) == tries
    assert (await WebhookDelivery.get()).status == "FAILED"
    webhook = await Webhook.get()
    assert webhook.active is active
    assert made["webhook"]["active"] is True


async def test_live_subscribers_of_a_process_read_each_change_once_and_see_its_version(
    api: Api, portal, served
):
    """However many portals follow a process, a change costs that process the same statements
    (one read of the log, shared), and each sees the activity as the change left it."""
    await approved_activity(api, portal, "甲")
    cursor = (await api.data(FEED, token=portal["sichuan"]))["activityChanges"]["pageInfo"][
        "endCursor"
    ]
    sockets: list = []

    async def approve_and_receive(title: str) -> tuple[int, str]:
        """Statements while one approval reaches every subscriber, and the activity."""
        with count_queries() as seen:
            pending = await approve_for(api, portal, sockets, title)
        return len(seen), pending

    statements = []
    async with AsyncExitStack() as stack:
        for subscribers in (2, 8):
            while len(sockets) < subscribers:
                sockets.append(
                    await stack.enter_async_context(
                        graphql_subscription(served, portal["sichuan"], UPDATES, {"after": cursor})
                    )
                )
            await approve_and_receive(f"{subscribers}人时的热身")  # every one live
            seen_title = f"{subscribers}人时"
            count, seen_by_all = await approve_and_receive(seen_title)
            statements.append(count)
        await api.data(  # a second change of an activity the subscribers have already seen
            UPDATE, {"id": seen_by_all, "input": {"title": "改过的甲"}}, token=portal["filer"].token
        )
        last = await next_message(sockets[0], 10)

    assert statements[0] == statements[1], statements
    assert last["payload"]["data"]["activityUpdates"]["kind"] == "ACTIVITY_WITHDRAWN"
    # the version portals saw last, not the unreviewed edit that withdrew it
    assert last["payload"]["data"]["activityUpdates"]["activity"]["title"] == seen_title


async def test_recent_changes_keep_a_bounded_complete_window(api: Api, portal):
    """What a process keeps for its subscriptions is complete above its floor; older readers and
    bursts are sent to the database (None) instead of being answered with a gap."""
    from services.portals import RecentChanges

    positions = []
    for title in "一二三四五六":
        await approved_activity(api, portal, title)
        positions.append((await ActivityChange.all().order_by("-id").first()).id)
    p1, p2, p3, p4, p5, p6 = positions
    recent = RecentChanges(keep=2)

    assert [c.id for c in await recent.after(p1, p2)] == [p2]  # the first asker sets the floor
    assert shown((await recent.after(p1, p2))[0]).title == "二"  # read with its version
    assert await recent.after(p1 - 1, p2) is None  # behind the floor: read the database
    assert await recent.after(p2, p6) is None  # a burst beyond what is kept
    assert await recent.after(p2, p6) is None  # ... and older readers now read the database
    recent = RecentChanges(keep=2)
    assert [c.id for c in await recent.after(p2, p3)] == [p3]
    assert [c.id for c in await recent.after(p3, p4)] == [p4]
    assert [c.id for c in await recent.after(p3, p5)] == [p4, p5]  # p3 dropped, floor p3
    assert await recent.after(p2, p5) is None
    assert [c.id for c in await recent.after(p4, p5)] == [p5]

    # Subscriptions wake together on one announcement: one read serves them all, and they all
    # have the rows in the same turn of the event loop (not one after another).
    recent = RecentChanges()
    turns = 0

    async def loop_turns() -> None:
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    async def ask() -> tuple[int, list[int]]:
        answer = await recent.after(p4, p6)
        return turns, [c.id for c in answer or []]

    counting = asyncio.create_task(loop_turns())
    with count_queries() as seen:
        answers = await asyncio.gather(*[ask() for _ in range(50)])
    counting.cancel()
    assert all(ids == [p5, p6] for _, ids in answers)
    assert len([q for q in seen if "activity_changes" in q]) == 1
    assert max(t for t, _ in answers) - min(t for t, _ in answers) <= 1


class Bus:
    """The process's bus listener (`infra.hub.Hub`) for the change channel, fed by the test."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue = asyncio.Queue()

    @contextlib.asynccontextmanager
    async def subscribe(self, channel: str):
        assert channel == "changes"
        yield self.queue


async def test_an_announcement_reaches_subscriptions_once_its_changes_are_read(api: Api, portal):
    """The process reads what an announcement names before it wakes the subscriptions: each then
    takes the changes from memory and goes straight on to its delivery."""
    from services.portals import RecentChanges

    await approved_activity(api, portal, "一")
    first = (await ActivityChange.all().order_by("-id").first()).id
    bus = Bus()
    recent = RecentChanges(bus)
    assert await recent.after(first, first) == []  # a subscription caught up at `first`
    async with recent.follow() as announcements:
        await approved_activity(api, portal, "二")
        await approved_activity(api, portal, "三")
        newest = (await ActivityChange.all().order_by("-id").first()).id
        await bus.queue.put({"position": newest})
        message = await asyncio.wait_for(announcements.get(), 10)
        with count_queries() as seen:
            kept = await recent.after(first, message["position"])
    await recent.stop()

    assert [shown(c).title for c in kept] == ["二", "三"]
    assert seen == []


async def test_a_subscription_far_behind_keeps_the_newest_announcement():
    """A follower's queue is bounded; when it is full the oldest announcement gives way, so the
    last one (which covers every change before it) is never the one lost."""
    from services.portals import RecentChanges

    bus = Bus()
    recent = RecentChanges(bus)
    async with recent.follow() as announcements:
        for position in range(1, 1206):
            bus.queue.put_nowait({"position": position})
        for _ in range(10):  # the listener passes them all on in a turn or two
            await asyncio.sleep(0)
        assert bus.queue.empty()
        seen = [announcements.get_nowait()["position"] for _ in range(announcements.qsize())]
    await recent.stop()

    assert len(seen) == 1000 and seen[-1] == 1205


async def test_a_row_a_resolver_returns_is_a_value_not_something_to_await():
    """A Tortoise model has `__await__`; taken for an awaitable, every field returning a row
    made its whole operation asynchronous (and each live subscriber wait a turn for its answer)."""
    from schema.execution import is_awaitable

    assert not is_awaitable(ActivityChange(id=1))
    assert is_awaitable(ActivityChange.filter(id=1).first())  # a query still is
    assert is_awaitable(asyncio.get_running_loop().create_future())


async def test_identical_live_subscriptions_execute_a_change_once(
    api: Api, portal, served, monkeypatch
):
    """Three connections of one portal share one execution of a change; a second portal of the
    same region (another viewer) gets its own (schema.sharing)."""
    await approved_activity(api, portal, "甲")
    cursor = (await api.data(FEED, token=portal["sichuan"]))["activityChanges"]["pageInfo"][
        "endCursor"
    ]
    other = (
        await api.data(
            CLIENT, {"name": "成都市科普平台", "region": "510000"}, token=portal["staff"].token
        )
    )["createApiClient"]["token"]
    executions: list[list[int]] = []
    real = portal_types.encode_cursor
    monkeypatch.setattr(
        portal_types, "encode_cursor", lambda values: executions.append(values) or real(values)
    )
    async with AsyncExitStack() as stack:
        sockets = [
            await stack.enter_async_context(
                graphql_subscription(served, token, UPDATES, {"after": cursor})
            )
            for token in (portal["sichuan"], portal["sichuan"], portal["sichuan"], other)
        ]
        await approve_for(api, portal, sockets, "热身")  # every one live
        executions.clear()
        await approve_for(api, portal, sockets, "乙")

    assert len(executions) == 2


async def test_a_withdrawal_tells_webhooks_the_last_public_version_not_the_edit(
    api: Api, portal, app, base_settings, receiver
):
    port, handler = receiver
    runtime = app.state.runtime
    runtime.settings = runtime.settings.with_overrides(webhook_allowed_hosts=(f"127.0.0.1:{port}",))
    await api.data(
        WEBHOOK,
        {
            "input": {
                "url": f"http://127.0.0.1:{port}/hook",
                "events": ["ACTIVITY_PUBLISHED", "ACTIVITY_WITHDRAWN"],
            }
        },
        token=portal["sichuan"],
    )
    published = await approved_activity(api, portal, "原标题")
    await api.data(
        UPDATE,
        {"id": published, "input": {"title": "未经审核的新标题"}},
        token=portal["filer"].token,
    )

    await run_worker(
        app,
        base_settings.with_overrides(
            webhook_allowed_hosts=(f"127.0.0.1:{port}",), webhook_retry_scale=0.001
        ),
    )

    bodies = sorted(
        (json.loads(r["body"]) for r in handler.received),
        key=lambda b: json.loads(base64.urlsafe_b64decode(b["cursor"])),
    )
    assert [(b["kind"], b["activity"]["title"]) for b in bodies] == [
        ("ACTIVITY_PUBLISHED", "原标题"),
        ("ACTIVITY_WITHDRAWN", "原标题"),
    ]
    assert not any("未经审核" in r["body"].decode() for r in handler.received)
