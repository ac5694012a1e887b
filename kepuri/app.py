"""The ASGI application: GraphQL at /graphql (HTTP and graphql-transport-ws), /healthz, /readyz."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import random
import re
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import PurePosixPath
from typing import Any

import orjson
import structlog
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from starlette.applications import Starlette
from starlette.datastructures import State
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.file_uploads.utils import replace_placeholders_with_files
from strawberry.http import GraphQLRequestData
from strawberry.http.exceptions import WebSocketDisconnected
from tortoise import connections
from tortoise.contrib.starlette import RegisterTortoise

from infra import bus, images, jobs, links, passwords, qr, storage
from infra.clock import clock
from infra.hub import Hub
from infra.settings import Settings, load_settings
from infra.sql import has_replica
from kepuri import graphiql
from kepuri.db import prepare_sqlite_dir, tortoise_config
from kepuri.logs import configure_logging
from kepuri.maps import region_geojson, region_page
from kepuri.pages import activity_page, agreement_page, verify_another, verify_page
from kepuri.queue import open_queue
from kepuri.redis import ensure_redis, limits_storage_options, limits_storage_uri, redis_client
from models import Activity, Commendation, Document
from models.enums import CommendationStatus, DocumentStatus
from schema import build_schema, persisted, response_cache
from schema.context import Context
from schema.error_codes import (
    INTERNAL,
    RETRY_AFTER_SECONDS,
    UNAVAILABLE,
    UNAVAILABLE_MESSAGE,
    is_outage,
)
from schema.inputs import MAX_KEY, nests_deeper_than
from schema.persisted import Persisted
from services import (
    certificates,
    content,
    devices,
    documents,
    notifications,
    portals,
    reads,
    sessions,
)
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
    storage.configure(storage.from_settings(settings))
    images.configure(settings.image_max_pixels, settings.image_max_decoded_bytes)
    notifications.register()
    portals.register()
    content.register()


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


# Headers a browser cannot send cross-site without a CORS preflight: a multipart request must
# carry one (the CSRF prevention of the GraphQL multipart request spec's servers).
PREFLIGHT_HEADERS = ("apollo-require-preflight", "x-apollo-operation-name", "authorization")
MAX_CACHED_BYTES = 256 * 1024  # a larger answer is not kept (a page of 100 is about 50 KB)
MAX_JSON_NESTING = 32  # of a request body; variables nest 3 deep at most
PLAIN_REQUEST = frozenset({"query", "variables", "operationName"})

# strawberry's refusals of a request, in the words and codes of this API
_REFUSALS = {
    "Unsupported content type": (
        415,
        "UNSUPPORTED_MEDIA_TYPE",
        "不支持的请求类型：请以application/json或multipart/form-data发送",
    ),
    "No GraphQL query found in the request": (400, "BAD_REQUEST", "请求中没有GraphQL查询"),
    "Batching is not enabled": (400, "BAD_REQUEST", "不支持批量请求：每个请求只含一个操作"),
    "GraphQL only supports GET and POST requests.": (
        405,
        "METHOD_NOT_ALLOWED",
        "仅支持GET和POST请求",
    ),
    "The GraphQL operation's `query` must be a string or null, if provided.": (
        400,
        "BAD_REQUEST",
        "query须为字符串",
    ),
    "The GraphQL operation's `variables` must be an object or null, if provided.": (
        400,
        "BAD_REQUEST",
        "variables须为JSON对象",
    ),
    "The GraphQL operation's `extensions` must be an object or null, if provided.": (
        400,
        "BAD_REQUEST",
        "extensions须为JSON对象",
    ),
    "mutations are not allowed when using GET": (
        405,
        "METHOD_NOT_ALLOWED",
        "变更操作须以POST发送",
    ),
}


class Refused(HTTPException):
    """A request refused before GraphQL sees it, with a code and a Chinese message."""

    def __init__(self, message: str, code: str = "BAD_REQUEST", status: int = 400) -> None:
        super().__init__(status, message)
        self.code = code


GRAPHQL_RESPONSE = "application/graphql-response+json"


def graphql_response(response: Response) -> Response:
    """The answer as `application/graphql-response+json` (GraphQL over HTTP), for a client that
    accepts it: a request that never ran (a document that does not parse or validate, variables
    that do not fit, a refusal before execution) has no `data` and a 4xx status; one that ran
    keeps 200, whatever its field errors."""
    if response.media_type != "application/json":
        return response
    body = orjson.loads(response.body)
    status = response.status_code
    if (
        status == 200
        and isinstance(body, dict)
        and body.get("data") is None
        and body.get("errors")
        and not any(error.get("path") for error in body["errors"])
    ):
        body.pop("data", None)
        status = 400
    headers = {
        k: v
        for k, v in response.headers.items()
        if k.lower() not in ("content-length", "content-type")
    }
    return Response(orjson.dumps(body), status, headers, media_type=GRAPHQL_RESPONSE)


def succeeded(response: Response) -> bytes | None:
    """The body of an answer that went through without an error (one that may be shared: kept
    by the response cache, or by a CDN), else None."""
    body = getattr(response, "body", b"")
    return bytes(body) if response.status_code == 200 and b'"errors":' not in body else None


def cacheable(request: Request, response: Response) -> Response:
    """An answer to a GET: an anonymous query's answer without errors may be kept by a CDN for
    PUBLIC_MAX_AGE seconds, with an ETag (a request that has it gets 304 Not Modified); any other
    answer is private."""
    body = succeeded(response)
    if (
        body is None
        or response.media_type not in ("application/json", GRAPHQL_RESPONSE)
        or "authorization" in request.headers
    ):
        response.headers["cache-control"] = "private, no-store"
        return response
    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {
        "cache-control": f"public, max-age={request.app.state.runtime.settings.public_max_age}",
        "etag": tag,
        "vary": "Authorization, Accept",
    }
    sent = {
        t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")
    }
    if tag in sent:
        return Response(status_code=304, headers=headers)
    response.headers.update(headers)
    return response


def refusal_response(error: HTTPException) -> Response:
    if isinstance(error, Refused):
        status, code, message = error.status_code, error.code, error.reason
    else:
        status, code, message = _REFUSALS.get(
            error.reason, (error.status_code, "BAD_REQUEST", f"请求无效：{error.reason}")
        )
    body = {"errors": [{"message": message, "extensions": {"code": code}}]}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


class GraphQLView(GraphQL[Context, None]):
    websocket_adapter_class = TextFrames
    state: State  # the app's (set by create_app): its persisted documents and settings
    # the anonymous requests this process is answering now, by cache entry: the same request
    # arriving meanwhile waits for that answer instead of computing it again (a burst of one
    # list costs one execution, not one per connection)
    _computing: dict[str, asyncio.Future[bytes | None]]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope=scope, receive=receive)
        key = await self._cache_key(request)
        response = await self._cached(request, key) if key else await self._answer(request)
        if GRAPHQL_RESPONSE in request.headers.get("accept", ""):
            response = graphql_response(response)
        if request.method == "GET":
            response = cacheable(request, response)
        await response(scope, receive, send)

    async def _cached(self, request: Request, key: str) -> Response:
        """An anonymous request's answer: from the response cache, or the one this process is
        computing for the same request, or computed (and kept, when it may be)."""
        cached = await self.state.redis.get(key)
        computing = self._computing.get(key) if cached is None else None
        if computing is not None:
            cached = await asyncio.shield(computing)
            if cached is None:  # that answer may not be kept (an error): answer this one alone
                return await self._answer(request)
        if cached is not None:
            return Response(cached, media_type="application/json", headers={"x-cache": "hit"})
        computed: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self._computing[key] = computed
        request.state.cache_wanted = True  # schema.response_cache.CachePolicy judges it
        try:
            response = await self._answer(request)
            computed.set_result(await self._keep(request, key, response))
        finally:
            if self._computing.get(key) is computed:
                del self._computing[key]
            if not computed.done():  # it failed: the others answer for themselves
                computed.set_result(None)
        return response

    async def _answer(self, request: Request) -> Response:
        try:
            return await self._known_query(request) or await self.run(request)
        except HTTPException as error:
            return refusal_response(error)

    async def _known_query(self, request: Request) -> Response | None:
        """The answer to a plain JSON POST of a query the schema has already found valid (the
        public lists and pages, every client's registered queries: schema/vetted.py), without
        the view's steps that cannot apply to it (an IDE page, a multipart form, a persisted
        id, a batch, a stream). None for any other request: the view answers it."""
        if (
            request.method != "POST"
            or request.headers.get("content-type") != "application/json"
            or self._get_stream_transport_from_headers(request.headers)
        ):
            return None
        data = self.parse_json(await request.body())  # refused here as the view refuses it
        if data.keys() - PLAIN_REQUEST:
            return None
        query, variables, name = data.get("query"), data.get("variables"), data.get("operationName")
        if (
            not isinstance(query, str)
            or not isinstance(variables, dict | None)
            or not isinstance(name, str | None)
            or not self.schema.vetted.knows(query, name)  # type: ignore[attr-defined]
        ):
            return None
        sub_response = await self.get_sub_response(request)
        context = await self.get_context(request, response=sub_response)
        result = await self.execute_single(
            request=request,
            request_adapter=self.request_adapter_class(request),
            sub_response=sub_response,
            context=context,
            root_value=None,  # as get_root_value gives
            request_data=GraphQLRequestData(query, variables, name, None, "http"),
        )
        return self.create_response(await self.process_result(request, result), sub_response)

    async def _cache_key(self, request: Request) -> str | None:
        """The response cache's entry for an anonymous request (schema/response_cache.py)."""
        if (
            "authorization" in request.headers
            or not self.state.runtime.settings.response_cache_seconds
        ):
            return None
        if request.method == "GET":
            raw = request.url.query.encode()
        elif request.headers.get("content-type", "").startswith("application/json"):
            raw = await request.body()
        else:
            return None
        return await response_cache.key_for(self.state.redis, request.method, raw)

    async def _keep(self, request: Request, key: str, response: Response) -> bytes | None:
        """Keep an answer that may be kept; it, or None."""
        seconds = getattr(request.state, "cache_seconds", 0)
        body = succeeded(response)
        if not seconds or body is None or len(body) > MAX_CACHED_BYTES:
            return None
        await self.state.redis.set(key, body, ex=seconds)
        return body

    @property
    def graphql_ide_html(self) -> str:
        return graphiql.page()  # its files served by this app, not a CDN

    def should_render_graphql_ide(self, request: Any) -> bool:
        """GraphiQL for a browser's plain GET: one that names an operation (by its text, a
        document id or a persisted query's hash) is a query."""
        named = ("query", "documentId", "extensions")
        return super().should_render_graphql_ide(request) and not any(
            request.query_params.get(name) for name in named
        )

    async def parse_http_body(self, request: AsyncHTTPRequestAdapter) -> Any:
        """The request, with the text of the persisted document it names by id (the draft's
        `documentId`, or Apollo's `extensions.persistedQuery`)."""
        data = await super().parse_http_body(request)
        if not isinstance(data, GraphQLRequestData):
            return data
        extensions = dict(data.extensions or {})
        named = await self._document_id_of(request)
        if named is not None:
            extensions["persistedQuery"] = {"documentId": named}
        try:
            found = persisted.requested_id(extensions)
            if found is not None:
                data.query = await persisted.resolve(
                    self.state.persisted,
                    *found,
                    data.query,
                    self.state.runtime.settings.registered_operations_only,
                )
        except persisted.NotPersisted as error:
            status = 200 if error.code == "PERSISTED_QUERY_NOT_FOUND" else 400
            raise Refused(str(error), error.code, status) from error
        return data

    async def _document_id_of(self, request: AsyncHTTPRequestAdapter) -> object | None:
        if request.method == "GET":
            return request.query_params.get("documentId")
        if "application/json" not in (request.content_type or ""):
            return None  # a multipart request's stream is read once, by its form
        body = await request.get_body()
        if b'"documentId"' not in body:  # the JSON body is read again only when it names one
            return None
        return self.parse_json(body).get("documentId")

    def decode_json(self, data: str | bytes) -> object:
        """orjson refuses what is not UTF-8, lone surrogates, and nesting past 1,024."""
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        """A request's JSON (its body, or the parts of a multipart or GET request): an object."""
        try:
            value = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise Refused("请求内容不是有效的JSON（须为UTF-8编码的JSON对象）") from error
        if not isinstance(value, dict):
            raise Refused("请求内容须为JSON对象")
        if nests_deeper_than(value, MAX_JSON_NESTING):
            raise Refused("请求内容嵌套层数过多")
        return value

    async def parse_multipart(self, request: AsyncHTTPRequestAdapter) -> dict[str, Any]:
        """The GraphQL multipart request spec, strictly: `operations`, then a `map` of file
        fields to `variables.` paths, each naming a file that was sent; and only from a client
        that a browser would have preflighted."""
        if not any(request.headers.get(name) for name in PREFLIGHT_HEADERS):
            raise Refused(
                "上传请求须带Apollo-Require-Preflight请求头（防止跨站请求伪造）", "CSRF_REFUSED"
            )
        try:
            form = await request.get_form_data()
        except (ValueError, MultiPartException, StarletteHTTPException) as error:
            raise Refused("无法解析multipart请求") from error
        operations, files_map = form.form.get("operations"), form.form.get("map")
        if not isinstance(operations, str) or not isinstance(files_map, str):
            raise Refused("multipart请求须含operations和map两个字段")
        parsed_operations, parsed_map = self.parse_json(operations), self.parse_json(files_map)
        for name, paths in parsed_map.items():
            if name not in form.files:
                raise Refused(f"map中的文件{name}未随请求发送")
            if not (
                isinstance(paths, list)
                and paths
                and all(isinstance(p, str) and p.startswith("variables.") for p in paths)
            ):
                raise Refused("map的每一项须为以variables.开头的路径列表")
        try:
            return replace_placeholders_with_files(parsed_operations, parsed_map, form.files)
        except (KeyError, IndexError, TypeError, ValueError) as error:
            raise Refused("map中的路径与operations不符") from error

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None = None
    ) -> Context:
        runtime: Runtime = request.app.state.runtime
        state = request.app.state
        context = Context(
            request=request,
            response=response,
            runtime=runtime,
            hub=state.hub,
            recent_changes=state.recent_changes,
            persisted=state.persisted,
        )
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
        if token.startswith(devices.TOKEN_PREFIX):
            context.device = await devices.device_for(token)
            return context.device is not None
        found = await sessions.authenticate(context.runtime.sessions, token)
        if found is None:
            return False
        context.user, context.session = found
        context.refresh_loaders()
        if has_replica():
            context.primary_reads = await reads.wrote_recently(
                context.request.app.state.redis, context.user.id
            )
        return True

    async def on_ws_connect(self, context: Context) -> None:
        """graphql-transport-ws: authenticate from connection_init's `authorization` (in any
        letter case); a bad token closes the socket with 4403, none leaves it anonymous."""
        params = context.connection_params
        given = {
            value
            for key, value in (params.items() if isinstance(params, dict) else ())
            if isinstance(key, str) and key.lower() == "authorization"
        }  # a header's name in any letter case, as HTTP has it (the README types Authorization)
        if len(given) > 1:  # two different ones: which was meant is not ours to guess
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})
        token = bearer_token(next(iter(given)) if given else None)
        if not await self._authenticate(context, token):
            raise ConnectionRejectionError({"code": "UNAUTHENTICATED"})

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)


class AccessLog:
    """One structured line per HTTP request, with a request id (echoed as X-Request-ID).

    An exception that escapes a route is answered here, never with a bare 500 page: 503 with
    Retry-After when the database or Redis cannot be reached, else 500 with the request id that
    finds the logged traceback. Neither says what failed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = f"{random.getrandbits(64):016x}"  # no secret: it finds the request's log
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        structlog.contextvars.bind_contextvars(request_id=request_id)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            if response_started:
                raise
            outage = is_outage(error)
            log.error("request_failed", exc_info=not outage, outage=outage, error=repr(error))
            await _failure(outage, request_id)(scope, receive, send_with_id)
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


def _failure(outage: bool, request_id: str) -> Response:
    if outage:
        error = {"message": UNAVAILABLE_MESSAGE, "extensions": {"code": UNAVAILABLE}}
        headers = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        return JSONResponse({"errors": [error]}, status_code=503, headers=headers)
    error = {"message": "服务器内部错误", "extensions": {"code": INTERNAL, "requestId": request_id}}
    return JSONResponse({"errors": [error]}, status_code=500)


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
        if declared is not None and (
            len(declared) > 18 or not declared.isdigit() or int(declared) > limit
        ):
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


async def media(request: Request) -> Response:
    """Public files: posters, photos and QR images (a QR image the worker has not rendered yet
    is rendered now)."""
    relative = request.path_params["path"]
    media_type = storage.public_type(relative)
    if media_type is None or not storage.is_clean(relative):
        return Response(status_code=404)
    headers = {"Cache-Control": "public, max-age=86400", "X-Content-Type-Options": "nosniff"}
    answer = await storage.response(relative, media_type, headers)
    if answer is None:
        match = _QR_FILE.fullmatch(relative)
        if not match or not await Activity.filter(qr_token=match[1]).exists():
            return Response(status_code=404)
        await qr.ensure_rendered(match[1], request.app.state.settings.public_base_url)
        answer = await storage.response(relative, media_type, headers)
    return answer or Response(status_code=404)


def _link_is_valid(request: Request, subject: str) -> bool:
    settings: Settings = request.app.state.settings
    return links.is_valid(
        settings.secret_key,
        subject,
        request.query_params.get("expires", ""),
        request.query_params.get("sig", ""),
    )


async def _attachment(
    relative: str | None, media_type: str, ascii_name: str, filename: str
) -> Response | None:
    """A stored file as a download under its real name, or None when it is not stored."""
    if not relative or not storage.is_clean(relative):
        return None
    headers = {
        "Content-Disposition": storage.disposition(filename, ascii_name),
        "Cache-Control": "private",
    }
    return await storage.response(relative, media_type, headers)


async def download_document(request: Request) -> Response:
    """A rendered document, by a signed and expiring link (see infra.links)."""
    document_id = request.path_params["document_id"]
    if document_id > MAX_KEY or not _link_is_valid(request, documents.link_subject(document_id)):
        return JSONResponse({"error": "链接无效或已过期"}, status_code=403)
    document = await Document.get_or_none(id=document_id, status=DocumentStatus.READY)
    answer = (
        await _attachment(
            document.file,
            document.content_type,
            f"document{PurePosixPath(document.file or '').suffix}",
            document.filename,
        )
        if document
        else None
    )
    return answer or JSONResponse({"error": "文档不存在或已过期"}, status_code=404)


async def download_certificate(request: Request) -> Response:
    """One holder's certificate PDF, by a signed and expiring link (see infra.links)."""
    serial = request.path_params["serial"]
    if not _link_is_valid(request, certificates.link_subject(serial)):
        return JSONResponse({"error": "链接无效或已过期"}, status_code=403)
    entry = await Commendation.get_or_none(serial=serial, status=CommendationStatus.FINAL)
    answer = (
        await _attachment(
            entry.certificate_file,
            "application/pdf",
            "certificate.pdf",
            f"荣誉证书-{entry.holder_name}.pdf",
        )
        if entry
        else None
    )
    return answer or JSONResponse({"error": "证书不存在"}, status_code=404)


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
        async with RegisterTortoise(
            app, config=tortoise_config(settings.db_url, settings.database_replica_url)
        ):
            app.state.redis = redis_client(settings)
            app.state.queue = await open_queue(settings)
            app.state.runtime = Runtime.build(
                settings, limits_storage_uri(settings), limits_storage_options(settings)
            )
            jobs.configure(app.state.queue)
            bus.configure(app.state.redis)
            app.state.runtime.counters = Counters(app.state.redis)
            app.state.hub = Hub(app.state.redis)
            session_cache = sessions.SessionCache(settings.session_cache_seconds)
            app.state.hub.watch(sessions.CHANNEL, session_cache)
            app.state.runtime.sessions = session_cache
            sessions.configure(session_cache)
            app.state.recent_changes = RecentChanges(app.state.hub)
            app.state.persisted = Persisted(app.state.redis, settings.persisted_query_seconds)
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
        max_cost=settings.graphql_max_cost,
        max_cost_anonymous=settings.graphql_max_cost_anonymous,
    )
    ide = not settings.production  # GraphiQL, its files served here (kepuri/graphiql.py)
    view = GraphQLView(
        schema,
        graphql_ide="graphiql" if ide else None,
        multipart_uploads_enabled=True,
        allowed_origins=settings.allowed_origins,
    )
    app = Starlette(
        routes=[
            Route("/graphql", view, methods=["GET", "POST"]),
            *([Mount(graphiql.PREFIX, graphiql.files())] if ide else []),
            WebSocketRoute("/graphql", view),
            Route("/a/{token}", activity_page),
            Route("/map/{code}.geojson", region_geojson),
            Route("/map/{code}", region_page),
            Route("/media/{path:path}", media),
            Route("/documents/{document_id:int}", download_document),
            Route("/certificates/{serial}", download_certificate),
            Route("/verify", verify_another),
            Route("/verify/{serial}", verify_page),
            Route("/agreement", agreement_page),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    view.state = app.state
    view._computing = {}
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
