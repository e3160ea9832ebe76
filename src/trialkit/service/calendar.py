"""The trial's calendar date ("today") in the service: the caller's, else the real UTC date.

Callers that have the service's calendar date pass it in (the API's and the web pages'
``Today``, the CLI's settings, the demo seeder's simulated day): it is ``Settings.today()``,
pinned by ``TRIALKIT_CALENDAR_DATE`` in demos and tests. Audit timestamps are not calendar
dates: they stay real UTC time (:func:`trialkit.store.base.utcnow`).
"""

from __future__ import annotations

import datetime as dt

__all__ = ["calendar_date"]


def calendar_date(today: dt.date | None) -> dt.date:
    """``today`` when the caller has the service's calendar date, else the real UTC date."""
    return today if today is not None else dt.datetime.now(dt.UTC).date()
