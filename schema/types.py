"""The GraphQL types every domain shares: a payload's errors, regions, and the enums several
domains use. Each domain's own types are in its module here (roots are ORM rows: plain fields
resolve as attributes, relations through the request's DataLoaders)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Generic, TypeVar, get_args, get_origin

import strawberry

from infra.errors import ServiceError
from infra.geo import CoordinateSystem, Point, from_wgs84, to_wgs84
from models import Region
from models.enums import (
    BookingStatus,
    FlagStatus,
    FraudRule,
    InvitationStatus,
    MemberRole,
    OrganizationKind,
    RegionLevel,
    ShiftSource,
    VerificationPurpose,
    VolunteerStatus,
)
from services import errors as codes
from services.devices import ScanStatus
from services.volunteers import Direction

# The enums of models and services, registered as GraphQL enums (strawberry marks the classes).
for _enum in (
    RegionLevel,
    OrganizationKind,
    MemberRole,
    VerificationPurpose,
    InvitationStatus,
    codes.AccountErrorCode,
    codes.OrganizationErrorCode,
    codes.CampaignErrorCode,
    codes.ActivityErrorCode,
    codes.EngagementErrorCode,
    codes.CommendationErrorCode,
    codes.DocumentErrorCode,
    codes.NotificationErrorCode,
    codes.PortalErrorCode,
    codes.VolunteerErrorCode,
    ScanStatus,
    FraudRule,
    FlagStatus,
    CoordinateSystem,
    BookingStatus,
    VolunteerStatus,
    ShiftSource,
):
    strawberry.enum(_enum)
strawberry.enum(
    Direction,
    name="VolunteerScanDirection",
    description="A volunteer's scan: beginning (IN) or ending (OUT) time on duty.",
)

Code = TypeVar("Code", bound=StrEnum)


@strawberry.type
class Error(Generic[Code]):
    """An expected refusal: which input, why (in Chinese), and a code. Each domain's mutations
    answer with its own kind (`ActivityError`...), whose enum lists every code they may return."""

    field: str | None
    message: str
    code: Code
    codes: ClassVar[type[StrEnum]]  # the domain's enum: `Code` of the subclass, read from it

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            if get_origin(base) is Error:
                cls.codes = get_args(base)[0]


E = TypeVar("E", bound=Error[Any])


def errors_of(error: ServiceError, kind: type[E]) -> list[E]:
    """The refusal as `kind` errors; a code the domain's enum does not list is a bug (a test
    checks that no mutation can reach one)."""
    return [
        kind(field=e.field, message=e.message, code=kind.codes(e.code.value)) for e in error.errors
    ]


@strawberry.type
class OkPayload(Generic[E]):
    ok: bool = False
    errors: list[E] = strawberry.field(default_factory=list)


@strawberry.type(name="Region", description="An administrative division (GB/T 2260 code).")
class RegionType:
    code: str
    name: str
    level: RegionLevel

    @strawberry.field
    def parent_code(self, root: strawberry.Parent[Region]) -> str | None:
        return root.parent_code


@strawberry.input(description="A point on the map, in the system of the map it was taken from.")
class LocationInput:
    latitude: float
    longitude: float
    coordinate_system: CoordinateSystem = CoordinateSystem.WGS84

    def point(self) -> Point:
        return to_wgs84(Point(self.latitude, self.longitude), self.coordinate_system)


@strawberry.type(name="Location")
class LocationType:
    latitude: float
    longitude: float
    coordinate_system: CoordinateSystem


def located(point: Point | None, system: CoordinateSystem) -> LocationType | None:
    if point is None:
        return None
    shown = from_wgs84(point, system)
    return LocationType(
        latitude=round(shown.latitude, 7),
        longitude=round(shown.longitude, 7),
        coordinate_system=system,
    )
