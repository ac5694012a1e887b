"""Accounts: verification codes, registration, login, sessions, passwords, profile."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from infra.clock import now
from infra.errors import Collector, ServiceError
from infra.passwords import hash_password, verify_password
from infra.sms import SmsError
from models import Session, User, VerificationCode
from models.enums import VerificationPurpose
from services import audit
from services.errors import AccountErrorCode
from services.events import transaction
from services.runtime import Runtime
from services.sessions import forget_user, token_hash
from services.validation import check_email, check_mobile, check_password, check_text

CODE_TEXT = "【全国科普日】您的验证码是{code}，{minutes}分钟内有效。如非本人操作，请忽略本短信。"


@dataclass(frozen=True)
class SignedIn:
    user: User
    token: str


def _code_hash(rt: Runtime, phone: str, purpose: VerificationPurpose, code: str) -> str:
    message = f"{phone}:{purpose.value}:{code}".encode()
    return hmac.new(rt.settings.secret_key.encode(), message, hashlib.sha256).hexdigest()


def _phone_or_raise(raw: str, field: str = "phone") -> str:
    errors = Collector()
    phone = check_mobile(errors, raw, field)
    errors.raise_if_any()
    return phone


async def request_code(
    rt: Runtime, raw_phone: str, purpose: VerificationPurpose, ip: str | None
) -> int:
    """Send a fresh code; return the seconds until another may be requested for this phone."""
    phone = _phone_or_raise(raw_phone)
    limits = rt.settings
    # Both limits count before the phone is looked up: whether a phone is registered shows in
    # the answer, so finding it out costs a code request, as limited as the codes themselves.
    # (The address first: a request refused there does not count against the phone.)
    await rt.limiter.consume(limits.rate_limit_code_address, "code-addr", ip or "unknown")
    await rt.limiter.consume(limits.rate_limit_code_phone, "code-phone", phone, field="phone")
    registered = await User.filter(phone=phone).exists()
    if purpose is VerificationPurpose.REGISTER and registered:
        raise ServiceError.of(
            AccountErrorCode.PHONE_ALREADY_REGISTERED, "该手机号已注册，请直接登录", "phone"
        )
    if purpose is VerificationPurpose.RESET_PASSWORD and not registered:
        raise ServiceError.of(AccountErrorCode.PHONE_NOT_REGISTERED, "该手机号尚未注册", "phone")

    code = f"{secrets.randbelow(1_000_000):06d}"
    ttl = rt.settings.verification_code_ttl
    moment = now()
    minutes = int(ttl.total_seconds() // 60)
    try:
        await rt.sms.send(phone, CODE_TEXT.format(code=code, minutes=minutes), code)
    except SmsError as exc:
        raise ServiceError.of(
            AccountErrorCode.SMS_FAILED, "短信发送失败，请稍后重试", "phone"
        ) from exc
    async with in_transaction("default"):
        # A new code replaces every earlier one of the same purpose.
        await VerificationCode.filter(phone=phone, purpose=purpose, used_at=None).update(
            used_at=moment
        )
        await VerificationCode.create(
            phone=phone,
            purpose=purpose,
            code_hash=_code_hash(rt, phone, purpose, code),
            expires_at=moment + ttl,
        )
    return await rt.limiter.wait_seconds(limits.rate_limit_code_phone, "code-phone", phone)


async def _consume_code(rt: Runtime, phone: str, purpose: VerificationPurpose, code: str) -> None:
    """Accept the latest unused code once; refuse expired or exhausted codes. A try is counted
    (one atomic UPDATE) before the code is compared, so concurrent guesses get no more tries
    than `verification_code_max_attempts` between them."""
    max_tries = rt.settings.verification_code_max_attempts
    latest = (
        await VerificationCode.filter(phone=phone, purpose=purpose, used_at=None)
        .order_by("-id")
        .first()
    )
    if latest is None:
        raise ServiceError.of(AccountErrorCode.CODE_INVALID, "验证码错误，请重新获取", "code")
    if latest.expires_at <= now():
        raise ServiceError.of(AccountErrorCode.CODE_EXPIRED, "验证码已过期，请重新获取", "code")
    counted = await VerificationCode.filter(
        id=latest.id, used_at=None, attempts__lt=max_tries
    ).update(attempts=F("attempts") + 1)
    if not counted:
        raise ServiceError.of(
            AccountErrorCode.CODE_TOO_MANY_ATTEMPTS, "验证码错误次数过多，请重新获取", "code"
        )
    given = (code or "").strip()
    if not hmac.compare_digest(latest.code_hash, _code_hash(rt, phone, purpose, given)):
        tried = await VerificationCode.get(id=latest.id)
        left = max_tries - tried.attempts
        message = f"验证码错误，还可尝试{left}次" if left > 0 else "验证码错误次数过多，请重新获取"
        code_name = (
            AccountErrorCode.CODE_INVALID if left > 0 else AccountErrorCode.CODE_TOO_MANY_ATTEMPTS
        )
        raise ServiceError.of(code_name, message, "code")
    used = await VerificationCode.filter(id=latest.id, used_at=None).update(used_at=now())
    if not used:  # a concurrent request took it first
        raise ServiceError.of(AccountErrorCode.CODE_INVALID, "验证码已使用，请重新获取", "code")


async def _open_session(rt: Runtime, user: User, ip: str | None, user_agent: str | None) -> str:
    token = secrets.token_urlsafe(32)
    await Session.create(
        user=user,
        token_hash=token_hash(token),
        expires_at=now() + rt.settings.session_ttl,
        ip=ip,
        user_agent=(user_agent or "")[:255] or None,
    )
    return token


async def register(
    rt: Runtime,
    *,
    phone: str,
    code: str,
    password: str,
    name: str,
    accept_agreement: bool,
    ip: str | None = None,
    user_agent: str | None = None,
) -> SignedIn:
    errors = Collector()
    phone = check_mobile(errors, phone)
    check_password(errors, password)
    name = check_text(errors, name, "name", "姓名", max_length=50)
    if not accept_agreement:
        errors.add(
            AccountErrorCode.AGREEMENT_REQUIRED,
            "请阅读并同意《云上科普日网络服务使用协议》",
            "acceptAgreement",
        )
    errors.raise_if_any()
    if await User.filter(phone=phone).exists():
        raise ServiceError.of(
            AccountErrorCode.PHONE_ALREADY_REGISTERED, "该手机号已注册，请直接登录", "phone"
        )
    await _consume_code(rt, phone, VerificationPurpose.REGISTER, code)
    password_hash = await hash_password(password)
    moment = now()
    try:
        async with in_transaction("default"):
            user = await User.create(
                phone=phone,
                name=name,
                password_hash=password_hash,
                agreement_accepted_at=moment,
                password_changed_at=moment,
            )
            token = await _open_session(rt, user, ip, user_agent)
            await audit.record("register", actor=user, target=user, ip=ip)
    except IntegrityError as exc:
        raise ServiceError.of(
            AccountErrorCode.PHONE_ALREADY_REGISTERED, "该手机号已注册，请直接登录", "phone"
        ) from exc
    return SignedIn(user, token)


async def login(
    rt: Runtime, *, phone: str, password: str, ip: str | None = None, user_agent: str | None = None
) -> SignedIn:
    """Every attempt is counted before the password is checked, so concurrent guesses are
    evaluated no more often than the limit allows; a correct password forgets the phone's."""
    phone = _phone_or_raise(phone)
    specs = rt.settings
    await rt.limiter.consume(specs.rate_limit_login_address, "login-addr", ip or "unknown")
    await rt.limiter.consume(specs.rate_limit_login_phone, "login-phone", phone, field="password")
    user = await User.get_or_none(phone=phone)
    if not await verify_password(user.password_hash if user else None, password or ""):
        await audit.record("login_failed", actor=user, target=user, ip=ip, phone=phone)
        raise ServiceError.of(AccountErrorCode.INVALID_CREDENTIALS, "手机号或密码错误", "password")
    assert user is not None
    if not user.is_active:
        raise ServiceError.of(
            AccountErrorCode.ACCOUNT_DISABLED, "该账号已停用，请联系管理员", "phone"
        )
    await rt.limiter.clear(specs.rate_limit_login_phone, "login-phone", phone)
    token = await _open_session(rt, user, ip, user_agent)
    await audit.record("login", actor=user, target=user, ip=ip)
    return SignedIn(user, token)


async def sign_in_with_code(
    rt: Runtime,
    *,
    phone: str,
    code: str,
    accept_agreement: bool,
    name: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> SignedIn:
    """Sign in with an SMS code (what the QR page uses); a new phone gets an account, once the
    person accepts the service agreement. Its password is unusable until reset."""
    errors = Collector()
    phone = check_mobile(errors, phone)
    display = check_text(errors, name, "name", "昵称", max_length=50, required=False)
    errors.raise_if_any()
    user = await User.get_or_none(phone=phone)
    if user is None and not accept_agreement:
        raise ServiceError.of(
            AccountErrorCode.AGREEMENT_REQUIRED,
            "请阅读并同意《云上科普日网络服务使用协议》",
            "acceptAgreement",
        )
    if user is not None and not user.is_active:
        raise ServiceError.of(
            AccountErrorCode.ACCOUNT_DISABLED, "该账号已停用，请联系管理员", "phone"
        )
    await _consume_code(rt, phone, VerificationPurpose.LOGIN, code)
    async with in_transaction("default"):
        if user is None:
            moment = now()
            try:
                user = await User.create(
                    phone=phone,
                    name=display or f"科普爱好者{phone[-4:]}",
                    password_hash=await hash_password(secrets.token_urlsafe(32)),
                    agreement_accepted_at=moment,
                    password_changed_at=moment,
                )
            except IntegrityError:  # registered a moment ago by a parallel request
                user = await User.get(phone=phone)
            await audit.record("register", actor=user, target=user, ip=ip, via="code")
        token = await _open_session(rt, user, ip, user_agent)
        await audit.record("login", actor=user, target=user, ip=ip, via="code")
    return SignedIn(user, token)


async def logout(session: Session) -> None:
    await Session.filter(id=session.id, revoked_at=None).update(revoked_at=now())
    await forget_user(session.user_id)  # type: ignore[attr-defined]


async def revoke_all(user: User) -> None:
    """End every session of the person; the API processes forget them once the caller's
    `events.transaction()` has committed (see `forget_user`)."""
    await Session.filter(user_id=user.id, revoked_at=None).update(revoked_at=now())
    await forget_user(user.id)


async def reset_password(
    rt: Runtime, *, phone: str, code: str, new_password: str, ip: str | None = None
) -> None:
    errors = Collector()
    phone = check_mobile(errors, phone)
    check_password(errors, new_password, "newPassword")
    errors.raise_if_any()
    user = await User.get_or_none(phone=phone)
    if user is None:
        raise ServiceError.of(AccountErrorCode.PHONE_NOT_REGISTERED, "该手机号尚未注册", "phone")
    await _consume_code(rt, phone, VerificationPurpose.RESET_PASSWORD, code)
    password_hash = await hash_password(new_password)
    async with transaction():
        await User.filter(id=user.id).update(password_hash=password_hash, password_changed_at=now())
        await revoke_all(user)
        await audit.record("password_reset", actor=user, target=user, ip=ip)


async def change_password(
    user: User, *, old_password: str, new_password: str, ip: str | None = None
) -> None:
    """Change the password. Every session (this one too) is revoked: the client signs in again."""
    errors = Collector()
    check_password(errors, new_password, "newPassword")
    errors.raise_if_any()
    fresh = await User.get(id=user.id)
    if not await verify_password(fresh.password_hash, old_password or ""):
        raise ServiceError.of(AccountErrorCode.INVALID_CREDENTIALS, "原密码错误", "oldPassword")
    password_hash = await hash_password(new_password)
    async with transaction():
        await User.filter(id=user.id).update(password_hash=password_hash, password_changed_at=now())
        await revoke_all(user)
        await audit.record("password_changed", actor=user, target=user, ip=ip)


_UNSET = object()


async def update_profile(user: User, *, name: object = _UNSET, email: object = _UNSET) -> User:
    """Partial update: an absent field is unchanged; an empty email removes the address."""
    errors = Collector()
    changes: dict[str, object] = {}
    if name is not _UNSET and name is not None:
        changes["name"] = check_text(errors, str(name), "name", "姓名", max_length=50)
    if email is not _UNSET:
        changes["email"] = check_email(errors, str(email or ""))
    errors.raise_if_any()
    if changes:
        await User.filter(id=user.id).update(**changes)
        for key, value in changes.items():
            setattr(user, key, value)
        await audit.record("profile_updated", actor=user, target=user, fields=sorted(changes))
        await forget_user(user.id)
    return user
