"""Documents: 200 activity summary PDFs through the real queue against a plain warm loop, a
national summary report over 100,000 activities, and 1,750 certificates of commendation.

    .venv/bin/python -m bench.documents [--backend embedded|servers] [--documents N] [--report N]
                                        [--certificates N] [--only certificates]

The queue run enqueues one job per document and lets an arq worker with its process pool (one
process per core) render them; the plain run renders the same documents one after another in this
process with WeasyPrint already warm. Both print ms per document; the ratio is queue / plain.

Certificates: `requestCertificates` is one job that renders every final commendation of a year on
the worker's pool and packs the ZIP (one PDF each, one combined PDF); the plain loop renders the
same certificates one after another, one WeasyPrint document each, in this process (warm). The
wall time of the queue run lasts from the enqueue to the document being READY.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import time
from datetime import timedelta
from typing import Any

from bench.setup import bench_environment


async def this_years_school(name: str) -> tuple[Any, Any]:
    """This year's campaign (made if missing) and a new school in Chengdu."""
    from infra.clock import today
    from models import Campaign, Organization
    from models.enums import OrganizationKind

    campaign, _ = await Campaign.get_or_create(
        year=today().year,
        defaults={"name": "压测", "theme": "压测", "starts_on": today(), "ends_on": today()},
    )
    unit = await Organization.create(
        name=name,
        kind=OrganizationKind.SCHOOL,
        region_id="510104",
        province_code="510000",
        prefecture_code="510100",
        contact_name="压测",
        contact_phone="13800000000",
        address="压测路",
    )
    return campaign, unit


async def seed(count: int, report_size: int) -> tuple[list[int], int]:
    """`count` approved activities to render, and `report_size` more across the provinces."""
    from infra import qr
    from infra.clock import now
    from models import Activity, ActivityStats, Organization, Region
    from models.enums import ActivityForm, ActivityStatus, OrganizationKind, RegionLevel

    campaign, unit = await this_years_school("压测学校")
    year = campaign.year
    counties = await Region.filter(level=RegionLevel.COUNTY).order_by("code").limit(2000)
    provinces = {
        o.region_id: o
        for o in await Organization.filter(kind=OrganizationKind.PROVINCIAL_ASSOCIATION)
    }
    rng = random.Random(7)
    moment = now()
    total = count + report_size
    rows = []
    for i in range(total):
        county = counties[i % len(counties)]
        supervisor = provinces.get(county.province_code) or provinces["510000"]
        rows.append(
            Activity(
                campaign=campaign,
                organization=unit,
                title=f"压测科普活动{i:06d}",
                description="面向公众的科普活动。" * 5,
                form=rng.choice(list(ActivityForm)),
                starts_at=moment - timedelta(days=3),
                ends_at=moment - timedelta(days=3, hours=-3),
                region_id=county.code,
                province_code=county.province_code,
                prefecture_code=county.prefecture_code,
                address="压测路1号",
                supervisor_kind=OrganizationKind.OTHER,
                supervisor=supervisor,
                supervisor_name="其他",
                host_units=["压测学校"],
                status=ActivityStatus.APPROVED,
                submitted_at=moment,
                reviewed_at=moment,
                qr_token=qr.new_token(),
                participant_count=rng.randint(10, 900),
                summary_text="活动顺利开展。",
                summarized_at=moment,
            )
        )
    for start in range(0, total, 5000):
        await Activity.bulk_create(rows[start : start + 5000])
    ids = await Activity.filter(campaign=campaign).order_by("id").values_list("id", flat=True)
    for start in range(0, len(ids), 5000):
        await ActivityStats.bulk_create(
            [
                ActivityStats(
                    activity_id=a, check_ins=rng.randint(0, 500), likes=rng.randint(0, 200)
                )
                for a in ids[start : start + 5000]
            ]
        )
    return [int(i) for i in ids[:count]], year


async def run(backend: str, count: int, report_size: int) -> dict[str, Any]:
    from infra import pdf
    from kepuri.queue import open_queue
    from kepuri.redis import redis_client
    from models import Activity, Document
    from models.enums import DocumentKind, DocumentStatus
    from services import documents, reports
    from services.counters import Counters
    from workers.main import build_worker

    results: dict[str, Any] = {}
    async with bench_environment(backend, "docs", 15) as settings:
        ids, year = await seed(count, report_size)
        redis = redis_client(settings)
        await redis.flushdb()
        counters = Counters(redis)

        # the plain loop: one process, WeasyPrint warm (the first render is not timed)
        first = await Activity.get(id=ids[0])
        html = pdf.render_html(
            "activity_summary.html",
            await documents._activity_data(first, counters, settings.public_base_url),
        )
        pdf.render_pdf(html)
        started = time.perf_counter()
        for activity_id in ids:
            activity = await Activity.get(id=activity_id)
            html = pdf.render_html(
                "activity_summary.html",
                await documents._activity_data(activity, counters, settings.public_base_url),
            )
            pdf.render_pdf(html)
        plain = (time.perf_counter() - started) * 1000 / len(ids)

        # the queue: one job per document, an arq worker with its process pool
        queue = await open_queue(settings)
        docs = [
            await Document.create(
                kind=DocumentKind.ACTIVITY_SUMMARY,
                activity_id=a,
                fingerprint=f"bench-{a}",
                filename="x.pdf",
                content_type="application/pdf",
            )
            for a in ids
        ]
        worker = build_worker(
            settings,
            await open_queue(settings),
            with_cron=False,
            burst=True,
            poll_delay=0.01,
            max_jobs=16,
        )
        started = time.perf_counter()
        for document in docs:
            await queue.enqueue_job(
                "render_document", document.id, _job_id=f"render_document:{document.id}"
            )
        await worker.async_run()
        queued = (time.perf_counter() - started) * 1000 / len(ids)
        ready = await Document.filter(status=DocumentStatus.READY).count()
        pool = worker.ctx.get("pool")
        if pool is not None:
            pool.shutdown()
        await worker.close()
        await queue.aclose()

        # a national summary report over every seeded activity
        started = time.perf_counter()
        figures = await reports.summary(reports.Scope(year=year))
        aggregated = time.perf_counter() - started
        pdf.render_pdf(pdf.render_html("summary_report.html", figures))
        reported = time.perf_counter() - started
        await redis.aclose()
        results = {
            "documents": len(ids),
            "ready": ready,
            "plain_ms": plain,
            "queue_ms": queued,
            "report_activities": figures["approved"],
            "report_aggregate_s": aggregated,
            "report_total_s": reported,
        }
    return results


async def seed_commendations(count: int) -> int:
    """A year with `count` final commendations (a unit's or an activity's each), as
    `finalizeCommendations` leaves them."""
    from infra.clock import now
    from models import Commendation
    from models.enums import CommendationKind, CommendationStatus
    from services.commendations import serial_for

    campaign, unit = await this_years_school("压测表扬学校")
    moment = now()
    units = count * 46 // 100  # about the real ratio: 1,463 units to 1,747 activities
    rows = []
    for i in range(count):
        kind = CommendationKind.UNIT if i < units else CommendationKind.ACTIVITY
        number = i + 1 if kind is CommendationKind.UNIT else i + 1 - units
        rows.append(
            Commendation(
                campaign_id=campaign.id,
                kind=kind,
                organization_id=unit.id,
                holder_name=f"四川省成都市第{i + 1}实验学校"
                if kind is CommendationKind.UNIT
                else f"“科学点亮童年”青少年科普系列活动第{i + 1}场",
                unit_name="四川省成都市锦江区实验小学",
                status=CommendationStatus.FINAL,
                active_target=f"{kind.value}:{i}",
                notice_starts_at=moment,
                notice_ends_at=moment,
                finalized_at=moment,
                serial=serial_for(campaign.year, kind, number),
            )
        )
    await Commendation.bulk_create(rows, batch_size=1000)
    return campaign.id


async def run_certificates(backend: str, count: int) -> dict[str, Any]:
    from infra import pdf
    from kepuri.queue import open_queue
    from models import Campaign, Commendation, Document
    from models.enums import CommendationStatus, DocumentKind, DocumentStatus
    from services import certificates
    from workers.main import build_worker

    async with bench_environment(backend, "certificates", 14) as settings:
        campaign_id = await seed_commendations(count)
        campaign = await Campaign.get(id=campaign_id)
        body = await certificates.commending_body()
        rows = (
            await Commendation.filter(campaign_id=campaign_id, status=CommendationStatus.FINAL)
            .order_by("kind", "id")
            .values("id", "kind", "serial", "holder_name", "unit_name", "finalized_at")
        )
        base_url = settings.public_base_url

        def one(row: dict[str, Any]) -> bytes:
            data = certificates.certificate_data(row, campaign, body, base_url)
            data["qr"] = certificates.qr_data_uri(data["verify_url"])
            html = pdf.render_html("certificate.html", {"certificates": [data]})
            return pdf.render_pdf(html)

        one(rows[0])  # warm: fonts and templates loaded, as in a warm worker
        started = time.perf_counter()
        for row in rows:
            one(row)
        plain = time.perf_counter() - started

        started = time.perf_counter()
        for start in range(0, len(rows), certificates.CHUNK):
            certificates.render_chunk(
                [
                    certificates.certificate_data(row, campaign, body, base_url)
                    for row in rows[start : start + certificates.CHUNK]
                ],
            )
        chunked = time.perf_counter() - started

        document = await Document.create(
            kind=DocumentKind.CERTIFICATES,
            fingerprint="bench-certificates",
            filename="certificates.zip",
            content_type="application/zip",
            parameters={"campaign_id": campaign_id},
        )
        queue = await open_queue(settings)
        worker = build_worker(
            settings, await open_queue(settings), with_cron=False, burst=True, poll_delay=0.01
        )
        started = time.perf_counter()
        await queue.enqueue_job("render_document", document.id, _job_id=f"cert:{document.id}")
        running = asyncio.create_task(worker.async_run())
        while True:
            status = await Document.filter(id=document.id).first().values_list("status", flat=True)
            if status in (DocumentStatus.READY, DocumentStatus.FAILED) or running.done():
                break
            await asyncio.sleep(0.05)
        queued = time.perf_counter() - started
        await running
        ready = await Document.get(id=document.id)
        pool = worker.ctx.get("pool")
        processes = len(pool._processes or {}) if pool is not None else 0
        if pool is not None:
            pool.shutdown()
        await worker.close()
        await queue.aclose()
        return {
            "certificates": len(rows),
            "status": ready.status.value,
            "zip_mb": (ready.size or 0) / 1e6,
            "processes": processes,
            "plain_s": plain,
            "chunked_s": chunked,
            "chunk": certificates.CHUNK,
            "queue_s": queued,
        }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=["embedded", "servers"], default="embedded")
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--report", type=int, default=100_000, help="activities in the report")
    parser.add_argument("--certificates", type=int, default=1750)
    parser.add_argument("--only", choices=["all", "certificates"], default="all")
    args = parser.parse_args()
    if args.certificates:
        c = asyncio.run(run_certificates(args.backend, args.certificates))
        n = c["certificates"]
        print(f"\n== certificates, {args.backend}, {os.cpu_count()} cores")
        print(
            f"{n} certificates of commendation, one A4 page each: {c['status']}, "
            f"ZIP {c['zip_mb']:.1f} MB"
        )
        print(
            f"  plain warm loop, one process, one document each: {c['plain_s']:6.1f} s "
            f"({n / c['plain_s']:5.1f} pages/s)"
        )
        print(
            f"  (the same process, {c['chunk']} per document: {c['chunked_s']:6.1f} s, "
            f"{n / c['chunked_s']:5.1f} pages/s)"
        )
        print(
            f"  through the queue (arq job, pool of {c['processes']}, ZIP + combined PDF): "
            f"{c['queue_s']:6.1f} s ({n / c['queue_s']:5.1f} pages/s)"
        )
        print(f"  ratio queue / plain: {c['queue_s'] / c['plain_s']:.2f} (target at most 0.60)")
    if args.only == "certificates":
        return 0
    r = asyncio.run(run(args.backend, args.documents, args.report - args.documents))
    print(f"\n== documents, {args.backend}, {os.cpu_count()} cores")
    print(f"activity summary PDFs: {r['ready']}/{r['documents']} ready")
    print(f"  plain warm loop, one process: {r['plain_ms']:7.1f} ms per document")
    print(f"  through the queue (arq + pool): {r['queue_ms']:7.1f} ms per document")
    print(f"  ratio queue / plain: {r['queue_ms'] / r['plain_ms']:.2f} (target at most 0.60)")
    print(
        f"national summary report over {r['report_activities']:,} approved activities: "
        f"{r['report_aggregate_s']:.2f} s of SQL, {r['report_total_s']:.2f} s with the PDF "
        "(target under 120 s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
