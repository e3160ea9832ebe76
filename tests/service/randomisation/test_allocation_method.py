"""A protocol asking for an allocation method the service does not run is refused, not run as
another: at ``trials add`` and at sealing, with the reason and the field."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.conftest import REPO
from tests.factories import SYSTEM
from trialkit.cli.main import main
from trialkit.errors import ProtocolError
from trialkit.protocol import load_protocol
from trialkit.service.randomisation import allocation
from trialkit.service.randomisation.tables.randomisation import AllocationSeal, AllocationSlot
from trialkit.service.randomisation.tables.supply import KitListEntry
from trialkit.service.trials import trials
from trialkit.service.trials.tables import Trial

SOR = REPO / "src" / "trialkit" / "protocol" / "protocols" / "sor.yaml"


@pytest.fixture
def minimisation_protocol(tmp_path: Path) -> Path:
    """SOR with ``allocation.method: minimisation`` (the protocol's factors and weights)."""
    text = SOR.read_text(encoding="utf-8")
    assert "  method: permuted_blocks\n" in text
    path = tmp_path / "sor-minimisation.yaml"
    path.write_text(text.replace("  method: permuted_blocks\n", "  method: minimisation\n"))
    return path


def test_a_protocol_asking_for_minimisation_is_refused_when_its_trial_is_added(
    session: Session, minimisation_protocol: Path
) -> None:
    with pytest.raises(ProtocolError, match="does not run yet") as caught:
        trials.create_trial(session=session, actor=SYSTEM, protocol_name=str(minimisation_protocol))
    assert caught.value.location == "allocation.method"
    assert "allocation.method minimisation" in caught.value.message
    assert "set allocation.method to permuted_blocks" in caught.value.message
    assert session.scalar(select(func.count()).select_from(Trial)) == 0


def test_trials_add_refuses_a_minimisation_protocol_with_exit_2_and_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    minimisation_protocol: Path,
) -> None:
    monkeypatch.setenv("TRIALKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["trials", "add", "--protocol", str(minimisation_protocol)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.strip().splitlines()
    assert "allocation.method: protocol" in line
    assert "allocation.method minimisation" in line
    assert "Traceback" not in captured.err


def test_a_trial_whose_protocol_asks_for_minimisation_is_refused_at_sealing(
    session: Session, minimisation_protocol: Path
) -> None:
    """A trial added before the check (or whose protocol file changed) is not sealed as a
    block list either: nothing is stored."""
    protocol = load_protocol(str(minimisation_protocol))
    trial = Trial(
        acronym=protocol.acronym,
        protocol_name=str(minimisation_protocol),
        protocol_version=protocol.version,
        title="SOR",
        blinding="double",
        first_enrolment=dt.date(2007, 11, 22),
        final_enrolment=dt.date(2010, 6, 30),
        created_at=dt.datetime(2007, 6, 1, tzinfo=dt.UTC),
    )
    session.add(trial)
    session.flush()
    assert trials.trial_protocol(trial).allocation.method == "minimisation"
    with pytest.raises(ProtocolError, match=r"allocation\.method minimisation") as caught:
        allocation.seal(session=session, actor=SYSTEM, trial_id=trial.id, kits=20)
    assert caught.value.location == "allocation.method"
    for table in (AllocationSeal, AllocationSlot, KitListEntry):
        assert session.scalar(select(func.count()).select_from(table)) == 0
