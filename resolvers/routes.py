"""Science routes: published by associations, listed by region, completed by visitors."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from models import ScienceRoute
from resolvers.common import attempt, signed_in
from schema.activities import ActivityError
from schema.context import Context
from schema.ids import parse_global_id
from schema.pagination import Connection, keyset_connection
from schema.permissions import IsAuthenticated
from schema.routes import RouteInput, RoutePayload, ScienceRouteType
from services import routes


@strawberry.type
class RoutesQuery:
    @strawberry.field(
        description="The science routes of a region (a province's: its cities' too), newest first."
    )
    async def routes(
        self,
        region_code: str,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ScienceRouteType]:
        query = await routes.of_region(region_code)
        return await keyset_connection(query, first=first, after=after, descending=True)


@strawberry.type
class RoutesMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="An association's admins publish a science route of public activities in "
        "their region.",
    )
    async def publish_route(self, info: Info[Context, None], input: RouteInput) -> RoutePayload:
        user, grants = await signed_in(info)

        async def publish() -> ScienceRoute:
            ids = [parse_global_id(a, "Activity", "activityIds") for a in input.activity_ids]
            form = routes.RouteForm(
                input.region_code,
                input.name,
                input.description,
                ids,
                input.valid_from,
                input.valid_until,
            )
            return await routes.publish(user, grants, form)

        route, errors = await attempt(ActivityError, publish)
        return RoutePayload(route=route, errors=errors)  # type: ignore[arg-type]
