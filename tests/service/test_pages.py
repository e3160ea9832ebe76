"""Pages of every role: they render, keep to their site, work without JavaScript, show errors
next to the field, and never show a blinded role an arm."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.factories import PASSWORD, example_record
from tests.service.page_fixtures import Browser, WebWorld
from trialkit.protocol import load_protocol
from trialkit.service.platform.api.deps import COOKIE_NAME as API_COOKIE
from trialkit.service.platform.pages.deps import COOKIE_NAME, LOGIN_CSRF_COOKIE
from trialkit.service.screening.pages.screening_form import protocol_screening_form, record_to_form

SCREENING = protocol_screening_form(load_protocol("sor"))

AsUser = Callable[[str], Browser]


def test_the_pages_use_the_api_session_cookie() -> None:
    assert COOKIE_NAME == API_COOKIE


# --- logging in ------------------------------------------------------------------------------


def test_login_works_without_javascript(web: TestClient, web_world: WebWorld) -> None:
    page = web.get("/login")
    assert page.status_code == 200
    assert '<label for="f-username">' in page.text
    assert '<label for="f-password">' in page.text
    token = web.cookies[LOGIN_CSRF_COOKIE]
    done = web.post(
        "/login",
        data={
            "csrf_token": token,
            "next": "/patients",
            "username": web_world.users["investigator"].username,
            "password": PASSWORD,
        },
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/patients"
    assert web.cookies.get(COOKIE_NAME)
    assert web.get("/patients").status_code == 200


def test_a_wrong_password_is_shown_next_to_the_password(
    web: TestClient, web_world: WebWorld
) -> None:
    web.get("/login")
    page = web.post(
        "/login",
        data={
            "csrf_token": web.cookies[LOGIN_CSRF_COOKIE],
            "username": web_world.users["investigator"].username,
            "password": "not the password",
        },
    )
    assert page.status_code == 401
    assert 'id="f-password-error"' in page.text
    assert "wrong username or password" in page.text
    assert 'aria-describedby="f-password-error"' in page.text


def test_login_without_its_form_token_is_refused(web: TestClient, web_world: WebWorld) -> None:
    page = web.post(
        "/login",
        data={"username": web_world.users["investigator"].username, "password": PASSWORD},
    )
    assert page.status_code == 400
    assert COOKIE_NAME not in web.cookies


def test_login_does_not_redirect_to_another_site(web: TestClient, web_world: WebWorld) -> None:
    web.get("/login")
    done = web.post(
        "/login",
        data={
            "csrf_token": web.cookies[LOGIN_CSRF_COOKIE],
            "next": "//evil.example/",
            "username": web_world.users["admin"].username,
            "password": PASSWORD,
        },
    )
    assert done.headers["location"] == "/home"


def test_pages_need_a_session(web: TestClient) -> None:
    page = web.get("/patients")
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/patients"


def test_logout_ends_the_session(as_user: AsUser) -> None:
    browser = as_user("monitor")
    assert browser.post("/logout", {}).status_code == 303
    assert browser.get("/home").status_code == 303


def test_a_form_without_the_session_token_is_refused(as_user: AsUser, web_world: WebWorld) -> None:
    browser = as_user("investigator")
    page = browser.client.post(
        f"/patients/{web_world.fresh.id}/consent",
        data={"consent_date": "2008-02-20", "information_sheet_version": "1.0"},
    )
    assert page.status_code == 403
    assert "Form expired" in page.text


# --- every role's pages ---------------------------------------------------------------------

PAGES = {
    "investigator": ["/home", "/patients", "/patients/{p}", "/patients/{p}/screening",
                     "/patients/{p}/consent", "/patients/{p}/randomise", "/patients/{p}/unblinding",
                     "/queries"],
    "pharmacist": ["/home", "/pharmacy"],
    "monitor": ["/home", "/monitor", "/monitor/data", "/forecast", "/reports"],
    "statistician": ["/home", "/design", "/design/simulate", "/forecast"],
    "unblinded": ["/home", "/design", "/forecast"],
    "admin": ["/home", "/admin/sites", "/admin/users", "/admin/audit"],
}  # fmt: skip


@pytest.mark.parametrize(
    ("who", "url"), [(who, url) for who, urls in PAGES.items() for url in urls]
)
def test_each_role_s_pages_render(as_user: AsUser, web_world: WebWorld, who: str, url: str) -> None:
    page = as_user(who).get(url.format(p=web_world.patient.id))
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert '<main id="main"' in page.text


def _unlabelled_inputs(html: str) -> list[str]:
    ids = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")[^>]*\sid="([^"]+)"', html)
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    bare = re.findall(r'<(?:input|select|textarea)(?![^>]*type="hidden")(?![^>]*\sid=)[^>]*>', html)
    return [i for i in ids if i not in labelled] + bare


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("investigator", "/patients"),
        ("investigator", "/patients/{p}/screening"),
        ("investigator", "/patients/{p}/consent"),
        ("investigator", "/patients/{p}/randomise"),
        ("investigator", "/queries"),
        ("pharmacist", "/pharmacy"),
        ("admin", "/admin/sites"),
        ("admin", "/admin/users"),
        ("admin", "/admin/audit"),
    ],
)
def test_every_input_has_a_label(as_user: AsUser, web_world: WebWorld, who: str, url: str) -> None:
    page = as_user(who).get(url.format(p=web_world.patient.id))
    assert _unlabelled_inputs(page.text) == []


def test_roles_without_the_permission_are_refused(as_user: AsUser) -> None:
    assert as_user("statistician").get("/monitor").status_code == 403
    assert as_user("monitor").get("/admin/users").status_code == 403
    assert as_user("investigator").get("/admin/audit/export.csv").status_code == 403


# --- site scope ----------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/screening", "/consent", "/randomise"])
def test_another_site_s_patient_reads_as_absent(
    as_user: AsUser, web_world: WebWorld, suffix: str
) -> None:
    page = as_user("other_investigator").get(f"/patients/{web_world.patient.id}{suffix}")
    assert page.status_code == 404
    assert "Not found" in page.text
    assert "IT01-001" not in page.text


def test_another_site_s_patient_cannot_be_screened(as_user: AsUser, web_world: WebWorld) -> None:
    browser = as_user("other_investigator")
    page = browser.post(f"/patients/{web_world.patient.id}/screening/check", {})
    assert page.status_code == 404
    page = browser.post(f"/patients/{web_world.patient.id}/screening", {"ecog": "1"})
    assert page.status_code == 404


def test_the_patient_list_shows_the_own_site_only(as_user: AsUser) -> None:
    page = as_user("other_investigator").get("/patients")
    assert "IT01-001" not in page.text
    assert "DE01" in page.text


# --- screening -----------------------------------------------------------------------------


def test_screening_is_saved_and_evaluated_without_javascript(
    as_user: AsUser, web_world: WebWorld
) -> None:
    browser = as_user("investigator")
    form = record_to_form(SCREENING, example_record())
    saved = browser.post(f"/patients/{web_world.fresh.id}/screening", form)
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == f"/patients/{web_world.fresh.id}?saved=screening"
    page = browser.get(saved.headers["location"])
    assert "Screening record saved and evaluated." in page.text
    assert "Eligible" in page.text
    assert "Endocrine therapy (letrozole)" in page.text  # the background therapy, in words
    listing = browser.get("/patients")
    assert re.search(r"IT01-002</a></th>\s*<td><span[^>]*>eligible", listing.text)


def test_a_correction_needs_a_reason_shown_next_to_its_field(
    as_user: AsUser, web_world: WebWorld
) -> None:
    browser = as_user("investigator")
    form = record_to_form(SCREENING, example_record())
    form["labs.alt.value"] = str(float(form["labs.alt.value"]) + 1)  # a saved value changed
    page = browser.post(f"/patients/{web_world.patient.id}/screening", form)
    assert page.status_code == 422
    assert 'id="f-reason-error"' in page.text
    form["reason"] = "ALT re-measured"
    assert browser.post(f"/patients/{web_world.patient.id}/screening", form).status_code == 303


def test_field_errors_appear_next_to_the_field_in_plain_words(
    as_user: AsUser, web_world: WebWorld
) -> None:
    browser = as_user("investigator")
    form = record_to_form(SCREENING, example_record())
    form.update({"labs.alt.value": "abc", "ecog": "9", "body.height_cm": "20"})
    page = browser.post(f"/patients/{web_world.fresh.id}/screening", form)
    assert page.status_code == 422
    for field_id, words in [
        ("f-labs-alt-value", "enter a number"),
        ("f-ecog", "must be at most 5"),
        ("f-body-height_cm", "must be more than 50"),
    ]:
        block = re.search(
            rf'<p class="error" id="{field_id}-error">(.*?)</p>\s*<input id="{field_id}"',
            page.text,
            re.S,
        )
        assert block, field_id
        assert words in block.group(1)
    assert "Please correct 3 fields" in page.text
    # the summary names each field by its label, never by its path in the record
    assert '<a href="#f-ecog">ECOG performance status</a>' in page.text
    assert ">body.height_cm<" not in page.text
    # nothing was saved
    assert browser.get(f"/patients/{web_world.fresh.id}").text.count("No screening record") == 1


def test_the_check_names_every_value_the_form_refuses(as_user: AsUser, web_world: WebWorld) -> None:
    """Values the page reads but the screening form refuses (units it does not take): each is
    shown next to its field, not only the first the validation meets."""
    browser = as_user("investigator")
    form = record_to_form(SCREENING, example_record())
    form.update({"labs.alt.unit": "furlongs", "labs.creatinine.unit": "stones"})
    page = browser.post(f"/patients/{web_world.fresh.id}/screening/check", form)
    assert page.status_code == 200
    for field_id, unit in [("f-labs-alt-unit", "furlongs"), ("f-labs-creatinine-unit", "stones")]:
        block = re.search(rf'<p class="error" id="{field_id}-error">(.*?)</p>', page.text, re.S)
        assert block, field_id
        assert f"unknown unit &#39;{unit}&#39;" in block.group(1)


def test_the_live_checklist_is_a_fragment_naming_what_is_missing(
    as_user: AsUser, web_world: WebWorld
) -> None:
    browser = as_user("investigator")
    form = record_to_form(SCREENING, example_record())
    del form["labs.anc.value"], form["labs.anc.unit"]
    page = browser.post(
        f"/patients/{web_world.fresh.id}/screening/check", form, headers={"HX-Request": "true"}
    )
    assert page.status_code == 200
    assert page.text.lstrip().startswith('<div id="checklist"')
    assert "<html" not in page.text
    assert "Undetermined" in page.text
    assert 'href="#f-labs-anc-value"' in page.text  # the unknown links to the missing input
    assert "Absolute neutrophil count" in page.text


def test_the_check_button_works_without_javascript(as_user: AsUser, web_world: WebWorld) -> None:
    browser = as_user("investigator")
    form = record_to_form(SCREENING, example_record())
    page = browser.post(f"/patients/{web_world.fresh.id}/screening/check", form)
    assert page.status_code == 200
    assert "<html" in page.text
    assert "Eligible" in page.text
    assert 'value="2008-03-14"' in page.text  # what was entered stays in the form


def test_the_screening_form_opens_with_the_latest_version(
    as_user: AsUser, web_world: WebWorld
) -> None:
    page = as_user("investigator").get(f"/patients/{web_world.patient.id}/screening")
    assert 'name="planned_randomisation_date" type="date" value="2008-03-14"' in page.text
    assert "Reason for the correction (version 2)" in page.text
    assert 'hx-post="/patients/' in page.text
    assert "/static/htmx.min.js" in page.text


# --- consent -------------------------------------------------------------------------------


def test_consent_is_recorded_without_javascript(as_user: AsUser, web_world: WebWorld) -> None:
    browser = as_user("investigator")
    url = f"/patients/{web_world.fresh.id}/consent"
    bad = browser.post(url, {"consent_date": "2199-01-01", "information_sheet_version": "2.1"})
    assert bad.status_code == 422
    assert re.search(r'id="f-consent_date-error">.*future.*</p>', bad.text)
    implausible = browser.post(url, {"consent_date": "2999-01-01"})  # refused at the boundary
    assert implausible.status_code == 422
    assert "consent_date: must be a date between 1900-01-01 and 2200-12-31" in implausible.text
    empty = browser.post(url, {"consent_date": "20.02.2008", "information_sheet_version": ""})
    assert 'id="f-consent_date-error"' in empty.text
    assert "YYYY-MM-DD" in empty.text
    assert 'id="f-information_sheet_version-error"' in empty.text
    done = browser.post(url, {"consent_date": "2008-02-20", "information_sheet_version": "2.1"})
    assert done.status_code == 303
    page = browser.get(done.headers["location"])
    assert "signed 2008-02-20 (information sheet 2.1)" in page.text


def test_unrandomised_patients_have_no_clinical_pages_yet(
    as_user: AsUser, web_world: WebWorld
) -> None:
    browser = as_user("investigator")
    page = browser.get(f"/patients/{web_world.patient.id}/unblinding")
    assert "not randomised" in page.text
    assert 'name="password"' not in page.text
    assert browser.get(f"/patients/{web_world.patient.id}/visits").status_code == 404


# --- blinding ------------------------------------------------------------------------------

ARM_FIELD = re.compile(r"\barms?\b|\bArm [AB]\b|allocat", re.I)
ARM_NAMES = re.compile(r"sorafenib|placebo", re.I)


def arm_mentions(html: str, title: str, *, names: bool) -> list[str]:
    """Words that name an arm on a page (the trial's title, which names both, aside).

    ``names=False`` for pages that quote the protocol's criteria, whose text names the drugs.
    """
    text = html.replace(title, "")
    return ARM_FIELD.findall(text) + (ARM_NAMES.findall(text) if names else [])


@pytest.mark.parametrize(
    ("who", "url"),
    [
        ("monitor", "/home"),
        ("monitor", "/monitor"),
        ("monitor", "/monitor/data"),
        ("monitor", "/forecast"),
        ("monitor", "/reports"),
        ("monitor", "/monitor/sdv"),
        ("monitor", "/monitor/visits"),
        ("monitor", "/patients/{p}/sdv"),
        ("monitor", "/patients/{p}/casebook"),
        ("investigator", "/patients/{p}/casebook"),
        ("investigator", "/signatures"),
        ("investigator", "/patients"),
        ("investigator", "/patients/{p}"),
        ("pharmacist", "/home"),
        ("pharmacist", "/pharmacy"),
        ("admin", "/admin/sites"),
    ],
)
def test_blinded_roles_see_no_arm(as_user: AsUser, web_world: WebWorld, who: str, url: str) -> None:
    page = as_user(who).get(url.format(p=web_world.patient.id))
    assert page.status_code == 200
    quotes_criteria = who == "investigator"
    assert arm_mentions(page.text, web_world.trial.title, names=not quotes_criteria) == []


# --- monitor, statistician, administrator ------------------------------------------------


def test_monitor_sees_enrolment_by_site_and_country(as_user: AsUser) -> None:
    page = as_user("monitor").get("/monitor")
    assert "220 patients randomised" in page.text  # the target, from the protocol
    assert re.search(r"IT01 · Testville.*?<td>2</td><td>1</td><td>1</td>", page.text, re.S)
    assert "Italy (IT)" in page.text
    assert "Germany (DE)" in page.text
    assert "No patient is randomised yet, so there is no PFS event." in page.text


def test_statistician_sees_the_design_claims_and_power_curve(as_user: AsUser) -> None:
    browser = as_user("statistician")
    page = browser.get("/design")
    design = load_protocol("sor").design
    assert design is not None
    for claim in design.claims:
        assert f"{claim.id}<br>" in page.text
    assert 'src="/design/power.svg"' in page.text
    assert 'alt="Probability' in page.text
    svg = browser.get("/design/power.svg")
    assert svg.headers["content-type"] == "image/svg+xml"
    assert svg.text.lstrip().startswith("<?xml")
    assert "<svg" in svg.text


def test_admin_records_approval_and_activates_a_site(
    as_user: AsUser, web_world: WebWorld, db: object
) -> None:
    browser = as_user("admin")
    page = browser.post(
        f"/admin/sites/{web_world.site_a.id}/approvals",
        {"committee": "", "approval_date": "yesterday", "protocol_version": "x"},
    )
    assert page.status_code == 422
    assert f'id="f-{web_world.site_a.id}-committee-error"' in page.text
    assert f'id="f-{web_world.site_a.id}-approval_date-error"' in page.text
    done = browser.post(f"/admin/sites/{web_world.site_a.id}/activation", {})
    assert done.status_code == 409  # activated already, said as a page
    assert "activated already" in done.text


def test_admin_creates_users_and_grants_roles(as_user: AsUser, web_world: WebWorld) -> None:
    browser = as_user("admin")
    short = browser.post("/admin/users", {"username": "nurse", "full_name": "N", "password": "x"})
    assert short.status_code == 422
    assert 'id="f-password-error"' in short.text
    made = browser.post(
        "/admin/users",
        {"username": "nurse", "full_name": "Study Nurse", "password": "a long enough password"},
    )
    assert made.status_code == 303
    assert made.headers["location"] == "/admin/users?done=user&q=nurse"  # the list opens on her
    listing = browser.get(made.headers["location"])
    (nurse,) = re.findall(r'action="/admin/users/(\d+)/roles"', listing.text)
    missing_site = browser.post(f"/admin/users/{nurse}/roles", {"role": "investigator"})
    assert missing_site.status_code == 422
    assert f'id="f-role-{nurse}' in missing_site.text or "site_id" in missing_site.text
    granted = browser.post(
        f"/admin/users/{nurse}/roles",
        {"role": "investigator", "site_id": str(web_world.site_a.id)},
    )
    assert granted.status_code == 303


def test_the_users_and_sites_lists_are_searched_filtered_sorted_and_paged(
    as_user: AsUser, web_world: WebWorld
) -> None:
    browser = as_user("admin")
    rows = re.compile(r'<th scope="row">([^<]+)<br>')
    every = rows.findall(browser.get("/admin/users").text)
    assert len(every) == len(web_world.users)
    assert every == sorted(every, key=str.casefold)  # by username
    backwards = rows.findall(browser.get("/admin/users", params={"sort": "-username"}).text)
    assert backwards == every[::-1]
    # a role at a site: the investigator of IT01, not the one of DE01
    held = browser.get("/admin/users", params={"role": "investigator", "site": "IT01"})
    assert rows.findall(held.text) == [web_world.users["investigator"].username]
    # paged, the filters kept in every link
    paged = browser.get("/admin/users", params={"per_page": "3", "role": "investigator"})
    assert len(rows.findall(paged.text)) == 2
    first = browser.get("/admin/users", params={"per_page": "3"})
    assert len(rows.findall(first.text)) == 3
    assert 'href="/admin/users?sort=username&amp;per_page=3&amp;page=2" rel="next"' in first.text
    nobody = browser.get("/admin/users", params={"q": "no such user"})
    assert "Nothing found." in nobody.text

    sites = re.compile(r'<th scope="row">(\w+) · ')
    assert sites.findall(browser.get("/admin/sites").text) == ["DE01", "IT01"]
    by_country = browser.get("/admin/sites", params={"country": "IT"})
    assert sites.findall(by_country.text) == ["IT01"]
    assert sites.findall(browser.get("/admin/sites", params={"q": "it0"}).text) == ["IT01"]
    assert sites.findall(browser.get("/admin/sites", params={"sort": "-code"}).text) == [
        "IT01",
        "DE01",
    ]
    # a filter nobody matches, or one the list does not know, is not an error
    assert browser.get("/admin/sites", params={"recruiting": "maybe"}).status_code == 200


def test_admin_searches_and_exports_the_audit_trail(as_user: AsUser) -> None:
    browser = as_user("admin")
    page = browser.get("/admin/audit", params={"entity": "patient"})
    assert page.status_code == 200
    assert "IT01-001" in page.text
    rows = re.findall(r'<tr><th scope="row">\d+</th>.*?</tr>', page.text)
    assert rows
    assert all("<td>patient " in row for row in rows)
    csv = browser.get("/admin/audit/export.csv")
    assert csv.headers["content-disposition"] == 'attachment; filename="audit-trail.csv"'
    assert csv.text.startswith("seq,")
    data = browser.get("/admin/audit/export.json").json()
    assert data["verification"]["intact"] is True


# --- errors --------------------------------------------------------------------------------


def test_unknown_pages_are_html_and_unknown_api_paths_json(as_user: AsUser) -> None:
    browser = as_user("monitor")
    page = browser.get("/no/such/page")
    assert page.status_code == 404
    assert "No such page." in page.text
    api = browser.get("/api/no-such-thing")
    assert api.status_code == 404
    assert api.json() == {"detail": "Not Found"}


def test_the_api_still_answers_beside_the_pages(as_user: AsUser) -> None:
    me = as_user("monitor").get("/api/auth/me")
    assert me.status_code == 200
    assert me.json()["roles"][0]["role"] == "monitor"
