"""The GraphQL types of commendations: outputs, inputs and payloads.

Its resolvers are in resolvers/commendations.py."""

from __future__ import annotations

from datetime import datetime

import strawberry
from strawberry.types import Info

from models import Commendation, Objection, Recommendation
from models.enums import CommendationKind, CommendationStatus, Indicator, RecommendationStatus
from schema.activities import ActivityType
from schema.context import Context
from schema.cost import list_size
from schema.ids import to_global_id
from schema.node import Node
from schema.organizations import OrganizationType
from schema.types import Error, OkPayload
from services import certificates, commendations
from services.errors import CommendationErrorCode
from services.permissions import is_national_staff

for _enum in (CommendationKind, CommendationStatus, Indicator, RecommendationStatus):
    strawberry.enum(_enum)


@strawberry.type(
    name="CommendationError",
    description="A refusal of a mutation on recommendations, evaluation and commendations: "
    "the input it concerns, why (in Chinese), and a code.",
)
class CommendationError(Error[CommendationErrorCode]):
    pass


@strawberry.type(name="CommendationOkPayload")
class CommendationOkPayload(OkPayload[CommendationError]):
    pass


@strawberry.type(name="Recommendation")
class RecommendationType(Node):
    target_kind: CommendationKind
    status: RecommendationStatus
    reason: str
    created_at: datetime
    withdrawn_at: datetime | None

    @strawberry.field
    def id(self, root: strawberry.Parent[Recommendation]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Recommendation", root.id))

    @strawberry.field(description="The provincial association or national society recommending.")
    async def recommender(
        self, root: strawberry.Parent[Recommendation], info: Info[Context, None]
    ) -> OrganizationType:
        return await info.context.loaders.organization.load(root.recommender_id)  # type: ignore[return-value]

    @strawberry.field(description="The unit recommended, or the unit of the activity recommended.")
    async def organization(
        self, root: strawberry.Parent[Recommendation], info: Info[Context, None]
    ) -> OrganizationType:
        return await info.context.loaders.organization.load(root.organization_id)  # type: ignore[return-value]

    @strawberry.field
    async def activity(
        self, root: strawberry.Parent[Recommendation], info: Info[Context, None]
    ) -> ActivityType | None:
        if root.activity_id is None:
            return None
        return await info.context.loaders.activity.load(root.activity_id)  # type: ignore[return-value]


@strawberry.type(name="RecommendationQuota")
class RecommendationQuotaType:
    units: int
    activities: int
    units_used: int
    activities_used: int


@strawberry.type(name="IndicatorInput", description="A figure a computed score came from.")
class IndicatorInputType:
    name: str
    label: str
    value: float


@strawberry.type(name="IndicatorScore")
class IndicatorScoreType:
    indicator: Indicator
    score: float | None = strawberry.field(description="0..100; null: not scored yet.")
    computed: bool
    note: str | None
    inputs: list[IndicatorInputType] = strawberry.field(
        description="The platform's figures the score was computed from (none when scored by "
        "staff).",
        metadata=list_size(4),
    )


@strawberry.type(name="EvaluationEntry")
class EvaluationEntryType:
    organization: OrganizationType
    total: float
    rank: int
    scores: list[IndicatorScoreType] = strawberry.field(metadata=list_size(len(Indicator)))


@strawberry.type(name="Certificate")
class CertificateType:
    serial: str
    issued_at: datetime
    verify_url: str
    download_url: str | None = strawberry.field(
        description="A signed link (an hour) to the PDF, for the holder's people and national "
        "staff, once the certificates are rendered."
    )


@strawberry.type(name="Objection")
class ObjectionType(Node):
    reason: str
    created_at: datetime

    @strawberry.field
    def id(self, root: strawberry.Parent[Objection]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Objection", root.id))

    @strawberry.field(description="Who objected (real name), for national staff only.")
    async def objector_name(
        self, root: strawberry.Parent[Objection], info: Info[Context, None]
    ) -> str | None:
        if not is_national_staff(await info.context.grants()):
            return None
        user = await info.context.loaders.user.load(root.user_id)
        return user.name if user else None


@strawberry.type(name="Commendation")
class CommendationType(Node):
    kind: CommendationKind
    status: CommendationStatus
    holder_name: str
    unit_name: str
    notice_ends_at: datetime

    @strawberry.field
    def id(self, root: strawberry.Parent[Commendation]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Commendation", root.id))

    @strawberry.field
    async def organization(
        self, root: strawberry.Parent[Commendation], info: Info[Context, None]
    ) -> OrganizationType:
        return await info.context.loaders.organization.load(root.organization_id)  # type: ignore[return-value]

    @strawberry.field
    async def activity(
        self, root: strawberry.Parent[Commendation], info: Info[Context, None]
    ) -> ActivityType | None:
        if root.activity_id is None:
            return None
        return await info.context.loaders.activity.load(root.activity_id)  # type: ignore[return-value]

    @strawberry.field(description="Whether it came from a recommendation (national staff only).")
    async def recommended(
        self, root: strawberry.Parent[Commendation], info: Info[Context, None]
    ) -> bool | None:
        if not is_national_staff(await info.context.grants()):
            return None
        return root.recommendation_id is not None

    @strawberry.field(description="Objections raised during the notice (national staff only).")
    async def objections(
        self, root: strawberry.Parent[Commendation], info: Info[Context, None]
    ) -> list[ObjectionType]:
        if not is_national_staff(await info.context.grants()):
            return []
        return await Objection.filter(commendation_id=root.id).order_by("id")  # type: ignore[return-value]

    @strawberry.field(description="Why it was taken off the list (national staff only).")
    async def removed_reason(
        self, root: strawberry.Parent[Commendation], info: Info[Context, None]
    ) -> str | None:
        if not is_national_staff(await info.context.grants()):
            return None
        return root.removed_reason

    @strawberry.field(description="The certificate of a final commendation.")
    async def certificate(
        self, root: strawberry.Parent[Commendation], info: Info[Context, None]
    ) -> CertificateType | None:
        if root.status is not CommendationStatus.FINAL or not root.serial or not root.finalized_at:
            return None
        settings = info.context.runtime.settings
        download = None
        if root.certificate_file and commendations.can_download(await info.context.grants(), root):
            download = certificates.signed_link(
                settings.public_base_url, settings.secret_key, root.serial
            )
        return CertificateType(
            serial=root.serial,
            issued_at=root.finalized_at,
            verify_url=certificates.verify_url(settings.public_base_url, root.serial),
            download_url=download,
        )


@strawberry.type(name="CertificateVerification")
class CertificateVerificationType:
    valid: bool
    serial: str
    message: str = strawberry.field(description="What the result means, in Chinese.")
    revoked: bool
    holder_name: str | None
    unit_name: str | None
    campaign_name: str | None
    kind: CommendationKind | None
    issued_at: datetime | None


@strawberry.input
class RecommendationInput:
    campaign_id: strawberry.ID
    target_kind: CommendationKind
    organization_id: strawberry.ID | None = None
    activity_id: strawberry.ID | None = None
    reason: str
    recommender_id: strawberry.ID | None = strawberry.field(
        default=None, description="The recommending body, when the caller administers several."
    )


@strawberry.input
class RecommendationQuotaInput:
    year: int
    organization_id: strawberry.ID
    units: int | None = strawberry.field(default=None, description="null: the default quota")
    activities: int | None = strawberry.field(default=None, description="null: the default quota")


@strawberry.input
class IndicatorScoreInput:
    year: int
    organization_id: strawberry.ID
    indicator: Indicator
    score: float
    note: str | None = None


@strawberry.input
class IndicatorWeightInput:
    indicator: Indicator
    weight: float


@strawberry.input
class CommendationDecisionInput:
    year: int
    unit_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    activity_ids: list[strawberry.ID] = strawberry.field(default_factory=list)


@strawberry.type
class RecommendationPayload:
    recommendation: RecommendationType | None = None
    errors: list[CommendationError] = strawberry.field(default_factory=list)


@strawberry.type
class RecommendationQuotaPayload:
    quota: RecommendationQuotaType | None = None
    errors: list[CommendationError] = strawberry.field(default_factory=list)


@strawberry.type
class IndicatorScorePayload:
    score: IndicatorScoreType | None = None
    errors: list[CommendationError] = strawberry.field(default_factory=list)


@strawberry.type
class CommendationsPayload:
    commendations: list[CommendationType] | None = None
    errors: list[CommendationError] = strawberry.field(default_factory=list)


@strawberry.type
class ObjectionPayload:
    objection: ObjectionType | None = None
    errors: list[CommendationError] = strawberry.field(default_factory=list)
