"""Statements Tortoise's query builder would build anew on every call, written once.

For the hottest statements only (a like is one, the inserts of a batch of check-ins another):
Tortoise builds a query through pypika each time, several times the cost of running it. The text
names its parameters (`:activity`); it is rendered once per dialect (PostgreSQL numbers them,
SQLite takes `?` in order) and run on the connection of the current context, a transaction's
included. Identifiers in the text are constants of the code, never input.

A `Prepared` query is the same for a query that gives models (one activity with the rows it
joins in, the public page's busiest read): Tortoise builds it once per dialect, and each run
sends its SQL with other values and makes the models as Tortoise would.

`models` runs a query of models (its relations joined in) and makes them as Tortoise's executor
does, with how each column becomes a value decided once per statement rather than for every row
and column (a page of 100 activities with their relations is 400 models).

Reads and a read replica: with a `replica` connection configured (DATABASE_REPLICA_URL), the
reads of a block run under `reads_from(REPLICA)` go to it, through Tortoise's router (and
`Prepared`); every write, every read inside a transaction and every read outside such a block
goes to the primary.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import date
from typing import Any, Generic, TypeVar

from tortoise import connections, fields
from tortoise.backends.base.client import TransactionalDBClient
from tortoise.models import Model
from tortoise.queryset import QuerySet

M = TypeVar("M", bound=Model)

_PARAMETER = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)\b")  # not a PostgreSQL cast (`x::int`)

PRIMARY, REPLICA = "default", "replica"
_reads: ContextVar[str] = ContextVar("kepuri_reads", default=PRIMARY)


def has_replica() -> bool:
    """Whether the current Tortoise context has a read replica."""
    return REPLICA in connections.db_config


@contextmanager
def reads_from(name: str) -> Iterator[None]:
    """Send the block's reads to `name` (REPLICA or PRIMARY), as far as `reading()` allows."""
    token = _reads.set(name)
    try:
        yield
    finally:
        _reads.reset(token)


def reading() -> str:
    """The connection a read goes to now: the replica inside `reads_from(REPLICA)` when there is
    one and no transaction runs (its reads must see its own writes), else the primary."""
    if _reads.get() == PRIMARY or in_transaction() or not has_replica():
        return PRIMARY
    return REPLICA


class ReadRouter:
    """Tortoise's router (`routers` of the config when a replica is configured)."""

    def db_for_read(self, model: type[Model]) -> str:
        return reading()

    def db_for_write(self, model: type[Model]) -> str:
        return PRIMARY


class Statement:
    def __init__(self, text: str) -> None:
        self.text = " ".join(text.split())
        self._rendered: dict[str, tuple[str, list[str]]] = {}

    def render(self, dialect: str) -> tuple[str, list[str]]:
        """The SQL for `dialect` and the parameter names in the order the driver takes them."""
        if dialect not in self._rendered:
            names: list[str] = []
            if dialect == "postgres":
                numbers: dict[str, int] = {}  # a statement of 500 rows has thousands of names

                def number(match: re.Match[str]) -> str:
                    if match[1] not in numbers:
                        numbers[match[1]] = len(names) + 1
                        names.append(match[1])
                    return f"${numbers[match[1]]}"

                sql = _PARAMETER.sub(number, self.text)
            else:

                def mark(match: re.Match[str]) -> str:
                    names.append(match[1])
                    return "?"

                sql = _PARAMETER.sub(mark, self.text)
            self._rendered[dialect] = (sql, names)
        return self._rendered[dialect]

    async def rows(self, **values: Any) -> list[dict[str, Any]]:
        """The rows the statement gives (an INSERT's RETURNING too: Tortoise's `execute_query`
        drops those on PostgreSQL)."""
        connection = connections.get("default")
        sql, names = self.render(connection.capabilities.dialect)
        return await connection.execute_query_dict(sql, [values[name] for name in names])


class Prepared(Generic[M]):
    """A query of models built once: `build(*markers)` gives it with a marker where each value
    goes (integers no query holds otherwise); `rows(*values)` runs it with the values instead.
    It relies on how Tortoise 1.1 runs a query (its SQL, then its executor making the models,
    relations joined in included): tests/test_browsing.py runs it on both databases."""

    MARKERS = tuple(-7_340_001 - i for i in range(100))

    def __init__(self, build: Callable[..., QuerySet[M]], parameters: int = 1) -> None:
        self._build = build
        self._markers = self.MARKERS[:parameters]
        self._built: dict[str, tuple[QuerySet[M], str, list[Any], list[int]]] = {}

    def _for(self, dialect: str) -> tuple[QuerySet[M], str, list[Any], list[int]]:
        if dialect not in self._built:
            query = self._build(*self._markers)
            query._choose_db_if_not_chosen()
            query._make_query()
            text, values = query.query.get_parameterized_sql()
            places = [i for marker in self._markers for i, v in enumerate(values) if v == marker]
            if len(places) != len(self._markers):
                raise ValueError("each marker must stand for exactly one parameter")
            self._built[dialect] = (query, text, list(values), places)
        return self._built[dialect]

    async def rows(self, *given: Any) -> list[M]:
        """The models the query gives with these values, on the connection reads go to now."""
        connection = connections.get(reading())
        query, text, values, places = self._for(connection.capabilities.dialect)
        values = list(values)
        for place, value in zip(places, given, strict=True):
            values[place] = value
        return await _made(connection, query, text, values)


async def models(query: QuerySet[M]) -> list[M]:
    """The models of `query` (a plain query: its own fields and relations joined in), made the
    short way; anything else (only some fields, annotations, prefetching, one object) is left to
    Tortoise."""
    if (
        query._fields_for_select
        or query._annotations
        or query._prefetch_map
        or query._prefetch_queries
        or query._single
    ):
        return await query
    if query._db is None:
        query._db = query._choose_db(query._select_for_update)
    query._make_query()
    text, values = query.query.get_parameterized_sql()
    return await _made(query._db, query, text, values)


# ------------------------------------------------------------------ rows into models

# how a column becomes a value: as the driver gives it, the field's type unless null, or the
# field's own conversion (Tortoise's native, default and complex fields)
_AS_IS, _TYPED, _CONVERTED = 0, 1, 2
_Column = tuple[int, str, int, Callable[[Any], Any] | None]


@dataclass(frozen=True)
class _Part:
    """The columns of one model in a row: its own (`path` empty) or a relation's, set on the
    model at `path` as the attribute `_<attr>` (null when all its columns are)."""

    model: type[Model]
    generated_pk: bool  # Tortoise's `_custom_generated_pk`
    path: tuple[Any, ...]
    attr: str | None
    columns: tuple[_Column, ...]
    positions: tuple[int, ...]


_PLANS: dict[str, tuple[_Part, ...] | None] = {}


def _columns_of(model: type[Model]) -> dict[str, tuple[str, int, Callable[[Any], Any] | None]]:
    meta = model._meta
    found: dict[str, tuple[str, int, Callable[[Any], Any] | None]] = {}
    for key, name, _field in meta.db_native_fields:
        found[key] = (name, _AS_IS, None)
    for key, name, field in meta.db_default_fields:
        found[key] = (name, _TYPED, field.field_type)
    for key, name, field in meta.db_complex_fields:
        found[key] = (name, _CONVERTED, _conversion(field))
    return found


def _conversion(field: Any) -> Callable[[Any], Any]:
    """A field's own conversion; a date's, SQLite's text read by `date.fromisoformat` first
    (Tortoise parses it as an ISO 8601 moment: 4% of a SQLite page of one activity)."""
    convert: Callable[[Any], Any] = field.to_python_value
    if type(field) is not fields.DateField:
        return convert

    def to_date(value: Any) -> Any:
        if type(value) is str:
            with suppress(ValueError):
                return date.fromisoformat(value)
        return convert(value)

    return to_date


def _plan(text: str, row: Any, related: list[Any]) -> tuple[_Part, ...] | None:
    """How the rows of a statement become models (None: left to Tortoise), worked out once per
    statement from the columns of its first row (a statement's columns never change)."""
    if text not in _PLANS:
        if len(_PLANS) > 1000:  # statements are few (one per shape of query): never grows much
            _PLANS.clear()
        _PLANS[text] = _planned(tuple(row.keys()), related)
    return _PLANS[text]


def _planned(keys: tuple[str, ...], related: list[Any]) -> tuple[_Part, ...] | None:
    """The parts of a row: the query's model, then each relation joined in (None: a column this
    does not know, or a relation selected without its columns)."""
    parts: list[_Part] = []
    begin = 0
    for n, (model, width, *_, full_path) in enumerate(related):
        if width == 0:  # Tortoise makes an empty model there: its way
            return None
        *path, attr = full_path
        known = _columns_of(model)
        positions = tuple(range(begin, begin + width))
        names = [keys[p] if n == 0 else keys[p].split(".", 1)[1] for p in positions]
        if any(name not in known for name in names):
            return None
        parts.append(
            _Part(
                model,
                model._meta.db_pk_column not in model._meta.generated_db_fields,
                tuple(path),
                attr if n else None,
                tuple((p, *known[name]) for p, name in zip(positions, names, strict=True)),
                positions,
            )
        )
        begin += width
    return tuple(parts) if begin == len(keys) else None


def _model(part: _Part, row: Sequence[Any]) -> Model:
    """A model of the row's columns, as Tortoise's `_init_from_db` makes it."""
    model = part.model
    made = model.__new__(model)
    fields = made.__dict__
    fields["_partial"] = False
    fields["_saved_in_db"] = True
    fields["_custom_generated_pk"] = part.generated_pk
    fields["_await_when_save"] = {}
    for position, name, how, convert in part.columns:
        value = row[position]
        if how == _TYPED:
            if value is not None:
                value = convert(value)  # type: ignore[misc]
        elif how == _CONVERTED:
            value = convert(value)  # type: ignore[misc]
        fields[name] = value
    return made


async def _made(connection: Any, query: QuerySet[M], text: str, values: list[Any]) -> list[M]:
    """The models of a statement's rows (Tortoise's executor when the plan is unknown)."""
    related = query._select_related_idx
    _, rows = await connection.execute_query(text, values)
    if not rows:
        return []
    plan = _plan(text, rows[0], related) if related else None
    if plan is None:  # never for this project's queries (a test says so): Tortoise's way
        executor = connection.executor_class(
            model=query.model,
            db=connection,
            prefetch_map=query._prefetch_map,
            prefetch_queries=query._prefetch_queries,
            select_related_idx=related,
        )
        return await executor.execute_select(text, values, custom_fields=[])
    made: list[M] = []
    main, *joined = plan
    for row in rows:
        row = tuple(row)
        instance = _model(main, row)
        instances: dict[tuple[Any, ...], Model] = {(None,): instance}
        for part in joined:
            related_model = _model(part, row) if any(row[p] for p in part.positions) else None
            target = instances.get(part.path)
            if target is not None:
                target.__dict__[f"_{part.attr}"] = related_model
            if related_model is not None:
                instances[(*part.path, part.attr)] = related_model
        made.append(instance)  # type: ignore[arg-type]
    return made


def in_transaction() -> bool:
    """Whether the current context runs in a transaction (its statements wait for its commit)."""
    return isinstance(connections.get("default"), TransactionalDBClient)


async def insert_new(
    table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], returning: Sequence[str]
) -> list[dict[str, Any]]:
    """Insert `rows` in one statement, leaving out those that would break a unique constraint
    (against the table or an earlier row of the same statement); the `returning` columns of the
    rows inserted. Values go to the driver as they are: give them as the database stores them."""
    statement = _insert_new(table, tuple(columns), len(rows), tuple(returning))
    values = {f"v{i}_{j}": value for i, row in enumerate(rows) for j, value in enumerate(row)}
    return await statement.rows(**values)


@functools.cache
def _insert_new(
    table: str, columns: tuple[str, ...], size: int, returning: tuple[str, ...]
) -> Statement:
    """`insert_new`'s statement for `size` rows: the j-th value of the i-th is :v<i>_<j>."""
    tuples = ", ".join(
        "(" + ", ".join(f":v{i}_{j}" for j in range(len(columns))) + ")" for i in range(size)
    )
    return Statement(
        f'INSERT INTO "{table}" ({", ".join(columns)}) VALUES {tuples} '  # noqa: S608
        f"ON CONFLICT DO NOTHING RETURNING {', '.join(returning)}"
    )
