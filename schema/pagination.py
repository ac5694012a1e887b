"""Relay connections over keyset cursors (no OFFSET): the page after a cursor is an indexed range
scan, however deep it is."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

import strawberry
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.queryset import QuerySet

from infra import sql
from infra.ids import encode_cursor
from schema.inputs import MAX_KEY, moment
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
    fixed_count: strawberry.Private[int | None] = None
    counter: strawberry.Private[Callable[[QuerySet[Any]], Awaitable[int]] | None] = None

    @strawberry.field(description="How many items the whole list holds.")
    async def total_count(self) -> int:
        if self.fixed_count is not None:
            return self.fixed_count
        if self.count_query is None:
            return len(self.edges)
        if self.counter is not None:
            return await self.counter(self.count_query)
        return await self.count_query.count()


def exact_int(value: Any) -> int:
    """A key as the databases hold it: a non-negative 64-bit integer."""
    if type(value) is not int or not 0 <= value <= MAX_KEY:
        raise ValueError("not a key")
    return value


def distance(value: Any) -> float:
    """A distance as cursors write it: a finite number, not negative."""
    if type(value) not in (int, float) or not 0 <= value < 1e6:
        raise ValueError("not a distance")
    return float(value)


def iso_datetime(value: Any) -> datetime:
    """A moment as cursors write it: with its offset, within the platform's years."""
    if not isinstance(value, str) or len(value) < 20 or value[-6] not in "+-":
        raise ValueError("not a moment with an offset")
    return moment(value)


def decode_cursor(cursor: str, parsers: Sequence[Callable[[Any], Any]]) -> list[Any]:
    """The key values inside a cursor, each parsed as the column it stands for."""
    try:
        if len(cursor) > 200:
            raise ValueError("too long")
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        if not isinstance(values, list) or len(values) != len(parsers):
            raise ValueError("wrong shape")
        return [parse(v) for parse, v in zip(parsers, values, strict=True)]
    except (ValueError, TypeError) as exc:
        raise bad_argument("分页游标无效", "INVALID_CURSOR") from exc


def page_size(first: int | None) -> int:
    if first is None:
        return DEFAULT_PAGE
    if first < 1 or first > MAX_PAGE:
        raise bad_argument(f"first 须在1到{MAX_PAGE}之间")
    return first


def _after(keys: Sequence[str], values: Sequence[Any], descending: bool) -> Q:
    """Rows strictly after `values` in (keys) order, as an OR of prefixes."""
    beyond = "lt" if descending else "gt"
    clauses = []
    for i, key in enumerate(keys):
        equal = {k: v for k, v in zip(keys[:i], values[:i], strict=True)}
        clauses.append(Q(**equal, **{f"{key}__{beyond}": values[i]}))
    return Q(*clauses, join_type="OR")


async def keyset_connection(
    query: QuerySet[M],
    *,
    first: int | None,
    after: str | None,
    keys: Sequence[str] = ("id",),
    parsers: Sequence[Callable[[Any], Any]] = (exact_int,),
    descending: bool = False,
    node: Callable[[M], Any] = lambda row: row,
    related: Sequence[str] = (),
    prepare: Callable[[list[M]], Awaitable[None]] | None = None,
) -> Connection[Any]:
    """One page of `query` ordered by `keys` (the last one unique), ascending or descending;
    the page's statement joins in the `related` rows, then `prepare` sees the page."""
    size = page_size(first)
    page_query = query.select_related(*related) if related else query
    if after:
        page_query = page_query.filter(_after(keys, decode_cursor(after, parsers), descending))
    order = [f"-{k}" if descending else k for k in keys]
    rows = await sql.models(page_query.order_by(*order).limit(size + 1))
    has_next = len(rows) > size
    rows = rows[:size]
    if prepare is not None:
        await prepare(rows)
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


async def list_connection(
    keys: Sequence[Any],
    *,
    first: int | None,
    after: str | None,
    load: Callable[[list[Any]], Any],
) -> Connection[Any]:
    """A page of a short list computed in full (a person's own likes, say): the cursor is the
    position in the list."""
    size = page_size(first)
    start = decode_cursor(after, (exact_int,))[0] + 1 if after else 0
    if start < 0:
        raise bad_argument("分页游标无效", "INVALID_CURSOR")
    window = list(keys[start : start + size])
    nodes = await load(window)
    edges = [
        Edge(cursor=encode_cursor([start + i]), node=node)
        for i, node in enumerate(nodes)
        if node is not None
    ]
    connection: Connection[Any] = Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=start + size < len(keys),
            end_cursor=encode_cursor([start + len(window) - 1]) if window else None,
            has_previous_page=start > 0,
            start_cursor=edges[0].cursor if edges else None,
        ),
    )
    connection.fixed_count = len(keys)
    return connection
