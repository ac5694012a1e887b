"""Relay connections over keyset cursors (no OFFSET): the page after a cursor is an indexed range
scan, however deep it is."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

import strawberry
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from schema.permissions import bad_argument

T = TypeVar("T")
M = TypeVar("M", bound=Model)

DEFAULT_PAGE = 20
MAX_PAGE = 100


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None
    has_previous_page: bool = False
    start_cursor: str | None = None


@strawberry.type
class Edge(Generic[T]):
    cursor: str
    node: T


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    count_query: strawberry.Private[QuerySet[Any] | None] = None

    @strawberry.field(description="How many items the whole list holds (one COUNT query).")
    async def total_count(self) -> int:
        return await self.count_query.count() if self.count_query is not None else len(self.edges)


def encode_cursor(values: Sequence[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values), default=str).encode()).decode()


def decode_cursor(cursor: str, types: Sequence[type]) -> list[Any]:
    """The key values inside a cursor, each checked against the type its column holds."""
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError as exc:
        raise bad_argument("分页游标无效", "INVALID_CURSOR") from exc
    if (
        not isinstance(values, list)
        or len(values) != len(types)
        or not all(type(v) is t for v, t in zip(values, types, strict=True))
    ):
        raise bad_argument("分页游标无效", "INVALID_CURSOR")
    return values


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 1 or first > MAX_PAGE:
        raise bad_argument(f"first 须在1到{MAX_PAGE}之间")
    return first


def _after(keys: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows strictly after `values` in ascending (keys) order, as an OR of prefixes."""
    clauses = []
    for i, key in enumerate(keys):
        equal = {k: v for k, v in zip(keys[:i], values[:i], strict=True)}
        clauses.append(Q(**equal, **{f"{key}__gt": values[i]}))
    return Q(*clauses, join_type="OR")


async def keyset_connection(
    query: QuerySet[M],
    *,
    first: int | None,
    after: str | None,
    keys: Sequence[str] = ("id",),
    key_types: Sequence[type] = (int,),
    node: Callable[[M], Any] = lambda row: row,
) -> Connection[Any]:
    """One page of `query` ordered by `keys` (ascending, the last one unique)."""
    size = page_size(first)
    page_query = query
    if after:
        page_query = page_query.filter(_after(keys, decode_cursor(after, key_types)))
    rows = await page_query.order_by(*keys).limit(size + 1)
    has_next = len(rows) > size
    rows = rows[:size]
    edges = [Edge(cursor=encode_cursor([getattr(r, k) for k in keys]), node=node(r)) for r in rows]
    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            end_cursor=edges[-1].cursor if edges else None,
            has_previous_page=bool(after),
            start_cursor=edges[0].cursor if edges else None,
        ),
        count_query=query,
    )
