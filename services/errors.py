"""Expected failures of operations: a machine-readable code, a Chinese message, maybe a field."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID = "INVALID"
    REQUIRED = "REQUIRED"
    INVALID_PHONE = "INVALID_PHONE"
    INVALID_EMAIL = "INVALID_EMAIL"
    WEAK_PASSWORD = "WEAK_PASSWORD"  # noqa: S105
    AGREEMENT_REQUIRED = "AGREEMENT_REQUIRED"
    PHONE_ALREADY_REGISTERED = "PHONE_ALREADY_REGISTERED"
    PHONE_NOT_REGISTERED = "PHONE_NOT_REGISTERED"
    CODE_INVALID = "CODE_INVALID"
    CODE_EXPIRED = "CODE_EXPIRED"
    CODE_TOO_MANY_ATTEMPTS = "CODE_TOO_MANY_ATTEMPTS"
    SMS_FAILED = "SMS_FAILED"
    RATE_LIMITED = "RATE_LIMITED"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    ACCOUNT_DISABLED = "ACCOUNT_DISABLED"
    INVALID_REGION = "INVALID_REGION"
    KIND_NOT_ALLOWED = "KIND_NOT_ALLOWED"
    NOT_FOUND = "NOT_FOUND"
    USER_NOT_FOUND = "USER_NOT_FOUND"
    ALREADY_MEMBER = "ALREADY_MEMBER"
    LAST_ADMIN = "LAST_ADMIN"
    AMBIGUOUS_UNIT = "AMBIGUOUS_UNIT"
    CAMPAIGN_EXISTS = "CAMPAIGN_EXISTS"
    NO_CAMPAIGN = "NO_CAMPAIGN"
    OUTSIDE_NATIONAL_WINDOW = "OUTSIDE_NATIONAL_WINDOW"
    INVALID_WINDOW = "INVALID_WINDOW"
    NOT_A_MEMBER = "NOT_A_MEMBER"
    UNIT_PROFILE_INCOMPLETE = "UNIT_PROFILE_INCOMPLETE"
    INVALID_TIME = "INVALID_TIME"
    INVALID_URL = "INVALID_URL"
    ADDRESS_NOT_ALLOWED = "ADDRESS_NOT_ALLOWED"
    INVALID_SUPERVISOR = "INVALID_SUPERVISOR"
    INVALID_JOINT_ACTION = "INVALID_JOINT_ACTION"
    INVALID_IMAGE = "INVALID_IMAGE"
    IMAGE_TOO_LARGE = "IMAGE_TOO_LARGE"
    TOO_MANY_ITEMS = "TOO_MANY_ITEMS"
    FILING_CLOSED = "FILING_CLOSED"
    FILING_NOT_OPEN = "FILING_NOT_OPEN"
    NOT_EDITABLE_WHILE_PENDING = "NOT_EDITABLE_WHILE_PENDING"
    NOT_A_DRAFT = "NOT_A_DRAFT"
    NOT_SUBMITTED = "NOT_SUBMITTED"
    NOT_APPROVED = "NOT_APPROVED"
    NOT_PENDING = "NOT_PENDING"
    NOT_STARTED = "NOT_STARTED"
    ALREADY_SUPPLEMENTED = "ALREADY_SUPPLEMENTED"
    ALREADY_SUMMARIZED = "ALREADY_SUMMARIZED"
    DEADLINE_PASSED = "DEADLINE_PASSED"
    TOO_MANY_MEDIA = "TOO_MANY_MEDIA"
    COMMENT_REQUIRED = "COMMENT_REQUIRED"
    NOT_PUBLIC = "NOT_PUBLIC"
    CHECK_IN_CLOSED = "CHECK_IN_CLOSED"
    ALREADY_CHECKED_IN = "ALREADY_CHECKED_IN"
    INVALID_QR = "INVALID_QR"
    COMMENT_BLOCKED = "COMMENT_BLOCKED"
    NOT_A_RECOMMENDER = "NOT_A_RECOMMENDER"
    NOT_UNDER_RECOMMENDER = "NOT_UNDER_RECOMMENDER"
    NOT_SUMMARIZED = "NOT_SUMMARIZED"
    RECOMMENDATION_NOT_OPEN = "RECOMMENDATION_NOT_OPEN"
    RECOMMENDATION_CLOSED = "RECOMMENDATION_CLOSED"
    QUOTA_EXCEEDED = "QUOTA_EXCEEDED"
    ALREADY_RECOMMENDED = "ALREADY_RECOMMENDED"
    ALREADY_WITHDRAWN = "ALREADY_WITHDRAWN"
    ALREADY_PROPOSED = "ALREADY_PROPOSED"
    NOT_ON_NOTICE = "NOT_ON_NOTICE"
    ALREADY_OBJECTED = "ALREADY_OBJECTED"
    NOT_PROPOSED = "NOT_PROPOSED"
    NOTICE_NOT_OVER = "NOTICE_NOT_OVER"
    NOTHING_TO_FINALIZE = "NOTHING_TO_FINALIZE"
    NOT_FINAL = "NOT_FINAL"
    COMPUTED_INDICATOR = "COMPUTED_INDICATOR"


@dataclass(frozen=True)
class FieldError:
    code: ErrorCode
    message: str
    field: str | None = None


class ServiceError(Exception):
    """Raised by an operation that refuses, with one or more field errors. Nothing was written."""

    def __init__(self, *errors: FieldError, retry_after: int | None = None) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = list(errors)
        self.retry_after = retry_after

    @classmethod
    def of(cls, code: ErrorCode, message: str, field: str | None = None) -> ServiceError:
        return cls(FieldError(code, message, field))


class Collector:
    """Gathers the field errors of a form, so a person sees all of them at once."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, code: ErrorCode, message: str, field: str | None = None) -> None:
        self.errors.append(FieldError(code, message, field))

    def raise_if_any(self) -> None:
        if self.errors:
            raise ServiceError(*self.errors)


class PermissionDenied(Exception):
    """The actor may not do this at all; surfaces as a top-level authorization error."""

    def __init__(self, message: str = "没有权限执行此操作") -> None:
        super().__init__(message)
