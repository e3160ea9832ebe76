"""The audit page: newest first, a patient's whole history, filters kept in the address."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.service.page_fixtures import Browser, WebWorld

AsUser = Callable[[str], Browser]
ROW = re.compile(r'<tr><th scope="row">(\d+)</th>.*?</tr>', re.S)


def _seqs(html: str) -> list[int]:
    return [int(n) for n in ROW.findall(html)]


def test_the_trail_opens_newest_first(as_user: AsUser) -> None:
    page = as_user("admin").get("/admin/audit")
    assert page.status_code == 200
    seqs = _seqs(page.text)
    assert seqs
    assert seqs == sorted(seqs, reverse=True)
    assert 'aria-sort="descending"' in page.text
    oldest = as_user("admin").get("/admin/audit", params={"sort": "seq"})
    assert _seqs(oldest.text) == sorted(_seqs(oldest.text))
    assert _seqs(oldest.text)[0] == 1


def test_a_patient_s_history_is_every_event_about_her_records(
    as_user: AsUser, web_world: WebWorld
) -> None:
    page = as_user("admin").get("/admin/audit", params={"patient": "IT01-001", "per_page": "200"})
    assert page.status_code == 200
    rows = ROW.findall(page.text)
    assert rows
    kinds = set(
        re.findall(r"<td>(patient|screening record|eligibility evaluation) \d+</td>", page.text)
    )
    # registration, her screening record and its evaluation: not only the patient row
    assert kinds == {"patient", "screening record", "eligibility evaluation"}
    # the other patient's registration is not in her history
    assert f"<td>patient {web_world.fresh.id}</td>" not in page.text
    assert _seqs(page.text) == sorted(_seqs(page.text), reverse=True)
    nobody = as_user("admin").get("/admin/audit", params={"patient": "XX99-999"})
    assert _seqs(nobody.text) == []
    assert "Nothing found." in nobody.text


def test_filters_stay_in_the_links_of_the_pages(as_user: AsUser) -> None:
    page = as_user("admin").get(
        "/admin/audit",
        params={"patient": "IT01-001", "per_page": "2", "entity": "screening_record"},
    )
    assert page.status_code == 200
    assert len(_seqs(page.text)) == 2
    following = re.search(r'href="/admin/audit\?([^"]+)" rel="next"', page.text)
    assert following is not None
    link = following.group(1).replace("&amp;", "&")
    for kept in ("patient=IT01-001", "entity=screening_record", "page=2"):
        assert kept in link
    second = as_user("admin").get("/admin/audit?" + link)
    assert set(_seqs(second.text)).isdisjoint(_seqs(page.text))
    assert '<option value="screening_record" selected>' in page.text


def test_a_date_range_keeps_to_its_days(as_user: AsUser) -> None:
    none_yet = as_user("admin").get("/admin/audit", params={"date_to": "2000-01-01"})
    assert none_yet.status_code == 200
    assert _seqs(none_yet.text) == []
    wide = as_user("admin").get(
        "/admin/audit", params={"date_from": "2000-01-01", "date_to": "2199-12-31"}
    )
    assert _seqs(wide.text)


def test_only_an_administrator_reads_the_trail(as_user: AsUser) -> None:
    assert as_user("monitor").get("/admin/audit").status_code == 403
