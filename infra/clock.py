"""The one clock for every "now" decision, so that tests can walk through time without sleeping.

In development `KEPURI_CLOCK_OFFSET` shifts it (the server and the worker read the same setting).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo


class Clock:
    def __init__(self, offset: timedelta = timedelta(0)) -> None:
        self.offset = offset

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def set_offset(self, offset: timedelta) -> None:
        self.offset = offset


clock = Clock()


def now() -> datetime:
    return clock.now()


CHINA = ZoneInfo("Asia/Shanghai")


def local_date(moment: datetime) -> str:
    """A moment as the date people in China read it: 2020-09-25."""
    return moment.astimezone(CHINA).date().isoformat()


def today() -> date:
    return now().astimezone(CHINA).date()
