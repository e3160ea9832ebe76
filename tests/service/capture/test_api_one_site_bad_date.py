"""One site's mistake stays one site's: an implausible date is refused at entry, and a recorded
inconsistency (a new therapy dated before randomisation) is set aside for that patient and
listed, never a failure of the trial's report for everyone."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from fastapi.testclient import TestClient

from tests.factories import ENROLMENT_DAY
from tests.service.api_fixtures import World
from tests.sor_forms import Form
from trialkit.config import Settings
from trialkit.errors import RecordError
from trialkit.protocol import load_protocol
from trialkit.service.capture.forms import validate_form
from trialkit.service.capture.outcomes import DataIssue, trial_outcomes
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.pages.deps import COOKIE_NAME
from trialkit.service.platform.policy import Role
from trialkit.service.server import create_server
from trialkit.service.trials.tables import Trial


def _new_therapy(client: TestClient, world: World, start: str) -> object:
    return client.post(
        f"/api/patients/{world.randomised}/records/new_therapy",
        json={"data": {"start_date": start, "therapy": "capecitabine"}},
        headers=world.headers(Role.INVESTIGATOR, "own"),
    )


def test_an_implausible_clinical_date_is_refused_at_entry_naming_the_field(
    client: TestClient, world: World
) -> None:
    for start in ("0001-01-01", "1899-12-31", "9999-12-31"):
        response = _new_therapy(client, world, start)
        assert response.status_code == 422, start  # type: ignore[attr-defined]
        detail = response.json()["detail"][0]  # type: ignore[attr-defined]
        assert detail["loc"][-1] == "start_date"
        assert "1900-01-01" in detail["msg"]


def test_clinical_dates_not_before_the_patients_birth(client: TestClient, world: World) -> None:
    """The screening record gives the date of birth (1946-04-12): a case report form date
    before it is refused at entry naming the field, on a new record, in a nested field, and
    in a tumour response preview; the birthday itself is a plausible date."""
    investigator = world.headers(Role.INVESTIGATOR, "own")
    patient = world.randomised
    before_birth = [
        ("adverse_event", {"term": "Fatigue", "grade": 1, "start_date": "1946-04-11"}),
        ("new_therapy", {"start_date": "1901-01-01", "therapy": "capecitabine"}),
        ("death", {"date": "1920-06-30", "cause": "progression"}),
    ]
    for form, data in before_birth:
        response = client.post(
            f"/api/patients/{patient}/records/{form}", json={"data": data}, headers=investigator
        )
        assert response.status_code == 422, (form, response.text[:300])
        detail = response.json()["detail"][0]
        field = "date" if form == "death" else "start_date"
        assert detail["loc"] == ["body", "data", field], detail
        assert "before the patient's date of birth (1946-04-12" in detail["msg"]
    preview = client.post(
        f"/api/patients/{patient}/tumour-response/preview",
        json={"form": "tumour_baseline", "data": {"date": "1930-01-01"}},
        headers=investigator,
    )
    assert preview.status_code == 422
    assert preview.json()["detail"][0]["loc"] == ["body", "data", "date"]
    on_the_birthday = client.post(
        f"/api/patients/{patient}/records/adverse_event",
        json={"data": {"term": "Fatigue", "grade": 1, "start_date": "1946-04-12"}},
        headers=investigator,
    )
    assert on_the_birthday.status_code == 201  # before randomisation: a query, not a refusal
    records = client.get(f"/api/patients/{patient}/records", headers=investigator).json()
    assert {r["form"] for r in records} == {"adverse_event"}  # nothing refused was stored
    with pytest.raises(RecordError) as caught:
        validate_form(
            load_protocol("sor"),
            Form.ADVERSE_EVENT,
            {"term": "Rash", "start_date": "1950-01-01"},
            born=dt.date(1960, 5, 1),
        )
    assert caught.value.location == "data.start_date"


def test_the_form_check_itself_refuses_it_whoever_calls_the_service() -> None:
    with pytest.raises(RecordError) as caught:
        validate_form(
            load_protocol("sor"), Form.NEW_THERAPY, {"start_date": "0001-01-01", "therapy": "x"}
        )
    assert caught.value.location == "data.start_date"


def test_a_recorded_inconsistency_does_not_stop_the_trial_report_for_everyone(
    client: TestClient, world: World, db: Database
) -> None:
    # plausible as a date, but before the randomisation: accepted, and a query opens on it
    recorded = _new_therapy(client, world, "1990-01-01")
    assert recorded.status_code == 201  # type: ignore[attr-defined]
    assert recorded.json()["queries_opened"]  # type: ignore[attr-defined]
    trial = world.trial.id
    for role, query in (
        (Role.STATISTICIAN, ""),
        (Role.UNBLINDED_STATISTICIAN, "?unblinded=true"),
        (Role.DSMB_MEMBER, "?unblinded=true"),
    ):
        report = client.get(
            f"/api/trials/{trial}/report{query}", headers=world.headers(role, "own")
        )
        assert report.status_code == 200, (role, report.text[:300])
    pfs = client.get(
        f"/api/patients/{world.randomised}/pfs",
        headers=world.headers(Role.INVESTIGATOR, "own"),
    )
    assert pfs.status_code == 422  # that patient's own PFS names the inconsistency
    assert "new_therapy_date 1990-01-01 is before randomisation" in pfs.text
    with db.sessions() as session:
        row = session.get(Trial, trial)
        assert row is not None
        issues: list[DataIssue] = []
        outcomes = trial_outcomes(session, row, issues=issues)
    assert world.randomised in outcomes  # still in the ITT population
    assert outcomes[world.randomised][0].new_therapy_date is None  # the date is set aside
    assert [(i.field, "before randomisation" in i.message) for i in issues] == [
        ("new_therapy_date", True)
    ]


def _section(page: str, anchor: str) -> str:
    """A report section: a ``section`` in the document, a folded ``details`` on the page."""
    found = re.search(rf'<(section|details)[^>]* id="{anchor}"[^>]*>(.*?)</\1>', page, re.S)
    assert found, f"no {anchor} section"
    return html.unescape(found[2])


def test_a_patients_data_issue_is_listed_in_every_report_for_that_patient_only(
    client: TestClient, world: World, settings: Settings, db: Database
) -> None:
    """The trial report (HTML and PDF), the DSMB's unblinded report and the /reports page list
    the patient's inconsistency in a "Data issues" section (who, what, how it was handled),
    and the blinded one shows no arm there."""
    investigator = world.headers(Role.INVESTIGATOR, "own")
    quiet = client.get(
        f"/api/trials/{world.trial.id}/report", headers=world.headers(Role.STATISTICIAN, "own")
    )
    assert "No recorded inconsistency" in _section(quiet.text, "data-issues")
    assert _new_therapy(client, world, "1990-01-01").status_code == 201  # type: ignore[attr-defined]
    number = client.get(f"/api/patients/{world.randomised}", headers=investigator).json()
    usubjid = f"{world.trial.acronym}-{world.site_a.code}-{number['screening_number']}"
    expected = [
        usubjid,
        "new_therapy_date 1990-01-01 is before randomisation",
        "new therapy date set aside: PFS is not censored at a new anticancer therapy",
    ]
    server = create_server(
        settings.model_copy(update={"calendar_date": ENROLMENT_DAY}), database=db
    )
    pages = TestClient(server, base_url="http://127.0.0.1")
    for role, view in (
        (Role.STATISTICIAN, "blinded"),
        (Role.MONITOR, "blinded"),  # a site monitor is refused the pooled report (403)
        (Role.DSMB_MEMBER, "unblinded"),
        (Role.UNBLINDED_STATISTICIAN, "unblinded"),
    ):
        query = "?unblinded=true" if view == "unblinded" else ""
        api = client.get(
            f"/api/trials/{world.trial.id}/report{query}", headers=world.headers(role, "own")
        )
        pages.cookies.set(COOKIE_NAME, world.tokens[(role, "own")])
        page = pages.get(f"/reports?view={view}")
        if role == Role.MONITOR:
            assert (api.status_code, page.status_code) == (403, 403)
            continue
        assert (api.status_code, page.status_code) == (200, 200), (role, page.text[:300])
        for text in (api.text, page.text):
            issues = _section(text, "data-issues")
            assert all(part in issues for part in expected), (role, issues)
            assert "Patient 1" not in issues
            if view == "blinded":
                for arm in ("Sorafenib", "Placebo", "sorafenib", "placebo", "ARM"):
                    assert arm not in issues
    pdf = client.get(
        f"/api/trials/{world.trial.id}/report.pdf", headers=world.headers(Role.DSMB_MEMBER, "own")
    )
    assert pdf.status_code == 200
