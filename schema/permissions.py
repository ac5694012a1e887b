"""Declarative field permissions; they fail as top-level errors with an extension code."""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError
from strawberry.permission import BasePermission
from strawberry.types import Info

from schema.context import Context
from services.permissions import is_national_staff


class IsAuthenticated(BasePermission):
    message = "请先登录"
    error_extensions = {"code": "UNAUTHENTICATED"}  # noqa: RUF012

    def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        return info.context.user is not None


class IsPortalOrStaff(BasePermission):
    """A provincial portal's API client, or national staff (webhooks, deliveries)."""

    message = "仅限省级平台和主办单位工作人员"
    error_extensions = {"code": "FORBIDDEN"}  # noqa: RUF012

    async def has_permission(self, source: Any, info: Info[Context, Any], **kwargs: Any) -> bool:
        context = info.context
        if context.api_client is not None:
            return True
        return context.user is not None and is_national_staff(await context.grants())


def forbidden(message: str) -> GraphQLError:
    """A row-scope refusal decided in services, raised as the same top-level error."""
    return GraphQLError(message, extensions={"code": "FORBIDDEN"})


def bad_argument(message: str, code: str = "INVALID_ARGUMENT") -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})
