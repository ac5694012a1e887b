"""The GraphQL schema: the domain mixins of `resolvers` composed into one Query and Mutation."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import strawberry
from graphql import ASTValidationRule, GraphQLError
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as aliases_rule
from strawberry.extensions.query_depth_limiter import create_validator as depth_rule
from strawberry.schema.config import StrawberryConfig
from strawberry.schema.name_converter import NameConverter
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.graphql import OperationType

from resolvers.accounts import AccountsMutation, AccountsQuery
from resolvers.activities import ActivitiesMutation, ActivitiesQuery
from resolvers.bookings import BookingsMutation, BookingsQuery
from resolvers.campaigns import CampaignsMutation, CampaignsQuery
from resolvers.commendations import CommendationsMutation, CommendationsQuery
from resolvers.documents import DocumentsMutation, DocumentsQuery, DocumentsSubscription
from resolvers.engagement import (
    DeviceMutation,
    DeviceQuery,
    EngagementMutation,
    EngagementQuery,
    FraudMutation,
    FraudQuery,
)
from resolvers.node import NodeQuery
from resolvers.notifications import (
    NotificationsMutation,
    NotificationsQuery,
    NotificationsSubscription,
)
from resolvers.organizations import OrganizationsMutation, OrganizationsQuery
from resolvers.portals import PortalsMutation, PortalsQuery, PortalsSubscription
from resolvers.routes import RoutesMutation, RoutesQuery
from resolvers.volunteers import VolunteersMutation, VolunteersQuery
from schema.context import Context
from schema.cost import CostLimit
from schema.error_codes import ErrorCodes, is_expected
from schema.execution import plain_fields
from schema.inputs import SCALAR_OVERRIDES, NoNulInLiterals, VariableGuard
from schema.persisted import RegisteredOnly
from schema.response_cache import CachePolicy
from schema.sharing import SharedEventExecutor
from schema.vetted import Vetted, Vetting


@strawberry.type
class Query(
    AccountsQuery,
    OrganizationsQuery,
    CampaignsQuery,
    ActivitiesQuery,
    RoutesQuery,
    BookingsQuery,
    VolunteersQuery,
    EngagementQuery,
    DeviceQuery,
    FraudQuery,
    DocumentsQuery,
    NotificationsQuery,
    PortalsQuery,
    CommendationsQuery,
    NodeQuery,
):
    pass


@strawberry.type
class Mutation(
    AccountsMutation,
    OrganizationsMutation,
    CampaignsMutation,
    ActivitiesMutation,
    RoutesMutation,
    BookingsMutation,
    VolunteersMutation,
    EngagementMutation,
    DeviceMutation,
    FraudMutation,
    DocumentsMutation,
    NotificationsMutation,
    PortalsMutation,
    CommendationsMutation,
):
    pass


@strawberry.type
class Subscription(DocumentsSubscription, NotificationsSubscription, PortalsSubscription):
    pass


class ParseCache(ParserCache):
    """strawberry's parser cache, except that a document that does not parse is left to
    strawberry's own parse, which reports the syntax error as every other error of the
    operation (ParserCache raises it from its hook, where no extension sees it: the error
    went out without a code)."""

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        with contextlib.suppress(GraphQLError):
            context.graphql_document = self.cached_parse_document(
                context.query, **context.parse_options
            )
        yield


class Names(NameConverter):
    """strawberry's names, each converted once: it converted the name of every argument of a
    field on every call (to_camel_case, 2% of Activity(id))."""

    def __init__(self, auto_camel_case: bool = True) -> None:
        super().__init__(auto_camel_case)
        self._converted: dict[str, str] = {}  # the schema's names: a few hundred

    def apply_naming_config(self, name: str) -> str:
        converted = self._converted.get(name)
        if converted is None:
            converted = self._converted[name] = super().apply_naming_config(name)
        return converted


class Schema(strawberry.Schema):
    vetted: Vetted  # the queries found valid, which run the short way (schema/vetted.py)

    async def execute(
        self,
        query: str | None,
        variable_values: dict[str, Any] | None = None,
        context_value: Any | None = None,
        root_value: Any | None = None,
        operation_name: str | None = None,
        allowed_operation_types: Iterable[OperationType] | None = None,
        operation_extensions: dict[str, Any] | None = None,
    ) -> ExecutionResult:
        """A known query the short way (schema/vetted.py), anything else strawberry's way."""
        given = (
            variable_values,
            context_value,
            root_value,
            operation_name,
            allowed_operation_types,
            operation_extensions,
        )
        if query is not None:
            answered = await self.vetted.run(self, query, *given)
            if answered is not None:
                return answered
        return await super().execute(query, *given)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log only unexpected errors: refusals (permissions, bad arguments, limits) are answers
        to the client, not incidents."""
        unexpected = [e for e in errors if not is_expected(e)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema(
    *,
    mask_errors: bool = False,
    max_depth: int = 12,
    max_aliases: int = 30,
    max_tokens: int = 4000,
    max_cost: int = 5000,
    max_cost_anonymous: int = 1000,
) -> strawberry.Schema:
    # The limit rules are built once: the validation cache is keyed by the rule classes, and
    # QueryDepthLimiter/MaxAliasesLimiter make new classes per instance (so no request would ever
    # hit the cache; validation cost ~5 ms a request). Extensions are factories, fresh per request.
    rules: list[type[ASTValidationRule]] = [
        depth_rule(max_depth, None, None),
        aliases_rule(max_aliases),
        NoNulInLiterals,
    ]

    def budget(context: Context | None) -> int:
        signed_in = any(getattr(context, who, None) for who in ("user", "api_client"))
        return max_cost if signed_in else max_cost_anonymous

    vetted = Vetted(budget, mask_errors)
    extensions: list[Callable[[], SchemaExtension]] = [
        lambda: ParseCache(maxsize=512),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=512),
        lambda: MaxTokensLimiter(max_token_count=max_tokens),
        VariableGuard,
        RegisteredOnly,
        CachePolicy,
        lambda: CostLimit(budget),
        lambda: ErrorCodes(mask=mask_errors),
        lambda: Vetting(vetted),  # last: every extension before has judged the document
    ]
    schema = Schema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        extensions=extensions,
        config=StrawberryConfig(name_converter=Names(auto_camel_case=True)),
        scalar_overrides=SCALAR_OVERRIDES,
        execution_context_class=SharedEventExecutor,
    )
    schema.vetted = vetted
    plain_fields(schema)
    return schema


def sdl() -> str:
    """The schema in SDL, as committed in schema.graphql."""
    return build_schema().as_str() + "\n"
