"""Every GraphQL error carries a machine-readable code; unexpected ones are masked in production.

The codes besides the domain's own (permissions, limits, refusals raised with a code):

| code | when |
| --- | --- |
| GRAPHQL_PARSE_FAILED | the document is not GraphQL |
| GRAPHQL_VALIDATION_FAILED | it does not fit the schema |
| BAD_USER_INPUT | a value no operation accepts (`schema.inputs`), or variables that do not fit |
| SERVICE_UNAVAILABLE | the database or Redis cannot be reached: try again (`retryAfter` seconds) |
| INTERNAL_SERVER_ERROR | a fault of ours: logged with the request id, which the error carries |

An unexpected error says what happened in development; in production its message is a generic
one, and the request id (`requestId`, also the `X-Request-ID` header) finds it in the log.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import asyncpg
import redis.exceptions
import structlog
from graphql import GraphQLError, GraphQLSyntaxError
from limits.errors import StorageError
from strawberry.extensions import MaskErrors

from infra.errors import PermissionDenied, ServiceError
from schema.inputs import BAD_USER_INPUT, InvalidInput

INTERNAL = "INTERNAL_SERVER_ERROR"
UNAVAILABLE = "SERVICE_UNAVAILABLE"
RETRY_AFTER_SECONDS = 5
UNAVAILABLE_MESSAGE = "服务暂时不可用，请稍后重试"

_OUTAGES: tuple[type[BaseException], ...] = (
    ConnectionError,  # tortoise's DBConnectionError is one
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.OperatorInterventionError,  # shutting down, cannot connect now
    asyncpg.exceptions.TooManyConnectionsError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    StorageError,
)


def is_outage(error: BaseException | None) -> bool:
    """An exception caused, at any depth, by a database or Redis that cannot be reached."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, _OUTAGES):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


# Refusals of the services that reached GraphQL without a resolver turning them into an answer
# (a resolver that forgot its permission class, an ID parsed outside `attempt`): still answers.
_REFUSALS = (GraphQLError, InvalidInput, PermissionDenied, ServiceError)


def is_expected(error: GraphQLError) -> bool:
    """Errors we raise on purpose (permissions, arguments, limits, refused input) are answers,
    not incidents; an exception from our code or beneath it is not."""
    return error.original_error is None or isinstance(error.original_error, _REFUSALS)


def request_id() -> str:
    """The id of the request being served (bound by the access log; made for websockets)."""
    bound = structlog.contextvars.get_contextvars().get("request_id")
    return str(bound) if bound else uuid.uuid4().hex[:16]


def _code(error: GraphQLError) -> str:
    original = error.original_error
    if isinstance(original, PermissionDenied):
        return "FORBIDDEN"
    if isinstance(original, ServiceError):
        return original.errors[0].code.value
    if isinstance(error, GraphQLSyntaxError):
        return "GRAPHQL_PARSE_FAILED"
    if isinstance(original, InvalidInput) or error.message.startswith("Variable '$"):
        return BAD_USER_INPUT
    return "GRAPHQL_VALIDATION_FAILED" if error.path is None else BAD_USER_INPUT


class ErrorCodes(MaskErrors):
    """Gives each error its code (see the table above); masks unexpected ones if `mask`."""

    def __init__(self, mask: bool) -> None:
        super().__init__(error_message=MASKED)
        self.mask = mask

    def on_operation(self) -> Iterator[None]:
        """A websocket operation has no access log: it gets a request id of its own, so that
        its unexpected errors are logged and answered with one."""
        bound = "request_id" in structlog.contextvars.get_contextvars()
        if not bound:
            structlog.contextvars.bind_contextvars(request_id=uuid.uuid4().hex[:16])
        try:
            yield from super().on_operation()
        finally:
            if not bound:
                structlog.contextvars.unbind_contextvars("request_id")

    def _process_result(self, result: object) -> None:
        # MaskErrors asks a runtime-checkable Protocol, a few microseconds of `typing` a request
        errors = getattr(result, "errors", None)
        if errors:
            result.errors = self._process_errors(errors)  # type: ignore[attr-defined]

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return coded(errors, self.mask)


MASKED = "服务器内部错误"


def coded(errors: list[GraphQLError], mask: bool) -> list[GraphQLError]:
    """The errors of an answer, each with its code; unexpected ones masked if `mask`."""
    return [_with_code(error, mask) for error in errors]


def _with_code(error: GraphQLError, mask: bool) -> GraphQLError:
    extensions = dict(error.extensions or {})
    if is_expected(error):
        if "code" in extensions:
            return error
        extensions["code"] = _code(error)
        message = error.message
    elif is_outage(error.original_error):
        extensions.update(code=UNAVAILABLE, retryAfter=RETRY_AFTER_SECONDS)
        message = UNAVAILABLE_MESSAGE
    else:
        extensions.update(code=INTERNAL, requestId=request_id())
        message = MASKED if mask else error.message
    return GraphQLError(
        message,
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions=extensions,
    )
