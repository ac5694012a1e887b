"""How graphql-core executes an operation of this schema: two corrections to its defaults.

graphql-core (and strawberry's faster check) await anything that has `__await__`. A Tortoise
model has one (awaiting it gives the model itself), so every field whose resolver returned a row
went the asynchronous way: a coroutine per such field, and a whole operation asynchronous as soon
as one did (every subscriber of a live change then waited a turn of the event loop for its
answer). Here a model is a plain value, as it is.

graphql-core 3.3's executor keeps helpers for resolvers made of its own bound methods: every
executor was a reference cycle, so each request (its context, person, request, loaders: some 60
objects) stayed until the cyclic collector found it, instead of going when the request did.
Here the helpers reach the executor weakly; it is alive whenever they can be called (only while
it executes).
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Sequence
from typing import Any, TypeGuard

from graphql.type.definition import GraphQLResolveInfoHelpers
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from tortoise.models import Model


def is_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
    return not isinstance(value, Model) and optimized_is_awaitable(value)


def _weak_helpers(executor: Any) -> GraphQLResolveInfoHelpers:
    gather = weakref.WeakMethod(executor.gather_async_work)
    track = weakref.WeakMethod(executor.track_async_work)

    def gather_async_work(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        return gather()(values)  # type: ignore[misc]

    def track_async_work(values: Sequence[Any]) -> None:
        track()(values)  # type: ignore[misc]

    return GraphQLResolveInfoHelpers(gather=gather_async_work, track=track_async_work)


class Execution(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_awaitable = is_awaitable
        self.async_helpers = _weak_helpers(self)
