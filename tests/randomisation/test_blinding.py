"""No arm in any blinded view: roles (the service policy is the one source), redaction, kits."""

from __future__ import annotations

import dataclasses
import json

import pytest

from tests.randomisation._helpers import SEED
from trialkit.protocol import Protocol
from trialkit.randomisation import allocation_spec, generate_allocation_list, generate_kit_list
from trialkit.randomisation.blinding import (
    ARM_REVEALING_FIELDS,
    BlindedKit,
    BlindedRandomisation,
    RandomisationRecord,
    UnblindedRandomisation,
    emergency_view,
    kit_view,
    redact,
)
from trialkit.service.platform.policy import Role, can_see_arm

BLINDED_ROLES = [r for r in Role if r not in (Role.UNBLINDED_STATISTICIAN, Role.DSMB_MEMBER)]


@pytest.fixture(scope="module")
def records(sor: Protocol) -> list[RandomisationRecord]:
    spec = allocation_spec(sor)
    slots = generate_allocation_list(SEED, spec).slots[:40]
    kits = generate_kit_list(SEED, spec, 100).kits
    out = []
    for slot in slots:
        kit = next(
            k for k in kits if k.arm == slot.arm and k.number not in {r.kit_number for r in out}
        )
        out.append(
            RandomisationRecord(
                slot.randomisation_number,
                slot.stratum,
                kit.number,
                slot.arm,
                sor.arm(slot.arm).label,
                slot.sequence,
                slot.block,
                slot.block_size,
            )
        )
    return out


def test_only_unblinded_statisticians_and_the_dsmb_see_arms() -> None:
    assert {r for r in Role if can_see_arm(r)} == {Role.UNBLINDED_STATISTICIAN, Role.DSMB_MEMBER}
    assert not can_see_arm(Role("investigator"))
    with pytest.raises(ValueError, match="sponsor"):
        can_see_arm("sponsor")


@pytest.mark.parametrize("role", BLINDED_ROLES)
def test_no_arm_in_any_blinded_response(role: Role, records: list[RandomisationRecord]) -> None:
    for record in records:
        view = redact(record, sees_arm=can_see_arm(role))
        assert type(view) is BlindedRandomisation
        data = dataclasses.asdict(view)
        assert not set(data) & ARM_REVEALING_FIELDS
        text = json.dumps(data) + str(view)
        for leak in (record.arm_label, "Sorafenib", "Placebo", "block"):
            assert leak.lower() not in text.lower()
        assert f'"{record.arm}"' not in text
        with pytest.raises((AttributeError, TypeError)):
            view.arm = record.arm  # type: ignore[attr-defined]


def test_blinded_types_structurally_have_no_arm_block_or_position_fields() -> None:
    for kind in (BlindedRandomisation, BlindedKit):
        names = {f.name for f in dataclasses.fields(kind)}
        assert not names & ARM_REVEALING_FIELDS, kind
        assert "__dict__" not in dir(kind)  # slots: nothing can be attached later


@pytest.mark.parametrize("role", [Role.UNBLINDED_STATISTICIAN, Role.DSMB_MEMBER])
def test_unblinded_roles_see_the_arm(role: Role, records: list[RandomisationRecord]) -> None:
    view = redact(records[0], sees_arm=can_see_arm(role))
    assert isinstance(view, UnblindedRandomisation)
    assert view.arm == records[0].arm
    assert "block" not in {f.name for f in dataclasses.fields(view)}  # not needed to unblind


def test_emergency_view_reveals_one_patients_arm(records: list[RandomisationRecord]) -> None:
    view = emergency_view(records[3])
    assert (view.randomisation_number, view.arm) == (
        records[3].randomisation_number,
        records[3].arm,
    )
    assert f"arm {records[3].arm} ({records[3].arm_label})" in str(view)


@pytest.mark.parametrize("role", BLINDED_ROLES)
def test_blinded_kit_views_hide_the_kit_arm_mapping(role: Role, sor: Protocol) -> None:
    kits = generate_kit_list(SEED, allocation_spec(sor), 10).kits
    views = [kit_view(k, sees_arm=can_see_arm(role)) for k in kits]
    assert all(type(v) is BlindedKit for v in views)
    assert [v.number for v in views] == [k.number for k in kits]
    assert all("arm" not in dataclasses.asdict(v) for v in views)
    assert kit_view(kits[0], sees_arm=can_see_arm(Role.DSMB_MEMBER)) == kits[0]
