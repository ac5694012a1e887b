"""The GraphQL types of science routes (科普路线). Their resolvers are in resolvers/routes.py."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import strawberry
from strawberry.types import Info

from models import RouteCompletion, ScienceRoute
from schema.activities import ActivityError, visible
from schema.context import Context
from schema.ids import to_global_id
from schema.node import Node
from schema.types import RegionType
from services import routes
from services.regions import get_region


@strawberry.type(
    name="ScienceRoute",
    description="A science route (科普路线): public activities to visit in order between two "
    "days; checking in at every stop in that time completes it.",
)
class ScienceRouteType(Node):
    name: str
    description: str
    valid_from: date = strawberry.field(description="The first day (China time).")
    valid_until: date = strawberry.field(description="The last day, included.")

    @strawberry.field
    def id(self, root: strawberry.Parent[ScienceRoute]) -> strawberry.ID:
        return strawberry.ID(to_global_id("ScienceRoute", root.id))

    @strawberry.field(description="People who completed it.")
    def completion_count(self, root: strawberry.Parent[ScienceRoute]) -> int:
        return root.completions

    @strawberry.field
    async def region(self, root: strawberry.Parent[ScienceRoute]) -> RegionType:
        return await get_region(root.region_id)  # type: ignore[return-value]

    @strawberry.field(
        description="Its stops in order: activities (those the caller may see) and venues."
    )
    async def stops(
        self, root: strawberry.Parent[ScienceRoute], info: Info[Context, None]
    ) -> list[Node]:
        loaders = info.context.loaders
        stops = (await routes.stops_of([root.id]))[root.id]
        # each kind in one load (a loader batches the keys asked for together)
        venues = await loaders.organization.load_many(
            [pk for kind, pk in stops if kind == routes.VENUE]
        )
        activities = await loaders.activity.load_many(
            [pk for kind, pk in stops if kind == routes.ACTIVITY]
        )
        found: dict[routes.Stop, Any] = {
            **{(routes.VENUE, v.id): v for v in venues if v is not None},
            **{
                (routes.ACTIVITY, a.id): await visible(a, info) for a in activities if a is not None
            },
        }
        return [found[stop] for stop in stops if found.get(stop) is not None]


@strawberry.type(name="RouteCompletion")
class RouteCompletionType:
    completed_at: datetime

    @strawberry.field
    async def route(self, root: strawberry.Parent[RouteCompletion]) -> ScienceRouteType:
        return await ScienceRoute.get(id=root.route_id)  # type: ignore[return-value]


@strawberry.input
class RouteInput:
    region_code: str = strawberry.field(description="The publishing association's region.")
    name: str
    description: str
    stops: list[strawberry.ID] = strawberry.field(
        description="The stops in order: IDs of activities, or of units (venues)."
    )
    valid_from: date
    valid_until: date


@strawberry.type
class RoutePayload:
    route: ScienceRouteType | None = None
    errors: list[ActivityError] = strawberry.field(default_factory=list)
