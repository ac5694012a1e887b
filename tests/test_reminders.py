"""Deadline reminders: the right people, once, naming the deadline that applies to them."""

from __future__ import annotations

import asyncio

import pytest

from models import Notification, Organization, Recommendation
from models.enums import (
    ActivityStatus,
    CommendationKind,
    MemberRole,
    NotificationKind,
    OrganizationKind,
    Phase,
)
from services import reminders
from tests.conftest import Api, china, run_worker, set_now, sms_messages
from tests.factories import (
    association,
    filing_unit,
    grant,
    make_activity,
    make_campaign,
    make_user,
    regional_window,
)


@pytest.fixture
async def season(api: Api):
    """National deadlines like 2020's, Sichuan's filing closes 09-21; five schools."""
    campaign = await make_campaign()
    await regional_window(campaign, Phase.FILING, "510000", "2026-08-01 00:00", "2026-09-21 23:59")
    units = {}
    for key, phone, region, name in (
        ("chengdu_draft", "13966660001", "510104", "成都草稿学校"),
        ("qinghai_draft", "13966660002", "630102", "西宁草稿学校"),
        ("unsupplemented", "13966660003", "510105", "未补充学校"),
        ("supplemented", "13966660004", "510106", "已补充学校"),
    ):
        units[key] = await filing_unit(api, phone, region, name)
    await make_activity(units["chengdu_draft"][0], campaign, status=ActivityStatus.DRAFT)
    await make_activity(units["chengdu_draft"][0], campaign, status=ActivityStatus.DRAFT)
    await make_activity(units["qinghai_draft"][0], campaign, status=ActivityStatus.DRAFT)
    await make_activity(units["unsupplemented"][0], campaign)
    done = await make_activity(units["supplemented"][0], campaign)
    done.supplemented_at = china("2026-09-21 10:00")
    await done.save()
    # a second person of the Chengdu school, and a reviewer-only member who owes nothing
    colleague = await make_user("13966660009", "同事")
    await grant(colleague, units["chengdu_draft"][0], MemberRole.FILER)
    onlooker = await make_user("13966660010", "审核员")
    await grant(onlooker, units["chengdu_draft"][0], MemberRole.REVIEWER)
    return units


def reminded(rows) -> dict[str, str]:
    return {r.recipient.phone: r.title for r in rows}


async def test_filing_reminders_go_to_units_with_drafts_naming_their_deadline(
    api: Api, season, base_settings
):
    set_now(china("2026-09-20 10:00"))

    await reminders.sweep()

    rows = await Notification.filter(kind=NotificationKind.DEADLINE_REMINDER).prefetch_related(
        "recipient"
    )
    assert reminded(rows) == {
        "13966660001": "请在2026-09-21前提交活动填报",
        "13966660009": "请在2026-09-21前提交活动填报",
        "13966660002": "请在2026-09-25前提交活动填报",
    }
    chengdu = next(r for r in rows if r.recipient.phone == "13966660001")
    assert "还有2个活动" in chengdu.body


async def test_a_reminder_is_sent_once_even_by_concurrent_sweeps(
    api: Api, season, app, base_settings
):
    set_now(china("2026-09-20 10:00"))
    await asyncio.gather(reminders.sweep(), reminders.sweep())
    await reminders.sweep()
    await run_worker(app, base_settings)

    assert await Notification.filter(kind=NotificationKind.DEADLINE_REMINDER).count() == 3
    texts = [m for m in sms_messages(base_settings) if "提交活动填报" in m["text"]]
    assert sorted(m["phone"] for m in texts) == ["13966660001", "13966660002", "13966660009"]


async def test_the_next_offset_reminds_again_and_closed_windows_do_not(api: Api, season):
    set_now(china("2026-09-20 10:00"))
    await reminders.sweep()
    set_now(china("2026-09-23 10:00"))  # Sichuan closed; Qinghai is 3 days from 09-25

    await reminders.sweep()

    rows = await Notification.filter(
        kind=NotificationKind.DEADLINE_REMINDER, recipient__phone="13966660002"
    )
    assert len(rows) == 2
    assert await Notification.filter(recipient__phone="13966660001").count() == 1


async def test_supplement_reminders_go_to_those_who_have_not_supplemented(api: Api, season):
    set_now(china("2026-10-05 10:00"))

    await reminders.sweep()

    rows = await Notification.filter(title__contains="补充活动信息").prefetch_related("recipient")
    assert set(reminded(rows)) == {"13966660003"}
    assert "2026-10-09" in rows[0].title


async def test_recommending_bodies_that_have_not_recommended_are_reminded(api: Api):
    """Sichuan's association answers to its own earlier deadline, the others to the national
    one; a body that recommended something, and members who are not admins, are left alone."""
    campaign = await make_campaign()
    await regional_window(
        campaign, Phase.RECOMMENDATION, "510000", "2026-10-01 00:00", "2026-10-19 23:59"
    )
    sichuan = await association(OrganizationKind.PROVINCIAL_ASSOCIATION, "510000")
    beijing = await association(OrganizationKind.PROVINCIAL_ASSOCIATION, "110000")
    society = await Organization.filter(kind=OrganizationKind.NATIONAL_SOCIETY).first()
    assert society is not None
    for phone, body, role in (
        ("13966661001", sichuan, MemberRole.ADMIN),
        ("13966661002", beijing, MemberRole.ADMIN),
        ("13966661003", society, MemberRole.ADMIN),
        ("13966661004", sichuan, MemberRole.REVIEWER),
    ):
        await grant(await make_user(phone), body, role)
    school, _ = await filing_unit(api, "13966661005", "110101", "北京学校")
    await Recommendation.create(
        campaign=campaign,
        recommender=beijing,
        target_kind=CommendationKind.UNIT,
        organization=school,
        reason="好",
        active_target=f"UNIT:{school.id}",
    )
    set_now(china("2026-10-18 10:00"))

    await reminders.sweep()
    await reminders.sweep()

    rows = await Notification.filter(kind=NotificationKind.DEADLINE_REMINDER).prefetch_related(
        "recipient"
    )
    assert reminded(rows) == {
        "13966661001": "请在2026-10-19前推荐优秀组织单位和优秀活动",
        "13966661003": "请在2026-10-23前推荐优秀组织单位和优秀活动",
    }
    assert len(rows) == 2
    assert "尚未推荐优秀组织单位和优秀活动" in rows[0].body
