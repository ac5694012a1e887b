"""Signed webhooks for portals: a stored payload per delivery, one attempt row per try, retries on
a schedule for about a day, no retry on 4xx (except 408 and 429), 410 disables the webhook.

Webhooks reach only globally routable addresses (`routable`), unless WEBHOOK_ALLOWED_HOSTS names
the host (and port): a URL whose host resolves to anything else is refused when the webhook is
created (ADDRESS_NOT_ALLOWED) and again at every delivery. The delivery connects to the very
address that was checked (the request goes to that IP, with the host name as Host header and TLS
server name), so a DNS answer that changes between the check and the connection changes nothing.
The client follows no redirects and waits 5 seconds at most.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import httpx

from infra import jobs
from infra.errors import PermissionDenied, ServiceError
from models import ActivityChange, ApiClient, Webhook, WebhookAttempt, WebhookDelivery
from models.enums import ChangeKind
from services.errors import PortalErrorCode
from services.events import later
from services.permissions import Grant, is_national_staff
from services.regions import get_region

# seconds after each failed try: the first within seconds, the last a day after the first
RETRY_SCHEDULE = (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200)
TIMEOUT = 5.0


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


async def create_webhook(
    grants: list[Grant],
    client: ApiClient | None,
    url: str,
    events: list[str],
    region_code: str | None,
    allowed: tuple[str, ...] = (),
) -> tuple[Webhook, str]:
    if client is None and not is_national_staff(grants):
        raise PermissionDenied("仅限省级平台和主办单位工作人员")
    parsed = urlparse((url or "").strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname or len(url) > 500:
        raise ServiceError.of(PortalErrorCode.INVALID_URL, "请填写http或https开头的有效网址", "url")
    target = await resolve(url.strip(), allowed)
    if target.refusal is not None:
        raise ServiceError.of(
            PortalErrorCode.ADDRESS_NOT_ALLOWED,
            f"Webhook只能指向公网地址：{target.refusal}",
            "url",
        )
    known = {k.value for k in ChangeKind}
    if not events or len(events) > 10 or not set(events) <= known:
        raise ServiceError.of(
            PortalErrorCode.INVALID, f"事件须为：{'、'.join(sorted(known))}", "events"
        )
    region = await get_region(region_code) if region_code else None
    if region_code and region is None:
        raise ServiceError.of(PortalErrorCode.INVALID_REGION, "行政区划代码无效", "regionCode")
    if client is not None:
        own = client.region_code
        if region is None:
            region = await get_region(own)
        elif own not in (region.code, region.province_code, region.prefecture_code):
            raise PermissionDenied("只能订阅本平台所属地区的活动")
    secret = secrets.token_hex(32)
    webhook = await Webhook.create(
        url=url.strip(),
        events=sorted(set(events)),
        region_code=region.code if region else None,
        secret=secret,
        api_client=client,
    )
    return webhook, secret


def _covers(region_code: str | None, change: ActivityChange) -> bool:
    if region_code is None:
        return True
    return region_code in (change.region_code, change.province_code, change.prefecture_code)


async def record_deliveries(change: ActivityChange, payload: dict[str, Any]) -> None:
    """Inside the change's transaction: one delivery per matching webhook, queued after it."""
    matching = [
        w
        for w in await Webhook.filter(active=True)
        if change.kind.value in w.events and _covers(w.region_code, change)
    ]
    created = []
    for webhook in matching:
        body = json.dumps({**payload, "delivery": None}, ensure_ascii=False)
        delivery = await WebhookDelivery.create(
            webhook=webhook, change=change, event=change.kind.value, payload=body
        )
        created.append(delivery.id)

    async def queue() -> None:
        for delivery_id in created:
            await jobs.enqueue(
                "deliver_webhook", delivery_id, job_id=f"deliver_webhook:{delivery_id}:0"
            )

    if created:
        await later(queue)


def _allowed(host: str, port: int, allowed: tuple[str, ...]) -> bool:
    return host in allowed or f"{host}:{port}" in allowed


def routable(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A globally routable address, also when an IPv4 one hides inside an IPv6 form (mapped,
    6to4, Teredo, NAT64): no private, loopback, link-local, carrier-grade NAT (100.64/10),
    cloud metadata (169.254.169.254), documentation, multicast or reserved address."""
    if not address.is_global or address.is_multicast:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        embedded = [address.ipv4_mapped, address.sixtofour]
        if address.teredo:
            embedded.extend(address.teredo)
        if address in _NAT64:
            embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        return all(routable(inner) for inner in embedded if inner is not None)
    return True


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class Target:
    """Where a webhook's URL leads: the address to connect to, or why it may not be called."""

    address: str | None = None
    refusal: str | None = None


async def resolve(url: str, allowed: tuple[str, ...]) -> Target:
    parsed = urlparse(url)
    host = parsed.hostname or ""
    try:
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
    except ValueError:
        return Target(refusal="端口无效")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return Target(refusal="无法解析地址")
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not addresses:
        return Target(refusal="无法解析地址")
    if not _allowed(host, port, allowed):
        for address in addresses:
            if not routable(address):
                return Target(refusal=f"拒绝访问内部地址 {address}")
    return Target(address=str(addresses[0]))


def _pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """The URL with its host replaced by the checked address; the Host header and the TLS
    server name that keep the request what it was."""
    parsed = urlparse(url)
    host = parsed.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parsed.port is None else f"{literal}:{parsed.port}"
    host_header = host if parsed.port is None else f"{host}:{parsed.port}"
    return parsed._replace(netloc=netloc).geturl(), {"Host": host_header}, {"sni_hostname": host}


async def deliver(
    delivery_id: int,
    allowed: tuple[str, ...],
    now_seconds: int | None = None,
) -> float | None:
    """One try. Returns the seconds to wait before the next try, or None when done."""
    delivery = await WebhookDelivery.get_or_none(id=delivery_id)
    if delivery is None or delivery.status != "PENDING":
        return None
    webhook = await Webhook.get(id=delivery.webhook_id)
    if not webhook.active:
        await WebhookDelivery.filter(id=delivery.id).update(status="FAILED")
        return None
    attempt = delivery.attempts + 1
    body = json.dumps(
        {**json.loads(delivery.payload), "delivery": str(delivery.id)}, ensure_ascii=False
    ).encode()
    target = await resolve(webhook.url, allowed)
    refusal = target.refusal
    status_code: int | None = None
    error: str | None = refusal
    started = time.perf_counter()
    if target.address is not None:
        url, host, extensions = _pinned(webhook.url, target.address)
        timestamp = now_seconds or int(time.time())
        headers = {
            **host,
            "Content-Type": "application/json",
            "X-Kepuri-Event": delivery.event,
            "X-Kepuri-Delivery": str(delivery.id),
            "X-Kepuri-Signature": sign(webhook.secret, timestamp, body),
        }
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
                response = await client.post(
                    url, content=body, headers=headers, extensions=extensions
                )
            status_code = response.status_code
        except httpx.HTTPError as exc:
            error = type(exc).__name__
    await WebhookAttempt.create(
        delivery_id=delivery.id,
        status_code=status_code,
        error=error,
        duration_ms=int((time.perf_counter() - started) * 1000),
    )
    if status_code is not None and 200 <= status_code < 300:
        outcome, wait = "SUCCEEDED", None
    elif status_code == 410:
        await Webhook.filter(id=webhook.id).update(active=False, disabled_reason="接收方返回410")
        outcome, wait = "FAILED", None
    elif (
        refusal is not None
        or (status_code is not None and 400 <= status_code < 500 and status_code not in (408, 429))
        or attempt > len(RETRY_SCHEDULE)
    ):
        outcome, wait = "FAILED", None
    else:
        outcome, wait = "PENDING", float(RETRY_SCHEDULE[attempt - 1])
    await WebhookDelivery.filter(id=delivery.id).update(
        status=outcome, attempts=attempt, last_status_code=status_code
    )
    return wait


async def redeliver(grants: list[Grant], client: ApiClient | None, delivery_id: int) -> None:
    delivery = await WebhookDelivery.get_or_none(id=delivery_id)
    if delivery is None:
        raise ServiceError.of(PortalErrorCode.NOT_FOUND, "投递记录不存在", "deliveryId")
    webhook = await Webhook.get(id=delivery.webhook_id)
    if not is_national_staff(grants) and (client is None or webhook.api_client_id != client.id):
        raise PermissionDenied("只能重新投递本平台的记录")
    await WebhookDelivery.filter(id=delivery.id).update(status="PENDING")
    await jobs.enqueue(
        "deliver_webhook", delivery.id, job_id=f"deliver_webhook:{delivery.id}:{delivery.attempts}"
    )


async def owned_webhook(grants: list[Grant], client: ApiClient | None, webhook_id: int) -> Webhook:
    webhook = await Webhook.get_or_none(id=webhook_id)
    if webhook is None:
        raise ServiceError.of(PortalErrorCode.NOT_FOUND, "Webhook不存在", "webhookId")
    if not is_national_staff(grants) and (client is None or webhook.api_client_id != client.id):
        raise PermissionDenied("只能查看本平台的Webhook")
    return webhook
