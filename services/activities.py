"""The activity lifecycle: one function per transition. Each checks, writes in a transaction,
records an audit entry and emits a domain event; jobs are queued after the commit."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import MISSING, asdict, dataclass, fields, replace
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from infra import jobs, qr, storage
from infra.clock import CHINA, local_date, now
from infra.errors import Collector, PermissionDenied, ServiceError
from infra.geo import Point
from infra.images import Upload, normalize_image, read_upload
from models import (
    Activity,
    ActivityMedia,
    ActivityStats,
    Campaign,
    JointAction,
    Organization,
    Region,
    Review,
    User,
)
from models.enums import (
    ActivityForm,
    ActivityStatus,
    MediaKind,
    MemberRole,
    OrganizationKind,
    Phase,
    ReviewDecision,
)
from services import audit
from services.campaigns import (
    campaign_of_year,
    max_media_for,
    region_chain,
    require_open,
    windows_for,
)
from services.errors import ActivityErrorCode
from services.events import DomainEvent, EventKind, emit, transaction
from services.permissions import Grant
from services.regions import check_place, check_region, get_region, in_region, subtree
from services.rules import (
    REVIEWING_ROLES,
    association_covers,
    can_view,
    is_public,
    may_review,
    member_org_ids,
    reviews_it,
)
from services.runtime import Runtime
from services.validation import check_text, clean_text

SUPERVISOR_KINDS = frozenset(
    {
        OrganizationKind.MINISTRY,
        OrganizationKind.NATIONAL_SOCIETY,
        OrganizationKind.PROVINCIAL_ASSOCIATION,
        OrganizationKind.MUNICIPAL_ASSOCIATION,
        OrganizationKind.OTHER,
    }
)
FILING_ROLES = (MemberRole.FILER, MemberRole.ADMIN)
# supervisors whose remit is the whole country; the associations supervise their own region
NATIONAL_SUPERVISORS = frozenset({OrganizationKind.MINISTRY, OrganizationKind.NATIONAL_SOCIETY})
MAX_UNITS = 20
MAX_LINKS = 20


@dataclass(frozen=True)
class FilingForm:
    """What a unit states about an activity when it files it, checked whole by `_validate`.
    Both API inputs convert to it once (a new activity's, and the changes of one filed)."""

    title: str
    description: str
    form: ActivityForm
    starts_at: datetime
    ends_at: datetime
    region_code: str
    supervisor_kind: OrganizationKind
    host_units: list[str]
    address: str | None = None
    online_url: str | None = None
    supervisor_id: int | None = None
    supervisor_name: str | None = None
    organizer_units: list[str] | None = None
    joint_action_id: int | None = None
    sub_theme: str | None = None
    show_on_cloud: bool | None = None
    expected_participants: int | None = None
    location: Point | None = None  # WGS-84

    @classmethod
    def new(cls, given: Mapping[str, Any]) -> FilingForm:
        """A form of the given fields (a required one missing or empty is refused)."""
        _require(given, partial=False)
        return cls(**given)

    @classmethod
    def of(cls, activity: Activity) -> FilingForm:
        """An activity's form as it stands."""
        return cls(**{name: getattr(activity, _COLUMNS.get(name, name)) for name in FORM_FIELDS})

    def changed(self, given: Mapping[str, Any]) -> FilingForm:
        """This form with the given fields changed (a required one cannot be emptied)."""
        _require(given, partial=True)
        return replace(self, **given)


FORM_FIELDS = tuple(f.name for f in fields(FilingForm))
REQUIRED_FIELDS = tuple(f.name for f in fields(FilingForm) if f.default is MISSING)
_COLUMNS = {"region_code": "region_id"}  # form fields stored under another name


def _require(given: Mapping[str, Any], *, partial: bool) -> None:
    errors = Collector()
    for name in REQUIRED_FIELDS:
        if given.get(name) is None and (name in given or not partial):
            errors.add(ActivityErrorCode.REQUIRED, "此项不能为空", camel(name))
    errors.raise_if_any()


def camel(name: str) -> str:
    """A form field's name as the API writes it (errors name their field so)."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


# ---------------------------------------------------------------- validation


def split_units(values: list[str] | None) -> list[str]:
    """Unit names as a list; a single string with Chinese commas is split."""
    names: list[str] = []
    for value in values or []:
        names += [clean_text(part) for part in value.replace(",", "，").split("，")]
    return [name for name in names if name]


def check_url(
    errors: Collector, value: str | None, field: str, label: str, required: bool
) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            errors.add(ActivityErrorCode.REQUIRED, f"请填写{label}", field)
        return None
    parsed = urlparse(text)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or len(text) > 500:
        errors.add(ActivityErrorCode.INVALID_URL, f"{label}须为http或https开头的有效网址", field)
    return text


def _check_units(
    errors: Collector, values: list[str] | None, field: str, label: str, required: bool
) -> list[str]:
    names = split_units(values)
    if required and not names:
        errors.add(ActivityErrorCode.REQUIRED, f"请填写{label}", field)
    if len(names) > MAX_UNITS:
        errors.add(ActivityErrorCode.TOO_MANY_ITEMS, f"{label}最多{MAX_UNITS}个", field)
    for name in names:
        if len(name) > 100:
            errors.add(ActivityErrorCode.INVALID, f"{label}名称不能超过100个字符", field)
            break
    return names


async def _validate(campaign: Campaign, form: FilingForm, unit_id: int) -> dict[str, Any]:
    """The whole filing form of unit `unit_id` checked at once; returns the model values."""
    errors = Collector()
    kind = form.form
    values: dict[str, Any] = {
        "title": check_text(errors, form.title, "title", "活动名称", max_length=100),
        "description": check_text(
            errors,
            form.description,
            "description",
            "活动简介",
            max_length=5000,
            multiline=True,
        ),
        "form": kind,
        "show_on_cloud": form.show_on_cloud is not False,
        "expected_participants": form.expected_participants,
        "sub_theme": check_text(
            errors, form.sub_theme, "subTheme", "副主题", max_length=200, required=False
        )
        or None,
    }
    expected = values["expected_participants"]
    if expected is not None and not 0 <= expected <= 100_000_000:
        errors.add(
            ActivityErrorCode.INVALID, "预计参与人数须为0至1亿之间的整数", "expectedParticipants"
        )
    starts_at, ends_at = form.starts_at, form.ends_at
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        errors.add(
            ActivityErrorCode.INVALID_TIME,
            "时间须带时区（如 2026-09-20T09:00:00+08:00）",
            "startsAt",
        )
    elif ends_at <= starts_at:
        errors.add(ActivityErrorCode.INVALID_TIME, "结束时间须晚于开始时间", "endsAt")
    elif {starts_at.astimezone(CHINA).year, ends_at.astimezone(CHINA).year} != {campaign.year}:
        errors.add(ActivityErrorCode.INVALID_TIME, f"活动时间须在{campaign.year}年之内", "startsAt")
    values.update(starts_at=starts_at, ends_at=ends_at)

    offline = kind in (ActivityForm.OFFLINE, ActivityForm.HYBRID)
    online = kind in (ActivityForm.ONLINE, ActivityForm.HYBRID)
    values["address"] = (
        check_text(errors, form.address, "address", "活动地址", max_length=200, required=offline)
        or None
    )
    values["online_url"] = check_url(
        errors, form.online_url, "onlineUrl", "线上活动链接", required=online
    )
    values["host_units"] = _check_units(
        errors, form.host_units, "hostUnits", "主办单位", required=True
    )
    values["organizer_units"] = _check_units(
        errors, form.organizer_units, "organizerUnits", "承办单位", required=False
    )

    region = await check_region(errors, form.region_code)
    if offline:
        values.update(await _place(errors, form.location, region, unit_id))
    else:
        values.update(latitude=None, longitude=None)
    if region is not None:
        values.update(
            region_id=region.code,
            province_code=region.province_code,
            prefecture_code=region.prefecture_code,
        )
        values.update(await _supervisor(errors, form, region, unit_id))
        values["joint_action_id"] = await _joint_action(errors, campaign, form, region)
    errors.raise_if_any()
    return values


async def _place(
    errors: Collector, point: Point | None, region: Region | None, unit_id: int
) -> dict[str, Any]:
    """Where an offline or hybrid activity takes place (services/regions.py says how exactly it
    is checked); when the form gives none, the filing unit's default place, if it lies in the
    activity's region (a venue hosting its own activities)."""
    if point is None and region is not None:
        found = await Organization.filter(id=unit_id).values_list("latitude", "longitude")
        place = Point.at(*found[0]) if found else None
        point = place if place is not None and in_region(place, region) else None
    check_place(errors, point, region)
    if point is None:
        return {"latitude": None, "longitude": None}
    return {"latitude": point.latitude, "longitude": point.longitude}


async def _supervisor(
    errors: Collector, form: FilingForm, region: Region, unit_id: int
) -> dict[str, Any]:
    """The supervising unit: the chosen one of its kind, or for OTHER the provincial association
    of the activity's province. An association can supervise only the activity's region (a
    ministry or national society, any); a unit never supervises its own activity: that one goes
    to the next supervisor up."""
    kind = form.supervisor_kind
    if kind not in SUPERVISOR_KINDS:
        errors.add(
            ActivityErrorCode.INVALID_SUPERVISOR,
            "归口单位类别须为部委、全国学会、省科协、市科协或其他",
            "supervisorKind",
        )
        return {}
    if kind is OrganizationKind.OTHER:
        name = check_text(
            errors, form.supervisor_name, "supervisorName", "归口单位名称", max_length=100
        )
        province = await Organization.filter(
            kind=OrganizationKind.PROVINCIAL_ASSOCIATION, region_id=region.province_code
        ).first()
        if province is None:
            errors.add(
                ActivityErrorCode.INVALID_SUPERVISOR,
                "该地区没有省级科协，请选择具体的归口单位",
                "supervisorKind",
            )
            return {}
        reviewer = await _not_itself(province, unit_id)
        return {"supervisor_kind": kind, "supervisor_id": reviewer.id, "supervisor_name": name}
    supervisor_id = form.supervisor_id
    chosen = await Organization.get_or_none(id=supervisor_id, kind=kind) if supervisor_id else None
    if chosen is None:
        errors.add(ActivityErrorCode.INVALID_SUPERVISOR, "请从列表中选择归口单位", "supervisorId")
        return {}
    if kind not in NATIONAL_SUPERVISORS and not association_covers(chosen, region):
        errors.add(
            ActivityErrorCode.INVALID_SUPERVISOR,
            f"{chosen.name}不是活动所在地区的归口单位，请选择本地区的科协或全国性单位",
            "supervisorId",
        )
        return {}
    reviewer = await _not_itself(chosen, unit_id)
    return {"supervisor_kind": kind, "supervisor_id": reviewer.id, "supervisor_name": None}


async def _not_itself(supervisor: Organization, unit_id: int) -> Organization:
    """The supervisor, or the next one up when it is the filing unit itself."""
    if supervisor.id != unit_id:
        return supervisor
    if supervisor.parent_id is not None:
        return await Organization.get(id=supervisor.parent_id)
    national = await Organization.get_or_none(kind=OrganizationKind.NATIONAL_ORGANIZER)
    return national if national is not None and national.id != unit_id else supervisor


async def _joint_action(
    errors: Collector, campaign: Campaign, form: FilingForm, region: Region
) -> int | None:
    action_id = form.joint_action_id
    if action_id is None:
        return None
    action = await JointAction.get_or_none(id=action_id, campaign_id=campaign.id)
    if action is None or (action.region_code and action.region_code not in region_chain(region)):
        errors.add(
            ActivityErrorCode.INVALID_JOINT_ACTION,
            "请选择本年度、本地区适用的联合行动",
            "jointActionId",
        )
        return None
    return action.id


@asynccontextmanager
async def _poster_change(new: str | None, old: str | None = None) -> AsyncIterator[None]:
    """A newly stored poster is kept only if the write that names it commits; the poster it
    replaces is deleted once that has happened (unless another activity still shows it)."""
    try:
        yield
    except BaseException:
        if new is not None:
            await storage.delete(new)
        raise
    replaced = new is not None and old and old != new
    if replaced and not await Activity.filter(poster=old).exists():
        await storage.delete(str(old))


async def _store_poster(upload: Upload) -> str:
    image, extension = await normalize_image(await read_upload(upload, "poster"), "poster")
    relative = f"posters/{uuid.uuid4().hex}.{extension}"
    return await storage.save(relative, image, storage.public_type(relative) or "image/jpeg")


# ---------------------------------------------------------------- who may act


async def _filing_unit(grants: list[Grant], organization_id: int | None) -> Organization:
    """The unit the caller files for: the given one (if a FILER or ADMIN there), else their one."""
    units = member_org_ids(grants, FILING_ROLES)
    if organization_id is not None:
        if organization_id not in units:
            raise PermissionDenied("只能为本单位填报活动")
        chosen = organization_id
    elif not units:
        raise ServiceError.of(
            ActivityErrorCode.NOT_A_MEMBER, "请先填写单位信息，再填报活动", "organizationId"
        )
    elif len(units) > 1:
        raise ServiceError.of(
            ActivityErrorCode.AMBIGUOUS_UNIT, "您属于多个单位，请选择填报单位", "organizationId"
        )
    else:
        chosen = next(iter(units))
    unit = await Organization.get(id=chosen)
    if not (unit.contact_name and unit.contact_phone and unit.address):
        raise ServiceError.of(
            ActivityErrorCode.UNIT_PROFILE_INCOMPLETE,
            "请先完善单位信息（填报人、联系电话、单位地址）",
            "organizationId",
        )
    return unit


async def _own_activity(grants: list[Grant], activity_id: int) -> Activity:
    """An activity of one of the caller's units (FILER or ADMIN)."""
    activity = await Activity.get_or_none(id=activity_id, deleted_at=None)
    if activity is None or not can_view(grants, activity):
        raise ServiceError.of(ActivityErrorCode.NOT_FOUND, "活动不存在", "id")
    if activity.organization_id not in member_org_ids(grants, FILING_ROLES):
        raise PermissionDenied("只有本单位的填报人员可以操作此活动")
    return activity


async def _window_check(activity: Activity, phase: Phase, *, label: str) -> None:
    """Refuse outside the window of `phase` that applies to the activity's region."""
    region = await get_region(activity.region_id)
    window = (await windows_for(activity.campaign_id, region)).get(phase)
    if phase is Phase.FILING:
        require_open(
            window,
            "活动填报",
            unset=ActivityErrorCode.FILING_CLOSED,
            not_open=ActivityErrorCode.FILING_NOT_OPEN,
            closed=ActivityErrorCode.FILING_CLOSED,
        )
        return
    if window is not None and now() > window.closes_at:
        raise ServiceError.of(
            ActivityErrorCode.DEADLINE_PASSED, f"{label}已于{local_date(window.closes_at)}截止"
        )


def _event(
    kind: EventKind, activity: Activity, actor: User | None, was_public: bool, **data: Any
) -> DomainEvent:
    return DomainEvent(
        kind, activity.id, actor.id if actor else None, was_public, is_public(activity), data
    )


# ---------------------------------------------------------------- transitions


async def create_activity(
    user: User,
    grants: list[Grant],
    form: FilingForm,
    *,
    campaign_id: int | None = None,
    organization_id: int | None = None,
    poster: Upload | None = None,
) -> Activity:
    """Save a draft of the caller's unit (the form is checked whole)."""
    unit = await _filing_unit(grants, organization_id)
    campaign = (
        await Campaign.get_or_none(id=campaign_id) if campaign_id else await campaign_of_year(None)
    )
    if campaign is None:
        raise ServiceError.of(ActivityErrorCode.NO_CAMPAIGN, "没有可填报的活动年度", "campaignId")
    values = await _validate(campaign, form, unit.id)
    if poster is not None:
        values["poster"] = await _store_poster(poster)
    async with _poster_change(values.get("poster")), transaction():
        activity = await Activity.create(
            campaign_id=campaign.id,
            organization_id=unit.id,
            created_by=user,
            status=ActivityStatus.DRAFT,
            **values,
        )
        await ActivityStats.create(activity_id=activity.id)
        await audit.record("activity_created", actor=user, target=activity)
        await emit(_event(EventKind.ACTIVITY_CREATED, activity, user, False))
    return activity


async def update_activity(
    user: User,
    grants: list[Grant],
    activity_id: int,
    changes: Mapping[str, Any],
    *,
    poster: Upload | None = None,
) -> Activity:
    """Change a draft; changing an approved or rejected activity sends it back to review (inside
    the filing window). A pending activity cannot be changed."""
    activity = await _own_activity(grants, activity_id)
    if activity.status is ActivityStatus.PENDING_REVIEW:
        raise ServiceError.of(
            ActivityErrorCode.NOT_EDITABLE_WHILE_PENDING, "活动审核中，暂不能修改"
        )
    resubmit = activity.status in (ActivityStatus.APPROVED, ActivityStatus.REJECTED)
    if resubmit:
        await _window_check(activity, Phase.FILING, label="活动填报")
    campaign = await Campaign.get(id=activity.campaign_id)
    values = await _validate(
        campaign, FilingForm.of(activity).changed(changes), activity.organization_id
    )
    if poster is not None:
        values["poster"] = await _store_poster(poster)
    was_public = is_public(activity)
    if resubmit:
        values.update(status=ActivityStatus.PENDING_REVIEW, submitted_at=now())
    async with _poster_change(values.get("poster"), activity.poster), transaction():
        await Activity.filter(id=activity.id).update(**values)
        activity = await Activity.get(id=activity.id)
        await audit.record(
            "activity_updated",
            actor=user,
            target=activity,
            fields=sorted(changes),
            resubmitted=resubmit,
        )
        await emit(
            _event(EventKind.ACTIVITY_UPDATED, activity, user, was_public, resubmitted=resubmit)
        )
    return activity


async def submit_activity(
    rt: Runtime, user: User, grants: list[Grant], activity_id: int
) -> Activity:
    """File a draft for review, inside the filing window that applies; it gets its QR token."""
    activity = await _own_activity(grants, activity_id)
    if activity.status is not ActivityStatus.DRAFT:
        raise ServiceError.of(ActivityErrorCode.NOT_A_DRAFT, "该活动已提交")
    await _window_check(activity, Phase.FILING, label="活动填报")
    async with transaction():
        changed = await Activity.filter(id=activity.id, status=ActivityStatus.DRAFT).update(
            status=ActivityStatus.PENDING_REVIEW, submitted_at=now()
        )
        if not changed:
            raise ServiceError.of(ActivityErrorCode.NOT_A_DRAFT, "该活动已提交")
        if activity.qr_token is None:
            await _assign_qr_token(activity.id)
        activity = await Activity.get(id=activity.id)
        await audit.record("activity_submitted", actor=user, target=activity)
        await emit(_event(EventKind.ACTIVITY_SUBMITTED, activity, user, False))
    await jobs.enqueue("render_qr", activity.id, job_id=f"render_qr:{activity.id}")
    return activity


async def _assign_qr_token(activity_id: int) -> None:
    for _ in range(5):
        try:
            async with transaction():
                await Activity.filter(id=activity_id).update(qr_token=qr.new_token())
            return
        except IntegrityError:  # a collision: astronomically rare, try another
            continue
    raise RuntimeError("could not assign a unique QR token")


async def render_qr(activity_id: int, base_url: str) -> bool:
    """Render the activity's QR images (the worker's job; idempotent)."""
    activity = await Activity.get_or_none(id=activity_id)
    if activity is None or activity.qr_token is None:
        return False
    return await qr.ensure_rendered(activity.qr_token, base_url)


@dataclass(frozen=True)
class Supplement:
    photos: list[Upload]  # read only once their number is known to be allowed
    video_urls: list[str]
    news_urls: list[str]
    online_urls: list[str]


async def supplement_activity(
    user: User, grants: list[Grant], activity_id: int, supplement: Supplement
) -> Activity:
    """Add photos, video, news and online links once, from submission to the deadline."""
    activity = await _own_activity(grants, activity_id)
    if activity.status is ActivityStatus.DRAFT:
        raise ServiceError.of(ActivityErrorCode.NOT_SUBMITTED, "活动提交后才能补充信息")
    if activity.supplemented_at is not None:
        raise ServiceError.of(ActivityErrorCode.ALREADY_SUPPLEMENTED, "补充信息已提交，不能修改")
    await _window_check(activity, Phase.SUPPLEMENT, label="补充信息")
    errors = Collector()
    links = {
        MediaKind.VIDEO: [
            check_url(errors, u, "videoUrls", "视频链接", True) for u in supplement.video_urls
        ],
        MediaKind.NEWS: [
            check_url(errors, u, "newsUrls", "新闻报道链接", True) for u in supplement.news_urls
        ],
        MediaKind.ONLINE: [
            check_url(errors, u, "onlineUrls", "线上活动链接", True) for u in supplement.online_urls
        ],
    }
    cap = await max_media_for(activity.campaign_id, await get_region(activity.region_id))
    if len(supplement.photos) + len(supplement.video_urls) > cap:
        errors.add(ActivityErrorCode.TOO_MANY_MEDIA, f"图片和视频合计最多{cap}项", "photos")
    if len(supplement.news_urls) > MAX_LINKS or len(supplement.online_urls) > MAX_LINKS:
        errors.add(ActivityErrorCode.TOO_MANY_ITEMS, f"每类链接最多{MAX_LINKS}个", "newsUrls")
    if not (supplement.photos or any(links.values())):
        errors.add(ActivityErrorCode.REQUIRED, "请至少补充一张图片或一个链接", "photos")
    errors.raise_if_any()
    photos = []
    for upload in supplement.photos:
        image, ext = await normalize_image(await read_upload(upload, "photos"), "photos")
        relative = f"photos/{activity.id}/{uuid.uuid4().hex}.{ext}"
        photos.append(await storage.save(relative, image, storage.public_type(relative) or ""))
    items = [(MediaKind.PHOTO, path) for path in photos] + [
        (kind, url) for kind, urls in links.items() for url in urls if url
    ]
    async with transaction():
        changed = await Activity.filter(id=activity.id, supplemented_at=None).update(
            supplemented_at=now()
        )
        if not changed:
            raise ServiceError.of(
                ActivityErrorCode.ALREADY_SUPPLEMENTED, "补充信息已提交，不能修改"
            )
        await ActivityMedia.bulk_create(
            [
                ActivityMedia(activity_id=activity.id, kind=kind, url=url, position=i)
                for i, (kind, url) in enumerate(items)
            ]
        )
        activity = await Activity.get(id=activity.id)
        await audit.record("activity_supplemented", actor=user, target=activity, items=len(items))
        await emit(_event(EventKind.ACTIVITY_SUPPLEMENTED, activity, user, is_public(activity)))
    return activity


async def summarize_activity(
    user: User, grants: list[Grant], activity_id: int, text: str, participant_count: int
) -> Activity:
    """Submit the summary once, from the activity's start to the deadline."""
    activity = await _own_activity(grants, activity_id)
    if activity.status is not ActivityStatus.APPROVED:
        raise ServiceError.of(ActivityErrorCode.NOT_APPROVED, "活动审核通过后才能提交总结")
    if activity.summarized_at is not None:
        raise ServiceError.of(ActivityErrorCode.ALREADY_SUMMARIZED, "活动总结已提交，不能修改")
    if now() < activity.starts_at:
        raise ServiceError.of(
            ActivityErrorCode.NOT_STARTED,
            f"活动开始（{local_date(activity.starts_at)}）后才能提交总结",
        )
    await _window_check(activity, Phase.SUMMARY, label="活动总结")
    errors = Collector()
    body = check_text(errors, text, "text", "活动总结", max_length=5000, multiline=True)
    if not 0 <= participant_count <= 100_000_000:
        errors.add(ActivityErrorCode.INVALID, "参与人数须为0至1亿之间的整数", "participantCount")
    errors.raise_if_any()
    async with transaction():
        changed = await Activity.filter(id=activity.id, summarized_at=None).update(
            summary_text=body, participant_count=participant_count, summarized_at=now()
        )
        if not changed:
            raise ServiceError.of(ActivityErrorCode.ALREADY_SUMMARIZED, "活动总结已提交，不能修改")
        activity = await Activity.get(id=activity.id)
        await audit.record("activity_summarized", actor=user, target=activity)
        await emit(_event(EventKind.ACTIVITY_SUMMARIZED, activity, user, is_public(activity)))
    return activity


async def delete_activity(user: User, grants: list[Grant], activity_id: int) -> None:
    """Soft delete: the row stays for the record, nobody sees it any more."""
    activity = await _own_activity(grants, activity_id)
    was_public = is_public(activity)
    async with transaction():
        await Activity.filter(id=activity.id).update(deleted_at=now())
        activity.deleted_at = now()
        await audit.record(
            "activity_deleted", actor=user, target=activity, status=activity.status.value
        )
        await emit(_event(EventKind.ACTIVITY_DELETED, activity, user, was_public))


async def review_activity(
    user: User, grants: list[Grant], activity_id: int, decision: ReviewDecision, comment: str | None
) -> Activity:
    """A reviewer (or admin) of the supervising unit approves or rejects a pending activity."""
    activity = await Activity.get_or_none(id=activity_id, deleted_at=None)
    if activity is None or not can_view(grants, activity):
        raise ServiceError.of(ActivityErrorCode.NOT_FOUND, "活动不存在", "id")
    if not reviews_it(grants, activity):
        raise PermissionDenied("只有归口单位的审核人员可以审核此活动")
    if not may_review(user, grants, activity):
        raise PermissionDenied("不能审核本单位或本人填报的活动，请由归口单位的其他审核人员审核")
    if activity.status is not ActivityStatus.PENDING_REVIEW:
        raise ServiceError.of(ActivityErrorCode.NOT_PENDING, "该活动不在待审核状态")
    errors = Collector()
    text = check_text(
        errors, comment, "comment", "审核意见", max_length=1000, required=False, multiline=True
    )
    if decision is ReviewDecision.REJECT and not text:
        errors.add(ActivityErrorCode.COMMENT_REQUIRED, "审核不通过时须填写原因", "comment")
    errors.raise_if_any()
    status = (
        ActivityStatus.APPROVED if decision is ReviewDecision.APPROVE else ActivityStatus.REJECTED
    )
    moment = now()
    async with transaction():
        changed = await Activity.filter(
            id=activity.id, status=ActivityStatus.PENDING_REVIEW
        ).update(status=status, reviewed_at=moment)
        if not changed:
            raise ServiceError.of(ActivityErrorCode.NOT_PENDING, "该活动不在待审核状态")
        await Review.create(
            activity_id=activity.id,
            reviewer=user,
            organization_id=activity.supervisor_id,
            decision=decision,
            comment=text or None,
            reviewed_at=moment,
        )
        activity = await Activity.get(id=activity.id)
        await audit.record(
            "activity_reviewed", actor=user, target=activity, decision=decision.value
        )
        kind = (
            EventKind.ACTIVITY_APPROVED
            if decision is ReviewDecision.APPROVE
            else EventKind.ACTIVITY_REJECTED
        )
        await emit(_event(kind, activity, user, False, comment=text or None))
    return activity


# ---------------------------------------------------------------- lists


@dataclass(frozen=True)
class ActivityFilter:
    """What a list of activities is narrowed by (the API's `ActivityFilter` converts to this)."""

    year: int | None = None
    region_code: str | None = None
    form: ActivityForm | None = None
    joint_action_id: int | None = None
    starts_after: datetime | None = None
    starts_before: datetime | None = None
    search: str | None = None

    def parameters(self) -> dict[str, Any]:
        """As JSON values (a document's parameters, which `from_parameters` reads back)."""
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(self).items()}

    @classmethod
    def from_parameters(cls, values: dict[str, Any]) -> ActivityFilter:
        def moment(key: str) -> datetime | None:
            return datetime.fromisoformat(values[key]) if values.get(key) else None

        return cls(
            year=values.get("year"),
            region_code=values.get("region_code"),
            form=ActivityForm(values["form"]) if values.get("form") else None,
            joint_action_id=values.get("joint_action_id"),
            starts_after=moment("starts_after"),
            starts_before=moment("starts_before"),
            search=values.get("search"),
        )


def public() -> QuerySet[Activity]:
    """What the public sees: approved activities shown on the cloud site, not deleted (one of
    them: `rules.is_public`)."""
    return Activity.filter(status=ActivityStatus.APPROVED, show_on_cloud=True, deleted_at=None)


async def public_activities(flt: ActivityFilter) -> QuerySet[Activity]:
    """Approved activities shown on the cloud site, filtered (indexed columns only)."""
    return await filtered(public(), flt)


async def filtered(query: QuerySet[Activity], flt: ActivityFilter) -> QuerySet[Activity]:
    """`query` narrowed by a filter (a bad region or search is a refusal)."""
    if flt.year is not None:
        campaign = await Campaign.get_or_none(year=flt.year)
        query = query.filter(campaign_id=campaign.id if campaign else 0)
    if flt.region_code:
        region = await get_region(flt.region_code)
        if region is None:
            raise ServiceError.of(
                ActivityErrorCode.INVALID_REGION, "行政区划代码无效", "regionCode"
            )
        query = query.filter(subtree(region))
    if flt.form is not None:
        query = query.filter(form=flt.form)
    if flt.joint_action_id is not None:
        query = query.filter(joint_action_id=flt.joint_action_id)
    if flt.starts_after is not None:
        query = query.filter(starts_at__gte=flt.starts_after)
    if flt.starts_before is not None:
        query = query.filter(starts_at__lt=flt.starts_before)
    text = (flt.search or "").strip()
    if len(text) > 50:
        raise ServiceError.of(ActivityErrorCode.INVALID, "搜索词不能超过50个字符", "search")
    if text:
        query = query.filter(Q(title__icontains=text))
    return query


def my_activities(grants: list[Grant], status: ActivityStatus | None) -> QuerySet[Activity]:
    query = Activity.filter(organization_id__in=member_org_ids(grants) or {0}, deleted_at=None)
    return query.filter(status=status) if status is not None else query


def review_queue(grants: list[Grant], status: ActivityStatus | None) -> QuerySet[Activity]:
    """What the caller's organizations supervise (OTHER activities were given their province's
    association as supervisor when filed)."""
    orgs = member_org_ids(grants, REVIEWING_ROLES) or {0}
    query = Activity.filter(
        Q(supervisor_id__in=orgs) | Q(escalated_to_id__in=orgs), deleted_at=None
    )
    query = query.filter(status=status or ActivityStatus.PENDING_REVIEW)
    # never the activities of the reviewer's own units: others review those
    return query.exclude(submitted_at=None).exclude(organization_id__in=member_org_ids(grants))
