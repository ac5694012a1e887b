"""Summary reports: aggregates from SQL (GROUP BY), never from loading activities into Python,
and bar charts drawn as inline SVG."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from tortoise.expressions import Subquery
from tortoise.functions import Count, Sum
from tortoise.queryset import QuerySet

from models import Activity, ActivityStats, Campaign, JointAction, Organization
from models.enums import ActivityForm, ActivityStatus, RegionLevel
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


async def _base(scope: Scope) -> tuple[QuerySet[Activity], str, str]:
    """Activities in scope, the scope's name, and the column to break regions down by."""
    campaign = await Campaign.get_or_none(year=scope.year)
    query = Activity.filter(campaign_id=campaign.id if campaign else 0, deleted_at=None)
    if scope.organization_id is not None:
        organization = await Organization.get(id=scope.organization_id)
        return query.filter(organization_id=organization.id), organization.name, "region_id"
    if scope.region_code:
        region = await get_region(scope.region_code)
        assert region is not None
        by = "prefecture_code" if region.level is RegionLevel.PROVINCE else "region_id"
        return query.filter(subtree(region)), region.name, by
    return query, "全国", "province_code"


async def _grouped(query: QuerySet[Activity], column: str) -> dict[Any, int]:
    rows = await query.annotate(n=Count("id")).group_by(column).values(column, "n")
    return {row[column]: row["n"] for row in rows}


async def summary(scope: Scope) -> dict[str, Any]:
    """Every figure of the report, as plain data (a handful of GROUP BY queries)."""
    query, name, by = await _base(scope)
    approved = query.filter(status=ActivityStatus.APPROVED)
    by_status = await _grouped(query, "status")
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
        )
        .first()
        .values("check_ins", "likes", "comments", "favorites")
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

    return {
        "name": name,
        "year": scope.year,
        "filed": sum(n for s, n in by_status.items() if s != ActivityStatus.DRAFT),
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
        )[:20],
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


def bar_chart(rows: list[tuple[str, int]], width: int = 480, bar: int = 18) -> Markup:
    """A horizontal bar chart as inline SVG (labels escaped)."""
    if not rows:
        return Markup('<p class="none">暂无数据</p>')
    peak = max(n for _, n in rows) or 1
    label_width, height = 120, (bar + 6) * len(rows)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-size="11">'
    ]
    for i, (label, n) in enumerate(rows):
        y = i * (bar + 6)
        length = (width - label_width - 50) * n / peak
        parts.append(
            f'<text x="{label_width - 6}" y="{y + bar - 5}" text-anchor="end">'
            f"{html.escape(str(label))}</text>"
        )
        parts.append(
            f'<rect x="{label_width}" y="{y}" width="{length:.1f}" height="{bar}" fill="#1761c9"/>'
        )
        parts.append(f'<text x="{label_width + length + 4:.1f}" y="{y + bar - 5}">{n}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (built above from numbers and escaped labels)
