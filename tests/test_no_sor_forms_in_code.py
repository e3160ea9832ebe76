"""SOR's forms and items live in its protocol file: a module outside ``protocol/`` and
``demodata/`` that names one of them is a form written a second time in code.

``NOT_YET`` listed the modules that still named SOR forms from before forms were data; it is
empty now (the service finds forms by role or by definition), and a module that names a SOR
form or item fails this test.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from trialkit.protocol import load_protocol
from trialkit.protocol.forms import FormRole

SRC = Path(__file__).parents[1] / "src" / "trialkit"
GENERIC = {"patient", "body", "consent", "history", "disease", "death", "alt", "ast", "inr"}
"""Words that are SOR item or form names but also the service's own vocabulary."""
ROLES = set(get_args(FormRole))
"""The roles a protocol gives its forms (``forms.roles``), which SOR's form names repeat: a
role name on a line that looks the role up (``forms.role("end_of_study")``) names the role,
not the form."""

NOT_YET = {}


def _tokens() -> tuple[set[str], re.Pattern[str]]:
    forms = load_protocol("sor").forms
    assert forms is not None
    assert forms.screening is not None
    names = {f.name for f in forms.forms if f.used != "screening"}
    words = names | {i.name for i in forms.screening.items if i.type == "group"}
    words |= {i.name for _, i in forms.screening.walk() if i.type == "lab"}
    words -= GENERIC
    quoted = "|".join(sorted(words))
    members = "|".join(sorted(n.upper() for n in names))
    return words, re.compile(rf"""(["'])({quoted})\1|\bForm\.({members})\b""")


def _names_the_form(text: str, match: re.Match[str]) -> bool:
    """Whether a match names a form, not a role looked up (see ``ROLES``)."""
    if match.group(2) not in ROLES:
        return True
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    return "role" not in text[start : end if end >= 0 else len(text)].lower()


def _naming() -> dict[str, set[str]]:
    _, pattern = _tokens()
    found: dict[str, set[str]] = {}
    for path in sorted(SRC.rglob("*.py")):
        module = path.relative_to(SRC).as_posix()
        if module.startswith(("protocol/", "demodata/")):
            continue
        text = path.read_text()
        hits = {
            m.group(2) or m.group(3).lower()
            for m in pattern.finditer(text)
            if _names_the_form(text, m)
        }
        if hits:
            found[module] = hits
    return found


def test_no_new_module_names_a_sor_form_or_item() -> None:
    naming = _naming()
    new = {module: sorted(hits) for module, hits in naming.items() if module not in NOT_YET}
    assert new == {}, "SOR forms belong in sor.yaml; read them from protocol.forms"


def test_the_list_of_modules_still_naming_sor_forms_only_shrinks() -> None:
    """A module that no longer names them leaves the list (so it cannot come back)."""
    assert sorted(set(NOT_YET) - set(_naming())) == []


def test_the_check_sees_a_form_named_in_code(tmp_path: Path) -> None:
    words, pattern = _tokens()
    assert {"adverse_event", "menopause", "haemoglobin"} <= words
    assert pattern.search('kind = "adverse_event"')
    assert pattern.search("if form == Form.TUMOUR_BASELINE:")
    assert not pattern.search('kind = "adverse"')
