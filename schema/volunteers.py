"""The GraphQL types of science volunteers (科技志愿者). Their resolvers are in
resolvers/volunteers.py."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.types import Info

from models import Volunteer, VolunteerCorrection
from models.enums import ShiftSource, VolunteerStatus
from schema.context import Context
from schema.ids import to_global_id
from schema.node import Node
from schema.pagination import Connection, exact_int, keyset_connection
from schema.types import Error
from services.errors import VolunteerErrorCode
from services.validation import mask_phone
from services.volunteers import UnitHours, YearOfService

if TYPE_CHECKING:
    from schema.activities import ActivityType


@strawberry.type(
    name="VolunteerError",
    description="A refusal of a mutation on volunteers: the input it concerns, why (in "
    "Chinese), and a code.",
)
class VolunteerError(Error[VolunteerErrorCode]):
    pass


def _hours(minutes: int) -> float:
    return round(minutes / 60, 2)


@strawberry.type(name="VolunteerShift", description="Time on duty, from check-in to check-out.")
class VolunteerShiftType:
    started_at: datetime
    ended_at: datetime | None
    source: ShiftSource


@strawberry.type(
    name="VolunteerCorrection",
    description="The unit's record or correction of a volunteer's hours (kept for good).",
)
class VolunteerCorrectionType:
    note: str
    created_at: datetime

    @strawberry.field
    def hours_before(self, root: strawberry.Parent[VolunteerCorrection]) -> float:
        return _hours(root.minutes_before)

    @strawberry.field
    def hours_after(self, root: strawberry.Parent[VolunteerCorrection]) -> float:
        return _hours(root.minutes_after)


@strawberry.type(
    name="Volunteer",
    description="A person registered as a science volunteer (科技志愿者) at an activity.",
)
class VolunteerType(Node):
    name: str
    status: VolunteerStatus
    on_duty_since: datetime | None = strawberry.field(
        description="Set while the volunteer is checked in."
    )

    @strawberry.field
    def id(self, root: strawberry.Parent[Volunteer]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Volunteer", root.id))

    @strawberry.field(description="The phone, its middle four digits hidden.")
    def phone(self, root: strawberry.Parent[Volunteer]) -> str:
        return mask_phone(root.phone)

    @strawberry.field(
        description="Hours credited: the shifts within the activity's time, or the unit's "
        "record; never more than the activity lasts. They count once the volunteer confirmed."
    )
    def hours(self, root: strawberry.Parent[Volunteer]) -> float:
        return _hours(root.minutes)

    @strawberry.field(description="The unit recorded the hours (its figure stands).")
    def recorded_by_unit(self, root: strawberry.Parent[Volunteer]) -> bool:
        return root.recorded_minutes is not None

    @strawberry.field(description="The activity's ID.")
    def activity_id(self, root: strawberry.Parent[Volunteer]) -> strawberry.ID:
        return strawberry.ID(to_global_id("Activity", root.activity_id))

    @strawberry.field(description="The activity, where the caller may see it.")
    async def activity(
        self, root: strawberry.Parent[Volunteer], info: Info[Context, None]
    ) -> Annotated[ActivityType, strawberry.lazy("schema.activities")] | None:
        from schema.activities import visible

        found = await info.context.loaders.activity.load(root.activity_id)
        return await visible(found, info)  # type: ignore[return-value]

    @strawberry.field(description="The activity's title (also while it is not public).")
    async def activity_title(
        self, root: strawberry.Parent[Volunteer], info: Info[Context, None]
    ) -> str:
        found = await info.context.loaders.activity.load(root.activity_id)
        return found.title if found is not None else ""

    @strawberry.field(description="Time on duty, in order.")
    async def shifts(
        self, root: strawberry.Parent[Volunteer], info: Info[Context, None]
    ) -> list[VolunteerShiftType]:
        return await info.context.loaders.shifts_of_volunteer.load(root.id)  # type: ignore[return-value]

    @strawberry.field(description="The unit's records and corrections of the hours, in order.")
    async def corrections(
        self, root: strawberry.Parent[Volunteer], info: Info[Context, None]
    ) -> list[VolunteerCorrectionType]:
        return await info.context.loaders.corrections_of_volunteer.load(root.id)  # type: ignore[return-value]


@strawberry.type(name="VolunteerYear", description="A person's volunteering in one year.")
class VolunteerYearType:
    year: int
    hours: float = strawberry.field(description="Confirmed hours of the year.")
    records: list[VolunteerType] = strawberry.field(
        description="The registrations, by the activity's start (answer INVITED ones)."
    )

    @staticmethod
    def of(found: YearOfService) -> VolunteerYearType:
        return VolunteerYearType(
            year=found.year,
            hours=_hours(found.minutes),
            records=found.records,  # type: ignore[arg-type]
        )


@strawberry.type(
    name="VolunteerHours",
    description="A unit's volunteers in a year's campaign. Only confirmed volunteers count.",
)
class VolunteerHoursType:
    found: strawberry.Private[UnitHours]

    @strawberry.field
    def organization_id(self) -> strawberry.ID:
        return strawberry.ID(to_global_id("Organization", self.found.organization.id))

    @strawberry.field
    def year(self) -> int:
        return self.found.year

    @strawberry.field(description="Confirmed people with hours, each once.")
    def volunteers(self) -> int:
        return self.found.volunteers

    @strawberry.field(description="Confirmed volunteers' hours.")
    def hours(self) -> float:
        return _hours(self.found.minutes)

    @strawberry.field(description="Activities with confirmed volunteers' hours.")
    def activities(self) -> int:
        return self.found.activities

    @strawberry.field(description="Hours of volunteers who have not confirmed yet (not counted).")
    def unconfirmed_hours(self) -> float:
        return _hours(self.found.unconfirmed_minutes)

    @strawberry.field(description="Every registration, by activity.")
    async def records(
        self, first: int | None = None, after: str | None = None
    ) -> Connection[VolunteerType]:
        return await keyset_connection(
            self.found.records,
            first=first,
            after=after,
            keys=("activity_id", "id"),
            parsers=(exact_int, exact_int),
        )


@strawberry.type
class VolunteerPayload:
    volunteer: VolunteerType | None = None
    errors: list[VolunteerError] = strawberry.field(default_factory=list)
