"""The season's end: recommendations, the evaluation of organizing bodies, the commendation lists
with their public notice and objections, and certificate verification."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from infra.errors import ServiceError
from models import Commendation, Recommendation
from models.enums import CommendationKind, CommendationStatus, RecommendationStatus
from resolvers.common import answer, attempt, signed_in
from schema.commendations import (
    CertificateVerificationType,
    CommendationDecisionInput,
    CommendationError,
    CommendationOkPayload,
    CommendationsPayload,
    CommendationType,
    EvaluationEntryType,
    IndicatorInputType,
    IndicatorScoreInput,
    IndicatorScorePayload,
    IndicatorScoreType,
    IndicatorWeightInput,
    ObjectionPayload,
    RecommendationInput,
    RecommendationPayload,
    RecommendationQuotaInput,
    RecommendationQuotaPayload,
    RecommendationQuotaType,
    RecommendationType,
)
from schema.context import Context
from schema.ids import parse_global_id
from schema.pagination import Connection, keyset_connection, list_connection
from schema.permissions import IsAuthenticated, bad_argument
from services import certificates, commendations, evaluation, recommendations
from services.campaigns import campaign_for, campaign_of_year
from services.permissions import is_national_staff

# ---------------------------------------------------------------- answers from service values


def _entry(entry: evaluation.Entry) -> EvaluationEntryType:
    return EvaluationEntryType(
        organization=entry.organization,  # type: ignore[arg-type]
        total=entry.total,
        rank=entry.rank,
        scores=[
            IndicatorScoreType(
                indicator=s.indicator,
                score=s.score,
                computed=s.computed,
                note=s.note,
                inputs=[
                    IndicatorInputType(name=k, label=evaluation.LABELS.get(k, k), value=v)
                    for k, v in s.inputs.items()
                ],
            )
            for s in entry.scores
        ],
    )


# ---------------------------------------------------------------- inputs and payloads


def _quota(quota: recommendations.Quota) -> RecommendationQuotaType:
    return RecommendationQuotaType(
        units=quota.units,
        activities=quota.activities,
        units_used=quota.units_used,
        activities_used=quota.activities_used,
    )


def _argument(value: strawberry.ID, kind: str, field: str) -> int:
    """An ID argument of a query: a bad one is a top-level error (queries have no payload)."""
    try:
        return parse_global_id(value, kind, field)
    except ServiceError as error:
        raise bad_argument(error.errors[0].message) from error


def _ids(values: list[strawberry.ID], kind: str, field: str) -> list[int]:
    return [parse_global_id(v, kind, field) for v in values]


# ---------------------------------------------------------------- query


@strawberry.type
class CommendationsQuery:
    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="Recommendations of a year: a body's staff see their own, national staff all "
        "(or one recommender's).",
    )
    async def recommendations(
        self,
        info: Info[Context, None],
        year: int,
        recommender_id: strawberry.ID | None = None,
        target_kind: CommendationKind | None = None,
        status: RecommendationStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[RecommendationType]:
        _, grants = await signed_in(info)
        campaign = await answer(lambda: campaign_for(year))
        recommender = (
            _argument(recommender_id, "Organization", "recommenderId") if recommender_id else None
        )
        query = Recommendation.filter(recommendations.visible(grants, campaign.id, recommender))
        if target_kind is not None:
            query = query.filter(target_kind=target_kind)
        if status is not None:
            query = query.filter(status=status)
        return await keyset_connection(query, first=first, after=after)

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="A recommender's quota and how much of it is used.",
    )
    async def recommendation_quota(
        self, info: Info[Context, None], year: int, organization_id: strawberry.ID
    ) -> RecommendationQuotaType | None:
        _, grants = await signed_in(info)
        body = _argument(organization_id, "Organization", "organizationId")
        if not is_national_staff(grants) and body not in recommendations.reader_ids(grants):
            return None
        campaign = await campaign_of_year(year)
        if campaign is None:
            return None
        return _quota(await recommendations.quota_of(info.context.runtime, campaign.id, body))

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="The seven indicators of every organizing body, with the total and the rank "
        "(national staff; a body's staff see their own line).",
    )
    async def evaluation(
        self,
        info: Info[Context, None],
        year: int,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[EvaluationEntryType]:
        _, grants = await signed_in(info)
        entries = await answer(lambda: evaluation.evaluate(grants, year))

        async def load(window: list[evaluation.Entry]) -> list[EvaluationEntryType]:
            return [_entry(e) for e in window]

        return await list_connection(entries, first=first, after=after, load=load)

    @strawberry.field(
        description="The commendation list of a year: the proposed list while on public notice, "
        "then the final lists (national staff also see entries taken off)."
    )
    async def commendations(
        self,
        info: Info[Context, None],
        year: int,
        kind: CommendationKind | None = None,
        status: CommendationStatus | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> Connection[CommendationType]:
        grants = await info.context.grants()
        campaign = await answer(lambda: campaign_for(year))
        query = Commendation.filter(commendations.visible(grants), campaign_id=campaign.id)
        if kind is not None:
            query = query.filter(kind=kind)
        if status is not None:
            query = query.filter(status=status)
        return await keyset_connection(query, first=first, after=after)

    @strawberry.field(description="Public: whether a certificate serial is valid, and whose it is.")
    async def verify_certificate(self, serial: str) -> CertificateVerificationType:
        result = await certificates.verify(serial)
        return CertificateVerificationType(
            valid=result.valid,
            serial=result.serial,
            message=result.message,
            revoked=result.revoked,
            holder_name=result.holder_name,
            unit_name=result.unit_name,
            campaign_name=result.campaign_name,
            kind=result.kind,
            issued_at=result.issued_at,
        )


# ---------------------------------------------------------------- mutation


@strawberry.type
class CommendationsMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="A provincial association or national society (its ADMIN) recommends a unit "
        "or an approved, summarized activity under it, in the RECOMMENDATION window, within its "
        "quota.",
    )
    async def recommend(
        self, info: Info[Context, None], input: RecommendationInput
    ) -> RecommendationPayload:
        user, grants = await signed_in(info)

        async def run() -> Recommendation:
            data = recommendations.RecommendationData(
                campaign_id=parse_global_id(input.campaign_id, "Campaign", "campaignId"),
                target_kind=input.target_kind,
                organization_id=parse_global_id(
                    input.organization_id, "Organization", "organizationId"
                )
                if input.organization_id
                else None,
                activity_id=parse_global_id(input.activity_id, "Activity", "activityId")
                if input.activity_id
                else None,
                reason=input.reason,
                recommender_id=parse_global_id(
                    input.recommender_id, "Organization", "recommenderId"
                )
                if input.recommender_id
                else None,
            )
            return await recommendations.recommend(info.context.runtime, user, grants, data)

        recommendation, errors = await attempt(CommendationError, run)
        return RecommendationPayload(recommendation=recommendation, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Withdraw a recommendation (until the recommendation window closes).",
    )
    async def withdraw_recommendation(
        self, info: Info[Context, None], id: strawberry.ID
    ) -> CommendationOkPayload:
        user, grants = await signed_in(info)
        done, errors = await attempt(
            CommendationError,
            lambda: recommendations.withdraw(
                user, grants, parse_global_id(id, "Recommendation", "id")
            ),
        )
        return CommendationOkPayload(ok=done is not None, errors=errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="National staff set a recommender's quota for a year.",
    )
    async def set_recommendation_quota(
        self, info: Info[Context, None], input: RecommendationQuotaInput
    ) -> RecommendationQuotaPayload:
        user, grants = await signed_in(info)
        rt = info.context.runtime

        async def run() -> recommendations.Quota:
            campaign_id = (await campaign_for(input.year)).id
            body = parse_global_id(input.organization_id, "Organization", "organizationId")
            await recommendations.set_quota(
                user, grants, campaign_id, body, input.units, input.activities
            )
            return await recommendations.quota_of(rt, campaign_id, body)

        quota, errors = await attempt(CommendationError, run)
        return RecommendationQuotaPayload(quota=_quota(quota) if quota else None, errors=errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="National staff score an indicator that is not computed from data.",
    )
    async def score_indicator(
        self, info: Info[Context, None], input: IndicatorScoreInput
    ) -> IndicatorScorePayload:
        user, grants = await signed_in(info)
        row, errors = await attempt(
            CommendationError,
            lambda: evaluation.score_indicator(
                user,
                grants,
                year=input.year,
                organization_id=parse_global_id(
                    input.organization_id, "Organization", "organizationId"
                ),
                indicator=input.indicator,
                score=input.score,
                note=input.note,
            ),
        )
        score = (
            IndicatorScoreType(
                indicator=row.indicator, score=row.score, computed=False, note=row.note, inputs=[]
            )
            if row
            else None
        )
        return IndicatorScorePayload(score=score, errors=errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="National staff set the weights of the indicators for a year (1 each unless "
        "set).",
    )
    async def set_indicator_weights(
        self, info: Info[Context, None], year: int, weights: list[IndicatorWeightInput]
    ) -> CommendationOkPayload:
        user, grants = await signed_in(info)
        done, errors = await attempt(
            CommendationError,
            lambda: evaluation.set_weights(
                user, grants, year, {w.indicator: w.weight for w in weights}
            ),
        )
        return CommendationOkPayload(ok=done is not None, errors=errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="National staff choose whether TECH_VOLUNTEERS is scored by hand for a "
        "year (byHand) or computed from volunteer records (the default).",
    )
    async def score_volunteers_by_hand(
        self, info: Info[Context, None], year: int, by_hand: bool
    ) -> CommendationOkPayload:
        user, grants = await signed_in(info)
        done, errors = await attempt(
            CommendationError,
            lambda: evaluation.score_volunteers_by_hand(user, grants, year, by_hand),
        )
        return CommendationOkPayload(ok=done is not None, errors=errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="National staff put units and activities on the proposed list, published for "
        "public notice for the configured number of working days.",
    )
    async def decide_commendations(
        self, info: Info[Context, None], input: CommendationDecisionInput
    ) -> CommendationsPayload:
        user, grants = await signed_in(info)
        rows, errors = await attempt(
            CommendationError,
            lambda: commendations.decide(
                info.context.runtime,
                user,
                grants,
                commendations.Decision(
                    input.year,
                    _ids(input.unit_ids, "Organization", "unitIds"),
                    _ids(input.activity_ids, "Activity", "activityIds"),
                ),
            ),
        )
        return CommendationsPayload(commendations=rows, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="During the public notice, anyone signed in objects to an entry, under their "
        "own account.",
    )
    async def raise_objection(
        self, info: Info[Context, None], commendation_id: strawberry.ID, reason: str
    ) -> ObjectionPayload:
        user, grants = await signed_in(info)
        objection, errors = await attempt(
            CommendationError,
            lambda: commendations.raise_objection(
                user,
                grants,
                parse_global_id(commendation_id, "Commendation", "commendationId"),
                reason,
            ),
        )
        return ObjectionPayload(objection=objection, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="National staff take an entry off the proposed list.",
    )
    async def remove_commendation(
        self, info: Info[Context, None], id: strawberry.ID, reason: str
    ) -> CommendationOkPayload:
        user, grants = await signed_in(info)
        done, errors = await attempt(
            CommendationError,
            lambda: commendations.remove(
                user, grants, parse_global_id(id, "Commendation", "id"), reason
            ),
        )
        return CommendationOkPayload(ok=done is not None, errors=errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="After the notice, the remaining entries become FINAL, each with its serial.",
    )
    async def finalize_commendations(
        self, info: Info[Context, None], year: int
    ) -> CommendationsPayload:
        user, grants = await signed_in(info)
        rows, errors = await attempt(
            CommendationError, lambda: commendations.finalize(user, grants, year)
        )
        return CommendationsPayload(commendations=rows, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="National staff revoke a final commendation: its certificate no longer "
        "verifies.",
    )
    async def revoke_commendation(
        self, info: Info[Context, None], id: strawberry.ID, reason: str
    ) -> CommendationOkPayload:
        user, grants = await signed_in(info)
        done, errors = await attempt(
            CommendationError,
            lambda: commendations.revoke(
                user, grants, parse_global_id(id, "Commendation", "id"), reason
            ),
        )
        return CommendationOkPayload(ok=done is not None, errors=errors)
