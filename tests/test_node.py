"""`node(id:)` and `nodes(ids:)`: every type with an ID, each seen by exactly whom its own query
shows it to (the matrix's scene and actors; objects made by the matrix's own calls)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import pytest

from models import (
    Booking,
    BookingSlot,
    Campaign,
    CheckIn,
    CheckInDevice,
    Commendation,
    Comment,
    Document,
    EngagementFlag,
    Invitation,
    JointAction,
    Notification,
    Objection,
    Recommendation,
    RouteStop,
    ScienceRoute,
    User,
    Volunteer,
    Webhook,
    WebhookDelivery,
)
from schema.ids import decode_global_id, to_global_id
from schema.node import MODELS
from tests.conftest import Api, china, set_now
from tests.test_matrix import (
    ACTORS,
    ON_NOTICE,
    Arrangement,
    Scene,
    _after,
    _failed_delivery,
)
from tests.test_matrix import scene as matrix_scene  # noqa: F401 (the `scene` fixture)

NODE = "query($id: ID!) { node(id: $id) { id __typename } }"
EVERYONE = frozenset({*ACTORS, "staff", "association_admin"})


def _newest(model: type[Any], kind: str) -> Callable[[Scene], Any]:
    async def newest(scene: Scene) -> str:
        row = await model.all().order_by("-id").first()
        return to_global_id(kind, row.id)

    return newest


def _given(key: str) -> Callable[[Scene], Any]:
    async def given(scene: Scene) -> str:
        return scene[key]

    return given


async def _joint_action(api: Api, scene: Scene) -> None:
    campaign = await Campaign.get(year=2026)
    await JointAction.create(campaign=campaign, name="科普进校园", lead_units=["教育部"])


async def _device(api: Api, scene: Scene) -> None:
    school = decode_global_id(scene["school"])
    assert school is not None
    await CheckInDevice.create(organization_id=school[1], name="大篷车平板", token_hash="0" * 64)


async def _booking(api: Api, scene: Scene) -> None:
    activity, person = decode_global_id(scene["public"]), decode_global_id(scene["public_user"])
    assert activity is not None and person is not None
    slot = await BookingSlot.create(
        activity_id=activity[1],
        starts_at=china("2026-09-20 09:00"),
        ends_at=china("2026-09-20 12:00"),
        capacity=5,
        booked=1,
    )
    await Booking.create(
        slot=slot,
        activity_id=activity[1],
        user_id=person[1],
        status="BOOKED",
        queued_at=china("2026-09-10 09:00"),
    )


async def _route(api: Api, scene: Scene) -> None:
    activity = decode_global_id(scene["public"])
    assert activity is not None
    route = await ScienceRoute.create(
        region_id="510100",
        province_code="510000",
        prefecture_code="510100",
        name="路线",
        description="介绍",
        valid_from=date(2026, 9, 1),
        valid_until=date(2026, 9, 30),
    )
    await RouteStop.create(route=route, activity_id=activity[1], position=1)


async def _volunteer(api: Api, scene: Scene) -> None:
    activity, person = decode_global_id(scene["public"]), decode_global_id(scene["public_user"])
    assert activity is not None and person is not None
    user = await User.get(id=person[1])
    await Volunteer.create(
        activity_id=activity[1], user_id=user.id, phone=user.phone, name="志愿者"
    )


async def _flag(api: Api, scene: Scene) -> None:
    activity = decode_global_id(scene["public"])
    assert activity is not None
    await EngagementFlag.create(activity_id=activity[1], rule="SOURCE_BURST", reason="测试")


@dataclass(frozen=True)
class Case:
    """An object of a type: how it is made, its ID, and who may see it: a set, or whoever the
    type's own query (document, variables) shows its ID to."""

    object_id: Callable[[Scene], Any]
    arrange: Arrangement | None = None
    seen_by: frozenset[str] | None = None
    own: tuple[str, Callable[[Scene, str], dict[str, Any]] | None] | None = None
    # whether the own query's answer shows the object (by default: its ID is in it, no error)
    shows: Callable[[dict[str, Any], str], bool] = lambda body, object_id: (
        object_id in json.dumps(body) and not body.get("errors")
    )


CASES: dict[str, Case] = {
    "Activity": Case(
        _given("draft"),
        own=("query($id: ID!) { activity(id: $id) { id } }", lambda s, i: {"id": i}),
    ),
    "Campaign": Case(_given("campaign"), seen_by=EVERYONE),
    "JointAction": Case(_newest(JointAction, "JointAction"), _joint_action, seen_by=EVERYONE),
    "Organization": Case(_given("school"), seen_by=EVERYONE),
    "User": Case(_given("public_user"), own=("{ me { id } }", lambda s, i: {})),
    "CheckIn": Case(_newest(CheckIn, "CheckIn"), _after("CheckIn"), seen_by=frozenset({"public"})),
    # the unit's admins and filers, as checkInDevices lists them
    "CheckInDevice": Case(
        _newest(CheckInDevice, "CheckInDevice"), _device, seen_by=frozenset({"filer"})
    ),
    # the reviewers of the activity's supervising unit and national staff, as their queue shows
    "EngagementFlag": Case(
        _newest(EngagementFlag, "EngagementFlag"),
        _flag,
        own=("{ engagementFlags(first: 50) { edges { node { id } } } }", None),
    ),
    # the person's own, and the activity's unit, reviewers and staff (as activityBookings lists)
    "Booking": Case(
        _newest(Booking, "Booking"),
        _booking,
        seen_by=frozenset({"public", "filer", "reviewer", "staff", "association_admin"}),
    ),
    "BookingSlot": Case(_newest(BookingSlot, "BookingSlot"), _booking, seen_by=EVERYONE),
    # the volunteer, and whoever sees the unit's volunteerHours (its members, the associations
    # over it, national staff)
    "Volunteer": Case(
        _newest(Volunteer, "Volunteer"),
        _volunteer,
        seen_by=frozenset({"public", "filer", "reviewer", "staff", "association_admin"}),
    ),
    "ScienceRoute": Case(_newest(ScienceRoute, "ScienceRoute"), _route, seen_by=EVERYONE),
    "Comment": Case(
        _newest(Comment, "Comment"),
        _after("AddComment"),
        own=(
            "query($a: ID!) { comments(activityId: $a, first: 50) { edges { node { id } } } }",
            lambda s, i: {"a": s["public"]},
        ),
    ),
    "Recommendation": Case(
        _newest(Recommendation, "Recommendation"),
        _after("SubmitActivitySummary", "Recommend"),
        own=("{ recommendations(year: 2026, first: 50) { edges { node { id } } } }", None),
    ),
    "Commendation": Case(
        _newest(Commendation, "Commendation"),
        _after("DecideCommendations"),
        own=("{ commendations(year: 2026, first: 50) { edges { node { id } } } }", None),
    ),
    "Objection": Case(
        _newest(Objection, "Objection"),
        _after("DecideCommendations", "RaiseObjection"),
        own=(
            "{ commendations(year: 2026, first: 50) { edges { node { objections { id } } } } }",
            None,
        ),
    ),
    "Document": Case(
        _newest(Document, "Document"),
        _after("SubmitActivitySummary", "RequestActivitySummaryPdf"),
        own=("query($id: ID!) { document(id: $id) { id } }", lambda s, i: {"id": i}),
    ),
    "Notification": Case(
        _newest(Notification, "Notification"),
        _after("ReviewActivity"),
        own=("{ notifications(first: 50) { edges { node { id } } } }", None),
    ),
    # the invitee's (as myInvitations), and the unit's admins' and national admins', who sent it
    "Invitation": Case(
        _newest(Invitation, "Invitation"),
        _after("AddMember"),
        seen_by=frozenset({"public", "filer", "staff"}),
    ),
    "ApiClient": Case(_given("portal_client"), seen_by=frozenset({"portal", "staff"})),
    "Webhook": Case(
        _newest(Webhook, "Webhook"),
        _after("CreateWebhook"),
        own=(
            "query($w: ID!) { webhookDeliveries(webhookId: $w) { totalCount } }",
            lambda s, i: {"w": i},
        ),
        shows=lambda body, object_id: not body.get("errors"),  # its deliveries: it is theirs
    ),
    "WebhookDelivery": Case(
        _newest(WebhookDelivery, "WebhookDelivery"),
        _failed_delivery,
        own=(
            "query($w: ID!) { webhookDeliveries(webhookId: $w) { edges { node { id } } } }",
            lambda s, i: {"w": s["webhook"]},
        ),
    ),
}


def test_every_node_type_is_in_the_table():
    assert set(CASES) == set(MODELS)


@pytest.mark.parametrize("kind", sorted(CASES))
async def test_node_shows_an_object_to_whom_its_own_query_does(
    api: Api,
    matrix_scene: Scene,  # noqa: F811 (the fixture)
    settings,
    kind: str,
):
    scene = matrix_scene
    settings(webhook_allowed_hosts=("127.0.0.1:9",))
    case = CASES[kind]
    scene["public_user"] = (await api.data("{ me { id } }", token=scene["tokens"]["public"]))["me"][
        "id"
    ]
    if case.arrange:
        await case.arrange(api, scene)
    set_now(china(ON_NOTICE if kind in ("Commendation", "Objection") else "2026-10-12 10:00"))
    object_id = await case.object_id(scene)
    if kind == "WebhookDelivery":
        scene["webhook"] = _newest(Webhook, "Webhook")
        scene["webhook"] = await scene["webhook"](scene)

    by_node, by_query = set(), set()
    for actor, token in scene["tokens"].items():
        found = (await api.post(NODE, {"id": object_id}, token=token))["data"]["node"]
        if found is not None:
            assert found == {"id": object_id, "__typename": kind}
            by_node.add(actor)
        if case.own is not None:
            document, variables = case.own
            body = await api.post(
                document, variables(scene, object_id) if variables else {}, token=token
            )
            if case.shows(body, object_id):
                by_query.add(actor)

    expected = case.seen_by if case.seen_by is not None else by_query
    assert by_node == expected, (kind, by_node, expected)
    assert by_node, kind  # somebody sees it: the case is not trivially empty


async def test_nodes_answers_in_order_with_null_for_what_is_not_there(
    api: Api,
    matrix_scene: Scene,  # noqa: F811 (the fixture)
):
    scene = matrix_scene
    malformed = [
        "",
        "QWN0aXZpdHk6MDE=",
        to_global_id("Nothing", 1),
        to_global_id("Activity", 10**9),
    ]
    ids = [scene["public"], scene["draft"], *malformed, scene["campaign"]]

    found = (
        await api.data(
            "query($ids: [ID!]!) { nodes(ids: $ids) { id } }",
            {"ids": ids},
            token=scene["tokens"]["public"],
        )
    )["nodes"]
    too_many = await api.post(
        "query($ids: [ID!]!) { nodes(ids: $ids) { id } }", {"ids": [scene["public"]] * 101}
    )

    assert found == [
        {"id": scene["public"]},
        None,
        None,
        None,
        None,
        None,
        {"id": scene["campaign"]},
    ]
    assert too_many["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
