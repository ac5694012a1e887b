"""The GraphQL types of engagement: outputs, inputs and payloads.

Its resolvers are in resolvers/engagement.py."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from models import CheckIn, Comment
from schema.accounts import UserType
from schema.activities import Engagement
from schema.context import Context
from schema.ids import to_global_id
from schema.node import Node
from schema.types import Error, OkPayload
from services.errors import EngagementErrorCode


@strawberry.type(
    name="EngagementError",
    description="A refusal of a mutation on engagement (check-ins, likes, comments, ratings): "
    "the input it concerns, why (in Chinese), and a code.",
)
class EngagementError(Error[EngagementErrorCode]):
    pass


@strawberry.type(name="EngagementOkPayload")
class EngagementOkPayload(OkPayload[EngagementError]):
    pass


@strawberry.type(name="CheckIn")
class CheckInType(Node):
    created_at: datetime

    @strawberry.field
    def id(self, root: strawberry.Parent[CheckIn]) -> strawberry.ID:
        return strawberry.ID(to_global_id("CheckIn", root.id))


@strawberry.type(name="Comment")
class CommentType(Node):
    body: str
    created_at: datetime

    @strawberry.field
    def id(self, root: strawberry.Parent[Comment]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Comment", root.id))

    @strawberry.field
    async def author(self, root: strawberry.Parent[Comment], info: Info[Context, None]) -> UserType:
        return await info.context.loaders.user.load(root.user_id)  # type: ignore[return-value]


@strawberry.type
class CheckInPayload:
    check_in: CheckInType | None = None
    engagement: Engagement | None = None
    errors: list[EngagementError] = strawberry.field(default_factory=list)


@strawberry.type
class EngagementPayload:
    engagement: Engagement | None = None
    errors: list[EngagementError] = strawberry.field(default_factory=list)


@strawberry.type
class CommentPayload:
    comment: CommentType | None = None
    errors: list[EngagementError] = strawberry.field(default_factory=list)
