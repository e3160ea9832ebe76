"""Factories for the eligibility tests: records patched from the complete eligible example.

Every test starts from ``examples/sor/01_endocrine_bone_only.json`` (eligible on every
criterion: ER+/PgR+, HER2 IHC 1+, bone-only disease, post-menopausal, planned randomisation
2008-03-14) and changes only what the case is about, so a failure points at one criterion.

A patch is a nested dict deep-merged into the example: dicts merge key by key, any other
value (lists included) replaces, and the string ``DELETE`` removes the key, so the field is
*not recorded* (``None`` in the record).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest
from tests.records import sor_record

from trialkit.eligibility import EligibilityResult, evaluate_eligibility
from trialkit.protocol import Protocol, load_protocol

REPO_ROOT = Path(__file__).resolve().parents[2]
ELIGIBLE_EXAMPLE = REPO_ROOT / "examples" / "sor" / "01_endocrine_bone_only.json"

#: Sentinel value in a patch: remove this key from the record (the datum is not recorded).
DELETE = "<delete>"


def deep_merge(
    base: Mapping[str, Any], patch: Mapping[str, Any], *, path: str = "$"
) -> dict[str, Any]:
    """``base`` with ``patch`` merged in; ``DELETE`` removes a key that must exist."""
    out = copy.deepcopy(dict(base))
    for key, value in patch.items():
        where = f"{path}.{key}"
        if value == DELETE:
            if key not in out:
                raise KeyError(f"cannot delete {where}: not in the record")
            del out[key]
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value, path=where)
        elif isinstance(value, Mapping):
            out[key] = deep_merge({}, value, path=where)
        else:
            out[key] = copy.deepcopy(value)
    return out


def record_data(*patches: Mapping[str, Any]) -> dict[str, Any]:
    """The eligible example as raw JSON data, with the patches applied in order."""
    data: dict[str, Any] = json.loads(ELIGIBLE_EXAMPLE.read_text(encoding="utf-8"))
    for patch in patches:
        data = deep_merge(data, patch)
    return data


def build_record(*patches: Mapping[str, Any]) -> dict[str, Any]:
    """A validated screening record: the eligible example with the patches applied in order."""
    return sor_record(record_data(*patches))


@pytest.fixture(scope="session")
def sor_protocol() -> Protocol:
    return load_protocol("sor")


@pytest.fixture
def make_record() -> Callable[..., dict[str, Any]]:
    return build_record


@pytest.fixture(scope="session")
def evaluate(sor_protocol: Protocol) -> Callable[..., EligibilityResult]:
    """Evaluate the SOR criteria for the eligible example with patches applied.

    Results are frozen and evaluation is deterministic, so each distinct record is
    evaluated once per session (CEL interpretation is the slow part of the suite).
    """
    results: dict[str, EligibilityResult] = {}

    def run(*patches: Mapping[str, Any]) -> EligibilityResult:
        key = json.dumps(patches, sort_keys=True)
        if key not in results:
            results[key] = evaluate_eligibility(sor_protocol, build_record(*patches))
        return results[key]

    return run
