"""The season's end through the API: recommendations (windows, quotas, scopes), the evaluation of
the organizing bodies, the public notice with an objection that removes an entry, the final lists,
and certificates rendered by a real worker, read back, and verified by their QR code."""

from __future__ import annotations

import asyncio
import io
import zipfile
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import zxingcpp
from pypdf import PdfReader

from infra.clock import now
from models import Activity, ActivityStats, Commendation, Notification, Organization
from models.enums import (
    ActivityForm,
    ActivityStatus,
    CommendationKind,
    CommendationStatus,
    MemberRole,
    NotificationKind,
    OrganizationKind,
    Phase,
)
from schema.ids import to_global_id
from services.certificates import commending_body
from services.commendations import notice_end
from services.permissions import grants_of
from tests.conftest import Api, china, run_worker, set_now
from tests.factories import (
    association,
    filing_unit,
    make_activity,
    make_campaign,
    make_unit,
    member,
    national_organizer,
    person,
    regional_window,
)
from tests.test_browsing import count_queries
from tests.test_documents import fetch

RECOMMEND = """
mutation($input: RecommendationInput!) {
  recommend(input: $input) { recommendation { id targetKind status } errors { field message code } }
}
"""
WITHDRAW = "mutation($id: ID!) { withdrawRecommendation(id: $id) { ok errors { code message } } }"
SET_QUOTA = """
mutation($input: RecommendationQuotaInput!) {
  setRecommendationQuota(input: $input) { quota { units activities } errors { code } }
}
"""
QUOTA = """
query($year: Int!, $org: ID!) {
  recommendationQuota(year: $year, organizationId: $org) {
    units activities unitsUsed activitiesUsed
  }
}
"""
RECOMMENDATIONS = """
query($year: Int!) {
  recommendations(year: $year, first: 50) {
    edges { node { targetKind status reason recommender { name } organization { name } } }
    totalCount
  }
}
"""
SCORE = """
mutation($input: IndicatorScoreInput!) { scoreIndicator(input: $input) { errors { field code } } }
"""
EVALUATION = """
query($year: Int!) {
  evaluation(year: $year, first: 100) {
    edges { node {
      organization { id name } total rank
      scores { indicator score computed note inputs { name value } }
    } }
    pageInfo { hasNextPage endCursor }
  }
}
"""
DECIDE = """
mutation($input: CommendationDecisionInput!) {
  decideCommendations(input: $input) {
    commendations { id kind status holderName noticeEndsAt }
    errors { field message code }
  }
}
"""
OBJECT = """
mutation($id: ID!, $reason: String!) {
  raiseObjection(commendationId: $id, reason: $reason) {
    objection { id createdAt } errors { field message code }
  }
}
"""
REMOVE = """
mutation($id: ID!, $reason: String!) { removeCommendation(id: $id, reason: $reason) {
  ok errors { code } } }
"""
FINALIZE = """
mutation($year: Int!) {
  finalizeCommendations(year: $year) { commendations { id kind status } errors { message code } }
}
"""
COMMENDATIONS = """
query($year: Int!, $kind: CommendationKind) {
  commendations(year: $year, kind: $kind, first: 50) {
    edges { node {
      id kind status holderName
      objections { reason objectorName }
      certificate { serial downloadUrl verifyUrl }
    } }
    totalCount
  }
}
"""
CERTIFICATES = (
    "mutation($year: Int!) { requestCertificates(year: $year) { document { id status } "
    "errors { code } } }"
)
WEIGHTS = """
mutation($weights: [IndicatorWeightInput!]!) {
  setIndicatorWeights(year: 2026, weights: $weights) { ok errors { code } }
}
"""
INDICATORS = [
    "SOCIAL_MOBILIZATION",
    "JOINT_ACTIONS",
    "ONLINE_ACTIVITIES",
    "PUBLICITY",
    "TECH_VOLUNTEERS",
    "INFORMATION_SERVICE",
    "PUBLIC_EVALUATION",
]
DOCUMENT = "query($id: ID!) { document(id: $id) { status downloadUrl error } }"
VERIFY = """
query($serial: String!) {
  verifyCertificate(serial: $serial) { valid revoked message holderName campaignName kind issuedAt }
}
"""


def gid(kind: str, pk: int) -> str:
    return to_global_id(kind, pk)


def codes(payload: dict[str, Any]) -> list[str]:
    return [e["code"] for e in payload["errors"]]


@pytest.fixture
async def season(api: Api):
    """A campaign with units and activities in Sichuan and Beijing and under a society."""
    campaign = await make_campaign()
    sichuan = await association(OrganizationKind.PROVINCIAL_ASSOCIATION, "510000")
    beijing = await association(OrganizationKind.PROVINCIAL_ASSOCIATION, "110000")
    society = (
        await Organization.filter(kind=OrganizationKind.NATIONAL_SOCIETY).order_by("id").first()
    )
    assert society is not None
    school, filer = await filing_unit(api)
    museum = await make_unit("成都科技馆", OrganizationKind.VENUE, "510104")
    third = await make_unit("成都市第七中学", OrganizationKind.SCHOOL, "510104")
    capital = await make_unit("北京市第一中学", OrganizationKind.SCHOOL, "110101")
    summarized = await make_activity(school, campaign, title="青少年航天科普讲座")
    summarized.summarized_at = china("2026-09-21 10:00")
    summarized.supplemented_at = china("2026-09-22 10:00")
    summarized.created_by_id = filer.user.id
    await summarized.save()
    unsummarized = await make_activity(
        school, campaign, title="机器人体验日", form=ActivityForm.ONLINE
    )
    await make_activity(school, campaign, title="待审核活动", status=ActivityStatus.PENDING_REVIEW)
    capital_activity = await make_activity(capital, campaign, title="首都科学之夜")
    capital_activity.summarized_at = china("2026-09-23 10:00")
    await capital_activity.save()
    society_activity = await make_activity(school, campaign, title="学会科普进校园")
    await Activity.filter(id=society_activity.id).update(
        supervisor_id=society.id,
        supervisor_kind=OrganizationKind.NATIONAL_SOCIETY,
        summarized_at=china("2026-09-24 10:00"),
    )
    await ActivityStats.filter(activity_id=summarized.id).update(
        rating_sum=9, rating_count=2, likes=10, check_ins=30
    )
    return {
        "campaign": campaign,
        "sichuan": sichuan,
        "beijing": beijing,
        "society": society,
        "school": school,
        "filer": filer,
        "museum": museum,
        "third": third,
        "capital": capital,
        "summarized": summarized,
        "unsummarized": unsummarized,
        "capital_activity": capital_activity,
        "society_activity": society_activity,
        "staff": await member(
            api, "13911119999", await national_organizer(), MemberRole.ADMIN, "主办方"
        ),
        "sichuan_admin": await member(api, "13911110011", sichuan, MemberRole.ADMIN, "川协"),
        "sichuan_reviewer": await member(api, "13911110012", sichuan, MemberRole.REVIEWER),
        "society_admin": await member(api, "13911110013", society, MemberRole.ADMIN, "学会"),
        "public": await person(api, "13911110014", "王市民"),
    }


async def recommend(api: Api, s: dict[str, Any], who: str, kind: str, **target: Any) -> dict:
    form = {
        "campaignId": gid("Campaign", s["campaign"].id),
        "targetKind": kind,
        "reason": "组织有力，成效显著。",
    }
    if "unit" in target:
        form["organizationId"] = gid("Organization", target["unit"].id)
    if "activity" in target:
        form["activityId"] = gid("Activity", target["activity"].id)
    return (await api.data(RECOMMEND, {"input": form}, token=s[who].token))["recommend"]


async def test_a_season_from_recommendation_to_verified_certificates(
    api: Api, season, app, base_settings
):
    s = season
    staff = s["staff"].token

    # ---- recommendation: the window, then quotas and scopes
    set_now(china("2026-09-28 10:00"))
    early = await recommend(api, s, "sichuan_admin", "UNIT", unit=s["school"])
    assert codes(early) == ["RECOMMENDATION_NOT_OPEN"]

    set_now(china("2026-10-12 10:00"))
    quota = await api.data(
        SET_QUOTA,
        {
            "input": {
                "year": 2026,
                "organizationId": gid("Organization", s["sichuan"].id),
                "units": 2,
                "activities": 1,
            }
        },
        token=staff,
    )
    assert quota["setRecommendationQuota"] == {"quota": {"units": 2, "activities": 1}, "errors": []}
    refused = await api.post(
        SET_QUOTA,
        {
            "input": {
                "year": 2026,
                "organizationId": gid("Organization", s["sichuan"].id),
                "units": 9,
            }
        },
        token=s["sichuan_admin"].token,
    )
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    school = await recommend(api, s, "sichuan_admin", "UNIT", unit=s["school"])
    assert school["errors"] == [] and school["recommendation"]["status"] == "ACTIVE"
    again = await recommend(api, s, "sichuan_admin", "UNIT", unit=s["school"])
    assert codes(again) == ["ALREADY_RECOMMENDED"]
    outside = await recommend(api, s, "sichuan_admin", "UNIT", unit=s["capital"])
    assert codes(outside) == ["NOT_UNDER_RECOMMENDER"]
    museum = await recommend(api, s, "sichuan_admin", "UNIT", unit=s["museum"])
    assert museum["errors"] == []
    over = await recommend(api, s, "sichuan_admin", "UNIT", unit=s["third"])
    assert codes(over) == ["QUOTA_EXCEEDED"]
    assert "2个" in over["errors"][0]["message"]

    assert codes(
        await recommend(api, s, "sichuan_admin", "ACTIVITY", activity=s["unsummarized"])
    ) == ["NOT_SUMMARIZED"]
    assert codes(
        await recommend(api, s, "sichuan_admin", "ACTIVITY", activity=s["capital_activity"])
    ) == ["NOT_UNDER_RECOMMENDER"]
    assert codes(
        await recommend(api, s, "sichuan_admin", "ACTIVITY", activity=s["society_activity"])
    ) == ["NOT_UNDER_RECOMMENDER"]  # supervised by the society, not by the province
    activity = await recommend(api, s, "sichuan_admin", "ACTIVITY", activity=s["summarized"])
    assert activity["errors"] == []
    by_society = await recommend(
        api, s, "society_admin", "ACTIVITY", activity=s["society_activity"]
    )
    assert by_society["errors"] == []

    reviewer = await api.post(
        RECOMMEND,
        {
            "input": {
                "campaignId": gid("Campaign", s["campaign"].id),
                "targetKind": "UNIT",
                "organizationId": gid("Organization", s["third"].id),
                "reason": "好",
            }
        },
        token=s["sichuan_reviewer"].token,
    )
    assert reviewer["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    withdrawn = await api.data(
        WITHDRAW, {"id": museum["recommendation"]["id"]}, token=s["sichuan_admin"].token
    )
    assert withdrawn["withdrawRecommendation"] == {"ok": True, "errors": []}
    twice = await api.data(
        WITHDRAW, {"id": museum["recommendation"]["id"]}, token=s["sichuan_admin"].token
    )
    assert codes(twice["withdrawRecommendation"]) == ["ALREADY_WITHDRAWN"]
    foreign = await api.data(
        WITHDRAW, {"id": by_society["recommendation"]["id"]}, token=s["sichuan_admin"].token
    )
    assert codes(foreign["withdrawRecommendation"]) == ["NOT_FOUND"]
    used = await api.data(
        QUOTA,
        {"year": 2026, "org": gid("Organization", s["sichuan"].id)},
        token=s["sichuan_admin"].token,
    )
    assert used["recommendationQuota"] == {
        "units": 2,
        "activities": 1,
        "unitsUsed": 1,
        "activitiesUsed": 1,
    }

    own = await api.data(RECOMMENDATIONS, {"year": 2026}, token=s["sichuan_reviewer"].token)
    assert own["recommendations"]["totalCount"] == 3  # its own, withdrawn one included
    assert {e["node"]["recommender"]["name"] for e in own["recommendations"]["edges"]} == {
        s["sichuan"].name
    }
    everyone = await api.data(RECOMMENDATIONS, {"year": 2026}, token=staff)
    assert everyone["recommendations"]["totalCount"] == 4
    assert (
        await Notification.filter(
            recipient_id=s["filer"].user.id, kind=NotificationKind.RECOMMENDED
        ).count()
        == 3
    )  # the school, its activity, and its activity under the society

    set_now(china("2026-10-24 10:00"))
    late = await api.data(
        WITHDRAW, {"id": activity["recommendation"]["id"]}, token=s["sichuan_admin"].token
    )
    assert codes(late["withdrawRecommendation"]) == ["RECOMMENDATION_CLOSED"]
    assert "2026-10-23" in late["withdrawRecommendation"]["errors"][0]["message"]
    assert codes(await recommend(api, s, "sichuan_admin", "UNIT", unit=s["third"])) == [
        "RECOMMENDATION_CLOSED"
    ]

    # ---- evaluation: computed indicators with their inputs, staff scores, total and rank
    scored = await api.data(
        SCORE,
        {
            "input": {
                "year": 2026,
                "organizationId": gid("Organization", s["sichuan"].id),
                "indicator": "PUBLICITY",
                "score": 80,
                "note": "宣传报道丰富",
            }
        },
        token=staff,
    )
    assert scored["scoreIndicator"]["errors"] == []
    computed = await api.data(
        SCORE,
        {
            "input": {
                "year": 2026,
                "organizationId": gid("Organization", s["sichuan"].id),
                "indicator": "SOCIAL_MOBILIZATION",
                "score": 80,
            }
        },
        token=staff,
    )
    assert codes(computed["scoreIndicator"]) == ["COMPUTED_INDICATOR"]
    out_of_range = await api.data(
        SCORE,
        {
            "input": {
                "year": 2026,
                "organizationId": gid("Organization", s["beijing"].id),
                "indicator": "PUBLICITY",
                "score": 120,
            }
        },
        token=staff,
    )
    assert codes(out_of_range["scoreIndicator"]) == ["INVALID"]

    table = (await api.data(EVALUATION, {"year": 2026}, token=staff))["evaluation"]
    rows = {e["node"]["organization"]["name"]: e["node"] for e in table["edges"]}
    bodies = await Organization.filter(
        kind__in=[OrganizationKind.PROVINCIAL_ASSOCIATION, OrganizationKind.NATIONAL_SOCIETY]
    ).count()
    assert len(rows) == bodies and not table["pageInfo"]["hasNextPage"]
    first = rows[s["sichuan"].name]
    assert first["rank"] == 1
    scores = {x["indicator"]: x for x in first["scores"]}
    assert len(scores) == 7
    mobilization = {i["name"]: i["value"] for i in scores["SOCIAL_MOBILIZATION"]["inputs"]}
    assert (mobilization["units"], mobilization["approved"]) == (1, 2)  # the school; 2 approved
    assert scores["SOCIAL_MOBILIZATION"]["computed"] is True
    assert scores["SOCIAL_MOBILIZATION"]["score"] == 100.0  # the most of every body
    assert scores["ONLINE_ACTIVITIES"]["score"] == 100.0
    information = {i["name"]: i["value"] for i in scores["INFORMATION_SERVICE"]["inputs"]}
    assert information == {"approved": 2, "supplemented_on_time": 1, "summarized_on_time": 1}
    assert scores["INFORMATION_SERVICE"]["score"] == 50.0
    public = {i["name"]: i["value"] for i in scores["PUBLIC_EVALUATION"]["inputs"]}
    assert (public["mean_rating"], public["engagement"]) == (4.5, 40)
    assert scores["PUBLICITY"] == {
        "indicator": "PUBLICITY",
        "score": 80.0,
        "computed": False,
        "note": "宣传报道丰富",
        "inputs": [],
    }
    assert scores["TECH_VOLUNTEERS"]["computed"] is True  # no volunteer records: 0
    assert scores["TECH_VOLUNTEERS"]["score"] == 0.0
    capital_row = rows[s["beijing"].name]
    assert capital_row["rank"] == 2 and capital_row["total"] < first["total"]
    own_line = await api.data(EVALUATION, {"year": 2026}, token=s["sichuan_reviewer"].token)
    assert [e["node"]["organization"]["name"] for e in own_line["evaluation"]["edges"]] == [
        s["sichuan"].name
    ]
    assert (await api.post(EVALUATION, {"year": 2026}, token=s["public"].token))["errors"]

    # ---- public notice: decided on a Monday, three working days
    set_now(china("2026-11-02 10:00"))
    decided = await api.data(
        DECIDE,
        {
            "input": {
                "year": 2026,
                "unitIds": [
                    gid("Organization", s["school"].id),
                    gid("Organization", s["capital"].id),
                ],
                "activityIds": [gid("Activity", s["summarized"].id)],
            }
        },
        token=staff,
    )
    entries = decided["decideCommendations"]["commendations"]
    assert decided["decideCommendations"]["errors"] == []
    assert [e["status"] for e in entries] == ["PROPOSED"] * 3
    assert datetime.fromisoformat(entries[0]["noticeEndsAt"]) == china("2026-11-06 00:00")
    duplicate = await api.data(
        DECIDE,
        {"input": {"year": 2026, "unitIds": [gid("Organization", s["school"].id)]}},
        token=staff,
    )
    assert codes(duplicate["decideCommendations"]) == ["ALREADY_PROPOSED"]
    not_approved = await api.data(
        DECIDE,
        {
            "input": {
                "year": 2026,
                "activityIds": [gid("Activity", s["unsummarized"].id)],
                "unitIds": [],
            }
        },
        token=staff,
    )
    assert not_approved["decideCommendations"]["errors"] == []  # approved, not yet summarized: ok
    pending = await Activity.get(title="待审核活动")
    refused_pending = await api.data(
        DECIDE, {"input": {"year": 2026, "activityIds": [gid("Activity", pending.id)]}}, token=staff
    )
    assert codes(refused_pending["decideCommendations"]) == ["NOT_APPROVED"]
    by_filer = await api.post(
        DECIDE,
        {"input": {"year": 2026, "unitIds": [gid("Organization", s["third"].id)]}},
        token=s["filer"].token,
    )
    assert by_filer["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    anonymous = (await api.data(COMMENDATIONS, {"year": 2026}))["commendations"]
    assert anonymous["totalCount"] == 4
    capital_entry = next(
        e["node"] for e in anonymous["edges"] if e["node"]["holderName"] == "北京市第一中学"
    )
    assert capital_entry["objections"] == []  # nobody but staff sees objections
    objection = await api.data(
        OBJECT,
        {"id": capital_entry["id"], "reason": "该校本年度未实际开展活动。"},
        token=s["public"].token,
    )
    assert objection["raiseObjection"]["errors"] == []
    repeated = await api.data(
        OBJECT, {"id": capital_entry["id"], "reason": "再次提出异议。"}, token=s["public"].token
    )
    assert codes(repeated["raiseObjection"]) == ["ALREADY_OBJECTED"]
    unsigned = await api.post(OBJECT, {"id": capital_entry["id"], "reason": "匿名异议内容"})
    assert unsigned["errors"]
    early_final = await api.data(FINALIZE, {"year": 2026}, token=staff)
    assert codes(early_final["finalizeCommendations"]) == ["NOTICE_NOT_OVER"]
    assert "2026-11-05" in early_final["finalizeCommendations"]["errors"][0]["message"]

    seen = (await api.data(COMMENDATIONS, {"year": 2026}, token=staff))["commendations"]
    objected = next(e["node"] for e in seen["edges"] if e["node"]["id"] == capital_entry["id"])
    assert objected["objections"] == [
        {"reason": "该校本年度未实际开展活动。", "objectorName": "王市民"}
    ]
    removed = await api.data(
        REMOVE, {"id": capital_entry["id"], "reason": "经核实异议成立"}, token=staff
    )
    assert removed["removeCommendation"] == {"ok": True, "errors": []}
    unsummarized_entry = next(
        e["node"] for e in seen["edges"] if e["node"]["holderName"] == "机器人体验日"
    )
    await api.data(REMOVE, {"id": unsummarized_entry["id"], "reason": "材料不全"}, token=staff)
    assert (await api.data(COMMENDATIONS, {"year": 2026}))["commendations"]["totalCount"] == 2
    assert (await api.data(COMMENDATIONS, {"year": 2026}, token=staff))["commendations"][
        "totalCount"
    ] == 4

    set_now(china("2026-11-06 09:00"))
    late_objection = await api.data(
        OBJECT, {"id": entries[0]["id"], "reason": "公示期后的异议。"}, token=s["public"].token
    )
    assert codes(late_objection["raiseObjection"]) == ["NOT_ON_NOTICE"]
    final = (await api.data(FINALIZE, {"year": 2026}, token=staff))["finalizeCommendations"]
    assert final["errors"] == []
    assert sorted((c["kind"], c["status"]) for c in final["commendations"]) == [
        ("ACTIVITY", "FINAL"),
        ("UNIT", "FINAL"),
    ]
    nothing = await api.data(FINALIZE, {"year": 2026}, token=staff)
    assert codes(nothing["finalizeCommendations"]) == ["NOTHING_TO_FINALIZE"]
    units = (await api.data(COMMENDATIONS, {"year": 2026, "kind": "UNIT"}))["commendations"]
    assert [e["node"]["holderName"] for e in units["edges"]] == [s["school"].name]

    # ---- certificates: rendered by the worker, downloaded, read back, verified
    requested = (await api.data(CERTIFICATES, {"year": 2026}, token=staff))["requestCertificates"]
    assert requested["document"]["status"] == "QUEUED"
    await run_worker(app, base_settings)
    document = (await api.data(DOCUMENT, {"id": requested["document"]["id"]}, token=staff))[
        "document"
    ]
    assert document["status"] == "READY", document
    archive = zipfile.ZipFile(io.BytesIO((await fetch(api, document["downloadUrl"])).content))
    names = archive.namelist()
    assert len(names) == 3 and any(n.endswith("（全部）.pdf") for n in names)
    combined = next(n for n in names if n.endswith("（全部）.pdf"))
    assert len(PdfReader(io.BytesIO(archive.read(combined))).pages) == 2

    mine = await api.data(COMMENDATIONS, {"year": 2026, "kind": "UNIT"}, token=s["filer"].token)
    certificate = mine["commendations"]["edges"][0]["node"]["certificate"]
    serial = certificate["serial"]
    assert serial.startswith("KP2026-U-00001-")
    theirs = await api.data(COMMENDATIONS, {"year": 2026, "kind": "UNIT"}, token=s["public"].token)
    assert theirs["commendations"]["edges"][0]["node"]["certificate"]["downloadUrl"] is None
    response = await fetch(api, certificate["downloadUrl"])
    tampered = certificate["downloadUrl"].rsplit("sig=", 1)[0] + "sig=" + "0" * 64
    another = certificate["downloadUrl"].replace(serial, serial[:-4] + "AAAA")
    assert [(await fetch(api, url)).status_code for url in (tampered, another)] == [403, 403]
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.content))
    assert len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    assert s["school"].name in text and serial in text and "荣誉证书" in text.replace(" ", "")
    assert "2026年全国科普日活动" in text and "2026年11月6日" in text
    fonts = {
        str(font.get_object()["/BaseFont"])
        for font in reader.pages[0]["/Resources"]["/Font"].values()  # type: ignore[index]
    }
    assert any("UKai" in name for name in fonts), fonts  # kai, as official certificates are
    assert not any("ZenHei" in name for name in fonts), fonts
    images = list(reader.pages[0].images)
    assert len(images) == 1  # its own QR code, nobody else's
    decoded = [d.text for d in zxingcpp.read_barcodes(images[0].image.convert("RGB"))]
    assert decoded == [f"{base_settings.public_base_url}/verify/{serial}"]

    page = await _get(api, urlparse(decoded[0]).path)
    assert page.status_code == 200 and "证书有效" in page.text and s["school"].name in page.text
    # the page says who issued it and on which platform, and offers to check another serial
    assert f"<dd>{await commending_body()}</dd>" in page.text and "全国科普日活动平台" in page.text
    assert 'action="/verify"' in page.text
    another = await _get(api, "/verify?serial=KP2026-U-00002-XXXX")
    assert another.status_code == 303
    assert another.headers["location"] == "/verify/KP2026-U-00002-XXXX"
    valid = (await api.data(VERIFY, {"serial": serial}))["verifyCertificate"]
    assert valid["valid"] is True and valid["holderName"] == s["school"].name
    assert (valid["kind"], valid["campaignName"]) == ("UNIT", "2026年全国科普日活动")
    forged = serial[:-4] + ("AAAA" if not serial.endswith("AAAA") else "BBBB")
    invalid = (await api.data(VERIFY, {"serial": forged}))["verifyCertificate"]
    assert (invalid["valid"], invalid["holderName"]) == (False, None)
    assert "不是有效证书" in invalid["message"]
    forged_page = await _get(api, f"/verify/{forged}")
    assert forged_page.status_code == 404 and "不是有效证书" in forged_page.text

    # the same lists, the same document; serials survive a new rendering
    again = (await api.data(CERTIFICATES, {"year": 2026}, token=staff))["requestCertificates"]
    assert again["document"]["id"] == requested["document"]["id"]
    activity_entry = await Commendation.get(kind="ACTIVITY", status="FINAL")
    activity_serial = activity_entry.serial
    revoke = await api.data(
        'mutation($id: ID!) { revokeCommendation(id: $id, reason: "重复表扬") { ok } }',
        {"id": gid("Commendation", activity_entry.id)},
        token=staff,
    )
    assert revoke["revokeCommendation"]["ok"] is True
    rerendered = (await api.data(CERTIFICATES, {"year": 2026}, token=staff))["requestCertificates"]
    assert rerendered["document"]["id"] != requested["document"]["id"]
    await run_worker(app, base_settings)
    assert (await Commendation.get(kind="UNIT", status="FINAL")).serial == serial
    revoked = (await api.data(VERIFY, {"serial": activity_serial}))["verifyCertificate"]
    assert (revoked["valid"], revoked["revoked"]) == (False, True)
    assert "撤销" in revoked["message"]

    # units and filers were told: recommended, commended, certificate ready
    told = await Notification.filter(recipient_id=s["filer"].user.id).values_list("kind", flat=True)
    assert told.count(NotificationKind.COMMENDED) == 2  # the school, and its activity
    assert told.count(NotificationKind.CERTIFICATE_READY) == 2  # each once, rendered twice


async def _get(api: Api, path: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="http://testserver"
    ) as client:
        return await client.get(path)


def test_a_notice_counts_working_days_only():
    holidays = (date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 5))
    friday = china("2026-11-06 15:00")
    assert notice_end(friday, 3, ()) == china("2026-11-12 00:00")  # Mon, Tue, Wed
    wednesday = china("2026-09-30 09:00")
    assert notice_end(wednesday, 3, holidays) == china("2026-10-09 00:00")  # 6th, 7th, 8th
    assert notice_end(china("2026-11-02 23:59"), 1, ()) == china("2026-11-04 00:00")
    # National Day 2026: 1-7 October off, Sunday 27 September and Saturday 10 October worked
    golden_week = tuple(date(2026, 10, d) for d in range(1, 8))
    worked = (date(2026, 9, 27), date(2026, 10, 10))
    friday = china("2026-09-25 10:00")
    assert notice_end(friday, 3, golden_week, worked) == china("2026-09-30 00:00")  # 27, 28, 29
    thursday = china("2026-10-08 10:00")
    assert notice_end(thursday, 2, golden_week, worked) == china("2026-10-11 00:00")  # 9, 10


async def test_the_evaluation_costs_a_few_queries_however_many_activities(api: Api, season):
    s = season
    for i in range(30):
        await make_activity(s["museum"], s["campaign"], title=f"批量活动{i}")

    async def queries() -> int:
        with count_queries() as seen:
            await api.data(EVALUATION, {"year": 2026}, token=s["staff"].token)
        return len(seen)

    await queries()  # the staff's session is read once, then kept by the process
    before = await queries()
    for i in range(30):
        await make_activity(s["capital"], s["campaign"], title=f"更多活动{i}")
    assert await queries() == before
    assert before < 60


async def test_recommendations_at_once_cannot_both_take_the_last_place(api: Api, season):
    s = season
    set_now(china("2026-10-12 10:00"))
    form = {"year": 2026, "organizationId": gid("Organization", s["sichuan"].id), "units": 1}
    await api.data(SET_QUOTA, {"input": form}, token=s["staff"].token)

    results = await asyncio.gather(
        *(
            recommend(api, s, "sichuan_admin", "UNIT", unit=s[unit])
            for unit in ("school", "museum", "third")
        )
    )

    assert sorted(tuple(codes(r)) for r in results) == [
        (),
        ("QUOTA_EXCEEDED",),
        ("QUOTA_EXCEEDED",),
    ]


async def test_weights_make_the_total(api: Api, season):
    s = season
    staff = s["staff"].token
    body = gid("Organization", s["society"].id)
    await api.data(
        SCORE,
        {
            "input": {
                "year": 2026,
                "organizationId": body,
                "indicator": "PUBLICITY",
                "score": 90,
            }
        },
        token=staff,
    )
    only = [{"indicator": i, "weight": 1 if i == "PUBLICITY" else 0} for i in INDICATORS]

    set_weights = await api.data(WEIGHTS, {"weights": only}, token=staff)

    assert set_weights["setIndicatorWeights"] == {"ok": True, "errors": []}
    table = (await api.data(EVALUATION, {"year": 2026}, token=staff))["evaluation"]["edges"]
    top = table[0]["node"]
    assert (top["organization"]["id"], top["total"], top["rank"]) == (body, 90.0, 1)
    assert all(e["node"]["total"] == 0 and e["node"]["rank"] == 2 for e in table[1:])
    nothing = [{"indicator": i, "weight": 0} for i in INDICATORS]
    refused = await api.data(WEIGHTS, {"weights": nothing}, token=staff)
    assert codes(refused["setIndicatorWeights"]) == ["INVALID"]
    forbidden = await api.post(WEIGHTS, {"weights": only}, token=s["sichuan_admin"].token)
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_information_service_counts_by_the_provinces_own_deadline(api: Api, season):
    """Sichuan's supplement deadline is earlier than the national one: its activity supplemented
    on 09-22 is late there, though the national deadline is 10-09."""
    s = season
    await regional_window(
        s["campaign"], Phase.SUPPLEMENT, "510000", "2026-08-01 00:00", "2026-09-21 23:59"
    )

    table = (await api.data(EVALUATION, {"year": 2026}, token=s["staff"].token))["evaluation"]

    rows = {e["node"]["organization"]["name"]: e["node"] for e in table["edges"]}
    information = {
        i["name"]: i["value"]
        for x in rows[s["sichuan"].name]["scores"]
        if x["indicator"] == "INFORMATION_SERVICE"
        for i in x["inputs"]
    }
    assert information == {"approved": 2, "supplemented_on_time": 0, "summarized_on_time": 1}


async def test_an_entry_removed_while_the_list_is_finalized_takes_no_number(api: Api, monkeypatch):
    """Finalizing numbers the entries one by one; one removed in the meantime stays removed, is
    not reported as final, and leaves no gap in the numbers."""
    from services import commendations as service

    campaign = await make_campaign()
    staff = await member(api, "13911112222", await national_organizer(), MemberRole.ADMIN)
    moment = now()
    entries = [
        await Commendation.create(
            campaign=campaign,
            kind=CommendationKind.UNIT,
            organization=await make_unit(f"第{i}中学"),
            holder_name=f"第{i}中学",
            unit_name=f"第{i}中学",
            notice_starts_at=moment - timedelta(days=10),
            notice_ends_at=moment - timedelta(days=1),
        )
        for i in range(3)
    ]
    numbering = service.serial_for
    removals = []

    def remove_the_second_on_the_first_number(year, kind, number):
        if number == 1:  # runs while this first update is awaited, before the next one
            removal = Commendation.filter(id=entries[1].id).update(
                status=CommendationStatus.REMOVED, removed_reason="异议成立"
            )
            removals.append(asyncio.ensure_future(removal))
        return numbering(year, kind, number)

    monkeypatch.setattr(service, "serial_for", remove_the_second_on_the_first_number)
    done = await service.finalize(staff.user, await grants_of(staff.user), 2026)
    await asyncio.gather(*removals)

    assert [c.id for c in done] == [entries[0].id, entries[2].id]
    assert [c.serial.split("-")[2] for c in done] == ["00001", "00002"]
    assert (await Commendation.get(id=entries[1].id)).status is CommendationStatus.REMOVED
