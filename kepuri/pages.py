"""Public pages: the one behind an activity's QR code (`PUBLIC_BASE_URL/a/<token>`) and the
verification page behind a certificate's (`PUBLIC_BASE_URL/verify/<serial>`).

A small server-rendered Chinese page (no front-end build) whose buttons call the GraphQL API.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from infra import qr
from infra.clock import CHINA, local_date
from models import Activity, Organization
from models.enums import ActivityStatus
from schema.ids import to_global_id
from services import certificates
from services.recommendations import KIND_LABELS

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
_NOT_FOUND = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>活动不存在</title></head>
<body style="font-family:sans-serif;padding:2em;text-align:center">
<h1>活动不存在或尚未通过审核</h1><p>请确认二维码是否正确。</p></body></html>"""
_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'self'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'",
}


def _time(activity: Activity) -> str:
    start, end = activity.starts_at.astimezone(CHINA), activity.ends_at.astimezone(CHINA)
    if start.date() == end.date():
        return f"{start:%Y-%m-%d %H:%M} 至 {end:%H:%M}"
    return f"{start:%Y-%m-%d %H:%M} 至 {end:%Y-%m-%d %H:%M}"


async def activity_page(request: Request) -> HTMLResponse:
    token = request.path_params["token"].strip().upper()
    activity = (
        await Activity.get_or_none(qr_token=token, deleted_at=None) if qr.is_token(token) else None
    )
    if activity is None or activity.status is not ActivityStatus.APPROVED:
        return HTMLResponse(_NOT_FOUND, status_code=404, headers=_HEADERS)
    organization = await Organization.get(id=activity.organization_id)
    campaign = await activity.campaign
    counts = (await request.app.state.runtime.live.read([activity.id]))[activity.id]
    html = _templates.get_template("activity.html").render(
        activity_id=to_global_id("Activity", activity.id),
        token=token,
        title=activity.title,
        label=campaign.label,
        organizer="、".join(activity.host_units) or organization.name,
        time=_time(activity),
        address=activity.address,
        online_url=activity.online_url,
        counts=counts,
    )
    return HTMLResponse(html, headers=_HEADERS)


async def verify_page(request: Request) -> HTMLResponse:
    """The page behind a certificate's QR code: `PUBLIC_BASE_URL/verify/<serial>`."""
    result = await certificates.verify(request.path_params["serial"])
    html = _templates.get_template("verify.html").render(
        valid=result.valid,
        message=result.message,
        serial=result.serial,
        holder=result.holder_name,
        unit=result.unit_name,
        kind=result.kind.value if result.kind else None,
        kind_label=KIND_LABELS[result.kind] if result.kind else None,
        campaign=result.campaign_name,
        date=local_date(result.issued_at) if result.issued_at else None,
    )
    return HTMLResponse(html, status_code=200 if result.valid else 404, headers=_HEADERS)
