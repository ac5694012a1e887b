"""Science routes: published by associations, listed by region, completed by visitors."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from models import ScienceRoute
from resolvers.common import attempt, signed_in
from schema.activities import ActivityError
from schema.context import Context
from schema.ids import decode_global_id, parse_global_id
from schema.pagination import Connection, keyset_connection
from schema.permissions import IsAuthenticated
from schema.routes import RouteInput, RoutePayload, ScienceRouteType
from services import routes


def _stop(value: strawberry.ID) -> routes.Stop:
    """A stop's ID: an activity's, or a unit's (a venue)."""
    decoded = decode_global_id(value)
    if decoded is not None and decoded[0] == "Organization":
        return (routes.VENUE, decoded[1])
    return (routes.ACTIVITY, parse_global_id(value, "Activity", "stops"))


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
            form = routes.RouteForm(
                input.region_code,
                input.name,
                input.description,
                [_stop(value) for value in input.stops],
                input.valid_from,
                input.valid_until,
            )
            return await routes.publish(user, grants, form)

        route, errors = await attempt(ActivityError, publish)
        return RoutePayload(route=route, errors=errors)  # type: ignore[arg-type]
