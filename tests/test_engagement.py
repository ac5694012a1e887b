"""Public engagement through the GraphQL API: check-ins, likes, favourites, ratings, comments;
exact counts under concurrency, after a flush and after a crash between flush steps."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from itertools import chain

import pytest
from tortoise.exceptions import IntegrityError

from models import ActivityStats, Campaign, CheckIn, Comment, CommentModeration, Like, Organization
from models.enums import ActivityStatus, MemberRole
from schema.ids import to_global_id
from services.counters import FIELDS, SOURCE_BY_MODEL, guard_key, live_key
from tests.conftest import Api, china, set_now
from tests.factories import (
    filing_unit,
    make_activity,
    make_campaign,
    member,
    national_organizer,
    person,
)
from tests.test_browsing import count_queries

CHECK_IN = """
mutation($a: ID!, $nonce: String!, $qr: String) {
  checkIn(activityId: $a, clientNonce: $nonce, qrToken: $qr) {
    checkIn { id createdAt } engagement { checkIns } errors { field code message }
  }
}
"""
LIKE = """
mutation($a: ID!, $on: Boolean!) {
  setLike(activityId: $a, liked: $on) { engagement { likes } errors { code message } }
}
"""
FAVORITE = """
mutation($a: ID!, $on: Boolean!) {
  setFavorite(activityId: $a, favorite: $on) { engagement { favorites } errors { code } }
}
"""
RATE = """
mutation($a: ID!, $score: Int!, $feedback: String) {
  rateActivity(activityId: $a, score: $score, feedback: $feedback) {
    engagement { ratingAverage } errors { field code }
  }
}
"""
COMMENT = """
mutation($a: ID!, $body: String!) {
  addComment(activityId: $a, body: $body) {
    comment { id body createdAt author { name } } errors { field code message }
  }
}
"""
COMMENTS = """
query($a: ID!, $first: Int, $after: String) {
  comments(activityId: $a, first: $first, after: $after) {
    edges { cursor node { id body author { name } } } pageInfo { hasNextPage endCursor }
  }
}
"""
ENGAGEMENT = """
query($a: ID!) {
  activity(id: $a) {
    engagement { checkIns likes comments favorites ratingAverage }
    viewer { checkedIn liked favorited rating }
  }
}
"""
MINE = """
query { me {
  participatedActivities(first: 10) { edges { node { id title } } totalCount }
  likedActivities(first: 10) { edges { node { id title } } totalCount }
  favoriteActivities(first: 10) { edges { node { id title } } totalCount }
} }
"""
HIDE = 'mutation($id: ID!) { hideComment(id: $id, reason: "广告") { ok errors { code } } }'


def codes(payload: dict) -> list[str]:
    return [e["code"] for e in payload["errors"]]


@pytest.fixture
async def happening(api: Api):
    """An approved three-day activity in Chengdu; it is its first afternoon."""
    campaign = await make_campaign()
    unit, _ = await filing_unit(api)
    activity = await make_activity(
        unit,
        campaign,
        starts_at="2026-09-20 09:00",
        ends_at="2026-09-22 17:00",
        title="三天的科普展",
    )
    set_now(china("2026-09-20 15:00"))
    return {
        "activity": activity,
        "id": to_global_id("Activity", activity.id),
        "public": await person(api, "13922220001", "李四"),
    }


async def engagement_of(api: Api, activity_id: str, token: str | None = None) -> dict:
    return (await api.data(ENGAGEMENT, {"a": activity_id}, token=token))["activity"]


async def test_a_check_in_counts_once_and_a_retry_returns_it(api: Api, happening):
    token, activity_id = happening["public"].token, happening["id"]

    first = (await api.data(CHECK_IN, {"a": activity_id, "nonce": "nonce-0001"}, token=token))[
        "checkIn"
    ]
    retry = (await api.data(CHECK_IN, {"a": activity_id, "nonce": "nonce-0001"}, token=token))[
        "checkIn"
    ]
    again = (await api.data(CHECK_IN, {"a": activity_id, "nonce": "nonce-0002"}, token=token))[
        "checkIn"
    ]

    assert first["errors"] == [] and first["engagement"] == {"checkIns": 1}
    assert retry["checkIn"]["id"] == first["checkIn"]["id"]
    assert retry["engagement"] == {"checkIns": 1}
    assert codes(again) == ["ALREADY_CHECKED_IN"]
    assert await CheckIn.all().count() == 1
    view = await engagement_of(api, activity_id, token)
    assert view["viewer"]["checkedIn"] is True
    mine = (await api.data(MINE, token=token))["me"]["participatedActivities"]
    assert mine["totalCount"] == 1 and mine["edges"][0]["node"]["title"] == "三天的科普展"


async def test_one_check_in_a_day(api: Api, happening):
    token, activity_id = happening["public"].token, happening["id"]
    await api.data(CHECK_IN, {"a": activity_id, "nonce": "day-one-01"}, token=token)
    set_now(china("2026-09-21 10:00"))

    next_day = (await api.data(CHECK_IN, {"a": activity_id, "nonce": "day-two-01"}, token=token))[
        "checkIn"
    ]

    assert next_day["engagement"] == {"checkIns": 2}
    mine = (await api.data(MINE, token=token))["me"]["participatedActivities"]
    assert mine["totalCount"] == 1


async def test_check_ins_that_count_only_during_the_activity(api: Api, happening):
    token, activity_id = happening["public"].token, happening["id"]

    set_now(china("2026-09-20 07:59"))
    early = (await api.data(CHECK_IN, {"a": activity_id, "nonce": "too-early-1"}, token=token))[
        "checkIn"
    ]
    set_now(china("2026-09-20 08:01"))
    margin = (await api.data(CHECK_IN, {"a": activity_id, "nonce": "in-margin-1"}, token=token))[
        "checkIn"
    ]
    set_now(china("2026-09-22 18:01"))
    late = (await api.data(CHECK_IN, {"a": activity_id, "nonce": "too-late-01"}, token=token))[
        "checkIn"
    ]

    assert codes(early) == ["CHECK_IN_CLOSED"]
    assert "2026-09-20 08:00" in early["errors"][0]["message"]
    assert margin["errors"] == []
    assert codes(late) == ["CHECK_IN_CLOSED"]


async def test_check_in_refusals(api: Api, happening):
    token, activity_id = happening["public"].token, happening["id"]
    wrong_qr = (
        await api.data(
            CHECK_IN, {"a": activity_id, "nonce": "nonce-qr-1", "qr": "ABCDEFGHJKMN"}, token=token
        )
    )["checkIn"]
    short_nonce = (await api.data(CHECK_IN, {"a": activity_id, "nonce": "x"}, token=token))[
        "checkIn"
    ]
    anonymous = await api.post(CHECK_IN, {"a": activity_id, "nonce": "anon-nonce"})
    bad_id = (await api.data(CHECK_IN, {"a": "bm9wZQ==", "nonce": "nonce-bad-1"}, token=token))[
        "checkIn"
    ]
    right_qr = (
        await api.data(
            CHECK_IN,
            {"a": activity_id, "nonce": "nonce-qr-2", "qr": happening["activity"].qr_token.lower()},
            token=token,
        )
    )["checkIn"]

    assert codes(wrong_qr) == ["INVALID_QR"]
    assert codes(short_nonce) == ["INVALID"]
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert codes(bad_id) == ["INVALID"]
    assert right_qr["errors"] == []


async def test_only_approved_activities_take_engagement(api: Api, happening):
    activity = happening["activity"]
    activity.status = ActivityStatus.PENDING_REVIEW
    await activity.save()
    token, activity_id = happening["public"].token, happening["id"]

    check_in = (await api.data(CHECK_IN, {"a": activity_id, "nonce": "pending-01"}, token=token))[
        "checkIn"
    ]
    like = (await api.data(LIKE, {"a": activity_id, "on": True}, token=token))["setLike"]

    assert codes(check_in) == codes(like) == ["NOT_FOUND"]  # as for an id that does not exist
    assert await CheckIn.all().count() == await Like.all().count() == 0


async def test_concurrent_check_ins_never_duplicate(api: Api, happening):
    token, activity_id = happening["public"].token, happening["id"]
    others = [await person(api, f"139333{i:05d}") for i in range(15)]

    same_nonce = await asyncio.gather(
        *[
            api.data(CHECK_IN, {"a": activity_id, "nonce": "same-nonce-1"}, token=token)
            for _ in range(10)
        ]
    )
    other_nonces = await asyncio.gather(
        *[
            api.data(CHECK_IN, {"a": activity_id, "nonce": f"other-nonce-{i}"}, token=token)
            for i in range(10)
        ]
    )
    many_people = await asyncio.gather(
        *[
            api.data(CHECK_IN, {"a": activity_id, "nonce": f"people-{i:04d}"}, token=p.token)
            for i, p in enumerate(others)
        ]
    )

    ids = {r["checkIn"]["checkIn"]["id"] for r in same_nonce}
    assert len(ids) == 1
    assert all(codes(r["checkIn"]) == ["ALREADY_CHECKED_IN"] for r in other_nonces)
    assert all(r["checkIn"]["errors"] == [] for r in many_people)
    assert await CheckIn.all().count() == 16
    assert (await engagement_of(api, activity_id))["engagement"]["checkIns"] == 16


async def test_likes_and_favourites_are_idempotent_toggles(api: Api, happening):
    token, activity_id = happening["public"].token, happening["id"]

    on = [
        (await api.data(LIKE, {"a": activity_id, "on": True}, token=token))["setLike"]
        for _ in range(2)
    ]
    off = (await api.data(LIKE, {"a": activity_id, "on": False}, token=token))["setLike"]
    off_again = (await api.data(LIKE, {"a": activity_id, "on": False}, token=token))["setLike"]
    await api.data(LIKE, {"a": activity_id, "on": True}, token=token)
    favorite = (await api.data(FAVORITE, {"a": activity_id, "on": True}, token=token))[
        "setFavorite"
    ]

    assert [r["engagement"]["likes"] for r in on] == [1, 1]
    assert off["engagement"]["likes"] == 0 and off_again["engagement"]["likes"] == 0
    assert favorite["engagement"]["favorites"] == 1
    view = await engagement_of(api, activity_id, token)
    assert view["engagement"]["likes"] == 1
    assert view["viewer"] == {"checkedIn": False, "liked": True, "favorited": True, "rating": None}
    mine = (await api.data(MINE, token=token))["me"]
    assert mine["likedActivities"]["totalCount"] == mine["favoriteActivities"]["totalCount"] == 1


async def test_concurrent_toggles_by_many_people_count_exactly(api: Api, happening):
    activity_id = happening["id"]
    people = [await person(api, f"139444{i:05d}") for i in range(20)]

    await asyncio.gather(
        *[
            api.data(LIKE, {"a": activity_id, "on": True}, token=p.token)
            for p in people
            for _ in range(2)
        ]
    )
    await asyncio.gather(
        *[api.data(LIKE, {"a": activity_id, "on": False}, token=p.token) for p in people[:5]]
    )

    assert (await engagement_of(api, activity_id))["engagement"]["likes"] == 15
    assert await Like.filter(liked=True).count() - await Like.filter(liked=False).count() == 15


async def test_a_new_rating_replaces_the_old(api: Api, happening):
    activity_id = happening["id"]
    first, second = happening["public"], await person(api, "13922220002")

    await api.data(RATE, {"a": activity_id, "score": 5}, token=first.token)
    replaced = (
        await api.data(
            RATE, {"a": activity_id, "score": 3, "feedback": "<b>还行</b>"}, token=first.token
        )
    )["rateActivity"]
    both = (await api.data(RATE, {"a": activity_id, "score": 4}, token=second.token))[
        "rateActivity"
    ]
    bad = (await api.data(RATE, {"a": activity_id, "score": 6}, token=second.token))["rateActivity"]

    assert replaced["engagement"]["ratingAverage"] == 3.0
    assert both["engagement"]["ratingAverage"] == 3.5
    assert codes(bad) == ["INVALID"]
    assert (await engagement_of(api, activity_id, first.token))["viewer"]["rating"] == 3


async def test_comments_are_kept_as_written_checked_and_paged_newest_first(
    api: Api, happening, settings
):
    settings(blocked_words=("赌博",))
    token, activity_id = happening["public"].token, happening["id"]

    posted = [
        (
            await api.data(
                COMMENT, {"a": activity_id, "body": f"<script>x</script>第{i}条 评论"}, token=token
            )
        )["addComment"]
        for i in range(3)
    ]
    blocked = (await api.data(COMMENT, {"a": activity_id, "body": "网上赌博"}, token=token))[
        "addComment"
    ]
    too_long = (await api.data(COMMENT, {"a": activity_id, "body": "长" * 501}, token=token))[
        "addComment"
    ]
    empty = (
        await api.data(COMMENT, {"a": activity_id, "body": " \u202e\u2066 \x07"}, token=token)
    )["addComment"]

    assert posted[0]["comment"]["body"] == "<script>x</script>第0条 评论"  # shown escaped
    assert posted[0]["comment"]["author"] == {"name": "李四"}
    assert codes(blocked) == ["COMMENT_BLOCKED"]
    assert codes(too_long) == codes(empty) == ["INVALID"]
    page = (await api.data(COMMENTS, {"a": activity_id, "first": 2}))["comments"]
    rest = (
        await api.data(
            COMMENTS, {"a": activity_id, "first": 2, "after": page["pageInfo"]["endCursor"]}
        )
    )["comments"]
    assert [e["node"]["body"] for e in page["edges"] + rest["edges"]] == [
        "<script>x</script>第2条 评论",
        "<script>x</script>第1条 评论",
        "<script>x</script>第0条 评论",
    ]
    assert (await engagement_of(api, activity_id))["engagement"]["comments"] == 3


async def test_staff_hide_comments_and_the_count_drops_once(api: Api, happening):
    token, activity_id = happening["public"].token, happening["id"]
    comment = (await api.data(COMMENT, {"a": activity_id, "body": "广告：加微信"}, token=token))[
        "addComment"
    ]["comment"]
    staff = await member(api, "13922229999", await national_organizer(), MemberRole.REVIEWER)

    refused = await api.post(HIDE, {"id": comment["id"]}, token=token)
    hidden = [
        (await api.data(HIDE, {"id": comment["id"]}, token=staff.token))["hideComment"]
        for _ in range(2)
    ]

    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert hidden == [{"ok": True, "errors": []}] * 2
    assert (await api.data(COMMENTS, {"a": activity_id}))["comments"]["edges"] == []
    assert (await engagement_of(api, activity_id))["engagement"]["comments"] == 0
    assert (await Comment.get()).hidden_at is not None


async def test_engagement_is_rate_limited_per_account(api: Api, happening, settings):
    settings(rate_limit_engage_account="3/minute")
    token, activity_id = happening["public"].token, happening["id"]

    results = [
        (await api.data(LIKE, {"a": activity_id, "on": i % 2 == 0}, token=token))["setLike"]
        for i in range(4)
    ]

    assert [codes(r) for r in results[:3]] == [[], [], []]
    assert codes(results[3]) == ["RATE_LIMITED"]
    assert "秒后重试" in results[3]["errors"][0]["message"]


async def test_engagement_is_rate_limited_per_address(api: Api, happening, settings):
    settings(rate_limit_engage_address="2/minute")
    activity_id = happening["id"]
    people = [await person(api, f"139555{i:05d}") for i in range(3)]

    results = [
        (await api.data(LIKE, {"a": activity_id, "on": True}, token=p.token))["setLike"]
        for p in people
    ]

    assert codes(results[2]) == ["RATE_LIMITED"]


async def test_a_refused_request_costs_the_database_nothing(api: Api, happening, settings):
    """Over the limit, made-up activity ids (each a cache miss) reach no query."""
    settings(rate_limit_engage_account="1/minute")
    token = happening["public"].token
    await api.data("query { me { id } }", token=token)  # the session is kept from now on
    first = await api.data(LIKE, {"a": to_global_id("Activity", 999001), "on": True}, token=token)

    with count_queries() as seen:
        refused = (
            await api.data(LIKE, {"a": to_global_id("Activity", 999002), "on": True}, token=token)
        )["setLike"]

    assert codes(first["setLike"]) == ["NOT_FOUND"]
    assert codes(refused) == ["RATE_LIMITED"]
    assert seen == []


async def test_one_check_in_is_one_insert_and_no_update(api: Api, happening):
    token, activity_id = happening["public"].token, happening["id"]
    await api.data(ENGAGEMENT, {"a": activity_id})  # warm the counters

    with count_queries() as seen:
        result = (
            await api.data(CHECK_IN, {"a": activity_id, "nonce": "counted-one"}, token=token)
        )["checkIn"]

    assert result["errors"] == []
    writes = [q for q in seen if not q.lstrip().upper().startswith("SELECT")]
    assert len(writes) == 1 and writes[0].lstrip().upper().startswith('INSERT INTO "CHECK_INS"')


async def test_a_like_is_one_statement_whatever_the_state(api: Api, happening):
    """The person's latest state is read by the statement that writes the next one: a like, a
    like again (nothing to change) and an unlike are one statement each, and only the two
    changes write a row."""
    token, activity_id = happening["public"].token, happening["id"]
    await api.data("query { me { id } }", token=token)  # the session is kept from now on
    await api.data(ENGAGEMENT, {"a": activity_id})  # warm the counters

    statements, likes = [], []
    for on in (True, True, False):
        with count_queries() as seen:
            result = (await api.data(LIKE, {"a": activity_id, "on": on}, token=token))["setLike"]
        statements.append(seen)
        likes.append(result["engagement"]["likes"])

    assert likes == [1, 1, 0]
    on_likes = [[q for q in seen if "likes" in q] for seen in statements]
    assert [len(qs) for qs in on_likes] == [1, 1, 1]
    assert all(qs[0].lstrip().upper().startswith("INSERT INTO LIKES") for qs in on_likes)
    # the activity's columns are read by the first only (this process keeps them a while)
    assert [len(seen) for seen in statements] == [2, 1, 1]
    assert await Like.filter(activity_id=happening["activity"].id).count() == 2


async def test_a_burst_on_a_cold_activity_reads_it_and_its_counts_once(api: Api, happening):
    """The first scans of an activity arrive together: one read of its row and one of its counts
    serve them all (this process had neither: no cache, no live hash)."""
    activity_id = happening["id"]
    people = [await person(api, f"139777{i:05d}") for i in range(12)]

    with count_queries() as seen:
        results = await asyncio.gather(
            *[
                api.data(CHECK_IN, {"a": activity_id, "nonce": f"burst-{i:05d}"}, token=p.token)
                for i, p in enumerate(people)
            ]
        )

    assert all(r["checkIn"]["errors"] == [] for r in results)
    assert sorted(r["checkIn"]["engagement"]["checkIns"] for r in results)[-1] == 12
    activity_reads = [q for q in seen if 'FROM "activities"' in q]
    count_reads = [q for q in seen if "activity_stats" in q]
    assert (len(activity_reads), len(count_reads)) == (1, 1)


async def test_a_burst_over_several_cold_activities_reads_their_rows_once(api: Api, happening):
    """Likes spread over activities this process has not read: one query for all their rows."""
    campaign, unit = happening["activity"].campaign_id, happening["activity"].organization_id
    others = [
        await make_activity(
            await Organization.get(id=unit),
            await Campaign.get(id=campaign),
            starts_at="2026-09-20 09:00",
            ends_at="2026-09-22 17:00",
            title=f"另一场科普展{i}",
        )
        for i in range(4)
    ]
    token = happening["public"].token
    await api.data("query { me { id } }", token=token)  # the session is kept from now on

    with count_queries() as seen:
        results = await asyncio.gather(
            *[
                api.data(LIKE, {"a": to_global_id("Activity", a.id), "on": True}, token=token)
                for a in others
            ]
        )

    assert all(r["setLike"]["errors"] == [] for r in results)
    assert len([q for q in seen if 'FROM "activities"' in q]) == 1


async def test_concurrent_check_ins_and_likes_share_their_statements(api: Api, happening):
    """Requests that reach the database together are written together: fewer statements than
    requests, and each still gets its own row and exact counts."""
    activity_id = happening["id"]
    people = [await person(api, f"139888{i:05d}") for i in range(12)]
    await api.data(ENGAGEMENT, {"a": activity_id})  # warm the counters

    with count_queries() as seen:
        checked = await asyncio.gather(
            *[
                api.data(CHECK_IN, {"a": activity_id, "nonce": f"share-{i:05d}"}, token=p.token)
                for i, p in enumerate(people)
            ]
        )
        liked = await asyncio.gather(
            *[api.data(LIKE, {"a": activity_id, "on": True}, token=p.token) for p in people]
        )

    check_in_inserts = [q for q in seen if q.lstrip().upper().startswith('INSERT INTO "CHECK_INS"')]
    like_inserts = [q for q in seen if q.lstrip().upper().startswith("INSERT INTO LIKES")]
    assert 1 <= len(check_in_inserts) < len(people)
    assert 1 <= len(like_inserts) < len(people)
    assert len({r["checkIn"]["checkIn"]["id"] for r in checked}) == len(people)
    assert sorted(r["checkIn"]["engagement"]["checkIns"] for r in checked) == list(range(1, 13))
    assert sorted(r["setLike"]["engagement"]["likes"] for r in liked) == list(range(1, 13))
    assert await CheckIn.filter(activity_id=happening["activity"].id).count() == 12
    assert await Like.filter(activity_id=happening["activity"].id, liked=True).count() == 12


async def test_a_shared_toggle_that_meets_another_process_is_done_one_by_one(
    api: Api, happening, monkeypatch
):
    """When another process takes a place in a person's sequence while a shared statement runs,
    the statement fails as a whole and each toggle of it is made alone (none lost). The batch is
    handed to the toggles as the batcher would hand it (whether concurrent requests meet in one
    batch depends on the machine's timing; `test_batching` covers how they meet)."""
    from services import engagement

    activity = happening["activity"]
    people = [(await person(api, f"139999{i:05d}")).user for i in range(6)]
    raced = []
    real = engagement._next_states

    def racing(model, attr, size):
        statement = real(model, attr, size)

        class Raced:
            async def rows(self, **values):
                raced.append(size)
                await Like.create(activity_id=values["a0"], user_id=values["u0"], seq=1, liked=True)
                return await statement.rows(**values)

        return Raced()

    monkeypatch.setattr(engagement, "_next_states", racing)

    results = await engagement._TOGGLES[Like].run([(activity.id, p.id, True) for p in people])

    assert raced == [6]  # the shared statement ran, and met the other process
    assert results[0] is None  # the other process had already liked it for the first person
    assert all(isinstance(r, int) for r in results[1:])
    likes = await Like.filter(activity_id=activity.id, liked=True).values_list("user_id", flat=True)
    assert sorted(likes) == sorted(p.id for p in people)


async def test_a_check_in_that_cannot_be_written_fails_alone(api: Api, happening):
    """One row of a shared statement that breaks a foreign key (its activity deleted since it
    was read) fails its own request only: the others of the statement are written."""
    from infra.clock import today
    from services import engagement

    def wanted(activity_id: int, user_id: int, nonce: str) -> CheckIn:
        return CheckIn(
            activity_id=activity_id,
            user_id=user_id,
            day=today(),
            client_nonce=nonce,
            created_at=happening["activity"].starts_at,
        )

    people = [await person(api, f"139666{i:05d}") for i in range(3)]
    gone, *kept = await asyncio.gather(
        engagement._check_ins(wanted(999_999, people[0].user.id, "gone-0001")),
        *[
            engagement._check_ins(wanted(happening["activity"].id, p.user.id, f"kept-{i:04d}"))
            for i, p in enumerate(people[1:])
        ],
        return_exceptions=True,
    )

    assert isinstance(gone, IntegrityError)
    assert all(isinstance(row, CheckIn) and row.id for row in kept)
    assert await CheckIn.all().count() == 2


async def test_a_like_that_cannot_be_written_fails_alone_and_says_so(api: Api, happening, app):
    """A like on an activity deleted since it was read breaks a foreign key: it is refused with
    NOT_FOUND (it was taken for "no change" before), and the others of its batch are written."""
    from infra.errors import ServiceError
    from services import engagement

    people = [await person(api, f"139555{i:05d}") for i in range(3)]
    activity = happening["activity"]
    gone, *kept = await asyncio.gather(
        engagement._TOGGLES[Like]((999_999, people[0].user.id, True)),
        *[engagement._TOGGLES[Like]((activity.id, p.user.id, True)) for p in people[1:]],
        return_exceptions=True,
    )
    with pytest.raises(ServiceError) as refused:
        await engagement._toggle(
            Like, "liked", app.state.runtime.live, people[0].user, 999_999, True
        )

    assert isinstance(gone, IntegrityError)
    assert all(isinstance(row_id, int) for row_id in kept)
    assert refused.value.errors[0].code == "NOT_FOUND"
    assert await Like.filter(activity_id=activity.id).count() == 2


async def flush(app) -> int:
    return await app.state.runtime.live.flush(settle=timedelta(0))


async def test_counts_are_exact_after_a_flush_and_from_a_cold_cache(api: Api, happening, app):
    activity_id, activity = happening["id"], happening["activity"]
    people = [await person(api, f"139666{i:05d}") for i in range(6)]
    for i, p in enumerate(people):
        await api.data(CHECK_IN, {"a": activity_id, "nonce": f"flush-{i:05d}"}, token=p.token)
        await api.data(LIKE, {"a": activity_id, "on": True}, token=p.token)
        await api.data(RATE, {"a": activity_id, "score": 1 + i % 5}, token=p.token)
    await api.data(LIKE, {"a": activity_id, "on": False}, token=people[0].token)
    before = (await engagement_of(api, activity_id))["engagement"]

    flushed = await flush(app)
    again = await flush(app)
    stats = await ActivityStats.get(activity_id=activity.id)
    await app.state.redis.delete(live_key(activity.id))
    cold = (await engagement_of(api, activity_id))["engagement"]

    assert (flushed, again) == (19, 0)
    assert (stats.check_ins, stats.likes, stats.rating_count, stats.rating_sum) == (6, 5, 6, 16)
    assert (
        before
        == cold
        == {
            "checkIns": 6,
            "likes": 5,
            "comments": 0,
            "favorites": 0,
            "ratingAverage": round(16 / 6, 2),
        }
    )


async def test_a_request_that_died_before_redis_is_counted_by_the_flush(
    api: Api, happening, app, settings
):
    settings(response_cache_engagement_seconds=0)  # the counts are under test, not their lag
    activity = happening["activity"]
    await api.data(ENGAGEMENT, {"a": happening["id"]})  # the live hash exists
    await CheckIn.create(
        activity=activity,
        user=happening["public"].user,
        day=china("2026-09-20 15:00").date(),
        client_nonce="died-before-redis",
    )

    before = (await engagement_of(api, happening["id"]))["engagement"]["checkIns"]
    await flush(app)
    after = (await engagement_of(api, happening["id"]))["engagement"]["checkIns"]

    assert (before, after) == (0, 1)
    assert (await ActivityStats.get(activity_id=activity.id)).check_ins == 1


async def test_records_settle_by_the_wall_clock_whatever_the_demo_clock_says(api: Api, app):
    """The write-behind takes records a while after they were written, by the wall clock. Likes
    were stamped by the demo clock (KEPURI_CLOCK_OFFSET), which may run years ahead: the flush
    then left them out until that day came."""
    unit, _ = await filing_unit(api)
    activity = await make_activity(
        unit, await make_campaign(), starts_at="2036-09-20 09:00", ends_at="2036-09-20 17:00"
    )
    set_now(china("2036-09-20 15:00"))
    token = (await person(api, "13922220009")).token
    activity_id = to_global_id("Activity", activity.id)
    await api.data(CHECK_IN, {"a": activity_id, "nonce": "ten-years-on"}, token=token)
    await api.data(LIKE, {"a": activity_id, "on": True}, token=token)

    assert await flush(app) == 2
    stats = await ActivityStats.get(activity_id=activity.id)
    assert (stats.check_ins, stats.likes) == (1, 1)


async def test_a_crash_between_flush_steps_loses_and_doubles_nothing(
    api: Api, happening, app, monkeypatch
):
    activity_id, activity = happening["id"], happening["activity"]
    people = [await person(api, f"139777{i:05d}") for i in range(4)]
    for i, p in enumerate(people):
        await api.data(CHECK_IN, {"a": activity_id, "nonce": f"crash-{i:05d}"}, token=p.token)

    from tortoise.queryset import UpdateQuery

    real_execute = UpdateQuery._execute

    async def crash(self):  # the moment the rows would be marked counted
        if "counted" in str(self.sql()):
            raise RuntimeError("worker killed")
        return await real_execute(self)

    monkeypatch.setattr(UpdateQuery, "_execute", crash)
    with pytest.raises(RuntimeError):
        await flush(app)
    monkeypatch.setattr(UpdateQuery, "_execute", real_execute)
    during = (await engagement_of(api, activity_id))["engagement"]["checkIns"]
    assert (await ActivityStats.get(activity_id=activity.id)).check_ins == 0  # rolled back
    assert await CheckIn.filter(counted=False).count() == 4

    await flush(app)

    assert during == 4
    assert (await ActivityStats.get(activity_id=activity.id)).check_ins == 4
    assert (await engagement_of(api, activity_id))["engagement"]["checkIns"] == 4
    assert await CheckIn.filter(counted=False).count() == 0


async def test_comments_of_a_withdrawn_activity_are_not_shown(api: Api, happening):
    token, activity_id = happening["public"].token, happening["id"]
    await api.data(COMMENT, {"a": activity_id, "body": "很好"}, token=token)
    activity = happening["activity"]
    activity.status = ActivityStatus.PENDING_REVIEW  # edited after approval: back to review
    await activity.save()

    page = (await api.data(COMMENTS, {"a": activity_id}))["comments"]

    assert page["edges"] == []


async def test_an_activity_sent_back_to_review_stops_taking_engagement_at_once(api: Api, happening):
    from services.events import DomainEvent, EventKind, emit

    token, activity = happening["public"].token, happening["activity"]
    await api.data(LIKE, {"a": happening["id"], "on": True}, token=token)  # cached as approved
    activity.status = ActivityStatus.PENDING_REVIEW
    await activity.save()
    await emit(DomainEvent(EventKind.ACTIVITY_UPDATED, activity.id, None, True, False))

    refused = (await api.data(LIKE, {"a": happening["id"], "on": False}, token=token))["setLike"]

    assert codes(refused) == ["NOT_FOUND"]


async def test_a_like_is_counted_when_another_request_warmed_the_cache_from_an_older_read(
    api: Api, happening, app, monkeypatch
):
    """Two requests find the counts cold; the other one read the database before this like
    committed and stores its counts first. This like must still reach the live count."""
    activity_id, activity = happening["id"], happening["activity"]
    first, second = [await person(api, f"139777{i:05d}") for i in range(2)]
    await api.data(LIKE, {"a": activity_id, "on": True}, token=first.token)
    earlier = await Like.get(activity_id=activity.id)
    await app.state.redis.delete(live_key(activity.id))
    counters = app.state.runtime.counters
    warm = counters._warm_from_database

    async def another_request_warmed_first(ids: list[int]) -> dict:
        stale = {**dict.fromkeys(FIELDS, 0), "likes": 1}
        await counters._warm(
            keys=[live_key(activity.id), guard_key(activity.id)],
            args=[len(FIELDS), *chain(*stale.items()), SOURCE_BY_MODEL[Like].event_id(earlier)],
        )
        return await warm(ids)

    monkeypatch.setattr(counters, "_warm_from_database", another_request_warmed_first)
    await api.data(LIKE, {"a": activity_id, "on": True}, token=second.token)
    monkeypatch.undo()

    assert (await engagement_of(api, activity_id))["engagement"]["likes"] == 2


async def test_hiding_a_comment_is_all_or_nothing(api: Api, happening, monkeypatch):
    """The moderation record (which the count follows) and the comment's hiding are one
    transaction: a hide that fails half-way leaves the comment shown and counted."""
    from services import engagement

    token, activity_id = happening["public"].token, happening["id"]
    comment = (await api.data(COMMENT, {"a": activity_id, "body": "可能被隐藏"}, token=token))[
        "addComment"
    ]["comment"]
    staff = await member(api, "13922229998", await national_organizer(), MemberRole.REVIEWER)

    async def audit_fails(*args, **kwargs):
        raise OSError("the audit log's disk is full")

    monkeypatch.setattr(engagement.audit, "record", audit_fails)
    failed = await api.post(HIDE, {"id": comment["id"]}, token=staff.token)
    monkeypatch.undo()

    assert failed["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert await CommentModeration.all().count() == 0
    assert (await Comment.get()).hidden_at is None
    assert len((await api.data(COMMENTS, {"a": activity_id}))["comments"]["edges"]) == 1
    assert (await engagement_of(api, activity_id))["engagement"]["comments"] == 1


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("公式 3<5 且 7>6", "公式 3<5 且 7>6"),
        ("&lt;不是标签&gt;", "&lt;不是标签&gt;"),
        ("好评\u202e反转\u202c！", "好评反转！"),  # a right-to-left override would reverse it
        ("第一行\r\n第二行\u2067隔离\u2069", "第一行\n第二行隔离"),
    ],
)
async def test_a_comment_is_stored_as_written_without_invisible_controls(
    api: Api, happening, written, kept
):
    token, activity_id = happening["public"].token, happening["id"]

    posted = (await api.data(COMMENT, {"a": activity_id, "body": written}, token=token))[
        "addComment"
    ]

    assert posted["errors"] == []
    assert posted["comment"]["body"] == kept
    assert (await Comment.get()).body == kept


async def test_personal_lists_show_only_what_the_person_may_see_now(api: Api, happening):
    """A liked activity edited after its approval (back in review, with an unreviewed title)
    leaves the person's lists until it is approved again."""
    token, activity = happening["public"].token, happening["activity"]
    await api.data(LIKE, {"a": happening["id"], "on": True}, token=token)
    await api.data(FAVORITE, {"a": happening["id"], "on": True}, token=token)
    mine = (
        "{ me { likedActivities { edges { node { id title } } } "
        "favoriteActivities { edges { node { id title } } } } }"
    )
    before = (await api.data(mine, token=token))["me"]

    activity.status, activity.title = ActivityStatus.PENDING_REVIEW, "未经审核的新标题"
    await activity.save()
    after = (await api.data(mine, token=token))["me"]

    assert [e["node"]["title"] for e in before["likedActivities"]["edges"]] == ["三天的科普展"]
    assert after["likedActivities"]["edges"] == after["favoriteActivities"]["edges"] == []
    assert "未经审核" not in json.dumps(after, ensure_ascii=False)
