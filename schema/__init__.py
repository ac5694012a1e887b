"""The GraphQL schema: the domain mixins of `resolvers` composed into one Query and Mutation."""

from __future__ import annotations

from collections.abc import Callable

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.types import ExecutionContext

from resolvers.accounts import AccountsMutation, AccountsQuery
from resolvers.activities import ActivitiesMutation, ActivitiesQuery
from resolvers.campaigns import CampaignsMutation, CampaignsQuery
from resolvers.commendations import CommendationsMutation, CommendationsQuery
from resolvers.documents import DocumentsMutation, DocumentsQuery, DocumentsSubscription
from resolvers.engagement import EngagementMutation, EngagementQuery
from resolvers.notifications import (
    NotificationsMutation,
    NotificationsQuery,
    NotificationsSubscription,
)
from resolvers.organizations import OrganizationsMutation, OrganizationsQuery
from resolvers.portals import PortalsMutation, PortalsQuery, PortalsSubscription
from schema.sharing import SharedEventExecutor


@strawberry.type
class Query(
    AccountsQuery,
    OrganizationsQuery,
    CampaignsQuery,
    ActivitiesQuery,
    EngagementQuery,
    DocumentsQuery,
    NotificationsQuery,
    PortalsQuery,
    CommendationsQuery,
):
    pass


@strawberry.type
class Mutation(
    AccountsMutation,
    OrganizationsMutation,
    CampaignsMutation,
    ActivitiesMutation,
    EngagementMutation,
    DocumentsMutation,
    NotificationsMutation,
    PortalsMutation,
    CommendationsMutation,
):
    pass


@strawberry.type
class Subscription(DocumentsSubscription, NotificationsSubscription, PortalsSubscription):
    pass


def _is_unexpected(error: GraphQLError) -> bool:
    """Mask errors that came from an exception in our code; keep the ones we raise on purpose
    (permissions, arguments, limits), which are GraphQLErrors without an original error."""
    return error.original_error is not None and not isinstance(error.original_error, GraphQLError)


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log only unexpected errors: refusals (permissions, bad arguments, limits) are answers
        to the client, not incidents."""
        unexpected = [e for e in errors if _is_unexpected(e)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(
    *,
    mask_errors: bool = False,
    max_depth: int = 12,
    max_aliases: int = 30,
    max_tokens: int = 4000,
) -> strawberry.Schema:
    # The limit rules are built once: the validation cache is keyed by the rule classes, and
    # QueryDepthLimiter/MaxAliasesLimiter make new classes per instance (so no request would ever
    # hit the cache; validation cost ~5 ms a request). Extensions are factories, fresh per request.
    rules: list[type[ASTValidationRule]] = [
        depth_rule(max_depth, None, None),
        aliases_rule(max_aliases),
    ]
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: ParserCache(maxsize=512),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=512),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
    ]
    if mask_errors:
        extensions.append(
            lambda: MaskErrors(should_mask_error=_is_unexpected, error_message="服务器内部错误")
        )
    return Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(auto_camel_case=True),
        execution_context_class=SharedEventExecutor,
    )


def sdl() -> str:
    """The schema in SDL, as committed in schema.graphql."""
    return build_schema().as_str() + "\n"
