"""Shared test helpers: the repository's paths and the bundled protocol."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from trialkit.protocol import Protocol, load_protocol

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples" / "sor"
# the registry record, vendored beside the protocol it is the source of; the shared copy
# beside the repository is the original
RECORD = REPO / "src" / "trialkit" / "protocol" / "protocols" / "sor.registry-record.txt"
SHARED_RECORD = REPO.parent / "shared" / "seed" / "000_f8980bc5da93917f.txt"


@pytest.fixture(scope="session")
def sor() -> Protocol:
    return load_protocol("sor")


def example(name: str) -> dict[str, Any]:
    """An example screening record as raw JSON data."""
    data: dict[str, Any] = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    return data
