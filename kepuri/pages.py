"""Public pages: the one behind an activity's QR code (`PUBLIC_BASE_URL/a/<token>`), the
verification page behind a certificate's (`PUBLIC_BASE_URL/verify/<serial>`), and the service
agreement people accept when they sign in (`/agreement`).

Small server-rendered Chinese pages (no front-end build) sharing one look (templates/page.html);
the activity page's buttons call the GraphQL API.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from infra import qr, sql
from infra.clock import CHINA, local_date
from models import Activity, Organization
from models.enums import ActivityStatus
from schema.ids import to_global_id
from services import certificates
from services.engagement import CheckInState, check_in_state
from services.recommendations import KIND_LABELS

_templates = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
)
PLATFORM = "全国科普日活动平台"
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


def render(template: str, status: int = 200, **values: object) -> HTMLResponse:
    """A page of the platform's look (templates/page.html)."""
    html = _templates.get_template(template).render(platform=PLATFORM, **values)
    return HTMLResponse(html, status_code=status, headers=_HEADERS)


_page = render


async def activity_page(request: Request) -> HTMLResponse:
    with sql.reads_from(sql.REPLICA):  # public reads: the replica, if there is one
        return await _activity_page(request)


async def _activity_page(request: Request) -> HTMLResponse:
    token = request.path_params["token"].strip().upper()
    activity = (
        await Activity.get_or_none(qr_token=token, deleted_at=None) if qr.is_token(token) else None
    )
    if activity is None or activity.status is not ActivityStatus.APPROVED:
        return _page("not_found.html", 404)
    organization = await Organization.get(id=activity.organization_id)
    campaign = await activity.campaign
    counts = (await request.app.state.runtime.live.read([activity.id]))[activity.id]
    state = check_in_state(activity)
    return _page(
        "activity.html",
        activity_id=to_global_id("Activity", activity.id),
        token=token,
        title=activity.title,
        label=campaign.label,
        organizer="、".join(activity.host_units) or organization.name,
        time=_time(activity),
        address=activity.address,
        online_url=activity.online_url,
        description=activity.description,
        poster_url=f"/media/{activity.poster}" if activity.poster else None,
        check_in_open=state is CheckInState.OPEN,
        check_in_label=state.value,
        counts=counts,
    )


async def agreement_page(request: Request) -> HTMLResponse:
    return _page("agreement.html")


async def verify_page(request: Request) -> HTMLResponse:
    """The page behind a certificate's QR code: `PUBLIC_BASE_URL/verify/<serial>`."""
    with sql.reads_from(sql.REPLICA):
        return await _verify_page(request)


async def _verify_page(request: Request) -> HTMLResponse:
    result = await certificates.verify(request.path_params["serial"])
    return _page(
        "verify.html",
        200 if result.valid else 404,
        issuer=await certificates.commending_body(),
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


async def verify_another(request: Request) -> Response:
    """The verification page's box: `/verify?serial=...` goes to that serial's page."""
    serial = request.query_params.get("serial", "").strip()[:64]
    return RedirectResponse(f"/verify/{quote(serial, safe='')}", status_code=303)
