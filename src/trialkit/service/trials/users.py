"""Users and their roles: created, granted and revoked by an administrator, all audited."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trialkit.errors import ConflictError, InputError, NotFoundError
from trialkit.service.platform import audit
from trialkit.service.platform.db.base import utcnow
from trialkit.service.platform.policy import (
    SITE_ROLES,
    TRIAL_WIDE_ROLES,
    UNBLINDED_ROLES,
    Action,
    authorize,
)
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.security import Security, check_password_rules
from trialkit.service.platform.tables.people import Role, RoleAssignment, User
from trialkit.service.platform.views import RoleAssignmentView, UserView
from trialkit.service.trials.tables import Site, Trial

__all__ = [
    "check_email",
    "create_user",
    "get_user",
    "grant_role",
    "list_users",
    "me",
    "revoke_role",
    "set_email",
    "user_id_by_name",
    "user_view",
]

_EMAIL = re.compile(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+")


def check_email(email: str | None) -> str | None:
    """A notification address, trimmed (empty: none), or an error naming what is wrong."""
    if email is None or not email.strip():
        return None
    email = email.strip()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise InputError(
            f"{email[:60]!r} is not an e-mail address (one name@domain, no spaces)",
            location="email",
        )
    return email


def user_view(session: Session, user: User) -> UserView:
    assignments = session.scalars(
        select(RoleAssignment).where(RoleAssignment.user_id == user.id).order_by(RoleAssignment.id)
    ).all()
    return UserView(
        id=user.id,
        username=user.username,
        full_name=user.full_name,
        is_active=user.is_active,
        is_demo=user.is_demo,
        email=user.email,
        locked_until=user.locked_until,
        roles=[_assignment_view(a) for a in assignments],
    )


def _assignment_view(a: RoleAssignment) -> RoleAssignmentView:
    return RoleAssignmentView(
        id=a.id,
        trial_id=a.trial_id,
        role=a.role,
        site_id=a.site_id,
        granted_at=a.granted_at,
        revoked_at=a.revoked_at,
    )


def create_user(
    *,
    session: Session,
    security: Security,
    actor: Principal,
    username: str,
    full_name: str,
    password: str,
    is_demo: bool = False,
    email: str | None = None,
) -> UserView:
    """Create a user account (no roles yet); ``email``: where notifications are e-mailed."""
    grant = authorize(actor, Action.MANAGE_USERS, trial_id=None)
    check_password_rules(password)
    email = check_email(email)
    if session.scalars(select(User.id).where(User.username == username)).first() is not None:
        raise ConflictError(f"a user named {username!r} exists already", location="username")
    now = utcnow()
    user = User(
        username=username,
        full_name=full_name,
        password_hash=security.hash_password(password),
        is_active=True,
        is_demo=is_demo,
        email=email,
        failed_logins=0,
        password_changed_at=now,
        created_at=now,
    )
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent creation of the same name
        raise ConflictError(f"a user named {username!r} exists already") from exc
    audit.record_created(
        session,
        actor=actor,
        grant=grant,
        entity="user",
        entity_id=user.id,
        values={
            "username": username,
            "full_name": full_name,
            "password_hash": audit.REDACTED,
            "is_demo": is_demo,
            **({"email": email} if email else {}),
        },
    )
    return user_view(session, user)


def set_email(*, session: Session, actor: Principal, user_id: int, email: str | None) -> UserView:
    """Set (or with ``None`` remove) the address a user's notifications are e-mailed to.

    An administrator may set anyone's; every user may set their own.
    """
    if actor.user_id is None or actor.user_id != user_id:
        grant = authorize(actor, Action.MANAGE_USERS, trial_id=None)
    else:
        grant = None
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} not found", location="user_id")
    email = check_email(email)
    if email != user.email:
        audit.record(
            session,
            actor=actor,
            grant=grant,
            action="update",
            entity="user",
            entity_id=user.id,
            changes={"email": (user.email, email)},
        )
        user.email = email
        session.flush()
    return user_view(session, user)


def get_user(*, session: Session, actor: Principal, user_id: int) -> UserView:
    authorize(actor, Action.MANAGE_USERS, trial_id=None)
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} not found")
    return user_view(session, user)


def list_users(*, session: Session, actor: Principal) -> list[UserView]:
    authorize(actor, Action.MANAGE_USERS, trial_id=None)
    return [user_view(session, u) for u in session.scalars(select(User).order_by(User.id))]


def grant_role(
    *,
    session: Session,
    actor: Principal,
    user_id: int,
    trial_id: int,
    role: Role,
    site_id: int | None = None,
    reason: str | None = None,
) -> RoleAssignmentView:
    """Give a user a role in a trial (at a site for site roles)."""
    grant = authorize(actor, Action.MANAGE_USERS, trial_id=trial_id)
    user = session.get(User, user_id)
    if user is None:
        raise NotFoundError(f"user {user_id} not found")
    if session.get(Trial, trial_id) is None:
        raise NotFoundError(f"trial {trial_id} not found", location="trial_id")
    if role in SITE_ROLES and site_id is None:
        raise InputError(
            f"a {role.value} is assigned to one site: give site_id", location="site_id"
        )
    if role in TRIAL_WIDE_ROLES and site_id is not None:
        raise InputError(
            f"a {role.value} is assigned trial-wide: leave site_id empty", location="site_id"
        )
    if site_id is not None:
        site = session.get(Site, site_id)
        if site is None or site.trial_id != trial_id:
            raise NotFoundError(f"site {site_id} not found in trial {trial_id}", location="site_id")
    active = session.scalars(
        select(RoleAssignment).where(
            RoleAssignment.user_id == user_id,
            RoleAssignment.trial_id == trial_id,
            RoleAssignment.revoked_at.is_(None),
        )
    ).all()
    if any(a.role == role and a.site_id == site_id for a in active):
        raise ConflictError(f"{user.username} holds this role already")
    held_unblinded = {Role(a.role) in UNBLINDED_ROLES for a in active}
    if held_unblinded and (role in UNBLINDED_ROLES) not in held_unblinded:
        raise ConflictError(
            f"{user.username} would hold blinded and unblinded roles in one trial; "
            "revoke the other roles first or use a separate account"
        )
    assignment = RoleAssignment(
        user_id=user_id,
        trial_id=trial_id,
        role=role.value,
        site_id=site_id,
        granted_at=utcnow(),
        granted_by=actor.user_id,
    )
    session.add(assignment)
    session.flush()
    audit.record(
        session,
        actor=actor,
        grant=grant,
        action="grant",
        entity="role_assignment",
        entity_id=assignment.id,
        changes={
            "user_id": (None, user_id),
            "trial_id": (None, trial_id),
            "role": (None, role.value),
            "site_id": (None, site_id),
        },
        reason=reason,
    )
    return _assignment_view(assignment)


def revoke_role(
    *, session: Session, actor: Principal, assignment_id: int, reason: str
) -> RoleAssignmentView:
    """End a role assignment (kept, with when and by whom it was revoked)."""
    assignment = session.get(RoleAssignment, assignment_id)
    if assignment is None:
        raise NotFoundError(f"role assignment {assignment_id} not found")
    grant = authorize(actor, Action.MANAGE_USERS, trial_id=assignment.trial_id)
    if assignment.revoked_at is not None:
        raise ConflictError(f"role assignment {assignment_id} was revoked already")
    if not reason.strip():
        raise InputError("say why the role is revoked", location="reason")
    assignment.revoked_at, assignment.revoked_by = utcnow(), actor.user_id
    audit.record(
        session,
        actor=actor,
        grant=grant,
        action="revoke",
        entity="role_assignment",
        entity_id=assignment.id,
        changes={"revoked_at": (None, assignment.revoked_at)},
        reason=reason,
    )
    return _assignment_view(assignment)


def me(*, session: Session, actor: Principal) -> UserView:
    """The actor's own account and roles."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise NotFoundError("no user account behind this session")
    return user_view(session, user)


def user_id_by_name(session: Session, username: str) -> int:
    """The id of the user called ``username`` (the command line names users by login)."""
    found = session.scalars(select(User.id).where(User.username == username)).first()
    if found is None:
        raise NotFoundError(f"no user named {username!r}", location="username")
    return int(found)
