"""Static cost of an operation, computed before it runs, refused over the caller's budget.

Depth, alias and token limits bound the shape of a document, not the work it asks for: thirty
aliases of a 100-item list are shallow and short. So every operation gets a cost from its
document and variables alone (Saleor's and GitHub's APIs do the same):

- a scalar or enum field costs nothing (it is an attribute of a row already read);
- an object field costs 1, a field that takes `first` (a connection) 2, plus what is selected
  inside it;
- a list costs what one item selects times the number of items: the `first` of the connection it
  belongs to (20 when not given, at most `pagination.MAX_PAGE`), or for a plain list the size its
  field declares (`strawberry.field(metadata={"items": 7})`, see `list_size`), else
  `LIST_ESTIMATE`;
- introspection costs `INTROSPECTION` (GraphiQL asks for it once).

An operation over the caller's budget (`GRAPHQL_MAX_COST`, or `GRAPHQL_MAX_COST_ANONYMOUS` for
a caller without a token) is refused with QUERY_TOO_COMPLEX before anything executes, and every
response says in `extensions.cost` what it cost and what the caller may spend.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    NamedTypeNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_leaf_type,
)
from strawberry.extensions import SchemaExtension

from schema.pagination import DEFAULT_PAGE, MAX_PAGE
from schema.selections import PerNode

LIST_ESTIMATE = 10
INTROSPECTION = 50
CODE = "QUERY_TOO_COMPLEX"


class _Walk:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def page(self, field: FieldNode) -> int | None:
        """The `first` of a connection field (None: the field takes none)."""
        for argument in field.arguments or ():
            if argument.name.value != "first":
                continue
            node = argument.value
            value: Any = None
            if isinstance(node, IntValueNode):
                value = int(node.value)
            elif isinstance(node, VariableNode):
                value = self.variables.get(node.name.value)
            return min(max(value, 0), MAX_PAGE) if type(value) is int else DEFAULT_PAGE
        return None

    def selections(
        self,
        selection_set: SelectionSetNode | None,
        parent: GraphQLNamedType,
        page: int | None = None,
    ) -> int:
        """What a selection set costs; inside a connection its lists hold `page` items."""
        return sum(self.field(n, t, page) for n, t in self._fields(selection_set, parent))

    def _fields(
        self, selection_set: SelectionSetNode | None, parent: GraphQLNamedType
    ) -> Iterator[tuple[FieldNode, GraphQLNamedType]]:
        for node in selection_set.selections if selection_set else ():
            if isinstance(node, FieldNode):
                yield node, parent
                continue
            if isinstance(node, FragmentSpreadNode):
                fragment = self.fragments.get(node.name.value)
                if fragment is None:
                    continue
                condition: NamedTypeNode | None = fragment.type_condition
                inner = fragment.selection_set
            elif isinstance(node, InlineFragmentNode):
                condition, inner = node.type_condition, node.selection_set
            else:
                continue
            on = self.schema.get_type(condition.name.value) if condition is not None else parent
            yield from self._fields(inner, on or parent)

    def field(self, node: FieldNode, parent: GraphQLNamedType, page: int | None = None) -> int:
        name = node.name.value
        if name in ("__schema", "__type"):
            return INTROSPECTION
        definition = getattr(parent, "fields", {}).get(name)  # objects and interfaces
        if definition is None:
            return 0
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        own_page = self.page(node)
        inner = self.selections(node.selection_set, named, own_page)
        if isinstance(get_nullable_type(definition.type), GraphQLList):
            count = page if page is not None else _declared_size(definition)
            return count * (1 + inner)
        return (2 if own_page is not None else 1) + inner


def list_size(items: int) -> dict[str, int]:
    """The metadata of a plain list field that always holds about `items` items."""
    return {"items": items}


def _declared_size(definition: GraphQLField) -> int:
    field = (definition.extensions or {}).get("strawberry-definition")
    metadata = getattr(field, "metadata", None) or {}
    return int(metadata.get("items", LIST_ESTIMATE))


_COSTS: PerNode[int] = PerNode(4096)


def remembered_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """`operation_cost`, worked out once per document, operation and variables."""
    key = (id(schema), operation_name, json.dumps(variables or {}, sort_keys=True, default=str))
    return _COSTS.of(
        document, key, lambda: operation_cost(schema, document, operation_name, variables)
    )


def operation_cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
) -> int:
    """The cost of the operation `operation_name` of a valid document, by the rules above."""
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        return 0
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    root = schema.get_root_type(operation.operation)
    if root is None:
        return 0
    return _Walk(schema, fragments, variables or {}).selections(operation.selection_set, root)


def judge(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    limit: int,
) -> tuple[int, GraphQLError | None]:
    """The cost of an operation of a valid document, and the error refusing it over `limit`."""
    cost = remembered_cost(schema, document, operation_name, variables)
    if cost <= limit:
        return cost, None
    return cost, GraphQLError(
        f"查询过于复杂：成本{cost}超过上限{limit}，请减少请求的条数（first）或字段",
        extensions={"code": CODE, "cost": cost, "limit": limit},
    )


def report(cost: int, limit: int) -> dict[str, Any]:
    """What every answer says of its cost, in `extensions`."""
    return {"cost": {"requestedQueryCost": cost, "maximumAvailable": limit}}


class CostLimit(SchemaExtension):
    """Refuses an operation over `budget(context)` before it runs; reports the cost. Like
    `inputs.VariableGuard`, it comes after ValidationCache, so that it judges only valid
    documents."""

    def __init__(self, budget: Callable[[Any], int]) -> None:
        self.budget = budget
        self.cost: int | None = None
        self.limit: int | None = None

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not context.pre_execution_errors and context.graphql_document is not None:
            self.limit = self.budget(context.context)
            self.cost, refused = judge(
                context.schema._schema,
                context.graphql_document,
                context.operation_name,
                context.variables,
                self.limit,
            )
            if refused is not None:
                context.pre_execution_errors = [refused]
        yield

    def get_results(self) -> dict[str, Any]:
        if self.cost is None or self.limit is None:
            return {}
        return report(self.cost, self.limit)
