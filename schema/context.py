"""The per-request context: who is asking, from where, and fresh DataLoaders."""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader

from models import Membership, Organization, Region, Session, User
from services.permissions import Grant, grants_of
from services.regions import get_regions
from services.runtime import Runtime


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


@dataclass
class Loaders:
    organization: DataLoader[int, Organization | None] = field(
        default_factory=lambda: DataLoader(load_fn=_organizations)
    )
    memberships_of_user: DataLoader[int, list[Membership]] = field(
        default_factory=lambda: DataLoader(load_fn=_memberships)
    )
    region: DataLoader[str, Region | None] = field(
        default_factory=lambda: DataLoader(load_fn=_regions)
    )


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    runtime: Runtime
    user: User | None = None
    session: Session | None = None
    loaders: Loaders = field(default_factory=Loaders)
    _grants: list[Grant] | None = None

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
            self._grants = await grants_of(self.user)
        return self._grants
