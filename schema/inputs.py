"""What every input must be before an operation sees it: the boundary of the GraphQL layer.

- Text: no NUL character (PostgreSQL cannot store one, and no person types it), in a literal of
  the document (a validation rule, cached with the validation) or in a variable (checked with
  the validation of each request, with a bound on nesting). Lone surrogates never get this far:
  the JSON decoder of the HTTP and websocket layers refuses them (`kepuri.app`), and
  graphql-core's lexer refuses them in literals.
- Moments and dates: within the years the platform deals in (`YEARS`), so that no
  conversion to UTC, no `+ timedelta` and no database can overflow. (Whether a moment must carry
  an offset is the operation's rule: a filing form refuses one without, with INVALID_TIME.)
- Numbers: GraphQL's Int is 32 bits, so larger ones never reach a resolver; cursors and IDs
  carry 64-bit keys at most (`schema.pagination`, `schema.ids`).

A refusal here is a GraphQL error with the code BAD_USER_INPUT and a Chinese message.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from graphql import ASTValidationRule, GraphQLError, StringValueNode
from strawberry.extensions import SchemaExtension
from strawberry.types.scalar import ScalarDefinition, scalar

YEARS = range(1900, 2200)  # of a moment (as written, before any conversion) or a date
MAX_KEY = 2**63 - 1  # the largest primary key either database holds
MAX_NESTING = 16  # lists and objects in a variable (the deepest input type nests 3)
NUL_MESSAGE = "输入内容不能包含空字符（U+0000）"
BAD_USER_INPUT = "BAD_USER_INPUT"


class InvalidInput(ValueError):
    """A value that no operation accepts; graphql-core reports its message."""


def moment(value: Any) -> datetime:
    """An ISO 8601 moment within the platform's years."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidInput(
                f"时间格式无效：{value!r}（应为ISO 8601，如2026-09-15T09:00:00+08:00）"
            ) from None
    else:
        raise InvalidInput("时间须为ISO 8601格式的字符串")
    _within_years(parsed, "时间")
    return parsed


def calendar_date(value: Any) -> date:
    if not isinstance(value, str) or len(value) > 10:
        raise InvalidInput("日期须为YYYY-MM-DD格式的字符串")
    try:
        parsed = date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"日期格式无效：{value!r}（应为YYYY-MM-DD）") from None
    _within_years(parsed, "日期")
    return parsed


def _within_years(value: date, label: str) -> None:
    if value.year not in YEARS:
        raise InvalidInput(f"{label}须在{YEARS[0]}年至{YEARS[-1]}年之间")


DateTimeScalar: ScalarDefinition = scalar(
    name="DateTime",
    description="Date with time (ISO 8601, with its offset: 2026-09-15T09:00:00+08:00)",
    serialize=lambda v: v.isoformat(),
    parse_value=moment,
)
DateScalar: ScalarDefinition = scalar(
    name="Date",
    description="Date (ISO 8601)",
    serialize=lambda v: v.isoformat(),
    parse_value=calendar_date,
)
SCALAR_OVERRIDES: dict[object, Any] = {datetime: DateTimeScalar, date: DateScalar}


class NoNulInLiterals(ASTValidationRule):
    """A string literal of the document holds no NUL (`"\\u0000"` is a valid GraphQL escape)."""

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        if "\x00" in node.value:
            self.report_error(GraphQLError(NUL_MESSAGE, node, extensions={"code": BAD_USER_INPUT}))


def _walk(value: Any, max_depth: int) -> Iterator[Any]:
    """Every string of a JSON value (keys too), without recursion; TooDeep past `max_depth`."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise TooDeep
            if isinstance(item, dict):
                stack.extend((key, depth + 1) for key in item)
            stack.extend(
                (child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)
            )


class TooDeep(ValueError):
    pass


def nests_deeper_than(value: Any, max_depth: int) -> bool:
    try:
        for _ in _walk(value, max_depth):
            pass
    except TooDeep:
        return True
    return False


def _refusal(value: Any) -> str | None:
    """Why a variable's value is refused (None: it is not)."""
    try:
        if any("\x00" in text for text in _walk(value, MAX_NESTING)):
            return NUL_MESSAGE
    except TooDeep:
        return "输入嵌套层数过多"
    return None


def refused_variables(variables: dict[str, Any] | None) -> GraphQLError | None:
    """The error refusing a request's variables, if one holds a NUL or nests too deeply."""
    for name, value in (variables or {}).items():
        reason = _refusal(value)
        if reason:
            return GraphQLError(f"变量${name}无效：{reason}", extensions={"code": BAD_USER_INPUT})
    return None


class VariableGuard(SchemaExtension):
    """Refuses, as a validation error, variables that `refused_variables` refuses. It comes
    after ValidationCache in the schema's extensions, whose hook has validated the document when
    this one runs (strawberry decides whether to execute before the hooks' ends)."""

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not context.pre_execution_errors:
            refused = refused_variables(context.variables)
            if refused is not None:
                context.pre_execution_errors = [refused]
        yield
