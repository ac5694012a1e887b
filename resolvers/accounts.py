"""Accounts: codes, registration, sign-in, passwords, the caller's own profile."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from infra.errors import ServiceError
from models.enums import VerificationPurpose as Purpose
from resolvers.common import attempt, caller
from schema.accounts import (
    AccountError,
    AccountOkPayload,
    AuthPayload,
    LogoutPayload,
    ProfileInput,
    RegisterInput,
    RequestVerificationCodePayload,
    ResetPasswordInput,
    UpdateProfilePayload,
    UserType,
)
from schema.context import Context
from schema.permissions import IsAuthenticated
from schema.types import VerificationPurpose, errors_of
from services import accounts


def _signed_in(ctx: Context, signed: accounts.SignedIn) -> AuthPayload:
    """The payload of a new session; the rest of this request sees the new person as the viewer."""
    ctx.user = signed.user
    ctx._grants = None
    return AuthPayload(token=signed.token, user=signed.user)  # type: ignore[arg-type]


@strawberry.type
class AccountsQuery:
    @strawberry.field(description="The signed-in person, or null.")
    def me(self, info: Info[Context, None]) -> UserType | None:
        return info.context.user  # type: ignore[return-value]


@strawberry.type
class AccountsMutation:
    @strawberry.mutation(description="Send a 6-digit code by SMS (rate limited).")
    async def request_verification_code(
        self,
        info: Info[Context, None],
        phone: str,
        purpose: VerificationPurpose,
    ) -> RequestVerificationCodePayload:
        ctx = info.context
        try:
            wait = await accounts.request_code(ctx.runtime, phone, Purpose(purpose), ctx.client_ip)
        except ServiceError as e:
            return RequestVerificationCodePayload(
                retry_after_seconds=e.retry_after, errors=errors_of(e, AccountError)
            )
        return RequestVerificationCodePayload(sent=True, retry_after_seconds=wait)

    @strawberry.mutation
    async def register(self, info: Info[Context, None], input: RegisterInput) -> AuthPayload:
        ctx = info.context
        signed, errors = await attempt(
            AccountError,
            lambda: accounts.register(
                ctx.runtime,
                phone=input.phone,
                code=input.code,
                password=input.password,
                name=input.name,
                accept_agreement=input.accept_agreement,
                ip=ctx.client_ip,
                user_agent=ctx.user_agent,
            ),
        )
        return _signed_in(ctx, signed) if signed else AuthPayload(errors=errors)

    @strawberry.mutation
    async def login(self, info: Info[Context, None], phone: str, password: str) -> AuthPayload:
        ctx = info.context
        signed, errors = await attempt(
            AccountError,
            lambda: accounts.login(
                ctx.runtime,
                phone=phone,
                password=password,
                ip=ctx.client_ip,
                user_agent=ctx.user_agent,
            ),
        )
        return _signed_in(ctx, signed) if signed else AuthPayload(errors=errors)

    @strawberry.mutation(
        description="Sign in with an SMS code (purpose LOGIN); a new phone gets an account once "
        "the service agreement is accepted."
    )
    async def sign_in_with_code(
        self,
        info: Info[Context, None],
        phone: str,
        code: str,
        accept_agreement: bool = False,
        name: str | None = None,
    ) -> AuthPayload:
        ctx = info.context
        signed, errors = await attempt(
            AccountError,
            lambda: accounts.sign_in_with_code(
                ctx.runtime,
                phone=phone,
                code=code,
                accept_agreement=accept_agreement,
                name=name,
                ip=ctx.client_ip,
                user_agent=ctx.user_agent,
            ),
        )
        return _signed_in(ctx, signed) if signed else AuthPayload(errors=errors)

    @strawberry.mutation(description="Set a new password with an SMS code; every session ends.")
    async def reset_password(
        self, info: Info[Context, None], input: ResetPasswordInput
    ) -> AccountOkPayload:
        ctx = info.context
        _, errors = await attempt(
            AccountError,
            lambda: accounts.reset_password(
                ctx.runtime,
                phone=input.phone,
                code=input.code,
                new_password=input.new_password,
                ip=ctx.client_ip,
            ),
        )
        return AccountOkPayload(ok=not errors, errors=errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Change the password; every session ends (sign in again).",
    )
    async def change_password(
        self, info: Info[Context, None], old_password: str, new_password: str
    ) -> AccountOkPayload:
        user = caller(info)
        _, errors = await attempt(
            AccountError,
            lambda: accounts.change_password(
                user,
                old_password=old_password,
                new_password=new_password,
                ip=info.context.client_ip,
            ),
        )
        return AccountOkPayload(ok=not errors, errors=errors)

    @strawberry.mutation(description="End this session (a no-op when not signed in).")
    async def logout(self, info: Info[Context, None]) -> LogoutPayload:
        session = info.context.session
        if session is not None:
            await accounts.logout(session)
        return LogoutPayload(ok=True)

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def update_profile(
        self, info: Info[Context, None], input: ProfileInput
    ) -> UpdateProfilePayload:
        user = caller(info)
        changes = {
            key: value
            for key, value in (("name", input.name), ("email", input.email))
            if value is not strawberry.UNSET
        }
        updated, errors = await attempt(
            AccountError, lambda: accounts.update_profile(user, **changes)
        )
        return UpdateProfilePayload(user=updated, errors=errors)  # type: ignore[arg-type]
