"""Every read operation of the client contract, as each kind of caller: what is not theirs to see
never appears in any answer.

The scene holds a Chengdu school's public activity, its activity pending review and its draft,
each with a title that marks it. Every query of ../shared/client-operations.graphql runs as each
actor below; an answer may contain a marked title only where `MAY_SEE` says so (nowhere, unless
listed). A new query joins by its variables in `VARIABLES` (when it needs any) and, if some actor
may see a private activity through it, an entry in `MAY_SEE`.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest

from models import Activity, Notification, WebhookDelivery
from models.enums import ActivityStatus, MemberRole, OrganizationKind
from schema.ids import to_global_id
from tests.conftest import Api, china, last_code, set_now
from tests.factories import (
    PASSWORD,
    activity_input,
    association,
    filing_unit,
    make_activity,
    make_campaign,
    member,
    national_organizer,
    person,
    reviewer_of,
    table_state,
)
from tests.test_contract import client_operations

PENDING = "待审核的秘密活动"
LOCAL_HOOK = "127.0.0.1:9"
FILER_PHONE = "13911110001"  # filing_unit's
DRAFT = "草稿里的秘密活动"
ACTORS = (
    "anonymous",
    "public",
    "other_filer",
    "other_reviewer",
    "other_portal",
    "filer",
    "reviewer",
    "portal",
)

# (operation, marker) -> the actors who may see it; everything else: nobody
MAY_SEE: dict[tuple[str, str], set[str]] = {
    ("MyActivities", PENDING): {"filer"},
    ("MyActivities", DRAFT): {"filer"},
    ("Activity", DRAFT): {"filer"},  # reviewers see what was submitted, never a draft
    ("ActivityByQr", PENDING): {"filer", "reviewer"},
    ("ReviewQueue", PENDING): {"reviewer"},
}

Scene = dict[str, Any]
VARIABLES: dict[str, Callable[[Scene], dict[str, Any]]] = {
    "SupervisingUnits": lambda s: {"kind": "PROVINCIAL_ASSOCIATION", "first": 50},
    "Campaign": lambda s: {"year": 2026, "regionCode": "510104"},
    "MyActivities": lambda s: {"first": 50},
    "Activities": lambda s: {"first": 50},
    "Activity": lambda s: {"id": s["draft"]},
    "ActivityByQr": lambda s: {"token": s["pending_token"]},
    "Comments": lambda s: {"activityId": s["pending"]},
    "MyEngagement": lambda s: {"first": 50},
    "ReviewQueue": lambda s: {"first": 50},
    "Evaluation": lambda s: {"year": 2026},
    "Commendations": lambda s: {"year": 2026},
    "VerifyCertificate": lambda s: {"serial": "ABCDEF123456"},
    "Document": lambda s: {"id": to_global_id("Document", 1)},
    "Notifications": lambda s: {"first": 50},
    "ActivityChanges": lambda s: {"first": 50},
    "WebhookDeliveries": lambda s: {"webhookId": to_global_id("Webhook", 1)},
}


def queries() -> dict[str, str]:
    return {name: text for name, text in client_operations().items() if text.startswith("query")}


@pytest.fixture
async def scene(api: Api) -> Scene:
    campaign = await make_campaign()
    school, filer = await filing_unit(api)
    _, other_filer = await filing_unit(api, "13933330002", "510105", "别的学校")
    sichuan = await reviewer_of(
        api, "13933330003", OrganizationKind.PROVINCIAL_ASSOCIATION, "510000"
    )
    qinghai = await reviewer_of(
        api, "13933330004", OrganizationKind.PROVINCIAL_ASSOCIATION, "630000"
    )
    staff = await member(api, "13933330005", await national_organizer(), MemberRole.ADMIN)
    sichuan_admin = await member(
        api,
        "13933330006",
        await association(OrganizationKind.PROVINCIAL_ASSOCIATION, "510000"),
        MemberRole.ADMIN,
    )
    public = await make_activity(school, campaign, title="公开的活动")
    pending = await make_activity(
        school, campaign, title=PENDING, status=ActivityStatus.PENDING_REVIEW
    )
    draft = await make_activity(school, campaign, title=DRAFT, status=ActivityStatus.DRAFT)
    await Activity.filter(title__in=(PENDING, DRAFT)).update(created_by_id=filer.user.id)
    portals, clients = {}, {}
    for name, region in (("portal", "510000"), ("other_portal", "440000")):
        made = await api.data(
            "mutation($n: String!, $r: String!) { createApiClient(name: $n, regionCode: $r) "
            "{ apiClient { id } token errors { code } } }",
            {"n": name, "r": region},
            token=staff.token,
        )
        portals[name] = made["createApiClient"]["token"]
        clients[name] = made["createApiClient"]["apiClient"]["id"]
    return {
        "campaign": to_global_id("Campaign", campaign.id),
        "school": to_global_id("Organization", school.id),
        "sichuan": to_global_id(
            "Organization",
            (await association(OrganizationKind.PROVINCIAL_ASSOCIATION, "510000")).id,
        ),
        "portal_client": clients["portal"],
        "pending": to_global_id("Activity", pending.id),
        "draft": to_global_id("Activity", draft.id),
        "pending_token": pending.qr_token,
        "public": to_global_id("Activity", public.id),
        "public_token": public.qr_token,
        "tokens": {
            "anonymous": None,
            "public": (await person(api, "13933330001")).token,
            "other_filer": other_filer.token,
            "other_reviewer": qinghai.token,
            "filer": filer.token,
            "reviewer": sichuan.token,
            "staff": staff.token,
            "association_admin": sichuan_admin.token,
            **portals,
        },
    }


@pytest.mark.parametrize("operation", sorted(queries()))
async def test_no_caller_reads_what_is_not_theirs(api: Api, scene: Scene, operation: str):
    document = queries()[operation]
    variables = VARIABLES.get(operation, lambda s: {})(scene)
    seen: dict[str, set[str]] = {PENDING: set(), DRAFT: set()}

    for actor in ACTORS:
        body = await api.post(document, variables, token=scene["tokens"][actor])
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
        assert "INTERNAL_SERVER_ERROR" not in codes, (actor, body)
        text = json.dumps(body, ensure_ascii=False)
        for marker, who in seen.items():
            if marker in text:
                who.add(actor)

    for marker, who in seen.items():
        assert who == MAY_SEE.get((operation, marker), set()), (operation, marker)


def test_every_query_of_the_contract_is_in_the_matrix():
    """A query that needs variables must say which (else it would only ever be refused)."""
    needs = {name for name, text in queries().items() if "!" in text.split("{", 1)[0]}

    assert needs <= set(VARIABLES), needs - set(VARIABLES)


# ---------------------------------------------------------------- every mutation


def mutations() -> dict[str, str]:
    return {name: text for name, text in client_operations().items() if text.startswith("mutation")}


Variables = Callable[[Scene], dict[str, Any]]
Arrangement = Callable[[Api, Scene], Awaitable[None]]
OUTSIDERS = ("anonymous", "public", "other_filer", "other_reviewer", "other_portal")
SIGNED_IN = frozenset(OUTSIDERS) - {"anonymous"}


@dataclass(frozen=True)
class Row:
    """One mutation of the contract: the actor it is for and the call they make, at a time (China
    time) when it is open, after `arrange` (which does what real callers would do first, may move
    the clock, and adds to the scene what the variables need). Each outsider first tries the call
    of `outsiders` (by default the same one, where refused), and changes nothing, except those
    in `open_to`, for whom it is their own account, unit or platform, or everyone's right."""

    actor: str
    variables: Variables = lambda s: {}
    at: str = "2026-09-10 10:00"  # filing is open
    arrange: Arrangement | None = None
    outsiders: Variables | None = None
    open_to: frozenset[str] = frozenset()


async def _done(api: Api, scene: Scene, operation: str) -> dict[str, Any]:
    """The right actor's call of `operation`, which must succeed: its payload."""
    row = MATRIX[operation]
    body = await api.post(
        mutations()[operation], row.variables(scene), token=scene["tokens"][row.actor]
    )
    assert "errors" not in body, body
    payload = next(iter(body["data"].values()))
    assert payload.get("errors", []) == [], payload
    return payload


def _after(*operations: str) -> Arrangement:
    """Arrange by first doing other operations of the matrix, each at its own time."""

    async def arrange(api: Api, scene: Scene) -> None:
        for operation in operations:
            set_now(china(MATRIX[operation].at))
            scene[operation] = await _done(api, scene, operation)

    return arrange


def _code(phone: str, purpose: str) -> Arrangement:
    async def arrange(api: Api, scene: Scene) -> None:
        await api.data(mutations()["RequestVerificationCode"], {"phone": phone, "purpose": purpose})
        scene["code"] = last_code(api.app.state.runtime.settings, phone)

    return arrange


async def _failed_delivery(api: Api, scene: Scene) -> None:
    """The portal's webhook, and the delivery of an approval to it, failed after three attempts."""
    await _after("CreateWebhook", "ReviewActivity")(api, scene)
    await WebhookDelivery.all().update(status="FAILED", attempts=3)
    scene["delivery"] = to_global_id("WebhookDelivery", (await WebhookDelivery.get()).id)


async def _approval_notice(api: Api, scene: Scene) -> None:
    await _after("ReviewActivity")(api, scene)
    notice = await Notification.get(recipient__phone=FILER_PHONE)
    scene["notification"] = to_global_id("Notification", notice.id)


def _on(key: str, **fixed: Any) -> Variables:
    """An engagement with the activity `key` of the scene."""
    return lambda s: {"activityId": s[key], **fixed}


def _commendation(s: Scene) -> str:
    return str(s["DecideCommendations"]["commendations"][0]["id"])


def _recommend(s: Scene) -> dict[str, Any]:
    return {
        "input": {
            "campaignId": s["campaign"],
            "targetKind": "ACTIVITY",
            "activityId": s["public"],
            "reason": "活动组织规范，效果突出",
        }
    }


REGISTER = {"phone": "13933339999", "password": PASSWORD, "name": "某人", "acceptAgreement": True}
PUBLIC_PHONE = "13933330001"
SUMMARY_OPEN = "2026-09-28 10:00"
RECOMMENDING = "2026-10-12 10:00"
DECIDED = "2026-11-02 10:00"  # a Monday; on public notice until 11-05
ON_NOTICE = "2026-11-03 10:00"
NOTICE_OVER = "2026-11-06 09:00"
MATRIX: dict[str, Row] = {
    "RequestVerificationCode": Row(
        "anonymous",
        lambda s: {"phone": "13933339999", "purpose": "REGISTER"},
        open_to=frozenset(OUTSIDERS),
    ),
    "Register": Row(
        "anonymous",
        lambda s: {"input": {**REGISTER, "code": s["code"]}},
        arrange=_code("13933339999", "REGISTER"),
        outsiders=lambda s: {"input": {**REGISTER, "code": "000000"}},
        open_to=frozenset(OUTSIDERS),  # a wrong code counts against the code's attempts
    ),
    "Login": Row(
        "public",
        lambda s: {"phone": PUBLIC_PHONE, "password": PASSWORD},
        outsiders=lambda s: {"phone": PUBLIC_PHONE, "password": "wrong-pass1"},
    ),
    "ResetPassword": Row(
        "anonymous",
        lambda s: {"input": {"phone": PUBLIC_PHONE, "code": s["code"], "newPassword": "Passw0rd2"}},
        arrange=_code(PUBLIC_PHONE, "RESET_PASSWORD"),
        outsiders=lambda s: {
            "input": {"phone": PUBLIC_PHONE, "code": "000000", "newPassword": "Passw0rd2"}
        },
        open_to=frozenset(OUTSIDERS),
    ),
    "ChangePassword": Row(
        "public",
        lambda s: {"oldPassword": PASSWORD, "newPassword": "Passw0rd2"},
        open_to=SIGNED_IN,
    ),
    "Logout": Row("public", open_to=SIGNED_IN),
    "UpdateProfile": Row("public", lambda s: {"input": {"name": "改名"}}, open_to=SIGNED_IN),
    "SaveUnitProfile": Row(
        "public",
        lambda s: {
            "input": {
                "name": "一所学校",
                "kind": "SCHOOL",
                "regionCode": "510104",
                "contactName": "某人",
                "contactPhone": PUBLIC_PHONE,
                "address": "成都",
            }
        },
        open_to=SIGNED_IN,
    ),
    "AddMember": Row(
        "filer", lambda s: {"organizationId": s["school"], "phone": PUBLIC_PHONE, "role": "FILER"}
    ),
    "CreateActivity": Row(
        "filer", lambda s: {"input": activity_input()}, open_to=frozenset({"other_filer"})
    ),
    "UpdateActivity": Row("filer", lambda s: {"id": s["draft"], "input": {"title": "被外人改过"}}),
    "SubmitActivity": Row("filer", lambda s: {"id": s["draft"]}),
    "SupplementActivity": Row(
        "filer",
        lambda s: {"id": s["public"], "input": {"newsUrls": ["https://news.example.cn/1"]}},
        at=SUMMARY_OPEN,
    ),
    "SubmitActivitySummary": Row(
        "filer",
        lambda s: {"id": s["public"], "input": {"text": "活动总结", "participantCount": 120}},
        at=SUMMARY_OPEN,
    ),
    "DeleteActivity": Row("filer", lambda s: {"id": s["draft"]}),
    # engagement is everyone's with a public activity: outsiders try a pending one
    "CheckIn": Row(
        "public",
        lambda s: {
            "activityId": s["public"],
            "qrToken": s["public_token"],
            "clientNonce": "matrix-nonce-1",
        },
        at="2026-09-20 10:00",
        outsiders=lambda s: {
            "activityId": s["pending"],
            "qrToken": s["pending_token"],
            "clientNonce": "matrix-nonce-2",
        },
    ),
    "SetLike": Row("public", _on("public", liked=True), outsiders=_on("pending", liked=True)),
    "SetFavorite": Row(
        "public", _on("public", favorite=True), outsiders=_on("pending", favorite=True)
    ),
    "AddComment": Row(
        "public", _on("public", body="很好的活动"), outsiders=_on("pending", body="外人的评论")
    ),
    "RateActivity": Row(
        "public",
        _on("public", score=5),
        at="2026-09-21 10:00",
        outsiders=_on("pending", score=5),
    ),
    "ReviewActivity": Row("reviewer", lambda s: {"id": s["pending"], "decision": "APPROVE"}),
    "Recommend": Row(
        "association_admin",
        _recommend,
        at=RECOMMENDING,
        arrange=_after("SubmitActivitySummary"),
    ),
    "WithdrawRecommendation": Row(
        "association_admin",
        lambda s: {"id": s["Recommend"]["recommendation"]["id"]},
        at=RECOMMENDING,
        arrange=_after("SubmitActivitySummary", "Recommend"),
    ),
    "ScoreIndicator": Row(
        "staff",
        lambda s: {
            "input": {
                "year": 2026,
                "organizationId": s["sichuan"],
                "indicator": "PUBLICITY",
                "score": 80,
            }
        },
        at="2026-11-01 10:00",
    ),
    "DecideCommendations": Row(
        "staff",
        lambda s: {"input": {"year": 2026, "unitIds": [s["school"]], "activityIds": []}},
        at=DECIDED,
    ),
    "RaiseObjection": Row(
        "public",
        lambda s: {"commendationId": _commendation(s), "reason": "该校本年度未实际开展活动"},
        at=ON_NOTICE,
        arrange=_after("DecideCommendations"),
        open_to=SIGNED_IN,  # anyone signed in may object during the notice
    ),
    "RemoveCommendation": Row(
        "staff",
        lambda s: {"id": _commendation(s), "reason": "经核实异议成立"},
        at=ON_NOTICE,
        arrange=_after("DecideCommendations"),
    ),
    "FinalizeCommendations": Row(
        "staff",
        lambda s: {"year": 2026},
        at=NOTICE_OVER,
        arrange=_after("DecideCommendations"),
    ),
    "RequestActivitySummaryPdf": Row(
        "filer",
        lambda s: {"activityId": s["public"]},
        at=SUMMARY_OPEN,
        arrange=_after("SubmitActivitySummary"),
    ),
    "RequestSummaryReport": Row(
        "reviewer", lambda s: {"input": {"year": 2026, "regionCode": "510000"}}, at=SUMMARY_OPEN
    ),
    "RequestCertificates": Row(
        "staff",
        lambda s: {"year": 2026},
        at=NOTICE_OVER,
        arrange=_after("DecideCommendations", "FinalizeCommendations"),
    ),
    "RequestActivitySchedule": Row("reviewer", lambda s: {"filter": {"regionCode": "510000"}}),
    "MarkNotificationsRead": Row(
        "filer", lambda s: {"ids": [s["notification"]]}, arrange=_approval_notice
    ),
    "UpdateNotificationPreferences": Row("public", lambda s: {"sms": False}, open_to=SIGNED_IN),
    "CreateApiClient": Row("staff", lambda s: {"name": "四川科普平台", "regionCode": "510000"}),
    "RevokeApiClient": Row("staff", lambda s: {"id": s["portal_client"]}),
    "CreateWebhook": Row(
        "portal",
        # a local address, which the tests' settings allow (nothing is ever sent to it)
        lambda s: {"input": {"url": f"http://{LOCAL_HOOK}/hook", "events": ["ACTIVITY_PUBLISHED"]}},
        open_to=frozenset({"other_portal"}),  # for its own province
    ),
    "RedeliverWebhook": Row(
        "portal", lambda s: {"deliveryId": s["delivery"]}, arrange=_failed_delivery
    ),
}


@pytest.mark.parametrize("operation", sorted(mutations()))
async def test_outsiders_change_nothing_and_the_right_actor_does_it(
    api: Api, scene: Scene, settings, operation: str
):
    """Outsiders (anonymous, a public user, another unit's filer, another province's reviewer and
    portal) try the call and change nothing (their own things aside), meeting no error of ours;
    then the actor it is for makes it, at a time it is open: no error, and a change."""
    settings(
        rate_limit_code_phone="1000/minute",
        rate_limit_code_address="1000/minute",
        webhook_allowed_hosts=(LOCAL_HOOK,),
    )
    row = MATRIX[operation]
    set_now(china(row.at))
    if row.arrange:
        await row.arrange(api, scene)
        set_now(china(row.at))
    attempt = (row.outsiders or row.variables)(scene)

    for actor in OUTSIDERS:
        if actor == row.actor:
            continue
        before = await table_state()
        body = await api.post(mutations()[operation], attempt, token=scene["tokens"][actor])
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
        assert "INTERNAL_SERVER_ERROR" not in codes, (actor, body)
        if actor not in row.open_to:
            assert await table_state() == before, (operation, actor, body)

    before = await table_state()
    await _done(api, scene, operation)
    assert await table_state() != before


def test_every_mutation_of_the_contract_is_in_the_matrix():
    assert set(MATRIX) == set(mutations()), set(mutations()) ^ set(MATRIX)
