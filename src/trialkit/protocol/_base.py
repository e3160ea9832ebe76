"""The frozen base model and read-only mapping every protocol model part is built from."""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainSerializer

__all__ = ["NAME", "ReadOnlyMapping", "_Frozen"]

NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


V = TypeVar("V")


def _read_only(value: Mapping[str, V]) -> Mapping[str, V]:
    return MappingProxyType(dict(value))


ReadOnlyMapping = Annotated[
    Mapping[str, V],
    AfterValidator(_read_only),
    PlainSerializer(dict, return_type=dict[str, Any]),
]
"""A mapping field that cannot be changed after validation (a ``MappingProxyType`` over a copy).

Written and validated as a YAML/JSON object; dumped as a plain ``dict``.
"""
