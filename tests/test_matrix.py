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
    portals = {}
    for name, region in (("portal", "510000"), ("other_portal", "440000")):
        made = await api.data(
            "mutation($n: String!, $r: String!) { createApiClient(name: $n, regionCode: $r) "
            "{ token errors { code } } }",
            {"n": name, "r": region},
            token=staff.token,
        )
        portals[name] = made["createApiClient"]["token"]
    return {
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
