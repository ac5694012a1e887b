"""Demo data for `make run`: accounts, the 2020 and 2023 campaigns of domain.md, a current
campaign open for filing, a few hundred activities in every status, and the end of the 2020
season (recommendations and final commendations) (idempotent)."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from infra import qr, storage
from infra.clock import CHINA, now, today
from infra.passwords import hash_password
from models import (
    Activity,
    ActivityStats,
    Campaign,
    Commendation,
    Comment,
    JointAction,
    Membership,
    Organization,
    PhaseWindow,
    Recommendation,
    Region,
    RegionalSetting,
    Review,
    RouteStop,
    ScienceRoute,
    User,
    Volunteer,
    VolunteerShift,
)
from models.enums import (
    ActivityForm,
    ActivityStatus,
    CommendationKind,
    CommendationStatus,
    MemberRole,
    OrganizationKind,
    Phase,
    ReviewDecision,
    ShiftSource,
    VolunteerStatus,
)
from services.commendations import notice_end, serial_for
from services.organizations import create_national_admin, supervising_association
from services.recommendations import target_key
from services.regions import get_region, seats

DEMO_PASSWORD = "Kepuri2026"  # noqa: S105 (published in the README: demo data only)


@dataclass(frozen=True)
class DemoAccount:
    phone: str
    name: str
    role: str


DEMO_ACCOUNTS = [
    DemoAccount("13800000001", "全国科普日管理员", "national admin (中国科学技术协会 ADMIN)"),
    DemoAccount(
        "13800000002", "四川审核员", "reviewer and ADMIN of 四川省科学技术协会 (recommends)"
    ),
    DemoAccount("13800000003", "成都审核员", "reviewer of 成都市科学技术协会"),
    DemoAccount("13800000004", "锦江填报员", "ADMIN and FILER of 成都市锦江区实验小学"),
    DemoAccount("13800000005", "西宁填报员", "ADMIN of 青海省科技馆"),
    DemoAccount("13800000006", "热心市民", "public user without a unit"),
]


async def _person(phone: str, name: str, password_hash: str) -> User:
    moment = now()
    user, _ = await User.get_or_create(
        phone=phone,
        defaults={
            "name": name,
            "password_hash": password_hash,
            "agreement_accepted_at": moment,
            "password_changed_at": moment,
        },
    )
    return user


async def _unit(name: str, kind: OrganizationKind, region_code: str, contact: User) -> Organization:
    existing = await Organization.filter(name=name, kind=kind).first()
    if existing:
        return existing
    region = await get_region(region_code)
    assert region is not None
    parent = await supervising_association(region)
    return await Organization.create(
        name=name,
        kind=kind,
        parent_id=parent.id if parent else None,
        region_id=region.code,
        province_code=region.province_code,
        prefecture_code=region.prefecture_code,
        contact_name=contact.name,
        contact_phone=contact.phone,
        address=f"{region.name}科普路1号",
        intro="演示单位",
    )


async def _grant(user: User, organization: Organization, role: MemberRole) -> None:
    await Membership.get_or_create(user=user, organization=organization, role=role)


async def seed_demo(progress: Callable[[int, int], None] | None = None) -> list[DemoAccount]:
    """Every demo account, unit, campaign and activity; `progress` hears how many of the steps
    are done, and of how many."""

    def done(step: int) -> None:
        if progress is not None:
            progress(step, 5)

    admin, sichuan, chengdu, filer, xining, public = DEMO_ACCOUNTS
    await create_national_admin(admin.phone, DEMO_PASSWORD, admin.name)
    password_hash = await hash_password(DEMO_PASSWORD)
    sichuan_reviewer = await _person(sichuan.phone, sichuan.name, password_hash)
    sichuan_association = await Organization.get(
        kind=OrganizationKind.PROVINCIAL_ASSOCIATION, region_id="510000"
    )
    await _grant(sichuan_reviewer, sichuan_association, MemberRole.REVIEWER)
    await _grant(sichuan_reviewer, sichuan_association, MemberRole.ADMIN)
    chengdu_reviewer = await _person(chengdu.phone, chengdu.name, password_hash)
    await _grant(
        chengdu_reviewer,
        await Organization.get(kind=OrganizationKind.MUNICIPAL_ASSOCIATION, region_id="510100"),
        MemberRole.REVIEWER,
    )
    school_filer = await _person(filer.phone, filer.name, password_hash)
    school = await _unit("成都市锦江区实验小学", OrganizationKind.SCHOOL, "510104", school_filer)
    await _grant(school_filer, school, MemberRole.ADMIN)
    await _grant(school_filer, school, MemberRole.FILER)
    qinghai_filer = await _person(xining.phone, xining.name, password_hash)
    museum = await _unit("青海省科技馆", OrganizationKind.VENUE, "630104", qinghai_filer)
    await _grant(qinghai_filer, museum, MemberRole.ADMIN)
    visitors = [await _person(public.phone, public.name, password_hash)]
    for phone, name in VISITORS:
        visitors.append(await _person(phone, name, password_hash))
    done(1)
    current = await seed_campaigns()
    done(2)
    await seed_activities(current)
    done(3)
    await seed_school_activities(current, school, visitors)
    await seed_route(current)
    done(4)
    await seed_season_end(school, museum, sichuan_reviewer)
    done(5)
    return DEMO_ACCOUNTS


# ---------------------------------------------------------------- campaigns and activities

NATIONAL_2020_ACTIONS = [
    ("科普阅读", ["中国科普作家协会"]),
    ("校园科普", ["教育部"]),
    ("科研团队", ["中国科学院"]),
    ("农村科普", ["农业农村部"]),
    ("卫生健康", ["国家卫生健康委员会"]),
    ("公共安全", ["应急管理部"]),
    ("节水", ["水利部"]),
    ("企业科普", ["工业和信息化部"]),
    ("学会科普", ["中国科学技术协会"]),
    ("科普阵地", ["中国科学技术协会"]),
]
CHENGDU_2023_ACTIONS = ["百会", "百校", "百企", "百农", "百地", "千村", "千社"]
DEMO_PROVINCES = ["510000", "630000", "110000", "440000", "320000", "130000"]
TITLES = [
    "走进科技馆",
    "人工智能体验日",
    "青少年航天科普讲座",
    "节水知识进社区",
    "防灾减灾演练",
    "农业科技下乡",
    "健康生活科普展",
    "科学实验秀",
    "天文观测夜",
    "科普阅读分享会",
    "机器人编程挑战",
    "食品安全宣传",
    "生物多样性观察",
    "科普大篷车巡展",
    "网络科普直播",
]


def _at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=CHINA)


SEASON = timedelta(days=29)  # a month: the 全国科普月


def current_season(day: date) -> tuple[date, date]:
    """The demo's current season: a month under way on `day` (ten days in), inside `day`'s year
    as a campaign's dates must be."""
    starts = day - timedelta(days=10)
    starts = max(starts, date(day.year, 1, 1))
    starts = min(starts, date(day.year, 12, 31) - SEASON)
    return starts, starts + SEASON


def in_season(campaign: Campaign, moment: datetime, hours: int) -> datetime:
    """`moment`, moved inside the campaign's season so that an activity of `hours` fits in it."""
    first = _at(campaign.starts_on.year, campaign.starts_on.month, campaign.starts_on.day, 9)
    last = _at(campaign.ends_on.year, campaign.ends_on.month, campaign.ends_on.day, 20)
    return min(max(moment, first), last - timedelta(hours=hours))


async def _campaign(year: int, name: str, theme: str, starts: date, ends: date) -> Campaign:
    campaign, _ = await Campaign.get_or_create(
        year=year, defaults={"name": name, "theme": theme, "starts_on": starts, "ends_on": ends}
    )
    return campaign


async def _window(
    campaign: Campaign,
    phase: Phase,
    opens: datetime,
    closes: datetime,
    region_code: str | None = None,
) -> None:
    await PhaseWindow.get_or_create(
        campaign=campaign,
        phase=phase,
        region_code=region_code,
        defaults={"opens_at": opens, "closes_at": closes},
    )


async def _setting(campaign: Campaign, region_code: str, sub_theme: str) -> None:
    await RegionalSetting.get_or_create(
        campaign=campaign, region_code=region_code, defaults={"sub_theme": sub_theme}
    )


async def _actions(
    campaign: Campaign, names: list[tuple[str, list[str]]], region_code: str | None = None
) -> list[JointAction]:
    actions = []
    for position, (name, leads) in enumerate(names):
        action, _ = await JointAction.get_or_create(
            campaign=campaign,
            region_code=region_code,
            name=name,
            defaults={"lead_units": leads, "position": position},
        )
        actions.append(action)
    return actions


async def seed_campaigns() -> Campaign:
    """2020 (national, Sichuan and Qinghai), 2023 (Chengdu) and the current campaign."""
    c2020 = await _campaign(
        2020, "2020年全国科普日", "决胜全面小康，践行科技为民", date(2020, 9, 19), date(2020, 9, 25)
    )
    national = {
        Phase.FILING: (_at(2020, 8, 3), _at(2020, 9, 25, 23, 59)),
        Phase.SUPPLEMENT: (_at(2020, 8, 3), _at(2020, 10, 9, 23, 59)),
        Phase.SUMMARY: (_at(2020, 8, 3), _at(2020, 10, 16, 23, 59)),
        Phase.RECOMMENDATION: (_at(2020, 10, 1), _at(2020, 10, 23, 23, 59)),
    }
    for phase, (opens, closes) in national.items():
        await _window(c2020, phase, opens, closes)
    # Sichuan's earlier deadlines (its summary date, 10-19, lies after the national 10-16 and
    # so cannot be an override: overrides stay inside the national window).
    for phase, closes in (
        (Phase.FILING, _at(2020, 9, 21, 23, 59)),
        (Phase.SUPPLEMENT, _at(2020, 10, 5, 23, 59)),
        (Phase.RECOMMENDATION, _at(2020, 10, 19, 23, 59)),
    ):
        await _window(c2020, phase, national[phase][0], closes, "510000")
    await _setting(c2020, "510000", "践行科技为民，助力全面小康")
    await _setting(c2020, "630000", "科技助力“一优两高”科普服务民生发展")
    await _actions(c2020, NATIONAL_2020_ACTIONS)
    await _actions(c2020, [("金融消费", ["四川省科学技术协会"])], "510000")
    await _actions(
        c2020,
        [("科普大篷车", ["青海省科学技术协会"]), ("网络活动", ["青海省科学技术协会"])],
        "630000",
    )

    c2023 = await _campaign(
        2023,
        "2023年全国科普日",
        "提升全民科学素质，协力建设科技强国",
        date(2023, 9, 16),
        date(2023, 9, 22),
    )
    await _window(c2023, Phase.FILING, _at(2023, 7, 20), _at(2023, 9, 22, 23, 59))
    await _window(c2023, Phase.FILING, _at(2023, 7, 20), _at(2023, 8, 15, 23, 59), "510100")
    await _setting(c2023, "510100", "厚植科技创新沃土，擦亮科幻之都名片")
    await _actions(
        c2023, [(name, ["成都市科学技术协会"]) for name in CHENGDU_2023_ACTIONS], "510100"
    )

    # The current campaign: its season under way today, filing open since before it began, the
    # later deadlines after it ends.
    moment = now().replace(second=0, microsecond=0)
    starts_on, ends_on = current_season(today())
    current = await _campaign(
        starts_on.year,
        f"{starts_on.year}年全国科普月",
        "弘扬科学精神，共建科技强国",
        starts_on,
        ends_on,
    )
    if not await PhaseWindow.filter(campaign=current).exists():
        opens = _at(starts_on.year, starts_on.month, starts_on.day) - timedelta(days=30)
        season_end = _at(ends_on.year, ends_on.month, ends_on.day, 23, 59)
        for phase, closes in (
            (Phase.FILING, season_end),
            (Phase.SUPPLEMENT, season_end + timedelta(days=15)),
            (Phase.SUMMARY, season_end + timedelta(days=25)),
        ):
            await _window(current, phase, opens, closes)
        await _window(
            current,
            Phase.RECOMMENDATION,
            season_end + timedelta(days=5),
            season_end + timedelta(days=35),
        )
        await _window(
            current,
            Phase.PUBLIC_NOTICE,
            season_end + timedelta(days=36),
            season_end + timedelta(days=43),
        )
        # Sichuan closes five days earlier (if that is still ahead: the demo's school files there)
        sichuan = season_end - timedelta(days=5)
        await _window(
            current, Phase.FILING, opens, sichuan if sichuan > moment else season_end, "510000"
        )
    await _actions(current, NATIONAL_2020_ACTIONS)
    await _setting(current, "510000", "科技赋能美好生活")
    return current


async def seed_activities(campaign: Campaign, count: int = 300) -> int:
    """A few hundred activities across provinces in every status (once per campaign)."""
    if await Activity.filter(campaign=campaign, title__startswith="【演示】").exists():
        return 0
    rng = random.Random(campaign.year)  # noqa: S311 (demo data, reproducible)
    moment = now()
    first = campaign.starts_on
    season = _at(first.year, first.month, first.day, 9)  # its first morning
    actions = await JointAction.filter(campaign=campaign, region_code=None)
    kinds = [
        OrganizationKind.SCHOOL,
        OrganizationKind.VENUE,
        OrganizationKind.RESEARCH_INSTITUTE,
        OrganizationKind.ENTERPRISE,
    ]
    # Chengdu's units are reviewed by the Chengdu association (the demo's reviewer)
    chengdu = await Organization.get(
        kind=OrganizationKind.MUNICIPAL_ASSOCIATION, region_id="510100"
    )
    units: list[tuple[Organization, Organization, Region]] = []
    for province_code in DEMO_PROVINCES:
        counties = (
            await Region.filter(province_code=province_code, level="COUNTY")
            .order_by("code")
            .limit(8)
        )
        province = await Organization.get(
            kind=OrganizationKind.PROVINCIAL_ASSOCIATION, region_id=province_code
        )
        for i, county in enumerate(counties[:4]):
            kind = kinds[i % len(kinds)]
            name = f"{county.name}{'第一中学' if kind is OrganizationKind.SCHOOL else '科普基地'}"
            n = len(units)  # each unit its own contact (a schedule lists them row by row)
            contact = User(name=f"{SURNAMES[n % len(SURNAMES)]}老师", phone=f"1380100{n:04d}")
            unit = await _unit(name, kind, county.code, contact)
            reviewer = chengdu if county.prefecture_code == "510100" else province
            units.append((unit, reviewer, county))
    statuses = (
        [ActivityStatus.APPROVED] * 12
        + [ActivityStatus.PENDING_REVIEW] * 3
        + [ActivityStatus.REJECTED] * 2
        + [ActivityStatus.DRAFT] * 3
    )
    rows = []
    for n in range(count):
        unit, province, county = units[n % len(units)]
        status = rng.choice(statuses)
        hours = rng.choice([2, 3, 6])
        starts = in_season(
            campaign,
            season + timedelta(days=rng.randint(0, SEASON.days), hours=rng.randint(0, 9)),
            hours,
        )
        form = rng.choice(list(ActivityForm))
        submitted = status is not ActivityStatus.DRAFT
        started = starts < moment
        rows.append(
            Activity(
                campaign=campaign,
                organization=unit,
                title=f"【演示】{rng.choice(TITLES)}{n + 1:03d}",
                description="面向公众的科普活动，欢迎扫码打卡、点赞和评论。",
                form=form,
                starts_at=starts,
                ends_at=starts + timedelta(hours=hours),
                region_id=county.code,
                province_code=county.province_code,
                prefecture_code=county.prefecture_code,
                address=None if form is ActivityForm.ONLINE else f"{county.name}科普路{n + 1}号",
                **_place_near(county.code, rng, form),
                online_url=None
                if form is ActivityForm.OFFLINE
                else f"https://live.example.cn/{n + 1}",
                supervisor_kind=province.kind,
                supervisor=province,
                host_units=[unit.name],
                organizer_units=[f"{county.name}科学技术协会"],
                joint_action=rng.choice([*actions, None, None]) if actions else None,
                status=status,
                submitted_at=moment - timedelta(days=rng.randint(1, 20)) if submitted else None,
                reviewed_at=moment - timedelta(hours=rng.randint(1, 20))
                if status in (ActivityStatus.APPROVED, ActivityStatus.REJECTED)
                else None,
                qr_token=qr.new_token() if submitted else None,
                supplemented_at=moment - timedelta(hours=2)
                if status is ActivityStatus.APPROVED and rng.random() < 0.4
                else None,
                summary_text="活动顺利开展，公众参与踊跃。"
                if status is ActivityStatus.APPROVED and started and rng.random() < 0.5
                else None,
            )
        )
        if rows[-1].summary_text:
            rows[-1].participant_count = rng.randint(20, 800)
            rows[-1].summarized_at = moment - timedelta(hours=1)
    await Activity.bulk_create(rows, batch_size=200)
    created = await Activity.filter(campaign=campaign, title__startswith="【演示】")
    posters = await demo_posters()
    for i, activity in enumerate(a for a in created if a.status is ActivityStatus.APPROVED):
        activity.poster = posters[i % len(posters)]
        await activity.save(update_fields=["poster"])
    await ActivityStats.bulk_create([_engagement(a, rng) for a in created], batch_size=500)
    reviews = [
        Review(
            activity=a,
            organization_id=a.supervisor_id,
            reviewed_at=a.reviewed_at,
            decision=ReviewDecision.APPROVE
            if a.status is ActivityStatus.APPROVED
            else ReviewDecision.REJECT,
            comment=None if a.status is ActivityStatus.APPROVED else "请补充活动的具体地址和时间",
        )
        for a in created
        if a.reviewed_at is not None
    ]
    await Review.bulk_create(reviews, batch_size=500)
    return len(created)


async def seed_route(campaign: Campaign) -> ScienceRoute | None:
    """Chengdu's science route of the season: three of its public activities with a place."""
    if await ScienceRoute.exists(name=ROUTE_NAME):
        return None
    stops = (
        await Activity.filter(
            campaign=campaign,
            prefecture_code="510100",
            status=ActivityStatus.APPROVED,
            show_on_cloud=True,
            latitude__isnull=False,
        )
        .order_by("starts_at", "id")
        .limit(3)
    )
    if len(stops) < 2:
        return None
    route = await ScienceRoute.create(
        region_id="510100",
        province_code="510000",
        prefecture_code="510100",
        name=ROUTE_NAME,
        description="走进成都的科普场馆和校园，在每一站扫码打卡，完成路线。",
        valid_from=campaign.starts_on,
        valid_until=campaign.ends_on,
    )
    await RouteStop.bulk_create(
        [RouteStop(route=route, activity=a, position=i) for i, a in enumerate(stops, 1)]
    )
    return route


ROUTE_NAME = "【演示】成都科普月打卡路线"


def _place_near(code: str, rng: random.Random, form: ActivityForm) -> dict[str, Any]:
    """A place within a few kilometres of the seat of the activity's county (none online)."""
    seat = dict(seats()).get(code)
    if seat is None or form is ActivityForm.ONLINE:
        return {}
    return {
        "latitude": seat.latitude + rng.uniform(-0.03, 0.03),
        "longitude": seat.longitude + rng.uniform(-0.03, 0.03),
    }


async def _filed(
    campaign: Campaign,
    unit: Organization,
    supervisor: Organization,
    title: str,
    starts: datetime,
    **fields: Any,
) -> Activity:
    """An offline activity of three hours that `unit` files at its own place and address."""
    region = await get_region(unit.region_id)
    assert region is not None
    return await Activity.create(
        campaign=campaign,
        organization=unit,
        title=title,
        form=ActivityForm.OFFLINE,
        starts_at=starts,
        ends_at=starts + timedelta(hours=3),
        region_id=region.code,
        province_code=region.province_code,
        prefecture_code=region.prefecture_code,
        address=unit.address,
        supervisor=supervisor,
        host_units=[unit.name],
        **_place_near(region.code, random.Random(title), ActivityForm.OFFLINE),  # noqa: S311
        **fields,
    )


VISITORS = [("13800000007", "李同学家长"), ("13800000008", "张老师")]
COMMENTS = [
    "孩子第一次自己做实验，回家讲了一晚上，谢谢老师们！",
    "讲解很耐心，希望以后多办这样的活动。",
    "现场秩序很好，扫码打卡也很方便。",
]


async def seed_school_activities(
    campaign: Campaign, school: Organization, visitors: list[User]
) -> int:
    """The school filer's own activities this season: a draft to finish, one in review by the
    Chengdu association (the Chengdu reviewer's to decide), one approved and under way, which
    visitors have commented on."""
    if await Activity.filter(campaign=campaign, organization=school).exists():
        return 0
    chengdu = await Organization.get(
        kind=OrganizationKind.MUNICIPAL_ASSOCIATION, region_id="510100"
    )
    moment = now().replace(minute=0, second=0, microsecond=0)
    posters = await demo_posters()
    made = []
    for title, status, starts in (
        (
            "【演示】锦江实验小学科学节",
            ActivityStatus.DRAFT,
            in_season(campaign, moment + timedelta(days=12), 3),
        ),
        (
            "【演示】锦江实验小学航模展示",
            ActivityStatus.PENDING_REVIEW,
            in_season(campaign, moment + timedelta(days=6), 3),
        ),
        (
            "【演示】锦江实验小学“小小科学家”课堂",
            ActivityStatus.APPROVED,
            moment - timedelta(hours=1),
        ),
    ):
        submitted = status is not ActivityStatus.DRAFT
        made.append(
            await _filed(
                campaign,
                school,
                chengdu,
                title,
                starts,
                description="学生动手做实验，家长一同参与，欢迎扫码打卡。",
                supervisor_kind=chengdu.kind,
                status=status,
                submitted_at=moment - timedelta(days=2) if submitted else None,
                reviewed_at=moment - timedelta(days=1)
                if status is ActivityStatus.APPROVED
                else None,
                qr_token=qr.new_token() if submitted else None,
                poster=posters[0] if status is ActivityStatus.APPROVED else None,
            )
        )
    rng = random.Random(campaign.year)  # noqa: S311 (demo data, reproducible)
    approved = made[-1]
    stats = [_engagement(a, rng) for a in made]
    await Comment.bulk_create(
        [  # counted already: the activity's stats say so
            Comment(activity=approved, user=visitor, body=body, counted=True)
            for visitor, body in zip(visitors, COMMENTS, strict=True)
        ]
    )
    stats[-1].comments = len(COMMENTS)
    await ActivityStats.bulk_create(stats)
    await Review.create(
        activity=approved,
        organization=chengdu,
        reviewed_at=approved.reviewed_at,
        decision=ReviewDecision.APPROVE,
    )
    await seed_volunteers(approved, visitors)
    return len(made)


async def seed_volunteers(activity: Activity, visitors: list[User]) -> None:
    """The school's volunteers at its activity under way: the public user confirmed, served
    its first half hour and checked out; a teacher invited, who has not answered yet."""
    helper, teacher = visitors[0], visitors[-1]
    served = await Volunteer.create(
        activity=activity,
        user=helper,
        phone=helper.phone,
        name=helper.name,
        status=VolunteerStatus.CONFIRMED,
        minutes=30,
    )
    await VolunteerShift.create(
        volunteer=served,
        started_at=activity.starts_at,
        ended_at=activity.starts_at + timedelta(minutes=30),
        source=ShiftSource.PAGE,
    )
    await Volunteer.create(activity=activity, user=teacher, phone=teacher.phone, name=teacher.name)


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林高罗"


def _engagement(activity: Activity, rng: random.Random) -> ActivityStats:
    """Some engagement on the approved activities that have begun, none on the others."""
    if activity.status is not ActivityStatus.APPROVED or activity.starts_at > now():
        return ActivityStats(activity=activity)
    rated = rng.randint(0, 40)
    return ActivityStats(
        activity=activity,
        check_ins=rng.randint(20, 600),
        likes=rng.randint(5, 300),
        comments=0,  # counted from the comments (seed_school_activities writes some)
        favorites=rng.randint(0, 80),
        rating_sum=rated * rng.randint(3, 5),
        rating_count=rated,
    )


POSTER_COLOURS = ["#1761c9", "#0f766e", "#b45309", "#7c3aed", "#be123c", "#15803d"]


async def demo_posters() -> list[str]:
    """A few generated posters (a colour, the day's name, the campaign's words), stored once."""
    from PIL import Image, ImageDraw, ImageFont

    stored = []
    for i, colour in enumerate(POSTER_COLOURS):
        relative = f"posters/demo-{i}.jpg"  # as posters are kept (and /media/ serves)
        if not await storage.exists(relative):
            image = Image.new("RGB", (600, 800), colour)
            draw = ImageDraw.Draw(image)
            try:  # Debian's fonts-wqy-zenhei, which both make commands install
                words = [
                    ("全国科普日", ImageFont.truetype("wqy-zenhei.ttc", 64), 330),
                    ("科技为民 · 创新向未来", ImageFont.truetype("wqy-zenhei.ttc", 36), 430),
                ]
            except OSError:  # the font is missing: the poster stays without words
                words = []
            for text, font, y in words:
                draw.text((300, y), text, fill="white", font=font, anchor="mm")
            out = io.BytesIO()
            image.save(out, "JPEG", quality=85)
            await storage.save(relative, out.getvalue(), "image/jpeg")
        stored.append(relative)
    return stored


# ---------------------------------------------------------------- the end of the 2020 season


async def seed_season_end(school: Organization, museum: Organization, recommender: User) -> int:
    """2020's season as it ended: summarized activities of the demo units, Sichuan's
    recommendations, and three final commendations with their serials (their certificates are
    rendered on request: `requestCertificates(year: 2020)`). Once only."""
    campaign = await Campaign.get(year=2020)
    if await Commendation.exists(campaign=campaign):
        return 0
    sichuan = await Organization.get(
        kind=OrganizationKind.PROVINCIAL_ASSOCIATION, region_id="510000"
    )
    qinghai = await Organization.get(
        kind=OrganizationKind.PROVINCIAL_ASSOCIATION, region_id="630000"
    )
    activities = []
    for unit, supervisor, title, day in (
        (school, sichuan, "【演示】“小小科学家”校园科技节", 20),
        (school, sichuan, "【演示】走进航天：青少年科普讲座", 22),
        (museum, qinghai, "【演示】高原生态科普展", 21),
    ):
        starts = _at(2020, 9, day, 9)
        activities.append(
            await _filed(
                campaign,
                unit,
                supervisor,
                title,
                starts,
                description="2020年全国科普日期间举办的科普活动。",
                supervisor_kind=OrganizationKind.OTHER,
                supervisor_name="其他",
                status=ActivityStatus.APPROVED,
                submitted_at=_at(2020, 9, 1),
                reviewed_at=_at(2020, 9, 2),
                qr_token=qr.new_token(),
                supplemented_at=_at(2020, 9, day + 1),
                summary_text="活动顺利开展，师生和公众参与踊跃。",
                participant_count=300,
                summarized_at=_at(2020, 9, day + 2),
            )
        )
    for made in activities:
        await ActivityStats.create(
            activity=made, check_ins=120, likes=80, rating_sum=45, rating_count=10
        )
    recommended = {}
    for kind, target, activity in (
        (CommendationKind.UNIT, school, None),
        (CommendationKind.ACTIVITY, school, activities[0]),
    ):
        key = target_key(kind, activity.id if activity else target.id)
        recommended[key] = await Recommendation.create(
            campaign=campaign,
            recommender=sichuan,
            recommended_by=recommender,
            target_kind=kind,
            organization=target,
            activity=activity,
            reason="组织发动有力，活动特色鲜明、成效显著。",
            active_target=key,
        )
    notice, final = _at(2020, 11, 2, 10), _at(2020, 11, 6, 10)
    entries: list[tuple[CommendationKind, Organization, Activity | None]] = [
        (CommendationKind.UNIT, school, None),
        (CommendationKind.ACTIVITY, school, activities[0]),
        (CommendationKind.UNIT, museum, None),
    ]
    numbers = {CommendationKind.UNIT: 0, CommendationKind.ACTIVITY: 0}
    for kind, unit, activity in entries:
        key = target_key(kind, activity.id if activity else unit.id)
        numbers[kind] += 1
        await Commendation.create(
            campaign=campaign,
            kind=kind,
            organization=unit,
            activity=activity,
            recommendation=recommended.get(key),
            holder_name=activity.title if activity else unit.name,
            unit_name=unit.name,
            status=CommendationStatus.FINAL,
            active_target=key,
            notice_starts_at=notice,
            notice_ends_at=notice_end(notice, 3, ()),
            finalized_at=final,
            serial=serial_for(2020, kind, numbers[kind]),
        )
    return len(entries)
