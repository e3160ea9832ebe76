"""A request the framework cannot validate is the site's error page, never FastAPI's JSON."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.service.page_fixtures import Browser


@pytest.mark.parametrize("path", ["/patients/0", "/patients/abc", "/patients/99999999999"])
def test_a_bad_id_in_the_address_is_not_found(as_user: Callable[[str], Browser], path: str) -> None:
    page = as_user("investigator").get(path)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "No such page" in page.text
    # nothing of the framework's internals: no JSON body, no pydantic wording, no location
    for leak in ('"detail"', "int_parsing", "greater_than_equal", "Input should be", "patient_id"):
        assert leak not in page.text.split("<main", 1)[-1]


def test_a_bad_query_value_names_the_value_in_plain_words(
    as_user: Callable[[str], Browser],
) -> None:
    page = as_user("admin").get("/admin/audit?page=soon")
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "page: enter a whole number" in page.text
    assert '"detail"' not in page.text
    below = as_user("admin").get("/admin/audit?page=0")
    assert below.status_code == 422
    assert "page: must be at least 1" in below.text
    day = as_user("admin").get("/admin/audit?date_from=soon")
    assert day.status_code == 422
    assert "date_from: enter a date as YYYY-MM-DD" in day.text
    empty = as_user("admin").get("/admin/audit?patient=&username=&date_from=&date_to=")
    assert empty.status_code == 200  # the search form sent with nothing filled in


def test_the_api_still_answers_json(as_user: Callable[[str], Browser]) -> None:
    answer = as_user("investigator").get("/api/patients/abc")
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/json")
