"""Best overall response: SD duration, confirmation (on and off), progression date."""

from __future__ import annotations

from datetime import date, timedelta

from trialkit.endpoints import Response, best_overall_response, progression_date

RAND = date(2008, 1, 10)


def _on(*visits: tuple[int, Response]) -> list[tuple[date, Response]]:
    """(day after randomisation, response) -> (date, response)."""
    return [(RAND + timedelta(days=d), r) for d, r in visits]


def _bor(*visits: tuple[int, Response], confirm: bool = False) -> Response:
    return best_overall_response(
        _on(*visits), reference_date=RAND, min_sd_days=42, confirmation_required=confirm
    ).response


def test_sd_needs_the_minimum_duration() -> None:
    # SD on day 35 (< 42) then PD: BOR PD. SD on day 35 and nothing else: NE. Day 42: SD.
    assert _bor((35, "SD"), (70, "PD")) == "PD"
    assert _bor((35, "SD")) == "NE"
    assert _bor((35, "SD"), (63, "NE")) == "NE"
    assert _bor((42, "SD")) == "SD"
    assert _bor((56, "NON_CR_NON_PD")) == "NON_CR_NON_PD"
    assert _bor() == "NE"


def test_unconfirmed_best_response() -> None:
    # Confirmation off (SOR): the best response seen before progression counts.
    assert _bor((56, "PR"), (112, "SD"), (168, "PD")) == "PR"
    assert _bor((30, "PR")) == "PR"  # CR/PR need no minimum duration
    assert _bor((56, "SD"), (112, "CR"), (168, "PR")) == "CR"
    # Nothing after the first PD counts.
    assert _bor((56, "PD"), (112, "PR")) == "PD"


def test_new_therapy_ends_the_bor_window() -> None:
    visits = _on((56, "SD"), (112, "PR"))
    until = RAND + timedelta(days=100)
    got = best_overall_response(visits, reference_date=RAND, until=until)
    assert got.response == "SD"


def test_confirmation_rules() -> None:
    # PR day 56 confirmed by PR day 84 (28 days later).
    assert _bor((56, "PR"), (84, "PR"), confirm=True) == "PR"
    # 24 days later is too early; the unconfirmed PR on day 56 (>= 42) counts as SD.
    assert _bor((56, "PR"), (80, "PR"), confirm=True) == "SD"
    # One NE in between is allowed, two are not.
    assert _bor((56, "PR"), (84, "NE"), (112, "PR"), confirm=True) == "PR"
    assert _bor((56, "PR"), (84, "NE"), (112, "NE"), (140, "PR"), confirm=True) == "SD"
    # CR confirmed by a CR; a CR followed by PR confirms a PR (the first "CR" read as a PR).
    assert _bor((56, "CR"), (112, "CR"), confirm=True) == "CR"
    assert _bor((56, "CR"), (112, "PR"), confirm=True) == "PR"
    # PR then PD: not confirmed; SD if the PR was on day 42 or later, PD otherwise.
    assert _bor((56, "PR"), (112, "PD"), confirm=True) == "SD"
    assert _bor((30, "PR"), (60, "PD"), confirm=True) == "PD"
    # PR then SD then PR: an SD in between breaks the confirmation.
    assert _bor((56, "PR"), (84, "SD"), (112, "PR"), confirm=True) == "SD"
    got = best_overall_response(
        _on((56, "PR"), (84, "PR")), reference_date=RAND, confirmation_required=True
    )
    assert got.confirmed is True
    assert got.date == RAND + timedelta(days=56)


def test_progression_date_goes_back_to_the_first_equivocal_scan() -> None:
    d = [RAND + timedelta(days=56 * k) for k in (1, 2, 3)]
    # Equivocal new lesion on scans 1 and 2, confirmed on scan 3: PD dated scan 1 (4.3.3).
    assert (
        progression_date(
            [(d[0], "SD", "equivocal"), (d[1], "SD", "equivocal"), (d[2], "PD", "yes")]
        )
        == d[0]
    )
    # An unbroken run only: equivocal, then clear, then new -> PD on scan 3.
    assert (
        progression_date([(d[0], "SD", "equivocal"), (d[1], "SD", "no"), (d[2], "PD", "yes")])
        == d[2]
    )
    # PD by target growth: its own date.
    assert progression_date([(d[0], "PR", "no"), (d[1], "PD", "no")]) == d[1]
    assert progression_date([(d[0], "SD", "no")]) is None
