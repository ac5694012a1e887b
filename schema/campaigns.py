"""The GraphQL types of campaigns: outputs, inputs and payloads.

Its resolvers are in resolvers/campaigns.py."""

from __future__ import annotations

from datetime import date, datetime

import strawberry
from strawberry.types import Info

from models import Campaign, JointAction
from models.enums import Phase
from schema.context import Context
from schema.ids import to_global_id
from schema.node import Node
from schema.types import Error, OkPayload
from services.errors import CampaignErrorCode


@strawberry.type(
    name="CampaignError",
    description="A refusal of a mutation on campaigns: "
    "the input it concerns, why (in Chinese), and a code.",
)
class CampaignError(Error[CampaignErrorCode]):
    pass


@strawberry.type(name="CampaignOkPayload")
class CampaignOkPayload(OkPayload[CampaignError]):
    pass


@strawberry.input
class CampaignInput:
    year: int
    name: str
    theme: str
    starts_on: date
    ends_on: date


@strawberry.input
class PhaseWindowInput:
    campaign_id: strawberry.ID
    phase: Phase
    region_code: str | None = strawberry.field(
        default=None, description="A province or city code; null sets the national window."
    )
    opens_at: datetime
    closes_at: datetime


@strawberry.input
class RegionalSettingInput:
    campaign_id: strawberry.ID
    region_code: str
    sub_theme: str | None = None
    max_media: int | None = strawberry.field(
        default=None, description="How many photos and videos an activity may add (default 5)."
    )


@strawberry.input
class JointActionInput:
    campaign_id: strawberry.ID
    name: str
    lead_units: list[str]
    region_code: str | None = None


@strawberry.type
class CampaignPayload:
    campaign: CampaignType | None = None
    errors: list[CampaignError] = strawberry.field(default_factory=list)


@strawberry.type
class PhaseWindowPayload:
    window: PhaseWindowType | None = None
    errors: list[CampaignError] = strawberry.field(default_factory=list)


@strawberry.type
class RegionalSettingPayload:
    region_code: str | None = None
    sub_theme: str | None = None
    max_media: int | None = None
    errors: list[CampaignError] = strawberry.field(default_factory=list)


@strawberry.type
class JointActionPayload:
    joint_action: JointActionType | None = None
    errors: list[CampaignError] = strawberry.field(default_factory=list)


@strawberry.type(name="PhaseWindow")
class PhaseWindowType:
    phase: Phase
    opens_at: datetime
    closes_at: datetime
    region_code: str | None = strawberry.field(
        description="Where the window was set: a province or city code, null for national."
    )


@strawberry.type(name="JointAction", description="A joint action (联合行动) of the catalogue.")
class JointActionType(Node):
    name: str
    lead_units: list[str]
    region_code: str | None

    @strawberry.field
    def id(self, root: strawberry.Parent[JointAction]) -> strawberry.ID:
        return strawberry.ID(to_global_id("JointAction", root.id))


@strawberry.type(name="Campaign", description="One year's science day (科普日活动).")
class CampaignType(Node):
    year: int
    name: str
    theme: str
    starts_on: date
    ends_on: date
    label: str

    @strawberry.field
    def id(self, root: strawberry.Parent[Campaign]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Campaign", root.id))

    @strawberry.field(description="The sub-theme that applies in a region (its own or above).")
    async def sub_theme(
        self,
        root: strawberry.Parent[Campaign],
        info: Info[Context, None],
        region_code: str | None = None,
    ) -> str | None:
        return await info.context.loaders.sub_theme.load((root.id, region_code))

    @strawberry.field(description="The windows that apply in a region (national without one).")
    async def phases(
        self,
        root: strawberry.Parent[Campaign],
        info: Info[Context, None],
        region_code: str | None = None,
    ) -> list[PhaseWindowType]:
        windows = await info.context.loaders.windows.load((root.id, region_code))
        return [
            PhaseWindowType(
                phase=w.phase, opens_at=w.opens_at, closes_at=w.closes_at, region_code=w.region_code
            )
            for w in sorted(windows.values(), key=lambda w: list(Phase).index(w.phase))
        ]

    @strawberry.field(description="National joint actions plus those of the region's chain.")
    async def joint_actions(
        self,
        root: strawberry.Parent[Campaign],
        info: Info[Context, None],
        region_code: str | None = None,
    ) -> list[JointActionType]:
        return await info.context.loaders.joint_actions.load((root.id, region_code))  # type: ignore[return-value]
