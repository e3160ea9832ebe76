"""Who is acting: the authenticated user, their active role assignments and the request."""

from __future__ import annotations

from dataclasses import dataclass

from trialkit.service.platform.tables.people import Role

__all__ = ["SYSTEM_USERNAME", "Grant", "Principal"]

SYSTEM_USERNAME = "system"


@dataclass(frozen=True)
class Grant:
    """One active role assignment: a role in a trial (``None``: any), at a site (``None``: all)."""

    role: Role
    trial_id: int | None
    site_id: int | None
    assignment_id: int | None = None


@dataclass(frozen=True)
class Principal:
    """The actor of a use case; the audit trail records its user, role, site and request."""

    user_id: int | None
    username: str
    grants: tuple[Grant, ...]
    request_id: str | None = None
    session_id: int | None = None

    @classmethod
    def system(cls, *, request_id: str | None = None) -> Principal:
        """The operator at the command line (direct database access): an administrator."""
        return cls(
            user_id=None,
            username=SYSTEM_USERNAME,
            grants=(Grant(role=Role.ADMINISTRATOR, trial_id=None, site_id=None),),
            request_id=request_id,
        )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(g.role for g in self.grants)
