"""Relay global IDs: base64 of "Type:pk"."""

from __future__ import annotations

import base64
import binascii

from services.errors import ErrorCode, ServiceError
from services.ids import to_global_id

__all__ = ["parse_global_id", "to_global_id"]


def parse_global_id(value: str | None, type_name: str, field: str = "id") -> int:
    """The integer key of a global ID of `type_name`; a payload error for anything else."""
    try:
        decoded = base64.b64decode((value or "").encode(), validate=True).decode()
        kind, _, pk = decoded.partition(":")
        if kind == type_name and pk.isdigit() and len(pk) <= 18:
            return int(pk)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ServiceError.of(ErrorCode.INVALID, f"无效的{type_name} ID", field)
