"""What every page needs: the transaction, the logged-in viewer, and the form with its CSRF check.

The HTTP dependencies shared with the API (the boundary's checks, the transaction, the
security, the session cookie, the id limits, the clock) are the API's own
(:mod:`trialkit.service.platform.api.deps`), re-exported here; this module adds only what is
page-specific.
The session cookie is the API's (``trialkit_session``): logging in on a page opens
the same kind of session as ``POST /api/auth/session``. Forms carry a token bound
to that session (an HMAC of it), so a request forged from another site fails even
where a browser ignores SameSite.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from trialkit.errors import AuthenticationError, SessionTimeoutError
from trialkit.service.platform import auth, notify
from trialkit.service.platform.api.deps import (
    COOKIE_NAME,
    ClockDep,
    DbSession,
    Id,
    SecurityDep,
    Today,
    checked_input,
    request_clock,
)
from trialkit.service.platform.pages.rendering import Pages
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security
from trialkit.service.platform.views import TrialView
from trialkit.service.trials import trials

__all__ = [
    "COOKIE_NAME",
    "LOGIN_CSRF_COOKIE",
    "DbSession",
    "Form",
    "Id",
    "LoginRequired",
    "PagesDep",
    "RawForm",
    "SecurityDep",
    "Today",
    "Viewer",
    "ViewerDep",
    "checked_input",
    "csrf_token",
    "request_clock",
]

LOGIN_CSRF_COOKIE = "trialkit_login_csrf"


class LoginRequired(Exception):  # noqa: N818 - a signal, not an error: answered with a redirect
    """No valid session: the page answers with a redirect to the login page.

    ``timed_out``: the session ended after the idle timeout; the login page says so.
    ``keeps_record``: the service has just recorded the session's end (an idle timeout or
    its lifetime reached), which is committed although the page is refused.
    """

    def __init__(
        self, next_path: str, *, timed_out: bool = False, keeps_record: bool = False
    ) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.timed_out = timed_out
        self.keeps_record = timed_out or keeps_record


class CsrfRejected(Exception):  # noqa: N818
    """A form without the token of the session it claims to come from."""


def _pages(request: Request) -> Pages:
    pages: Pages = request.app.state.pages
    return pages


PagesDep = Annotated[Pages, Depends(_pages)]


def csrf_token(security: Security, session_token: str) -> str:
    """The form token of a login session: an HMAC of its token, never the token itself."""
    return security.csrf_token(session_token)


@dataclass(frozen=True)
class Viewer:
    """The logged-in user of a page: who, which roles, in which trial, and the form token."""

    principal: Principal
    csrf: str
    trial: TrialView | None
    unread: int = 0
    """How many of the viewer's notifications are unread (the header's inbox count)."""

    @property
    def roles(self) -> frozenset[Role]:
        return self.principal.roles

    def has(self, *roles: Role) -> bool:
        return any(role in self.roles for role in roles)

    def site_ids(self, role: Role) -> list[int]:
        return sorted({g.site_id for g in self.principal.grants if g.role == role and g.site_id})

    def trial_wide(self, role: Role | str) -> bool:
        """Whether the viewer holds ``role`` for every site (a monitor may hold some only)."""
        return any(g.role == role and g.site_id is None for g in self.principal.grants)


def _viewer(request: Request, session: DbSession, security: SecurityDep, clock: ClockDep) -> Viewer:
    token = request.cookies.get(COOKIE_NAME, "")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if not token:
        raise LoginRequired(target)
    try:
        principal = auth.authenticate(
            session=session,
            security=security,
            token=token,
            request_id=getattr(request.state, "request_id", None),
        )
    except AuthenticationError as exc:
        raise LoginRequired(
            target,
            timed_out=isinstance(exc, SessionTimeoutError),
            keeps_record=bool(getattr(exc, "keeps_record", False)),
        ) from exc
    # the service's calendar date (pinned in demos): is enrolment open "today"
    visible = trials.list_trials(session=session, actor=principal, today=clock.today())
    return Viewer(
        principal=principal,
        csrf=csrf_token(security, token),
        trial=visible[0] if visible else None,
        unread=notify.unread_count(session=session, actor=principal),
    )


ViewerDep = Annotated[Viewer, Depends(_viewer)]


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def _checked_form(
    request: Request, form: Annotated[dict[str, str], Depends(_form)], security: SecurityDep
) -> dict[str, str]:
    token = request.cookies.get(COOKIE_NAME, "")
    given = form.get("csrf_token", "")
    if not token or not hmac.compare_digest(given.encode(), csrf_token(security, token).encode()):
        raise CsrfRejected()
    return form


RawForm = Annotated[dict[str, str], Depends(_form)]
"""The posted form, unchecked (the login form, which has no session yet)."""
Form = Annotated[dict[str, str], Depends(_checked_form)]
"""The posted form, after its CSRF token was checked against the session."""


IDLE_ENDED = "idle"
"""``/login?ended=idle``: the login page explains that the session timed out."""


def login_url(next_path: str, *, timed_out: bool = False) -> str:
    url = "/login?next=" + quote(next_path, safe="/")
    return url + f"&ended={IDLE_ENDED}" if timed_out else url
