"""Who may see and do what with an activity and the places it lies in: small named predicates,
combined (pretalx's rules.py is the model). Every read path goes through them: the activity and
its lists, personal lists, engagement, comments, documents and the review queue.

They take the actor's memberships (`permissions.Grant`, loaded once per request) and a row, and
read nothing themselves, so a list costs no extra queries. Who may change a unit's own data
(admins, national staff) is in `services.permissions`.

- `is_public`: an approved activity shown on the cloud site, not deleted; everyone sees it.
- `can_view`: everyone (a public one); its own unit (drafts too); its reviewers and national
  staff (what was submitted, never a draft).
- `is_insider`: its unit's members, its reviewers, national staff (review history, summaries).
- `reviews_it`: reviewers and admins of its supervisor, or of the body a review escalated to.
- `may_review`: one who reviews it and neither belongs to its unit nor filed it.
- `may_moderate`: national staff, and reviewers of its supervisor (hiding comments).
- `association_covers`: a provincial association for its province, a municipal one its city.
- `supervises_region`: reviewers and admins of an association, for what lies in its remit.
- `oversees_region`: national staff, and those who supervise the region (schedules, reports).
- `manages_region`: national staff, and the admins of the association of exactly that province
  or city (its phase windows and regional settings).
- `can_view_private`: a unit's contact details: its members, its associations, national staff.

A caller who may not see an activity is answered as for one that does not exist.
"""

from __future__ import annotations

from typing import Protocol

from models import Activity, Organization, Region, User
from models.enums import ActivityStatus, MemberRole, OrganizationKind, RegionLevel
from services.permissions import Grant, is_national_staff

REVIEWING_ROLES = (MemberRole.REVIEWER, MemberRole.ADMIN)


def member_org_ids(grants: list[Grant], roles: tuple[MemberRole, ...] | None = None) -> set[int]:
    return {g.organization_id for g in grants if roles is None or g.role in roles}


def is_public(activity: Activity) -> bool:
    return (
        activity.status is ActivityStatus.APPROVED
        and activity.show_on_cloud
        and activity.deleted_at is None
    )


def reviews_it(grants: list[Grant], activity: Activity) -> bool:
    reviewing = member_org_ids(grants, REVIEWING_ROLES)
    return activity.supervisor_id in reviewing or activity.escalated_to_id in reviewing


def is_insider(grants: list[Grant], activity: Activity) -> bool:
    return (
        activity.organization_id in member_org_ids(grants)
        or reviews_it(grants, activity)
        or is_national_staff(grants)
    )


def can_view(grants: list[Grant], activity: Activity) -> bool:
    if activity.deleted_at is not None:
        return False
    if is_public(activity) or activity.organization_id in member_org_ids(grants):
        return True
    return activity.status is not ActivityStatus.DRAFT and is_insider(grants, activity)


def may_review(user: User, grants: list[Grant], activity: Activity) -> bool:
    """Separation of duties: nobody reviews their own unit's activity, nor one they filed."""
    return (
        reviews_it(grants, activity)
        and activity.organization_id not in member_org_ids(grants)
        and activity.created_by_id != user.id
    )


def may_moderate(grants: list[Grant], activity: Activity) -> bool:
    return is_national_staff(grants) or activity.supervisor_id in member_org_ids(
        grants, REVIEWING_ROLES
    )


class _Place(Protocol):
    @property
    def province_code(self) -> str: ...

    @property
    def prefecture_code(self) -> str | None: ...


class _Body(_Place, Protocol):
    @property
    def kind(self) -> OrganizationKind: ...


def association_covers(body: _Body, place: _Place) -> bool:
    """A provincial association covers its province, a municipal one its prefecture (a unit, a
    region or an activity there); no other kind of body covers a region."""
    if body.kind is OrganizationKind.PROVINCIAL_ASSOCIATION:
        return body.province_code == place.province_code
    if body.kind is OrganizationKind.MUNICIPAL_ASSOCIATION:
        return body.prefecture_code is not None and body.prefecture_code == place.prefecture_code
    return False


def supervises_region(grant: Grant, place: _Place) -> bool:
    """A reviewer or admin of an association oversees what lies in its province or prefecture."""
    return grant.role in REVIEWING_ROLES and association_covers(grant, place)


def oversees_region(grants: list[Grant], region: Region | None) -> bool:
    """National staff oversee everything (`None`: the whole country); the reviewers and admins
    of an association, their province's or city's subtree."""
    if is_national_staff(grants):
        return True
    return region is not None and any(supervises_region(g, region) for g in grants)


_LEVEL_OF = {
    OrganizationKind.PROVINCIAL_ASSOCIATION: RegionLevel.PROVINCE,
    OrganizationKind.MUNICIPAL_ASSOCIATION: RegionLevel.PREFECTURE,
}


def manages_region(grants: list[Grant], region: Region | None) -> bool:
    """National staff manage every region (`None`: the national settings); an association's
    admins, the region that is exactly their province or city."""
    if is_national_staff(grants):
        return True
    return region is not None and any(
        g.role is MemberRole.ADMIN
        and _LEVEL_OF.get(g.kind) is region.level
        and association_covers(g, region)
        for g in grants
    )


def can_view_private(grants: list[Grant], organization: Organization) -> bool:
    """Contact details of a unit: its members, the associations over it, and national staff."""
    return (
        is_national_staff(grants)
        or any(g.organization_id == organization.id for g in grants)
        or any(supervises_region(g, organization) for g in grants)
    )
