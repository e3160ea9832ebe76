"""The service's clock: its two readings, and the trial's calendar date ("today").

Details and reasoning: docs/operations.md, section `trialkit.service.platform.calendar`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from trialkit.config import Settings
from trialkit.service.platform.db.base import on_calendar, real_utcnow, utcnow

__all__ = ["Clock", "calendar_date", "on_calendar"]


@dataclass(frozen=True)
class Clock:
    """Record time and real time; ``pinned_date``: the calendar date pinned in the settings."""

    pinned_date: dt.date | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> Clock:
        return cls(pinned_date=settings.calendar_date)

    def real_time(self) -> dt.datetime:
        """The computer's real UTC time (audit trail, sessions, lock-outs)."""
        return real_utcnow()

    def record_time(self) -> dt.datetime:
        """The pinned calendar date at the real time of day, or real time when none is pinned."""
        with self.pinned():
            return utcnow()

    def today(self) -> dt.date:
        """The trial's calendar date: the record time's date."""
        return self.record_time().date()

    @contextmanager
    def pinned(self) -> Iterator[None]:
        """Stamp records made inside the block on the record time (around a request or command)."""
        with on_calendar(self.pinned_date):
            yield


def calendar_date(today: dt.date | None) -> dt.date:
    """``today`` when the caller has the service's calendar date, else the record clock's date
    (the date pinned for this request or command, or the real UTC date)."""
    return today if today is not None else utcnow().date()
