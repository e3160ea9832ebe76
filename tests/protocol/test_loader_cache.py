"""A protocol is parsed once per process while its file is unchanged, and afresh when it changes."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from importlib import resources
from pathlib import Path

import pytest
from pydantic import BaseModel, ValidationError

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


def _mutable_parts(value: object, path: str) -> Iterator[str]:
    """Paths of every list, dict, set or bytearray reachable from ``value``."""
    if isinstance(value, list | dict | set | bytearray):
        yield path
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _mutable_parts(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, tuple | list):
        for k, item in enumerate(value):
            yield from _mutable_parts(item, f"{path}[{k}]")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _mutable_parts(item, f"{path}[{key!r}]")


def test_the_cached_protocol_is_frozen_all_the_way_down() -> None:
    """One instance is shared per process: no caller may change any part of it."""
    sor = load_protocol("sor")
    assert list(_mutable_parts(sor, "sor")) == []
    with pytest.raises(ValidationError):
        sor.arms[0].label = "Sorafenib 800 mg"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        sor.arms.append(sor.arms[0])  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        sor.eligibility.criteria[0] = sor.eligibility.criteria[1]  # type: ignore[index]
    with pytest.raises(TypeError):
        sor.allocation.ratio["A"] = 2  # type: ignore[index]
    assert sor.allocation.minimisation is not None
    with pytest.raises(TypeError):
        sor.allocation.minimisation.weights["country"] = 9.0  # type: ignore[index]
    assert load_protocol("sor").allocation.ratio == {"A": 1, "B": 1}
    assert load_protocol("sor").arms[0].label == sor.arms[0].label


def test_a_frozen_protocol_dumps_as_before() -> None:
    """Tuples and read-only mappings dump as JSON arrays and objects, as the YAML has them."""
    dumped = load_protocol("sor").model_dump(mode="json")
    assert dumped["allocation"]["ratio"] == {"A": 1, "B": 1}
    assert isinstance(dumped["arms"], list)
    assert isinstance(dumped["allocation"]["minimisation"]["weights"], dict)
    assert isinstance(dumped["eligibility"]["criteria"][0]["requires"], list)


def test_a_broken_file_is_not_cached(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("a: [", encoding="utf-8")
    with pytest.raises(ProtocolError, match="not valid YAML"):
        load_protocol(path)
    path.write_text(_sor_text(), encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000_000))
    assert load_protocol(path).acronym == "SOR"
