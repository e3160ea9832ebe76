"""Every role's pages work against the seeded demo trial (issue 9 section 2, "done when").

The demo users log in (demo mode) and open their pages over a small seeded demo; blinded roles
see no arm on any of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import test_settings
from tests.demo_fixtures import SMALL_DEMO
from tests.service.test_pages import arm_mentions
from trialkit.protocol import load_protocol
from trialkit.service.demo import DEMO_USERS, seed_demo
from trialkit.service.platform import auth
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.pages.deps import COOKIE_NAME
from trialkit.service.platform.security import Security
from trialkit.service.randomisation.tables.randomisation import Randomisation
from trialkit.service.screening.tables import Patient
from trialkit.service.server import create_server

BLINDED = {"investigator", "investigator-de", "pharmacist", "pharmacist-de", "monitor"}
BLINDED |= {"statistician", "admin"}


@pytest.fixture
def demo_web(database_url: str, db: Database) -> Iterator[tuple[TestClient, dict[str, str], int]]:
    """The server in demo mode over a seeded small demo; tokens of every demo user."""
    settings = test_settings(database_url, demo=True)
    security = Security.from_settings(settings)
    with db.sessions.begin() as session:
        outcome = seed_demo(session=session, security=security, options=SMALL_DEMO)
        tokens = {
            u.username: auth.login(
                session=session,
                security=security,
                username=u.username,
                password=u.password,
                kind="cookie",
            ).token
            for u in DEMO_USERS
        }
        patient = session.scalars(
            select(Patient.id)
            .join(Randomisation, Randomisation.patient_id == Patient.id)
            .where(Patient.screening_number.startswith("IT01-"))
            .order_by(Patient.id)
        ).first()
    assert patient is not None, "the small demo randomises at Milano"
    # as serve --demo does: the calendar date is the demo's data cut-off
    app = create_server(
        test_settings(database_url, demo=True, calendar_date=outcome.cutoff), database=db
    )
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as client:
        yield client, tokens, patient


PAGES = {
    "investigator": [
        "/home",
        "/patients",
        "/patients/{p}",
        "/patients/{p}/screening",
        "/patients/{p}/consent",
        "/patients/{p}/forms/tumour_assessment",
        "/patients/{p}/forms/adverse_event",
        "/queries",
        "/safety",
    ],
    "investigator-de": ["/home", "/patients", "/queries"],
    "pharmacist": ["/home", "/pharmacy"],
    "pharmacist-de": ["/home", "/pharmacy"],
    "monitor": [
        "/home",
        "/monitor",
        "/monitor/data",
        "/forecast",
        "/reports",
        "/patients/{p}",
        "/safety",
    ],
    "statistician": ["/home", "/design", "/forecast", "/reports"],
    "unblinded": ["/home", "/reports", "/monitor"],
    "dsmb": ["/home", "/reports"],
    "admin": ["/home", "/admin/sites", "/admin/users", "/admin/audit"],
    "safety": ["/home", "/safety"],  # blinded but for the one SUSAR case it unblinded
}
EVERY_PAGE = sorted({url for pages in PAGES.values() for url in pages})
PROTOCOL_QUOTES = ("/patients/{p}", "/patients/{p}/screening", "/design")
"""Pages that quote the protocol's criteria or design, which name the drugs."""
ARM_LABELS = re.compile(r"sorafenib|placebo|\bArm [AB]\b|arm_?(?:cd|label)?\s*[:=]", re.I)


def test_every_demo_role_opens_its_pages_and_blinded_roles_see_no_arm(
    demo_web: tuple[TestClient, dict[str, str], int],
) -> None:
    client, tokens, patient = demo_web
    title = load_protocol("sor").title
    for user, pages in PAGES.items():
        client.cookies.set(COOKIE_NAME, tokens[user])
        for url in EVERY_PAGE:  # another role's page: refused or absent, never an error
            page = client.get(url.format(p=patient))
            if url not in pages:
                assert page.status_code in {200, 403, 404}, (user, url, page.status_code)
                continue
            assert page.status_code == 200, (user, url, page.text[:300])
            if user in BLINDED:
                if url in PROTOCOL_QUOTES:  # no arm field; the drugs are in the criteria
                    assert arm_mentions(page.text, title, names=False) == [], (user, url)
                else:  # pages that explain "pooled over both arms" name no arm
                    assert ARM_LABELS.findall(page.text.replace(title, "")) == [], (user, url)
    client.cookies.set(COOKIE_NAME, tokens["unblinded"])  # the check above would see arms
    assert ARM_LABELS.findall(client.get("/reports").text.replace(title, ""))
    client.cookies.set(COOKIE_NAME, tokens["investigator"])
    assert "enrolment open" in client.get("/home").text  # on the demo's calendar date
    # the German investigator does not reach a Milano patient
    client.cookies.set(COOKIE_NAME, tokens["investigator-de"])
    assert client.get(f"/patients/{patient}").status_code == 404


# --- clinical wording: the text a person reads ----------------------------------------------

WORDING_PAGES = {
    user: [*pages, *extra]
    for user, pages, extra in (
        (
            u,
            p,
            {
                "investigator": ["/patients?status=on_treatment", "/queries?status=all"],
                "pharmacist": ["/pharmacy/kits", "/pharmacy/kits?status=dispensed"],
                "monitor": ["/queries", "/queries?status=all"],
                "admin": ["/admin/audit?patient=IT01-001"],
            }.get(u, []),
        )
        for u, p in PAGES.items()
    )
}
INTERNAL_NAME = re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b")
"""``dose_mg``, ``not_related``, ``start_date``: a name of the code, never a word for a person."""
DOCUMENTS = ("/design", "/reports")
"""The design claims (their ids and formulas) and the trial report (its tables): statistical
documents checked for codes and "(s)" only; their names in words are left to do."""
RAW_CODES = re.compile(r"\bNON_CR_NON_PD\b|\b(?:True|False|None)\b|\(s\)|\bfield\(s\)")


def _protocol_words() -> list[str]:
    """The form definitions' own labels that look like a raw code ("None (dose not changed)",
    the registry's "area(s)"): the protocol's words for a person, left out of the scan."""
    forms = load_protocol("sor").forms
    assert forms is not None
    labels = {c.label for codes in forms.code_lists for c in codes.codes}
    for form in forms.forms:
        labels |= {w for s in form.sections for w in (s.label, s.help) if w}
        labels |= {w for _path, item in form.walk() for w in (item.label, item.help) if w}
    return sorted((w for w in labels if RAW_CODES.search(w)), key=len, reverse=True)


PROTOCOL_WORDS = _protocol_words()


def visible_text(html: str) -> str:
    """The text of the page's main part as a person reads it (no tags, scripts or raw values).

    The audit trail's old and new values are the record as stored (an inspector's exact view),
    and the screening form's inputs carry their names: left out.
    """
    main = html.split("<main", 1)[-1]
    main = re.sub(r"<script.*?</script>|<style.*?</style>", " ", main, flags=re.S)
    main = re.sub(r'<td class="value">.*?</td>', " ", main, flags=re.S)
    # the protocol's own words, quoted (the registry writes "area(s)")
    main = re.sub(r"<details><summary>Criterion text</summary>.*?</details>", " ", main, flags=re.S)
    text = re.sub(r"<[^>]+>", " ", main)
    text = re.sub(r"\s+", " ", text.replace("&#39;", "'").replace("&amp;", "&"))
    for words in PROTOCOL_WORDS:
        text = text.replace(words, " ")
    return text


def test_no_page_shows_a_person_raw_codes_internal_names_or_plurals_in_brackets(
    demo_web: tuple[TestClient, dict[str, str], int],
) -> None:
    client, tokens, patient = demo_web
    problems: list[str] = []
    for user, pages in WORDING_PAGES.items():
        client.cookies.set(COOKIE_NAME, tokens[user])
        for url in pages:
            page = client.get(url.format(p=patient))
            assert page.status_code == 200, (user, url, page.status_code)
            text = visible_text(page.text)
            names = set() if url in DOCUMENTS else set(INTERNAL_NAME.findall(text))
            found = sorted(names | set(RAW_CODES.findall(text)))
            if found:
                problems.append(f"{user} {url}: {', '.join(found[:12])}")
    assert problems == [], "\n".join(problems)


ENDED = ("after death", "after withdrawal", "after the end of study", "no further cycle is due")
"""The dispensing check's refusals for a patient whose treatment has ended."""


def test_the_pharmacy_lists_as_due_only_patients_still_on_treatment(
    demo_web: tuple[TestClient, dict[str, str], int],
) -> None:
    # a patient who died or ended treatment has no cycle due: she is folded with the others
    client, tokens, _ = demo_web
    client.cookies.set(COOKIE_NAME, tokens["pharmacist"])
    page = client.get("/pharmacy").text
    start = page.index('id="dispense-')
    end = page.index('id="inventory-', start)
    folded = page.find("<details", start, end)
    due_now = page[start : end if folded < 0 else folded]
    assert not [words for words in ENDED if words in due_now]
    ended = [words for words in ENDED if words in page[start:end]]
    assert ended, "the small demo has a patient at Milano whose treatment ended"
    # a restart after the end of treatment is rare and the investigator's decision: its
    # documented override is folded away, the reason no cycle is due a plain line
    restart = page.index("no further cycle is due", start, end)
    row = page[page.rindex("<tr", start, restart) : page.index("</tr>", restart)]
    assert "<summary>Dispense on a restart, with a documented reason</summary>" in row
    assert "notice warn" not in row
    assert row.index("no further cycle is due") < row.index("<details><summary>Dispense on")
