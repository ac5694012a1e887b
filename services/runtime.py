"""What operations need besides the database: settings, the rate limiter, the SMS backend.

Built once per process by the wiring package and handed to operations explicitly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.ratelimit import Limiter
from infra.settings import Settings
from infra.sms import SmsBackend, make_backend
from services.counters import Counters
from services.sessions import SessionCache


@dataclass
class Runtime:
    settings: Settings
    limiter: Limiter
    sms: SmsBackend
    counters: Counters | None = None
    sessions: SessionCache | None = None  # API processes only (see kepuri.app)

    @property
    def live(self) -> Counters:
        if self.counters is None:
            raise RuntimeError("no Redis counters in this process")
        return self.counters

    @classmethod
    def build(
        cls, settings: Settings, limits_uri: str, limits_options: dict[str, Any] | None = None
    ) -> Runtime:
        return cls(
            settings=settings,
            limiter=Limiter(limits_uri, **(limits_options or {})),
            sms=make_backend(
                settings.sms_backend,
                outbox=settings.sms_outbox,
                url=settings.sms_http_url,
                key=settings.sms_http_key,
                timeout=settings.sms_http_timeout,
            ),
        )
