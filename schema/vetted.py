"""A query the schema has already found valid runs the short way, without the extension pipeline.

Strawberry runs every operation through its extensions, nine here: for each of its four phases
(operation, parsing, validation, execution) a context manager over all nine hooks, most of which
have nothing to do for a document seen before. For `Activity(id)` that machinery was about a fifth
of the request (bench/README.md). What the extensions decide is of two kinds:

- of the document alone: that it parses, fits the schema, stays within the token, depth and
  alias limits, and which operation it runs. A query that went the whole way up to its execution
  is remembered with its parsed document (`Vetting`, the last extension), by its text and
  operation name;
- of each request: its variables (`inputs.refused_variables`), its cost against the caller's
  budget (`cost.judge`), whether it is registered when only registered operations run, how
  long an anonymous answer may be kept (`response_cache.judge`), its errors' codes
  (`error_codes.coded`). The short way runs exactly these, the functions the extensions call.

Whenever one of them would refuse, the request goes the whole way, which refuses it as it always
has: the short way answers only what the whole way would have answered, and the same.
`tests/test_vetted.py` compares the two ways' answers, errors and extensions included. Only
requests whose access log bound a request id (HTTP) go the short way: a websocket operation's
error codes need the one ErrorCodes makes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import structlog
from graphql import DocumentNode, GraphQLError
from strawberry.execution import optimized_is_awaitable
from strawberry.extensions import SchemaExtension
from strawberry.schema.schema import Schema
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.utils.await_maybe import await_maybe

from schema import cost, response_cache
from schema.error_codes import coded
from schema.inputs import refused_variables
from schema.persisted import document_id

KEPT = 512  # documents, as the parser's and the validation's caches


@dataclass(frozen=True, slots=True)
class Known:
    document: DocumentNode
    operation_name: str | None  # the one it runs (strawberry's choice when none was named)
    id: str  # its persisted document id


class Vetted:
    """The queries found valid, and how one of them runs the short way."""

    def __init__(self, budget: Callable[[Any], int], mask: bool) -> None:
        self.budget = budget
        self.mask = mask
        self._known: dict[tuple[str, str | None], Known] = {}

    def remember(
        self, text: str, named: str | None, operation_name: str | None, document: DocumentNode
    ) -> None:
        """A query found valid, by its text and the operation name its request `named`."""
        key = (text, named)
        if key in self._known:
            return
        if len(self._known) >= KEPT:
            self._known.clear()
        self._known[key] = Known(document, operation_name, document_id(text))

    def knows(self, text: str, operation_name: str | None) -> bool:
        return (text, operation_name) in self._known

    async def run(
        self,
        schema: Schema,
        text: str,
        variables: dict[str, Any] | None,
        context: Any,
        root_value: Any,
        operation_name: str | None,
        allowed: Iterable[OperationType] | None,
        operation_extensions: dict[str, Any] | None,
    ) -> ExecutionResult | None:
        """The answer to a known query, or None: the whole way must answer it."""
        if not isinstance(text, str) or not isinstance(operation_name, str | None):
            return None  # the whole way refuses what is not a text
        known = self._known.get((text, operation_name))
        if known is not None:
            operation_name = known.operation_name
        if (
            known is None
            or (allowed is not None and OperationType.QUERY not in allowed)
            or "request_id" not in structlog.contextvars.get_contextvars()
            or refused_variables(variables) is not None
            or not self._registered(context, known.id)
        ):
            return None
        limit = self.budget(context)
        spent, refused = cost.judge(
            schema._schema, known.document, operation_name, variables, limit
        )
        if refused is not None:
            return None
        response_cache.judge(context, text, known.document, operation_name)
        try:
            result = await await_maybe(
                schema._get_execute_function()(
                    schema._schema,
                    known.document,
                    root_value=root_value,
                    variable_values=variables,
                    operation_name=operation_name,
                    context_value=context,
                    is_awaitable=optimized_is_awaitable,
                    executor_class=schema.execution_context_class,
                    **schema._get_custom_context_kwargs(operation_extensions),
                )
            )
            data, errors = result.data, result.errors
        except Exception as error:  # as strawberry's own execute answers it
            data = None
            errors = [error if isinstance(error, GraphQLError) else _wrapped(error)]
        if errors:
            schema._process_errors(
                errors,
                schema._create_execution_context(
                    query=text,
                    allowed_operation_types=allowed or (),
                    variable_values=variables,
                    context_value=context,
                    root_value=root_value,
                    operation_name=operation_name,
                ),
            )
            errors = coded(errors, self.mask)
        return ExecutionResult(data=data, errors=errors, extensions=cost.report(spent, limit))

    @staticmethod
    def _registered(context: Any, key: str) -> bool:
        """False when only registered operations run and this one is not known to be (the
        whole way asks the database, and refuses it if it is not)."""
        runtime = getattr(context, "runtime", None)
        if runtime is None or not runtime.settings.registered_operations_only:
            return True
        return bool(context.persisted.remembered(key))


def _wrapped(error: Exception) -> GraphQLError:
    return GraphQLError(str(error), original_error=error)


class Vetting(SchemaExtension):
    """Remembers a query that reached its execution: every extension before has found its
    document valid (the last of the schema's extensions)."""

    def __init__(self, vetted: Vetted) -> None:
        self.vetted = vetted

    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        if (
            context.query is not None
            and context.graphql_document is not None
            and not context.pre_execution_errors
            and context.operation_type is OperationType.QUERY
        ):
            named = context._provided_operation_name  # the request's own (an InitVar)
            self.vetted.remember(
                context.query, named, context.operation_name, context.graphql_document
            )
        yield
