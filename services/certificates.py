"""Certificates of commendation: one A4 page per final commendation, rendered on the document
pipeline, each saved on its own (downloadable by its holder) and all of them packed as a ZIP with
one combined PDF; and their public verification by serial number.

Rendering is split into chunks handed to the worker's process pool: each chunk is one WeasyPrint
document (fonts and styles laid out once) whose pages are then written out one PDF each.
"""

from __future__ import annotations

import asyncio
import base64
import io
import re
import zipfile
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from infra import links, pdf, qr, storage
from infra.clock import CHINA
from models import Campaign, Commendation, Organization
from models.enums import CommendationKind, CommendationStatus, OrganizationKind
from services.recommendations import KIND_LABELS

CHUNK = 25
_DRAWN = re.compile(rb"/([^\s/\[\]()<>]+)\s+Do\b")
TRIBUTES = {
    CommendationKind.UNIT: "在{label}中，组织工作扎实有效，成绩突出，"
    "被评为{label}优秀组织单位，特发此证，以资鼓励。",
    CommendationKind.ACTIVITY: "在{label}中，所举办的活动特色鲜明、成效显著，"
    "被评为{label}优秀活动，特发此证，以资鼓励。",
}


def verify_url(base_url: str, serial: str) -> str:
    return f"{base_url.rstrip('/')}/verify/{serial}"


def qr_data_uri(url: str) -> str:
    return "data:image/png;base64," + base64.b64encode(qr.render_png(url)).decode()


def _chinese_date(moment: datetime) -> str:
    day = moment.astimezone(CHINA).date()
    return f"{day.year}年{day.month}月{day.day}日"


async def commending_body() -> str:
    organizer = await Organization.filter(kind=OrganizationKind.NATIONAL_ORGANIZER).first()
    return organizer.name if organizer else "全国科普日组委会"


def certificate_data(
    entry: dict[str, Any], campaign: Campaign, body: str, base_url: str
) -> dict[str, Any]:
    """Plain data of one certificate (a row of `Commendation.values()`)."""
    kind = CommendationKind(entry["kind"])
    return {
        "serial": entry["serial"],
        "holder": entry["holder_name"],
        "unit": entry["unit_name"] if kind is CommendationKind.ACTIVITY else None,
        "tribute": TRIBUTES[kind].format(label=campaign.label),
        "kind": KIND_LABELS[kind],
        "body": body,
        "date": _chinese_date(entry["finalized_at"]),
        "verify_url": verify_url(base_url, entry["serial"]),
    }


def render_chunk(certificates: list[dict[str, Any]]) -> tuple[bytes, list[bytes]]:
    """Certificates laid out as one document (runs in a pool process, QR codes included): that
    document, and one PDF per certificate cut from it. The pages of one document share their
    resources: each page keeps only the images it draws (its own QR code), so that a certificate
    carries nobody else's."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import DictionaryObject, NameObject

    pages_data = [{**c, "qr": qr_data_uri(c["verify_url"])} for c in certificates]
    html = pdf.render_html("certificate.html", {"certificates": pages_data})
    whole = pdf.render_pdf(html)
    reader = PdfReader(io.BytesIO(whole))
    pages = []
    for page in reader.pages:
        drawn = set(_DRAWN.findall(page.get_contents().get_data()))  # type: ignore[union-attr]
        resources = DictionaryObject(page["/Resources"].get_object())  # type: ignore[call-overload]
        images = resources.get("/XObject")
        if images is not None:
            resources[NameObject("/XObject")] = DictionaryObject(
                {k: v for k, v in images.get_object().items() if k[1:].encode() in drawn}
            )
        page[NameObject("/Resources")] = resources
        writer = PdfWriter()
        writer.add_page(page)
        out = io.BytesIO()
        writer.write(out)
        pages.append(out.getvalue())
    return whole, pages


def pack(files: list[tuple[str, bytes]], wholes: list[bytes], combined_name: str) -> bytes:
    """A ZIP of the certificates' PDFs and one combined PDF of all of them, joined from the
    chunks' documents (runs in a pool process; PDFs are compressed already, so they are stored)."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for whole in wholes:
        writer.append(io.BytesIO(whole))
    combined = io.BytesIO()
    writer.write(combined)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in files:
            archive.writestr(name, data)
        archive.writestr(combined_name, combined.getvalue())
    return out.getvalue()


Progress = Callable[[int, int], Awaitable[None]]  # certificates done, of how many


@dataclass(frozen=True)
class Rendered:
    data: bytes
    count: int


async def render_all(
    campaign_id: int, base_url: str, pool: Executor | None, progress: Progress
) -> Rendered:
    """Render every final commendation of a campaign: each certificate is saved where its holder
    downloads it, and the ZIP (with the combined PDF) is returned."""
    campaign = await Campaign.get(id=campaign_id)
    body = await commending_body()
    rows = (
        await Commendation.filter(campaign_id=campaign_id, status=CommendationStatus.FINAL)
        .order_by("kind", "id")
        .values("id", "kind", "serial", "holder_name", "unit_name", "finalized_at")
    )
    loop = asyncio.get_running_loop()
    chunks = [rows[i : i + CHUNK] for i in range(0, len(rows), CHUNK)]
    futures = [
        loop.run_in_executor(
            pool,
            render_chunk,
            [certificate_data(row, campaign, body, base_url) for row in chunk],
        )
        for chunk in chunks
    ]
    files: list[tuple[str, bytes]] = []
    wholes: list[bytes] = []
    done = 0
    for chunk, future in zip(chunks, futures, strict=True):
        whole, pages = await future
        wholes.append(whole)
        saved = []
        for row, data in zip(chunk, pages, strict=True):
            relative = f"certificates/{campaign.year}/{row['serial']}.pdf"
            path = await storage.save(relative, data, "application/pdf")
            saved.append(Commendation(id=row["id"], certificate_file=path))
            kind = KIND_LABELS[CommendationKind(row["kind"])]
            files.append((f"{kind}/{row['serial']}-{_safe(row['holder_name'])}.pdf", data))
        await Commendation.bulk_update(saved, fields=["certificate_file"])
        done += len(chunk)
        await progress(done, len(rows))
    data = await loop.run_in_executor(
        pool, pack, files, wholes, f"{campaign.year}年全国科普日荣誉证书（全部）.pdf"
    )
    return Rendered(data, len(rows))


def _safe(name: str) -> str:
    return "".join(c for c in name if c not in '/\\:*?"<>|').strip()[:60] or "证书"


# ---------------------------------------------------------------- verification and download


@dataclass(frozen=True)
class Verification:
    valid: bool
    serial: str
    holder_name: str | None = None
    unit_name: str | None = None
    campaign_name: str | None = None
    kind: CommendationKind | None = None
    issued_at: datetime | None = None
    revoked: bool = False

    @property
    def message(self) -> str:
        if self.valid:
            return "证书有效"
        if self.revoked:
            return "该证书已被撤销，不是有效证书"
        return "查无此证书编号，不是有效证书"


async def verify(serial: str) -> Verification:
    text = serial.strip().upper()[:32]
    entry = await Commendation.get_or_none(serial=text).select_related("campaign") if text else None
    if entry is None or entry.status not in (CommendationStatus.FINAL, CommendationStatus.REVOKED):
        return Verification(False, text)
    revoked = entry.status is CommendationStatus.REVOKED
    return Verification(
        valid=not revoked,
        serial=text,
        holder_name=None if revoked else entry.holder_name,
        unit_name=None if revoked else entry.unit_name,
        campaign_name=entry.campaign.label,
        kind=entry.kind,
        issued_at=entry.finalized_at,
        revoked=revoked,
    )


def link_subject(serial: str) -> str:
    return f"certificate:{serial}"


def signed_link(base_url: str, secret: str, serial: str) -> str:
    return links.signed_url(base_url, secret, f"certificates/{serial}", link_subject(serial))
