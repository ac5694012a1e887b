"""Campaigns: national staff set them up, provinces and cities set their own windows inside the
national ones, and every region reads the windows, sub-theme and joint actions that apply."""

from __future__ import annotations

import pytest

from models import JointAction, PhaseWindow, RegionalSetting
from models.enums import MemberRole, OrganizationKind, Phase
from schema.ids import to_global_id
from tests.conftest import Api, china, set_now
from tests.factories import (
    association,
    make_campaign,
    make_unit,
    member,
    national_organizer,
    person,
    regional_window,
)

CAMPAIGN = """
query Campaign($year: Int, $regionCode: String) {
  campaign(year: $year) {
    id year name theme startsOn endsOn label
    subTheme(regionCode: $regionCode)
    phases(regionCode: $regionCode) { phase opensAt closesAt }
    jointActions { id name leadUnits }
  }
}
"""
CREATE = """
mutation($input: CampaignInput!) {
  createCampaign(input: $input) { campaign { id year label } errors { field code message } }
}
"""
SET_WINDOW = """
mutation($input: PhaseWindowInput!) {
  setPhaseWindow(input: $input) {
    window { phase opensAt closesAt regionCode } errors { field code message }
  }
}
"""
SET_SETTING = """
mutation($input: RegionalSettingInput!) {
  setRegionalSetting(input: $input) { subTheme maxMedia errors { field code } }
}
"""
CREATE_ACTION = """
mutation($input: JointActionInput!) {
  createJointAction(input: $input) { jointAction { id name leadUnits regionCode } errors { code } }
}
"""
NEW_CAMPAIGN = {
    "year": 2026,
    "name": "2026年全国科普日",
    "theme": "科技创新 智慧共享",
    "startsOn": "2026-09-15",
    "endsOn": "2026-09-30",
}


def gid(kind: str, pk: int) -> str:
    return to_global_id(kind, pk)


async def staff(api: Api):
    return await member(api, "13900000099", await national_organizer(), MemberRole.ADMIN, "主办方")


async def province_admin(api: Api, phone: str, region_code: str):
    return await member(
        api,
        phone,
        await association(OrganizationKind.PROVINCIAL_ASSOCIATION, region_code),
        MemberRole.ADMIN,
        "省科协",
    )


def window(payload: dict) -> dict:
    return {p["phase"]: (p["opensAt"], p["closesAt"]) for p in payload["phases"]}


async def test_national_staff_open_a_campaign_with_its_label(api: Api):
    admin = await staff(api)

    result = (await api.data(CREATE, {"input": NEW_CAMPAIGN}, token=admin.token))["createCampaign"]

    assert result["errors"] == []
    assert result["campaign"]["label"] == "2026年全国科普日活动"
    again = (await api.data(CREATE, {"input": NEW_CAMPAIGN}, token=admin.token))["createCampaign"]
    assert [e["code"] for e in again["errors"]] == ["CAMPAIGN_EXISTS"]


@pytest.mark.parametrize("who", ["anonymous", "public", "unit_admin", "province_admin"])
async def test_only_national_staff_open_campaigns(api: Api, who):
    tokens = {
        "anonymous": None,
        "public": (await person(api, "13900000001")).token,
        "unit_admin": (await member(api, "13900000002", await make_unit(), MemberRole.ADMIN)).token,
        "province_admin": (await province_admin(api, "13900000003", "510000")).token,
    }

    body = await api.post(CREATE, {"input": NEW_CAMPAIGN}, token=tokens[who])

    assert body["errors"][0]["extensions"]["code"] == (
        "UNAUTHENTICATED" if who == "anonymous" else "FORBIDDEN"
    )
    assert (await api.data(CAMPAIGN, {"year": 2026}))["campaign"] is None


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"year": 1999}, "year", "INVALID"),
        ({"name": ""}, "name", "REQUIRED"),
        ({"startsOn": "2026-10-01"}, "endsOn", "INVALID_TIME"),
        ({"endsOn": "2027-01-02"}, "startsOn", "INVALID_TIME"),
    ],
)
async def test_bad_campaigns_are_refused(api: Api, change, field, code):
    admin = await staff(api)

    result = (await api.data(CREATE, {"input": {**NEW_CAMPAIGN, **change}}, token=admin.token))[
        "createCampaign"
    ]

    assert (field, code) in [(e["field"], e["code"]) for e in result["errors"]]
    assert result["campaign"] is None


async def test_the_current_campaign_is_this_years(api: Api):
    set_now(china("2026-08-10 10:00"))
    await make_campaign(
        2025,
        filing=("2025-08-01 00:00", "2025-09-25 23:59"),
        supplement="2025-10-09 23:59",
        summary="2025-10-16 23:59",
        recommendation=("2025-10-01 00:00", "2025-10-23 23:59"),
    )
    await make_campaign(2026)

    current = (await api.data(CAMPAIGN))["campaign"]

    assert current["year"] == 2026
    assert window(current)["FILING"] == ("2026-08-01T00:00:00+08:00", "2026-09-25T23:59:00+08:00")


async def test_a_province_sets_an_earlier_deadline_inside_the_national_window(api: Api):
    campaign = await make_campaign()
    sichuan = await province_admin(api, "13900000003", "510000")
    args = {
        "campaignId": gid("Campaign", campaign.id),
        "phase": "FILING",
        "regionCode": "510000",
        "opensAt": "2026-08-01T00:00:00+08:00",
        "closesAt": "2026-09-21T23:59:00+08:00",
    }

    result = (await api.data(SET_WINDOW, {"input": args}, token=sichuan.token))["setPhaseWindow"]

    assert result["errors"] == []
    in_jinjiang = (await api.data(CAMPAIGN, {"year": 2026, "regionCode": "510104"}))["campaign"]
    in_qinghai = (await api.data(CAMPAIGN, {"year": 2026, "regionCode": "630100"}))["campaign"]
    national = (await api.data(CAMPAIGN, {"year": 2026}))["campaign"]
    assert window(in_jinjiang)["FILING"][1] == "2026-09-21T23:59:00+08:00"
    assert window(in_qinghai)["FILING"][1] == "2026-09-25T23:59:00+08:00"
    assert window(national)["FILING"][1] == "2026-09-25T23:59:00+08:00"
    assert window(in_jinjiang)["SUMMARY"] == window(national)["SUMMARY"]


async def test_a_city_window_beats_its_provinces(api: Api):
    campaign = await make_campaign()
    await regional_window(
        campaign, Phase.SUPPLEMENT, "510000", "2026-08-01 00:00", "2026-10-05 23:59"
    )
    await regional_window(
        campaign, Phase.SUPPLEMENT, "510100", "2026-08-01 00:00", "2026-10-01 23:59"
    )

    chengdu = (await api.data(CAMPAIGN, {"regionCode": "510104", "year": 2026}))["campaign"]
    mianyang = (await api.data(CAMPAIGN, {"regionCode": "510700", "year": 2026}))["campaign"]

    assert window(chengdu)["SUPPLEMENT"][1] == "2026-10-01T23:59:00+08:00"
    assert window(mianyang)["SUPPLEMENT"][1] == "2026-10-05T23:59:00+08:00"


async def test_a_regional_window_outside_the_national_one_is_refused(api: Api):
    campaign = await make_campaign()
    sichuan = await province_admin(api, "13900000003", "510000")
    args = {
        "campaignId": gid("Campaign", campaign.id),
        "phase": "FILING",
        "regionCode": "510000",
        "opensAt": "2026-08-01T00:00:00+08:00",
        "closesAt": "2026-09-28T23:59:00+08:00",
    }

    result = (await api.data(SET_WINDOW, {"input": args}, token=sichuan.token))["setPhaseWindow"]

    assert [e["code"] for e in result["errors"]] == ["OUTSIDE_NATIONAL_WINDOW"]
    assert "2026-09-25" in result["errors"][0]["message"]
    assert await PhaseWindow.filter(region_code="510000").count() == 0


@pytest.mark.parametrize(
    ("region", "expected"),
    [("630000", "FORBIDDEN"), ("510104", "INVALID_REGION"), (None, "FORBIDDEN")],
)
async def test_a_province_manages_only_its_own_region(api: Api, region, expected):
    campaign = await make_campaign()
    sichuan = await province_admin(api, "13900000003", "510000")
    args = {
        "campaignId": gid("Campaign", campaign.id),
        "phase": "FILING",
        "regionCode": region,
        "opensAt": "2026-08-02T00:00:00+08:00",
        "closesAt": "2026-09-20T23:59:00+08:00",
    }

    body = await api.post(SET_WINDOW, {"input": args}, token=sichuan.token)

    if expected == "FORBIDDEN":
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    else:
        codes = [e["code"] for e in body["data"]["setPhaseWindow"]["errors"]]
        assert codes == [expected]
    assert await PhaseWindow.filter(region_code__not_isnull=True).count() == 0


async def test_sub_themes_and_joint_actions_follow_the_region_chain(api: Api):
    campaign = await make_campaign()
    admin = await staff(api)
    sichuan = await province_admin(api, "13900000003", "510000")
    campaign_id = gid("Campaign", campaign.id)

    await api.data(
        SET_SETTING,
        {
            "input": {
                "campaignId": campaign_id,
                "regionCode": "510000",
                "subTheme": "践行科技为民，助力全面小康",
            }
        },
        token=sichuan.token,
    )
    await api.data(
        CREATE_ACTION,
        {
            "input": {
                "campaignId": campaign_id,
                "name": "科普阅读",
                "leadUnits": ["中国科普作家协会"],
            }
        },
        token=admin.token,
    )
    regional = (
        await api.data(
            CREATE_ACTION,
            {
                "input": {
                    "campaignId": campaign_id,
                    "name": "金融消费",
                    "leadUnits": ["四川省金融学会"],
                    "regionCode": "510000",
                }
            },
            token=sichuan.token,
        )
    )["createJointAction"]

    assert regional["errors"] == []
    chengdu = (await api.data(CAMPAIGN, {"year": 2026, "regionCode": "510104"}))["campaign"]
    qinghai = (await api.data(CAMPAIGN, {"year": 2026, "regionCode": "630000"}))["campaign"]
    assert chengdu["subTheme"] == "践行科技为民，助力全面小康"
    assert qinghai["subTheme"] is None
    assert {a["name"] for a in chengdu["jointActions"]} == {"科普阅读", "金融消费"}
    in_qinghai = (
        await api.data(
            "query($r: String) { campaign(year: 2026) { jointActions(regionCode: $r) { name } } }",
            {"r": "630000"},
        )
    )["campaign"]["jointActions"]
    assert in_qinghai == [{"name": "科普阅读"}]
    assert await JointAction.filter(region_code="510000").count() == 1
    assert await RegionalSetting.filter(region_code="510000").count() == 1
