"""The home page: what each of the viewer's roles can do here, and where."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse, RedirectResponse

from trialkit.service.platform.pages.deps import PagesDep, ViewerDep
from trialkit.service.platform.policy import Role, can_see_arm

router = APIRouter()


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/home", status_code=303)


@router.get("/home", response_class=HTMLResponse)
def home(viewer: ViewerDep, pages: PagesDep) -> HTMLResponse:
    roles = sorted(viewer.roles, key=lambda r: list(Role).index(r))
    return pages.response(
        "home.html",
        viewer=viewer,
        roles=[r.value for r in roles],
        unblinded=any(can_see_arm(r) for r in roles),
    )
