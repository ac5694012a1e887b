"""Documents: requested through the API, rendered by a worker job, downloaded by a signed link.

A request is authorized by its scope and de-duplicated by a fingerprint of its inputs: asking
again for an unchanged document returns the one queued, running or ready; a change to the inputs
makes a new one. The job is idempotent (a READY document is not rendered again), retried with
backoff, and marked FAILED with a readable error after its last try.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from datetime import timedelta
from typing import Any

from models import Activity, ActivityMedia, Document, Organization, Review, User
from models.enums import ActivityForm, DocumentKind, DocumentStatus, MediaKind, ReviewDecision
from services import audit, pdf, qr, storage
from services.activities import REVIEWING_ROLES, can_view, member_org_ids
from services.clock import CHINA, now
from services.counters import Counters
from services.errors import ErrorCode, PermissionDenied, ServiceError
from services.permissions import Grant, is_national_staff
from services.regions import get_region
from services.runtime import Runtime

KEEP_FOR = timedelta(days=7)
LINK_VALID_FOR = timedelta(hours=1)
FORMS = {ActivityForm.ONLINE: "线上", ActivityForm.OFFLINE: "线下", ActivityForm.HYBRID: "线上线下"}


def _may_request(grants: list[Grant], activity: Activity) -> bool:
    """The unit for its own activities, its supervising association, national staff."""
    return (
        activity.organization_id in member_org_ids(grants)
        or activity.supervisor_id in member_org_ids(grants, REVIEWING_ROLES)
        or is_national_staff(grants)
    )


async def _fingerprint(activity: Activity, counts: dict[str, int]) -> str:
    inputs = {
        "template": 1,
        "updated_at": activity.updated_at.isoformat() if activity.updated_at else None,
        "status": activity.status.value,
        "counts": counts,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


async def request_activity_summary(
    rt: Runtime, user: User, grants: list[Grant], activity_id: int
) -> Document:
    activity = await Activity.get_or_none(id=activity_id, deleted_at=None)
    if activity is None or not can_view(grants, activity):
        raise ServiceError.of(ErrorCode.NOT_FOUND, "活动不存在", "activityId")
    if not _may_request(grants, activity):
        raise PermissionDenied("只有填报单位、归口单位和主办单位可以下载活动总结")
    counts = (await rt.live.read([activity.id]))[activity.id]
    fingerprint = await _fingerprint(activity, counts)
    existing = (
        await Document.filter(
            kind=DocumentKind.ACTIVITY_SUMMARY,
            fingerprint=fingerprint,
            status__in=[DocumentStatus.QUEUED, DocumentStatus.RUNNING, DocumentStatus.READY],
        )
        .order_by("-id")
        .first()
    )
    if existing is not None and (existing.expires_at is None or existing.expires_at > now()):
        return existing
    document = await Document.create(
        kind=DocumentKind.ACTIVITY_SUMMARY,
        requester=user,
        activity=activity,
        fingerprint=fingerprint,
        filename=f"活动总结-{activity.title}.pdf",
        content_type="application/pdf",
    )
    await audit.record("document_requested", actor=user, target=document, kind=document.kind.value)
    await rt.enqueue("render_document", document.id, job_id=f"render_document:{document.id}")
    return document


def can_read(user: User | None, grants: list[Grant], document: Document) -> bool:
    return user is not None and (document.requester_id == user.id or is_national_staff(grants))


# ---------------------------------------------------------------- rendering


async def _activity_data(activity: Activity, counters: Counters, base_url: str) -> dict[str, Any]:
    """Plain data for the template (no ORM objects reach Jinja)."""
    organization = await Organization.get(id=activity.organization_id)
    supervisor = await Organization.get(id=activity.supervisor_id)
    campaign = await activity.campaign
    region = await get_region(activity.region_id)
    last_review = await Review.filter(activity_id=activity.id).order_by("-id").first()
    photos = await ActivityMedia.filter(activity_id=activity.id, kind=MediaKind.PHOTO).order_by(
        "position"
    )
    counts = (await counters.read([activity.id]))[activity.id]
    start, end = activity.starts_at.astimezone(CHINA), activity.ends_at.astimezone(CHINA)
    if activity.qr_token:
        await qr.ensure_rendered(activity.qr_token, base_url)
    review = "待审核"
    if last_review is not None:
        review = (
            "审核通过"
            if last_review.decision is ReviewDecision.APPROVE
            else f"审核未通过：{last_review.comment or ''}"
        )
    return {
        "title": activity.title,
        "label": campaign.label,
        "host_units": "、".join(activity.host_units),
        "organizer_units": "、".join(activity.organizer_units),
        "organization": organization.name,
        "time": f"{start:%Y-%m-%d %H:%M} 至 {end:%Y-%m-%d %H:%M}",
        "form": FORMS[activity.form],
        "address": activity.address,
        "online_url": activity.online_url,
        "region": region.name if region else activity.region_id,
        "supervisor": activity.supervisor_name or supervisor.name,
        "review": review,
        "description": activity.description,
        "participants": activity.participant_count
        if activity.participant_count is not None
        else "—",
        "counts": counts,
        "rating": f"{counts['rating_sum'] / counts['rating_count']:.1f}"
        if counts["rating_count"]
        else "—",
        "photos": [pdf.MEDIA_SCHEME + p.url for p in photos],
        "qr": pdf.MEDIA_SCHEME + qr.png_path(activity.qr_token) if activity.qr_token else None,
        "summary": activity.summary_text,
    }


Notify = Callable[[dict[str, Any]], Awaitable[None]]


async def _nobody(message: dict[str, Any]) -> None:
    return None


async def render_document(
    document_id: int,
    counters: Counters,
    base_url: str,
    pool: Executor | None,
    notify: Notify = _nobody,
) -> bool:
    """Render a queued document (the worker's job). False if there was nothing to do. Each
    change of status or progress is also sent to `notify` (the live status subscription)."""
    document = await Document.get_or_none(id=document_id)
    if document is None or document.status is DocumentStatus.READY:
        return False

    async def progress(status: DocumentStatus, percent: int, **fields: Any) -> None:
        await Document.filter(id=document_id).update(status=status, progress=percent, **fields)
        await notify({"status": status.value, "progress": percent})

    await progress(DocumentStatus.RUNNING, 10, attempts=document.attempts + 1)
    activity = await Activity.get(id=document.activity_id)
    html = pdf.render_html(
        "activity_summary.html", await _activity_data(activity, counters, base_url)
    )
    await progress(DocumentStatus.RUNNING, 40)
    loop = asyncio.get_running_loop()
    data = await loop.run_in_executor(pool, pdf.render_pdf, html, str(storage.root()))
    await progress(DocumentStatus.RUNNING, 90)
    path = await storage.save(f"documents/{document.id}.pdf", data)
    await progress(
        DocumentStatus.READY,
        100,
        file=path,
        size=len(data),
        checksum=hashlib.sha256(data).hexdigest(),
        error=None,
        expires_at=now() + KEEP_FOR,
    )
    return True


async def mark_failed(document_id: int, error: str, notify: Notify = _nobody) -> None:
    await Document.filter(id=document_id).update(status=DocumentStatus.FAILED, error=error[:500])
    await notify({"status": DocumentStatus.FAILED.value, "progress": 0})


async def mark_retrying(document_id: int, error: str, notify: Notify = _nobody) -> None:
    await Document.filter(id=document_id).update(
        status=DocumentStatus.QUEUED, progress=0, error=error[:500]
    )
    await notify({"status": DocumentStatus.QUEUED.value, "progress": 0})


# ---------------------------------------------------------------- signed links


def _signature(secret: str, document_id: int, expires: int) -> str:
    message = f"document:{document_id}:{expires}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signed_link(base_url: str, secret: str, document: Document) -> str:
    expires = int((now() + LINK_VALID_FOR).timestamp())
    signature = _signature(secret, document.id, expires)
    return f"{base_url.rstrip('/')}/documents/{document.id}?expires={expires}&sig={signature}"


def link_is_valid(secret: str, document_id: int, expires: str, signature: str) -> bool:
    if not expires.isdigit() or int(expires) < now().timestamp():
        return False
    return hmac.compare_digest(_signature(secret, document_id, int(expires)), signature)
