"""Summary reports: aggregates from SQL (GROUP BY), never from loading activities into Python,
and bar charts drawn by the template (rows of a table, which break between pages)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from tortoise.expressions import Subquery
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from infra.clock import CHINA, now
from models import Activity, ActivityStats, Campaign, JointAction, Organization
from models.enums import ActivityForm, ActivityStatus, OrganizationKind, RegionLevel
from services.regions import get_region, get_regions, subtree

STATUS_NAMES = {
    ActivityStatus.DRAFT: "草稿",
    ActivityStatus.PENDING_REVIEW: "待审核",
    ActivityStatus.APPROVED: "审核通过",
    ActivityStatus.REJECTED: "审核未通过",
}
FORM_NAMES = {
    ActivityForm.ONLINE: "线上",
    ActivityForm.OFFLINE: "线下",
    ActivityForm.HYBRID: "线上线下",
}


@dataclass(frozen=True)
class Scope:
    year: int
    organization_id: int | None = None
    region_code: str | None = None  # None with no organization: the nation


class _Base(NamedTuple):
    query: QuerySet[Activity]  # the activities in scope
    name: str  # the scope's name ("全国" for the nation)
    issuer: str  # the body that issues the report: the unit, the region's association, CAST
    by: str  # the column regions are broken down by


async def _base(scope: Scope) -> _Base:
    campaign = await Campaign.get_or_none(year=scope.year)
    query = Activity.filter(campaign_id=campaign.id if campaign else 0, deleted_at=None)
    if scope.organization_id is not None:
        organization = await Organization.get(id=scope.organization_id)
        return _Base(
            query.filter(organization_id=organization.id),
            organization.name,
            organization.name,
            "region_id",
        )
    if scope.region_code:
        region = await get_region(scope.region_code)
        assert region is not None
        by = "prefecture_code" if region.level is RegionLevel.PROVINCE else "region_id"
        association = await Organization.filter(
            region_id=region.code, kind__in=ASSOCIATIONS
        ).first()
        issuer = association.name if association else f"{region.name}科学技术协会"
        return _Base(query.filter(subtree(region)), region.name, issuer, by)
    organizer = await Organization.filter(kind=OrganizationKind.NATIONAL_ORGANIZER).first()
    issuer = organizer.name if organizer else "中国科学技术协会"
    return _Base(query, "全国", issuer, "province_code")


ASSOCIATIONS = (OrganizationKind.PROVINCIAL_ASSOCIATION, OrganizationKind.MUNICIPAL_ASSOCIATION)


async def _grouped(query: QuerySet[Activity], column: str) -> dict[Any, int]:
    rows = await query.annotate(n=Count("id")).group_by(column).values(column, "n")
    return {row[column]: row["n"] for row in rows}


async def summary(scope: Scope) -> dict[str, Any]:
    """Every figure of the report, as plain data (a handful of GROUP BY queries)."""
    base = await _base(scope)
    query, name, by = base.query, base.name, base.by
    approved = query.filter(status=ActivityStatus.APPROVED)
    # filed: submitted for review (drafts are not filed); the tile and the chart count these
    by_status = await _grouped(query.filter(status__not=ActivityStatus.DRAFT), "status")
    by_form = await _grouped(approved, "form")
    by_action = await _grouped(approved.filter(joint_action_id__not_isnull=True), "joint_action_id")
    by_region = await _grouped(approved, by)
    totals = (
        await approved.annotate(
            participants=Sum("participant_count"),
            n=Count("id"),
            supplemented=Count("supplemented_at"),
            summarized=Count("summarized_at"),
        )
        .first()
        .values("participants", "n", "supplemented", "summarized")
    )
    stats_scope = ActivityStats.filter(activity_id__in=Subquery(approved.values("id")))
    engagement = (
        await stats_scope.annotate(
            check_ins=Sum("check_ins"),
            likes=Sum("likes"),
            comments=Sum("comments"),
            favorites=Sum("favorites"),
            offline_check_ins=Sum("offline_check_ins"),
            head_count=Sum("head_count"),
        )
        .first()
        .values("check_ins", "likes", "comments", "favorites", "offline_check_ins", "head_count")
    )
    top = (
        await stats_scope.order_by("-check_ins", "activity_id")
        .limit(10)
        .values("check_ins", "likes", "activity__title", "activity__host_units")
    )
    actions = {a.id: a.name for a in await JointAction.filter(id__in=list(by_action))}
    regions = {
        code: region.name
        for code, region in zip(
            list(by_region), await get_regions([c for c in by_region if c]), strict=False
        )
        if region
    }
    count = totals["n"] if totals else 0

    def share(part: int | None) -> str:
        return f"{(part or 0) * 100 / count:.1f}%" if count else "—"

    title = f"{scope.year}年全国科普日活动总结报告"
    return {
        "name": name,
        "title": title if name == "全国" else f"{name}{title}",  # not 全国2026年全国…
        "issuer": base.issuer,
        "generated": f"{now().astimezone(CHINA):%Y年%m月%d日 %H:%M}",
        "year": scope.year,
        "filed": sum(by_status.values()),
        "approved": count,
        "participants": (totals or {}).get("participants") or 0,
        "supplemented": share((totals or {}).get("supplemented")),
        "summarized": share((totals or {}).get("summarized")),
        "engagement": {k: v or 0 for k, v in (engagement or {}).items()},
        "by_status": [(STATUS_NAMES[ActivityStatus(s)], n) for s, n in sorted(by_status.items())],
        "by_form": [(FORM_NAMES[ActivityForm(f)], n) for f, n in sorted(by_form.items())],
        "by_action": sorted(
            ((actions.get(a, str(a)), n) for a, n in by_action.items()), key=lambda x: -x[1]
        ),
        "by_region": sorted(
            ((regions.get(c, c or "—"), n) for c, n in by_region.items()), key=lambda x: -x[1]
        ),
        "top": [
            {
                "title": t["activity__title"],
                "host": "、".join(t["activity__host_units"]),
                "check_ins": t["check_ins"],
                "likes": t["likes"],
            }
            for t in top
        ],
    }
