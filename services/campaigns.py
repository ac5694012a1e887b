"""Campaigns: national windows and themes, regional overrides resolved along the region chain,
and the joint-action catalogue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from infra.clock import local_date, now, today
from infra.errors import Collector, PermissionDenied, ServiceError
from models import Campaign, JointAction, PhaseWindow, Region, RegionalSetting
from models.enums import Phase, RegionLevel
from services.content import PUBLIC, publishes
from services.errors import CampaignErrorCode
from services.permissions import Grant, require_national_staff
from services.regions import get_region
from services.rules import manages_region
from services.validation import check_text

DEFAULT_MAX_MEDIA = 5


@dataclass(frozen=True)
class Window:
    phase: Phase
    opens_at: datetime
    closes_at: datetime
    region_code: str | None  # where the window was set (None: national)


def region_chain(region: Region | None) -> list[str]:
    """The region and the regions above it, most specific first."""
    if region is None:
        return []
    chain = [region.code, region.prefecture_code, region.province_code]
    return list(dict.fromkeys(code for code in chain if code))


# ---------------------------------------------------------------- reading


async def campaign_of_year(year: int | None) -> Campaign | None:
    """The campaign of a year; with no year, this year's (else the latest)."""
    if year is not None:
        return await Campaign.get_or_none(year=year)
    current = await Campaign.get_or_none(year=today().year)
    return current or await Campaign.all().order_by("-year").first()


async def campaign_for(year: int) -> Campaign:
    """The campaign of a year, or a refusal naming the year."""
    campaign = await Campaign.get_or_none(year=year)
    if campaign is None:
        raise ServiceError.of(CampaignErrorCode.NO_CAMPAIGN, f"{year}年度活动不存在", "year")
    return campaign


async def windows_for(campaign_id: int, region: Region | None) -> dict[Phase, Window]:
    """Each phase's window that applies in `region` (its own, its city's, its province's, or the
    national one), in one query."""
    chain = region_chain(region)
    rows = await PhaseWindow.filter(
        Q(region_code=None) | Q(region_code__in=chain), campaign_id=campaign_id
    )
    rank = {code: i for i, code in enumerate(chain)}
    best: dict[Phase, PhaseWindow] = {}
    for row in rows:
        current = best.get(row.phase)
        if current is None or rank.get(row.region_code or "", 99) < rank.get(
            current.region_code or "", 99
        ):
            best[row.phase] = row
    return {
        phase: Window(phase, row.opens_at, row.closes_at, row.region_code)
        for phase, row in best.items()
    }


def require_open(
    window: Window | None, label: str, *, unset: StrEnum, not_open: StrEnum, closed: StrEnum
) -> None:
    """Refuse outside a phase's window, naming the day it opens or closed ("活动填报已于
    2020-09-25截止"); `unset` when the campaign has no such window."""
    moment = now()
    if window is None:
        raise ServiceError.of(unset, f"本年度{label}尚未开放")
    if moment < window.opens_at:
        raise ServiceError.of(not_open, f"{label}将于{local_date(window.opens_at)}开始")
    if moment > window.closes_at:
        raise ServiceError.of(closed, f"{label}已于{local_date(window.closes_at)}截止")


async def _regional_settings(campaign_id: int, region: Region | None) -> list[RegionalSetting]:
    chain = region_chain(region)
    rows = await RegionalSetting.filter(campaign_id=campaign_id, region_code__in=chain)
    return sorted(rows, key=lambda r: chain.index(r.region_code))


async def sub_theme_for(campaign_id: int, region: Region | None) -> str | None:
    for setting in await _regional_settings(campaign_id, region):
        if setting.sub_theme:
            return setting.sub_theme
    return None


async def max_media_for(campaign_id: int, region: Region | None) -> int:
    for setting in await _regional_settings(campaign_id, region):
        if setting.max_media is not None:
            return setting.max_media
    return DEFAULT_MAX_MEDIA


async def joint_actions_for(campaign_id: int, region: Region | None) -> list[JointAction]:
    """The national catalogue plus the actions of the region's chain (all of them without one)."""
    query = JointAction.filter(campaign_id=campaign_id)
    if region is not None:
        query = query.filter(Q(region_code=None) | Q(region_code__in=region_chain(region)))
    return await query.order_by("position", "id")


# ---------------------------------------------------------------- who manages what


async def _override_region(
    grants: list[Grant], region_code: str | None, field: str = "regionCode"
) -> Region | None:
    """The region of an override (None: national), refused unless the actor manages it."""
    region = None
    if region_code:
        region = await get_region(region_code)
        if region is None or region.level is RegionLevel.COUNTY:
            raise ServiceError.of(
                CampaignErrorCode.INVALID_REGION, "地区设置只能针对省级或地市级行政区划", field
            )
    if not manages_region(grants, region):
        raise PermissionDenied("只能管理本单位所辖地区的活动设置")
    return region


async def _campaign(campaign_id: int) -> Campaign:
    campaign = await Campaign.get_or_none(id=campaign_id)
    if campaign is None:
        raise ServiceError.of(CampaignErrorCode.NOT_FOUND, "活动年度不存在", "campaignId")
    return campaign


# ---------------------------------------------------------------- writing


@dataclass(frozen=True)
class CampaignData:
    year: int
    name: str
    theme: str
    starts_on: date
    ends_on: date


def _check_campaign(errors: Collector, data: CampaignData) -> dict[str, Any]:
    if not 2000 <= data.year <= 2100:
        errors.add(CampaignErrorCode.INVALID, "年份须在2000至2100之间", "year")
    values: dict[str, Any] = {
        "name": check_text(errors, data.name, "name", "活动名称", max_length=100),
        "theme": check_text(errors, data.theme, "theme", "活动主题", max_length=200),
        "starts_on": data.starts_on,
        "ends_on": data.ends_on,
    }
    if data.starts_on > data.ends_on:
        errors.add(CampaignErrorCode.INVALID_TIME, "集中活动开始日期不能晚于结束日期", "endsOn")
    if data.starts_on.year != data.year or data.ends_on.year != data.year:
        errors.add(CampaignErrorCode.INVALID_TIME, "集中活动日期须在当年之内", "startsOn")
    return values


@publishes(PUBLIC)
async def create_campaign(grants: list[Grant], data: CampaignData) -> Campaign:
    require_national_staff(grants)
    errors = Collector()
    values = _check_campaign(errors, data)
    errors.raise_if_any()
    try:
        return await Campaign.create(year=data.year, **values)
    except IntegrityError as exc:
        raise ServiceError.of(
            CampaignErrorCode.CAMPAIGN_EXISTS, f"{data.year}年的活动已存在", "year"
        ) from exc


@publishes(PUBLIC)
async def update_campaign(grants: list[Grant], campaign_id: int, data: CampaignData) -> Campaign:
    require_national_staff(grants)
    campaign = await _campaign(campaign_id)
    errors = Collector()
    values = _check_campaign(errors, data)
    if data.year != campaign.year:
        errors.add(CampaignErrorCode.INVALID, "活动年份不能修改", "year")
    errors.raise_if_any()
    await Campaign.filter(id=campaign.id).update(**values)
    return await Campaign.get(id=campaign.id)


@publishes(PUBLIC)
async def set_phase_window(
    grants: list[Grant],
    campaign_id: int,
    phase: Phase,
    region_code: str | None,
    opens_at: datetime,
    closes_at: datetime,
) -> Window:
    """Set the national window of a phase, or a region's own (inside the national one)."""
    region = await _override_region(grants, region_code)
    campaign = await _campaign(campaign_id)
    if opens_at >= closes_at:
        raise ServiceError.of(
            CampaignErrorCode.INVALID_WINDOW, "截止时间须晚于开始时间", "closesAt"
        )
    if region is not None:
        national = await PhaseWindow.get_or_none(
            campaign_id=campaign.id, phase=phase, region_code=None
        )
        if national is None:
            raise ServiceError.of(
                CampaignErrorCode.OUTSIDE_NATIONAL_WINDOW,
                "全国时间尚未设置，暂不能设置地区时间",
                "phase",
            )
        if opens_at < national.opens_at or closes_at > national.closes_at:
            raise ServiceError.of(
                CampaignErrorCode.OUTSIDE_NATIONAL_WINDOW,
                f"地区时间须在全国时间（{local_date(national.opens_at)}至"
                f"{local_date(national.closes_at)}）之内",
                "closesAt",
            )
    code = region.code if region else None
    row = await PhaseWindow.get_or_none(campaign_id=campaign.id, phase=phase, region_code=code)
    if row is None:
        await PhaseWindow.create(
            campaign_id=campaign.id,
            phase=phase,
            region_code=code,
            opens_at=opens_at,
            closes_at=closes_at,
        )
    else:
        await PhaseWindow.filter(id=row.id).update(opens_at=opens_at, closes_at=closes_at)
    return Window(phase, opens_at, closes_at, code)


@publishes(PUBLIC)
async def clear_phase_window(
    grants: list[Grant], campaign_id: int, phase: Phase, region_code: str
) -> None:
    """Remove a region's own window: the one above applies again."""
    region = await _override_region(grants, region_code)
    assert region is not None
    await PhaseWindow.filter(campaign_id=campaign_id, phase=phase, region_code=region.code).delete()


@publishes(PUBLIC)
async def set_regional_setting(
    grants: list[Grant],
    campaign_id: int,
    region_code: str,
    *,
    sub_theme: str | None,
    max_media: int | None,
) -> RegionalSetting:
    region = await _override_region(grants, region_code)
    assert region is not None
    await _campaign(campaign_id)
    errors = Collector()
    theme = check_text(errors, sub_theme, "subTheme", "副主题", max_length=200, required=False)
    if max_media is not None and not 1 <= max_media <= 50:
        errors.add(CampaignErrorCode.INVALID, "图片视频数量上限须在1至50之间", "maxMedia")
    errors.raise_if_any()
    setting, _ = await RegionalSetting.get_or_create(
        campaign_id=campaign_id, region_code=region.code
    )
    await RegionalSetting.filter(id=setting.id).update(sub_theme=theme or None, max_media=max_media)
    return await RegionalSetting.get(id=setting.id)


@publishes(PUBLIC)
async def create_joint_action(
    grants: list[Grant],
    campaign_id: int,
    name: str,
    lead_units: list[str],
    region_code: str | None,
) -> JointAction:
    region = await _override_region(grants, region_code)
    await _campaign(campaign_id)
    errors = Collector()
    name = check_text(errors, name, "name", "联合行动名称", max_length=100)
    if len(lead_units) > 20:
        errors.add(CampaignErrorCode.TOO_MANY_ITEMS, "牵头单位最多20个", "leadUnits")
    units = [
        check_text(errors, unit, "leadUnits", "牵头单位", max_length=100) for unit in lead_units
    ]
    errors.raise_if_any()
    position = await JointAction.filter(campaign_id=campaign_id).count()
    try:
        return await JointAction.create(
            campaign_id=campaign_id,
            name=name,
            lead_units=units,
            region_code=region.code if region else None,
            position=position,
        )
    except IntegrityError as exc:
        raise ServiceError.of(CampaignErrorCode.INVALID, "该联合行动已存在", "name") from exc
