"""Organizations: unit profiles, the supervision tree, members."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tortoise.exceptions import IntegrityError
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from infra.clock import now
from infra.errors import Collector, PermissionDenied, ServiceError
from infra.geo import Point
from infra.passwords import hash_password
from models import Invitation, Membership, Organization, Region, User
from models.enums import (
    InvitationStatus,
    MemberRole,
    NotificationKind,
    OrganizationKind,
    RegionLevel,
)
from services import accounts, audit, notifications
from services.content import PUBLIC, publishes
from services.errors import OrganizationErrorCode
from services.events import transaction
from services.permissions import Grant, can_manage_members, is_national_admin
from services.regions import check_place, check_region, get_region, subtree
from services.runtime import Runtime
from services.validation import (
    check_contact_phone,
    check_mobile,
    check_password,
    check_text,
    normalize_phone,
)

# Kinds a person may give the unit they register themselves. Supervising bodies (ministries,
# societies, associations, the organizer) are created by national staff: a self-made "provincial
# association" would otherwise become reviewer of a province.
SELF_REGISTERED_KINDS = frozenset(
    {
        OrganizationKind.COUNTY_ASSOCIATION,
        OrganizationKind.SCHOOL,
        OrganizationKind.RESEARCH_INSTITUTE,
        OrganizationKind.ENTERPRISE,
        OrganizationKind.VENUE,
        OrganizationKind.MEDIA,
        OrganizationKind.OTHER,
    }
)


@dataclass(frozen=True)
class UnitProfile:
    name: str
    kind: OrganizationKind
    region_code: str
    contact_name: str
    contact_phone: str
    address: str
    intro: str | None = None
    # WGS-84: a venue's default place for its activities; "keep" leaves it as it is
    location: Point | Literal["keep"] | None = "keep"


async def _validate_profile(profile: UnitProfile) -> tuple[dict[str, Any], Region]:
    errors = Collector()
    fields: dict[str, Any] = {
        "name": check_text(errors, profile.name, "name", "单位名称", min_length=2, max_length=100),
        "contact_name": check_text(
            errors, profile.contact_name, "contactName", "填报人姓名", max_length=50
        ),
        "contact_phone": check_contact_phone(errors, profile.contact_phone),
        "address": check_text(errors, profile.address, "address", "单位地址", max_length=200),
        "intro": check_text(
            errors,
            profile.intro,
            "intro",
            "单位简介",
            max_length=2000,
            required=False,
            multiline=True,
        )
        or None,
    }
    region = await check_region(errors, profile.region_code)
    place = profile.location
    if place != "keep":
        check_place(errors, place, region)
        fields.update(
            latitude=place.latitude if place else None,
            longitude=place.longitude if place else None,
        )
    errors.raise_if_any()
    assert region is not None
    return fields, region


async def supervising_association(region: Region) -> Organization | None:
    """The association a unit in `region` belongs under: its prefecture's, else its province's."""
    if region.prefecture_code:
        municipal = await Organization.filter(
            kind=OrganizationKind.MUNICIPAL_ASSOCIATION, region_id=region.prefecture_code
        ).first()
        if municipal:
            return municipal
    return await Organization.filter(
        kind=OrganizationKind.PROVINCIAL_ASSOCIATION, region_id=region.province_code
    ).first()


def _placement(region: Region) -> dict[str, Any]:
    return {
        "region_id": region.code,
        "province_code": region.province_code,
        "prefecture_code": region.prefecture_code,
    }


@publishes(PUBLIC)
async def save_unit_profile(
    user: User,
    grants: list[Grant],
    profile: UnitProfile,
    *,
    organization_id: int | None = None,
    ip: str | None = None,
) -> Organization:
    """Create the caller's unit on first use (the caller becomes its ADMIN) or update it."""
    fields, region = await _validate_profile(profile)
    if organization_id is not None:
        target = await Organization.get_or_none(id=organization_id)
        if target is None:
            raise ServiceError.of(OrganizationErrorCode.NOT_FOUND, "单位不存在", "organizationId")
        if not can_manage_members(grants, target):
            raise PermissionDenied("只有本单位管理员可以修改单位信息")
    else:
        own = {g.organization_id for g in grants if g.role is MemberRole.ADMIN}
        if len(own) > 1:
            raise ServiceError.of(
                OrganizationErrorCode.AMBIGUOUS_UNIT,
                "您管理多个单位，请指定要修改的单位",
                "organizationId",
            )
        target = await Organization.get(id=own.pop()) if own else None

    if target is None:
        return await _create_unit(user, fields, region, profile.kind, ip)
    return await _update_unit(user, grants, target, fields, region, profile.kind, ip)


async def _create_unit(
    user: User, fields: dict[str, Any], region: Region, kind: OrganizationKind, ip: str | None
) -> Organization:
    if kind not in SELF_REGISTERED_KINDS:
        raise ServiceError.of(
            OrganizationErrorCode.KIND_NOT_ALLOWED,
            "归口管理单位由主办单位设立，不能自行注册",
            "kind",
        )
    parent = await supervising_association(region)
    async with in_transaction("default"):
        organization = await Organization.create(
            kind=kind, parent_id=parent.id if parent else None, **fields, **_placement(region)
        )
        await Membership.create(user=user, organization=organization, role=MemberRole.ADMIN)
        await audit.record("unit_created", actor=user, target=organization, ip=ip)
        await audit.record(
            "membership_added",
            actor=user,
            target=organization,
            ip=ip,
            user_id=user.id,
            role=MemberRole.ADMIN.value,
        )
    return organization


async def _update_unit(
    user: User,
    grants: list[Grant],
    organization: Organization,
    fields: dict[str, Any],
    region: Region,
    kind: OrganizationKind,
    ip: str | None,
) -> Organization:
    supervisory = organization.kind not in SELF_REGISTERED_KINDS
    if supervisory and kind is not organization.kind:
        raise ServiceError.of(
            OrganizationErrorCode.KIND_NOT_ALLOWED, "归口管理单位的类别不能修改", "kind"
        )
    if not supervisory and kind not in SELF_REGISTERED_KINDS:
        raise ServiceError.of(
            OrganizationErrorCode.KIND_NOT_ALLOWED,
            "归口管理单位由主办单位设立，不能自行变更为该类别",
            "kind",
        )
    changes = dict(fields, kind=kind)
    if region.code != organization.region_id:
        if supervisory and not is_national_admin(grants):
            raise ServiceError.of(
                OrganizationErrorCode.INVALID_REGION,
                "归口管理单位的所在地区不能自行修改",
                "regionCode",
            )
        changes.update(_placement(region))
        if not supervisory:
            parent = await supervising_association(region)
            changes["parent_id"] = parent.id if parent else None
    changed = sorted(k for k, v in changes.items() if getattr(organization, k) != v)
    async with in_transaction("default"):
        await Organization.filter(id=organization.id).update(**changes)
        await audit.record("unit_updated", actor=user, target=organization, ip=ip, fields=changed)
    return await Organization.get(id=organization.id)


async def search_supervising_units(
    kind: OrganizationKind, search: str | None, region_code: str | None
) -> QuerySet[Organization]:
    query = Organization.filter(kind=kind)
    if region_code:
        region = await get_region(region_code)
        if region is None:
            raise ServiceError.of(
                OrganizationErrorCode.INVALID_REGION, "行政区划代码无效", "regionCode"
            )
        query = query.filter(subtree(region))
    text = (search or "").strip()
    if len(text) > 50:
        raise ServiceError.of(OrganizationErrorCode.INVALID, "搜索词不能超过50个字符", "search")
    if text:
        query = query.filter(name__icontains=text)
    return query


ROLE_LABELS = {
    MemberRole.FILER: "填报员",
    MemberRole.REVIEWER: "审核员",
    MemberRole.ADMIN: "管理员",
}


async def add_member(
    rt: Runtime,
    actor: User,
    grants: list[Grant],
    organization_id: int,
    phone: str,
    role: MemberRole,
    *,
    ip: str | None = None,
) -> Invitation | Membership:
    """Invite a person (by phone) to a role in the unit: they become a member once they accept.
    Adding oneself needs no invitation. Inviting again while one waits returns it."""
    organization = await Organization.get_or_none(id=organization_id)
    if organization is None:
        raise ServiceError.of(OrganizationErrorCode.NOT_FOUND, "单位不存在", "organizationId")
    if not can_manage_members(grants, organization):
        raise PermissionDenied("只有本单位管理员可以添加成员")
    # The answer tells whether a phone is registered: a lookup is counted, as a login is.
    await rt.limiter.consume(rt.settings.rate_limit_member_lookup, "member-lookup", str(actor.id))
    person = await User.get_or_none(phone=normalize_phone(phone))
    if person is None:
        raise ServiceError.of(
            OrganizationErrorCode.USER_NOT_FOUND, "该手机号尚未注册，请对方先注册账号", "phone"
        )
    if await Membership.exists(user_id=person.id, organization_id=organization.id, role=role):
        raise ServiceError.of(OrganizationErrorCode.ALREADY_MEMBER, "该成员已拥有此角色", "role")
    if person.id == actor.id:
        return await _join(person, organization, role, actor=actor, ip=ip)
    waiting = await Invitation.get_or_none(
        organization_id=organization.id,
        user_id=person.id,
        role=role,
        status=InvitationStatus.PENDING,
    )
    if waiting is not None:
        return waiting
    async with transaction():
        invitation = await Invitation.create(
            organization=organization, user=person, role=role, invited_by=actor
        )
        await audit.record(
            "member_invited",
            actor=actor,
            target=organization,
            ip=ip,
            user_id=person.id,
            role=role.value,
        )
        title, body = notifications.render(
            NotificationKind.INVITED,
            inviter=actor.name,
            organization=organization.name,
            role=ROLE_LABELS[role],
        )
        await notifications.notify(
            [person.id], NotificationKind.INVITED, f"invitation:{invitation.id}", title, body
        )
    return invitation


async def _join(
    person: User, organization: Organization, role: MemberRole, *, actor: User, ip: str | None
) -> Membership:
    try:
        async with in_transaction("default"):
            membership = await Membership.create(user=person, organization=organization, role=role)
            await audit.record(
                "membership_added",
                actor=actor,
                target=organization,
                ip=ip,
                user_id=person.id,
                role=role.value,
            )
    except IntegrityError as exc:
        raise ServiceError.of(
            OrganizationErrorCode.ALREADY_MEMBER, "该成员已拥有此角色", "role"
        ) from exc
    return membership


def pending_invitations(user: User) -> QuerySet[Invitation]:
    return Invitation.filter(user_id=user.id, status=InvitationStatus.PENDING).order_by("-id")


async def answer_invitation(
    user: User, invitation_id: int, accept: bool, *, ip: str | None = None
) -> tuple[Invitation, Membership | None]:
    """The invitee accepts (and becomes a member) or declines, once. Anyone else's invitation
    is answered as one that does not exist."""
    invitation = await Invitation.get_or_none(id=invitation_id, user_id=user.id)
    if invitation is None:
        raise ServiceError.of(OrganizationErrorCode.NOT_FOUND, "邀请不存在", "id")
    status = InvitationStatus.ACCEPTED if accept else InvitationStatus.DECLINED
    membership = None
    async with transaction():
        answered = await Invitation.filter(
            id=invitation.id, status=InvitationStatus.PENDING
        ).update(status=status, answered_at=now())
        if not answered:
            raise ServiceError.of(OrganizationErrorCode.NOT_PENDING, "该邀请已处理", "id")
        if accept:
            membership, _ = await Membership.get_or_create(
                user_id=user.id, organization_id=invitation.organization_id, role=invitation.role
            )
        await audit.record(
            "invitation_accepted" if accept else "invitation_declined",
            actor=user,
            target=await Organization.get(id=invitation.organization_id),
            ip=ip,
            role=invitation.role.value,
        )
    invitation.status = status
    return invitation, membership


async def _remove(
    actor: User, organization_id: int, user_id: int, action: str, ip: str | None
) -> None:
    """Remove every role of a person in a unit; never its last admin (another admin must be
    named first). The unit's row is locked, so two admins removing each other cannot both go."""
    async with transaction():
        organization = await Organization.select_for_update().get_or_none(id=organization_id)
        if organization is None:
            raise ServiceError.of(OrganizationErrorCode.NOT_FOUND, "单位不存在", "organizationId")
        removed = await Membership.filter(organization_id=organization_id, user_id=user_id).delete()
        if not removed:
            raise ServiceError.of(OrganizationErrorCode.NOT_A_MEMBER, "不是本单位成员", "userId")
        if not await Membership.exists(organization_id=organization_id, role=MemberRole.ADMIN):
            raise ServiceError.of(
                OrganizationErrorCode.LAST_ADMIN,
                "单位须至少保留一名管理员，请先指定新的管理员",
                "userId",
            )
        await audit.record(action, actor=actor, target=organization, ip=ip, user_id=user_id)


async def leave_organization(user: User, organization_id: int, *, ip: str | None = None) -> None:
    """A member leaves a unit (all their roles there), unless they are its last admin."""
    await _remove(user, organization_id, user.id, "member_left", ip)


async def remove_member(
    actor: User, grants: list[Grant], organization_id: int, user_id: int, *, ip: str | None = None
) -> None:
    """A unit's admin (or a national admin) removes a member, never the last admin."""
    organization = await Organization.get_or_none(id=organization_id)
    if organization is None:
        raise ServiceError.of(OrganizationErrorCode.NOT_FOUND, "单位不存在", "organizationId")
    if not can_manage_members(grants, organization):
        raise PermissionDenied("只有本单位管理员可以移除成员")
    await _remove(actor, organization_id, user_id, "member_removed", ip)


# ---------------------------------------------------------------- reference organizations

NATIONAL_ORGANIZER = "中国科学技术协会"
BEIJING = "110000"
MINISTRIES = [
    "教育部",
    "科学技术部",
    "工业和信息化部",
    "自然资源部",
    "生态环境部",
    "水利部",
    "农业农村部",
    "国家卫生健康委员会",
    "应急管理部",
    "中国科学院",
    "中国工程院",
    "中国气象局",
    "中国地震局",
    "国家林业和草原局",
    "国家航天局",
    "国家疾病预防控制局",
]
NATIONAL_SOCIETIES = [
    "中国数学会",
    "中国物理学会",
    "中国化学会",
    "中国天文学会",
    "中国气象学会",
    "中国地质学会",
    "中国地理学会",
    "中国动物学会",
    "中国植物学会",
    "中国营养学会",
    "中华医学会",
    "中国药学会",
    "中国农学会",
    "中国林学会",
    "中国水利学会",
    "中国电子学会",
    "中国计算机学会",
    "中国自动化学会",
    "中国航空学会",
    "中国宇航学会",
    "中国环境科学学会",
    "中国心理学会",
    "中国机械工程学会",
    "中国汽车工程学会",
    "中国土木工程学会",
    "中国科普作家协会",
    "中国科技新闻学会",
    "中国青少年科技辅导员协会",
    "中国图书馆学会",
    "中国消防协会",
    "中国防痨协会",
    "中国抗癌协会",
]
# Provinces without a science association on the platform's supervision tree.
NO_ASSOCIATION = {"710000", "810000", "820000"}


@publishes(PUBLIC)
async def sync_reference_organizations() -> int:
    """The organizer, ministries, national societies, and one association per province and
    prefecture. Idempotent (matched on kind and name); returns how many were created."""
    existing = {
        (o.kind, o.name): o
        for o in await Organization.filter(kind__not_in=list(SELF_REGISTERED_KINDS))
    }
    created = 0

    async def ensure(
        kind: OrganizationKind, name: str, region: Region, parent: Organization | None
    ) -> Organization:
        nonlocal created
        if (kind, name) in existing:
            return existing[(kind, name)]
        org = await Organization.create(
            kind=kind, name=name, parent_id=parent.id if parent else None, **_placement(region)
        )
        existing[(kind, name)] = org
        created += 1
        return org

    regions = {r.code: r for r in await Region.all()}
    beijing = regions[BEIJING]
    async with in_transaction("default"):
        organizer = await ensure(
            OrganizationKind.NATIONAL_ORGANIZER, NATIONAL_ORGANIZER, beijing, None
        )
        for name in MINISTRIES:
            await ensure(OrganizationKind.MINISTRY, name, beijing, organizer)
        for name in NATIONAL_SOCIETIES:
            await ensure(OrganizationKind.NATIONAL_SOCIETY, name, beijing, organizer)
        provincial: dict[str, Organization] = {}
        for region in regions.values():
            if region.level is RegionLevel.PROVINCE and region.code not in NO_ASSOCIATION:
                provincial[region.code] = await ensure(
                    OrganizationKind.PROVINCIAL_ASSOCIATION,
                    f"{region.name}科学技术协会",
                    region,
                    organizer,
                )
        for region in regions.values():
            if region.level is RegionLevel.PREFECTURE and region.province_code in provincial:
                await ensure(
                    OrganizationKind.MUNICIPAL_ASSOCIATION,
                    f"{region.name}科学技术协会",
                    region,
                    provincial[region.province_code],
                )
    return created


async def national_organizer() -> Organization:
    return await Organization.get(kind=OrganizationKind.NATIONAL_ORGANIZER)


async def create_national_admin(phone: str, password: str, name: str) -> User:
    """Create (or update) a person and make them ADMIN of the national organizer."""
    errors = Collector()
    phone = check_mobile(errors, phone)
    check_password(errors, password)
    name = check_text(errors, name, "name", "姓名", max_length=50)
    errors.raise_if_any()
    organizer = await national_organizer()
    password_hash = await hash_password(password)
    moment = now()
    async with transaction():  # revoke_all forgets the sessions once it commits
        user = await User.get_or_none(phone=phone)
        if user is None:
            user = await User.create(
                phone=phone,
                name=name,
                password_hash=password_hash,
                agreement_accepted_at=moment,
                password_changed_at=moment,
            )
        else:  # a password reset: the sessions opened with the old password end
            await User.filter(id=user.id).update(
                name=name, password_hash=password_hash, password_changed_at=moment
            )
            await accounts.revoke_all(user)
        _, created = await Membership.get_or_create(
            user=user, organization=organizer, role=MemberRole.ADMIN
        )
        if created:
            await audit.record(
                "membership_added",
                actor=None,
                target=organizer,
                user_id=user.id,
                role=MemberRole.ADMIN.value,
                via="create-admin",
            )
    return user
