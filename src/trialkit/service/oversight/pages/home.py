"""The home page: each of the viewer's roles as a work list, every number a link to its list."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from trialkit.service.oversight import worklists
from trialkit.service.platform.pages.deps import DbSession, PagesDep, Today, ViewerDep
from trialkit.service.platform.policy import Role, can_see_arm
from trialkit.service.randomisation.pages.pharmacy import KIT_STATUS, site_supply

router = APIRouter()


@router.get("/home", response_class=HTMLResponse)
def home(viewer: ViewerDep, session: DbSession, pages: PagesDep, today: Today) -> HTMLResponse:
    roles = sorted(viewer.roles, key=lambda r: list(Role).index(r))
    actor = viewer.principal
    trial_id = viewer.trial.id if viewer.trial else None
    sites = {
        "investigator": [
            worklists.investigator_work(session=session, actor=actor, site_id=i, today=today)
            for i in viewer.site_ids(Role.INVESTIGATOR)
        ],
        "pharmacist": [
            site_supply(session, viewer, i, today) for i in viewer.site_ids(Role.PHARMACIST)
        ],
    }
    monitored = (
        worklists.monitor_work(session=session, actor=actor, trial_id=trial_id, today=today)
        if trial_id is not None and viewer.has(Role.MONITOR)
        else []
    )
    return pages.response(
        "home.html",
        viewer=viewer,
        roles=[r.value for r in roles],
        unblinded=any(can_see_arm(r) for r in roles),
        today=today,
        week_end=today + dt.timedelta(days=7),
        work=sites,
        monitored=monitored,
        kit_status=KIT_STATUS,
    )
