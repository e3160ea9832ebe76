"""The administrator's pages: sites (ethics approvals, activation), users and roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from trialkit.errors import NotFoundError, TrialkitError
from trialkit.service.platform.listing import Listing, page_of
from trialkit.service.platform.pages.deps import (
    DbSession,
    Form,
    Id,
    PagesDep,
    SecurityDep,
    Today,
    Viewer,
    ViewerDep,
)
from trialkit.service.platform.pages.errors import FormRejected
from trialkit.service.platform.pages.labels import ROLE_WORDS
from trialkit.service.platform.pages.rendering import Pages
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.platform.views import SiteView, UserView
from trialkit.service.trials import trials, users

router = APIRouter(prefix="/admin")


def _trial_id(viewer: Viewer) -> int:
    if viewer.trial is None:
        raise NotFoundError("you hold no role in a trial")
    return viewer.trial.id


# --- sites ---------------------------------------------------------------------------------


SITE_FILTERS = ("q", "country", "recruiting")
SITE_SORTS: dict[str, Any] = {
    "code": lambda s: s.code,
    "country": lambda s: (s.country, s.code),
    "activated": lambda s: (s.activated_at is None, s.activated_at or dt.datetime.min, s.code),
}


def _site_kept(site: SiteView, chosen: Listing) -> bool:
    """Whether a site matches the list's search (code, name or city) and filters."""
    text = chosen.filters.get("q", "").casefold()
    recruiting = chosen.filters.get("recruiting")
    return (
        (not text or any(text in v.casefold() for v in (site.code, site.name, site.city)))
        and chosen.filters.get("country", site.country) == site.country
        and (recruiting is None or site.recruiting == (recruiting == "yes"))
    )


def _sites_page(
    session: Session,
    viewer: Viewer,
    pages: Pages,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    done: str | None = None,
    params: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The sites of the trial, searched, filtered, sorted and paged as the address says."""
    every = trials.list_sites(session=session, actor=viewer.principal, trial_id=_trial_id(viewer))
    chosen = Listing.from_params(
        params or {}, sorts=tuple(SITE_SORTS), default_sort="code", filters=SITE_FILTERS
    )
    found = page_of([s for s in every if _site_kept(s, chosen)], chosen, sort_keys=SITE_SORTS)
    return pages.response(
        "admin/sites.html",
        status_code=422 if errors else 200,
        viewer=viewer,
        sites=found.items,
        found=found,
        filters=dict(chosen.filters),
        country_options=[(c, c) for c in sorted({s.country for s in every})],
        recruiting_options=[("yes", pages._("recruiting")), ("no", pages._("not recruiting"))],
        errors=errors or {},
        values=values or {},
        done=done,
    )


@router.get("/sites", response_class=HTMLResponse)
def sites(
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    done: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    params = dict(request.query_params)
    return _sites_page(session, viewer, pages, done=done, params=params)


@router.post("/sites/{site_id}/approvals", response_class=HTMLResponse)
def add_approval(
    site_id: Id, form: Form, viewer: ViewerDep, session: DbSession, pages: PagesDep, today: Today
) -> Response:
    key = f"{site_id}."
    errors: dict[str, str] = {}
    committee = form.get("committee", "").strip()
    version = form.get("protocol_version", "").strip()
    approval_date: dt.date | None = None
    try:
        approval_date = dt.date.fromisoformat(form.get("approval_date", "").strip())
    except ValueError:
        errors[key + "approval_date"] = pages._("Enter the date of approval as YYYY-MM-DD.")
    if not committee:
        errors[key + "committee"] = pages._("Name the ethics committee.")
    if not version:
        errors[key + "protocol_version"] = pages._("Enter the protocol version approved.")
    if not errors and approval_date is not None:
        try:
            trials.record_ethics_approval(
                session=session,
                actor=viewer.principal,
                site_id=site_id,
                committee=committee,
                approval_date=approval_date,
                protocol_version=version,
                today=today,
            )
        except TrialkitError as exc:
            if not exc.location:
                raise
            errors[key + exc.location] = exc.message
        else:
            return RedirectResponse("/admin/sites?done=approval", status_code=303)
    values = {key + name: value for name, value in form.items()}
    raise FormRejected(_sites_page(session, viewer, pages, errors=errors, values=values))


@router.post("/sites/{site_id}/activation", response_class=HTMLResponse)
def activate(site_id: Id, form: Form, viewer: ViewerDep, session: DbSession) -> Response:
    trials.activate_site(
        session=session,
        actor=viewer.principal,
        site_id=site_id,
        reason=form.get("reason", "").strip() or None,
    )
    return RedirectResponse("/admin/sites?done=activation", status_code=303)


# --- users and roles -------------------------------------------------------------------------


USER_FILTERS = ("q", "role", "site", "account")
USER_SORTS: dict[str, Any] = {
    "username": lambda u: u.username.casefold(),
    "name": lambda u: (u.full_name.casefold(), u.username.casefold()),
}


def _user_kept(user: UserView, chosen: Listing, codes: Mapping[int, str]) -> bool:
    """Whether a user matches the list's search (username or name) and filters (a role held,
    at a site, the account's state); revoked roles do not count."""
    text = chosen.filters.get("q", "").casefold()
    role, site = chosen.filters.get("role"), chosen.filters.get("site")
    held = [r for r in user.roles if r.revoked_at is None]
    account = chosen.filters.get("account")
    return (
        (not text or text in user.username.casefold() or text in user.full_name.casefold())
        and (role is None or any(r.role == role for r in held))
        and (site is None or any(codes.get(r.site_id or 0) == site for r in held))
        and (account is None or user.is_active == (account == "active"))
    )


def _users_page(
    session: Session,
    viewer: Viewer,
    pages: Pages,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    done: str | None = None,
    params: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """The users and their roles, searched, filtered, sorted and paged as the address says."""
    listed = users.list_users(session=session, actor=viewer.principal)
    sites = trials.list_sites(session=session, actor=viewer.principal, trial_id=_trial_id(viewer))
    codes = {s.id: s.code for s in sites}
    chosen = Listing.from_params(
        params or {}, sorts=tuple(USER_SORTS), default_sort="username", filters=USER_FILTERS
    )
    found = page_of(
        [u for u in listed if _user_kept(u, chosen, codes)], chosen, sort_keys=USER_SORTS
    )
    return pages.response(
        "admin/users.html",
        status_code=422 if errors else 200,
        viewer=viewer,
        users=found.items,
        found=found,
        filters=dict(chosen.filters),
        site_filter_options=[(s.code, s.code) for s in sites],
        account_options=[("active", pages._("active")), ("deactivated", pages._("deactivated"))],
        sites=sites,
        site_codes={s.id: s.code for s in sites},
        roles=[(r.value, pages._(ROLE_WORDS[r.value])) for r in Role],
        site_options=[(str(s.id), s.code) for s in sites],
        errors=errors or {},
        values=values or {},
        done=done,
    )


@router.get("/users", response_class=HTMLResponse)
def user_list(
    request: Request,
    viewer: ViewerDep,
    session: DbSession,
    pages: PagesDep,
    done: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    params = dict(request.query_params)
    return _users_page(session, viewer, pages, done=done, params=params)


@router.post("/users", response_class=HTMLResponse)
def create_user(
    form: Form,
    viewer: ViewerDep,
    session: DbSession,
    security: SecurityDep,
    pages: PagesDep,
) -> Response:
    errors: dict[str, str] = {}
    username = form.get("username", "").strip()
    full_name = form.get("full_name", "").strip()
    if not username:
        errors["username"] = pages._("Enter a username.")
    if not full_name:
        errors["full_name"] = pages._("Enter the person's full name.")
    if not errors:
        errors = _create(session, security, viewer, username, full_name, form.get("password", ""))
        if not errors:
            # the list opens on her, where her first role is granted
            found = urlencode({"done": "user", "q": username})
            return RedirectResponse(f"/admin/users?{found}", status_code=303)
    values = {k: v for k, v in form.items() if k != "password"}
    raise FormRejected(_users_page(session, viewer, pages, errors=errors, values=values))


def _create(
    session: Session,
    security: Security,
    viewer: Viewer,
    username: str,
    full_name: str,
    password: str,
) -> dict[str, str]:
    try:
        users.create_user(
            session=session,
            security=security,
            actor=viewer.principal,
            username=username,
            full_name=full_name,
            password=password,
        )
    except TrialkitError as exc:
        if not exc.location and "password" not in exc.message:
            raise
        return {exc.location or "password": exc.message}
    return {}


@router.post("/users/{user_id}/roles", response_class=HTMLResponse)
def grant(
    user_id: Id, form: Form, viewer: ViewerDep, session: DbSession, pages: PagesDep
) -> Response:
    key = f"{user_id}."
    errors: dict[str, str] = {}
    try:
        role = Role(form.get("role", ""))
    except ValueError:
        errors[key + "role"] = pages._("Choose a role.")
    site_raw = form.get("site_id", "").strip()
    if not errors:
        try:
            users.grant_role(
                session=session,
                actor=viewer.principal,
                user_id=user_id,
                trial_id=_trial_id(viewer),
                role=role,
                site_id=int(site_raw) if site_raw.isdigit() else None,
                reason=form.get("reason", "").strip() or None,
            )
        except TrialkitError as exc:
            errors[key + (exc.location or "role")] = exc.message
        else:
            return RedirectResponse("/admin/users?done=role", status_code=303)
    values = {key + name: value for name, value in form.items()}
    raise FormRejected(_users_page(session, viewer, pages, errors=errors, values=values))


@router.post("/roles/{assignment_id}/revoke", response_class=HTMLResponse)
def revoke(
    assignment_id: Id, form: Form, viewer: ViewerDep, session: DbSession, pages: PagesDep
) -> Response:
    key = f"revoke{assignment_id}."
    reason = form.get("reason", "").strip()
    if reason:
        users.revoke_role(
            session=session, actor=viewer.principal, assignment_id=assignment_id, reason=reason
        )
        return RedirectResponse("/admin/users?done=revoked", status_code=303)
    errors = {key + "reason": pages._("Say why the role is revoked.")}
    raise FormRejected(_users_page(session, viewer, pages, errors=errors))
