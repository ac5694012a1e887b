"""The one clock for every "now" decision, so that tests can walk through time without sleeping.

In development `KEPURI_CLOCK_OFFSET` shifts it (the server and the worker read the same setting).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def set_offset(self, offset: timedelta) -> None:
        self.offset = offset

    def advance(self, delta: timedelta) -> None:
        self.offset += delta


clock = Clock()


def now() -> datetime:
    return clock.now()
