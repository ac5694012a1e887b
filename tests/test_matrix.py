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
from collections.abc import Callable
from typing import Any

import pytest

from models import Activity
from models.enums import ActivityStatus, MemberRole, OrganizationKind
from schema.ids import to_global_id
from tests.conftest import Api
from tests.factories import (
    filing_unit,
    make_activity,
    make_campaign,
    member,
    national_organizer,
    person,
    reviewer_of,
    row_counts,
)
from tests.test_contract import client_operations

PENDING = "待审核的秘密活动"
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
    await make_activity(school, campaign, title="公开的活动")
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
        "portal_client": clients["portal"],
        "pending": to_global_id("Activity", pending.id),
        "draft": to_global_id("Activity", draft.id),
        "pending_token": pending.qr_token,
        "tokens": {
            "anonymous": None,
            "public": (await person(api, "13933330001")).token,
            "other_filer": other_filer.token,
            "other_reviewer": qinghai.token,
            "filer": filer.token,
            "reviewer": sichuan.token,
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


# ---------------------------------------------------------------- every mutation, by outsiders

OUTSIDERS = ("anonymous", "public", "other_filer", "other_reviewer", "other_portal")
# Mutations on the caller's own account or unit: an outsider may well change something there.
SELF_SERVICE = {
    "RequestVerificationCode",
    "Register",
    "Login",
    "ResetPassword",
    "ChangePassword",
    "Logout",
    "UpdateProfile",
    "SaveUnitProfile",
    "CreateActivity",
    "MarkNotificationsRead",
    "UpdateNotificationPreferences",
}
MUTATION_VARIABLES: dict[str, Callable[[Scene], dict[str, Any]]] = {
    "RequestVerificationCode": lambda s: {"phone": "13933339999", "purpose": "REGISTER"},
    "Register": lambda s: {
        "input": {
            "phone": "13933339999",
            "code": "000000",
            "password": "Passw0rd1",
            "name": "某人",
            "acceptAgreement": True,
        }
    },
    "Login": lambda s: {"phone": "13933330001", "password": "wrong-pass1"},
    "ResetPassword": lambda s: {
        "input": {"phone": "13933330001", "code": "000000", "newPassword": "Passw0rd2"}
    },
    "ChangePassword": lambda s: {"oldPassword": "wrong-pass1", "newPassword": "Passw0rd2"},
    "UpdateProfile": lambda s: {"input": {"name": "改名"}},
    "SaveUnitProfile": lambda s: {
        "input": {
            "name": "一所学校",
            "kind": "SCHOOL",
            "regionCode": "510104",
            "contactName": "某人",
            "contactPhone": "13933330001",
            "address": "成都",
        }
    },
    "AddMember": lambda s: {"organizationId": s["school"], "phone": "13933330001", "role": "FILER"},
    "CreateActivity": lambda s: {"input": {"title": "x"}},
    "UpdateActivity": lambda s: {"id": s["pending"], "input": {"title": "被外人改过"}},
    "SubmitActivity": lambda s: {"id": s["draft"]},
    "SupplementActivity": lambda s: {
        "id": s["pending"],
        "input": {"newsUrls": ["https://news.example.cn/1"]},
    },
    "SubmitActivitySummary": lambda s: {
        "id": s["pending"],
        "input": {"text": "外人写的总结", "participantCount": 1},
    },
    "DeleteActivity": lambda s: {"id": s["pending"]},
    "CheckIn": lambda s: {"activityId": s["pending"], "clientNonce": "matrix-nonce-1"},
    "SetLike": lambda s: {"activityId": s["pending"], "liked": True},
    "SetFavorite": lambda s: {"activityId": s["pending"], "favorite": True},
    "AddComment": lambda s: {"activityId": s["pending"], "body": "外人的评论"},
    "RateActivity": lambda s: {"activityId": s["pending"], "score": 5},
    "ReviewActivity": lambda s: {"id": s["pending"], "decision": "APPROVE"},
    "Recommend": lambda s: {
        "input": {
            "campaignId": s["campaign"],
            "targetKind": "ACTIVITY",
            "activityId": s["pending"],
            "reason": "推荐理由",
        }
    },
    "WithdrawRecommendation": lambda s: {"id": to_global_id("Recommendation", 1)},
    "ScoreIndicator": lambda s: {
        "input": {
            "year": 2026,
            "organizationId": s["school"],
            "indicator": "PUBLICITY",
            "score": 99,
        }
    },
    "DecideCommendations": lambda s: {"input": {"year": 2026, "unitIds": [], "activityIds": []}},
    "RaiseObjection": lambda s: {
        "commendationId": to_global_id("Commendation", 1),
        "reason": "异议",
    },
    "RemoveCommendation": lambda s: {"id": to_global_id("Commendation", 1), "reason": "撤销"},
    "FinalizeCommendations": lambda s: {"year": 2026},
    "RequestActivitySummaryPdf": lambda s: {"activityId": s["pending"]},
    "RequestSummaryReport": lambda s: {"input": {"year": 2026, "regionCode": "510000"}},
    "RequestCertificates": lambda s: {"year": 2026},
    "RequestActivitySchedule": lambda s: {"filter": {"regionCode": "510000"}},
    "MarkNotificationsRead": lambda s: {"ids": [to_global_id("Notification", 1)]},
    "CreateApiClient": lambda s: {"name": "外人的平台", "regionCode": "510000"},
    "RevokeApiClient": lambda s: {"id": s["portal_client"]},
    "CreateWebhook": lambda s: {
        # a documentation address: refused before any connection or name lookup
        "input": {"url": "http://203.0.113.10/hook", "events": ["ACTIVITY_PUBLISHED"]}
    },
    "RedeliverWebhook": lambda s: {"deliveryId": to_global_id("WebhookDelivery", 1)},
}


def mutations() -> dict[str, str]:
    return {name: text for name, text in client_operations().items() if text.startswith("mutation")}


@pytest.mark.parametrize("operation", sorted(mutations()))
async def test_no_outsider_changes_what_is_not_theirs(
    api: Api, scene: Scene, settings, operation: str
):
    """Outsiders (anonymous, a public user, another unit's filer, another province's reviewer and
    portal) calling any mutation on the school's activities, unit or season change nothing
    (their own account and unit aside), and meet no error of ours."""
    settings(rate_limit_code_phone="1000/minute", rate_limit_code_address="1000/minute")
    document = mutations()[operation]
    variables = MUTATION_VARIABLES.get(operation, lambda s: {})(scene)

    for actor in OUTSIDERS:
        before = await row_counts()
        body = await api.post(document, variables, token=scene["tokens"][actor])
        codes = [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
        assert "INTERNAL_SERVER_ERROR" not in codes, (actor, body)
        if operation not in SELF_SERVICE:
            assert await row_counts() == before, (operation, actor, body)
    text = json.dumps(await api.data("{ __typename }"), ensure_ascii=False)
    assert "被外人改过" not in text
    assert (await Activity.get(title=PENDING)).status is ActivityStatus.PENDING_REVIEW


def test_every_mutation_of_the_contract_is_in_the_matrix():
    needs = {name for name, text in mutations().items() if "!" in text.split("{", 1)[0]}

    assert needs <= set(MUTATION_VARIABLES), needs - set(MUTATION_VARIABLES)
