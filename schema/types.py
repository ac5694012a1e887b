"""The GraphQL types every domain shares: a payload's errors, regions, and the enums several
domains use. Each domain's own types are in its module here (roots are ORM rows: plain fields
resolve as attributes, relations through the request's DataLoaders)."""

from __future__ import annotations

import strawberry

from infra.errors import ServiceError
from models import Region
from models.enums import (
    InvitationStatus,
    MemberRole,
    OrganizationKind,
    RegionLevel,
    VerificationPurpose,
)
from services.errors import ErrorCode

# The enums of models and services, registered as GraphQL enums (strawberry marks the classes).
for _enum in (
    RegionLevel,
    OrganizationKind,
    MemberRole,
    VerificationPurpose,
    InvitationStatus,
    ErrorCode,
):
    strawberry.enum(_enum)


@strawberry.type(description="An expected refusal: which input, why (in Chinese), and a code.")
class MutationError:
    field: str | None
    message: str
    code: ErrorCode


@strawberry.type
class OkPayload:
    ok: bool = False
    errors: list[MutationError] = strawberry.field(default_factory=list)


def errors_of(error: ServiceError) -> list[MutationError]:
    return [
        MutationError(field=e.field, message=e.message, code=ErrorCode(e.code.value))
        for e in error.errors
    ]


@strawberry.type(name="Region", description="An administrative division (GB/T 2260 code).")
class RegionType:
    code: str
    name: str
    level: RegionLevel

    @strawberry.field
    def parent_code(self, root: strawberry.Parent[Region]) -> str | None:
        return root.parent_code
