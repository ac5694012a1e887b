"""Notifications: review outcomes arrive at once in the app, by email (a real SMTP server) and on
the subscription; each is sent once; preferences and missing addresses are respected."""

from __future__ import annotations

import asyncio
from email import message_from_bytes
from email.header import decode_header, make_header

import pytest
from aiosmtpd.controller import Controller

from models import Notification
from models.enums import DeliveryStatus, OrganizationKind
from services import notifications
from tests.conftest import (
    Api,
    china,
    free_port,
    graphql_subscription,
    next_message,
    run_worker,
    set_now,
    wait_subscribed,
)
from tests.factories import filing_unit, make_campaign, reviewer_of
from tests.test_activities import CREATE, REVIEW, SUBMIT, activity_input

LIST = """
query($unread: Boolean) {
  notifications(unreadOnly: $unread) { edges { node { id kind title body readAt } } totalCount }
}
"""
READ = "mutation($ids: [ID!]!) { markNotificationsRead(ids: $ids) { ok } }"
PREFS = """
mutation($email: Boolean, $sms: Boolean) {
  updateNotificationPreferences(email: $email, sms: $sms) { preferences { email sms } }
}
"""


class Inbox:
    def __init__(self) -> None:
        self.messages: list[dict] = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content)
        self.messages.append(
            {
                "to": envelope.rcpt_tos,
                "subject": str(make_header(decode_header(message["Subject"]))),
                "body": message.get_payload(decode=True).decode(),
            }
        )
        return "250 OK"


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, inbox
    controller.stop()


@pytest.fixture
async def reviewed(api: Api):
    """A filed activity in Chengdu whose filer has an email address; the Sichuan reviewer."""
    await make_campaign()
    _, filer = await filing_unit(api)
    filer.user.email = "filer@school.example.cn"
    await filer.user.save()
    reviewer = await reviewer_of(
        api, "13977770001", OrganizationKind.PROVINCIAL_ASSOCIATION, "510000"
    )
    set_now(china("2026-09-10 10:00"))
    created = (await api.data(CREATE, {"input": activity_input()}, token=filer.token))[
        "createActivity"
    ]["activity"]["id"]
    await api.data(SUBMIT, {"id": created}, token=filer.token)
    return {"id": created, "filer": filer, "reviewer": reviewer}


async def test_a_rejection_arrives_in_the_app_by_email_and_on_the_subscription(
    api: Api, reviewed, app, base_settings, smtp, served
):
    port, inbox = smtp
    settings = base_settings.with_overrides(smtp_host="127.0.0.1", smtp_port=port)
    filer = reviewed["filer"]
    async with graphql_subscription(
        served, filer.token, "subscription { notificationReceived { id kind title body } }"
    ) as socket:
        await wait_subscribed(app.state.redis, f"user:{filer.user.id}")

        await api.data(
            REVIEW,
            {"id": reviewed["id"], "decision": "REJECT", "comment": "请补充活动地址"},
            token=reviewed["reviewer"].token,
        )
        in_app = (await api.data(LIST, token=filer.token))["notifications"]
        await run_worker(app, settings)
        pushed = await next_message(socket, 10)

    assert in_app["totalCount"] == 1
    node = in_app["edges"][0]["node"]
    assert node["kind"] == "ACTIVITY_REJECTED" and "请补充活动地址" in node["body"]
    assert pushed["payload"]["data"]["notificationReceived"]["id"] == node["id"]
    assert [m["to"] for m in inbox.messages] == [["filer@school.example.cn"]]
    assert inbox.messages[0]["subject"].startswith("活动审核未通过")
    assert "请补充活动地址" in inbox.messages[0]["body"]
    assert (await Notification.get()).email_status is DeliveryStatus.SENT


async def test_two_deliveries_at_once_send_one_email(api: Api, reviewed, app, base_settings, smtp):
    port, inbox = smtp
    runtime = app.state.runtime
    runtime.settings = base_settings.with_overrides(smtp_host="127.0.0.1", smtp_port=port)
    await api.data(
        REVIEW, {"id": reviewed["id"], "decision": "APPROVE"}, token=reviewed["reviewer"].token
    )
    notification = await Notification.get()

    async def publish(user_id, message):
        return None

    await asyncio.gather(
        *[
            notifications.deliver(runtime, notification.id, publish, final_try=False)
            for _ in range(3)
        ]
    )

    assert len(inbox.messages) == 1
    assert inbox.messages[0]["subject"].startswith("活动审核通过")


async def test_nobody_gets_email_without_an_address_or_with_email_off(
    api: Api, reviewed, app, base_settings, smtp
):
    port, inbox = smtp
    settings = base_settings.with_overrides(smtp_host="127.0.0.1", smtp_port=port)
    filer = reviewed["filer"]
    off = (await api.data(PREFS, {"email": False}, token=filer.token))[
        "updateNotificationPreferences"
    ]
    assert off["preferences"] == {"email": False, "sms": True}

    await api.data(
        REVIEW, {"id": reviewed["id"], "decision": "APPROVE"}, token=reviewed["reviewer"].token
    )
    await run_worker(app, settings)

    assert inbox.messages == []
    assert (await Notification.get()).email_status is DeliveryStatus.SKIPPED


async def test_a_failing_mail_server_is_retried_then_recorded(
    api: Api, reviewed, app, base_settings
):
    settings = base_settings.with_overrides(
        smtp_host="127.0.0.1", smtp_port=free_port(), notification_retry_seconds=0.01
    )
    await api.data(
        REVIEW, {"id": reviewed["id"], "decision": "APPROVE"}, token=reviewed["reviewer"].token
    )

    await run_worker(app, settings)

    notification = await Notification.get()
    assert notification.email_status is DeliveryStatus.FAILED
    assert notification.attempts == 5
    assert notification.last_error and "SMTP" in notification.last_error


async def test_notifications_are_marked_read(api: Api, reviewed):
    await api.data(
        REVIEW, {"id": reviewed["id"], "decision": "APPROVE"}, token=reviewed["reviewer"].token
    )
    token = reviewed["filer"].token
    unread = (await api.data(LIST, {"unread": True}, token=token))["notifications"]

    await api.data(READ, {"ids": [e["node"]["id"] for e in unread["edges"]]}, token=token)

    assert unread["totalCount"] == 1
    assert (await api.data(LIST, {"unread": True}, token=token))["notifications"]["totalCount"] == 0
    someone_else = (await api.data(LIST, token=reviewed["reviewer"].token))["notifications"]
    assert someone_else["totalCount"] == 0


async def test_the_same_occasion_notifies_once(api: Api, reviewed):
    await api.data(
        REVIEW, {"id": reviewed["id"], "decision": "APPROVE"}, token=reviewed["reviewer"].token
    )
    notification = await Notification.get()

    await notifications.notify(
        [notification.recipient_id], notification.kind, notification.key, "again", "again"
    )

    assert await Notification.all().count() == 1
