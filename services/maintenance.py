"""Housekeeping that keeps the account tables small."""

from __future__ import annotations

from datetime import timedelta

from models import Session, VerificationCode
from services.clock import now

EXPIRED_SESSION_GRACE = timedelta(days=7)
CODE_RETENTION = timedelta(days=1)


async def purge_expired() -> dict[str, int]:
    """Delete sessions expired or revoked a week ago and verification codes older than a day.
    Idempotent: running it twice deletes nothing more."""
    moment = now()
    sessions = await Session.filter(expires_at__lt=moment - EXPIRED_SESSION_GRACE).delete()
    sessions += await Session.filter(revoked_at__lt=moment - EXPIRED_SESSION_GRACE).delete()
    codes = await VerificationCode.filter(created_at__lt=moment - CODE_RETENTION).delete()
    return {"sessions": sessions, "codes": codes}
