"""Reading parsed documents once: what their selections hold, and values worked out per node.

Strawberry keeps the parsed documents of the texts it saw last, so the requests of a client give
the same nodes again; what depends only on a node (the cost of an operation, whether a field is
asked for below another) is worked out once and kept beside it (`PerNode`).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from typing import Generic, TypeVar

from graphql import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, SelectionSetNode
from graphql.language import SelectionNode

V = TypeVar("V")


def selections(
    roots: Iterable[SelectionSetNode | None], fragments: Mapping[str, FragmentDefinitionNode]
) -> Iterator[SelectionNode]:
    """Every selection below `roots`, at any depth, with the fragments they spread (each once)."""
    stack = list(roots)
    spread: set[str] = set()
    while stack:
        selection_set = stack.pop()
        for node in selection_set.selections if selection_set is not None else ():
            yield node
            if isinstance(node, FragmentSpreadNode):
                name = node.name.value
                if name not in spread and name in fragments:
                    spread.add(name)
                    stack.append(fragments[name].selection_set)
            else:
                stack.append(getattr(node, "selection_set", None))


def asks_for(
    name: str,
    roots: Iterable[SelectionSetNode | None],
    fragments: Mapping[str, FragmentDefinitionNode],
) -> bool:
    """Whether a field called `name` is selected anywhere below `roots`."""
    return any(
        isinstance(node, FieldNode) and node.name.value == name
        for node in selections(roots, fragments)
    )


class PerNode(Generic[V]):
    """Values worked out once per node of a parsed document and key beside it. The node is held
    with its value, so that its id stays its own; when `size` are kept, all are forgotten."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._kept: dict[tuple[int, Hashable], tuple[object, V]] = {}

    def of(self, node: object, key: Hashable, work_out: Callable[[], V]) -> V:
        kept = self._kept.get((id(node), key))
        if kept is not None and kept[0] is node:
            return kept[1]
        if len(self._kept) >= self._size:
            self._kept.clear()
        value = work_out()
        self._kept[(id(node), key)] = (node, value)
        return value
