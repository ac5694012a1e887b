"""Statements Tortoise's query builder would build anew on every call, written once.

For the hottest statements only (a like is one, the inserts of a batch of check-ins another):
Tortoise builds a query through pypika each time, several times the cost of running it. The text
names its parameters (`:activity`); it is rendered once per dialect (PostgreSQL numbers them,
SQLite takes `?` in order) and run on the connection of the current context, a transaction's
included. Identifiers in the text are constants of the code, never input.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import TransactionalDBClient

_PARAMETER = re.compile(r"(?<!:):([a-z_][a-z0-9_]*)\b")  # not a PostgreSQL cast (`x::int`)


class Statement:
    def __init__(self, text: str) -> None:
        self.text = " ".join(text.split())
        self._rendered: dict[str, tuple[str, list[str]]] = {}

    def render(self, dialect: str) -> tuple[str, list[str]]:
        """The SQL for `dialect` and the parameter names in the order the driver takes them."""
        if dialect not in self._rendered:
            names: list[str] = []
            if dialect == "postgres":

                def number(match: re.Match[str]) -> str:
                    if match[1] not in names:
                        names.append(match[1])
                    return f"${names.index(match[1]) + 1}"

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
