"""A protocol is parsed once per process while its file is unchanged, and afresh when it changes."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import pytest
from pydantic import ValidationError

from trialkit.errors import ProtocolError
from trialkit.protocol import load_protocol


def _sor_text() -> str:
    return resources.files("trialkit.protocol.protocols").joinpath("sor.yaml").read_text("utf-8")


def test_a_bundled_protocol_is_parsed_once() -> None:
    assert load_protocol("sor") is load_protocol("SOR")


def test_an_unchanged_file_is_parsed_once_and_a_changed_one_again(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(_sor_text(), encoding="utf-8")
    first = load_protocol(path)
    assert load_protocol(str(path)) is first
    assert load_protocol(tmp_path / "." / "mine.yaml") is first  # the same file, resolved
    text = _sor_text()
    assert '\nversion: "' in text
    changed = text.replace('\nversion: "', '\nversion: "9.', 1)
    path.write_text(changed, encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    second = load_protocol(path)
    assert second is not first
    assert second.version != first.version


def test_the_cached_protocol_is_frozen() -> None:
    with pytest.raises(ValidationError):
        load_protocol("sor").version = "x"  # type: ignore[misc]


def test_a_broken_file_is_not_cached(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("a: [", encoding="utf-8")
    with pytest.raises(ProtocolError, match="not valid YAML"):
        load_protocol(path)
    path.write_text(_sor_text(), encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    assert load_protocol(path).acronym == "SOR"
