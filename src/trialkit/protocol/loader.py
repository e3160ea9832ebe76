"""Load a protocol file: a bundled name (``sor``) or a path, validated with locations.

A broken protocol file is refused with :class:`~trialkit.errors.ProtocolError`
naming the file, the line and key path, and the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from trialkit.errors import ProtocolError, RuleError
from trialkit.protocol.forms import Form, Item, referenced_paths
from trialkit.protocol.model import Protocol
from trialkit.protocol.rules import DERIVED_REFERENCE, compile_rule

__all__ = ["bundled_protocols", "load_protocol", "parse_protocol"]

_BUNDLE = "trialkit.protocol.protocols"
# libyaml's parser when PyYAML was built with it: the same safe constructors, ten times faster
# (the SOR protocol parses in 20 ms instead of 190 ms, which every command used to pay)
_YAML_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def bundled_protocols() -> list[str]:
    """Names of the protocols shipped inside the package."""
    return sorted(
        p.name.removesuffix(".yaml")
        for p in resources.files(_BUNDLE).iterdir()
        if p.name.endswith(".yaml")
    )


def load_protocol(name_or_path: str | Path) -> Protocol:
    """Load a bundled protocol by name (``"sor"``) or a protocol file by path."""
    text = str(name_or_path)
    if text.lower() in bundled_protocols() and not Path(text).exists():
        return _load_bundled(text.lower())
    path = Path(text)
    if not path.is_file():
        raise ProtocolError(
            f"no protocol named {text!r}: give a bundled name ({', '.join(bundled_protocols())}) "
            "or the path of a protocol YAML file"
        )
    try:
        resolved = path.resolve()
        stat = resolved.stat()
    except OSError as exc:
        raise ProtocolError(f"cannot read the protocol file: {exc}", location=text) from exc
    return _load_file(str(resolved), stat.st_mtime_ns, stat.st_size, text)


@lru_cache(maxsize=32)
def _load_file(resolved: str, mtime_ns: int, size: int, shown: str) -> Protocol:
    """A protocol file parsed once per process while unchanged (the key holds its mtime and size).

    The :class:`Protocol` is a frozen model, shared by every caller; a failed parse is not
    cached (``lru_cache`` keeps no exceptions), so a fixed file is read afresh.
    """
    del mtime_ns, size  # only part of the cache key
    return _read_file(Path(resolved), shown)


def _read_file(path: Path, shown: str) -> Protocol:
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ProtocolError(f"cannot read the protocol file: {exc}", location=shown) from exc
    return parse_protocol(source, filename=shown)


@lru_cache(maxsize=8)
def _load_bundled(name: str) -> Protocol:
    source = resources.files(_BUNDLE).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return parse_protocol(source, filename=f"{name}.yaml")


def _compose_and_construct(source: str) -> tuple[Any, Any]:
    """The YAML node tree (for line numbers) and the data built from it: one parse, not two."""
    loader = _YAML_LOADER(source)  # a safe loader
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    return node, data


def parse_protocol(source: str, *, filename: str = "<protocol>") -> Protocol:
    """Parse and validate protocol YAML text, compiling every rule it holds."""
    try:
        node, data = _compose_and_construct(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}" if mark is not None else filename
        problem = getattr(exc, "problem", None) or str(exc)
        raise ProtocolError(f"not valid YAML: {problem}", location=where) from exc
    if not isinstance(data, dict):
        raise ProtocolError(
            "a protocol file must be a YAML mapping of keys to values", location=filename
        )
    try:
        protocol = Protocol.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        where = f"{filename}:{_line_of(node, loc)}" if _line_of(node, loc) else filename
        more = f" (and {exc.error_count() - 1} more problem(s))" if exc.error_count() > 1 else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        raise ProtocolError(f"{_path(loc)}: {message}{more}", location=where) from exc
    _compile_rules(protocol, data, node, filename)
    _check_forms(protocol, node, filename)
    _check_schedule_forms(protocol, node, filename)
    _check_treatments(protocol, node, filename)
    return protocol


def _compile_rules(protocol: Protocol, data: dict[str, Any], node: Any, filename: str) -> None:
    expressions: list[tuple[tuple[str | int, ...], str]] = []
    for i, derived in enumerate(protocol.eligibility.derived):
        expressions.append((("eligibility", "derived", i, "expr"), derived.expr))
    for i, criterion in enumerate(protocol.eligibility.criteria):
        for key in ("rule", "reason", "applies_when"):
            value = getattr(criterion, key)
            if value is not None:
                expressions.append((("eligibility", "criteria", i, key), value))
        for j, check in enumerate(criterion.unknown_when):
            expressions.append(
                (("eligibility", "criteria", i, "unknown_when", j, "when"), check.when)
            )
            if check.detail is not None:
                expressions.append(
                    (("eligibility", "criteria", i, "unknown_when", j, "detail"), check.detail)
                )
    if protocol.background_therapy is not None:
        for i, rule in enumerate(protocol.background_therapy.rules):
            expressions.append((("background_therapy", "rules", i, "when"), rule.when))
        for i, check in enumerate(protocol.background_therapy.no_assignment):
            expressions.append((("background_therapy", "no_assignment", i, "when"), check.when))
    _check_derived_references(protocol, node, filename)
    for loc, expression in expressions:
        line = _line_of(node, loc)
        where = f"{filename}:{line}" if line else filename
        try:
            compile_rule(expression, where=f"{where} {_path(loc)}")
        except RuleError as exc:
            raise ProtocolError(exc.message, location=exc.location) from exc


def _path(loc: Sequence[Any]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_of(node: Any, loc: Sequence[Any]) -> int | None:
    """1-based line of the YAML node at a pydantic location, as deep as it exists."""
    current = node
    line: int | None = current.start_mark.line + 1 if current is not None else None
    for part in loc:
        if isinstance(current, yaml.MappingNode) and isinstance(part, str):
            match = next((v for k, v in current.value if k.value == part), None)
        elif (
            isinstance(current, yaml.SequenceNode)
            and isinstance(part, int)
            and part < len(current.value)
        ):
            match = current.value[part]
        else:
            match = None
        if match is None:
            break
        current = match
        line = current.start_mark.line + 1
    return line


def _check_derived_references(protocol: Protocol, node: Any, filename: str) -> None:
    """Every ``d.name`` must name a derived value; a derived value only those before it."""
    names = [d.name for d in protocol.eligibility.derived]
    for i, derived in enumerate(protocol.eligibility.derived):
        for ref in DERIVED_REFERENCE.findall(derived.expr):
            if ref not in names[:i]:
                loc = ("eligibility", "derived", i, "expr")
                raise ProtocolError(
                    f"{_path(loc)}: d.{ref} is not a derived value defined before {derived.name!r}",
                    location=f"{filename}:{_line_of(node, loc)}",
                )
    for i, criterion in enumerate(protocol.eligibility.criteria):
        for key in ("rule", "reason", "applies_when"):
            for ref in DERIVED_REFERENCE.findall(getattr(criterion, key) or ""):
                if ref not in names:
                    loc = ("eligibility", "criteria", i, key)
                    raise ProtocolError(
                        f"{_path(loc)}: d.{ref} is not a derived value of the protocol",
                        location=f"{filename}:{_line_of(node, loc)}",
                    )


def _check_schedule_forms(protocol: Protocol, node: Any, filename: str) -> None:
    """Every form the visit schedule names is a form of the protocol, with the date item
    (and cycle item) it names."""
    schedule = protocol.schedule
    if schedule is None:
        return
    entries: list[tuple[tuple[str | int, ...], Any]] = [
        (("schedule", "treatment_forms", i), v) for i, v in enumerate(schedule.treatment_forms)
    ]
    for key in ("tumour_assessments", "survival_follow_up"):
        visits = getattr(schedule, key)
        entries += [(("schedule", key, "forms", i), v) for i, v in enumerate(visits.forms)]
    if not entries:
        return
    forms = protocol.forms
    names = [] if forms is None else [f.name for f in forms.forms]
    for loc, entry in entries:
        line = _line_of(node, loc)
        where = f"{filename}:{line}" if line else filename
        if forms is None or entry.form not in names:
            raise ProtocolError(
                f"{_path((*loc, 'form'))}: {entry.form!r} is not a form of the protocol "
                f"({', '.join(names) or 'none defined under forms'})",
                location=where,
            )
        form = forms.form(entry.form)
        for key in ("date", "cycle"):
            path = getattr(entry, key)
            if isinstance(path, str) and not form.has_path(path):
                raise ProtocolError(
                    f"{_path((*loc, key))}: {path!r} is not an item of form {form.name!r}",
                    location=where,
                )


def _check_forms(protocol: Protocol, node: Any, filename: str) -> None:
    """Every code list a form names exists; every form expression compiles and names only
    items of its form (``r.path``) or of its repeating group (``g.path``)."""
    if protocol.forms is None:
        return
    known = {c.name for c in protocol.forms.code_lists}

    def refuse(loc: tuple[str | int, ...], message: str) -> ProtocolError:
        line = _line_of(node, loc)
        return ProtocolError(
            f"{_path(loc)}: {message}", location=f"{filename}:{line}" if line else filename
        )

    for f, form in enumerate(protocol.forms.forms):
        base: tuple[str | int, ...] = ("forms", "forms", f)
        for loc, item, group in _form_items(form, base):
            for key in ("codelist", "special_codes"):
                name = getattr(item, key)
                if name is not None and name not in known:
                    raise refuse(
                        (*loc, key),
                        f"unknown code list {name!r}; define it under forms.code_lists "
                        f"({', '.join(sorted(known)) or 'none defined'})",
                    )
            for key in ("show_when", "derived"):
                expression = getattr(item, key)
                if expression is not None:
                    _check_expression(form, group, expression, (*loc, key), refuse, filename)
        for c, check in enumerate(form.checks):
            loc = (*base, "checks", c)
            _check_expression(form, None, check.expr, (*loc, "expr"), refuse, filename)
            if not form.has_path(check.item):
                raise refuse((*loc, "item"), f"{check.item!r} is not an item of form {form.name!r}")


def _check_treatments(protocol: Protocol, node: Any, filename: str) -> None:
    """Every exposure form (``sdtm_domain: EX``) says what its records give: the form playing
    the ``study_drug`` role the arms' drug, any other a named treatment or a background-therapy
    regimen of the protocol (the SDTM EX domain's ``EXTRT``)."""
    if protocol.forms is None:
        return
    study_drug = protocol.forms.role("study_drug")
    therapy = protocol.background_therapy
    regimens = [r.id for r in therapy.regimens] if therapy is not None else []
    for f, form in enumerate(protocol.forms.forms):
        if form.sdtm_domain != "EX":
            continue
        loc: tuple[str | int, ...] = ("forms", "forms", f, "treatment")
        line = _line_of(node, loc)
        where = f"{filename}:{line}" if line else filename
        treatment = form.treatment
        named = treatment is not None and (treatment.name or treatment.regimen) is not None
        if form.name == study_drug:
            if named:
                raise ProtocolError(
                    f"{_path(loc)}: form {form.name!r} plays the study_drug role, so its "
                    "treatment is the arms' drug; leave out name and regimen",
                    location=where,
                )
            continue
        if treatment is None or not named:
            raise ProtocolError(
                f"{_path(loc)}: exposure form {form.name!r} needs treatment.name or "
                "treatment.regimen (the treatment its records give, SDTM EXTRT)",
                location=where,
            )
        if treatment.regimen is not None and treatment.regimen not in regimens:
            raise ProtocolError(
                f"{_path((*loc, 'regimen'))}: {treatment.regimen!r} is not a regimen of "
                f"background_therapy ({', '.join(regimens) or 'none defined'})",
                location=where,
            )


def _form_items(
    form: Form, base: tuple[str | int, ...]
) -> list[tuple[tuple[str | int, ...], Item, Item | None]]:
    """Every item of a form with its location in the file and its repeating group, if any."""
    out: list[tuple[tuple[str | int, ...], Item, Item | None]] = []

    def visit(item: Item, loc: tuple[str | int, ...], group: Item | None) -> None:
        out.append((loc, item, group))
        inner = item if item.repeating else group
        for j, child in enumerate(item.items):
            visit(child, (*loc, "items", j), inner)

    for s, section in enumerate(form.sections):
        for i, item in enumerate(section.items):
            visit(item, (*base, "sections", s, "items", i), None)
    return out


def _check_expression(
    form: Form,
    group: Item | None,
    expression: str,
    loc: tuple[str | int, ...],
    refuse: Any,
    filename: str,
) -> None:
    try:
        compile_rule(expression, where=f"{filename} {_path(loc)}")
    except RuleError as exc:
        raise refuse(loc, exc.message) from exc
    for variable, path in referenced_paths(expression):
        if variable == "r" and not form.has_path(path):
            raise refuse(loc, f"r.{path} names no item of form {form.name!r}: {expression}")
        if variable == "g" and (group is None or not _group_has(group, path)):
            where = f"group {group.name!r}" if group is not None else "no repeating group"
            raise refuse(loc, f"g.{path} names no item of {where}: {expression}")


def _group_has(group: Item, path: str) -> bool:
    items = group.items
    for part in path.split("."):
        found = next((i for i in items if i.name == part), None)
        if found is None:
            return False
        if found.type == "lab" or found.keyed or found.multiple:
            return True
        items = found.items
    return True
