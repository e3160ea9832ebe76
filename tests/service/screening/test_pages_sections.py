"""The screening form saved section by section, and its fields checked as they are filled.

A section save stores a whole new version of the record: the section as entered, the other
sections as the latest version holds them (docs/capture.md, "Saving a section"). What was
entered in other sections stays on the page, unsaved; filling in an empty section needs no
reason, changing a saved value does.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import select

from tests.factories import example_record
from tests.service.page_fixtures import Browser, WebWorld
from trialkit.protocol import load_protocol
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.tables.audit import AuditEvent
from trialkit.service.screening.pages.screening_form import protocol_screening_form, record_to_form
from trialkit.service.screening.tables import ScreeningRecordVersion

AsUser = Callable[[str], Browser]
SCREENING = protocol_screening_form(load_protocol("sor"))
TOTAL = len(SCREENING.form.sections)


def _progress(text: str) -> tuple[int, int]:
    found = re.search(r'id="progress" data-done="(\d+)" data-total="(\d+)"', text)
    assert found, "no progress marker on the page"
    return int(found.group(1)), int(found.group(2))


def _versions(db: Database, patient_id: int) -> list[ScreeningRecordVersion]:
    with db.sessions.begin() as session:
        rows = session.scalars(
            select(ScreeningRecordVersion)
            .where(ScreeningRecordVersion.patient_id == patient_id)
            .order_by(ScreeningRecordVersion.version)
        ).all()
        session.expunge_all()
        return list(rows)


def test_a_section_save_keeps_the_other_sections_and_moves_the_progress_marker(
    as_user: AsUser, web_world: WebWorld, db: Database
) -> None:
    browser = as_user("investigator")
    url = f"/patients/{web_world.fresh.id}/screening"
    assert _progress(browser.get(url).text) == (0, TOTAL)
    form = record_to_form(SCREENING, example_record())  # every section filled in on the page
    labs = browser.post(url, {**form, "section": "labs"})
    assert labs.status_code == 200, labs.text
    assert "Section “Laboratory values” saved as version 1." in labs.text
    assert "still here, not saved yet" in labs.text
    assert _progress(labs.text) == (1, TOTAL)
    assert f'value="{form["ecog"]}"' in labs.text  # the unsaved ECOG is still on the page
    (first,) = _versions(db, web_world.fresh.id)
    assert set(first.data) == {"labs"}  # only the section saved
    assert first.data["labs"] == example_record()["labs"]

    # another section filled in: a new version holding both, no reason needed
    general = browser.post(url, {**form, "section": "general"})
    assert general.status_code == 200, general.text
    assert _progress(general.text) == (2, TOTAL)
    second = _versions(db, web_world.fresh.id)[-1]
    assert (second.version, second.reason) == (2, None)
    assert second.data["labs"] == first.data["labs"]
    assert second.data["ecog"] == example_record()["ecog"]
    with db.sessions.begin() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.entity == "screening_record", AuditEvent.entity_id == str(second.id)
            )
        ).all()
    assert set(actions) == {"complete"}

    # changing a saved value is a correction: it needs a reason, next to its field
    changed = {**form, "labs.alt.value": str(float(form["labs.alt.value"]) + 5)}
    refused = browser.post(url, {**changed, "section": "labs"})
    assert refused.status_code == 422
    assert 'id="f-reason-error"' in refused.text
    assert "changes or clears a value already saved" in refused.text
    assert len(_versions(db, web_world.fresh.id)) == 2
    fixed = browser.post(url, {**changed, "section": "labs", "reason": "ALT re-measured"})
    assert fixed.status_code == 200, fixed.text
    third = _versions(db, web_world.fresh.id)[-1]
    assert (third.version, third.reason) == (3, "ALT re-measured")
    assert third.data["ecog"] == second.data["ecog"]  # the other sections kept
    # the same section saved again changes nothing: refused, no version voiding a signature
    again = browser.post(url, {**changed, "section": "labs", "reason": "again"})
    assert again.status_code == 422
    assert "holds these values already: nothing to save" in again.text
    assert len(_versions(db, web_world.fresh.id)) == 3


def test_a_field_is_checked_as_it_is_filled_by_the_services_check(
    as_user: AsUser, web_world: WebWorld
) -> None:
    browser = as_user("investigator")
    url = f"/patients/{web_world.fresh.id}/screening"
    page = browser.get(url).text
    assert f'hx-post="{url}/field?field=ecog"' in page
    assert 'id="f-ecog-check"' in page
    bad = browser.post(f"{url}/field?field=ecog", {"ecog": "9"}, headers={"HX-Request": "true"})
    assert bad.status_code == 200
    assert "must be at most 5" in bad.text
    good = browser.post(f"{url}/field?field=ecog", {"ecog": "1"}, headers={"HX-Request": "true"})
    assert good.text.strip() == ""
    # another patient's site: the check answers as the page does (not found)
    other = as_user("other_investigator")
    assert other.post(f"{url}/field?field=ecog", {"ecog": "9"}).status_code == 404
