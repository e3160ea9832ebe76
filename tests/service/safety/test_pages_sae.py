"""The SAE pages: the site's form drawn from the protocol's SAE form, the work list, the safety
role's review and SUSAR unblinding, and blinded pages unchanged by that unblinding."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.factories import ENROLMENT_DAY, PASSWORD
from tests.service.api_fixtures import World
from tests.service.page_fixtures import Browser
from trialkit.service.platform.policy import Role

SAFETY = Role.SAFETY_PHYSICIAN


def browser(web: TestClient, world: World, role: Role) -> Browser:
    return Browser(web, world.tokens[(role, "own")])


def _sae_form(**changes: str) -> dict[str, str]:
    form = {
        "term": "Stroke",
        "grade": "4",
        "onset_date": ENROLMENT_DAY.isoformat(),
        "criteria.life_threatening": "yes",
        "aware_at": f"{ENROLMENT_DAY.isoformat()}T09:00",
        "outcome": "recovering",
        "causality.study_drug": "possible",
        "causality.docetaxel": "not_related",
        "causality.letrozole": "not_related",
        "narrative": "Left-sided weakness; ischaemic stroke on CT.",
    }
    form.update(changes)
    return form


def test_the_site_reports_an_sae_on_the_protocols_form(web: TestClient, world: World) -> None:
    site = browser(web, world, Role.INVESTIGATOR)
    page = site.get(f"/safety/report/{world.randomised}")
    assert page.status_code == 200
    for name in ('name="causality.docetaxel"', 'name="criteria.death"', 'name="narrative"'):
        assert name in page.text  # drawn from sor.yaml's serious_adverse_event form
    refused = site.post(f"/safety/report/{world.randomised}", _sae_form(term="Brain fog"))
    assert refused.status_code == 422
    assert "not a CTCAE v5.0 term" in refused.text
    sent = site.post(f"/safety/report/{world.randomised}", _sae_form())
    assert sent.status_code == 303
    case = site.get(sent.headers["location"])
    assert case.status_code == 200
    assert "reported" in case.text
    assert 'id="review-form"' not in case.text  # the site sees no review
    listed = site.get("/safety")
    assert listed.status_code == 200
    assert listed.text.count("/safety/cases/") == 2  # the world's case 1 and this one


def test_the_safety_role_reviews_and_unblinds_one_case_and_blinded_pages_stay_the_same(
    web: TestClient, world: World
) -> None:
    blinded = {role: browser(web, world, role) for role in (Role.INVESTIGATOR, Role.MONITOR)}
    urls = ("/safety", f"/safety/cases/{world.randomised}/1", f"/patients/{world.randomised}")

    def scan() -> dict[tuple[Role, str], tuple[int, bytes]]:
        seen = {}
        for role, who in blinded.items():
            web.cookies.clear()
            who = browser(web, world, role)
            for url in urls:
                response = who.get(url)
                seen[(role, url)] = (response.status_code, response.content)
        return seen

    before = scan()
    web.cookies.clear()
    safety = browser(web, world, SAFETY)
    assert 'id="review-form"' in safety.get(f"/safety/cases/{world.randomised}/1").text
    reviewed = safety.post(
        f"/safety/cases/{world.randomised}/1/review",
        {"sponsor.study_drug": "probable", "comment": "plausible"},
    )
    assert reviewed.status_code == 303
    case = safety.get(f"/safety/cases/{world.randomised}/1")
    assert "awaiting unblinding" in case.text
    assert 'id="unblinding-form"' in case.text
    wrong = safety.post(
        f"/safety/cases/{world.randomised}/1/unblinding", {"password": "no", "reason": "SUSAR"}
    )
    assert wrong.status_code == 422
    assert "The password is wrong" in wrong.text
    opened = safety.post(
        f"/safety/cases/{world.randomised}/1/unblinding",
        {"password": PASSWORD, "reason": "possible SUSAR"},
    )
    assert opened.status_code == 303
    case = safety.get(f"/safety/cases/{world.randomised}/1")
    assert "Unblinded for the safety role" in case.text
    assert ("Sorafenib" in case.text) != ("Placebo" in case.text)
    assert scan() == before
