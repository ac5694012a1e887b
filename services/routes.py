"""Science routes (科普路线): a city's or a province's association publishes an ordered set of
stops in its region, open for some days: public activities, or venues (units that host often,
visited by checking in at any of their activities); a person who checks in at every stop on
those days (online or on a venue's device) completes the route once, is told so, and counts in
the route's completions.

Completion is judged right after each check-in at a stop has been written: the person's
check-ins at the route's stops on its days are read, and when every stop is there the
completion is inserted (unique per route and person) and counted in the same transaction. Of two
check-ins racing to be the last, the one written later always sees the other, and the unique
key lets only one completion in: a route is completed once, and counted once.

Which activities are stops is kept by each process for a few seconds, so that a check-in at an
activity on no route (nearly all) costs nothing more.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from tortoise.expressions import F
from tortoise.queryset import QuerySet

from infra import sql
from infra.clock import now, today
from infra.errors import Collector, PermissionDenied
from models import (
    Activity,
    CheckIn,
    Organization,
    Region,
    RouteCompletion,
    RouteStop,
    ScienceRoute,
    User,
)
from models.enums import NotificationKind
from services import audit, notifications
from services.errors import ActivityErrorCode
from services.events import transaction
from services.organizations import SELF_REGISTERED_KINDS
from services.permissions import Grant
from services.regions import check_region, contains, get_region, subtree
from services.rules import is_public, manages_region
from services.validation import check_text

MIN_STOPS, MAX_STOPS = 2, 20
MAX_DAYS = 366
STOPS_SECONDS = 5.0
LATE_DAYS = 7


ACTIVITY, VENUE = "activity", "venue"
Stop = tuple[str, int]  # (ACTIVITY, its id) or (VENUE, the unit's id)


@dataclass(frozen=True)
class RouteForm:
    region_code: str
    name: str
    description: str
    stops: Sequence[Stop]
    valid_from: date
    valid_until: date


async def publish(user: User, grants: list[Grant], form: RouteForm) -> ScienceRoute:
    """A route of public activities in the publisher's region (national staff, and the admins
    of the association of exactly that province or city)."""
    errors = Collector()
    region = await check_region(errors, form.region_code)
    if region is not None and not manages_region(grants, region):
        raise PermissionDenied("只有本地区科协的管理员可以发布科普路线")
    name = check_text(errors, form.name, "name", "路线名称", max_length=100)
    description = check_text(
        errors, form.description, "description", "路线介绍", max_length=2000, multiline=True
    )
    wanted = list(form.stops)
    if not MIN_STOPS <= len(wanted) <= MAX_STOPS:
        errors.add(
            ActivityErrorCode.TOO_MANY_ITEMS, f"一条路线须有{MIN_STOPS}至{MAX_STOPS}个站点", "stops"
        )
    elif len(set(wanted)) != len(wanted):
        errors.add(ActivityErrorCode.INVALID, "同一站点不能重复", "stops")
    if not 0 <= (form.valid_until - form.valid_from).days < MAX_DAYS:
        errors.add(
            ActivityErrorCode.INVALID_TIME,
            "路线的结束日期须不早于开始日期、且在一年之内",
            "validUntil",
        )
    errors.raise_if_any()
    assert region is not None
    await _check_stops(errors, region, wanted)
    errors.raise_if_any()
    async with transaction():
        route = await ScienceRoute.create(
            region_id=region.code,
            province_code=region.province_code,
            prefecture_code=region.prefecture_code,
            name=name,
            description=description,
            valid_from=form.valid_from,
            valid_until=form.valid_until,
            published_by=user,
        )
        await RouteStop.bulk_create(
            [
                RouteStop(route=route, position=i, **{f"{kind}_id": pk})
                for i, (kind, pk) in enumerate(wanted, 1)
            ]
        )
        await audit.record(
            "route_published", actor=user, target=route, stops=[f"{k}:{pk}" for k, pk in wanted]
        )
    _stops.clear()
    return route


async def _check_stops(errors: Collector, region: Region, wanted: list[Stop]) -> None:
    """Each stop a public activity, or a unit that files activities (a venue), in the region."""
    activities = {
        a.id: a for a in await Activity.filter(id__in=[pk for k, pk in wanted if k == ACTIVITY])
    }
    venues = {
        o.id: o for o in await Organization.filter(id__in=[pk for k, pk in wanted if k == VENUE])
    }
    for kind, pk in wanted:
        if kind == ACTIVITY:
            activity = activities.get(pk)
            if activity is None or not is_public(activity):
                errors.add(ActivityErrorCode.NOT_APPROVED, "站点须为已公开的活动", "stops")
                return
            place = activity.region_id
        else:
            venue = venues.get(pk)
            if venue is None or venue.kind not in SELF_REGISTERED_KINDS:
                errors.add(ActivityErrorCode.INVALID, "站点须为活动或举办活动的单位", "stops")
                return
            place = venue.region_id
        if not contains(region, place):
            errors.add(ActivityErrorCode.INVALID_REGION, f"站点须在{region.name}范围内", "stops")
            return


async def of_region(code: str) -> QuerySet[ScienceRoute]:
    """The routes of a region's subtree (a province's lists its cities' too)."""
    region = await get_region(code)
    if region is None:
        return ScienceRoute.filter(id=0)
    return ScienceRoute.filter(subtree(region))


async def stops_of(route_ids: Sequence[int]) -> dict[int, list[Stop]]:
    """Each route's stops, in order."""
    stops: dict[int, list[Stop]] = {pk: [] for pk in route_ids}
    for route_id, activity_id, venue_id in (
        await RouteStop.filter(route_id__in=route_ids)
        .order_by("route_id", "position")
        .values_list("route_id", "activity_id", "venue_id")
    ):
        stops[route_id].append((ACTIVITY, activity_id) if activity_id else (VENUE, venue_id))
    return stops


# ---------------------------------------------------------------- completion


@dataclass(frozen=True)
class _Open:
    id: int
    name: str
    valid_from: date
    valid_until: date
    stops: tuple[Stop, ...]


class _Stops:
    """The open routes by each of their stops, read again every few seconds."""

    def __init__(self) -> None:
        self.by_stop: dict[Stop, list[_Open]] = {}
        self.read_at = -STOPS_SECONDS

    def clear(self) -> None:
        self.read_at = -STOPS_SECONDS

    async def get(self) -> dict[Stop, list[_Open]]:
        if time.monotonic() - self.read_at < STOPS_SECONDS:
            return self.by_stop
        self.read_at = time.monotonic()
        # routes ended lately too: a device's scans of their last days may arrive after them
        recent = today() - timedelta(days=LATE_DAYS)
        routes = await ScienceRoute.filter(valid_until__gte=recent).values_list(
            "id", "name", "valid_from", "valid_until"
        )
        stops = await stops_of([r[0] for r in routes])
        by_stop: dict[Stop, list[_Open]] = {}
        for pk, name, first, last in routes:
            route = _Open(pk, name, first, last, tuple(stops[pk]))
            for stop in route.stops:
                by_stop.setdefault(stop, []).append(route)
        self.by_stop = by_stop
        return by_stop


_stops = _Stops()


def forget_all() -> None:
    """Read the routes again at the next check-in (tests empty the tables between them)."""
    _stops.clear()


async def checked_in(visits: Iterable[tuple[int, Activity, date]]) -> int:
    """After check-ins were written ((person, activity, China day) each): complete the routes
    they finish. Returns how many completions were made."""
    by_stop = await _stops.get()
    made = 0
    for user_id, activity, day in visits:
        routes = [
            *by_stop.get((ACTIVITY, activity.id), ()),
            *by_stop.get((VENUE, activity.organization_id), ()),
        ]
        for route in routes:
            if route.valid_from <= day <= route.valid_until:
                made += await _complete(route, user_id)
    return made


async def _complete(route: _Open, user_id: int) -> int:
    days = {"user_id": user_id, "day__gte": route.valid_from, "day__lte": route.valid_until}
    activities = [pk for kind, pk in route.stops if kind == ACTIVITY]
    venues = [pk for kind, pk in route.stops if kind == VENUE]
    visited: set[Stop] = set()
    if activities:
        found = await CheckIn.filter(**days, activity_id__in=activities).values_list(
            "activity_id", flat=True
        )
        visited |= {(ACTIVITY, int(pk)) for pk in found}  # type: ignore[call-overload]
    if venues:
        found = await CheckIn.filter(**days, activity__organization_id__in=venues).values_list(
            "activity__organization_id", flat=True
        )
        visited |= {(VENUE, int(pk)) for pk in found}  # type: ignore[call-overload]
    if len(visited) < len(route.stops):
        return 0
    stamp = RouteCompletion._meta.fields_map["completed_at"].to_db_value
    async with transaction():
        inserted = await sql.insert_new(
            RouteCompletion._meta.db_table,
            ("route_id", "user_id", "completed_at"),
            [(route.id, user_id, stamp(now(), RouteCompletion))],
            returning=("id",),
        )
        if not inserted:  # completed before (or by the check-in racing this one)
            return 0
        await ScienceRoute.filter(id=route.id).update(completions=F("completions") + 1)
        title, body = notifications.render(
            NotificationKind.ROUTE_COMPLETED, name=route.name, stops=len(route.stops)
        )
        await notifications.notify(
            [user_id], NotificationKind.ROUTE_COMPLETED, f"route:{route.id}", title, body
        )
    return 1


async def completed_by(user_id: int) -> list[RouteCompletion]:
    return await RouteCompletion.filter(user_id=user_id).order_by("-id")
