"""Form definitions: SOR's forms item for item, and the loader's refusals with file and line."""

from __future__ import annotations

import datetime as dt
import types
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from tests.sor_forms import Form

from trialkit.eligibility.record import ScreeningRecord
from trialkit.errors import ProtocolError
from trialkit.protocol import load_protocol, parse_protocol
from trialkit.protocol.forms import Form as FormDefinition
from trialkit.protocol.forms import Item

SOR = Path(__file__).parents[2] / "src/trialkit/protocol/protocols/sor.yaml"
GERI = Path(__file__).parent / "data/geriatric.yaml"


def _strip_optional(annotation: Any) -> Any:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return _strip_optional(rest[0])
    if typing.get_origin(annotation) is typing.Annotated:
        return _strip_optional(args[0])
    return annotation


def _compare(model: type[BaseModel], items: tuple[Item, ...], where: str) -> None:
    """Every field of a pydantic model is an item of the same name and kind, and no more."""
    by_name = {i.name: i for i in items}
    assert set(by_name) == set(model.model_fields), where
    for name, info in model.model_fields.items():
        item, kind = by_name[name], _strip_optional(info.annotation)
        here = f"{where}.{name}"
        origin = typing.get_origin(kind)
        if origin in (list, tuple):
            inner = _strip_optional(typing.get_args(kind)[0])
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                assert item.type == "group", here
                assert item.repeating, here
                _compare(inner, item.items, here)
                continue
            assert item.multiple, here
            kind = inner
        if isinstance(kind, type) and issubclass(kind, BaseModel):
            if item.type == "lab":
                assert {"value", "unit", "uln", "lln", "date"} == set(kind.model_fields), here
            else:
                assert item.type == "group", here
                assert not item.repeating, here
                _compare(kind, item.items, here)
            continue
        expected = {bool: "boolean", dt.date: "date", int: "integer", str: "text"}.get(kind)
        if expected is not None:
            assert item.type == expected, here
        elif kind is float:
            assert item.type in {"decimal", "measurement"}, here
        elif typing.get_origin(kind) is typing.Literal:
            assert item.type == "choice", here
        assert item.mandatory == info.is_required(), here


def test_sor_screening_form_holds_the_screening_record_item_for_item() -> None:
    forms = load_protocol("sor").forms
    assert forms is not None
    assert forms.screening is not None
    _compare(ScreeningRecord, forms.screening.items, "screening")


def test_sor_case_report_forms_are_the_eleven_forms_the_service_reads() -> None:
    sor = load_protocol("sor")
    forms = sor.forms
    assert forms is not None
    assert sor.safety is not None  # the SAE report is the safety slice's form, not a capture CRF
    crfs = {f.name for f in forms.forms if f.used != "screening"} - {sor.safety.sae_form}
    assert crfs == {f.value for f in Form}
    prefixes = {
        f.name: f.key_prefix for f in forms.forms if f.repeats and f.name != sor.safety.sae_form
    }
    assert prefixes == {
        "tumour_assessment": "TA",
        "study_drug": "SD",
        "docetaxel_cycle": "DC",
        "adverse_event": "AE",
        "new_therapy": "NT",
    }
    required = {f.name: {p for p, i in f.walk() if i.required} for f in forms.forms}
    assert required["adverse_event"] == {
        "term",
        "grade",
        "start_date",
        "serious",
        "relationship",
        "action_taken",
    }
    assert required["docetaxel_cycle"] == {"cycle", "date", "dose_mg_m2", "dose_mg"}


def test_choice_codes_match_the_screening_record_literals() -> None:
    forms = load_protocol("sor").forms
    assert forms is not None
    her2 = forms.code_list(forms.form("screening").item("receptors.her2.ihc").codelist or "")
    assert her2.code_values() == ("0", "1+", "2+", "3+", "not_done")
    grades = forms.code_list("ctcae_grade")
    assert grades.code_values() == (1, 2, 3, 4, 5)
    assert [c.submission_value for c in forms.code_list("sex").codes] == ["F", "M"]


def test_every_sor_item_with_data_has_a_label_and_forms_have_versions() -> None:
    forms = load_protocol("sor").forms
    assert forms is not None
    assert all(f.version for f in forms.forms)
    assert sum(1 for f in forms.forms for _ in f.walk()) > 150


def test_geri_has_its_own_screening_form() -> None:
    sor, geri = load_protocol("sor").forms, load_protocol(GERI).forms
    assert sor is not None
    assert geri is not None
    assert geri.screening is not None
    assert sor.screening is not None
    geri_paths = {p for p, _ in geri.screening.walk()}
    assert "g8_score" in geri_paths
    assert "menopause" not in geri_paths
    assert geri_paths != {p for p, _ in sor.screening.walk()}


def _broken(old: str, new: str) -> str:
    text = GERI.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


def _line(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_unknown_code_list_is_refused_with_file_line_and_path() -> None:
    text = _broken("codelist: sex, label: Sex, sdtm", "codelist: gender, label: Sex, sdtm")
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, filename="geri.yaml")
    assert caught.value.location == f"geri.yaml:{_line(text, 'codelist: gender')}"
    assert "forms.forms[0].sections[0].items[0].codelist" in caught.value.message
    assert "unknown code list 'gender'" in caught.value.message


def test_expression_naming_a_missing_item_is_refused() -> None:
    text = _broken(
        "has(r.prior_therapies.advanced_disease_therapy) &&",
        "has(r.prior_therapies.advanced_therapy) &&",
    )
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, filename="geri.yaml")
    assert caught.value.location == f"geri.yaml:{_line(text, 'advanced_therapy)')}"
    assert "r.prior_therapies.advanced_therapy names no item of form 'screening'" in (
        caught.value.message
    )


def test_invalid_expression_is_refused() -> None:
    text = _broken('show_when: "has(', 'show_when: "(((has(')
    with pytest.raises(ProtocolError, match="invalid CEL expression"):
        parse_protocol(text, filename="geri.yaml")


def test_duplicate_item_is_refused() -> None:
    text = _broken("{name: g8_score,", "{name: ecog,")
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, filename="geri.yaml")
    assert "two items named 'ecog'" in caught.value.message
    assert caught.value.location is not None
    assert caught.value.location.startswith("geri.yaml:")


def test_a_choice_without_code_list_and_a_range_on_text_are_refused() -> None:
    text = _broken("type: choice, codelist: sex,", "type: choice,")
    with pytest.raises(ProtocolError, match="choice item 'sex' needs a codelist"):
        parse_protocol(text, filename="geri.yaml")
    text = _broken("type: text, label: Which therapy,", "type: text, range: {min: 1}, label: W,")
    with pytest.raises(ProtocolError, match="cannot have a range"):
        parse_protocol(text, filename="geri.yaml")


def test_form_lookup() -> None:
    forms = load_protocol("sor").forms
    assert forms is not None
    form: FormDefinition = forms.form("adverse_event")
    assert form.item("grade").codelist == "ctcae_grade"
    assert form.item("term").sdtm == "AE.AETERM"
    assert forms.form("screening").has_path("labs.alt.uln")
    assert not forms.form("screening").has_path("labs.alt.upper")
    with pytest.raises(KeyError):
        forms.form("nope")
    assert SOR.is_file()


def test_an_edit_check_on_a_missing_item_and_a_bad_not_before_are_refused() -> None:
    text = _broken(
        "{name: g8_and_ecog_disagree, item: g8_score,", "{name: g8_and_ecog_disagree, item: g9,"
    )
    with pytest.raises(ProtocolError, match="'g9' is not an item of form 'screening'"):
        parse_protocol(text, filename="geri.yaml")
    text = _broken("r.ecog < 2 ||", "r.ecg < 2 ||")
    with pytest.raises(ProtocolError, match=r"r\.ecg names no item"):
        parse_protocol(text, filename="geri.yaml")
    text = _broken(
        "{name: planned_randomisation_date, type: date,",
        "{name: planned_randomisation_date, type: date, not_before: ecog,",
    )
    with pytest.raises(ProtocolError, match="not a date item beside it"):
        parse_protocol(text, filename="geri.yaml")


def _sor_broken(old: str, new: str) -> str:
    text = SOR.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


def _refused_at(old: str, new: str, needle: str, message: str) -> None:
    """SOR with ``old`` made ``new`` is refused with ``message`` at the line of ``needle``."""
    text = _sor_broken(old, new)
    with pytest.raises(ProtocolError) as caught:
        parse_protocol(text, filename="sor.yaml")
    assert message in caught.value.message
    assert caught.value.location == f"sor.yaml:{_line(text, needle)}"


def test_sor_declares_the_roles_and_visit_forms_the_service_reads() -> None:
    sor = load_protocol("sor")
    assert sor.forms is not None
    assert sor.schedule is not None
    assert sor.forms.role("tumour_assessment") == "tumour_assessment"
    assert sor.forms.role("death") == "death"
    assert [v.form for v in sor.schedule.treatment_forms] == ["docetaxel_cycle", "letrozole"]
    assert [v.form for v in sor.schedule.survival_follow_up.forms] == ["last_known_alive"]
    geri = load_protocol(GERI).forms
    assert geri is not None
    assert geri.role("death") is None


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "    death: death\n",
            "    death: obituary\n",
            "  roles:",
            "roles.death names 'obituary', which is not a form of the protocol",
        ),
        (
            "    death: death\n",
            "    funeral: death\n",
            "    tumour_baseline: tumour_baseline",
            "unknown form role 'funeral'",
        ),
        (
            "    - {form: letrozole, date: start_date, cycle: 0}",
            "    - {form: letrozol, date: start_date, cycle: 0}",
            "form: letrozol,",
            "schedule.treatment_forms[1].form: 'letrozol' is not a form of the protocol",
        ),
        (
            "    forms: [{form: last_known_alive, date: date}]",
            "    forms: [{form: last_known_alive, date: contact_date}]",
            "contact_date",
            "'contact_date' is not an item of form 'last_known_alive'",
        ),
    ],
)
def test_roles_and_visit_forms_naming_no_form_are_refused(
    old: str, new: str, needle: str, message: str
) -> None:
    _refused_at(old, new, needle, message)


def test_sor_exposure_forms_declare_their_treatment() -> None:
    """SDTM EX reads what each exposure form gives from its definition (no code names them)."""
    forms = load_protocol("sor").forms
    assert forms is not None
    exposure = {f.name: f.treatment for f in forms.forms if f.sdtm_domain == "EX"}
    assert set(exposure) == {"study_drug", "docetaxel_cycle", "letrozole"}
    assert forms.role("study_drug") == "study_drug"
    study_drug = exposure["study_drug"]
    assert study_drug is not None
    assert (study_drug.name, study_drug.regimen, study_drug.dose_form) == (None, None, "TABLET")
    regimens = [getattr(exposure[n], "regimen", None) for n in ("docetaxel_cycle", "letrozole")]
    assert regimens == ["docetaxel", "letrozole"]


@pytest.mark.parametrize(
    ("old", "new", "needle", "message"),
    [
        (
            "      treatment: {regimen: letrozole}\n",
            "      treatment: {regimen: anastrozole}\n",
            "regimen: anastrozole",
            "forms.forms[5].treatment.regimen: 'anastrozole' is not a regimen of "
            "background_therapy (docetaxel, letrozole)",
        ),
        (
            "      treatment: {regimen: letrozole}\n",
            "",
            "    - name: letrozole",
            "forms.forms[5].treatment: exposure form 'letrozole' needs treatment.name or "
            "treatment.regimen",
        ),
        (
            "      treatment: {dose_form: TABLET}\n",
            "      treatment: {name: sorafenib, dose_form: TABLET}\n",
            "treatment: {name: sorafenib",
            "form 'study_drug' plays the study_drug role, so its treatment is the arms' drug",
        ),
        (
            "      treatment: {regimen: letrozole}\n",
            "      treatment: {regimen: letrozole, name: Femara}\n",
            "treatment: {regimen: letrozole, name",
            "a treatment has a name or a regimen, not both",
        ),
        (
            "      sdtm_domain: TU\n",
            "      sdtm_domain: TU\n      treatment: {name: contrast}\n",
            "    - name: tumour_baseline",
            "only an exposure form (sdtm_domain: EX) has a treatment",
        ),
    ],
)
def test_an_exposure_form_without_a_known_treatment_is_refused(
    old: str, new: str, needle: str, message: str
) -> None:
    _refused_at(old, new, needle, message)
