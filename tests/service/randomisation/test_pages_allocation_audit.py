"""The allocation audit page: the unblinded roles see every slot with who took it; a blinded
role is refused (403) with the reason and sees no slot."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.factories import seal_trial
from tests.service.page_fixtures import Browser, WebWorld
from trialkit.service.platform.db.database import Database


def test_the_allocation_audit_page_is_for_unblinded_roles_only(
    db: Database, web_world: WebWorld, as_user: Callable[[str], Browser]
) -> None:
    with db.sessions.begin() as session:
        seal_trial(session, web_world.trial)
    page = as_user("unblinded").get("/allocation-audit")
    assert page.status_code == 200
    assert "Allocation audit" in page.text
    assert "Verified: the stored allocation and kit lists" in page.text
    assert "unused" in page.text
    strata = re.findall(r'href="/allocation-audit\?stratum=(\d+)#', page.text)
    assert strata[0] == "1"
    assert 'aria-current="page">' in page.text  # the stratum shown, marked in the strata table
    second = as_user("unblinded").get(f"/allocation-audit?stratum={strata[-1]}")
    assert second.status_code == 200
    assert f'id="stratum-{strata[-1]}"' in second.text
    assert 'href="/allocation-audit"' in page.text  # in the navigation
    for name in ("statistician", "monitor", "admin", "investigator", "pharmacist"):
        refused = as_user(name).get("/allocation-audit")
        assert refused.status_code == 403, name
        assert "may not audit the allocation list" in refused.text
        assert "unused" not in refused.text
        assert 'href="/allocation-audit"' not in refused.text
