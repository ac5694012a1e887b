"""Field types of this project."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise import fields
from tortoise.timezone import get_default_timezone, get_use_tz


class UtcDatetimeField(fields.DatetimeField):
    """A datetime stored in UTC, whatever offset it came with.

    SQLite keeps datetimes as text and compares them as text: a value stored as +08:00 and a
    parameter given as +00:00 compare wrongly. Normalizing every value (and every filter value)
    to UTC on the way in keeps comparisons and ordering right on both databases. Values read back
    are converted to the configured time zone (Asia/Shanghai), as Tortoise does, the common cases
    the short way: an aware value from the driver (PostgreSQL), or SQLite's text read by
    `datetime.fromisoformat` (Tortoise's ISO 8601 parser was half the cost of a list's rows).
    """

    def to_python_value(self, value: Any) -> Any:
        if get_use_tz():
            if isinstance(value, str):
                try:
                    value = datetime.fromisoformat(value)
                except ValueError:
                    return super().to_python_value(value)
            if isinstance(value, datetime) and value.tzinfo is not None:
                return value.astimezone(get_default_timezone())
        return super().to_python_value(value)

    def to_db_value(self, value: Any, instance: Any) -> Any:
        value = super().to_db_value(value, instance)
        if isinstance(value, datetime) and value.tzinfo is not None:
            return value.astimezone(UTC)
        return value
