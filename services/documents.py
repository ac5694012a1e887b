"""Documents: requested through the API, rendered by a worker job, downloaded by a signed link.

A request is authorized by its scope and de-duplicated by a fingerprint of its inputs: asking
again for an unchanged document returns the one queued, running or ready; a change to the inputs
makes a new one. The job is idempotent (a READY document is not rendered again), retried with
backoff, and marked FAILED with a readable error after its last try.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tortoise import timezone

from infra import jobs, links, pdf, qr, spreadsheets, sql, storage
from infra.clock import CHINA, now
from infra.errors import PermissionDenied, ServiceError
from models import (
    Activity,
    ActivityMedia,
    ActivityStats,
    Booking,
    BookingSlot,
    Commendation,
    Document,
    DocumentReader,
    Organization,
    Region,
    Review,
    User,
)
from models.enums import (
    ActivityForm,
    ActivityStatus,
    BookingStatus,
    CommendationStatus,
    DocumentKind,
    DocumentStatus,
    MediaKind,
    OrganizationKind,
    RegionLevel,
)
from services import audit, bookings, certificates, notifications, reports, volunteers
from services.activities import ActivityFilter, filtered
from services.campaigns import campaign_for
from services.counters import Counters
from services.errors import DocumentErrorCode
from services.permissions import Grant, is_national_staff, require_national_staff
from services.regions import get_region
from services.rules import can_view, is_insider, member_org_ids, oversees_region
from services.runtime import Runtime
from services.validation import mask_phone

KEEP_FOR = timedelta(days=7)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMS = {ActivityForm.ONLINE: "线上", ActivityForm.OFFLINE: "线下", ActivityForm.HYBRID: "线上线下"}


def _digest(inputs: dict[str, Any]) -> str:
    """The fingerprint of a document's inputs: unchanged inputs, the same document."""
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def _fingerprint(activity: Activity, counts: dict[str, int]) -> str:
    return _digest(
        {
            "template": 1,
            "activity": activity.id,
            "updated_at": activity.updated_at,
            "status": activity.status.value,
            "counts": counts,
        }
    )


async def request_activity_summary(
    rt: Runtime, user: User, grants: list[Grant], activity_id: int
) -> Document:
    activity = await Activity.get_or_none(id=activity_id, deleted_at=None)
    if activity is None or not can_view(grants, activity):
        raise ServiceError.of(DocumentErrorCode.NOT_FOUND, "活动不存在", "activityId")
    if not is_insider(grants, activity):
        raise PermissionDenied("只有填报单位、归口单位和主办单位可以下载活动总结")
    counts = (await rt.live.read([activity.id]))[activity.id]
    return await _request(
        rt,
        user,
        DocumentKind.ACTIVITY_SUMMARY,
        _fingerprint(activity, counts),
        filename=f"活动总结-{activity.title}.pdf",
        content_type="application/pdf",
        activity=activity,
    )


async def request_volunteer_record(rt: Runtime, user: User, year: int) -> Document:
    """A person's own record of science volunteering in a year (志愿服务记录) as a PDF: the
    confirmed hours of each activity, as the units recorded them. Only its person reads it."""
    found = await volunteers.record_of_year(user, year)
    if not found.records:
        raise ServiceError.of(
            DocumentErrorCode.NOTHING_TO_EXPORT, f"{year}年度没有已确认的志愿服务时长", "year"
        )
    inputs = {
        "kind": "volunteering",
        "template": 1,
        "user": user.id,  # nobody else's request can ever match (and read) it
        "name": user.name,
        "year": year,
        "records": sorted((r.id, r.minutes) for r in found.records),
    }
    return await _request(
        rt,
        user,
        DocumentKind.VOLUNTEER_RECORD,
        _digest(inputs),
        filename=f"志愿服务记录-{year}.pdf",
        content_type="application/pdf",
        parameters={"user_id": user.id, "year": year},
    )


SCHEDULE_STATUSES = (ActivityStatus.APPROVED,)  # what a schedule of key activities is for


async def request_activity_schedule(
    rt: Runtime, user: User, grants: list[Grant], flt: ActivityFilter
) -> Document:
    """The key-activity schedule (重点活动安排表) of a region (national staff: any) as .xlsx."""
    region = await get_region(flt.region_code) if flt.region_code else None
    if flt.region_code and region is None:
        raise ServiceError.of(DocumentErrorCode.INVALID_REGION, "行政区划代码无效", "regionCode")
    if not oversees_region(grants, region):
        raise PermissionDenied("只能导出本单位所辖地区的活动安排表")
    query = await filtered(Activity.filter(status__in=SCHEDULE_STATUSES, deleted_at=None), flt)
    latest = await query.order_by("-updated_at").first().values_list("updated_at", flat=True)
    parameters = flt.parameters()
    inputs = {
        "kind": "schedule",
        "filter": parameters,
        "count": await query.count(),
        "latest": latest.isoformat() if isinstance(latest, datetime) else None,
    }
    fingerprint = _digest(inputs)
    place = region.name if region else "全国"
    return await _request(
        rt,
        user,
        DocumentKind.ACTIVITY_SCHEDULE,
        fingerprint,
        filename=f"重点活动安排表-{place}-{flt.year or '各年度'}.xlsx",
        content_type=XLSX,
        parameters=parameters,
    )


async def request_booking_list(
    rt: Runtime, user: User, grants: list[Grant], activity_id: int
) -> Document:
    """An activity's bookings (预约名单) as .xlsx, a sheet per slot: its unit, its reviewers
    and national staff."""
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None or not bookings.sees_list(grants, activity):
        raise ServiceError.of(DocumentErrorCode.NOT_FOUND, "活动不存在", "activityId")
    held = Booking.filter(activity_id=activity.id)
    latest = await held.order_by("-updated_at").first().values_list("updated_at", flat=True)
    inputs = {
        "kind": "bookings",
        "activity": activity.id,
        "count": await held.count(),
        "latest": latest.isoformat() if isinstance(latest, datetime) else None,
    }
    return await _request(
        rt,
        user,
        DocumentKind.BOOKING_LIST,
        _digest(inputs),
        filename=f"预约名单-{activity.title}.xlsx",
        content_type=XLSX,
        activity=activity,
    )


BOOKING_LABELS = {
    BookingStatus.BOOKED: "已预约",
    BookingStatus.WAITING: "候补",
    BookingStatus.OFFERED: "待确认",
    BookingStatus.CANCELLED: "已取消",
    BookingStatus.EXPIRED: "未确认",
}


async def _booking_rows(activity: Activity) -> list[tuple[str, list[list[Any]]]]:
    """A sheet per slot: its bookings in the order they came, with the person's name and
    masked phone, the status (attended and no-shows told apart) and China's wall-clock times."""
    sheets = []
    for slot in await BookingSlot.filter(activity_id=activity.id).order_by("starts_at"):
        start, end = slot.starts_at.astimezone(CHINA), slot.ends_at.astimezone(CHINA)
        name = f"{start:%m月%d日 %H.%M}-{end:%H.%M}"  # a sheet's name may hold no ":"
        lines = []
        for n, booking in enumerate(
            await Booking.filter(slot_id=slot.id)
            .order_by("queued_at", "id")
            .select_related("user"),
            1,
        ):
            label = BOOKING_LABELS[booking.status]
            if booking.status is BookingStatus.BOOKED and booking.attended_at is not None:
                label = "已签到"
            elif bookings.no_show(booking, slot):
                label = "未到场"
            lines.append(
                [
                    n,
                    booking.user.name,
                    mask_phone(booking.user.phone),
                    label,
                    _wall_clock(booking.queued_at),
                    _wall_clock(booking.attended_at) if booking.attended_at else None,
                ]
            )
        sheets.append((name, lines))
    return sheets


async def request_summary_report(
    rt: Runtime,
    user: User,
    grants: list[Grant],
    *,
    year: int,
    organization_id: int | None,
    region_code: str | None,
    national: bool,
) -> Document:
    """A summary report of a unit, a city or province, or the nation, for a year."""
    scope = await report_scope(
        year=year, organization_id=organization_id, region_code=region_code, national=national
    )
    if scope.organization is not None:
        if scope.organization.id not in member_org_ids(grants) and not oversees_region(
            grants, await get_region(scope.organization.region_id)
        ):
            raise PermissionDenied("只能生成本单位或所辖地区的总结报告")
    elif scope.region is not None:
        if not oversees_region(grants, scope.region):
            raise PermissionDenied("只能生成本单位所辖地区的总结报告")
    else:
        require_national_staff(grants)
    place = scope.name
    parameters = {
        "year": year,
        "organization_id": organization_id,
        "region_code": region_code or None,
    }
    query = Activity.filter(campaign__year=year)
    latest = await query.order_by("-updated_at").first().values_list("updated_at", flat=True)
    stats = await ActivityStats.all().order_by("-id").first().values_list("id", flat=True)
    inputs = {
        "kind": "report",
        **parameters,
        "count": await query.count(),
        "latest": latest.isoformat() if isinstance(latest, datetime) else None,
        "stats": stats,
        "day": now().date().isoformat(),
    }
    fingerprint = _digest(inputs)
    return await _request(
        rt,
        user,
        DocumentKind.SUMMARY_REPORT,
        fingerprint,
        filename=f"总结报告-{place}-{year}.pdf",
        content_type="application/pdf",
        parameters=parameters,
    )


@dataclass(frozen=True)
class ReportScope:
    organization: Organization | None  # a unit's report
    region: Region | None  # a province's or a city's
    name: str  # the unit, the region, or 全国


async def report_scope(
    *, year: int, organization_id: int | None, region_code: str | None, national: bool
) -> ReportScope:
    """The one scope a summary report is asked for (a unit, a province or city, or the nation),
    checked; who may ask for it is the caller's to check."""
    if sum((organization_id is not None, bool(region_code), national)) != 1:
        raise ServiceError.of(
            DocumentErrorCode.INVALID, "请选择一个范围：单位、地区或全国", "organizationId"
        )
    if not 2000 <= year <= 2100:
        raise ServiceError.of(DocumentErrorCode.INVALID, "年份无效", "year")
    if organization_id is not None:
        organization = await Organization.get_or_none(id=organization_id)
        if organization is None:
            raise ServiceError.of(DocumentErrorCode.NOT_FOUND, "单位不存在", "organizationId")
        return ReportScope(organization, None, organization.name)
    if region_code:
        region = await get_region(region_code)
        if region is None or region.level is RegionLevel.COUNTY:
            raise ServiceError.of(
                DocumentErrorCode.INVALID_REGION, "请选择省级或地市级行政区划", "regionCode"
            )
        return ReportScope(None, region, region.name)
    return ReportScope(None, None, "全国")


async def request_certificates(rt: Runtime, user: User, grants: list[Grant], year: int) -> Document:
    """All certificates of a year's final commendations: a ZIP of one PDF each and one combined
    PDF. Asking again for unchanged lists returns the same document; serials never change."""
    require_national_staff(grants)
    campaign = await campaign_for(year)
    final = await Commendation.filter(
        campaign_id=campaign.id, status=CommendationStatus.FINAL
    ).values_list("serial", "holder_name")
    if not final:
        raise ServiceError.of(DocumentErrorCode.NOT_FINAL, "该年度尚无确定的表扬名单", "year")
    fingerprint = _digest({"kind": "certificates", "template": 1, "entries": sorted(final)})
    return await _request(
        rt,
        user,
        DocumentKind.CERTIFICATES,
        fingerprint,
        filename=f"荣誉证书-{year}.zip",
        content_type="application/zip",
        parameters={"campaign_id": campaign.id},
    )


async def _request(
    rt: Runtime,
    user: User,
    kind: DocumentKind,
    fingerprint: str,
    *,
    filename: str,
    content_type: str,
    activity: Activity | None = None,
    parameters: dict[str, Any] | None = None,
) -> Document:
    """The queued, running or ready document with these inputs, else a new queued one."""
    existing = (
        await Document.filter(
            kind=kind,
            fingerprint=fingerprint,
            status__in=[DocumentStatus.QUEUED, DocumentStatus.RUNNING, DocumentStatus.READY],
        )
        .order_by("-id")
        .first()
    )
    if existing is not None and (existing.expires_at is None or existing.expires_at > now()):
        if existing.requester_id != user.id:  # they may follow it as its requester does
            await DocumentReader.get_or_create(document_id=existing.id, user_id=user.id)
        return existing
    document = await Document.create(
        kind=kind,
        requester=user,
        activity=activity,
        fingerprint=fingerprint,
        filename=filename,
        content_type=content_type,
        parameters=parameters or {},
    )
    await audit.record("document_requested", actor=user, target=document, kind=kind.value)
    await jobs.enqueue("render_document", document.id, job_id=f"render_document:{document.id}")
    return document


async def can_read(user: User | None, grants: list[Grant], document: Document) -> bool:
    """Its requester, whoever asked for the same document since (a reader), national staff."""
    if user is None:
        return False
    if document.requester_id == user.id or is_national_staff(grants):
        return True
    return await DocumentReader.exists(document_id=document.id, user_id=user.id)


# ---------------------------------------------------------------- rendering


REVIEW_RESULTS = {
    ActivityStatus.DRAFT: "未提交",
    ActivityStatus.PENDING_REVIEW: "待审核",
    ActivityStatus.APPROVED: "审核通过",
    ActivityStatus.REJECTED: "审核未通过",
}


def supervisor_shown(activity: Activity, supervisor: Organization) -> str:
    """The supervising unit as a reader of the document knows it: the unit that reviews it,
    with the name the filer gave when the category was "other" (其他 itself names nobody)."""
    given = (activity.supervisor_name or "").strip()
    if activity.supervisor_kind is OrganizationKind.OTHER and given and given != "其他":
        return f"{given}（审核单位：{supervisor.name}）"
    return supervisor.name


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
    shown = []  # inline: rendering reads no storage (it runs in a pool, maybe on another host)
    for photo in photos:
        data = await storage.read(photo.url)
        if data is not None:
            shown.append(pdf.data_uri(data, storage.public_type(photo.url) or "image/jpeg"))
    review = REVIEW_RESULTS[activity.status]  # the status decides (a review row may not exist)
    if activity.status is ActivityStatus.REJECTED and last_review and last_review.comment:
        review = f"{review}：{last_review.comment}"
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
        "supervisor": supervisor_shown(activity, supervisor),
        "review": review,
        "description": activity.description,
        "participants": activity.participant_count
        if activity.participant_count is not None
        else "—",
        "counts": counts,
        "rating": f"{counts['rating_sum'] / counts['rating_count']:.1f}"
        if counts["rating_count"]
        else "—",
        "photos": shown,
        "qr": pdf.data_uri(qr.render_png(qr.target_url(base_url, activity.qr_token)), "image/png")
        if activity.qr_token
        else None,
        "summary": activity.summary_text,
    }


async def _volunteering_data(document: Document) -> dict[str, Any]:
    """Plain data of a volunteer record: each activity's confirmed hours, as now recorded."""
    person = await User.get(id=document.parameters["user_id"])
    year = int(document.parameters["year"])
    found = await volunteers.record_of_year(person, year)
    units = {
        o.id: o.name
        for o in await Organization.filter(
            id__in={r.activity.organization_id for r in found.records}
        )
    }
    rows = []
    for record in found.records:
        activity = record.activity
        start, end = activity.starts_at.astimezone(CHINA), activity.ends_at.astimezone(CHINA)
        when = (
            f"{start:%Y-%m-%d}" if start.date() == end.date() else f"{start:%m-%d} 至 {end:%m-%d}"
        )
        rows.append(
            {
                "title": activity.title,
                "unit": units.get(activity.organization_id, ""),
                "when": when,
                "hours": f"{record.minutes / 60:.1f}",
                "recorded": record.recorded_minutes is not None,
            }
        )
    return {
        "title": f"{year}年度科技志愿服务记录",
        "label": f"{year}年全国科普日活动",
        "name": person.name,
        "phone": mask_phone(person.phone),
        "year": year,
        "rows": rows,
        "activities": len(rows),
        "hours": f"{found.minutes / 60:.1f}",
        "serial": f"KPV-{year}-{document.id:08d}",
        "issued": f"{now().astimezone(CHINA):%Y年%m月%d日}",
    }


async def _schedule_rows(flt: ActivityFilter) -> list[tuple[str, list[list[Any]]]]:
    """Rows of the schedule, one sheet per province (plain values, read in keyset batches):
    each row with its own filing unit and that unit's contact, its city and county, and its
    times as China's wall-clock times (a spreadsheet has no time zones)."""
    query = await filtered(Activity.filter(status__in=SCHEDULE_STATUSES, deleted_at=None), flt)
    sheets: dict[str, list[list[Any]]] = {}
    after = 0
    while True:
        batch = (
            await query.filter(id__gt=after)
            .order_by("id")
            .limit(2000)
            .values(
                "id",
                "title",
                "host_units",
                "starts_at",
                "ends_at",
                "address",
                "online_url",
                "form",
                "expected_participants",
                "province_code",
                "prefecture_code",
                "region_id",
                "organization__name",
                "organization__contact_name",
                "organization__contact_phone",
            )
        )
        if not batch:
            break
        after = batch[-1]["id"]
        for row in batch:
            sheets.setdefault(row["province_code"], []).append(
                [
                    row["title"],
                    "、".join(row["host_units"] or []),
                    row["organization__name"],
                    await _place_name(row["prefecture_code"], row["region_id"]),
                    _wall_clock(row["starts_at"]),
                    _wall_clock(row["ends_at"]),
                    row["address"] or row["online_url"] or "",
                    FORMS[ActivityForm(row["form"])],
                    row["expected_participants"],
                    row["organization__contact_name"],
                    row["organization__contact_phone"],
                ]
            )
    named = []
    for code in sorted(sheets):
        region = await get_region(code)
        rows = sorted(sheets[code], key=lambda r: (r[4], r[0]))
        named.append((region.name if region else code, rows))
    return named


def _wall_clock(moment: datetime) -> datetime:
    return moment.astimezone(CHINA).replace(tzinfo=None)


async def _place_name(prefecture_code: str | None, region_code: str) -> str:
    """ "成都市锦江区": the city and the county (the region alone when it is the city)."""
    region = await get_region(region_code)
    city = await get_region(prefecture_code) if prefecture_code else None
    if region is None:
        return region_code
    if city is None or city.code == region.code:
        return region.name
    return f"{city.name}{region.name}"


def _schedule_title(flt: ActivityFilter) -> tuple[str, str]:
    """The schedule's title and the line under it."""
    year = f"{flt.year}年" if flt.year else ""
    made = f"{now().astimezone(CHINA):%Y-%m-%d %H:%M}"
    return (
        f"{year}全国科普日重点活动安排表",
        f"审核通过的活动，导出时间：{made}（北京时间）",
    )


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
        await _step(document_id, status, percent, notify, **fields)

    await progress(DocumentStatus.RUNNING, 10, attempts=document.attempts + 1)
    loop = asyncio.get_running_loop()
    if document.kind is DocumentKind.SUMMARY_REPORT:
        with sql.reads_from(sql.REPLICA):  # aggregates of public work: the replica, if any
            figures = await reports.summary(reports.Scope(**document.parameters))
        html = pdf.render_html("summary_report.html", figures)
        await progress(DocumentStatus.RUNNING, 50)
        data = await loop.run_in_executor(pool, pdf.render_pdf, html)
        extension = "pdf"
    elif document.kind is DocumentKind.CERTIFICATES:
        campaign_id = int(document.parameters["campaign_id"])

        async def rendered(done: int, total: int) -> None:
            await progress(DocumentStatus.RUNNING, 10 + 75 * done // max(total, 1))

        data = (await certificates.render_all(campaign_id, base_url, pool, rendered)).data
        extension = "zip"
    elif document.kind is DocumentKind.ACTIVITY_SCHEDULE:
        wanted = ActivityFilter.from_parameters(document.parameters)
        with sql.reads_from(sql.REPLICA):
            sheets = await _schedule_rows(wanted)
        await progress(DocumentStatus.RUNNING, 50)
        title, note = _schedule_title(wanted)
        data = await loop.run_in_executor(
            pool, spreadsheets.write_workbook, sheets, spreadsheets.SCHEDULE_COLUMNS, title, note
        )
        extension = "xlsx"
    elif document.kind is DocumentKind.BOOKING_LIST:
        activity = await Activity.get(id=document.activity_id)
        sheets = await _booking_rows(activity)
        await progress(DocumentStatus.RUNNING, 50)
        made = f"{now().astimezone(CHINA):%Y-%m-%d %H:%M}"
        data = await loop.run_in_executor(
            pool,
            spreadsheets.write_workbook,
            sheets,
            spreadsheets.BOOKING_COLUMNS,
            f"《{activity.title}》预约名单",
            f"导出时间：{made}（北京时间），手机号已隐去中间四位",
        )
        extension = "xlsx"
    elif document.kind is DocumentKind.VOLUNTEER_RECORD:
        html = pdf.render_html("volunteer_record.html", await _volunteering_data(document))
        await progress(DocumentStatus.RUNNING, 40)
        data = await loop.run_in_executor(pool, pdf.render_pdf, html)
        extension = "pdf"
    else:
        activity = await Activity.get(id=document.activity_id)
        html = pdf.render_html(
            "activity_summary.html", await _activity_data(activity, counters, base_url)
        )
        await progress(DocumentStatus.RUNNING, 40)
        data = await loop.run_in_executor(pool, pdf.render_pdf, html)
        extension = "pdf"
    await progress(DocumentStatus.RUNNING, 90)
    # stored whole before the document says READY: nobody is ever handed half a file
    path = await storage.save(f"documents/{document.id}.{extension}", data, document.content_type)
    await progress(
        DocumentStatus.READY,
        100,
        file=path,
        size=len(data),
        checksum=hashlib.sha256(data).hexdigest(),
        error=None,
        expires_at=now() + KEEP_FOR,
    )
    await notifications.document_ready(document.id, document.requester_id, document.filename)
    if document.kind is DocumentKind.CERTIFICATES:
        await jobs.enqueue(
            "announce_commendations",
            document.parameters["campaign_id"],
            True,
            job_id=f"announce_certificates:{document.id}",
        )
    return True


async def _step(
    document_id: int, status: DocumentStatus, percent: int, notify: Notify, **fields: Any
) -> None:
    """A document's new status and progress, stamped (by the wall clock, which the sweep of
    stranded documents reads) and told to its live subscribers."""
    await Document.filter(id=document_id).update(
        status=status, progress=percent, updated_at=timezone.now(), **fields
    )
    await notify({"status": status.value, "progress": percent})


async def mark_failed(document_id: int, error: str, notify: Notify = _nobody) -> None:
    await _step(document_id, DocumentStatus.FAILED, 0, notify, error=error[:500])


async def mark_retrying(document_id: int, error: str, notify: Notify = _nobody) -> None:
    await _step(document_id, DocumentStatus.QUEUED, 0, notify, error=error[:500])


# A document still QUEUED or RUNNING this long after its last step has lost its job, or never
# had one: its enqueue failed (Redis away) or Redis restarted empty. (A worker that died holds
# its job no longer than its lease: `workers.main.Worker`.)
STRANDED_AFTER = timedelta(minutes=2)


async def requeue_stranded() -> int:
    """Queue the job of every stranded document again, under the job's own id: arq ignores the
    id while the job still exists, so only lost jobs are queued anew. Returns how many were
    looked at (an indexed query; the wall clock, as records are stamped by it)."""
    stranded = await Document.filter(
        status__in=[DocumentStatus.QUEUED, DocumentStatus.RUNNING],
        updated_at__lt=timezone.now() - STRANDED_AFTER,
    ).values_list("id", flat=True)
    for document_id in stranded:
        await jobs.enqueue("render_document", document_id, job_id=f"render_document:{document_id}")
    return len(stranded)


# ---------------------------------------------------------------- signed links


def link_subject(document_id: int) -> str:
    return f"document:{document_id}"


def signed_link(base_url: str, secret: str, document: Document) -> str:
    return links.signed_url(base_url, secret, f"documents/{document.id}", link_subject(document.id))
