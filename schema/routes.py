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
        shown: list[Any] = []
        for kind, pk in (await routes.stops_of([root.id]))[root.id]:
            if kind == routes.VENUE:
                shown.append(await loaders.organization.load(pk))
            else:
                shown.append(await visible(await loaders.activity.load(pk), info))
        return [stop for stop in shown if stop is not None]


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
