"""What every mutation resolver does around its one operation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry
from strawberry.types import Info

from infra.errors import PermissionDenied, ServiceError
from models import User
from schema.context import Context
from schema.ids import parse_global_id
from schema.permissions import bad_argument, forbidden
from schema.types import E, errors_of
from services.permissions import Grant

T = TypeVar("T")


async def attempt(kind: type[E], call: Callable[[], Awaitable[T]]) -> tuple[T | None, list[E]]:
    """Run an operation: its result, or the payload errors (of the domain's `kind`) of an
    expected refusal. A row-scope refusal becomes the top-level FORBIDDEN error."""
    try:
        return await call(), []
    except ServiceError as error:
        return None, errors_of(error, kind)
    except PermissionDenied as error:
        raise forbidden(str(error)) from error


async def answer(call: Callable[[], Awaitable[T]]) -> T:
    """Run a query's operation. Queries have no payload: an expected refusal is a top-level error
    with its code, a row-scope refusal the FORBIDDEN one."""
    try:
        return await call()
    except ServiceError as error:
        raise bad_argument(error.errors[0].message, error.errors[0].code.value) from error
    except PermissionDenied as error:
        raise forbidden(str(error)) from error


def caller(info: Info[Context, None]) -> User:
    """The caller, in a field declared IsAuthenticated."""
    user = info.context.user
    if user is None:  # the permission class ran first; this keeps the types honest
        raise PermissionDenied("请先登录")
    return user


async def signed_in(info: Info[Context, None]) -> tuple[User, list[Grant]]:
    """The caller and their memberships (one query, once per request)."""
    return caller(info), await info.context.grants()


def activity_pk(value: strawberry.ID) -> int:
    """The activity an `activityId` argument names (a refusal naming the argument if none)."""
    return parse_global_id(value, "Activity", "activityId")
