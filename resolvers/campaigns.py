"""The campaign: reading it with the windows of a region; national and regional staff set it up."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from models.enums import Phase as PhaseEnum
from resolvers.common import attempt, signed_in
from schema.activities import Phase
from schema.campaigns import (
    CampaignError,
    CampaignInput,
    CampaignOkPayload,
    CampaignPayload,
    CampaignType,
    JointActionInput,
    JointActionPayload,
    PhaseWindowInput,
    PhaseWindowPayload,
    PhaseWindowType,
    RegionalSettingInput,
    RegionalSettingPayload,
)
from schema.context import Context
from schema.ids import parse_global_id
from schema.permissions import IsAuthenticated
from services import campaigns


def _data(input: CampaignInput) -> campaigns.CampaignData:
    return campaigns.CampaignData(
        input.year, input.name, input.theme, input.starts_on, input.ends_on
    )


@strawberry.type
class CampaignsQuery:
    @strawberry.field(description="The campaign of a year (the current one when year is null).")
    async def campaign(self, year: int | None = None) -> CampaignType | None:
        return await campaigns.campaign_of_year(year)  # type: ignore[return-value]


@strawberry.type
class CampaignsMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="National staff open a year's campaign."
    )
    async def create_campaign(
        self, info: Info[Context, None], input: CampaignInput
    ) -> CampaignPayload:
        _, grants = await signed_in(info)
        campaign, errors = await attempt(
            CampaignError, lambda: campaigns.create_campaign(grants, _data(input))
        )
        return CampaignPayload(campaign=campaign, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(permission_classes=[IsAuthenticated])
    async def update_campaign(
        self, info: Info[Context, None], id: strawberry.ID, input: CampaignInput
    ) -> CampaignPayload:
        _, grants = await signed_in(info)
        campaign, errors = await attempt(
            CampaignError,
            lambda: campaigns.update_campaign(
                grants, parse_global_id(id, "Campaign"), _data(input)
            ),
        )
        return CampaignPayload(campaign=campaign, errors=errors)  # type: ignore[arg-type]

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="National staff set a phase's national window; a province's or city's "
        "association admins set their region's own, inside the national one.",
    )
    async def set_phase_window(
        self, info: Info[Context, None], input: PhaseWindowInput
    ) -> PhaseWindowPayload:
        _, grants = await signed_in(info)
        window, errors = await attempt(
            CampaignError,
            lambda: campaigns.set_phase_window(
                grants,
                parse_global_id(input.campaign_id, "Campaign", "campaignId"),
                PhaseEnum(input.phase),
                input.region_code,
                input.opens_at,
                input.closes_at,
            ),
        )
        if window is None:
            return PhaseWindowPayload(errors=errors)
        return PhaseWindowPayload(
            window=PhaseWindowType(
                phase=window.phase,
                opens_at=window.opens_at,
                closes_at=window.closes_at,
                region_code=window.region_code,
            )
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Remove a region's own window; the one above applies.",
    )
    async def clear_phase_window(
        self, info: Info[Context, None], campaign_id: strawberry.ID, phase: Phase, region_code: str
    ) -> CampaignOkPayload:
        _, grants = await signed_in(info)
        _, errors = await attempt(
            CampaignError,
            lambda: campaigns.clear_phase_window(
                grants,
                parse_global_id(campaign_id, "Campaign", "campaignId"),
                PhaseEnum(phase),
                region_code,
            ),
        )
        return CampaignOkPayload(ok=not errors, errors=errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated], description="A region's sub-theme and media cap."
    )
    async def set_regional_setting(
        self, info: Info[Context, None], input: RegionalSettingInput
    ) -> RegionalSettingPayload:
        _, grants = await signed_in(info)
        setting, errors = await attempt(
            CampaignError,
            lambda: campaigns.set_regional_setting(
                grants,
                parse_global_id(input.campaign_id, "Campaign", "campaignId"),
                input.region_code,
                sub_theme=input.sub_theme,
                max_media=input.max_media,
            ),
        )
        if setting is None:
            return RegionalSettingPayload(errors=errors)
        return RegionalSettingPayload(
            region_code=setting.region_code,
            sub_theme=setting.sub_theme,
            max_media=setting.max_media,
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Add a joint action: national, or a region's own.",
    )
    async def create_joint_action(
        self, info: Info[Context, None], input: JointActionInput
    ) -> JointActionPayload:
        _, grants = await signed_in(info)
        action, errors = await attempt(
            CampaignError,
            lambda: campaigns.create_joint_action(
                grants,
                parse_global_id(input.campaign_id, "Campaign", "campaignId"),
                input.name,
                input.lead_units,
                input.region_code,
            ),
        )
        return JointActionPayload(joint_action=action, errors=errors)  # type: ignore[arg-type]
