"""Reviews that wait: reminded after 3 days, escalated after 7 to the next supervisor up, whose
reviewers may then decide; the activity shows where it stands."""

from __future__ import annotations

from datetime import timedelta

import pytest

from infra.clock import clock
from models import Activity, Notification
from models.enums import ActivityStatus, NotificationKind, OrganizationKind
from schema.ids import to_global_id
from services import escalation
from tests.conftest import Api, china, set_now
from tests.factories import (
    association,
    filing_unit,
    make_activity,
    make_campaign,
    national_organizer,
    reviewer_of,
)
from tests.test_activities import REVIEW

QUEUE = "query { reviewQueue { edges { node { id title } } totalCount } }"
WHERE = "query($id: ID!) { activity(id: $id) { status escalatedTo { name } escalatedAt } }"


@pytest.fixture
async def waiting(api: Api):
    """An activity under the Chengdu association, submitted on 2026-09-01."""
    campaign = await make_campaign()
    unit, filer = await filing_unit(api)
    chengdu = await association(OrganizationKind.MUNICIPAL_ASSOCIATION, "510100")
    set_now(china("2026-09-01 10:00"))
    activity = await make_activity(
        unit, campaign, status=ActivityStatus.PENDING_REVIEW, title="等待审核的活动"
    )
    activity.supervisor_id = chengdu.id
    await activity.save()
    return {
        "activity": activity,
        "id": to_global_id("Activity", activity.id),
        "filer": filer,
        "chengdu": await reviewer_of(
            api, "13955550001", OrganizationKind.MUNICIPAL_ASSOCIATION, "510100"
        ),
        "sichuan": await reviewer_of(
            api, "13955550002", OrganizationKind.PROVINCIAL_ASSOCIATION, "510000"
        ),
        "qinghai": await reviewer_of(
            api, "13955550003", OrganizationKind.PROVINCIAL_ASSOCIATION, "630000"
        ),
    }


async def test_reviewers_are_reminded_once_a_day_after_three_days(api: Api, waiting):
    set_now(china("2026-09-02 10:00"))
    await escalation.sweep(3, 7)
    assert await Notification.all().count() == 0

    set_now(china("2026-09-04 11:00"))
    await escalation.sweep(3, 7)
    await escalation.sweep(3, 7)

    rows = await Notification.filter(kind=NotificationKind.REVIEW_REMINDER).prefetch_related(
        "recipient"
    )
    assert [r.recipient.phone for r in rows] == ["13955550001"]
    assert "1个活动" in rows[0].title


async def test_a_stuck_review_moves_up_one_level_and_the_province_decides(api: Api, waiting):
    assert (await api.data(QUEUE, token=waiting["sichuan"].token))["reviewQueue"]["totalCount"] == 0
    set_now(china("2026-09-08 11:00"))

    result = await escalation.sweep(3, 7)

    assert result.escalated == 1
    where = (await api.data(WHERE, {"id": waiting["id"]}, token=waiting["filer"].token))["activity"]
    assert where["escalatedTo"] == {"name": "四川省科学技术协会"}
    notices = await Notification.filter(kind=NotificationKind.REVIEW_ESCALATED).prefetch_related(
        "recipient"
    )
    assert [n.recipient.phone for n in notices] == ["13955550002"]
    queue = (await api.data(QUEUE, token=waiting["sichuan"].token))["reviewQueue"]
    assert [e["node"]["title"] for e in queue["edges"]] == ["等待审核的活动"]
    refused = (
        await api.data(
            REVIEW, {"id": waiting["id"], "decision": "APPROVE"}, token=waiting["qinghai"].token
        )
    )["reviewActivity"]
    assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"]
    decided = (
        await api.data(
            REVIEW, {"id": waiting["id"], "decision": "APPROVE"}, token=waiting["sichuan"].token
        )
    )["reviewActivity"]
    assert decided["activity"]["status"] == "APPROVED"


async def test_escalation_climbs_one_level_per_period_and_stops_at_the_organizer(api: Api, waiting):
    set_now(china("2026-09-08 11:00"))
    await escalation.sweep(3, 7)
    await escalation.sweep(3, 7)  # still within the province's seven days
    assert (await Activity.get()).escalated_to_id == (
        await association(OrganizationKind.PROVINCIAL_ASSOCIATION, "510000")
    ).id

    clock.set_offset(clock.offset + timedelta(days=8))
    await escalation.sweep(3, 7)
    organizer = (await Activity.get()).escalated_to_id
    clock.set_offset(clock.offset + timedelta(days=8))
    await escalation.sweep(3, 7)

    assert organizer == (await national_organizer()).id
    assert (await Activity.get()).escalated_to_id == organizer  # no level above
    assert await Notification.filter(kind=NotificationKind.REVIEW_ESCALATED).count() == 1
