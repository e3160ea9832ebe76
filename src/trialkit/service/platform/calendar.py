"""The trial's calendar date ("today") in the service: the caller's, else the record clock's.

Callers that have the service's calendar date pass it in (the API's and the web pages'
``Today``, the CLI's settings, the demo seeder's simulated day): it is ``Settings.today()``,
pinned by ``TRIALKIT_CALENDAR_DATE`` in demos and tests. The shell also pins it for the
records' time stamps (:func:`on_calendar` around each request and command: records are
stamped on that date at the real time of day), so a caller without a date gets the same one
from the record clock (:func:`trialkit.service.platform.db.base.utcnow`); audit timestamps, sessions
and lock-outs stay on the real clock (see :mod:`trialkit.service.platform.db.base`).
"""

from __future__ import annotations

import datetime as dt

from trialkit.service.platform.db.base import on_calendar, utcnow

__all__ = ["calendar_date", "on_calendar"]


def calendar_date(today: dt.date | None) -> dt.date:
    """``today`` when the caller has the service's calendar date, else the record clock's date
    (the date pinned for this request or command, or the real UTC date)."""
    return today if today is not None else utcnow().date()
