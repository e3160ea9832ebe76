"""A MedDRA release the sponsor licenses, imported from its ASCII files (the tests' one is
made up): searched by name, and an SAE's lowest level term code checked against it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.service.api_fixtures import World
from tests.service.safety.test_api_sae import sae_values
from trialkit.cli.main import main
from trialkit.errors import PermissionDenied
from trialkit.service.platform.db.database import Database
from trialkit.service.platform.policy import Role
from trialkit.service.platform.principal import Principal
from trialkit.service.platform.transaction import transaction
from trialkit.service.safety import terms

MEDDRA = Path(__file__).parents[2] / "safety" / "meddra"


def test_an_imported_release_checks_the_codes_of_sae_reports(
    client: TestClient, world: World, db: Database
) -> None:
    url = f"/api/patients/{world.randomised}/saes"
    site = world.headers(Role.INVESTIGATOR, "own")
    # no release imported: any code is taken as it is
    assert (
        client.post(url, json={"values": sae_values(meddra_llt=12345678)}, headers=site).status_code
        == 201
    )
    with transaction(db) as session:
        assert terms.import_meddra(
            session=session, actor=Principal.system(), folder=MEDDRA, version="made-up 1.0"
        ) == ("made-up 1.0", 4)
    refused = client.post(url, json={"values": sae_values(meddra_llt=12345678)}, headers=site)
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["loc"] == ["body", "values", "meddra_llt"]
    taken = client.post(url, json={"values": sae_values(meddra_llt=92000002)}, headers=site)
    assert taken.status_code == 201
    found = client.get("/api/safety/meddra?q=PALM", headers=site).json()
    assert [(t["llt_code"], t["pt_name"]) for t in found] == [(92000002, "Made-up hand rash")]


def test_only_an_administrator_imports_a_release(session: Session, world: World) -> None:
    monitor = Principal(user_id=None, username="m", grants=())
    with pytest.raises(PermissionDenied):
        terms.import_meddra(session=session, actor=monitor, folder=MEDDRA)


def test_the_command_imports_a_release_and_tells_overdue_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRIALKIT_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    assert main(["db", "upgrade"]) == 0
    assert main(["trials", "add", "--protocol", "sor"]) == 0
    capsys.readouterr()
    assert main(["safety", "meddra-import", str(MEDDRA), "--version", "x1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"version": "x1", "terms": 4}
    assert main(["safety", "overdue", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"trial": "SOR", "notified": []}
    assert main(["safety", "meddra-import", str(tmp_path)]) == 2  # no llt.asc there
