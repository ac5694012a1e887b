"""The per-process session cache (services/sessions.py): a signed-in request reads its session
once, and every change to a person's sessions or account is seen at once, here and (through the
bus) in other processes. Each test first makes the process keep the session, so that a change
that forgot to forget would fail it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from starlette.applications import Starlette

from infra import bus
from infra.clock import clock, now
from models import Session
from services import sessions
from tests.conftest import Api, last_code
from tests.factories import PASSWORD, person, sign_in
from tests.test_accounts import CHANGE, LOGOUT, ME, RESET, UPDATE_PROFILE, request_code
from tests.test_browsing import count_queries
from tests.test_notifications import PREFS

ME_NAME = "query { me { id name email } }"


def cache(app: Starlette) -> sessions.SessionCache:
    return app.state.runtime.sessions


async def test_a_session_is_read_once_then_kept(app, api: Api):
    someone = await person(api, "13912345678")

    with count_queries() as first:
        assert (await api.data(ME_NAME, token=someone.token))["me"]["name"] == "张三"
    with count_queries() as second:
        assert (await api.data(ME_NAME, token=someone.token))["me"]["name"] == "张三"

    assert any("sessions" in q for q in first)
    assert second == []
    assert len(cache(app)) == 1


async def change_password(api: Api, token: str, settings: Any) -> None:
    result = await api.data(
        CHANGE, {"oldPassword": PASSWORD, "newPassword": "NewPassw0rd"}, token=token
    )
    assert result["changePassword"]["ok"] is True


async def reset_password(api: Api, token: str, settings: Any) -> None:
    await request_code(api, "13912345678", "RESET_PASSWORD")
    code = last_code(settings, "13912345678")
    reset = {"phone": "13912345678", "code": code, "newPassword": "NewPassw0rd"}
    assert (await api.data(RESET, {"input": reset}))["resetPassword"]["ok"] is True


async def logout(api: Api, token: str, settings: Any) -> None:
    assert (await api.data(LOGOUT, token=token))["logout"]["ok"] is True


@pytest.mark.parametrize("revoke", [logout, change_password, reset_password])
async def test_a_revoked_session_is_refused_at_once(api: Api, base_settings, revoke):
    someone = await person(api, "13912345678")
    assert (await api.data(ME, token=someone.token))["me"] is not None  # kept now

    await revoke(api, someone.token, base_settings)

    assert (await api.data(ME, token=someone.token))["me"] is None


async def test_logout_ends_only_that_session_though_both_were_kept(api: Api):
    someone = await person(api, "13912345678")
    other_device = await sign_in(api, "13912345678")
    for token in (someone.token, other_device):
        assert (await api.data(ME, token=token))["me"] is not None

    await logout(api, someone.token, None)

    assert (await api.data(ME, token=someone.token))["me"] is None
    assert (await api.data(ME, token=other_device))["me"] is not None


async def test_a_profile_change_is_seen_by_the_next_request(app, api: Api):
    someone = await person(api, "13912345678")
    other_device = await sign_in(api, "13912345678")
    assert (await api.data(ME_NAME, token=other_device))["me"]["name"] == "张三"

    changes = {"input": {"name": "李四", "email": "li@example.com"}}
    async with app.state.hub.subscribe(sessions.CHANNEL) as heard:
        await api.data(UPDATE_PROFILE, changes, token=someone.token)
        await asyncio.wait_for(heard.get(), 5)  # its own bus message is back: it forgets again
    me = (await api.data(ME_NAME, token=other_device))["me"]  # kept again, with the change
    await api.data(PREFS, {"email": False}, token=someone.token)

    assert (me["name"], me["email"]) == ("李四", "li@example.com")
    # the other device changes SMS only: the answer shows the email choice made on the first
    answer = await api.data(PREFS, {"sms": False}, token=other_device)
    assert answer["updateNotificationPreferences"]["preferences"] == {"email": False, "sms": False}


async def test_a_request_cannot_change_the_kept_person(app, api: Api):
    """Operations set fields on the request's person (a profile update does): it is a copy."""
    someone = await person(api, "13912345678")
    await api.data(ME_NAME, token=someone.token)
    digest = sessions.token_hash(someone.token)

    found = cache(app).get(digest)
    assert found is not None
    found[0].name = "改过的"

    again = cache(app).get(digest)
    assert again is not None and again[0].name == "张三"


async def test_a_revocation_heard_on_the_bus_ends_a_kept_session(app, api: Api):
    """What another process's logout does here: its database change, then its bus message."""
    someone = await person(api, "13912345678")
    assert (await api.data(ME, token=someone.token))["me"] is not None
    await Session.filter(user_id=someone.user.id).update(revoked_at=now())

    kept = (await api.data(ME, token=someone.token))["me"]  # not heard yet: still kept
    async with app.state.hub.subscribe(sessions.CHANNEL) as heard:
        await bus.publish(sessions.CHANNEL, {"user": someone.user.id})
        await asyncio.wait_for(heard.get(), 5)  # the hub tells its watchers before its queues

    assert kept is not None
    assert (await api.data(ME, token=someone.token))["me"] is None


async def test_an_unreadable_bus_message_forgets_everyone(app, api: Api):
    someone = await person(api, "13912345678")
    await api.data(ME, token=someone.token)
    assert len(cache(app)) == 1

    async with app.state.hub.subscribe(sessions.CHANNEL) as heard:
        await app.state.redis.publish(
            bus.channel_key(sessions.CHANNEL, app.state.redis), b'{"user": "1"}'
        )
        await asyncio.wait_for(heard.get(), 5)

    assert len(cache(app)) == 0


async def test_a_lookup_overtaken_by_a_revocation_is_not_kept(app, api: Api):
    """A request read the session just before another process revoked it and published that;
    the bus message arrived while the read was under way: what it read must not be kept."""
    someone = await person(api, "13912345678")
    session = await Session.get(user_id=someone.user.id).select_related("user")
    kept = cache(app)
    digest = sessions.token_hash(someone.token)

    ticket = kept.ticket()  # the read begins
    kept.forget(someone.user.id)  # the revocation is heard
    kept.keep(digest, session.user, session, ticket)  # the read ends

    assert kept.get(digest) is None
    kept.keep(digest, session.user, session, kept.ticket())  # a read begun afterwards is kept
    assert kept.get(digest) is not None


async def test_nothing_is_kept_while_the_bus_is_not_heard(app, api: Api):
    someone = await person(api, "13912345678")
    await api.data(ME, token=someone.token)
    kept = cache(app)

    kept.listening(False)  # what the hub says when its connection drops
    try:
        assert len(kept) == 0
        with count_queries() as seen:
            await api.data(ME, token=someone.token)
            await api.data(ME, token=someone.token)
        assert len([q for q in seen if "sessions" in q]) == 2
        assert len(kept) == 0
    finally:
        kept.listening(True)
    await api.data(ME, token=someone.token)
    assert len(kept) == 1


async def test_an_expired_session_is_refused_though_kept(api: Api):
    someone = await person(api, "13912345678")
    assert (await api.data(ME, token=someone.token))["me"] is not None

    clock.set_offset(clock.offset + timedelta(days=31))

    assert (await api.data(ME, token=someone.token))["me"] is None


async def test_a_kept_session_is_read_again_after_the_setting(
    app, api: Api, monkeypatch: pytest.MonkeyPatch
):
    """An account changed in the database by hand is seen within SESSION_CACHE_SECONDS."""
    someone = await person(api, "13912345678")
    await api.data(ME, token=someone.token)
    await Session.filter(user_id=someone.user.id).update(revoked_at=now())
    assert (await api.data(ME, token=someone.token))["me"] is not None

    later = sessions.time.monotonic() + cache(app).seconds
    monkeypatch.setattr(sessions.time, "monotonic", lambda: later)

    assert (await api.data(ME, token=someone.token))["me"] is None


async def test_the_cache_keeps_at_most_its_size(app, api: Api):
    kept = sessions.SessionCache(60, maxsize=2)
    kept.listening(True)
    rows = []
    for phone in ("13912345671", "13912345672", "13912345673"):
        someone = await person(api, phone)
        rows.append(
            (someone.token, await Session.get(user_id=someone.user.id).select_related("user"))
        )
    for i, (token, session) in enumerate(rows):
        if i == 2:  # the first is used again before the third comes: the second goes
            assert kept.get(sessions.token_hash(rows[0][0])) is not None
        kept.keep(sessions.token_hash(token), session.user, session, kept.ticket())

    assert [kept.get(sessions.token_hash(t)) is not None for t, _ in rows] == [True, False, True]


@pytest.mark.parametrize("revoke", [change_password, reset_password])
async def test_sessions_are_forgotten_once_the_change_has_committed(
    api: Api, base_settings, revoke, monkeypatch
):
    """Forgotten before the commit, a session could be read again by another request from the
    database (still valid there) and kept after the change: the forget waits for the commit."""
    from infra.sql import in_transaction

    forgotten_in_transaction = []
    forget = sessions._forget_everywhere

    async def spy(user_id: int) -> None:
        forgotten_in_transaction.append(in_transaction())
        await forget(user_id)

    monkeypatch.setattr(sessions, "_forget_everywhere", spy)
    someone = await person(api, "13912345678")
    await api.data(ME, token=someone.token)  # kept from now on

    await revoke(api, someone.token, base_settings)

    assert forgotten_in_transaction == [False]
    assert (await api.data(ME, token=someone.token))["me"] is None
