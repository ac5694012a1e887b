"""Who is behind a bearer token, remembered by each API process for a short while.

Every signed-in request starts by finding its session and person; from the database that was
about half of what the cheapest signed-in request (`me`) cost. A process keeps what it found for
`SESSION_CACHE_SECONDS`, under these rules:

- A change to a person's sessions or account (logout, a password changed or reset, the profile,
  notification preferences, an admin reset from the command line) calls `forget_user`, which acts
  once the change has committed: this process forgets the person at once, and every other process
  when it hears the person's id on the bus (`CHANNEL`), milliseconds later.
- A process trusts its cache only while it is certain to hear those messages: from the moment
  Redis confirms its subscription until the connection drops (`listening`). Before, and after a
  drop, every request reads the database, and what was kept is gone.
- A lookup that began before a person was forgotten (or before listening began) is not kept, so
  a read taken just before a revocation committed cannot put the session back.
- A session past its expiry is never answered, and nothing is kept longer than the setting: an
  account changed in the database by hand is seen within that time.
"""

from __future__ import annotations

import copy
import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import structlog

from infra import bus
from infra.clock import now
from models import Session, User
from services.events import later

log = structlog.get_logger(__name__)

CHANNEL = "sessions"
MAX_TOKEN_LENGTH = 128


def token_hash(token: str) -> str:
    """Sessions are stored as the SHA-256 of their token, never the token."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class _Kept:
    user: User
    session: Session
    read_at: float  # monotonic time the database read began


class SessionCache:
    def __init__(self, seconds: float, maxsize: int = 100_000) -> None:
        self.seconds = seconds
        self.maxsize = maxsize
        self._kept: OrderedDict[str, _Kept] = OrderedDict()
        # person -> when last forgotten (monotonic), oldest first; older than `seconds` is moot
        self._forgotten: dict[int, float] = {}
        self._trusted_since: float | None = None

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, digest: str) -> tuple[User, Session] | None:
        """The kept person and session of a token digest, if still good (the person is a copy:
        a request may change its own)."""
        kept = self._kept.get(digest)
        if kept is None:
            return None
        if not self._still_good(kept):
            del self._kept[digest]
            return None
        self._kept.move_to_end(digest)
        return copy.copy(kept.user), kept.session

    def _still_good(self, kept: _Kept) -> bool:
        since = self._trusted_since
        return (
            since is not None
            and kept.read_at >= since
            and time.monotonic() - kept.read_at < self.seconds
            and kept.read_at > self._forgotten.get(kept.user.id, -1.0)
            and kept.session.expires_at > now()
        )

    def ticket(self) -> float:
        """Taken before reading the database; `keep` refuses what an earlier forget overtook."""
        return time.monotonic()

    def keep(self, digest: str, user: User, session: Session, ticket: float) -> None:
        kept = _Kept(copy.copy(user), session, ticket)
        if self.seconds <= 0 or not self._still_good(kept):
            return
        self._kept[digest] = kept
        self._kept.move_to_end(digest)
        while len(self._kept) > self.maxsize:
            self._kept.popitem(last=False)

    def forget(self, user_id: int) -> None:
        moment = time.monotonic()
        self._forgotten.pop(user_id, None)
        self._forgotten[user_id] = moment
        for person, when in list(self._forgotten.items()):
            if moment - when <= self.seconds:
                break
            del self._forgotten[person]  # anything read before that has expired anyway

    def clear(self) -> None:
        self._kept.clear()

    # The bus side (see infra.hub.Hub.watch).

    def heard(self, message: dict[str, Any]) -> None:
        user_id = message.get("user")
        if type(user_id) is int:
            self.forget(user_id)
        else:  # a message this process cannot read: forget everyone rather than guess
            self._kept.clear()
            if self._trusted_since is not None:
                self._trusted_since = time.monotonic()

    def listening(self, yes: bool) -> None:
        """The bus subscription was confirmed (True) or lost (False): start anew either way."""
        self._kept.clear()
        self._trusted_since = time.monotonic() if yes else None


async def authenticate(cache: SessionCache | None, token: str) -> tuple[User, Session] | None:
    """The active person and session behind a bearer token, or None."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    digest = token_hash(token)
    if cache is not None:
        found = cache.get(digest)
        if found is not None:
            return found
        ticket = cache.ticket()
    session = (
        await Session.filter(token_hash=digest, revoked_at=None, expires_at__gt=now())
        .select_related("user")
        .first()
    )
    if session is None or not session.user.is_active:
        return None
    if cache is not None:
        cache.keep(digest, session.user, session, ticket)
    return session.user, session


_local: SessionCache | None = None


def configure(cache: SessionCache | None) -> None:
    """The cache of this process, forgotten into directly by `forget_user`."""
    global _local
    _local = cache


async def forget_user(user_id: int) -> None:
    """Call on a change to a person's sessions or account: every process forgets them once the
    surrounding `events.transaction()` has committed (at once outside one), so that none reads
    the old state again and keeps it."""
    await later(lambda: _forget_everywhere(user_id))


async def _forget_everywhere(user_id: int) -> None:
    if _local is not None:
        _local.forget(user_id)
    try:
        await bus.publish(CHANNEL, {"user": user_id})
    except Exception as exc:
        # Redis is away: the other processes have lost their subscription too (so they read the
        # database), unless only this one is cut off; then their kept sessions end with the TTL.
        log.error("session_change_not_published", user_id=user_id, error=type(exc).__name__)
