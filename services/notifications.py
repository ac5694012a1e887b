"""Notifications: stored for the app, pushed live, delivered by email (and SMS for reminders).

Exactly once: a notification's key is unique per recipient, so creating it twice creates it once;
its delivery job claims each channel (PENDING → SENDING) before sending, so two runs of the job at
the same moment send one message. A failed send goes back to PENDING and is retried with backoff;
after the last try it is FAILED with the error recorded. People without an email address (or who
turned email off) are simply SKIPPED.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader
from jinja2.sandbox import SandboxedEnvironment
from tortoise.exceptions import IntegrityError

from infra import jobs
from infra.clock import now
from infra.email import EmailError, send_email
from infra.sms import SmsError
from models import Activity, Membership, Notification, User
from models.enums import DeliveryStatus, MemberRole, NotificationKind
from services import sessions
from services.events import DomainEvent, EventKind, later, subscribe, unsubscribe
from services.runtime import Runtime

Publish = Callable[[int, dict[str, Any]], Awaitable[None]]
TEMPLATES = Path(__file__).resolve().parent.parent / "kepuri" / "templates" / "notifications"
_texts = SandboxedEnvironment(loader=FileSystemLoader(TEMPLATES), autoescape=False)


def render(kind: NotificationKind, **data: Any) -> tuple[str, str]:
    """(subject, body) of a kind's Chinese template: the first line is the subject. Plain text
    (an email body and an SMS), so nothing is HTML-escaped; the sandbox keeps data inert."""
    text = _texts.get_template(f"{kind.value.lower()}.txt").render(**data).strip()
    subject, _, body = text.partition("\n")
    return subject, body.strip()


async def notify(
    recipients: list[int],
    kind: NotificationKind,
    key: str,
    title: str,
    body: str,
    *,
    sms: bool = False,
) -> int:
    """Store one notification per recipient (once per key) and deliver it after the commit;
    how many were new."""
    created: list[int] = []
    for user_id in dict.fromkeys(recipients):
        try:
            row = await Notification.create(
                recipient_id=user_id,
                kind=kind,
                key=key[:200],
                title=title[:200],
                body=body,
                sms_status=DeliveryStatus.PENDING if sms else DeliveryStatus.SKIPPED,
            )
        except IntegrityError:  # already notified of this occasion
            continue
        created.append(row.id)

    async def deliver() -> None:
        await queue_deliveries(created)

    await later(deliver)
    return len(created)


async def queue_deliveries(ids: Iterable[int]) -> None:
    """Queue the delivery job of each notification (once per notification while queued)."""
    for notification_id in ids:
        await jobs.enqueue(
            "deliver_notification",
            notification_id,
            job_id=f"deliver_notification:{notification_id}",
        )


def as_message(notification: Notification) -> dict[str, Any]:
    return {"id": notification.id, "kind": notification.kind.value}


async def _claim(notification_id: int, channel: str) -> bool:
    claimed = await Notification.filter(
        id=notification_id, **{channel: DeliveryStatus.PENDING}
    ).update(**{channel: DeliveryStatus.SENDING})
    return bool(claimed)


async def deliver(rt: Runtime, notification_id: int, publish: Publish, *, final_try: bool) -> bool:
    """Push to the app, then send email and SMS as preferred. Returns False when a channel
    failed and should be retried (unless this was the last try, which marks it FAILED)."""
    notification = await Notification.get_or_none(id=notification_id)
    if notification is None:
        return True
    user = await User.get(id=notification.recipient_id)
    if notification.attempts == 0:
        await publish(user.id, as_message(notification))
    await Notification.filter(id=notification.id).update(attempts=notification.attempts + 1)
    ok = True
    if notification.email_status is DeliveryStatus.PENDING:
        if not (user.email and user.notify_by_email and rt.settings.smtp_host):
            await Notification.filter(id=notification.id).update(
                email_status=DeliveryStatus.SKIPPED
            )
        elif await _claim(notification.id, "email_status"):
            try:
                await send_email(rt.settings, user.email, notification.title, notification.body)
            except EmailError as exc:
                ok = await _failed(notification.id, "email_status", str(exc), final_try)
            else:
                await Notification.filter(id=notification.id).update(
                    email_status=DeliveryStatus.SENT
                )
    if notification.sms_status is DeliveryStatus.PENDING:
        if not user.notify_by_sms:
            await Notification.filter(id=notification.id).update(sms_status=DeliveryStatus.SKIPPED)
        elif await _claim(notification.id, "sms_status"):
            try:
                await rt.sms.send(user.phone, f"【全国科普日】{notification.title}")
            except SmsError as exc:
                ok = await _failed(notification.id, "sms_status", str(exc), final_try) and ok
            else:
                await Notification.filter(id=notification.id).update(sms_status=DeliveryStatus.SENT)
    return ok


async def _failed(notification_id: int, channel: str, error: str, final_try: bool) -> bool:
    status = DeliveryStatus.FAILED if final_try else DeliveryStatus.PENDING
    await Notification.filter(id=notification_id).update(
        **{channel: status}, last_error=error[:500]
    )
    return False


# ---------------------------------------------------------------- occasions


async def unit_people(organization_id: int, activity: Activity | None = None) -> list[int]:
    """The filers and admins of a unit, and the person who filed `activity`, if one is given."""
    rows = await Membership.filter(
        organization_id=organization_id, role__in=[MemberRole.FILER, MemberRole.ADMIN]
    ).values_list("user_id", flat=True)
    people = [int(r) for r in rows]  # type: ignore[call-overload]
    if activity is not None and activity.created_by_id is not None:
        people.append(activity.created_by_id)
    return people


async def _outcome(event: DomainEvent) -> None:
    """A review outcome goes at once to the filing unit's people (inside the review's
    transaction; delivered after it commits)."""
    activity = await Activity.get(id=event.activity_id)
    approved = event.kind is EventKind.ACTIVITY_APPROVED
    kind = NotificationKind.ACTIVITY_APPROVED if approved else NotificationKind.ACTIVITY_REJECTED
    title, body = render(kind, title=activity.title, reason=event.data.get("comment"))
    moment = activity.reviewed_at.isoformat() if activity.reviewed_at else ""
    await notify(
        await unit_people(activity.organization_id),
        kind,
        f"outcome:{activity.id}:{moment}",
        title,
        body,
    )


def register() -> None:
    """Hang the outcome notifications on the lifecycle's events (once per process)."""
    unsubscribe(_outcome)
    subscribe(_outcome, EventKind.ACTIVITY_APPROVED)
    subscribe(_outcome, EventKind.ACTIVITY_REJECTED)


async def document_ready(document_id: int, requester_id: int | None, filename: str) -> None:
    if requester_id is None:
        return
    title, body = render(NotificationKind.DOCUMENT_READY, filename=filename)
    await notify(
        [requester_id], NotificationKind.DOCUMENT_READY, f"document:{document_id}", title, body
    )


async def mark_read(user: User, ids: list[int]) -> int:
    return await Notification.filter(recipient_id=user.id, id__in=ids, read_at=None).update(
        read_at=now()
    )


async def set_preferences(user: User, *, email: bool | None, sms: bool | None) -> User:
    changes = {
        k: v for k, v in (("notify_by_email", email), ("notify_by_sms", sms)) if v is not None
    }
    if changes:
        await User.filter(id=user.id).update(**changes)
        for key, value in changes.items():
            setattr(user, key, value)
        await sessions.forget_user(user.id)
    return user
