"""Housekeeping that keeps the account tables small."""

from __future__ import annotations

from datetime import timedelta

from infra import storage
from infra.clock import now
from models import Document, Session, VerificationCode

EXPIRED_SESSION_GRACE = timedelta(days=7)
CODE_RETENTION = timedelta(days=1)


async def purge_expired() -> dict[str, int]:
    """Delete sessions expired or revoked a week ago, verification codes older than a day, and
    expired documents with their files. Idempotent: running it twice deletes nothing more."""
    moment = now()
    sessions = await Session.filter(expires_at__lt=moment - EXPIRED_SESSION_GRACE).delete()
    sessions += await Session.filter(revoked_at__lt=moment - EXPIRED_SESSION_GRACE).delete()
    codes = await VerificationCode.filter(created_at__lt=moment - CODE_RETENTION).delete()
    expired = await Document.filter(expires_at__lt=moment).values_list("id", "file")
    for _, file in expired:
        if file and storage.is_clean(file):
            await storage.delete(file)
    documents = await Document.filter(id__in=[i for i, _ in expired]).delete()
    return {"sessions": sessions, "codes": codes, "documents": documents}
