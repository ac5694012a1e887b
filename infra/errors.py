"""Expected failures of operations: a machine-readable code, a Chinese message, maybe a field.

The codes are enums of the domain (`services.errors`) or of a piece of machinery (an image that
cannot be read); the API writes them by name."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class FieldError:
    code: StrEnum
    message: str
    field: str | None = None


class ServiceError(Exception):
    """Raised by an operation that refuses, with one or more field errors. Nothing was written."""

    def __init__(self, *errors: FieldError, retry_after: int | None = None) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)
        self.retry_after = retry_after

    @classmethod
    def of(cls, code: StrEnum, message: str, field: str | None = None) -> ServiceError:
        return cls(FieldError(code, message, field))


class Collector:
    """Gathers the field errors of a form, so a person sees all of them at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, code: StrEnum, message: str, field: str | None = None) -> None:
        self.errors.append(FieldError(code, message, field))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ServiceError(*self.errors)


class PermissionDenied(Exception):
    """The actor may not do this at all; surfaces as a top-level authorization error."""

    def __init__(self, message: str = "没有权限执行此操作") -> None:
        super().__init__(message)
