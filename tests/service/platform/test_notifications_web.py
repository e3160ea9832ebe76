"""Every user's inbox through the API and the pages: their own notifications only."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from tests.service.api_fixtures import World
from tests.service.page_fixtures import Browser, WebWorld
from trialkit.service.platform import notify
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.policy import Role
from trialkit.service.platform.transaction import transaction

_BADGE = re.compile(r'id="inbox-link">Inbox <span class="badge"[^>]*>(\d+)</span>')


def _tell(db: Database, trial_id: int, to: notify.To, subject: str) -> None:
    with transaction(db) as session:
        notify.notify(
            session,
            trial_id=trial_id,
            kind=notify.Kind.SIGNATURE_NEEDED,
            to=to,
            message=notify.Message(subject, "Two forms await your signature."),
            link="/home",
        )


def test_the_api_inbox_lists_counts_and_marks_read_ones_own_only(
    client: TestClient, world: World, db: Database
) -> None:
    monitor = world.headers(Role.MONITOR, "own")
    other = world.headers(Role.MONITOR, "other")
    before = client.get("/api/notifications", headers=monitor).json()
    _tell(db, world.trial.id, notify.To.user(world.users[(Role.MONITOR, "own")].id), "Sign")
    inbox = client.get("/api/notifications", headers=monitor).json()
    assert inbox["unread"] == before["unread"] + 1
    item = inbox["items"][0]
    assert (item["subject"], item["read_at"], item["link"]) == ("Sign", None, "/home")
    # another user's item is not there for them: 404, and it stays unread
    assert client.post(f"/api/notifications/{item['id']}/read", headers=other).status_code == 404
    read = client.post(f"/api/notifications/{item['id']}/read", headers=monitor)
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    again = client.get("/api/notifications?unread=true", headers=monitor).json()
    assert item["id"] not in [i["id"] for i in again["items"]]
    assert client.post("/api/notifications/read", headers=monitor).json() == {
        "marked": again["unread"]
    }
    assert client.get("/api/notifications", headers=monitor).json()["unread"] == 0


def test_the_inbox_page_shows_the_unread_count_in_the_header_and_marks_read(
    as_user: Callable[[str], Browser], web_world: WebWorld, db: Database
) -> None:
    investigator = web_world.users["investigator"]
    for subject in ("First", "Second"):
        _tell(db, web_world.trial.id, notify.To.user(investigator.id), subject)
    browser = as_user("investigator")
    home = browser.get("/home")
    assert home.status_code == 200
    match = _BADGE.search(home.text)
    assert match is not None
    unread = int(match.group(1))
    assert unread >= 2
    page = browser.get("/inbox")
    assert page.status_code == 200
    assert page.text.index("Second") < page.text.index("First")  # newest first
    item = re.search(
        r'id="item-(\d+)" class="unread">\s*<h2><span class="badge">New</span> Second', page.text
    )
    assert item is not None
    done = browser.post(f"/inbox/{item.group(1)}/read", {})
    assert done.status_code == 303
    assert _BADGE.search(browser.get("/home").text).group(1) == str(unread - 1)  # type: ignore[union-attr]
    # without the form token: refused, nothing marked
    assert browser.client.post("/inbox/read", data={}).status_code in {400, 403}
    assert browser.post("/inbox/read", {}).status_code == 303
    assert _BADGE.search(browser.get("/home").text) is None
    emptied = browser.get("/inbox").text
    assert "0 unread notifications" in emptied
    assert "No unread notifications." in emptied  # read ones leave the default view
    everything = browser.get("/inbox?show=all").text
    assert everything.index("Second") < everything.index("First")
    assert 'class="unread"' not in everything


def test_the_inbox_filters_by_kind_pages_and_refuses_a_bad_filter_in_words(
    as_user: Callable[[str], Browser], web_world: WebWorld, db: Database
) -> None:
    investigator = web_world.users["investigator"]
    for n in range(30):
        _tell(db, web_world.trial.id, notify.To.user(investigator.id), f"Note {n:02d}")
    browser = as_user("investigator")
    first = browser.get("/inbox")
    assert first.status_code == 200
    assert first.text.count('class="unread"') == 25  # a page
    assert "Note 29" in first.text  # newest first
    assert "Note 04" not in first.text
    second = browser.get("/inbox?page=2")
    assert "Note 04" in second.text
    assert "Note 29" not in second.text
    kind = notify.Kind.QUERY_OPENED.value
    narrowed = browser.get(f"/inbox?kind={kind}&show=all")
    assert narrowed.status_code == 200
    assert "Note 29" not in narrowed.text  # _tell's notifications are of another kind
    for bad in ("/inbox?show=some", "/inbox?kind=arm"):
        refused = browser.get(bad)
        assert refused.status_code == 422, bad
        assert "choose" in refused.text
        assert "Traceback" not in refused.text


def test_another_users_item_cannot_be_marked_from_the_pages(
    as_user: Callable[[str], Browser], web_world: WebWorld, db: Database
) -> None:
    _tell(db, web_world.trial.id, notify.To.user(web_world.users["monitor"].id), "Theirs")
    page = as_user("monitor").get("/inbox")
    item = re.search(r'id="item-(\d+)"', page.text)
    assert item is not None
    refused = as_user("statistician").post(f"/inbox/{item.group(1)}/read", {})
    assert refused.status_code == 404
    assert "New</span> Theirs" in as_user("monitor").get("/inbox").text
