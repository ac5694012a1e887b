"""SMS backends: `console` writes one JSON line per message (development), `http` posts to a
gateway (production). Both are real: nothing here pretends to have sent what it did not."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Protocol

import httpx
import structlog

log = structlog.get_logger(__name__)


class SmsError(Exception):
    pass


class SmsBackend(Protocol):
    async def send(self, phone: str, text: str, code: str | None = None) -> None: ...


class ConsoleSms:
    """Appends `{"phone","text","code"}` to the outbox file, else logs it."""

    def __init__(self, outbox: str = "") -> None:
        self.outbox = Path(outbox) if outbox else None
        self._lock = asyncio.Lock()

    async def send(self, phone: str, text: str, code: str | None = None) -> None:
        line = json.dumps({"phone": phone, "text": text, "code": code}, ensure_ascii=False)
        if self.outbox is None:
            log.info("sms_console", phone=phone, text=text)
            return
        async with self._lock:
            await asyncio.to_thread(self._append, line)

    def _append(self, line: str) -> None:
        assert self.outbox is not None
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        with self.outbox.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")


class HttpSms:
    """POSTs `{"phone", "text"}` as JSON with `Authorization: Bearer <key>`; any non-2xx fails."""

    def __init__(self, url: str, key: str, timeout: float) -> None:
        self.url = url
        self.key = key
        self.timeout = timeout

    async def send(self, phone: str, text: str, code: str | None = None) -> None:
        try:
            async with httpx.AsyncClient(timeout=self.timeout, follow_redirects=False) as client:
                response = await client.post(
                    self.url,
                    json={"phone": phone, "text": text},
                    headers={"Authorization": f"Bearer {self.key}"},
                )
        except httpx.HTTPError as exc:
            log.warning("sms_gateway_unreachable", error=type(exc).__name__)
            raise SmsError("gateway unreachable") from exc
        if not response.is_success:
            log.warning("sms_gateway_refused", status=response.status_code)
            raise SmsError(f"gateway answered {response.status_code}")


def make_backend(
    kind: str, *, outbox: str = "", url: str = "", key: str = "", timeout: float = 5.0
) -> SmsBackend:
    if kind == "http":
        return HttpSms(url, key, timeout)
    return ConsoleSms(outbox)
