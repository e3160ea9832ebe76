"""What each route requires, decided before its input is: 401, then 403, then 422.

Every route of the API declares what its caller must hold, ``dependencies=[requires(Action.X)]``
(or ``requires()``: only a session), from the policy module's actions; the service functions
check again, finer (the trial, the site), from the same table (:data:`PERMISSIONS`).

Details and reasoning: docs/architecture.md, section `trialkit.service.platform.api.permissions`.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from trialkit.service.platform.api.deps import (
    CurrentPrincipal,
    authenticated_principal,
    bearer_scheme,
    cookie_scheme,
)
from trialkit.service.platform.policy import PERMISSIONS, Action, authorize
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.transaction import transaction

__all__ = ["PermissionFirstRoute", "Requirement", "requires"]

_DECIDED = "requirement_decided"  # a flag on request.state: the requirement was met


class Requirement:
    """A route's requirement as a FastAPI dependency: a session and, if named, the action.

    The action is asked for in any trial (the route's trial and site are the service's to
    check); a caller none of whose roles allows it is refused with
    :class:`~trialkit.errors.PermissionDenied` (403).
    """

    def __init__(self, action: Action | None = None) -> None:
        self.action = action

    def check(self, actor: Principal) -> None:
        """Refuse ``actor`` unless one of their roles allows the action."""
        if self.action is not None:
            authorize(actor, self.action, trial_id=None)

    def __call__(self, request: Request, actor: CurrentPrincipal) -> None:
        self.check(actor)
        setattr(request.state, _DECIDED, True)

    def roles(self) -> frozenset[str]:
        """The roles that meet the requirement (every role when no action is named)."""
        return frozenset(
            role.value
            for role, allowed in PERMISSIONS.items()
            if self.action is None or self.action in allowed
        )

    def __repr__(self) -> str:
        return f"requires({self.action.name if self.action else ''})"


def requires(action: Action | None = None) -> Any:
    """The dependency declaring what a route requires: ``dependencies=[requires(Action.X)]``."""
    return Depends(Requirement(action))


def requirement_of(dependencies: Sequence[Any]) -> Requirement | None:
    """The requirement declared among a route's dependencies, if any."""
    for dependency in dependencies:
        if isinstance(dependency, DependsParam) and isinstance(dependency.dependency, Requirement):
            return dependency.dependency
    return None


Handler = Callable[[Request], Coroutine[Any, Any, Response]]


class PermissionFirstRoute(APIRoute):
    """A route whose requirement is decided before a refusal of its input is sent.

    The requirement is also written into the OpenAPI document (``x-requires``: the action
    and the roles that hold it), with the 401 and 403 answers it gives.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.requirement = requirement_of(kwargs.get("dependencies") or ())
        if self.requirement is not None:
            needed = self.requirement
            kwargs["openapi_extra"] = {
                **(kwargs.get("openapi_extra") or {}),
                "x-requires": {
                    "action": needed.action.value if needed.action else None,
                    "roles": sorted(needed.roles()),
                },
            }
            responses = dict(kwargs.get("responses") or {})
            responses.setdefault(401, {"description": "Not logged in, or the session ended"})
            if needed.action is not None:
                responses.setdefault(
                    403, {"description": f"No role of the caller may {needed.action.value}"}
                )
            kwargs["responses"] = responses
        super().__init__(path, endpoint, **kwargs)

    def get_route_handler(self) -> Handler:
        handler: Handler = super().get_route_handler()
        requirement = self.requirement
        if requirement is None:
            return handler

        async def requirement_first(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError:
                if not getattr(request.state, _DECIDED, False):
                    await _decide(request, requirement)
                raise

        return requirement_first


async def _decide(request: Request, requirement: Requirement) -> None:
    """Authenticate the caller and check the requirement in a transaction of its own.

    Raises :class:`~trialkit.errors.AuthenticationError` or
    :class:`~trialkit.errors.PermissionDenied`; returns when the caller meets it.
    """
    bearer = await bearer_scheme(request)
    cookie = await cookie_scheme(request)

    def decide() -> None:
        with transaction(request.app.state.database) as session:
            actor = authenticated_principal(
                request,
                session,
                request.app.state.security,
                request.state.request_id,
                bearer,
                cookie,
            )
            requirement.check(actor)

    await run_in_threadpool(decide)
