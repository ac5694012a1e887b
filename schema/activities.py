"""The GraphQL types of activities: outputs (their roots are ORM rows), inputs and payloads.

Its resolvers are in resolvers/activities.py."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any

import strawberry
from strawberry import UNSET
from strawberry.dataloader import DataLoader
from strawberry.file_uploads import Upload
from strawberry.types import Info
from tortoise.models import Model

from infra import qr
from infra.geo import CoordinateSystem
from models import Activity, ActivityMedia, Review
from models.enums import ActivityForm, ActivityStatus, MediaKind, Phase, ReviewDecision
from schema.campaigns import CampaignType, JointActionType
from schema.context import Context, known, then
from schema.ids import parse_global_id, to_global_id
from schema.node import Node
from schema.organizations import OrganizationType
from schema.selections import PerNode, asks_for
from schema.types import (
    Error,
    LocationInput,
    LocationType,
    OkPayload,
    OrganizationKind,
    RegionType,
    located,
)
from services import activities, bookings
from services.errors import ActivityErrorCode
from services.regions import get_regions
from services.rules import can_view, is_insider

if TYPE_CHECKING:
    from schema.bookings import BookingSlotType
    from schema.volunteers import VolunteerType

for _enum in (Phase, ActivityForm, ActivityStatus, ReviewDecision, MediaKind):
    strawberry.enum(_enum)


def media_url(info: Info[Context, None], relative: str) -> str:
    return f"{info.context.public_base_url.rstrip('/')}/media/{relative}"


@strawberry.type(
    name="ActivityError",
    description="A refusal of a mutation on activities: "
    "the input it concerns, why (in Chinese), and a code.",
)
class ActivityError(Error[ActivityErrorCode]):
    pass


@strawberry.type(name="ActivityOkPayload")
class ActivityOkPayload(OkPayload[ActivityError]):
    pass


@strawberry.type
class QrCode:
    token: str
    png_url: str
    svg_url: str


@strawberry.type(name="ActivityMedia")
class MediaType:
    kind: MediaKind

    @strawberry.field
    def url(self, root: strawberry.Parent[ActivityMedia], info: Info[Context, None]) -> str:
        if root.kind is MediaKind.PHOTO:
            return media_url(info, root.url)
        return root.url


@strawberry.type
class ActivitySummary:
    text: str
    participant_count: int
    submitted_at: datetime


@strawberry.type(name="Review", description="One review decision; the history stays.")
class ReviewType:
    decision: ReviewDecision
    comment: str | None
    reviewed_at: datetime

    @strawberry.field
    async def reviewer(
        self, root: strawberry.Parent[Review], info: Info[Context, None]
    ) -> OrganizationType | None:
        return await info.context.loaders.organization.load(root.organization_id)  # type: ignore[attr-defined,return-value]


@strawberry.type
class Engagement:
    check_ins: int = strawberry.field(description="People checked in: online and offline.")
    likes: int
    comments: int
    favorites: int
    rating_average: float | None
    rating_count: int = strawberry.field(description="People who rated it.")
    offline_check_ins: int = strawberry.field(
        description="Of checkIns, those a venue's device scanned offline."
    )
    head_count: int = strawberry.field(
        description="Visitors without an account a venue's device counted (现场人数)."
    )
    attendance: int = strawberry.field(description="checkIns and headCount together.")


def engagement_of(counts: dict[str, int]) -> Engagement:
    rated = counts["rating_count"]
    return Engagement(
        check_ins=counts["check_ins"],
        likes=counts["likes"],
        comments=counts["comments"],
        favorites=counts["favorites"],
        rating_average=round(counts["rating_sum"] / rated, 2) if rated else None,
        rating_count=rated,
        offline_check_ins=counts["offline_check_ins"],
        head_count=counts["head_count"],
        attendance=counts["check_ins"] + counts["head_count"],
    )


@strawberry.type
class ActivityViewer:
    checked_in: bool
    liked: bool
    favorited: bool
    rating: int | None
    activity_id: strawberry.Private[int]

    @strawberry.field(description="The person's registration as its volunteer, if any.")
    async def volunteer(
        self, info: Info[Context, None]
    ) -> Annotated[VolunteerType, strawberry.lazy("schema.volunteers")] | None:
        return await info.context.loaders.my_volunteering.load(  # type: ignore[return-value]
            self.activity_id
        )


async def _insider(activity: Activity, info: Info[Context, None]) -> bool:
    """The filing unit's members, the supervising unit's reviewers and national staff."""
    if info.context.user is None:
        return False
    return is_insider(await info.context.grants(), activity)


@strawberry.type(name="Activity", description="A science activity (科普活动).")
class ActivityType(Node):
    title: str
    description: str
    status: ActivityStatus
    form: ActivityForm
    starts_at: datetime
    ends_at: datetime
    address: str | None
    online_url: str | None
    host_units: list[str]
    organizer_units: list[str]
    supervisor_kind: OrganizationKind
    supervisor_name: str | None
    sub_theme: str | None
    show_on_cloud: bool
    expected_participants: int | None
    booking_required: bool = strawberry.field(description="Whether people book a place first.")
    submitted_at: datetime | None
    reviewed_at: datetime | None
    supplemented_at: datetime | None

    @strawberry.field
    def id(self, root: strawberry.Parent[Activity]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Activity", root.id))

    @strawberry.field(description="Every activity carries the label <year>年全国科普日活动.")
    def label(self, root: strawberry.Parent[Activity], info: Info[Context, None]) -> str:
        campaign = known(info.context.loaders.campaign, root.campaign_id)
        return then(campaign, lambda c: c.label if c else "")

    @strawberry.field
    def campaign(
        self, root: strawberry.Parent[Activity], info: Info[Context, None]
    ) -> CampaignType:
        return known(info.context.loaders.campaign, root.campaign_id)

    @strawberry.field
    def region(self, root: strawberry.Parent[Activity], info: Info[Context, None]) -> RegionType:
        return known(info.context.loaders.region, root.region_id)

    @strawberry.field(description="The filing unit.")
    def organization(
        self, root: strawberry.Parent[Activity], info: Info[Context, None]
    ) -> OrganizationType:
        return known(info.context.loaders.organization, root.organization_id)

    @strawberry.field(description="The supervising unit (归口单位) that reviews it.")
    def supervisor(
        self, root: strawberry.Parent[Activity], info: Info[Context, None]
    ) -> OrganizationType:
        return known(info.context.loaders.organization, root.supervisor_id)

    @strawberry.field(description="Where a review that waited too long moved (null: not moved).")
    async def escalated_to(
        self, root: strawberry.Parent[Activity], info: Info[Context, None]
    ) -> OrganizationType | None:
        if root.escalated_to_id is None:
            return None
        return await info.context.loaders.organization.load(root.escalated_to_id)  # type: ignore[return-value]

    @strawberry.field
    def escalated_at(self, root: strawberry.Parent[Activity]) -> datetime | None:
        return root.escalated_at

    @strawberry.field
    def joint_action(
        self, root: strawberry.Parent[Activity], info: Info[Context, None]
    ) -> JointActionType | None:
        if root.joint_action_id is None:
            return None
        return known(info.context.loaders.joint_action, root.joint_action_id)

    @strawberry.field
    def poster_url(
        self, root: strawberry.Parent[Activity], info: Info[Context, None]
    ) -> str | None:
        return media_url(info, root.poster) if root.poster else None

    @strawberry.field(description="The QR code to print, once the activity was submitted.")
    def qr_code(
        self, root: strawberry.Parent[Activity], info: Info[Context, None]
    ) -> QrCode | None:
        if root.qr_token is None:
            return None
        return QrCode(
            token=root.qr_token,
            png_url=media_url(info, qr.png_path(root.qr_token)),
            svg_url=media_url(info, qr.svg_path(root.qr_token)),
        )

    @strawberry.field
    async def media(
        self, root: strawberry.Parent[Activity], info: Info[Context, None]
    ) -> list[MediaType]:
        return await info.context.loaders.media_of_activity.load(root.id)  # type: ignore[return-value]

    @strawberry.field
    def summary(self, root: strawberry.Parent[Activity]) -> ActivitySummary | None:
        if root.summarized_at is None:
            return None
        return ActivitySummary(
            text=root.summary_text or "",
            participant_count=root.participant_count or 0,
            submitted_at=root.summarized_at,
        )

    @strawberry.field(
        description="Where it takes place (offline and hybrid activities whose "
        "filer gave it), in the system asked for."
    )
    def location(
        self,
        root: strawberry.Parent[Activity],
        coordinate_system: CoordinateSystem = CoordinateSystem.WGS84,
    ) -> LocationType | None:
        return located(root.location, coordinate_system)

    @strawberry.field(description="Its booking slots and their places (when it needs booking).")
    async def booking_slots(
        self, root: strawberry.Parent[Activity]
    ) -> list[Annotated[BookingSlotType, strawberry.lazy("schema.bookings")]]:
        if not root.booking_required:
            return []
        return (await bookings.slots_of([root.id]))[root.id]  # type: ignore[return-value]

    @strawberry.field(description="Review history: for the unit, its supervisors, national staff.")
    async def reviews(
        self, root: strawberry.Parent[Activity], info: Info[Context, None]
    ) -> list[ReviewType]:
        if not await _insider(root, info):
            return []
        return await info.context.loaders.reviews_of_activity.load(root.id)  # type: ignore[return-value]

    @strawberry.field
    def engagement(
        self, root: strawberry.Parent[Activity], info: Info[Context, None]
    ) -> Engagement:
        return then(known(info.context.loaders.engagement, root.id), engagement_of)

    @strawberry.field(description="What the signed-in person did with it (null when anonymous).")
    async def viewer(
        self, root: strawberry.Parent[Activity], info: Info[Context, None]
    ) -> ActivityViewer | None:
        if info.context.user is None:
            return None
        loaders = info.context.loaders
        rating = await loaders.my_rating.load(root.id)
        like = await loaders.my_like.load(root.id)
        favorite = await loaders.my_favorite.load(root.id)
        return ActivityViewer(
            activity_id=root.id,
            checked_in=await loaders.my_check_in.load(root.id) is not None,
            liked=bool(like and like.liked),
            favorited=bool(favorite and favorite.favorite),
            rating=rating.score if rating else None,
        )


LISTED = ("campaign", "organization", "joint_action")
"""The relations a list of activities joins into its own statement (a list shows them)."""
SHOWN = (*LISTED, "supervisor")
"""The relations one activity's statement joins in (its page shows them all)."""


_ASKED: PerNode[bool] = PerNode(4096)


def selects(info: Info[Context, None], name: str) -> bool:
    """Whether a field called `name` is asked for anywhere below the current field (once per
    field of a document: strawberry's `selected_fields` converts the whole selection anew)."""
    raw = info._raw_info
    return _ASKED.of(
        raw.field_nodes[0],
        name,
        lambda: asks_for(name, (node.selection_set for node in raw.field_nodes), raw.fragments),
    )


async def with_relations(rows: Sequence[Activity], info: Info[Context, None]) -> None:
    """Hand the request's loaders what `rows` came with (the relations their statement joined
    in, their regions from memory) and, when the selection shows engagement, the counts of them
    all in one Redis read: each item's fields then answer at once, without a statement or an
    awaitable of their own."""
    loaders = info.context.loaders
    relations: tuple[tuple[str, DataLoader[int, Any]], ...] = (
        ("campaign", loaders.campaign),
        ("organization", loaders.organization),
        ("supervisor", loaders.organization),
        ("joint_action", loaders.joint_action),
    )
    for relation, loader in relations:
        loader.prime_many(
            {
                related.pk: related
                for related in (row.__dict__.get(f"_{relation}") for row in rows)
                if isinstance(related, Model)
            }
        )
    codes = list({row.region_id for row in rows})
    loaders.region.prime_many(dict(zip(codes, await get_regions(codes), strict=True)))
    if rows and selects(info, "engagement"):
        loaders.engagement.prime_many(await loaders.read_engagement([row.id for row in rows]))


async def visible(activity: Activity | None, info: Info[Context, None]) -> Activity | None:
    """The activity if the caller may see it (public, or an insider), else None."""
    if activity is None:
        return None
    return activity if can_view(await info.context.grants(), activity) else None


_IDS = {"supervisor_id": "Organization", "joint_action_id": "JointAction"}


def _given(input: ActivityInput | ActivityUpdateInput) -> dict[str, Any]:
    """The form fields an input gives (absent ones left out), IDs decoded (a bad one is a
    refusal), a location in WGS-84."""
    given: dict[str, Any] = {}
    for name in activities.FORM_FIELDS:
        value = getattr(input, name)
        if value is UNSET:
            continue
        if value is not None and name in _IDS:
            value = parse_global_id(value, _IDS[name], activities.camel(name))
        if isinstance(value, LocationInput):
            value = value.point()
        given[name] = value
    return given


@strawberry.type(name="NearbyActivity")
class NearbyActivity:
    distance_km: float = strawberry.field(description="From the point searched, in km.")
    activity: ActivityType


@strawberry.input
class ActivityInput:
    campaign_id: strawberry.ID | None = None
    organization_id: strawberry.ID | None = strawberry.field(
        default=None, description="The filing unit, when the caller belongs to several."
    )
    title: str
    description: str
    form: ActivityForm
    starts_at: datetime
    ends_at: datetime
    region_code: str
    address: str | None = None
    online_url: str | None = None
    supervisor_kind: OrganizationKind
    supervisor_id: strawberry.ID | None = None
    supervisor_name: str | None = None
    host_units: list[str]
    organizer_units: list[str] | None = None
    joint_action_id: strawberry.ID | None = None
    sub_theme: str | None = None
    show_on_cloud: bool | None = None
    expected_participants: int | None = None
    location: LocationInput | None = strawberry.field(
        default=None, description="Where an offline or hybrid activity takes place."
    )
    poster: Upload | None = None

    def to_form(self) -> activities.FilingForm:
        return activities.FilingForm.new(_given(self))


@strawberry.input(description="The fields of ActivityInput, all optional (absent = unchanged).")
class ActivityUpdateInput:
    title: str | None = UNSET
    description: str | None = UNSET
    form: ActivityForm | None = UNSET
    starts_at: datetime | None = UNSET
    ends_at: datetime | None = UNSET
    region_code: str | None = UNSET
    address: str | None = UNSET
    online_url: str | None = UNSET
    supervisor_kind: OrganizationKind | None = UNSET
    supervisor_id: strawberry.ID | None = UNSET
    supervisor_name: str | None = UNSET
    host_units: list[str] | None = UNSET
    organizer_units: list[str] | None = UNSET
    joint_action_id: strawberry.ID | None = UNSET
    sub_theme: str | None = UNSET
    show_on_cloud: bool | None = UNSET
    expected_participants: int | None = UNSET
    location: LocationInput | None = UNSET
    poster: Upload | None = UNSET

    def changes(self) -> dict[str, Any]:
        """The fields given, to change (an absent one stays as it is)."""
        return _given(self)


@strawberry.input
class SupplementInput:
    photos: list[Upload] | None = None
    video_urls: list[str] | None = None
    news_urls: list[str] | None = None
    online_urls: list[str] | None = None


@strawberry.input
class SummaryInput:
    text: str
    participant_count: int


@strawberry.input
class ActivityFilter:
    year: int | None = None
    region_code: str | None = None
    form: ActivityForm | None = None
    joint_action_id: strawberry.ID | None = None
    starts_after: datetime | None = None
    starts_before: datetime | None = None
    search: str | None = None

    def to_service(self) -> activities.ActivityFilter:
        """The filter in service terms (a bad joint action ID is a refusal)."""
        return activities.ActivityFilter(
            year=self.year,
            region_code=self.region_code,
            form=self.form,
            joint_action_id=parse_global_id(self.joint_action_id, "JointAction", "jointActionId")
            if self.joint_action_id
            else None,
            starts_after=self.starts_after,
            starts_before=self.starts_before,
            search=self.search,
        )


@strawberry.type
class ActivityPayload:
    activity: ActivityType | None = None
    errors: list[ActivityError] = strawberry.field(default_factory=list)
