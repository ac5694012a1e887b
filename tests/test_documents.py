"""Documents: an activity summary PDF requested through the API, rendered by a real arq worker
(WeasyPrint in its process pool), read back, and downloaded by a signed link."""

from __future__ import annotations

import asyncio
import io
import json
import os
from datetime import datetime
from urllib.parse import parse_qs, unquote, urlparse

import httpx
import pypdfium2 as pdfium
import pytest
import websockets
import zxingcpp
from PIL import ImageOps
from pypdf import PdfReader
from tortoise.expressions import Subquery

from infra import pdf
from models import Activity, ActivityStats, Document, Organization, Region
from models.enums import (
    ActivityStatus,
    DocumentStatus,
    MemberRole,
    OrganizationKind,
    RegionLevel,
)
from schema.ids import to_global_id
from services import documents as document_rules
from services import reports
from tests.conftest import (
    Api,
    china,
    graphql_subscription,
    kepuri_process,
    next_message,
    process_env,
    run_worker,
    set_now,
)
from tests.factories import (
    filing_unit,
    make_activity,
    make_campaign,
    member,
    national_organizer,
    person,
    reviewer_of,
)

REQUEST = """
mutation($a: ID!) {
  requestActivitySummaryPdf(activityId: $a) { document { id status } errors { field code } }
}
"""
DOCUMENT = (
    "query($id: ID!) { document(id: $id) { id kind status progress downloadUrl expiresAt error } }"
)


@pytest.fixture
async def summarized(api: Api):
    campaign = await make_campaign()
    unit, filer = await filing_unit(api)
    activity = await make_activity(
        unit,
        campaign,
        title="青少年航天科普讲座",
        starts_at="2026-09-20 09:00",
        ends_at="2026-09-20 12:00",
    )
    activity.summary_text = "三百名学生参加，反响热烈。"
    activity.participant_count = 321
    activity.summarized_at = china("2026-09-21 10:00")
    await activity.save()
    set_now(china("2026-09-22 10:00"))
    return {"activity": activity, "id": to_global_id("Activity", activity.id), "filer": filer}


async def fetch(api: Api, url: str) -> httpx.Response:
    parsed = urlparse(url)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="http://testserver"
    ) as client:
        return await client.get(f"{parsed.path}?{parsed.query}")


async def test_an_activity_summary_is_rendered_and_downloaded(
    api: Api, summarized, app, base_settings
):
    token = summarized["filer"].token

    requested = (await api.data(REQUEST, {"a": summarized["id"]}, token=token))[
        "requestActivitySummaryPdf"
    ]
    again = (await api.data(REQUEST, {"a": summarized["id"]}, token=token))[
        "requestActivitySummaryPdf"
    ]
    assert requested["document"]["status"] == "QUEUED"
    assert again["document"]["id"] == requested["document"]["id"]  # unchanged inputs

    await run_worker(app, base_settings)

    ready = (await api.data(DOCUMENT, {"id": requested["document"]["id"]}, token=token))["document"]
    assert (ready["status"], ready["progress"], ready["kind"]) == ("READY", 100, "ACTIVITY_SUMMARY")
    response = await fetch(api, ready["downloadUrl"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert (
        "filename*=UTF-8''%E6%B4%BB%E5%8A%A8%E6%80%BB%E7%BB%93"
        in (response.headers["content-disposition"])
    )
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "青少年航天科普讲座" in text
    assert "2026年全国科普日活动" in text
    assert "321" in text and "三百名学生参加" in text
    # approved without a review row (as activities imported or seeded are): the status decides;
    # the supervising unit is the one that reviews it, not the category "其他" the filer chose
    reviewer = await Organization.get(id=summarized["activity"].supervisor_id)
    assert "审核通过" in text and "待审核" not in text
    assert reviewer.name in text
    image = next(iter(reader.pages[0].images)).image
    decoded = zxingcpp.read_barcodes(image.convert("RGB"))
    assert [d.text for d in decoded] == [
        f"{base_settings.public_base_url}/a/{summarized['activity'].qr_token}"
    ]


async def test_one_pool_renders_every_document(api: Api, app, base_settings):
    """Jobs get a copy of the worker's ctx: a pool made inside a job started two processes
    per document (found by bench/documents). The pool belongs to the worker."""
    campaign = await make_campaign()
    unit, filer = await filing_unit(api)
    for i in range(4):
        activity = await make_activity(unit, campaign, title=f"活动{i}")
        await api.data(REQUEST, {"a": to_global_id("Activity", activity.id)}, token=filer.token)

    processes = await run_worker(app, base_settings)

    assert await Document.filter(status=DocumentStatus.READY).count() == 4
    assert 1 <= processes <= (os.cpu_count() or 2)


async def test_a_changed_activity_gets_a_new_document(api: Api, summarized, app):
    token = summarized["filer"].token
    first = (await api.data(REQUEST, {"a": summarized["id"]}, token=token))[
        "requestActivitySummaryPdf"
    ]["document"]["id"]
    activity = summarized["activity"]
    activity.title = "改过的标题"
    await activity.save()

    second = (await api.data(REQUEST, {"a": summarized["id"]}, token=token))[
        "requestActivitySummaryPdf"
    ]["document"]["id"]

    assert first != second


async def test_a_tampered_or_expired_link_is_refused(api: Api, summarized, app, base_settings):
    token = summarized["filer"].token
    document_id = (await api.data(REQUEST, {"a": summarized["id"]}, token=token))[
        "requestActivitySummaryPdf"
    ]["document"]["id"]
    await run_worker(app, base_settings)
    url = (await api.data(DOCUMENT, {"id": document_id}, token=token))["document"]["downloadUrl"]
    query = parse_qs(urlparse(url).query)
    base = url.split("?")[0]

    tampered_sig = await fetch(api, f"{base}?expires={query['expires'][0]}&sig={'0' * 64}")
    longer = await fetch(
        api, f"{base}?expires={int(query['expires'][0]) + 9999}&sig={query['sig'][0]}"
    )
    other = await fetch(
        api, url.replace(f"/documents/{base.rsplit('/', 1)[1]}", "/documents/999999")
    )
    set_now(china("2026-09-22 11:01"))
    expired = await fetch(api, url)

    assert [r.status_code for r in (tampered_sig, longer, other, expired)] == [403] * 4


@pytest.mark.parametrize("who", ["public", "other_unit", "qinghai_reviewer"])
async def test_only_the_unit_its_supervisors_and_staff_request_it(api: Api, summarized, who):
    tokens = {
        "public": (await person(api, "13988880001")).token,
        "other_unit": (await filing_unit(api, "13988880002", "510105", "别的学校"))[1].token,
        "qinghai_reviewer": (
            await reviewer_of(api, "13988880003", OrganizationKind.PROVINCIAL_ASSOCIATION, "630000")
        ).token,
    }

    body = await api.post(REQUEST, {"a": summarized["id"]}, token=tokens[who])

    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await Document.all().count() == 0


async def test_a_document_is_private_to_its_requester(api: Api, summarized):
    document_id = (
        await api.data(REQUEST, {"a": summarized["id"]}, token=summarized["filer"].token)
    )["requestActivitySummaryPdf"]["document"]["id"]
    someone = await person(api, "13988880004")

    assert (await api.data(DOCUMENT, {"id": document_id}, token=someone.token))["document"] is None


async def test_everyone_who_asked_for_a_shared_document_may_follow_it(api: Api, summarized):
    """The unit and its supervisor ask for the same summary: one document, which both may read
    (before, the second was handed a document it could not open); nobody else may."""
    sichuan = await reviewer_of(
        api, "13988880005", OrganizationKind.PROVINCIAL_ASSOCIATION, "510000"
    )
    mine = (await api.data(REQUEST, {"a": summarized["id"]}, token=summarized["filer"].token))[
        "requestActivitySummaryPdf"
    ]["document"]["id"]
    theirs = (await api.data(REQUEST, {"a": summarized["id"]}, token=sichuan.token))[
        "requestActivitySummaryPdf"
    ]["document"]["id"]
    someone = await person(api, "13988880006")

    assert mine == theirs and await Document.all().count() == 1
    assert (await api.data(DOCUMENT, {"id": mine}, token=sichuan.token))["document"]["id"] == mine
    assert (await api.data(DOCUMENT, {"id": mine}, token=someone.token))["document"] is None


async def test_two_activities_never_share_a_summary(api: Api, summarized):
    """The de-duplication key holds every input: two activities changed at the same instant
    shared one fingerprint (and one unit got the other's PDF)."""
    twin = await make_activity(
        (await Organization.get(id=summarized["activity"].organization_id)),
        await summarized["activity"].campaign,
        title="另一个活动",
    )
    await Activity.filter(id=twin.id).update(updated_at=summarized["activity"].updated_at)
    token = summarized["filer"].token

    first = await api.data(REQUEST, {"a": summarized["id"]}, token=token)
    second = await api.data(REQUEST, {"a": to_global_id("Activity", twin.id)}, token=token)

    ids = {r["requestActivitySummaryPdf"]["document"]["id"] for r in (first, second)}
    assert len(ids) == 2


async def test_a_job_that_fails_once_is_retried_and_succeeds(
    api: Api, summarized, app, base_settings, monkeypatch
):
    real = document_rules.render_document
    calls = []

    async def flaky(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise OSError("disk hiccup")
        return await real(*args, **kwargs)

    monkeypatch.setattr(document_rules, "render_document", flaky)
    document_id = (
        await api.data(REQUEST, {"a": summarized["id"]}, token=summarized["filer"].token)
    )["requestActivitySummaryPdf"]["document"]["id"]

    await run_worker(app, base_settings.with_overrides(document_retry_seconds=0.05))

    document = await Document.get()
    assert len(calls) == 2
    assert document.status is DocumentStatus.READY
    assert document_id


@pytest.mark.parametrize("where", ["render", "file"])
async def test_a_job_that_keeps_failing_ends_failed_with_a_readable_error(
    api: Api, summarized, app, base_settings, monkeypatch, where
):
    """However far it got (the file is written at 90%), FAILED shows no progress."""

    async def disk_full(*args, **kwargs):
        raise OSError("disk full")

    if where == "render":
        monkeypatch.setattr(document_rules, "render_document", disk_full)
    else:
        monkeypatch.setattr(document_rules.storage, "save", disk_full)
    document_id = (
        await api.data(REQUEST, {"a": summarized["id"]}, token=summarized["filer"].token)
    )["requestActivitySummaryPdf"]["document"]["id"]

    await run_worker(app, base_settings.with_overrides(document_retry_seconds=0.01))

    failed = (await api.data(DOCUMENT, {"id": document_id}, token=summarized["filer"].token))[
        "document"
    ]
    assert (failed["status"], failed["progress"]) == ("FAILED", 0)
    assert "文档生成失败" in failed["error"] and "disk full" in failed["error"]
    assert failed["downloadUrl"] is None


SUBSCRIBE = "subscription($id: ID!) { documentStatus(id: $id) { id status progress downloadUrl } }"


async def test_a_subscriber_follows_a_worker_in_another_process(
    api: Api, summarized, served, base_settings, backend
):
    token = summarized["filer"].token
    document_id = (await api.data(REQUEST, {"a": summarized["id"]}, token=token))[
        "requestActivitySummaryPdf"
    ]["document"]["id"]
    env = process_env(base_settings, backend)
    statuses: list[str] = []
    async with graphql_subscription(served, token, SUBSCRIBE, {"id": document_id}) as socket:
        first = await next_message(socket, 10)
        statuses.append(first["payload"]["data"]["documentStatus"]["status"])
        worker = await kepuri_process(env, "worker", "--burst")
        while True:
            message = await next_message(socket, 60)
            if message["type"] == "complete":
                break
            assert message["type"] == "next", message
            statuses.append(message["payload"]["data"]["documentStatus"]["status"])
        _, errors = await asyncio.wait_for(worker.communicate(), 60)
    assert worker.returncode == 0, errors.decode()

    assert [s for i, s in enumerate(statuses) if i == 0 or statuses[i - 1] != s] == [
        "QUEUED",
        "RUNNING",
        "READY",
    ]


@pytest.mark.parametrize(
    "payload",
    [
        {"authorization": "Bearer forged"},
        {"Authorization": "Bearer forged"},  # as the README has people type it
        {"AUTHORIZATION": "Bearer forged"},
        {"authorization": "Bearer forged", "Authorization": "Bearer other"},
    ],
)
async def test_a_subscription_needs_a_valid_token(served, summarized, payload):
    ws_url = served.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": payload}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(socket.recv(), 5)
    assert closed.value.rcvd.code == 4403


SCHEDULE = """
mutation($filter: ActivityFilter) {
  requestActivitySchedule(filter: $filter) { document { id status } errors { field code } }
}
"""


async def test_the_key_activity_schedule_is_a_spreadsheet_per_province(
    api: Api, app, base_settings
):
    from openpyxl import load_workbook

    campaign = await make_campaign()
    chengdu, _ = await filing_unit(api)
    xining, _ = await filing_unit(api, "13988880010", "630102", "西宁市第一中学")
    await make_activity(chengdu, campaign, title="成都科普展", starts_at="2026-09-20 09:00")
    pending = await make_activity(
        chengdu,
        campaign,
        title="待审核不列入",
        status=ActivityStatus.PENDING_REVIEW,
        starts_at="2026-09-19 09:00",
    )
    museum, _ = await filing_unit(api, "13988880013", "510703", "绵阳科技馆")
    museum.contact_name, museum.contact_phone = "王馆长", "13911112222"
    await museum.save()
    early = await make_activity(
        museum,
        campaign,
        title="绵阳科技馆开放日",
        starts_at="2026-09-18 09:30",
        ends_at="2026-09-18 12:30",
    )
    early.expected_participants = 500
    await early.save()
    await make_activity(chengdu, campaign, title="草稿不列入", status=ActivityStatus.DRAFT)
    await make_activity(xining, campaign, title="西宁科普日")
    staff = await member(api, "13988880011", await national_organizer(), MemberRole.REVIEWER)

    requested = (await api.data(SCHEDULE, {"filter": {"year": 2026}}, token=staff.token))[
        "requestActivitySchedule"
    ]
    await run_worker(app, base_settings)
    ready = (await api.data(DOCUMENT, {"id": requested["document"]["id"]}, token=staff.token))[
        "document"
    ]
    response = await fetch(api, ready["downloadUrl"])
    assert pending.title  # pending review: not yet a key activity of the schedule

    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "2026.xlsx" in unquote(response.headers["content-disposition"])
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["四川省", "青海省"]
    sheet = book["四川省"]
    sichuan = [[c.value for c in row] for row in sheet.iter_rows()]
    assert sichuan[0][0] == "2026年全国科普日重点活动安排表（四川省）"
    assert sichuan[1][0].startswith("审核通过的活动，导出时间：") and "共2项" in sichuan[1][0]
    assert sichuan[2] == [
        "活动名称",
        "主办单位",
        "填报单位",
        "所在地区",
        "开始时间",
        "结束时间",
        "活动地点",
        "活动形式",
        "预计参与人数",
        "联系人",
        "联系电话",
    ]
    # in time order, each row with its own unit, place and contact; times as real dates
    assert [r[0] for r in sichuan[3:]] == ["绵阳科技馆开放日", "成都科普展"]
    assert sichuan[3][2:6] == [
        "绵阳科技馆",
        "绵阳市涪城区",
        datetime(2026, 9, 18, 9, 30),
        datetime(2026, 9, 18, 12, 30),
    ]
    assert sichuan[3][7:] == ["线下", 500, "王馆长", "13911112222"]
    assert sichuan[4][2:4] == ["成都市锦江区实验小学", "成都市锦江区"]
    assert sichuan[4][9:] == ["李老师", "13900000000"]
    assert sheet["E4"].number_format == "yyyy-mm-dd hh:mm"
    # filtered, frozen under the headers, printed landscape one page wide with the headers
    assert sheet.auto_filter.ref == "A3:K5"
    assert sheet.freeze_panes == "A4"
    assert sheet.print_title_rows == "$3:$3"
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    qinghai = [[c.value for c in row] for row in book["青海省"].iter_rows()]
    assert [r[0] for r in qinghai[3:]] == ["西宁科普日"]


async def test_association_staff_export_only_their_region(api: Api):
    sichuan = await reviewer_of(
        api, "13988880012", OrganizationKind.PROVINCIAL_ASSOCIATION, "510000"
    )

    own = (await api.data(SCHEDULE, {"filter": {"regionCode": "510100"}}, token=sichuan.token))[
        "requestActivitySchedule"
    ]
    other = await api.post(SCHEDULE, {"filter": {"regionCode": "630000"}}, token=sichuan.token)
    national = await api.post(SCHEDULE, {}, token=sichuan.token)

    assert own["errors"] == [] and own["document"]["status"] == "QUEUED"
    assert other["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert national["errors"][0]["extensions"]["code"] == "FORBIDDEN"


REPORT = """
mutation($input: SummaryReportInput!) {
  requestSummaryReport(input: $input) { document { id status } errors { field code } }
}
"""


async def test_a_province_summary_report_counts_from_sql_and_draws_charts(
    api: Api, app, base_settings
):
    campaign = await make_campaign()
    chengdu, _ = await filing_unit(api)
    mianyang, _ = await filing_unit(api, "13988880020", "510703", "绵阳科技馆")
    xining, _ = await filing_unit(api, "13988880021", "630102", "西宁市第一中学")
    for i in range(3):
        done = await make_activity(chengdu, campaign, title=f"成都活动{i}")
        done.participant_count = 100
        done.summarized_at = china("2026-09-21 10:00")
        await done.save()
    await make_activity(mianyang, campaign, title="绵阳活动")
    await make_activity(chengdu, campaign, title="待审核", status=ActivityStatus.PENDING_REVIEW)
    await make_activity(xining, campaign, title="青海的不算")
    sichuan = await reviewer_of(
        api, "13988880022", OrganizationKind.PROVINCIAL_ASSOCIATION, "510000"
    )

    requested = (
        await api.data(
            REPORT, {"input": {"year": 2026, "regionCode": "510000"}}, token=sichuan.token
        )
    )["requestSummaryReport"]
    await run_worker(app, base_settings)
    url = (await api.data(DOCUMENT, {"id": requested["document"]["id"]}, token=sichuan.token))[
        "document"
    ]["downloadUrl"]
    text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO((await fetch(api, url)).content)).pages
    )

    flat = text.replace("\n", " ")
    assert "四川省2026年全国科普日活动总结报告" in text
    assert "5 已提交活动" in flat
    assert "300" in text  # participants of the three summarized activities
    assert "成都市" in text and "绵阳市" in text and "西宁" not in text
    assert "75.0%" in text  # 3 of 4 approved activities summarized
    # who issues it and when, as a reader who signs it needs; no remark meant for developers
    assert "出具单位：四川省科学技术协会" in flat
    assert "生成时间：2026年" in flat and "北京时间" in flat
    assert "截止时间之前" not in flat


async def test_a_national_report_is_titled_once_and_its_counts_agree(api: Api):
    """The status chart counts what the "submitted" tile counts (drafts are not filed); the
    nation's report is not titled 全国2026年全国…"""
    campaign = await make_campaign()
    unit, _ = await filing_unit(api, "13988880030")
    for status in (ActivityStatus.APPROVED, ActivityStatus.PENDING_REVIEW, ActivityStatus.DRAFT):
        await make_activity(unit, campaign, status=status, title=status.value)

    figures = await reports.summary(reports.Scope(year=2026))

    assert figures["title"] == "2026年全国科普日活动总结报告"
    assert figures["filed"] == sum(n for _, n in figures["by_status"]) == 2
    assert "草稿" not in dict(figures["by_status"])


async def test_a_national_report_flows_over_its_pages_without_gaps(api: Api):
    """Every province is listed, and the charts and the table break between their rows: no page
    but the last ends with a band of white (a chart too tall for the rest of a page went whole
    to the next one), and no heading stays at the foot of a page without its first row."""
    campaign = await make_campaign()
    unit, _ = await filing_unit(api, "13988880031")
    associations = Organization.filter(kind=OrganizationKind.PROVINCIAL_ASSOCIATION)
    provinces = await Region.filter(code__in=Subquery(associations.values("region_id")))
    assert len(provinces) >= 31
    for n, province in enumerate(provinces):
        county = await Region.filter(province_code=province.code, level=RegionLevel.COUNTY).first()
        for i in range(1 + n % 3):
            activity = await make_activity(
                unit, campaign, region_code=(county or province).code, title=f"活动{n}-{i}"
            )
            await ActivityStats.filter(activity=activity).update(check_ins=n * 10 + i)

    figures = await reports.summary(reports.Scope(year=2026))
    data = pdf.render_pdf(pdf.render_html("summary_report.html", figures))

    pages = list(pdfium.PdfDocument(data))
    texts = [page.get_textpage().get_text_range() for page in pages]
    assert all(p.name in "".join(texts) for p in provinces)
    assert len(pages) > 1
    for page, text in zip(pages[:-1], texts, strict=False):
        image = page.render(scale=1).to_pil().convert("L")
        footer = image.height - 45  # the page number, below the bottom margin (18 mm)
        ink = ImageOps.invert(image.crop((0, 0, image.width, footer))).point(lambda v: v > 95)
        assert footer - ink.getbbox()[3] < 0.12 * footer, text[-80:]
    first_rows = {
        "地区分布": max(figures["by_region"], key=lambda r: r[1])[0],
        "打卡最多的活动": "活动名称",
    }
    for heading, first in first_rows.items():
        page = next(t for t in texts if heading in t)
        assert first in page.split(heading, 1)[1], heading


@pytest.mark.parametrize(
    ("scope", "expected"),
    [
        ({"national": True}, "FORBIDDEN"),
        ({"regionCode": "630000"}, "FORBIDDEN"),
        ({"regionCode": "510000", "national": True}, "INVALID"),
        ({}, "INVALID"),
    ],
)
async def test_summary_report_scopes(api: Api, scope, expected):
    sichuan = await reviewer_of(
        api, "13988880023", OrganizationKind.PROVINCIAL_ASSOCIATION, "510000"
    )

    body = await api.post(REPORT, {"input": {"year": 2026, **scope}}, token=sichuan.token)

    if expected == "FORBIDDEN":
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    else:
        assert [e["code"] for e in body["data"]["requestSummaryReport"]["errors"]] == [expected]
    assert await Document.all().count() == 0


async def test_expired_documents_and_their_files_are_purged(
    api: Api, summarized, app, base_settings
):
    from infra import storage
    from services.maintenance import purge_expired

    await api.data(REQUEST, {"a": summarized["id"]}, token=summarized["filer"].token)
    await run_worker(app, base_settings)
    document = await Document.get()
    assert await storage.exists(document.file)
    set_now(china("2026-10-01 10:00"))  # a week and more later

    result = await purge_expired()

    assert result["documents"] == 1
    assert not await storage.exists(document.file)
    assert await Document.all().count() == 0


def test_the_pdf_fetcher_fetches_nothing_but_inline_images():
    from infra import pdf

    fetch = pdf._fetcher()

    # inline images are inert: a certificate carries its QR code so, a summary its photos
    assert fetch("data:image/png;base64,iVBORw0KGgo=").read() == b"\x89PNG\r\n\x1a\n"
    for url in (
        "file:///etc/passwd",
        "http://example.com/x.png",
        "https://127.0.0.1/",
        pdf.INLINE_ONLY + "../../etc/passwd",
        pdf.INLINE_ONLY + "qr/A.png",
        "data:text/html,<img src='file:///etc/passwd'>",
    ):
        with pytest.raises(ValueError):
            fetch(url)
