"""The calendar date of a page request: UTC today, or the date pinned in the settings."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import Depends, Request

from trialkit.config import Settings

__all__ = ["Today"]


def _today(request: Request) -> dt.date:
    settings: Settings = request.app.state.settings
    return settings.today()


Today = Annotated[dt.date, Depends(_today)]
"""The date randomisation, dispensing and the visit schedule use (as the API's ``Today``)."""
