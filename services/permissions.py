"""Row-scope predicates: who may see or change which organization's data.

Resolvers declare coarse permissions on fields; these decide for a given row. They take the actor's
memberships (loaded once per request by the caller) so that a list costs no extra queries.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from infra.errors import PermissionDenied
from models import Membership, Organization, User
from models.enums import MemberRole, OrganizationKind


@dataclass(frozen=True)
class Grant:
    """One membership, flattened with what the predicates need of its organization."""

    organization_id: int
    role: MemberRole
    kind: OrganizationKind
    province_code: str
    prefecture_code: str | None


async def grants_of(user: User | None) -> list[Grant]:
    if user is None:
        return []
    rows = await Membership.filter(user_id=user.id).select_related("organization")
    return [
        Grant(
            m.organization_id,
            m.role,
            m.organization.kind,
            m.organization.province_code,
            m.organization.prefecture_code,
        )
        for m in rows
    ]


def is_national_staff(grants: Iterable[Grant]) -> bool:
    return any(g.kind is OrganizationKind.NATIONAL_ORGANIZER for g in grants)


def require_national_staff(grants: Iterable[Grant], message: str = "仅限主办单位工作人员") -> None:
    """Refuse anyone but the national organizer's people."""
    if not is_national_staff(grants):
        raise PermissionDenied(message)


def is_national_admin(grants: Iterable[Grant]) -> bool:
    return any(
        g.kind is OrganizationKind.NATIONAL_ORGANIZER and g.role is MemberRole.ADMIN for g in grants
    )


def is_admin_of(grants: Iterable[Grant], organization_id: int) -> bool:
    return any(g.organization_id == organization_id and g.role is MemberRole.ADMIN for g in grants)


def can_manage_members(grants: list[Grant], organization: Organization) -> bool:
    return is_admin_of(grants, organization.id) or is_national_admin(grants)
