"""The audit log: one row per security-relevant act."""

from __future__ import annotations

from typing import Any

from models import AuditLog, User


async def record(
    action: str,
    *,
    actor: User | None = None,
    target: object | None = None,
    ip: str | None = None,
    **data: Any,
) -> None:
    target_type = type(target).__name__ if target is not None else None
    target_id = str(getattr(target, "pk", "")) if target is not None else None
    await AuditLog.create(
        actor=actor, action=action, target_type=target_type, target_id=target_id, data=data, ip=ip
    )
