"""Media in the local folder or in object storage, behind one interface: the same tests against
both backends (the S3 one on moto's server, over real HTTP), downloads through the API or by
presigned links that keep the API's rules, no half-written or orphaned file, and a worker on
another host (no shared folder) whose PDF the API serves."""

from __future__ import annotations

import asyncio
import io
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from PIL import Image
from pypdf import PdfReader

from infra import storage
from infra.settings import Settings
from models import Activity, ActivityMedia, Document
from models.enums import DocumentKind, DocumentStatus, MediaKind
from tests.conftest import (
    Api,
    kepuri_process,
    open_storage,
    process_env,
    s3_settings,
    using_storage,
)
from tests.factories import filing_unit, make_activity, make_campaign

CREATE = """
mutation($input: ActivityInput!) {
  createActivity(input: $input) { activity { id posterUrl } errors { field code } }
}
"""
UPDATE = """
mutation($id: ID!, $input: ActivityUpdateInput!) {
  updateActivity(id: $id, input: $input) { activity { id posterUrl } errors { field code } }
}
"""
REQUEST = """
mutation($a: ID!) {
  requestActivitySummaryPdf(activityId: $a) { document { id status } errors { field code } }
}
"""
DOCUMENT = "query($id: ID!) { document(id: $id) { status downloadUrl } }"


def image(colour: tuple[int, int, int] = (20, 90, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(params=["local", "s3"])
def media(request: pytest.FixtureRequest, base_settings: Settings) -> Iterator[storage.Storage]:
    """The app's storage for this test: a fresh local folder, or a fresh bucket on the S3
    server."""
    if request.param == "s3":
        settings = base_settings.with_overrides(**s3_settings(request.getfixturevalue("s3_server")))
    else:
        settings = base_settings.with_overrides(
            s3_bucket="", media_dir_setting=tempfile.mkdtemp(prefix="kepuri-media-")
        )
    with using_storage(open_storage(settings)) as backend:
        yield backend


@pytest.fixture
def presigned(base_settings: Settings, s3_server: str) -> Iterator[storage.S3Storage]:
    settings = base_settings.with_overrides(**s3_settings(s3_server, media_presign_seconds=120))
    backend = open_storage(settings)
    assert isinstance(backend, storage.S3Storage)
    with using_storage(backend):
        yield backend


def client(api: Api) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api.app), base_url="http://testserver"
    )


def path_of(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.path}?{parsed.query}" if parsed.query else parsed.path


async def test_every_backend_keeps_reads_and_deletes_a_file(media: storage.Storage):
    assert await media.save("posters/a.png", image(), "image/png") == "posters/a.png"
    assert await media.exists("posters/a.png")
    assert await media.read("posters/a.png") == image()
    assert await media.read("posters/missing.png") is None
    assert not await media.exists("posters/missing.png")

    await media.delete("posters/a.png")
    await media.delete("posters/a.png")  # deleting what is gone is no error

    assert not await media.exists("posters/a.png")
    for bad in ("../etc/passwd", "/etc/passwd", "posters/../../x.png", "a\\b.png", ""):
        with pytest.raises(storage.StorageError):
            await media.save(bad, b"x")
        with pytest.raises(storage.StorageError):
            await media.read(bad)


async def test_a_poster_is_served_replaced_and_never_left_behind(api: Api, media, monkeypatch):
    """Uploaded, the poster is served from where it is stored; replaced, the old one is gone;
    a change that fails after the upload keeps nothing of it."""
    from tests.test_activities import activity_input

    await make_campaign()
    _, filer = await filing_unit(api)
    created = (
        await api.upload(
            CREATE,
            {"input": activity_input(poster=None)},
            {"input.poster": image()},
            token=filer.token,
        )
    )["createActivity"]
    assert created["errors"] == []
    first = (await Activity.get()).poster
    assert first and await media.exists(first)
    async with client(api) as http:
        served = await http.get(path_of(created["activity"]["posterUrl"]))
    assert served.status_code == 200 and served.headers["content-type"].startswith("image/")
    assert served.content == await media.read(first)

    updated = (
        await api.upload(
            UPDATE,
            {"id": created["activity"]["id"], "input": {"poster": None}},
            {"input.poster": image((200, 30, 30))},
            token=filer.token,
        )
    )["updateActivity"]
    assert updated["errors"] == []
    second = (await Activity.get()).poster
    assert second != first and await media.exists(second)
    assert not await media.exists(first)

    # a change whose write fails after the upload (the database goes away) keeps nothing of it
    import services.activities

    stored: list[str] = []
    store = services.activities._store_poster

    async def store_and_remember(upload):  # type: ignore[no-untyped-def]
        stored.append(await store(upload))
        return stored[-1]

    async def database_gone(event):  # type: ignore[no-untyped-def]
        raise RuntimeError("the database went away")

    monkeypatch.setattr(services.activities, "_store_poster", store_and_remember)
    monkeypatch.setattr(services.activities, "emit", database_gone)
    with pytest.raises(AssertionError):  # answered with an error
        await api.upload(
            UPDATE,
            {"id": created["activity"]["id"], "input": {"poster": None}},
            {"input.poster": image((30, 200, 30))},
            token=filer.token,
        )
    assert stored and not await media.exists(stored[0])
    assert (await Activity.get()).poster == second and await media.exists(second)


async def test_presigned_links_keep_the_apis_rules(api: Api, presigned, base_settings):
    """With presigned links, the API still checks everything (a tampered or expired document
    link is refused, a missing file is a 404) and then sends the client to the object store
    for a short time; what the client gets there is the file."""
    await presigned.save("posters/p.png", image(), "image/png")
    async with client(api) as http:
        answer = await http.get("/media/posters/p.png")
        assert answer.status_code == 303
        location = answer.headers["location"]
        assert location.startswith(presigned.config.endpoint_url)
        assert parse_qs(urlparse(location).query)["X-Amz-Expires"] == ["120"]
        assert (await http.get("/media/posters/none.png")).status_code == 404
        assert (await http.get("/media/../kepuri.sqlite3")).status_code == 404
    async with httpx.AsyncClient() as outside:  # the client, following the redirect
        fetched = await outside.get(location)
    assert fetched.status_code == 200 and fetched.content == image()

    campaign = await make_campaign()
    unit, filer = await filing_unit(api)
    activity = await make_activity(unit, campaign)
    document = await Document.create(
        kind=DocumentKind.ACTIVITY_SUMMARY,
        requester_id=filer.user.id,
        activity=activity,
        fingerprint="x",
        filename="活动总结.pdf",
        content_type="application/pdf",
        status=DocumentStatus.READY,
        file="documents/1.pdf",
    )
    await presigned.save("documents/1.pdf", b"%PDF-1.7 test", "application/pdf")
    from services.documents import signed_link

    url = signed_link(base_settings.public_base_url, base_settings.secret_key, document)
    async with client(api) as http:
        answer = await http.get(path_of(url))
        tampered = await http.get(path_of(url).replace("sig=", "sig=0"))
    assert answer.status_code == 303 and tampered.status_code == 403
    async with httpx.AsyncClient() as outside:
        fetched = await outside.get(answer.headers["location"])
    assert fetched.content == b"%PDF-1.7 test"
    assert "filename*=UTF-8''" in fetched.headers["content-disposition"]


async def test_a_worker_on_another_host_renders_a_pdf_the_api_serves(
    api: Api, base_settings: Settings, backend, s3_server: str
):
    """The API and a worker share the database, Redis and the bucket, and no folder: the worker
    (another process, its media folder empty) reads the photo the API stored, and the PDF it
    stores is the one the API then serves."""
    settings = base_settings.with_overrides(**s3_settings(s3_server))
    with using_storage(open_storage(settings)):
        campaign = await make_campaign()
        unit, filer = await filing_unit(api)
        activity = await make_activity(unit, campaign, title="另一台主机上的总结")
        photo = await storage.save("photos/1/a.png", image(), "image/png")
        await ActivityMedia.create(activity=activity, kind=MediaKind.PHOTO, url=photo)
        from schema.ids import to_global_id

        requested = await api.data(
            REQUEST, {"a": to_global_id("Activity", activity.id)}, token=filer.token
        )
        document_id = requested["requestActivitySummaryPdf"]["document"]["id"]
        elsewhere = tempfile.mkdtemp(prefix="kepuri-other-host-")
        env = {
            **process_env(settings, backend),
            "MEDIA_DIR": elsewhere,  # nothing the API wrote is in there
        }
        worker = await kepuri_process(env, "worker", "--burst")
        _, errors = await asyncio.wait_for(worker.communicate(), 120)
        assert worker.returncode == 0, errors.decode()

        shown = (await api.data(DOCUMENT, {"id": document_id}, token=filer.token))["document"]
        assert shown["status"] == "READY", errors.decode()
        async with client(api) as http:
            pdf = await http.get(path_of(shown["downloadUrl"]))
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        reader = PdfReader(io.BytesIO(pdf.content))
        assert "另一台主机上的总结" in reader.pages[0].extract_text()
        assert len(reader.pages[0].images) == 2  # the photo and the QR code, inline
        assert not any(Path(elsewhere).rglob("*"))
