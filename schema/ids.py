"""Relay global IDs: base64 of "Type:pk", one spelling per object.

An ID is accepted only as the API writes it: canonical base64 (no other padding or trailing
bits), the type, and the key in ASCII digits without a sign or leading zeros, within 64 bits.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import cache

from tortoise import fields

import models
from infra.errors import ServiceError
from infra.ids import to_global_id
from services.errors import CommonErrorCode

__all__ = ["decode_global_id", "parse_global_id", "to_global_id"]


_KEY = re.compile(r"[1-9][0-9]{0,17}")  # ASCII, no sign, no leading zero, below 2**63


@cache
def _largest(kind: str) -> int:
    """The largest key a row of `kind` can have: its primary key column's (PostgreSQL refuses a
    larger parameter outright, which would answer a made-up ID with an error of ours)."""
    model = getattr(models, kind, None)
    pk = getattr(getattr(model, "_meta", None), "pk", None)
    return 2**63 - 1 if isinstance(pk, fields.BigIntField) else 2**31 - 1


def decode_global_id(value: str | None) -> tuple[str, int] | None:
    """The type and integer key of a global ID written as the API writes it, else None."""
    text = value or ""
    try:
        if len(text) <= 64:
            decoded = base64.b64decode(text.encode("ascii"), validate=True).decode("ascii")
            kind, _, pk = decoded.partition(":")
            if _KEY.fullmatch(pk) and to_global_id(kind, pk) == text and int(pk) <= _largest(kind):
                return kind, int(pk)
    except (binascii.Error, UnicodeError, ValueError):
        pass
    return None


def parse_global_id(value: str | None, type_name: str, field: str = "id") -> int:
    """The integer key of a global ID of `type_name`; a payload error for anything else."""
    decoded = decode_global_id(value)
    if decoded is None or decoded[0] != type_name:
        raise ServiceError.of(CommonErrorCode.INVALID, f"无效的{type_name} ID", field)
    return decoded[1]
