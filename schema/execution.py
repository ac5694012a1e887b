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

And a shorter way for plain fields. A page of a hundred activities is a few thousand fields, and
most are plain: no arguments, no field extension (permission classes are extensions), an
attribute or a function of the item. Strawberry wraps each resolver in layers for what a field
may have (arguments to convert, extensions, exception handlers), and graphql-core executes
each field in a dozen steps (a resolve info of fourteen parts, the completion of its value in
five). Here a plain field of an object type is called directly (`plain_fields`), without
a resolve info unless its function asks for one, and a scalar or enum it gives is serialized at
once. Anything else it gives (an object, a list, an awaitable, an exception, null where the
schema says it cannot be, a value the scalar refuses) is completed by graphql-core's own steps,
which report it as they always do; `tests/test_execution.py` compares the two ways' answers.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from enum import Enum
from typing import Any, NamedTuple, TypeGuard

import strawberry
from graphql import (
    FragmentSpreadNode,
    GraphQLField,
    GraphQLLeafType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    OperationType,
    Undefined,
    get_nullable_type,
    is_introspection_type,
)
from graphql.execution.collect_fields import (
    CollectedFields,
    FieldDetailsList,
    FragmentDetails,
    GroupedFieldSet,
)
from graphql.execution.executor import gather_with_cancel, to_nodes
from graphql.pyutils import Path
from graphql.type.definition import (
    GraphQLResolveInfoHelpers,
    is_leaf_type,
    is_non_null_type,
)
from strawberry.execution import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.field import StrawberryField
from tortoise.models import Model

from infra import sql
from schema.selections import PerNode, selections
from services import reads

_NEVER_AWAITED = frozenset({str, int, float, bool, type(None), dict, list, datetime, date})


def is_awaitable(value: Any) -> TypeGuard[Awaitable[Any]]:
    if type(value) in _NEVER_AWAITED:  # most values of an answer: one lookup
        return False
    return not isinstance(value, Model) and optimized_is_awaitable(value)


def _weak_helpers(executor: Any) -> GraphQLResolveInfoHelpers:
    # one plain weak reference: two WeakMethods were 3% of a request for one activity
    weak = weakref.ref(executor)

    def gather_async_work(values: Sequence[Awaitable[Any]]) -> Awaitable[list[Any]]:
        return weak().gather_async_work(values)  # type: ignore[union-attr]

    def track_async_work(values: Sequence[Any]) -> None:
        weak().track_async_work(values)  # type: ignore[union-attr]

    return GraphQLResolveInfoHelpers(gather=gather_async_work, track=track_async_work)


class Resolver:
    """A plain field's function called as strawberry calls it: the source as `self` and as its
    root or parent parameter, strawberry's Info (made only for a function that asks for it) as
    its info parameter."""

    def __init__(self, field: StrawberryField, info_class: type[strawberry.Info]) -> None:
        resolver = field.base_resolver
        assert resolver is not None
        function: Callable[..., Any] = resolver.wrapped_func  # type: ignore[assignment]
        pass_self = resolver.self_parameter is not None
        named = (resolver.root_parameter, resolver.parent_parameter)  # often the same one
        sources = list(dict.fromkeys(p.name for p in named if p))
        info_name = resolver.info_parameter.name if resolver.info_parameter else None
        self.wants_info = info_name is not None
        self.field = field

        def call(source: Any, info: Any) -> Any:
            kwargs = dict.fromkeys(sources, source)
            if info_name is not None:  # graphql-core always gives an info: it asks for one
                kwargs[info_name] = info_class(_raw_info=info, _field=field)
            return function(source, **kwargs) if pass_self else function(**kwargs)

        def root_only(source: Any, _: Any) -> Any:  # the usual `def f(self, root)`
            return function(source, root=source)

        def root_and_info(source: Any, info: Any) -> Any:  # and `def f(self, root, info)`
            return function(source, root=source, info=info_class(_raw_info=info, _field=field))

        self.call: Callable[[Any, GraphQLResolveInfo | None], Any] = call
        if pass_self and sources == ["root"] and info_name in (None, "info"):
            self.call = root_only if info_name is None else root_and_info

    def __call__(self, source: Any, info: GraphQLResolveInfo) -> Any:
        return self.call(source, info)


PLAIN = "kepuri-plain"  # the key of a field's `Plain` in its extensions


class Plain(NamedTuple):
    """How a plain field is executed the shorter way, worked out with the schema."""

    call: Callable[[Any, GraphQLResolveInfo | None], Any]
    wants_info: bool
    leaf: GraphQLLeafType | None  # a scalar or an enum: serialized at once
    object: GraphQLObjectType | None  # an object type: its own fields executed next
    nullable: bool
    items: GraphQLLeafType | None  # a list of scalars or enums: each serialized at once


def plain_fields(schema: strawberry.Schema) -> int:
    """Mark each plain field of the object types below the operation roots with its `Plain`,
    and give those with a function a `Resolver` instead of strawberry's layers. The number of
    fields marked."""
    if schema.exception_handlers:  # they need strawberry's layers around every field
        return 0
    core = schema._schema
    roots = {core.query_type, core.mutation_type, core.subscription_type}
    marked = 0
    for named in core.type_map.values():
        if not isinstance(named, GraphQLObjectType) or named in roots:
            continue
        if is_introspection_type(named):
            continue
        for field in named.fields.values():
            definition = _definition(field)
            if definition is None:
                continue
            if definition.base_resolver is not None:
                field.resolve = Resolver(definition, schema.config.info_class)
            plain = _plain(field, definition)
            if plain is not None:
                field.extensions = {**(field.extensions or {}), PLAIN: plain}
                marked += 1
    return marked


def _definition(field: GraphQLField) -> StrawberryField | None:
    """The strawberry field behind a plain field (no arguments, no field extension)."""
    if field.args:
        return None
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if not isinstance(definition, StrawberryField):
        return None
    if definition.extensions or definition.arguments:
        return None
    return definition


def _plain(field: GraphQLField, definition: StrawberryField) -> Plain | None:
    call: Callable[[Any, GraphQLResolveInfo | None], Any]
    if isinstance(field.resolve, Resolver):
        if definition.is_async:
            return None  # a coroutine: graphql-core's way awaits it
        call, wants_info = field.resolve.call, field.resolve.wants_info
    elif definition.is_basic_field:
        read, name = definition.default_resolver, definition.python_name
        call, wants_info = (lambda source, _: read(source, name)), False
    else:
        return None
    nullable = not is_non_null_type(field.type)
    inner = get_nullable_type(field.type)
    leaf = inner if is_leaf_type(inner) else None
    object_type = inner if isinstance(inner, GraphQLObjectType) else None
    items = None
    if isinstance(inner, GraphQLList) and is_non_null_type(inner.of_type):
        item = get_nullable_type(inner.of_type)
        items = item if is_leaf_type(item) else None
    return Plain(call, wants_info, leaf, object_type, nullable, items)


class _Raised(NamedTuple):
    error: Exception

    def raise_again(self) -> Any:
        raise self.error


class _Step(NamedTuple):
    """A plain field of a selection."""

    response_name: str
    details: FieldDetailsList
    field: GraphQLField
    plain: Plain


_PLANS: PerNode[dict[Any, Any] | None] = PerNode(1024)
"""Per operation of a parsed document: the selections collected for each object type and their
steps, the same for every request of the operation unless a directive (@skip, @include) decides,
with the variables, what they are (None: collected for each request)."""


def _static(operation: OperationDefinitionNode, fragments: dict[str, FragmentDetails]) -> bool:
    """Whether no directive in the operation (or the fragments it spreads) decides on its
    selections, and no fragment takes variables of its own."""
    used = {name: details.definition for name, details in fragments.items()}
    return not any(
        getattr(node, "directives", None)
        or (
            isinstance(node, FragmentSpreadNode)
            and node.name.value in fragments
            and (
                fragments[node.name.value].variable_signatures
                or fragments[node.name.value].definition.directives
            )
        )
        for node in selections([operation.selection_set], used)
    )


class Execution(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.is_awaitable = is_awaitable
        self.async_helpers = _weak_helpers(self)
        manager = self.middleware_manager
        self._middleware = manager is not None and bool(manager.middlewares)
        # the operation's collected selections and steps, shared by its requests when they
        # cannot differ, else this request's own (graphql-core hands the same grouped field
        # set for every item of a list: its steps are worked out once)
        operation = self.operation
        shared = _PLANS.of(
            operation, None, lambda: {} if _static(operation, self.fragments) else None
        )
        self._plans: dict[Any, Any] = {} if shared is None else shared
        self._shared = shared is not None

    def execute_operation(self, serially: bool | None = None) -> Any:
        """graphql-core's, with the operation's reads sent where services.reads says."""
        if not sql.has_replica():
            return super().execute_operation(serially)
        context = self.context_value
        kind = self.operation.operation
        user = getattr(context, "user", None)
        request = getattr(context, "request", None)
        kept = getattr(getattr(request, "state", None), "cache_seconds", 0)
        on_replica = (
            kind is OperationType.QUERY
            and not kept
            and not getattr(context, "primary_reads", False)
        )
        with sql.reads_from(sql.REPLICA if on_replica else sql.PRIMARY):
            result = super().execute_operation(serially)
        marked = kind is OperationType.MUTATION and user is not None
        if not (on_replica or marked) or not self.is_awaitable(result):
            return result

        async def completed() -> Any:
            with sql.reads_from(sql.REPLICA if on_replica else sql.PRIMARY):
                done = await result
            if marked and user is not None:  # a mutation of a signed-in person
                await reads.mark_written(
                    context.request.app.state.redis,
                    user.id,
                    context.runtime.settings.replica_sticky_seconds,
                )
            return done

        return completed()

    def collect_subfields(
        self, return_type: GraphQLObjectType, field_details_list: FieldDetailsList
    ) -> CollectedFields:
        if not self._shared:
            return super().collect_subfields(return_type, field_details_list)
        key = (return_type.name, *(id(details.node) for details in field_details_list))
        collected = self._plans.get(key)
        if collected is None:
            collected = self._plans[key] = super().collect_subfields(
                return_type, field_details_list
            )
        return collected

    def _steps_of(
        self, parent_type: GraphQLObjectType, grouped_field_set: GroupedFieldSet
    ) -> list[_Step | tuple[str, Any]]:
        """Each field of a selection: a plain one's `_Step`, else its response name and
        details (for graphql-core's way). With middleware, every field goes that way."""
        key = ("steps", id(grouped_field_set), self._middleware)
        kept = self._plans.get(key)
        if kept is not None and kept[0] is grouped_field_set:
            return kept[1]
        steps: list[_Step | tuple[str, Any]] = []
        fields = parent_type.fields
        for response_name, details in grouped_field_set.items():
            field = fields.get(details[0].node.name.value)
            plain = field.extensions.get(PLAIN) if field and field.extensions else None
            if plain is None or self._middleware or details[0].node.arguments:
                steps.append((response_name, details))
            else:
                steps.append(_Step(response_name, details, field, plain))
        self._plans[key] = (grouped_field_set, steps)  # held, so that its id stays its own
        return steps

    def execute_fields(
        self,
        parent_type: GraphQLObjectType,
        source_value: Any,
        path: Path | None,
        grouped_field_set: GroupedFieldSet,
        position_context: Any,
    ) -> Any:
        """graphql-core's, with plain fields executed the shorter way."""
        results: dict[str, Any] = {}
        pending: list[str] = []
        try:
            for step in self._steps_of(parent_type, grouped_field_set):
                if isinstance(step, _Step):
                    response_name = step.response_name
                    result = self._execute_plain(
                        parent_type, source_value, path, step, position_context
                    )
                else:
                    response_name, details = step
                    result = self.execute_field(
                        parent_type,
                        source_value,
                        details,
                        Path(path, response_name, parent_type.name),
                        position_context,
                    )
                if result is not Undefined:
                    results[response_name] = result
                    if is_awaitable(result):
                        pending.append(response_name)
        except Exception:
            if pending:  # the other fields' awaitables may fail too: settle them
                self.settle_in_background([results[name] for name in pending])
            raise
        if not pending:
            return results

        async def get_results() -> dict[str, Any]:
            if len(pending) == 1:
                results[pending[0]] = await results[pending[0]]
            else:
                awaited = await gather_with_cancel(*(results[name] for name in pending))
                results.update(zip(pending, awaited, strict=True))
            return results

        return get_results()

    def _execute_plain(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        path: Path | None,
        step: _Step,
        position_context: Any,
    ) -> Any:
        plain = step.plain
        field_path = info = None
        try:
            if plain.wants_info:
                field_path = Path(path, step.response_name, parent_type.name)
                info = self.build_resolve_info(
                    step.field, to_nodes(step.details), parent_type, field_path
                )
            result = plain.call(source, info)
        except Exception as error:
            result = _Raised(error)
        if result is None:
            if plain.nullable:
                return None
        elif plain.leaf is not None:
            if type(result) in _NEVER_AWAITED or isinstance(result, Enum):  # a value to serialize
                try:
                    coerced = plain.leaf.coerce_output_value(result)
                except Exception:
                    coerced = None  # graphql-core's completion reports it
                if coerced is not None and coerced is not Undefined:
                    return coerced
        elif plain.items is not None:
            if type(result) is list:
                coerced_items = _serialized(plain.items, result)
                if coerced_items is not None:
                    return coerced_items
        elif (
            plain.object is not None
            and not isinstance(result, (Exception, _Raised))
            and not is_awaitable(result)
            and _of_its_type(plain.object, result)
        ):
            object_type = plain.object  # an object: its own fields next
            field_path = field_path or Path(path, step.response_name, parent_type.name)
            return self._complete(
                step,
                field_path,
                lambda: self.collect_and_execute_subfields(
                    object_type, step.details, field_path, result, position_context
                ),
            )
        return self._the_usual_way(parent_type, path, step, result, info, position_context)

    def _the_usual_way(
        self,
        parent_type: GraphQLObjectType,
        path: Path | None,
        step: _Step,
        result: Any,
        info: GraphQLResolveInfo | None,
        position_context: Any,
    ) -> Any:
        """What graphql-core does with a resolver's result (`result`), but the call."""
        field_path = (
            info.path if info is not None else Path(path, step.response_name, parent_type.name)
        )
        if info is None:
            info = self.build_resolve_info(
                step.field, to_nodes(step.details), parent_type, field_path
            )
        if isinstance(result, _Raised):
            return self._complete(step, field_path, result.raise_again)
        if is_awaitable(result):
            return self._complete(
                step,
                field_path,
                lambda: self.complete_awaitable_value(
                    step.field.type, step.details, info, field_path, result, position_context
                ),
            )
        return self._complete(
            step,
            field_path,
            lambda: self.complete_value(
                step.field.type, step.details, info, field_path, result, position_context
            ),
        )

    def _complete(self, step: _Step, path: Path, completion: Callable[[], Any]) -> Any:
        """What graphql-core's `execute_field` does around the completion of a field's value:
        an error (now or once awaited) is the field's, reported where it belongs."""
        try:
            completed = completion()
            if is_awaitable(completed):

                async def await_completed() -> Any:
                    try:
                        return await completed
                    except Exception as raw_error:
                        self.handle_field_error(raw_error, step.field.type, step.details, path)
                        return None

                return await_completed()
        except Exception as raw_error:
            self.handle_field_error(raw_error, step.field.type, step.details, path)
            return None
        return completed


def _serialized(leaf: GraphQLLeafType, values: list[Any]) -> list[Any] | None:
    """A list of scalars or enums (none of them null), each serialized; None when one is not
    plainly a value its type serializes (graphql-core's completion reports it)."""
    serialized = []
    for value in values:
        if type(value) not in _NEVER_AWAITED and not isinstance(value, Enum):
            return None
        try:
            coerced = leaf.coerce_output_value(value)
        except Exception:
            return None
        if coerced is None or coerced is Undefined:
            return None
        serialized.append(coerced)
    return serialized


def _of_its_type(object_type: GraphQLObjectType, value: Any) -> bool:
    """Whether `value` may be completed as `object_type` without graphql-core's checks: an
    object type that checks nothing, or whose check needs no resolve info and passes."""
    check = object_type.is_type_of
    if check is None:
        return True
    return bool(getattr(check, "needs_no_info", False) and check(value, None) is True)  # type: ignore[arg-type]
