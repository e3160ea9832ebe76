"""The outcomes read demographics and exposure by the items' declared SDTM names (COLO's forms:
a ``demographics`` section and a ``capecitabine`` exposure form), whatever the items are called."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from trialkit.protocol import load_protocol
from trialkit.protocol.forms import Forms
from trialkit.service.capture.outcomes import _age, _demographics, _exposure
from trialkit.service.capture.tables import CaptureRecord

COLO = Path(__file__).resolve().parents[2] / "protocol" / "data" / "colorectal.yaml"
BIRTH = "{name: date_of_birth, type: date, label: Date of birth, sdtm: DM.BRTHDTC}"


def _colo(tmp_path: Path, birth: str = BIRTH) -> Forms:
    text = COLO.read_text(encoding="utf-8")
    assert BIRTH in text
    path = tmp_path / "colorectal.yaml"
    path.write_text(text.replace(BIRTH, birth), encoding="utf-8")
    forms = load_protocol(str(path)).forms
    assert forms is not None
    return forms


def _cycle(first: str, last: str | None) -> CaptureRecord:
    data: dict[str, object] = {"first_day": first, "dose_per_intake_mg": 1000}
    return CaptureRecord(form="capecitabine", data=data | ({"last_day": last} if last else {}))


def test_sex_and_birth_date_by_their_declared_names(tmp_path: Path) -> None:
    forms = _colo(tmp_path)
    screening = {"demographics": {"sex": "male", "date_of_birth": "1955-06-01"}}
    sex, birth = _demographics(forms, screening)
    assert (sex, birth) == ("M", "1955-06-01")
    assert _age(birth, dt.date(2021, 5, 31)) == 65
    assert _age(birth, dt.date(2021, 6, 1)) == 66
    assert _demographics(forms, {"demographics": {}}) == ("U", None)


def test_a_partial_date_of_birth_gives_no_age(tmp_path: Path) -> None:
    partial = BIRTH.replace("type: date", "type: partial_date")
    forms = _colo(tmp_path, partial)
    sex, birth = _demographics(forms, {"demographics": {"sex": "female", "date_of_birth": "1955"}})
    assert (sex, birth, _age(birth, dt.date(2021, 3, 1))) == ("F", "1955", None)


def test_exposure_is_the_earliest_start_and_latest_end_once_every_period_is_closed(
    tmp_path: Path,
) -> None:
    forms = _colo(tmp_path)
    closed = [_cycle("2021-03-23", "2021-04-05"), _cycle("2021-03-02", "2021-03-15")]
    assert _exposure(forms, closed) == (dt.date(2021, 3, 2), dt.date(2021, 4, 5))
    still_taking = [*closed, _cycle("2021-04-13", None)]
    assert _exposure(forms, still_taking) == (dt.date(2021, 3, 2), None)
    assert _exposure(forms, []) == (None, None)


def test_where_a_form_plays_the_study_drug_role_only_it_is_the_study_treatment() -> None:
    """SOR: background therapy tells no arm. A patient on letrozole who never took the blinded
    study drug has no first dose (not in the safety set, no treated arm); once she takes it,
    her first dose is the study drug's, not the earlier letrozole start."""
    forms = load_protocol("sor").forms
    assert forms is not None
    assert forms.role("study_drug") is not None
    background = CaptureRecord(
        form="letrozole",
        data={"start_date": "2008-01-02", "dose_mg": 2.5},
    )
    assert _exposure(forms, [background]) == (None, None)
    study = CaptureRecord(
        form=str(forms.role("study_drug")),
        data={"start_date": "2008-02-01", "end_date": "2008-02-28", "kits_dispensed": ["1"]},
    )
    assert _exposure(forms, [background, study]) == (dt.date(2008, 2, 1), dt.date(2008, 2, 28))


ROOT = Path(__file__).resolve().parents[3]
SOR = ROOT / "src" / "trialkit" / "protocol" / "protocols" / "sor.yaml"
DEATH_DATE = "{name: date, type: date, label: Date of death, required: true, sdtm: DM.DTHDTC"


def test_status_dates_by_their_declared_names_whatever_the_items_are_called(
    tmp_path: Path,
) -> None:
    from trialkit.service.capture.outcomes import _role_dates, _role_value

    text = SOR.read_text(encoding="utf-8")
    assert DEATH_DATE in text
    path = tmp_path / "sor.yaml"
    path.write_text(text.replace(DEATH_DATE, DEATH_DATE.replace("name: date", "name: died_on")))
    forms = load_protocol(str(path)).forms
    assert forms is not None
    death = str(forms.role("death"))
    record = CaptureRecord(form=death, data={"died_on": "2009-04-02", "cause": "progression"})
    assert forms.path_of(death, "DM.DTHDTC") == "died_on"
    assert _role_dates(forms, [record], "death") == [dt.date(2009, 4, 2)]
    assert _role_value(forms, [record], "death", "DD.DDORRES") == "progression"
    # a form that declares none of the variables: no item, or for a date its first date item
    assert forms.path_of(death, "XX.NOPE") is None
    assert forms.date_path_of(death, "XX.NOPE") == "died_on"
    assert forms.date_path_of(death, "DD.DDORRES") == "cause"
    assert forms.path_of("no_such_form", "DM.DTHDTC") is None
    therapy = str(forms.role("new_therapy"))
    later = CaptureRecord(form=therapy, data={"start_date": "2009-06-01"})
    earlier = CaptureRecord(form=therapy, data={"start_date": "2009-05-01"})
    assert min(_role_dates(forms, [later, earlier], "new_therapy")) == dt.date(2009, 5, 1)
