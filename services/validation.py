"""Field validation shared by the operations: phones, passwords, names, emails, free text."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email

from infra.errors import Collector
from services.errors import CommonErrorCode

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{2,3}-?\d{7,8}(-\d{1,6})?$")
_SPACES = re.compile(r"[\s\u3000]+")
_LINE_SPACES = re.compile(r"[ \t\u3000]+")
# Invisible characters that change how text displays: C0 and C1 controls (a newline is kept
# where text may have lines) and the bidirectional embeddings, overrides and isolates, with
# which "tceffe" could show reversed in a list or on a certificate.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def normalize_phone(raw: str) -> str:
    """Strip spaces, dashes and a +86/86 prefix from a mainland mobile number."""
    phone = re.sub(r"[\s-]", "", raw or "")
    if phone.startswith("+86"):
        phone = phone[3:]
    elif phone.startswith("86") and len(phone) == 13:
        phone = phone[2:]
    return phone


def mask_phone(phone: str) -> str:
    """A phone number as shown to others: its middle four digits hidden (138****5678)."""
    return f"{phone[:3]}****{phone[-4:]}"


def check_mobile(errors: Collector, raw: str, field: str = "phone") -> str:
    phone = normalize_phone(raw)
    if not MOBILE.match(phone):
        errors.add(CommonErrorCode.INVALID_PHONE, "请输入有效的11位中国大陆手机号码", field)
    return phone


def check_contact_phone(errors: Collector, raw: str, field: str = "contactPhone") -> str:
    """A mobile number or a landline with area code (028-12345678)."""
    phone = (raw or "").strip().replace(" ", "")
    mobile = normalize_phone(phone)
    if MOBILE.match(mobile):
        return mobile
    if not LANDLINE.match(phone):
        errors.add(
            CommonErrorCode.INVALID_PHONE,
            "请输入有效的手机号码或带区号的固定电话（如028-12345678）",
            field,
        )
    return phone


def check_password(errors: Collector, password: str, field: str = "password") -> None:
    if len(password) < 8 or len(password) > 128:
        errors.add(CommonErrorCode.WEAK_PASSWORD, "密码长度须为8至128个字符", field)
    elif not (re.search(r"[A-Za-z]", password) and re.search(r"\d", password)):
        errors.add(CommonErrorCode.WEAK_PASSWORD, "密码须同时包含字母和数字", field)


def clean_text(value: str | None) -> str:
    """Trim, drop invisible control characters and fold runs of white space into one space.
    Text is otherwise kept as written ("3<5" stays "3<5"): it is escaped where it is shown."""
    return _SPACES.sub(" ", _CONTROL.sub("", value or "")).strip()


def clean_lines(value: str | None, *, compact: bool = False) -> str:
    """Text with lines, its invisible control characters dropped (newlines kept); `compact`
    also folds spaces and drops empty lines (a comment)."""
    text = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    lines = [_CONTROL.sub("", line) for line in text.split("\n")]
    if compact:
        lines = [_LINE_SPACES.sub(" ", line).strip() for line in lines]
        lines = [line for line in lines if line]
    return "\n".join(lines).strip()


def check_text(
    errors: Collector,
    value: str | None,
    field: str,
    label: str,
    *,
    max_length: int,
    min_length: int = 1,
    required: bool = True,
    multiline: bool = False,
) -> str:
    text = clean_lines(value) if multiline else clean_text(value)
    if not text:
        if required:
            errors.add(CommonErrorCode.REQUIRED, f"请填写{label}", field)
        return text
    if len(text) < min_length or len(text) > max_length:
        errors.add(
            CommonErrorCode.INVALID, f"{label}长度须为{min_length}至{max_length}个字符", field
        )
    return text


def check_email(errors: Collector, value: str, field: str = "email") -> str | None:
    """An empty value means "no address"; otherwise a syntactically valid, normalized address."""
    text = (value or "").strip()
    if not text:
        return None
    try:
        return validate_email(text, check_deliverability=False).normalized
    except EmailNotValidError:
        errors.add(CommonErrorCode.INVALID_EMAIL, "请输入有效的电子邮箱地址", field)
        return None
