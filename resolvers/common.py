"""What every mutation resolver does around its one operation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from schema.permissions import forbidden
from schema.types import MutationError, errors_of
from services.errors import PermissionDenied, ServiceError

T = TypeVar("T")


async def attempt(call: Callable[[], Awaitable[T]]) -> tuple[T | None, list[MutationError]]:
    """Run an operation: its result, or the payload errors of an expected refusal. A row-scope
    refusal becomes the top-level FORBIDDEN error."""
    try:
        return await call(), []
    except ServiceError as error:
        return None, errors_of(error)
    except PermissionDenied as error:
        raise forbidden(str(error)) from error
