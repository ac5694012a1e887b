"""Activities: filing units file and complete them, supervisors review, the public browses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from typing import cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from infra import sql
from infra.errors import ServiceError
from infra.geo import CoordinateSystem, Point, to_wgs84
from infra.ids import encode_cursor
from infra.images import Upload
from models import Activity
from models.enums import ActivityStatus as StatusEnum
from models.enums import ReviewDecision as DecisionEnum
from resolvers.common import answer, attempt, signed_in
from schema.activities import (
    LISTED,
    SHOWN,
    ActivityError,
    ActivityFilter,
    ActivityInput,
    ActivityOkPayload,
    ActivityPayload,
    ActivityStatus,
    ActivityType,
    ActivityUpdateInput,
    NearbyActivity,
    ReviewDecision,
    SummaryInput,
    SupplementInput,
    visible,
    with_relations,
)
from schema.context import NOT_HELD, Context, held
from schema.ids import parse_global_id
from schema.pagination import (
    Connection,
    Edge,
    PageInfo,
    decode_cursor,
    distance,
    exact_int,
    iso_datetime,
    keyset_connection,
    page_size,
)
from schema.permissions import IsAuthenticated, bad_argument
from services import activities, content, places
from services.regions import get_region


def as_upload(value: object) -> Upload | None:
    """An upload (strawberry types it as bytes: it is starlette's UploadFile); absent: None."""
    return cast(Upload, value) if value else None


async def _payload(call: Callable[[], Awaitable[Activity]]) -> ActivityPayload:
    activity, errors = await attempt(ActivityError, call)
    return ActivityPayload(activity=activity, errors=errors)  # type: ignore[arg-type]


async def _service_filter(filter: ActivityFilter | None) -> activities.ActivityFilter:
    return (filter or ActivityFilter()).to_service()


def _optional_id(value: strawberry.ID | None, type_name: str, field: str) -> int | None:
    return parse_global_id(value, type_name, field) if value else None


_SHOWN = sql.Prepared(lambda pk: Activity.filter(id=pk).select_related(*SHOWN))
"""One activity with what its page shows (the busiest request after the lists)."""


_PAGES: dict[int, sql.Prepared[Activity]] = {}


async def listed_by_id(ids: list[int]) -> list[Activity]:
    """Activities by id with what a list shows, by a query built once for each page size."""
    if not ids:
        return []
    if len(ids) not in _PAGES:
        _PAGES[len(ids)] = sql.Prepared(
            lambda *keys: Activity.filter(id__in=keys).select_related(*LISTED), len(ids)
        )
    return await _PAGES[len(ids)].rows(*ids)


@strawberry.type
class ActivitiesQuery:
    @strawberry.field(description="Approved activities shown on the cloud site, in time order.")
    async def activities(
        self,
        info: Info[Context, None],
        filter: ActivityFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ActivityType]:
        wanted = await answer(lambda: _service_filter(filter))
        query = await answer(lambda: activities.public_activities(wanted))
        connection = await keyset_connection(
            query,
            first=first,
            after=after,
            keys=("starts_at", "id"),
            parsers=(iso_datetime, exact_int),
            related=LISTED,
            prepare=lambda rows: with_relations(rows, info),
        )
        connection.counter = lambda whole: content.public_count(whole, wanted.parameters())
        return connection

    @strawberry.field(
        description="Public activities within radiusKm (at most 50) of a point, nearest first, "
        "each with its distance; the point in the system of the map it came from."
    )
    async def activities_near(
        self,
        info: Info[Context, None],
        latitude: float,
        longitude: float,
        radius_km: float,
        coordinate_system: CoordinateSystem = CoordinateSystem.WGS84,
        starts_after: datetime | None = None,
        starts_before: datetime | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[NearbyActivity]:
        size = page_size(first)
        center = to_wgs84(Point(latitude, longitude), coordinate_system)
        found = await answer(lambda: places.near(center, radius_km, starts_after, starts_before))
        total = len(found)
        if after is not None:
            mark = places.Near(*decode_cursor(after, (distance, exact_int)))
            found = [n for n in found if n > mark]
        page = found[:size]
        rows = {a.id: a for a in await listed_by_id([n.activity_id for n in page])}
        await with_relations(list(rows.values()), info)
        edges = [
            Edge(
                cursor=encode_cursor([n.distance_km, n.activity_id]),
                node=NearbyActivity(
                    distance_km=round(n.distance_km, 3),
                    activity=rows[n.activity_id],  # type: ignore[arg-type]
                ),
            )
            for n in page
            if n.activity_id in rows
        ]
        return Connection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(found) > size, end_cursor=edges[-1].cursor if edges else None
            ),
            fixed_count=total,
        )

    @strawberry.field(
        description="A region's public activities with a place that start between two China "
        "dates (at most 31 days), as a GeoJSON FeatureCollection of points, 1,000 a page "
        "(`nextCursor` for the next): what /map/<regionCode>.geojson serves."
    )
    async def region_map(
        self,
        info: Info[Context, None],
        region_code: str,
        first_day: date,
        last_day: date,
        coordinate_system: CoordinateSystem = CoordinateSystem.WGS84,
        after: str | None = None,
    ) -> JSON:
        region = await get_region(region_code)
        if region is None:
            raise bad_argument("行政区划代码无效", "INVALID_REGION")
        mark = tuple(decode_cursor(after, (iso_datetime, exact_int))) if after else None
        page = await answer(
            lambda: places.region_map(
                region,
                first_day,
                last_day,
                mark,
                coordinate_system,
                info.context.runtime.settings.public_base_url,
            )
        )
        return cast(JSON, page.collection(region, coordinate_system))

    @strawberry.field(description="One activity, if the caller may see it.")
    async def activity(self, info: Info[Context, None], id: strawberry.ID) -> ActivityType | None:
        try:
            pk = parse_global_id(id, "Activity")
        except ServiceError:
            return None
        found = held(info.context.loaders.activity, pk)
        if found is NOT_HELD:  # loaded with what its page shows
            found = next(iter(await _SHOWN.rows(pk)), None)
            info.context.loaders.activity.prime(pk, found)
            if found is not None:
                await with_relations([found], info)
        return await visible(found, info)  # type: ignore[return-value]

    @strawberry.field(description="The activity behind a scanned QR code.")
    async def activity_by_qr_token(
        self, info: Info[Context, None], token: str
    ) -> ActivityType | None:
        text = token.strip().upper()
        if not activities.qr.is_token(text):
            return None
        return await visible(await Activity.get_or_none(qr_token=text), info)  # type: ignore[return-value]

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The activities of the caller's units, newest first.",
    )
    async def my_activities(
        self,
        info: Info[Context, None],
        status: ActivityStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ActivityType]:
        query = activities.my_activities(
            await info.context.grants(), StatusEnum(status) if status else None
        )
        return await keyset_connection(query, first=first, after=after, descending=True)

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="What the caller's organizations supervise, oldest submission first "
        "(pending review unless a status is given).",
    )
    async def review_queue(
        self,
        info: Info[Context, None],
        status: ActivityStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ActivityType]:
        query = activities.review_queue(
            await info.context.grants(), StatusEnum(status) if status else None
        )
        return await keyset_connection(
            query,
            first=first,
            after=after,
            keys=("submitted_at", "id"),
            parsers=(iso_datetime, exact_int),
        )


@strawberry.type
class ActivitiesMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="Save a draft of the caller's unit."
    )
    async def create_activity(
        self, info: Info[Context, None], input: ActivityInput
    ) -> ActivityPayload:
        user, grants = await signed_in(info)

        async def create() -> Activity:
            return await activities.create_activity(
                user,
                grants,
                input.to_form(),
                campaign_id=_optional_id(input.campaign_id, "Campaign", "campaignId"),
                organization_id=_optional_id(
                    input.organization_id, "Organization", "organizationId"
                ),
                poster=as_upload(input.poster),
            )

        return await _payload(create)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Change an activity; an approved or rejected one goes back to review.",
    )
    async def update_activity(
        self, info: Info[Context, None], id: strawberry.ID, input: ActivityUpdateInput
    ) -> ActivityPayload:
        user, grants = await signed_in(info)

        async def update() -> Activity:
            return await activities.update_activity(
                user,
                grants,
                parse_global_id(id, "Activity"),
                input.changes(),
                poster=as_upload(input.poster),
            )

        return await _payload(update)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="File the activity for review (inside the filing window).",
    )
    async def submit_activity(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> ActivityPayload:
        user, grants = await signed_in(info)
        return await _payload(
            lambda: activities.submit_activity(
                info.context.runtime, user, grants, parse_global_id(id, "Activity")
            )
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Add photos and links once, by the supplement deadline.",
    )
    async def supplement_activity(
        self, info: Info[Context, None], id: strawberry.ID, input: SupplementInput
    ) -> ActivityPayload:
        user, grants = await signed_in(info)

        async def supplement() -> Activity:
            return await activities.supplement_activity(
                user,
                grants,
                parse_global_id(id, "Activity"),
                activities.Supplement(
                    photos=[cast(Upload, p) for p in input.photos or []],
                    video_urls=input.video_urls or [],
                    news_urls=input.news_urls or [],
                    online_urls=input.online_urls or [],
                ),
            )

        return await _payload(supplement)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Submit the summary once, by the summary deadline.",
    )
    async def submit_activity_summary(
        self, info: Info[Context, None], id: strawberry.ID, input: SummaryInput
    ) -> ActivityPayload:
        user, grants = await signed_in(info)
        return await _payload(
            lambda: activities.summarize_activity(
                user, grants, parse_global_id(id, "Activity"), input.text, input.participant_count
            )
        )

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def delete_activity(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> ActivityOkPayload:
        user, grants = await signed_in(info)
        _, errors = await attempt(
            ActivityError,
            lambda: activities.delete_activity(user, grants, parse_global_id(id, "Activity")),
        )
        return ActivityOkPayload(ok=not errors, errors=errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Approve or reject (a rejection needs a comment).",
    )
    async def review_activity(
        self,
        info: Info[Context, None],
        id: strawberry.ID,
        decision: ReviewDecision,
        comment: str | None = None,
    ) -> ActivityPayload:
        user, grants = await signed_in(info)
        return await _payload(
            lambda: activities.review_activity(
                user, grants, parse_global_id(id, "Activity"), DecisionEnum(decision), comment
            )
        )
