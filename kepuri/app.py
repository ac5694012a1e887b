"""The ASGI application: GraphQL at /graphql (HTTP and graphql-transport-ws), /healthz, /readyz."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import re
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson
import structlog
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from tortoise import connections
from tortoise.contrib.starlette import RegisterTortoise

from kepuri.db import prepare_sqlite_dir, tortoise_config
from kepuri.hub import Hub
from kepuri.logs import configure_logging
from kepuri.pages import activity_page, verify_page
from kepuri.queue import open_queue
from kepuri.redis import ensure_redis, limits_storage_uri, redis_client
from kepuri.settings import Settings, load_settings
from models import Activity, Commendation, Document
from models.enums import CommendationStatus, DocumentStatus
from schema import build_schema
from schema.context import Context
from services import (
    bus,
    certificates,
    documents,
    jobs,
    links,
    notifications,
    passwords,
    portals,
    qr,
    sessions,
    storage,
)
from services.clock import clock
from services.counters import Counters
from services.portals import RecentChanges
from services.runtime import Runtime
from workers.main import build_worker

log = structlog.get_logger(__name__)


def configure_process(settings: Settings) -> None:
    """Process-wide switches every entry point (server, worker, commands) applies once."""
    configure_logging(settings)
    clock.set_offset(settings.clock_offset)
    passwords.configure(settings.password_hash_profile)
    storage.configure(settings.media_dir)
    notifications.register()
    portals.register()


def bearer_token(value: str | None) -> str | None:
    if not value:
        return None
    scheme, _, token = value.partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


class TextFrames(ASGIWebSocketAdapter):
    """Websocket messages as text frames. graphql-ws (the graphql-transport-ws client of browsers
    and Node) parses text only, and strawberry sends what `encode_json` returns: orjson's bytes
    went out as binary frames, which it refuses."""

    async def send_json(self, message: Mapping[str, object]) -> None:
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class GraphQLView(GraphQL[Context, None]):
    websocket_adapter_class = TextFrames

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        runtime: Runtime = request.app.state.runtime
        context = Context(request=request, response=response, runtime=runtime)
        if isinstance(request, Request):
            await self._authenticate(context, bearer_token(request.headers.get("authorization")))
        return context

    async def _authenticate(self, context: Context, token: str | None) -> bool:
        """A person's session or a portal's API client; False for a token that is neither."""
        if not token:
            return True
        if token.startswith(portals.TOKEN_PREFIX):
            context.api_client = await portals.client_for(token)
            return context.api_client is not None
        found = await sessions.authenticate(context.runtime.sessions, token)
        if found is None:
            return False
        context.user, context.session = found
        context.refresh_loaders()
        return True

    async def on_ws_connect(self, context: Context) -> None:
        """graphql-transport-ws: authenticate from connection_init's `authorization`; a bad
        token closes the socket with 4403, no token leaves the connection anonymous."""
        params = context.connection_params or {}
        token = bearer_token(params.get("authorization") if isinstance(params, dict) else None)
        if not await self._authenticate(context, token):
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


class AccessLog:
    """One structured line per HTTP request, with a request id (echoed as X-Request-ID)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = uuid.uuid4().hex[:16]
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            if scope["path"] not in ("/healthz", "/readyz"):
                log.info(
                    "http_request",
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    ms=round((time.perf_counter() - started) * 1000, 1),
                )
            structlog.contextvars.unbind_contextvars("request_id")


class BodyLimit:
    """Refuse request bodies over a size with 413, before anything parses them."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_upload_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        limit = (
            self.max_upload_bytes
            if headers.get(b"content-type", b"").startswith(b"multipart/form-data")
            else self.max_bytes
        )
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(scope, receive, send)
            return
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _TooLarge
            return message

        try:
            await self.app(scope, counting_receive, send)
        except _TooLarge:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = JSONResponse(
            {"errors": [{"message": "请求内容过大", "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]},
            status_code=413,
        )
        await response(scope, receive, send)


class _TooLarge(Exception):
    pass


_QR_FILE = re.compile(r"qr/([A-Z0-9]{12})\.(?:png|svg)")
_MEDIA_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".svg": "image/svg+xml"}


async def media(request: Request) -> Response:
    """Public files: posters, photos and QR images (a QR image the worker has not rendered yet
    is rendered now)."""
    relative = request.path_params["path"]
    path = storage.resolve(relative)
    if path is None or path.suffix not in _MEDIA_TYPES:
        return Response(status_code=404)
    if not path.is_file():
        match = _QR_FILE.fullmatch(relative)
        if not match or not await Activity.filter(qr_token=match[1]).exists():
            return Response(status_code=404)
        await qr.ensure_rendered(match[1], request.app.state.settings.public_base_url)
    return FileResponse(
        path,
        media_type=_MEDIA_TYPES[path.suffix],
        headers={"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


def _link_is_valid(request: Request, subject: str) -> bool:
    settings: Settings = request.app.state.settings
    return links.is_valid(
        settings.secret_key,
        subject,
        request.query_params.get("expires", ""),
        request.query_params.get("sig", ""),
    )


def _attachment(path: Path, media_type: str, ascii_name: str, filename: str) -> Response:
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''" + quote(filename)
    return FileResponse(
        path,
        media_type=media_type,
        headers={"Content-Disposition": disposition, "Cache-Control": "private"},
    )


def _stored(relative: str | None) -> Path | None:
    path = storage.resolve(relative) if relative else None
    return path if path is not None and path.is_file() else None


async def download_document(request: Request) -> Response:
    """A rendered document, by a signed and expiring link (see services.links)."""
    document_id = int(request.path_params["document_id"])
    if not _link_is_valid(request, documents.link_subject(document_id)):
        return JSONResponse({"error": "链接无效或已过期"}, status_code=403)
    document = await Document.get_or_none(id=document_id, status=DocumentStatus.READY)
    path = _stored(document.file) if document else None
    if document is None or path is None:
        return JSONResponse({"error": "文档不存在或已过期"}, status_code=404)
    return _attachment(path, document.content_type, f"document{path.suffix}", document.filename)


async def download_certificate(request: Request) -> Response:
    """One holder's certificate PDF, by a signed and expiring link (see services.links)."""
    serial = request.path_params["serial"]
    if not _link_is_valid(request, certificates.link_subject(serial)):
        return JSONResponse({"error": "链接无效或已过期"}, status_code=403)
    entry = await Commendation.get_or_none(serial=serial, status=CommendationStatus.FINAL)
    path = _stored(entry.certificate_file) if entry else None
    if entry is None or path is None:
        return JSONResponse({"error": "证书不存在"}, status_code=404)
    return _attachment(
        path, "application/pdf", "certificate.pdf", f"荣誉证书-{entry.holder_name}.pdf"
    )


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(connections.get("default").execute_query("SELECT 1"), 2)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = type(exc).__name__
    try:
        await asyncio.wait_for(request.app.state.redis.ping(), 2)
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = type(exc).__name__
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", **checks}, status_code=200 if ready else 503
    )


# Collect young objects every 50,000 allocations instead of 700. An API process holding 1,000
# websocket subscriptions has millions of long-lived objects, and the default thresholds ran a
# full collection over all of them every few hundred deliveries: bench/fanout's p95 fell from
# 562 to 274 ms with this (202 ms with no collector at all). Cyclic garbage waits a little longer.
GC_THRESHOLDS = (50_000, 20, 20)


def tune_gc() -> None:
    """What start-up made (the schema, models, regions) lives as long as the process: frozen out
    of the collector's way; then the thresholds above."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    embedded = ensure_redis(settings)
    prepare_sqlite_dir(settings.db_url)
    try:
        async with RegisterTortoise(app, config=tortoise_config(settings.db_url)):
            app.state.redis = redis_client(settings)
            app.state.queue = await open_queue(settings)
            app.state.runtime = Runtime.build(settings, limits_storage_uri(settings))
            app.state.runtime.queue = app.state.queue
            jobs.configure(app.state.queue)
            bus.configure(app.state.redis)
            app.state.runtime.counters = Counters(app.state.redis)
            app.state.hub = Hub(app.state.redis)
            session_cache = sessions.SessionCache(settings.session_cache_seconds)
            app.state.hub.watch(sessions.CHANNEL, session_cache)
            app.state.runtime.sessions = session_cache
            sessions.configure(session_cache)
            app.state.recent_changes = RecentChanges(app.state.hub)
            await app.state.hub.start()
            worker_task = None
            if settings.run_worker_in_process:
                worker = build_worker(settings, await open_queue(settings))
                worker_task = asyncio.create_task(worker.async_run(), name="arq-worker")
            log.info("started", env=settings.env, in_process_worker=worker_task is not None)
            tune_gc()
            try:
                yield
            finally:
                if worker_task is not None:
                    worker_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await worker_task
                    await worker.close()
                await app.state.recent_changes.stop()
                await app.state.hub.stop()
                sessions.configure(None)
                await app.state.queue.aclose()
                await app.state.redis.aclose()
    finally:
        if embedded is not None:
            embedded.stop()


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()
    schema = build_schema(
        mask_errors=settings.production,
        max_depth=settings.graphql_max_depth,
        max_aliases=settings.graphql_max_aliases,
        max_tokens=settings.graphql_max_tokens,
    )
    view = GraphQLView(
        schema,
        graphql_ide=None if settings.production else "graphiql",
        multipart_uploads_enabled=True,
        allowed_origins=settings.allowed_origins,
    )
    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", view),
            Route("/a/{token}", activity_page),
            Route("/media/{path:path}", media),
            Route("/documents/{document_id:int}", download_document),
            Route("/certificates/{serial}", download_certificate),
            Route("/verify/{serial}", verify_page),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.add_middleware(
        BodyLimit, max_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes
    )
    app.add_middleware(AccessLog)
    return app


def asgi() -> Any:
    """Factory for `uvicorn --factory kepuri.app:asgi` (production images)."""
    settings = load_settings()
    configure_process(settings)
    return create_app(settings)
