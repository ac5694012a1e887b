"""The per-request context: who is asking, from where, and fresh DataLoaders."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, overload

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from infra.hub import Hub
from models import (
    Activity,
    ActivityMedia,
    ApiClient,
    Campaign,
    CheckIn,
    CheckInDevice,
    Favorite,
    JointAction,
    Like,
    Membership,
    Organization,
    Rating,
    Region,
    Review,
    Session,
    User,
    Volunteer,
    VolunteerCorrection,
    VolunteerShift,
)
from models.enums import Phase
from schema.persisted import Persisted
from services import campaigns as campaign_rules
from services import volunteers
from services.counters import Counters
from services.permissions import Grant, grants_of
from services.portals import RecentChanges
from services.regions import get_region, get_regions
from services.runtime import Runtime

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
R = TypeVar("R")


NOT_HELD: Any = object()


class made_once(Generic[R]):
    """functools.cached_property without the lock Python 3.11 takes on each first use (a
    request's loaders are made and used by one thread): the value made on first use stays in
    the instance's attributes, where every later use finds it without this descriptor."""

    def __init__(self, make: Callable[[Any], R]) -> None:
        self.make = make
        self.name = make.__name__
        self.__doc__ = make.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> made_once[R]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> R: ...

    def __get__(self, instance: object | None, owner: type | None = None) -> R | made_once[R]:
        if instance is None:
            return self
        value: R = self.make(instance)
        instance.__dict__[self.name] = value
        return value


def held(loader: DataLoader[K, V], key: K) -> V:
    """What `loader` holds for `key` already (loaded earlier in the request, or primed with the
    rows it came with), else NOT_HELD."""
    future = loader.cache_map.get(key)
    if future is None or not future.done() or future.cancelled() or future.exception():
        return NOT_HELD
    return future.result()


def known(loader: DataLoader[K, Any], key: K) -> Any:
    """What `loader` holds for `key`, at once, else the future of its next batch. A field that
    returns this answers without a turn of the event loop when its value is at hand: on a page
    of a hundred items, that is hundreds of awaitables less."""
    value = held(loader, key)
    return loader.load(key) if value is NOT_HELD else value


def then(value: Any, apply: Callable[[Any], Any]) -> Any:
    """`apply(value)`, now when the value is known, else once it is."""
    if not isinstance(value, asyncio.Future):
        return apply(value)

    async def later() -> Any:
        return apply(await value)

    return later()


async def _organizations(ids: list[int]) -> list[Organization | None]:
    rows = {o.id: o for o in await Organization.filter(id__in=set(ids))}
    return [rows.get(i) for i in ids]


async def _memberships(user_ids: list[int]) -> list[list[Membership]]:
    grouped: dict[int, list[Membership]] = {i: [] for i in user_ids}
    for m in await Membership.filter(user_id__in=set(user_ids)).order_by("id"):
        grouped[m.user_id].append(m)
    return [grouped[i] for i in user_ids]


async def _regions(codes: list[str]) -> list[Region | None]:
    return await get_regions(codes)


def _by_id(model: type[Any], key: str = "pk") -> Callable[[list[Any]], Awaitable[list[Any]]]:
    """One row of `model` per value of a unique `key` (the primary key by default)."""

    async def load(ids: list[Any]) -> list[Any]:
        rows = {getattr(r, key): r for r in await model.filter(**{f"{key}__in": set(ids)})}
        return [rows.get(i) for i in ids]

    return load


def _children(
    model: type[Any], key: str, order: str
) -> Callable[[list[int]], Awaitable[list[Any]]]:
    async def load(ids: list[int]) -> list[list[Any]]:
        grouped: dict[int, list[Any]] = {i: [] for i in ids}
        for row in await model.filter(**{f"{key}__in": set(ids)}).order_by(order):
            grouped[getattr(row, key)].append(row)
        return [grouped[i] for i in ids]

    return load


def _viewer_marks(
    model: type[Any], user_id: int | None
) -> Callable[[list[int]], Awaitable[list[Any]]]:
    """Per activity, the caller's latest row of `model` (like, favourite, check-in, rating)."""

    async def load(activity_ids: list[int]) -> list[Any]:
        if user_id is None:
            return [None for _ in activity_ids]
        rows = {
            r.activity_id: r  # ordered by id: the latest row of each activity wins
            for r in await model.filter(
                user_id=user_id, activity_id__in=set(activity_ids)
            ).order_by("id")
        }
        return [rows.get(i) for i in activity_ids]

    return load


def _per_campaign(
    rule: Callable[[int, Region | None], Awaitable[Any]],
) -> Callable[[list[tuple[int, str | None]]], Awaitable[list[Any]]]:
    """A campaign rule for a region (its sub-theme, windows, joint actions), once per distinct
    campaign and region of a request: every activity of a page names the same few."""

    async def load(keys: list[tuple[int, str | None]]) -> list[Any]:
        return [await rule(campaign_id, await get_region(code)) for campaign_id, code in keys]

    return load


class Loaders:
    """The request's DataLoaders, each made when the request first uses it (an activity's page
    uses a handful of the seventeen: making them all was a tenth of its cost)."""

    def __init__(
        self,
        user_id: int | None = None,
        phone: str | None = None,
        counters: Counters | None = None,
    ) -> None:
        self.user_id = user_id
        self.phone = phone
        self.counters = counters

    @made_once
    def _loop(self) -> asyncio.AbstractEventLoop:
        # asked once: asyncio asks the process's id on every call, a system call each time
        return asyncio.get_running_loop()

    def _loader(self, load_fn: Callable[[list[K]], Awaitable[list[V]]]) -> DataLoader[K, V]:
        return DataLoader(load_fn=load_fn, loop=self._loop)

    @made_once
    def organization(self) -> DataLoader[int, Organization | None]:
        return self._loader(_organizations)

    @made_once
    def memberships_of_user(self) -> DataLoader[int, list[Membership]]:
        return self._loader(_memberships)

    @made_once
    def region(self) -> DataLoader[str, Region | None]:
        return self._loader(_regions)

    @made_once
    def campaign(self) -> DataLoader[int, Campaign | None]:
        return self._loader(_by_id(Campaign))

    @made_once
    def joint_action(self) -> DataLoader[int, JointAction | None]:
        return self._loader(_by_id(JointAction))

    @made_once
    def user(self) -> DataLoader[int, User | None]:
        return self._loader(_by_id(User))

    @made_once
    def activity(self) -> DataLoader[int, Activity | None]:
        return self._loader(_by_id(Activity))

    @made_once
    def reviews_of_activity(self) -> DataLoader[int, list[Review]]:
        return self._loader(_children(Review, "activity_id", "id"))

    @made_once
    def sub_theme(self) -> DataLoader[tuple[int, str | None], str | None]:
        return self._loader(_per_campaign(campaign_rules.sub_theme_for))

    @made_once
    def windows(self) -> DataLoader[tuple[int, str | None], dict[Phase, campaign_rules.Window]]:
        return self._loader(_per_campaign(campaign_rules.windows_for))

    @made_once
    def joint_actions(self) -> DataLoader[tuple[int, str | None], list[JointAction]]:
        return self._loader(_per_campaign(campaign_rules.joint_actions_for))

    @made_once
    def media_of_activity(self) -> DataLoader[int, list[ActivityMedia]]:
        return self._loader(_children(ActivityMedia, "activity_id", "position"))

    @made_once
    def engagement(self) -> DataLoader[int, dict[str, int]]:
        counters = self.counters  # not `self`: a loader that holds its holder is a cycle, and
        # every request's loaders and their futures then waited for the cyclic collector

        async def engagement(ids: list[int]) -> list[dict[str, int]]:
            found = await _engagement_of(counters, ids)
            return [found[i] for i in ids]

        return self._loader(engagement)

    @made_once
    def my_like(self) -> DataLoader[int, Like | None]:
        return self._loader(_viewer_marks(Like, self.user_id))

    @made_once
    def my_favorite(self) -> DataLoader[int, Favorite | None]:
        return self._loader(_viewer_marks(Favorite, self.user_id))

    @made_once
    def my_check_in(self) -> DataLoader[int, CheckIn | None]:
        return self._loader(_viewer_marks(CheckIn, self.user_id))

    @made_once
    def my_rating(self) -> DataLoader[int, Rating | None]:
        return self._loader(_viewer_marks(Rating, self.user_id))

    @made_once
    def shifts_of_volunteer(self) -> DataLoader[int, list[VolunteerShift]]:
        return self._loader(_children(VolunteerShift, "volunteer_id", "started_at"))

    @made_once
    def corrections_of_volunteer(self) -> DataLoader[int, list[VolunteerCorrection]]:
        return self._loader(_children(VolunteerCorrection, "volunteer_id", "id"))

    @made_once
    def my_volunteering(self) -> DataLoader[int, Volunteer | None]:
        """Per activity, the caller's registration as a volunteer there."""
        user_id, phone = self.user_id, self.phone

        async def load(activity_ids: list[int]) -> list[Volunteer | None]:
            if user_id is None or phone is None:
                return [None for _ in activity_ids]
            rows = {
                r.activity_id: r
                for r in await Volunteer.filter(
                    volunteers.of_account(user_id, phone), activity_id__in=set(activity_ids)
                )
            }
            return [rows.get(i) for i in activity_ids]

        return self._loader(load)

    async def read_engagement(self, activity_ids: list[int]) -> dict[int, dict[str, int]]:
        """The live counts of activities (one Redis read)."""
        return await _engagement_of(self.counters, activity_ids)


async def _engagement_of(
    counters: Counters | None, activity_ids: list[int]
) -> dict[int, dict[str, int]]:
    if counters is None:
        raise RuntimeError("no Redis counters in this process")
    return await counters.read(activity_ids)


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    runtime: Runtime
    hub: Hub  # this process's fan-out of Redis pub/sub (documents, notifications)
    recent_changes: RecentChanges  # the portal feed's newest changes, read once per process
    persisted: Persisted  # the documents clients may send by id
    user: User | None = None
    session: Session | None = None
    _grants: list[Grant] | None = None
    _grants_read: asyncio.Lock = field(default_factory=asyncio.Lock)
    _loaders: Loaders | None = None
    connection_params: dict[str, Any] | None = None
    api_client: ApiClient | None = None
    device: CheckInDevice | None = None  # a venue's check-in device (its token)
    primary_reads: bool = False  # the person wrote a moment ago: read it back from the primary
    # per subscription of a connection, the key its events' shared answers go under
    share_keys: dict[int, Any] = field(default_factory=dict)

    @property
    def loaders(self) -> Loaders:
        """The request's DataLoaders, made on first use (most operations need none)."""
        if self._loaders is None:
            self._loaders = Loaders(
                user_id=self.user.id if self.user else None,
                phone=self.user.phone if self.user else None,
                counters=self.runtime.counters,
            )
        return self._loaders

    def refresh_loaders(self) -> None:
        """Forget what was loaded for an earlier caller (a websocket authenticates after the
        context is made)."""
        self._grants = None
        self._loaders = None
        self.share_keys.clear()

    @property
    def public_base_url(self) -> str:
        return self.runtime.settings.public_base_url

    @property
    def client_ip(self) -> str | None:
        client = self.request.client
        return client.host if client else None

    @property
    def user_agent(self) -> str | None:
        return self.request.headers.get("user-agent")

    async def grants(self) -> list[Grant]:
        """The caller's memberships, loaded once per request."""
        if self._grants is None:
            async with self._grants_read:  # one query, also when many fields ask at once
                if self._grants is None:
                    self._grants = await grants_of(self.user)
        return self._grants
