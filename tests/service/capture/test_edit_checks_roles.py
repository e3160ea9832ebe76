"""The cross-form checks find the tumour and death forms by the roles the protocol gives them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from trialkit.protocol import load_protocol
from trialkit.protocol.forms import Forms
from trialkit.service.capture.edit_checks import check_records
from trialkit.service.capture.tables import CaptureRecord

RANDOMISED = dt.date(2009, 1, 10)
TODAY = dt.date(2010, 1, 1)


def _row(form: str, key: str, data: dict[str, Any]) -> CaptureRecord:
    return CaptureRecord(form=form, form_version="1", record_key=key, version=1, data=data)


def _codes(forms: Forms, records: list[CaptureRecord]) -> set[tuple[str, str, str]]:
    found = check_records(records, forms=forms, randomised_on=RANDOMISED, today=TODAY)
    return {(f.form, f.record_key, f.code) for f in found}


def test_tumour_and_death_checks_follow_the_roles() -> None:
    sor = load_protocol("sor").forms
    assert sor is not None
    records = [
        _row("tumour_baseline", "tumour_baseline", {"date": "2009-01-05"}),
        _row("tumour_assessment", "TA1", {"date": "2009-01-05"}),
        _row("tumour_assessment", "TA2", {"date": "2009-01-05"}),
        _row("death", "death", {"date": "2009-01-04"}),
    ]
    codes = _codes(sor, records)
    assert ("tumour_assessment", "TA2", "duplicate_assessment_date") in codes
    assert ("tumour_assessment", "TA1", "assessment_not_after_baseline") in codes
    assert ("death", "death", "death_before_later_record") in codes
    assert not any(c[0] == "tumour_baseline" and c[2] == "before_randomisation" for c in codes)
    # the same forms under roles given to other forms: none of these checks applies
    renamed = sor.model_copy(update={"roles": {"death": "last_known_alive"}})
    codes = _codes(renamed, records)
    assert not {c[2] for c in codes} & {
        "duplicate_assessment_date",
        "assessment_not_after_baseline",
        "death_before_later_record",
    }
    assert ("tumour_baseline", "tumour_baseline", "before_randomisation") in codes
