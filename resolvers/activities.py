"""Activities: filing units file and complete them, supervisors review, the public browses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import strawberry
from strawberry.types import Info

from infra.errors import ServiceError
from infra.images import MAX_UPLOAD_BYTES
from models import Activity
from models.enums import ActivityForm as FormEnum
from models.enums import ActivityStatus as StatusEnum
from models.enums import OrganizationKind as KindEnum
from models.enums import ReviewDecision as DecisionEnum
from resolvers.common import answer, attempt, signed_in
from schema.activities import (
    ActivityFilter,
    ActivityInput,
    ActivityPayload,
    ActivityStatus,
    ActivityType,
    ActivityUpdateInput,
    ReviewDecision,
    SummaryInput,
    SupplementInput,
    visible,
)
from schema.context import Context
from schema.ids import parse_global_id
from schema.pagination import Connection, exact_int, iso_datetime, keyset_connection
from schema.permissions import IsAuthenticated
from schema.types import OkPayload
from services import activities
from services.errors import ErrorCode

UNSET: Any = strawberry.UNSET


# (GraphQL input field, service field, how to convert a given value)
_CONVERT: list[tuple[str, str, Any]] = [
    ("title", "title", None),
    ("description", "description", None),
    ("form", "form", FormEnum),
    ("starts_at", "starts_at", None),
    ("ends_at", "ends_at", None),
    ("region_code", "region_code", None),
    ("address", "address", None),
    ("online_url", "online_url", None),
    ("supervisor_kind", "supervisor_kind", KindEnum),
    (
        "supervisor_id",
        "supervisor_id",
        lambda v: parse_global_id(v, "Organization", "supervisorId"),
    ),
    ("supervisor_name", "supervisor_name", None),
    ("host_units", "host_units", None),
    ("organizer_units", "organizer_units", None),
    (
        "joint_action_id",
        "joint_action_id",
        lambda v: parse_global_id(v, "JointAction", "jointActionId"),
    ),
    ("sub_theme", "sub_theme", None),
    ("show_on_cloud", "show_on_cloud", None),
    ("expected_participants", "expected_participants", None),
]
_REQUIRED = {
    "title",
    "description",
    "form",
    "starts_at",
    "ends_at",
    "region_code",
    "supervisor_kind",
    "host_units",
}


def _form(input: ActivityInput | ActivityUpdateInput) -> dict[str, Any]:
    """The given fields in service terms; IDs decoded (a bad one is a payload error)."""
    form: dict[str, Any] = {}
    for name, key, convert in _CONVERT:
        value = getattr(input, name)
        if value is UNSET:
            continue
        if value is None and name in _REQUIRED:
            raise ServiceError.of(ErrorCode.REQUIRED, "此项不能为空", _camel(name))
        form[key] = convert(value) if (convert and value is not None) else value
    return form


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


async def _read(upload: Any, field: str) -> bytes:
    size = getattr(upload, "size", None)
    if size is not None and size > MAX_UPLOAD_BYTES:
        raise ServiceError.of(ErrorCode.IMAGE_TOO_LARGE, "图片不能超过10MB", field)
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ServiceError.of(ErrorCode.IMAGE_TOO_LARGE, "图片不能超过10MB", field)
    return data


async def _payload(call: Callable[[], Awaitable[Activity]]) -> ActivityPayload:
    activity, errors = await attempt(call)
    return ActivityPayload(activity=activity, errors=errors)  # type: ignore[arg-type]


def _optional_id(value: strawberry.ID | None, type_name: str, field: str) -> int | None:
    return parse_global_id(value, type_name, field) if value else None


@strawberry.type
class ActivitiesQuery:
    @strawberry.field(description="Approved activities shown on the cloud site, in time order.")
    async def activities(
        self,
        filter: ActivityFilter | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[ActivityType]:
        query = await answer(
            lambda: activities.public_activities((filter or ActivityFilter()).to_service())
        )
        return await keyset_connection(
            query,
            first=first,
            after=after,
            keys=("starts_at", "id"),
            parsers=(iso_datetime, exact_int),
        )

    @strawberry.field(description="One activity, if the caller may see it.")
    async def activity(self, info: Info[Context, None], id: strawberry.ID) -> ActivityType | None:
        try:
            pk = parse_global_id(id, "Activity")
        except ServiceError:
            return None
        return await visible(await info.context.loaders.activity.load(pk), info)  # type: ignore[return-value]

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
                _form(input),
                campaign_id=_optional_id(input.campaign_id, "Campaign", "campaignId"),
                organization_id=_optional_id(
                    input.organization_id, "Organization", "organizationId"
                ),
                poster=await _read(input.poster, "poster") if input.poster else None,
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
            poster = input.poster
            return await activities.update_activity(
                user,
                grants,
                parse_global_id(id, "Activity"),
                _form(input),
                poster=await _read(poster, "poster") if poster not in (None, UNSET) else None,
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
            photos = input.photos or []
            if len(photos) > 50:
                raise ServiceError.of(ErrorCode.TOO_MANY_MEDIA, "图片数量过多", "photos")
            return await activities.supplement_activity(
                user,
                grants,
                parse_global_id(id, "Activity"),
                activities.Supplement(
                    photos=[await _read(p, "photos") for p in photos],
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
    async def delete_activity(self, info: Info[Context, None], id: strawberry.ID) -> OkPayload:
        user, grants = await signed_in(info)
        _, errors = await attempt(
            lambda: activities.delete_activity(user, grants, parse_global_id(id, "Activity"))
        )
        return OkPayload(ok=not errors, errors=errors)

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
