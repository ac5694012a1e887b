"""How graphql-core tells a value from something to await, for this schema.

graphql-core (and strawberry's faster check) await anything that has `__await__`. A Tortoise
model has one (awaiting it gives the model itself), so every field whose resolver returned a row
went the asynchronous way: a coroutine per such field, and a whole operation asynchronous as soon
as one did (every subscriber of a live change then waited a turn of the event loop for its
answer). Here a model is a plain value, as it is.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeGuard

from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from tortoise.models import Model


def is_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
    return not isinstance(value, Model) and optimized_is_awaitable(value)


class Execution(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_awaitable = is_awaitable
