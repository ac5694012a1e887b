"""The activity lifecycle through the GraphQL API: filing, review, QR code, supplement, summary,
deletion, and each refusal with its code at the right time."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from infra import storage
from models import Activity, ActivityMedia, AuditLog, Review
from models.enums import ActivityStatus, MemberRole, OrganizationKind, Phase
from schema.ids import to_global_id
from services.events import DomainEvent, EventKind, subscribe, unsubscribe
from tests.conftest import Api, china, set_now
from tests.factories import (
    activity_input,
    association,
    filing_unit,
    make_activity,
    make_campaign,
    member,
    national_organizer,
    person,
    regional_window,
    reviewer_of,
)
from workers.main import build_worker

ACTIVITY_FIELDS = "id status title submittedAt qrCode { token pngUrl svgUrl }"
CREATE = f"""
mutation($input: ActivityInput!) {{
  createActivity(input: $input) {{
    activity {{ {ACTIVITY_FIELDS} }} errors {{ field code message }}
  }}
}}
"""
UPDATE = f"""
mutation($id: ID!, $input: ActivityUpdateInput!) {{
  updateActivity(id: $id, input: $input) {{
    activity {{ {ACTIVITY_FIELDS} }} errors {{ field code message }}
  }}
}}
"""
SUBMIT = f"""
mutation($id: ID!) {{
  submitActivity(id: $id) {{ activity {{ {ACTIVITY_FIELDS} }} errors {{ field code message }} }}
}}
"""
REVIEW = """
mutation($id: ID!, $decision: ReviewDecision!, $comment: String) {
  reviewActivity(id: $id, decision: $decision, comment: $comment) {
    activity { id status } errors { field code message }
  }
}
"""
SUPPLEMENT = """
mutation($id: ID!, $input: SupplementInput!) {
  supplementActivity(id: $id, input: $input) {
    activity { id supplementedAt media { kind url } } errors { field code message }
  }
}
"""
SUMMARY = """
mutation($id: ID!, $input: SummaryInput!) {
  submitActivitySummary(id: $id, input: $input) {
    activity { id summary { text participantCount submittedAt } } errors { field code message }
  }
}
"""
DELETE = "mutation($id: ID!) { deleteActivity(id: $id) { ok errors { code } } }"
QUEUE = """
query($status: ActivityStatus) {
  reviewQueue(status: $status) { edges { node { id title organization { name } } } totalCount }
}
"""
LIST = """
query($filter: ActivityFilter, $first: Int, $after: String) {
  activities(filter: $filter, first: $first, after: $after) {
    edges { cursor node { id title label region { code name } organization { id name }
                          jointAction { id name } posterUrl
                          engagement { checkIns likes comments favorites ratingAverage } } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}
"""
ONE = """
query($id: ID!) {
  activity(id: $id) {
    id title status label hostUnits organizerUnits supervisor { name kind }
    reviews { decision comment } viewer { checkedIn liked favorited rating }
  }
}
"""
BY_QR = "query($token: String!) { activityByQrToken(token: $token) { id title status } }"
MINE = """
query($status: ActivityStatus) {
  myActivities(status: $status) { edges { node { id title status reviews { decision comment } } }
                                  totalCount }
}
"""


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["errors"]]


def png(width: int = 40, height: int = 30, exif: bool = False) -> bytes:
    image = Image.new("RGB", (width, height), (200, 30, 30))
    out = io.BytesIO()
    if exif:
        data = Image.Exif()
        data[0x010F] = "SecretCamera"  # Make
        image.save(out, "JPEG", exif=data)
    else:
        image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture
async def season(api: Api):
    """The 2026 campaign (national deadlines like 2020's), Sichuan's earlier filing deadline,
    a school in Chengdu and a reviewer each for Sichuan and Qinghai. It is 2026-09-10."""
    campaign = await make_campaign()
    await regional_window(campaign, Phase.FILING, "510000", "2026-08-01 00:00", "2026-09-21 23:59")
    unit, filer = await filing_unit(api)
    sichuan = await reviewer_of(
        api, "13911110002", OrganizationKind.PROVINCIAL_ASSOCIATION, "510000"
    )
    qinghai = await reviewer_of(
        api, "13911110003", OrganizationKind.PROVINCIAL_ASSOCIATION, "630000"
    )
    set_now(china("2026-09-10 10:00"))
    return {
        "campaign": campaign,
        "unit": unit,
        "filer": filer,
        "sichuan": sichuan,
        "qinghai": qinghai,
    }


@pytest.fixture
async def season_via_api(api: Api):
    """The same season, set up the way staff do it: through the API."""
    set_now(china("2026-07-15 10:00"))
    admin = await member(api, "13911110000", await national_organizer(), MemberRole.ADMIN)
    province = await member(
        api,
        "13911110004",
        await association(OrganizationKind.PROVINCIAL_ASSOCIATION, "510000"),
        MemberRole.ADMIN,
    )
    created = await api.data(
        "mutation($i: CampaignInput!) { createCampaign(input: $i) { campaign { id } errors "
        "{ code } } }",
        {
            "i": {
                "year": 2026,
                "name": "2026年全国科普日",
                "theme": "科技为民",
                "startsOn": "2026-09-19",
                "endsOn": "2026-09-25",
            }
        },
        token=admin.token,
    )
    campaign_id = created["createCampaign"]["campaign"]["id"]
    set_window = (
        "mutation($i: PhaseWindowInput!) { setPhaseWindow(input: $i) { errors { code message } } }"
    )
    for phase, closes in (("FILING", "09-25"), ("SUPPLEMENT", "10-09"), ("SUMMARY", "10-16")):
        result = await api.data(
            set_window,
            {
                "i": {
                    "campaignId": campaign_id,
                    "phase": phase,
                    "opensAt": "2026-08-01T00:00:00+08:00",
                    "closesAt": f"2026-{closes}T23:59:00+08:00",
                }
            },
            token=admin.token,
        )
        assert result["setPhaseWindow"]["errors"] == []
    result = await api.data(
        set_window,
        {
            "i": {
                "campaignId": campaign_id,
                "phase": "FILING",
                "regionCode": "510000",
                "opensAt": "2026-08-01T00:00:00+08:00",
                "closesAt": "2026-09-21T23:59:00+08:00",
            }
        },
        token=province.token,
    )
    assert result["setPhaseWindow"]["errors"] == []
    set_now(china("2026-09-10 10:00"))  # (sessions of July have expired by now)
    unit, filer = await filing_unit(api)
    sichuan = await reviewer_of(
        api, "13911110002", OrganizationKind.PROVINCIAL_ASSOCIATION, "510000"
    )
    qinghai = await reviewer_of(
        api, "13911110003", OrganizationKind.PROVINCIAL_ASSOCIATION, "630000"
    )
    return {"unit": unit, "filer": filer, "sichuan": sichuan, "qinghai": qinghai}


async def create(api: Api, token: str, **overrides) -> dict:
    return (await api.data(CREATE, {"input": activity_input(**overrides)}, token=token))[
        "createActivity"
    ]


async def filed(api: Api, season, **overrides) -> str:
    """A submitted activity of the season's school; its global ID."""
    created = await create(api, season["filer"].token, **overrides)
    assert created["errors"] == [], created
    submitted = (
        await api.data(SUBMIT, {"id": created["activity"]["id"]}, token=season["filer"].token)
    )["submitActivity"]
    assert submitted["errors"] == [], submitted
    return created["activity"]["id"]


async def approved(api: Api, season, **overrides) -> str:
    activity_id = await filed(api, season, **overrides)
    result = (
        await api.data(
            REVIEW, {"id": activity_id, "decision": "APPROVE"}, token=season["sichuan"].token
        )
    )["reviewActivity"]
    assert result["errors"] == []
    return activity_id


async def test_the_whole_path_from_filing_to_summary(api: Api, season_via_api):
    season = season_via_api
    filer, sichuan, qinghai = season["filer"], season["sichuan"], season["qinghai"]
    events: list[DomainEvent] = []

    async def collect(event: DomainEvent) -> None:
        events.append(event)

    subscribe(collect)
    try:
        # a unit files a draft, with a poster, and submits it
        created = await api.upload(
            CREATE,
            {"input": activity_input(poster=None)},
            {"input.poster": png(exif=True)},
            token=filer.token,
        )
        draft = created["createActivity"]
        assert draft["errors"] == [] and draft["activity"]["status"] == "DRAFT"
        assert draft["activity"]["qrCode"] is None
        activity_id = draft["activity"]["id"]
        submitted = (await api.data(SUBMIT, {"id": activity_id}, token=filer.token))[
            "submitActivity"
        ]["activity"]
        assert submitted["status"] == "PENDING_REVIEW"
        token = submitted["qrCode"]["token"]
        assert len(token) == 12 and not set(token) & set("01OIL")

        # only the reviewer of the right province sees and decides it
        assert (await api.data(QUEUE, token=qinghai.token))["reviewQueue"]["totalCount"] == 0
        refused = (
            await api.data(REVIEW, {"id": activity_id, "decision": "APPROVE"}, token=qinghai.token)
        )["reviewActivity"]
        assert codes(refused) == ["NOT_FOUND"]  # it does not even exist for Qinghai
        assert (await Activity.get()).status is ActivityStatus.PENDING_REVIEW
        queue = (await api.data(QUEUE, token=sichuan.token))["reviewQueue"]
        assert [e["node"]["id"] for e in queue["edges"]] == [activity_id]
        decided = await api.data(
            REVIEW,
            {"id": activity_id, "decision": "APPROVE", "comment": "内容充实"},
            token=sichuan.token,
        )
        assert decided["reviewActivity"]["activity"]["status"] == "APPROVED"

        # the public finds it in the list, by ID and by QR token
        listed = (await api.data(LIST, {"filter": {"regionCode": "510000", "year": 2026}}))[
            "activities"
        ]
        assert [e["node"]["id"] for e in listed["edges"]] == [activity_id]
        node = listed["edges"][0]["node"]
        assert node["label"] == "2026年全国科普日活动"
        assert node["region"] == {"code": "510104", "name": "锦江区"}
        assert node["engagement"] == {
            "checkIns": 0,
            "likes": 0,
            "comments": 0,
            "favorites": 0,
            "ratingAverage": None,
        }
        poster = await _get(api, node["posterUrl"])
        assert poster.headers["content-type"] == "image/jpeg"
        assert b"SecretCamera" not in poster.content
        assert (await api.data(BY_QR, {"token": token.lower()}))["activityByQrToken"]["id"] == (
            activity_id
        )
        public_view = (await api.data(ONE, {"id": activity_id}))["activity"]
        assert public_view["supervisor"]["name"] == "四川省科学技术协会"
        assert public_view["reviews"] == [] and public_view["viewer"] is None
        own_view = (await api.data(ONE, {"id": activity_id}, token=filer.token))["activity"]
        assert own_view["reviews"] == [{"decision": "APPROVE", "comment": "内容充实"}]

        # the unit supplements photos and links once
        supplemented = await api.upload(
            SUPPLEMENT,
            {
                "id": activity_id,
                "input": {"photos": [None, None], "newsUrls": ["https://news.example.cn/a/1"]},
            },
            {"input.photos.0": png(), "input.photos.1": png(80, 60)},
            token=filer.token,
        )
        media = supplemented["supplementActivity"]["activity"]["media"]
        assert [m["kind"] for m in media] == ["PHOTO", "PHOTO", "NEWS"]
        assert (await _get(api, media[0]["url"])).status_code == 200
        again = await api.data(
            SUPPLEMENT,
            {"id": activity_id, "input": {"newsUrls": ["https://news.example.cn/a/2"]}},
            token=filer.token,
        )
        assert codes(again["supplementActivity"]) == ["ALREADY_SUPPLEMENTED"]

        # the summary only after the activity started, then once
        early = await api.data(
            SUMMARY,
            {"id": activity_id, "input": {"text": "活动圆满完成", "participantCount": 120}},
            token=filer.token,
        )
        assert codes(early["submitActivitySummary"]) == ["NOT_STARTED"]
        set_now(china("2026-09-21 08:00"))
        summary = await api.data(
            SUMMARY,
            {"id": activity_id, "input": {"text": "活动圆满完成", "participantCount": 120}},
            token=filer.token,
        )
        assert summary["submitActivitySummary"]["activity"]["summary"]["participantCount"] == 120
        twice = await api.data(
            SUMMARY,
            {"id": activity_id, "input": {"text": "改一改", "participantCount": 1}},
            token=filer.token,
        )
        assert codes(twice["submitActivitySummary"]) == ["ALREADY_SUMMARIZED"]
    finally:
        unsubscribe(collect)

    assert [e.kind for e in events] == [
        EventKind.ACTIVITY_CREATED,
        EventKind.ACTIVITY_SUBMITTED,
        EventKind.ACTIVITY_APPROVED,
        EventKind.ACTIVITY_SUPPLEMENTED,
        EventKind.ACTIVITY_SUMMARIZED,
    ]
    assert events[2].is_public and not events[2].was_public
    actions = await AuditLog.filter(target_type="Activity").values_list("action", flat=True)
    assert set(actions) >= {
        "activity_created",
        "activity_submitted",
        "activity_reviewed",
        "activity_supplemented",
        "activity_summarized",
    }


async def _get(api: Api, url: str) -> httpx.Response:
    path = url.split("://", 1)[1].split("/", 1)[1]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="http://testserver"
    ) as client:
        return await client.get("/" + path)


async def test_the_worker_renders_the_qr_code_once(api: Api, season, base_settings, app):
    activity_id = await filed(api, season)
    token = (await Activity.get()).qr_token
    assert token and not await storage.exists(f"qr/{token}.png")

    worker = build_worker(
        base_settings, app.state.queue, with_cron=False, burst=True, poll_delay=0.05
    )
    await worker.async_run()

    assert await storage.exists(f"qr/{token}.png") and await storage.exists(f"qr/{token}.svg")
    image = await _get(api, f"http://x/media/qr/{token}.png")
    assert image.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(image.content)).size[0] > 100
    svg = await _get(api, f"http://x/media/qr/{token}.svg")
    assert svg.headers["content-type"] == "image/svg+xml" and b"<svg" in svg.content
    assert worker.jobs_complete == 1
    assert activity_id


async def test_a_qr_image_not_yet_rendered_is_rendered_on_request(api: Api, season):
    await filed(api, season)
    token = (await Activity.get()).qr_token

    image = await _get(api, f"http://x/media/qr/{token}.png")
    unknown = await _get(api, "http://x/media/qr/ABCDEFGHJKMN.png")
    escape = await _get(api, "http://x/media/..%2F..%2Fetc%2Fpasswd.png")

    assert image.status_code == 200
    assert unknown.status_code == 404
    assert escape.status_code == 404


async def test_submitting_is_refused_after_the_regional_deadline_that_applies(api: Api, season):
    draft = await create(api, season["filer"].token)
    qinghai_unit, qinghai_filer = await filing_unit(api, "13911110009", "630102", "西宁市第一中学")
    qinghai_draft = await create(
        api,
        qinghai_filer.token,
        regionCode="630102",
        address="西宁市城东区",
        hostUnits=["西宁市第一中学"],
    )
    set_now(china("2026-09-23 09:00"))

    sichuan = (
        await api.data(SUBMIT, {"id": draft["activity"]["id"]}, token=season["filer"].token)
    )["submitActivity"]
    qinghai = (
        await api.data(SUBMIT, {"id": qinghai_draft["activity"]["id"]}, token=qinghai_filer.token)
    )["submitActivity"]

    assert codes(sichuan) == ["FILING_CLOSED"]
    assert "2026-09-21" in sichuan["errors"][0]["message"]
    assert qinghai["errors"] == [] and qinghai["activity"]["status"] == "PENDING_REVIEW"
    assert await Activity.filter(status=ActivityStatus.DRAFT).count() == 1
    assert (await Activity.get(status=ActivityStatus.DRAFT)).organization_id == season["unit"].id
    assert qinghai_unit.id != season["unit"].id


async def test_submitting_before_filing_opens_is_refused(api: Api, season):
    draft = await create(api, season["filer"].token)
    set_now(china("2026-07-20 09:00"))

    early = (await api.data(SUBMIT, {"id": draft["activity"]["id"]}, token=season["filer"].token))[
        "submitActivity"
    ]

    assert codes(early) == ["FILING_NOT_OPEN"]
    assert "2026-08-01" in early["errors"][0]["message"]


async def test_activities_in_the_past_of_the_year_may_be_filed(api: Api, season):
    created = await create(
        api,
        season["filer"].token,
        startsAt="2026-03-01T09:00:00+08:00",
        endsAt="2026-03-01T12:00:00+08:00",
    )

    assert created["errors"] == []


async def test_a_pending_activity_cannot_be_edited(api: Api, season):
    activity_id = await filed(api, season)

    result = (
        await api.data(
            UPDATE, {"id": activity_id, "input": {"title": "新标题"}}, token=season["filer"].token
        )
    )["updateActivity"]

    assert codes(result) == ["NOT_EDITABLE_WHILE_PENDING"]
    assert (await Activity.get()).title == "走进科技馆：人工智能体验日"


async def test_a_required_field_cannot_be_emptied_by_an_edit(api: Api, season):
    """Absent fields stay; a required one given as null is refused (each named), with the
    optional one nulled beside it left unsaved too."""
    created = await create(api, season["filer"].token)
    draft = created["activity"]["id"]

    result = (
        await api.data(
            UPDATE,
            {"id": draft, "input": {"title": None, "hostUnits": None, "subTheme": None}},
            token=season["filer"].token,
        )
    )["updateActivity"]
    kept = (
        await api.data(
            UPDATE, {"id": draft, "input": {"subTheme": "人工智能"}}, token=season["filer"].token
        )
    )["updateActivity"]

    assert sorted((e["field"], e["code"]) for e in result["errors"]) == [
        ("hostUnits", "REQUIRED"),
        ("title", "REQUIRED"),
    ]
    assert kept["errors"] == [] and kept["activity"]["title"] == "走进科技馆：人工智能体验日"
    assert (await Activity.get()).sub_theme == "人工智能"


async def test_editing_an_approved_activity_sends_it_back_to_review(api: Api, season):
    activity_id = await approved(api, season)

    result = (
        await api.data(
            UPDATE, {"id": activity_id, "input": {"title": "新标题"}}, token=season["filer"].token
        )
    )["updateActivity"]

    assert result["errors"] == []
    assert result["activity"]["status"] == "PENDING_REVIEW"
    assert (await api.data(LIST))["activities"]["totalCount"] == 0
    queue = (await api.data(QUEUE, token=season["sichuan"].token))["reviewQueue"]
    assert [e["node"]["title"] for e in queue["edges"]] == ["新标题"]


async def test_editing_an_approved_activity_after_filing_closed_is_refused(api: Api, season):
    activity_id = await approved(api, season)
    set_now(china("2026-09-22 09:00"))

    result = (
        await api.data(
            UPDATE, {"id": activity_id, "input": {"title": "新标题"}}, token=season["filer"].token
        )
    )["updateActivity"]

    assert codes(result) == ["FILING_CLOSED"]
    assert (await Activity.get()).status is ActivityStatus.APPROVED


async def test_a_rejection_needs_a_reason_and_is_kept_in_the_history(api: Api, season):
    activity_id = await filed(api, season)
    reviewer = season["sichuan"].token

    bare = await api.data(REVIEW, {"id": activity_id, "decision": "REJECT"}, token=reviewer)
    assert codes(bare["reviewActivity"]) == ["COMMENT_REQUIRED"]
    assert (await Activity.get()).status is ActivityStatus.PENDING_REVIEW

    rejected = await api.data(
        REVIEW,
        {"id": activity_id, "decision": "REJECT", "comment": "请补充活动地址"},
        token=reviewer,
    )
    assert rejected["reviewActivity"]["activity"]["status"] == "REJECTED"
    twice = await api.data(REVIEW, {"id": activity_id, "decision": "APPROVE"}, token=reviewer)
    assert codes(twice["reviewActivity"]) == ["NOT_PENDING"]
    mine = (await api.data(MINE, token=season["filer"].token))["myActivities"]
    assert mine["edges"][0]["node"]["reviews"] == [
        {"decision": "REJECT", "comment": "请补充活动地址"}
    ]
    fixed = (
        await api.data(
            UPDATE,
            {"id": activity_id, "input": {"address": "锦江区科普路2号"}},
            token=season["filer"].token,
        )
    )["updateActivity"]
    assert fixed["activity"]["status"] == "PENDING_REVIEW"
    assert await Review.all().count() == 1


async def test_supplement_and_summary_are_refused_after_their_deadlines(api: Api, season):
    activity_id = await approved(api, season)
    set_now(china("2026-10-10 09:00"))

    late = await api.data(
        SUPPLEMENT,
        {"id": activity_id, "input": {"newsUrls": ["https://news.example.cn/a/1"]}},
        token=season["filer"].token,
    )
    in_time = await api.data(
        SUMMARY,
        {"id": activity_id, "input": {"text": "总结", "participantCount": 30}},
        token=season["filer"].token,
    )
    assert codes(late["supplementActivity"]) == ["DEADLINE_PASSED"]
    assert "2026-10-09" in late["supplementActivity"]["errors"][0]["message"]
    assert in_time["submitActivitySummary"]["errors"] == []


async def test_a_summary_after_its_deadline_is_refused(api: Api, season):
    activity_id = await approved(api, season)
    set_now(china("2026-10-17 09:00"))

    late = await api.data(
        SUMMARY,
        {"id": activity_id, "input": {"text": "总结", "participantCount": 30}},
        token=season["filer"].token,
    )

    assert codes(late["submitActivitySummary"]) == ["DEADLINE_PASSED"]
    assert "2026-10-16" in late["submitActivitySummary"]["errors"][0]["message"]
    assert (await Activity.get()).summarized_at is None


async def test_supplements_are_capped_unless_the_region_allows_more(api: Api, season):
    activity_id = await filed(api, season)
    links = [f"https://v.example.cn/{i}" for i in range(6)]

    too_many = (
        await api.data(
            SUPPLEMENT,
            {"id": activity_id, "input": {"videoUrls": links}},
            token=season["filer"].token,
        )
    )["supplementActivity"]
    assert codes(too_many) == ["TOO_MANY_MEDIA"]
    assert await ActivityMedia.all().count() == 0

    from models import RegionalSetting

    await RegionalSetting.create(campaign=season["campaign"], region_code="510100", max_media=8)
    allowed = (
        await api.data(
            SUPPLEMENT,
            {"id": activity_id, "input": {"videoUrls": links}},
            token=season["filer"].token,
        )
    )["supplementActivity"]
    assert allowed["errors"] == []
    assert len(allowed["activity"]["media"]) == 6


async def test_a_draft_cannot_be_supplemented_or_summarized(api: Api, season):
    draft = (await create(api, season["filer"].token))["activity"]["id"]

    supplement = await api.data(
        SUPPLEMENT,
        {"id": draft, "input": {"newsUrls": ["https://n.example.cn/1"]}},
        token=season["filer"].token,
    )
    summary = await api.data(
        SUMMARY,
        {"id": draft, "input": {"text": "总结", "participantCount": 1}},
        token=season["filer"].token,
    )

    assert codes(supplement["supplementActivity"]) == ["NOT_SUBMITTED"]
    assert codes(summary["submitActivitySummary"]) == ["NOT_APPROVED"]


@pytest.mark.parametrize(
    ("overrides", "field", "code"),
    [
        ({"form": "ONLINE", "address": None}, "onlineUrl", "REQUIRED"),
        ({"form": "OFFLINE", "address": ""}, "address", "REQUIRED"),
        ({"form": "HYBRID", "onlineUrl": "ftp://x"}, "onlineUrl", "INVALID_URL"),
        ({"endsAt": "2026-09-20T08:00:00+08:00"}, "endsAt", "INVALID_TIME"),
        ({"startsAt": "2025-12-31T09:00:00+08:00"}, "startsAt", "INVALID_TIME"),
        ({"startsAt": "2026-09-20T09:00:00"}, "startsAt", "INVALID_TIME"),
        ({"regionCode": "519999"}, "regionCode", "INVALID_REGION"),
        ({"supervisorKind": "SCHOOL"}, "supervisorKind", "INVALID_SUPERVISOR"),
        ({"supervisorKind": "MINISTRY"}, "supervisorId", "INVALID_SUPERVISOR"),
        ({"supervisorName": ""}, "supervisorName", "REQUIRED"),
        ({"hostUnits": []}, "hostUnits", "REQUIRED"),
        ({"hostUnits": ["单位" + str(i) for i in range(21)]}, "hostUnits", "TOO_MANY_ITEMS"),
        ({"title": ""}, "title", "REQUIRED"),
        ({"title": "长" * 101}, "title", "INVALID"),
        (
            {"jointActionId": to_global_id("JointAction", 999)},
            "jointActionId",
            "INVALID_JOINT_ACTION",
        ),
        ({"supervisorId": "not-an-id", "supervisorKind": "MINISTRY"}, "supervisorId", "INVALID"),
    ],
)
async def test_a_bad_filing_form_is_refused_and_saves_nothing(
    api: Api, season, overrides, field, code
):
    result = await create(api, season["filer"].token, **overrides)

    assert (field, code) in [(e["field"], e["code"]) for e in result["errors"]], result
    assert result["activity"] is None
    assert await Activity.all().count() == 0


async def test_units_given_as_one_string_are_split_on_chinese_commas(api: Api, season):
    created = await create(
        api, season["filer"].token, hostUnits=["成都市锦江区实验小学，成都科技馆"]
    )

    assert created["errors"] == []
    assert (await Activity.get()).host_units == ["成都市锦江区实验小学", "成都科技馆"]


async def test_a_ministry_supervisor_is_taken_from_the_list(api: Api, season):
    from models import Organization

    ministry = await Organization.get(name="教育部")
    created = await create(
        api,
        season["filer"].token,
        supervisorKind="MINISTRY",
        supervisorId=to_global_id("Organization", ministry.id),
    )

    assert created["errors"] == []
    assert (await Activity.get()).supervisor_id == ministry.id


@pytest.mark.parametrize(
    ("content", "code"),
    [(b"GIF89a not really", "INVALID_IMAGE"), (b"%PDF-1.4 a document", "INVALID_IMAGE")],
)
async def test_a_poster_must_be_an_image(api: Api, season, content, code):
    created = await api.upload(
        CREATE,
        {"input": activity_input(poster=None)},
        {"input.poster": content},
        token=season["filer"].token,
    )

    assert codes(created["createActivity"]) == [code]
    assert await Activity.all().count() == 0


async def test_filing_needs_a_complete_unit_profile(api: Api, season):
    unit = season["unit"]
    unit.contact_phone = ""
    await unit.save()

    result = await create(api, season["filer"].token)

    assert codes(result) == ["UNIT_PROFILE_INCOMPLETE"]


async def test_a_person_without_a_unit_cannot_file(api: Api, season):
    someone = await person(api, "13911119999")

    result = await create(api, someone.token)

    assert codes(result) == ["NOT_A_MEMBER"]


@pytest.mark.parametrize("who", ["anonymous", "public", "other_unit", "qinghai_reviewer"])
async def test_only_the_units_filers_change_its_activity(api: Api, season, who):
    activity_id = await approved(api, season)
    _, other = await filing_unit(api, "13911110010", "510105", "别的学校")
    tokens = {
        "anonymous": None,
        "public": (await person(api, "13911110011")).token,
        "other_unit": other.token,
        "qinghai_reviewer": season["qinghai"].token,
    }

    update = await api.post(
        UPDATE, {"id": activity_id, "input": {"title": "改"}}, token=tokens[who]
    )
    delete = await api.post(DELETE, {"id": activity_id}, token=tokens[who])

    expected = "UNAUTHENTICATED" if who == "anonymous" else "FORBIDDEN"
    assert update["errors"][0]["extensions"]["code"] == expected
    assert delete["errors"][0]["extensions"]["code"] == expected
    activity = await Activity.get()
    assert (activity.title, activity.deleted_at) == ("走进科技馆：人工智能体验日", None)


async def test_a_pending_activity_is_invisible_outside_its_unit_and_supervisor(api: Api, season):
    activity_id = await filed(api, season)
    token = (await Activity.get()).qr_token
    _, other = await filing_unit(api, "13911110010", "510105", "别的学校")

    assert (await api.data(ONE, {"id": activity_id}))["activity"] is None
    assert (await api.data(ONE, {"id": activity_id}, token=other.token))["activity"] is None
    assert (await api.data(BY_QR, {"token": token}))["activityByQrToken"] is None
    assert (await api.data(ONE, {"id": activity_id}, token=season["qinghai"].token))[
        "activity"
    ] is None
    assert (await api.data(ONE, {"id": activity_id}, token=season["sichuan"].token))["activity"][
        "status"
    ] == "PENDING_REVIEW"
    hidden = (
        await api.data(UPDATE, {"id": activity_id, "input": {"title": "改"}}, token=other.token)
    )["updateActivity"]
    assert codes(hidden) == ["NOT_FOUND"]


async def test_deleting_is_soft_and_audited(api: Api, season):
    activity_id = await approved(api, season)

    result = await api.data(DELETE, {"id": activity_id}, token=season["filer"].token)

    assert result["deleteActivity"] == {"ok": True, "errors": []}
    assert (await Activity.get()).deleted_at is not None
    assert (await api.data(LIST))["activities"]["totalCount"] == 0
    assert (await api.data(ONE, {"id": activity_id}, token=season["filer"].token))[
        "activity"
    ] is None
    assert (await api.data(MINE, token=season["filer"].token))["myActivities"]["totalCount"] == 0
    assert await AuditLog.filter(action="activity_deleted").exists()


async def test_my_activities_shows_every_status_of_my_units(api: Api, season):
    await filed(api, season, title="待审核")
    await create(api, season["filer"].token, title="草稿")
    other_unit, _ = await filing_unit(api, "13911110010", "510105", "别的学校")
    await make_activity(other_unit, season["campaign"], title="别人的")

    mine = (await api.data(MINE, token=season["filer"].token))["myActivities"]
    drafts = (await api.data(MINE, {"status": "DRAFT"}, token=season["filer"].token))[
        "myActivities"
    ]

    assert [e["node"]["title"] for e in mine["edges"]] == ["草稿", "待审核"]
    assert [e["node"]["title"] for e in drafts["edges"]] == ["草稿"]


async def test_the_review_queue_is_oldest_first_and_pages(api: Api, season):
    unit = season["unit"]
    for day in (3, 1, 2):
        set_now(china(f"2026-09-0{day} 10:00"))
        await make_activity(
            unit, season["campaign"], status=ActivityStatus.PENDING_REVIEW, title=f"第{day}天"
        )
    sichuan = season["sichuan"].token

    first = (
        await api.data(
            "query { reviewQueue(first: 2) { edges { node { title } } "
            "pageInfo { hasNextPage endCursor } } }",
            token=sichuan,
        )
    )["reviewQueue"]
    rest = (
        await api.data(
            "query($a: String) { reviewQueue(first: 2, after: $a) { edges "
            "{ node { title } } pageInfo { hasNextPage } } }",
            {"a": first["pageInfo"]["endCursor"]},
            token=sichuan,
        )
    )["reviewQueue"]

    assert [e["node"]["title"] for e in first["edges"]] == ["第1天", "第2天"]
    assert [e["node"]["title"] for e in rest["edges"]] == ["第3天"]
    assert rest["pageInfo"]["hasNextPage"] is False


async def test_a_municipal_reviewer_sees_what_names_its_association(api: Api, season):
    chengdu = await association(OrganizationKind.MUNICIPAL_ASSOCIATION, "510100")
    reviewer = await reviewer_of(
        api, "13911110020", OrganizationKind.MUNICIPAL_ASSOCIATION, "510100"
    )
    await filed(
        api,
        season,
        supervisorKind="MUNICIPAL_ASSOCIATION",
        supervisorId=to_global_id("Organization", chengdu.id),
    )
    await filed(api, season, title="其他归口")

    queue = (await api.data(QUEUE, token=reviewer.token))["reviewQueue"]
    province = (await api.data(QUEUE, token=season["sichuan"].token))["reviewQueue"]

    assert [e["node"]["title"] for e in queue["edges"]] == ["走进科技馆：人工智能体验日"]
    assert [e["node"]["title"] for e in province["edges"]] == ["其他归口"]


async def test_a_poster_over_10_mb_is_refused(api: Api, season):
    huge = png() + b"\0" * (10 * 1024 * 1024)

    created = await api.upload(
        CREATE,
        {"input": activity_input(poster=None)},
        {"input.poster": huge},
        token=season["filer"].token,
    )

    assert codes(created["createActivity"]) == ["IMAGE_TOO_LARGE"]
    assert await Activity.all().count() == 0


async def test_titles_and_units_are_kept_as_written_without_invisible_controls(api: Api, season):
    """A right-to-left override would show a title reversed in every list and certificate."""
    created = await create(
        api,
        season["filer"].token,
        title="公式 3<5 且 7>6：\u202e动活普科\u202c &lt;",
        hostUnits=["成都市\u2066锦江区\u2069实验小学"],
        description="第一段\r\n\r\n第二段\u202d",
    )

    assert created["errors"] == []
    stored = await Activity.get()
    assert stored.title == "公式 3<5 且 7>6：动活普科 &lt;"
    assert stored.host_units == ["成都市锦江区实验小学"]
    assert stored.description == "第一段\n\n第二段"


# ---------------------------------------------------------------- separation of duties


@pytest.mark.parametrize(
    ("kind", "region", "accepted"),
    [
        ("PROVINCIAL_ASSOCIATION", "510000", True),  # the activity's own province
        ("MUNICIPAL_ASSOCIATION", "510100", True),  # its own city (Chengdu)
        ("PROVINCIAL_ASSOCIATION", "440000", False),  # another province's association
        ("MUNICIPAL_ASSOCIATION", "510700", False),  # another city of the same province
    ],
)
async def test_a_unit_names_only_a_supervisor_of_the_activity_s_region(
    api: Api, season, kind, region, accepted
):
    chosen = await association(OrganizationKind(kind), region)

    created = await create(
        api,
        season["filer"].token,
        supervisorKind=kind,
        supervisorId=to_global_id("Organization", chosen.id),
    )

    if accepted:
        assert created["errors"] == []
        assert (await Activity.get()).supervisor_id == chosen.id
    else:
        assert [(e["field"], e["code"]) for e in created["errors"]] == [
            ("supervisorId", "INVALID_SUPERVISOR")
        ]
        assert await Activity.all().count() == 0


async def test_a_person_never_reviews_an_activity_of_their_own_unit(api: Api, season):
    """The Sichuan reviewer also belongs to the school: the school's activity is reviewed by
    the association's other reviewers, not by them."""
    from tests.factories import grant

    activity_id = await filed(api, season, supervisorKind="OTHER")
    await grant(season["sichuan"].user, season["unit"], MemberRole.FILER)

    refused = await api.post(
        REVIEW, {"id": activity_id, "decision": "APPROVE"}, token=season["sichuan"].token
    )

    queue = await api.data(
        "{ reviewQueue { edges { node { id } } } }", token=season["sichuan"].token
    )

    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert (await Activity.get()).status is ActivityStatus.PENDING_REVIEW
    assert await Review.all().count() == 0
    assert queue["reviewQueue"]["edges"] == []  # nor is it in their queue


async def test_an_association_s_own_activity_goes_to_the_next_supervisor_up(api: Api, season):
    """Sichuan's association files an activity naming itself (or "other", which is itself):
    the national organizer reviews it."""
    sichuan = await association(OrganizationKind.PROVINCIAL_ASSOCIATION, "510000")
    sichuan.contact_name, sichuan.contact_phone, sichuan.address = "王五", "028-12345678", "成都"
    await sichuan.save()
    staff = await member(api, "13911119999", sichuan, MemberRole.FILER, "省科协填报员")

    named = await create(
        api,
        staff.token,
        organizationId=to_global_id("Organization", sichuan.id),
        supervisorKind="PROVINCIAL_ASSOCIATION",
        supervisorId=to_global_id("Organization", sichuan.id),
    )

    assert named["errors"] == []
    national = await national_organizer()
    assert (await Activity.get()).supervisor_id in (sichuan.parent_id, national.id)
    assert (await Activity.get()).supervisor_id != sichuan.id


async def test_a_draft_is_seen_by_its_own_unit_only(api: Api, season):
    """Reviewers see what was submitted to them; a draft is the unit's own business (national
    staff included), and the answer is the one for an id that does not exist."""
    created = await create(api, season["filer"].token, supervisorKind="OTHER")
    draft = created["activity"]["id"]
    staff = await member(api, "13911118888", await national_organizer(), MemberRole.ADMIN)
    query = "query($id: ID!) { activity(id: $id) { id title } }"

    seen = {
        who: (await api.data(query, {"id": draft}, token=token))["activity"]
        for who, token in (
            ("filer", season["filer"].token),
            ("sichuan", season["sichuan"].token),
            ("staff", staff.token),
            ("anonymous", None),
        )
    }

    assert seen["filer"] is not None
    assert seen["sichuan"] is seen["staff"] is seen["anonymous"] is None
