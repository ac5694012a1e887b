"""Science volunteers: units register them and record hours, volunteers answer and check in
and out, units and their associations read the hours."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from strawberry.types import Info

from models import Volunteer
from resolvers.common import activity_pk, answer, attempt, caller, signed_in
from schema.context import Context
from schema.ids import parse_global_id
from schema.permissions import IsAuthenticated
from schema.volunteers import VolunteerError, VolunteerHoursType, VolunteerPayload
from services import volunteers


def _volunteer(value: strawberry.ID) -> int:
    return parse_global_id(value, "Volunteer", "id")


async def _payload(call: Callable[[], Awaitable[Volunteer]]) -> VolunteerPayload:
    volunteer, errors = await attempt(VolunteerError, call)
    return VolunteerPayload(volunteer=volunteer, errors=errors)  # type: ignore[arg-type]


@strawberry.type
class VolunteersQuery:
    @strawberry.field(
        description="A unit's volunteers and their hours in a year's campaign: its members, "
        "the associations over it and national staff."
    )
    async def volunteer_hours(
        self, info: Info[Context, None], organization_id: strawberry.ID, year: int
    ) -> VolunteerHoursType:
        _, grants = await signed_in(info)

        async def read() -> volunteers.UnitHours:
            pk = parse_global_id(organization_id, "Organization", "organizationId")
            return await volunteers.unit_hours(grants, pk, year)

        return VolunteerHoursType(found=await answer(read))


@strawberry.type
class VolunteersMutation:
    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Register a science volunteer at one of the unit's activities, by phone "
        "(the unit's filers and admins): a person with an account is told in the app, a phone "
        "without one gets an SMS invitation. The same phone again answers the registration.",
    )
    async def register_volunteer(
        self, info: Info[Context, None], activity_id: strawberry.ID, phone: str, name: str
    ) -> VolunteerPayload:
        user, grants = await signed_in(info)
        rt = info.context.runtime

        async def register() -> Volunteer:
            return await volunteers.register(
                rt, user, grants, activity_pk(activity_id), phone, name
            )

        return await _payload(register)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="The registered person confirms (accept) or declines being the "
        "activity's volunteer, once.",
    )
    async def answer_volunteering(
        self, info: Info[Context, None], id: strawberry.ID, accept: bool
    ) -> VolunteerPayload:
        user = caller(info)

        async def reply() -> Volunteer:
            return await volunteers.answer(user, _volunteer(id), accept)

        return await _payload(reply)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Check in as the activity's volunteer while it runs (confirms the "
        "registration).",
    )
    async def volunteer_check_in(
        self, info: Info[Context, None], activity_id: strawberry.ID
    ) -> VolunteerPayload:
        user = caller(info)

        async def begin() -> Volunteer:
            return await volunteers.start(user, activity_pk(activity_id))

        return await _payload(begin)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Check out as the activity's volunteer: the time on duty within the "
        "activity's time is credited.",
    )
    async def volunteer_check_out(
        self, info: Info[Context, None], activity_id: strawberry.ID
    ) -> VolunteerPayload:
        user = caller(info)

        async def end() -> Volunteer:
            return await volunteers.finish(user, activity_pk(activity_id))

        return await _payload(end)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Record or correct a volunteer's hours, with the reason (the unit's filers "
        "and admins, not for themselves): after the activity began and until its summary "
        "deadline, never more than the activity lasts. Kept and audited.",
    )
    async def record_volunteer_hours(
        self, info: Info[Context, None], id: strawberry.ID, hours: float, note: str
    ) -> VolunteerPayload:
        user, grants = await signed_in(info)

        async def record() -> Volunteer:
            return await volunteers.record_hours(user, grants, _volunteer(id), hours, note)

        return await _payload(record)
