"""The monitor's and statistician's pages on a trial with randomised patients and events.

Six patients are really randomised (sealed list), so arms exist in the database; the
blinded pages must show pooled counts and the forecast, and never an arm.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.factories import (
    login,
    make_eligible_patient,
    make_user,
    principal,
    seal_trial,
    stock_site,
)
from tests.service.oversight.test_forecast import START, _fill
from tests.service.page_fixtures import Browser, WebWorld
from tests.service.test_pages import arm_mentions
from tests.sor_forms import Form
from trialkit.service.capture import queries
from trialkit.service.oversight import monitoring
from trialkit.service.oversight.forecast import clear_forecast_cache
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.policy import Role
from trialkit.service.platform.security import Security
from trialkit.service.randomisation import randomisation

AsUser = Callable[[str], Browser]


@pytest.fixture
def conducted(web_world: WebWorld, db: Database, security: Security) -> WebWorld:
    """Six randomised patients at IT01 (two months), four PFS events, one withdrawal, a query."""
    clear_forecast_cache()
    with db.sessions.begin() as session:
        seal_trial(session, web_world.trial)
        stock_site(session, web_world.trial, web_world.site_a)
        investigator = principal(session, security, web_world.users["investigator"])
        enrolled: dict[int, int] = {}
        for k in range(6):
            patient = make_eligible_patient(session, investigator, web_world.site_a)
            day = 60 + 9 * k
            randomisation.randomise(
                session=session,
                actor=investigator,
                patient_id=patient.id,
                on_date=START + dt.timedelta(days=day),
            )
            enrolled[patient.id] = day
        _fill(session, investigator, enrolled)
        first = next(iter(enrolled))
        queries.raise_query(
            session=session,
            actor=principal(session, security, web_world.users["monitor"]),
            patient_id=first,
            form=Form.TUMOUR_BASELINE,
            record_key="tumour_baseline",
            field="date",
            message="Please confirm the baseline date.",
        )
    return web_world


def test_monitor_overview_counts_randomised_and_pooled_events(
    as_user: AsUser, conducted: WebWorld
) -> None:
    browser = as_user("monitor")
    page = browser.get("/monitor")
    assert page.status_code == 200
    assert re.search(r"<dt>Randomised</dt><dd>6</dd>", page.text)
    assert "6 / 220" in page.text
    assert "4 / 120" in page.text  # pooled PFS events against the target
    assert "Planned (cumulative)" in page.text
    assert "some sites only" not in page.text
    assert re.search(r"<th scope=\"row\">2008-03</th><td>\d+</td>", page.text)
    assert arm_mentions(page.text, conducted.trial.title, names=True) == []
    svg = browser.get("/monitor/enrolment.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert "planned (220)" in svg.text
    assert "<svg" in svg.text
    assert not re.search(r"sorafenib|placebo|\barm\b", svg.text, re.I)
    by_site = browser.get("/monitor/enrolment.svg?by=site")
    assert "IT01" in by_site.text


def test_forecast_page_shows_the_date_band_and_chosen_date(
    as_user: AsUser, conducted: WebWorld
) -> None:
    browser = as_user("monitor")
    page = browser.get("/forecast?by=2010-06-30")
    assert page.status_code == 200, page.text
    text = page.text
    assert "No forecast from the data yet" not in text
    assert "4 of the 120 needed" in text
    assert re.search(r"Date of the 120th event, median</dt><dd>\d{4}-\d\d-\d\d", text)
    assert "90% prediction interval" in text
    assert "<dt>Model</dt><dd>average (" in text  # the default: model averaging
    assert "Enrolment complete, median" in text
    assert "Expected PFS events by 2010-06-30" in text
    assert "Chance of 120 events by 2010-06-30" in text
    assert 'src="/forecast.svg"' in text
    assert arm_mentions(text, conducted.trial.title, names=True) == []
    svg = browser.get("/forecast.svg")
    assert svg.status_code == 200
    assert "<svg" in svg.text
    assert not re.search(r"sorafenib|placebo|\barm\b", svg.text, re.I)
    statistician = as_user("statistician").get("/forecast")
    assert "4 of the 120 needed" in statistician.text


def test_the_api_forecast_averages_models_by_default_and_auto_stays_selectable(
    as_user: AsUser, conducted: WebWorld
) -> None:
    browser = as_user("statistician")
    url = f"/api/trials/{conducted.trial.id}/forecast?sims=100"
    default = browser.get(url)
    assert default.status_code == 200, default.text
    assert default.json()["model"] == "average"
    chosen = browser.get(url + "&model=auto").json()
    assert chosen["model"] in {"exponential", "weibull", "piecewise", "mixture"}
    assert browser.get(url + "&model=auto").json() == chosen
    bad = browser.get(url + "&model=gamma")
    assert bad.status_code == 422
    assert "average" in bad.text
    assert (
        browser.get(
            f"/api/trials/{conducted.trial.id}/forecast.svg?sims=100&model=auto"
        ).status_code
        == 200
    )


def test_forecast_page_bad_dates_are_explained_next_to_the_field(
    as_user: AsUser, conducted: WebWorld
) -> None:
    page = as_user("monitor").get("/forecast?by=30/06/2010&cutoff=2001-01-01")
    assert page.status_code == 200
    assert re.search(r'id="f-by-error".*?Date must be a date written YYYY-MM-DD', page.text, re.S)
    # a cut-off before the first randomisation: the reason, and the design-stage forecast
    assert "No forecast from the data yet" in page.text
    assert "no patient was randomised by the cut-off 2001-01-01" in page.text
    assert "design stage" in page.text
    assert 'src="/forecast.svg?cutoff=2001-01-01"' in page.text
    svg = as_user("monitor").get("/forecast.svg?cutoff=2001-01-01")
    assert svg.status_code == 200
    assert "design stage" in svg.text
    assert as_user("monitor").get("/forecast.svg?cutoff=soon").status_code == 422


def test_forecast_page_offers_the_models_and_explains_a_bad_one(
    as_user: AsUser, conducted: WebWorld
) -> None:
    """The page defaults to model averaging, lets the viewer pick another model (the plot
    follows the choice), and explains an unknown model next to its field."""
    browser = as_user("monitor")
    default = browser.get("/forecast").text
    assert re.search(r'<option value="average" selected>', default)
    assert '<option value="auto">' in default
    chosen = browser.get("/forecast?model=exponential")
    assert chosen.status_code == 200
    assert "<dt>Model</dt><dd>exponential (" in chosen.text
    assert re.search(r'<option value="exponential" selected>', chosen.text)
    assert 'src="/forecast.svg?model=exponential"' in chosen.text
    plot = browser.get("/forecast.svg?model=exponential")
    assert plot.status_code == 200
    assert "<svg" in plot.text
    bad = browser.get("/forecast?model=gamma")
    assert bad.status_code == 200
    assert re.search(r'id="f-model-error".*?Choose one of the listed models', bad.text, re.S)
    assert "<dt>Model</dt><dd>average (" in bad.text  # the default meanwhile
    assert browser.get("/forecast.svg?model=gamma").status_code == 422


def test_forecast_without_patients_falls_back_to_the_design(as_user: AsUser) -> None:
    page = as_user("statistician").get("/forecast")
    assert page.status_code == 200
    assert "no patient of SOR is randomised yet" in page.text
    assert "design stage" in page.text


def test_investigators_and_pharmacists_get_no_forecast(
    as_user: AsUser, conducted: WebWorld
) -> None:
    assert as_user("investigator").get("/forecast").status_code == 403
    assert as_user("pharmacist").get("/forecast.svg").status_code == 403


def test_monitor_data_page_counts_visits_and_queries(as_user: AsUser, conducted: WebWorld) -> None:
    page = as_user("monitor").get("/monitor/data?on=2008-09-01")
    assert page.status_code == 200
    row = re.search(r'<th scope="row">IT01</th><td>(\d+)</td><td>(\d+)</td>', page.text)
    assert row is not None
    assert row.group(1) == "6"
    assert int(row.group(2)) > 0
    assert re.search(
        r'<th scope="row">IT01</th><td>1</td><td>0</td><td>0</td><td>\d{4}-', page.text
    )
    assert arm_mentions(page.text, conducted.trial.title, names=True) == []
    bad = as_user("monitor").get("/monitor/data?on=yesterday")
    assert bad.status_code == 200
    assert "The date must be written YYYY-MM-DD" in bad.text


def test_simulation_run_shows_figures_and_power_curve(as_user: AsUser) -> None:
    browser = as_user("statistician")
    form = browser.get("/design/simulate")
    assert form.status_code == 200
    page = browser.post(
        "/design/simulate", {"hr": "0.7", "trials": "500", "seed": "3", "grid": "on"}
    )
    assert page.status_code == 200, page.text
    assert 'id="simulation-figures"' in page.text
    assert "500 simulated trials, seed 3" in page.text
    assert re.search(r"Hazard ratio simulated</th><td>0.7<", page.text)
    assert page.text.count('<tr><th scope="row">0.') >= 10  # the grid 0.50 .. 0.95
    assert 'src="data:image/svg+xml;base64,' in page.text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"trials": "5"}, "trials", "whole number of trials from 100 to 20000"),
        ({"trials": "many"}, "trials", "whole number of trials"),
        ({"hr": "-1"}, "hr", "hazard ratio above 0"),
        ({"hr": "0.7", "median_treatment": "10"}, "hr", "not both"),
        ({"median_control": "abc"}, "median_control", "median in months"),
    ],
)
def test_simulation_bad_input_is_explained_next_to_the_field(
    as_user: AsUser, data: dict[str, str], field: str, message: str
) -> None:
    page = as_user("statistician").post("/design/simulate", data)
    assert page.status_code == 422
    assert re.search(rf'id="f-{field}-error".*?{message}', page.text, re.S)


def test_monitor_may_not_run_simulations(as_user: AsUser) -> None:
    assert as_user("monitor").post("/design/simulate", {"trials": "100"}).status_code == 403


def test_forecast_api_json_and_svg(web: TestClient, conducted: WebWorld) -> None:
    headers = {"Authorization": f"Bearer {conducted.tokens['monitor']}"}
    trial = conducted.trial.id
    got = web.get(f"/api/trials/{trial}/forecast?sims=300&at=2010-06-30", headers=headers)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["events_so_far"] == 4
    assert body["target"] == 120
    assert body["at"][0]["date"] == "2010-06-30"
    assert not any("arm" in key for key in body)
    svg = web.get(f"/api/trials/{trial}/forecast.svg?sims=300", headers=headers)
    assert svg.headers["content-type"] == "image/svg+xml"
    investigator = {"Authorization": f"Bearer {conducted.tokens['investigator']}"}
    assert web.get(f"/api/trials/{trial}/forecast", headers=investigator).status_code == 403
    bad = web.get(f"/api/trials/{trial}/forecast?sims=5", headers=headers)
    assert bad.status_code == 422


def test_a_monitor_of_some_sites_sees_their_sites_and_no_pooled_report_or_forecast(
    web: TestClient, conducted: WebWorld, db: Database, security: Security
) -> None:
    """The trial report, the forecast and the pooled event count pool every site: a monitor
    assigned to IT01 only is told why they are not shown, and sees IT01's enrolment."""
    with db.sessions.begin() as session:
        user = make_user(session, security, conducted.trial, Role.MONITOR, site=conducted.site_a)
        browser = Browser(web, login(session, security, user))
    home = browser.get("/home")
    assert 'href="/reports"' not in home.text
    assert 'href="/forecast"' not in home.text
    assert "for trial-wide monitors" in home.text
    overview = browser.get("/monitor")
    assert overview.status_code == 200
    assert "IT01" in overview.text
    assert "events-progress" not in overview.text
    assert "for trial-wide monitors" in overview.text
    # their sites' randomisations, not set against the trial-wide target of 220 nor its plan
    text = overview.text
    assert "You monitor some sites only (IT01)" in text
    assert "target of 220 randomised patients is for the whole trial" in text
    assert "randomised-progress" not in text
    assert "Target (protocol)" not in text
    assert "Planned (cumulative)" not in text
    assert "Patients randomised by month at your sites" in text
    assert "planned" not in browser.get("/monitor/enrolment.svg").text
    with db.sessions() as session:
        scoped = principal(session, security, user)
        progress = monitoring.enrolment_progress(
            session=session, actor=scoped, trial_id=conducted.trial.id
        )
    assert (progress.target, progress.trial_target, progress.sites) == (None, 220, ["IT01"])
    assert progress.total == 6
    assert all(m.planned is None for m in progress.months)
    for url in ("/reports", "/forecast", "/forecast.svg"):
        refused = browser.get(url)
        assert refused.status_code == 403, url
        if url != "/forecast.svg":
            assert "every site" in refused.text
