"""Move the shell into capability slices (issue 16) and rewrite every reference to a moved module.

Run from the repository root: ``python tools/slices_move.py``. It ``git mv``'s each module of the
old layout (``store/``, ``service/*.py``, ``api/``, ``web/``, ``randomization/``) that is still
there to its slice, then rewrites imports (``from trialkit.service import trials`` becomes
``from trialkit.service.trials import trials``; names re-exported by the old ``trialkit.service``
and ``trialkit.store`` packages are imported from the module defining them), dotted references in
strings and docs, and file paths. It is idempotent: run it again after merging work done on the
old layout, and it moves and rewrites only what is still old.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PKG = ROOT / "src" / "trialkit"

P = "service/platform"
SERVICE_MODULES = {
    # platform: database and transaction, clock, principal, policy, security, auth, sessions, audit
    "audit": P,
    "auth": P,
    "boundary": P,
    "request_boundary": P,
    "calendar": P,
    "health": P,
    "policy": P,
    "principal": P,
    "security": P,
    "sessions": P,
    "transaction": P,
    "views": P,
    # trials: trials, sites, ethics approvals, users
    "trials": "service/trials",
    "users": "service/trials",
    # screening: patients, screening records, eligibility evaluations, consent
    "patients": "service/screening",
    "screening": "service/screening",
    # randomisation: randomise, allocation, kits, supply, dispensing, unblinding
    "allocation": "service/randomisation",
    "randomisation": "service/randomisation",
    "randomised": "service/randomisation",
    "supply": "service/randomisation",
    "dispensings": "service/randomisation",
    "dispensing_check": "service/randomisation",
    "reports": "service/randomisation",
    # capture: forms, records, queries, edit checks, visits, the endpoints derived from them
    "capture": "service/capture",
    "clinical": "service/capture",
    "edit_checks": "service/capture",
    "forms": "service/capture",
    "queries": "service/capture",
    "visits": "service/capture",
    "recist_preview": "service/capture",
    "patient_status": "service/capture",
    # oversight: monitoring, exports, trial report, forecast, simulation runs
    "monitoring": "service/oversight",
    "outcomes": "service/capture",  # endpoints derived from the captured records
    "patient_pfs": "service/capture",
    "exports": "service/oversight",
    "sdtm": "service/oversight",
    "sdtm_spec": "service/oversight",
    "sdtm_checks": "service/oversight",
    "define_xml": "service/oversight",
    "trial_report": "service/oversight",
    "forecast": "service/oversight",
    "simulation": "service/oversight",
    # above every slice
    "demo": "service",
}

# old path (relative to src/trialkit, file or folder) -> new path
MOVES: dict[str, str] = {f"service/{m}.py": f"{d}/{m}.py" for m, d in SERVICE_MODULES.items()}
MOVES.update(
    {
        # the store: the database and migrations to platform, each table module to its slice
        "store/base.py": f"{P}/db/base.py",
        "store/database.py": f"{P}/db/database.py",
        "store/migrate.py": f"{P}/db/migrate.py",
        "store/migrations": f"{P}/db/migrations",
        "store/audit.py": f"{P}/tables/audit.py",
        "store/people.py": f"{P}/tables/people.py",
        "store/trials.py": "service/trials/tables.py",
        "store/patients.py": "service/screening/tables.py",
        "store/randomisation.py": "service/randomisation/tables/randomisation.py",
        "store/supply.py": "service/randomisation/tables/supply.py",
        "store/capture.py": "service/capture/tables.py",
        "store/__init__.py": "service/tables.py",  # every slice's tables on one metadata
        # API: shared dependencies and routes to platform, each route module to its slice
        "api/app.py": "service/app.py",
        "api/deps.py": f"{P}/api/deps.py",
        "api/errors.py": f"{P}/api/errors.py",
        "api/permissions.py": f"{P}/api/permissions.py",
        "api/schemas.py": f"{P}/api/schemas.py",
        "api/routes/health.py": f"{P}/api/health.py",
        "api/routes/audit.py": f"{P}/api/audit.py",
        "api/routes/auth.py": "service/trials/api/auth.py",  # GET /api/me reads the user's roles
        "api/routes/trials.py": "service/trials/api/trials.py",
        "api/routes/users.py": "service/trials/api/users.py",
        "api/routes/patients.py": "service/screening/api.py",
        "api/routes/randomisation.py": "service/randomisation/api.py",
        "api/routes/capture.py": "service/capture/api.py",
        "api/routes/forecast.py": "service/oversight/api/forecast.py",
        "api/routes/reports.py": "service/oversight/api/reports.py",
        # pages: shared dependencies, rendering, templates to platform, each page to its slice
        "web/__init__.py": "service/pages.py",
        "web/deps.py": f"{P}/pages/deps.py",
        "web/errors.py": f"{P}/pages/errors.py",
        "web/rendering.py": f"{P}/pages/rendering.py",
        "web/labels.py": f"{P}/pages/labels.py",
        "web/clock.py": f"{P}/pages/clock.py",
        "web/templates": f"{P}/pages/templates",
        "web/static": f"{P}/pages/static",
        "web/locale": f"{P}/pages/locale",
        "web/routes/auth.py": f"{P}/pages/auth.py",
        "web/routes/home.py": f"{P}/pages/home.py",
        "web/routes/admin.py": "service/trials/pages.py",
        "web/checklist.py": "service/screening/pages/checklist.py",
        "web/screening_form.py": "service/screening/pages/screening_form.py",
        "web/routes/randomise.py": "service/randomisation/pages/randomise.py",
        "web/routes/pharmacy.py": "service/randomisation/pages/pharmacy.py",
        "web/routes/clinical.py": "service/capture/pages/clinical.py",
        "web/clinical_forms.py": "service/capture/pages/clinical_forms.py",
        "web/patient_summary.py": "service/capture/pages/patient_summary.py",
        "web/routes/patients.py": "service/capture/pages/patients.py",
        "web/routes/monitor.py": "service/oversight/pages/monitor.py",
        "web/routes/forecast.py": "service/oversight/pages/forecast.py",
        "web/routes/reports.py": "service/oversight/pages/reports.py",
        "web/routes/design.py": "service/oversight/pages/design.py",
        "server.py": "service/server.py",
        # one spelling
        "randomization": "randomisation",
        "cli/randomization.py": "cli/randomisation.py",
    }
)
DELETED = ["api/__init__.py", "api/routes/__init__.py", "web/routes/__init__.py"]

NEW_PACKAGES = {
    "service/platform": "The platform slice: database, transaction, clock, principal, policy, "
    "security,\nauth, sessions, audit, and what the API and the pages share.",
    f"{P}/db": "The database: declarative base, engine factory and Alembic migrations.",
    f"{P}/tables": "The platform's tables: users, roles, login sessions, the audit trail.",
    f"{P}/api": "What every API route shares (dependencies, errors, permissions, schemas), and "
    "the\nplatform's own routes (health, audit trail).",
    f"{P}/pages": "What every page shares (dependencies, error pages, rendering, labels, clock), "
    "the\ntemplates, and the platform's own pages (login, home).",
    "service/trials": "The trials slice: trials, sites, ethics approvals, users.",
    "service/trials/api": "API routes of the trials slice: trials, sites, users, login.",
    "service/screening": "The screening slice: patients, screening records, eligibility, consent.",
    "service/screening/pages": "What the screening pages share: the screening form and the "
    "eligibility checklist.",
    "service/randomisation": "The randomisation slice: randomise, allocation and kit lists, "
    "trial supply,\ndispensing, unblinding.",
    "service/randomisation/tables": "The randomisation slice's tables: allocation and "
    "randomisation, kits and supply.",
    "service/randomisation/pages": "Pages of the randomisation slice: randomise, pharmacy.",
    "service/capture": "The capture slice: forms, records, queries, edit checks, visits, and the "
    "endpoints\nderived from the records (outcomes, a patient's PFS).",
    "service/capture/pages": "Pages of the capture slice: the patient page and its clinical forms.",
    "service/oversight": "The oversight slice: monitoring, exports, trial report, "
    "forecast,\nsimulation runs.",
    "service/oversight/api": "API routes of the oversight slice: forecast, trial report.",
    "service/oversight/pages": "Pages of the oversight slice: monitor, forecast, reports, design.",
}

# test files: old path (relative to tests/) -> new path
TEST_SLICE = {
    "platform": [
        "service/test_auth.py",
        "service/test_calendar.py",
        "service/test_session_sweep.py",
        "service/test_session_timeout.py",
        "service/test_boundary.py",
        "service/test_kept_refusals.py",
    ],
    "trials": ["service/test_sites.py"],
    "screening": ["service/test_patients.py"],
    # (added on main during the move)
    "randomisation": [
        "service/test_allocation_audit.py",
        "service/test_allocation_method.py",
        "service/test_blinded_supply.py",
        "service/test_concurrency.py",
        "service/test_dispensing_check.py",
        "service/test_enrolment_cap.py",
        "service/test_kit_order_blinded.py",
        "service/test_randomisation.py",
        "service/test_lock_order.py",
        "service/test_supply_rules_one.py",
    ],
    "capture": [
        "service/test_capture.py",
        "service/test_patient_pages_service.py",
        "service/test_patient_status.py",
    ],
    "oversight": [
        "service/test_forecast.py",
        "service/test_report_queries.py",
        "service/test_sdtm_export.py",
        "service/test_trial_report.py",
    ],
}
TEST_MOVES: dict[str, str] = {
    old: f"service/{slice_}/{Path(old).name}" for slice_, olds in TEST_SLICE.items() for old in olds
}
TEST_MOVES.update(
    {
        "store/test_audit_append_only.py": "service/platform/test_audit_append_only.py",
        "store/test_audit_chain.py": "service/platform/test_audit_chain.py",
        "store/test_clock.py": "service/platform/test_clock.py",
        "store/test_migrations.py": "service/platform/test_migrations.py",
        "store/test_screening_result_column.py": (
            "service/screening/test_screening_result_column.py"
        ),
        "service/test_randomise_readiness.py": "service/randomisation/test_randomise_readiness.py",
        "web/test_checklist.py": "service/screening/test_pages_checklist.py",
        "web/test_randomise_page.py": "service/randomisation/test_pages_randomise.py",
        "web/test_code_lists.py": "service/capture/test_pages_code_lists.py",
        # the HTTP tests: their fixtures are plugins (tests/conftest.py), each test to its slice
        "api/conftest.py": "service/api_fixtures.py",
        "web/conftest.py": "service/page_fixtures.py",
        "api/test_api.py": "service/platform/test_api.py",
        "api/test_authorisation_matrix.py": "service/platform/test_api_authorisation_matrix.py",
        "api/test_hostile_input.py": "service/platform/test_hostile_input.py",
        "api/test_permission_first.py": "service/platform/test_api_permission_first.py",
        "api/test_record_clock.py": "service/platform/test_api_record_clock.py",
        "api/test_session_timeout.py": "service/platform/test_api_session_timeout.py",
        "api/test_clinical_followup_routes.py": "service/capture/test_api_clinical_followup.py",
        "api/test_one_site_bad_date.py": "service/capture/test_api_one_site_bad_date.py",
        "api/test_report_audit.py": "service/oversight/test_api_report_audit.py",
        "api/test_unblinding_lockout.py": "service/randomisation/test_api_unblinding_lockout.py",
        "web/test_allocation_audit_page.py": "service/randomisation/test_pages_allocation_audit.py",
        "web/test_browser_hygiene.py": "service/platform/test_pages_browser_hygiene.py",
        "web/test_error_pages.py": "service/platform/test_pages_errors.py",
        "web/test_i18n.py": "service/platform/test_pages_i18n.py",
        "web/test_record_clock.py": "service/platform/test_pages_record_clock.py",
        "web/test_session_timeout.py": "service/platform/test_pages_session_timeout.py",
        "web/test_screening_form.py": "service/screening/test_pages_screening_form.py",
        "web/test_trial_pages.py": "service/capture/test_pages_trial.py",
        "web/test_monitor_pages.py": "service/oversight/test_pages_monitor.py",
        "web/test_reports_pages.py": "service/oversight/test_pages_reports.py",
        "web/test_demo_pages.py": "service/test_demo_pages.py",  # every role's pages
        "web/test_pages.py": "service/test_pages.py",  # every role's pages
        "randomization": "randomisation",
        "cli/test_randomization_cli.py": "cli/test_randomisation_cli.py",
    }
)
TEXT_RENAMES = {
    "tests.randomization": "tests.randomisation",
    "tests/randomization": "tests/randomisation",
    "bench_randomization": "bench_randomisation",
    "trialkit randomization": "trialkit randomisation",
    "test_randomization_cli": "test_randomisation_cli",
}
for _old, _new in TEST_MOVES.items():
    if _old.endswith(".py"):
        TEXT_RENAMES[f"tests/{_old}"] = f"tests/{_new}"
        TEXT_RENAMES["tests." + _old.removesuffix(".py").replace("/", ".")] = (
            "tests." + _new.removesuffix(".py").replace("/", ".")
        )
OTHER_MOVES = {"benchmarks/bench_randomization.py": "benchmarks/bench_randomisation.py"}

# names the old re-exporting packages gave, by the old module defining them
REEXPORTS = {
    "trialkit.service": {
        "Action": "policy",
        "Role": "policy",
        "authorize": "policy",
        "can_see_arm": "policy",
        "Grant": "principal",
        "Principal": "principal",
        "Security": "security",
        "enrolment_open": "trials",
        "transaction": "transaction",  # the function, imported eagerly by the old package
    },
    "trialkit.api": {"create_app": "app"},
}


def dotted(path: str) -> str:
    return "trialkit." + path.removesuffix(".py").replace("/", ".")


def module_map() -> dict[str, str]:
    """Old dotted module -> new dotted module (longest prefixes first)."""
    out = {dotted(old): dotted(new) for old, new in MOVES.items()}
    out["trialkit.web"] = "trialkit.service.pages"  # web/__init__.py
    out["trialkit.store"] = "trialkit.service.tables"
    out["trialkit.api.app"] = "trialkit.service.app"
    return out


MODULES = module_map()
OLD_SORTED = sorted(MODULES, key=len, reverse=True)


def store_reexports() -> dict[str, str]:
    """Names of the old ``trialkit.store`` package -> new module defining them."""
    init = PKG / "service" / "tables.py"
    if not init.exists():
        init = PKG / "store" / "__init__.py"
    names: dict[str, str] = {}
    for node in ast.parse(init.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                names[alias.name] = rename_dotted(node.module)
    return names


def new_modules() -> set[str]:
    out = set()
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG.parent).with_suffix("")
        name = ".".join(rel.parts)
        out.add(name.removesuffix(".__init__"))
    return out


NEW: set[str] = set()
FIRST_RUN = (PKG / "service" / "trials.py").exists()


def rename_dotted(name: str) -> str:
    """An old dotted name in the new layout; a name already new is returned as it is."""
    for old in OLD_SORTED:
        if name == old or name.startswith(old + "."):
            rest = name[len(old) :]
            if not rest and not FIRST_RUN and name in NEW:
                return name  # a slice package named like an old module: already new
            # already new? (e.g. trialkit.service.trials.trials is the new module)
            parts = name.split(".")
            for i in range(len(old.split(".")) + 1, len(parts) + 1):
                if ".".join(parts[:i]) in NEW and ".".join(parts[:i]) not in MODULES:
                    return name
            if old in ("trialkit.service", "trialkit.api") and rest:
                head = rest[1:].split(".")[0]
                mod = REEXPORTS[old].get(head)
                if mod is not None and old == "trialkit.service":
                    return MODULES[f"trialkit.service.{mod}"] + rest
            return MODULES[old] + rest
    return name


def resolve_from(module: str, name: str, store_names: dict[str, str]) -> tuple[str, str]:
    """``from module import name`` in the new layout: (module, name)."""
    if module in REEXPORTS and name in REEXPORTS[module]:
        base = "trialkit.service" if module == "trialkit.service" else "trialkit.api"
        return MODULES[f"{base}.{REEXPORTS[module][name]}"], name
    if module in NEW and module not in MODULES and module != "trialkit.service":
        return module, name  # already new
    if module in NEW and f"{module}.{name}" in NEW and module != "trialkit.service":
        return module, name  # a slice package and one of its modules
    if f"{module}.{name}" in MODULES and f"{module}.{name}" not in NEW:
        new = MODULES[f"{module}.{name}"]
        parent, _, last = new.rpartition(".")
        return parent, last
    if module == "trialkit.store" and name in store_names:
        return store_names[name], name
    if module == "trialkit.service" and f"trialkit.service.{name}" in MODULES:
        new = MODULES[f"trialkit.service.{name}"]
        parent, _, last = new.rpartition(".")
        return parent, last
    if module in MODULES and module in NEW and f"{module}.{name}" not in NEW:
        return MODULES[module], name  # a name of an old module named like its new slice
    return rename_dotted(module), name


FROM_IMPORT = re.compile(
    r"^(?P<indent>[ \t]*)from[ \t]+(?P<module>trialkit(?:\.\w+)*)[ \t]+import[ \t]+"
    r"(?P<names>\([^)]*\)|[^\n]*(?:\\\n[^\n]*)*)",
    re.MULTILINE,
)
DOTTED = re.compile(r"(?<![\w.])trialkit(?:\.\w+)+")
SLASHED = re.compile(r"(?<![\w])(?:src/)?trialkit/[\w/]*\w(?:\.py)?")


def rewrite_from(match: re.Match[str], store_names: dict[str, str]) -> str:
    indent, module, names = match["indent"], match["module"], match["names"]
    body = names.strip()
    comment = ""
    if not body.startswith("(") and "#" in body:
        body, _, c = body.partition("#")
        comment = "  #" + c
    body = body.strip("()").replace("\\\n", " ")
    items = []
    for raw in body.split(","):
        raw = re.sub(r"#[^\n]*", "", raw).strip()
        if not raw:
            continue
        name, _, alias = raw.partition(" as ")
        items.append((name.strip(), alias.strip()))
    if not items or any(not n.isidentifier() for n, _ in items):
        return match.group(0)
    groups: dict[str, list[str]] = {}
    for name, alias in items:
        target, new_name = resolve_from(module, name, store_names)
        shown = new_name if not alias else f"{new_name} as {alias}"
        if not alias and new_name != name:
            shown = f"{new_name} as {name}"
        groups.setdefault(target, []).append(shown)
    if list(groups) == [module] and [n for n, _ in items] == [
        s.split(" as ")[0] for s in groups[module]
    ]:
        return match.group(0)
    lines = []
    for target, shown in groups.items():
        line = f"{indent}from {target} import {', '.join(shown)}"
        if len(line) > 99:
            inner = "".join(f"{indent}    {s},\n" for s in shown)
            line = f"{indent}from {target} import (\n{inner}{indent})"
        lines.append(line)
    return "\n".join(lines) + comment


def rewrite_slashed(match: re.Match[str]) -> str:
    text = match.group(0)
    prefix = "src/" if text.startswith("src/") else ""
    rel = text[len(prefix) + len("trialkit/") :]
    suffix = ".py" if rel.endswith(".py") else ""
    rel = rel.removesuffix(".py")
    for old in sorted(MOVES, key=len, reverse=True):
        o = old.removesuffix(".py")
        if rel == o or rel.startswith(o + "/"):
            if (PKG / rel).exists() or (PKG / (rel + ".py")).exists():
                return text  # already a path of the new layout
            new = MOVES[old].removesuffix(".py") + rel[len(o) :]
            return f"{prefix}trialkit/{new}{suffix}"
    for old in ("api", "web", "store"):
        if rel == old:
            return f"{prefix}trialkit/service"
    return text


def rewrite_text(text: str, is_python: bool, store_names: dict[str, str]) -> str:
    if is_python:
        text = FROM_IMPORT.sub(lambda m: rewrite_from(m, store_names), text)
    text = DOTTED.sub(lambda m: rename_dotted(m.group(0)), text)
    text = SLASHED.sub(rewrite_slashed, text)
    for old, new in TEXT_RENAMES.items():
        text = text.replace(old, new)
    return text


def git(*args: str) -> None:
    subprocess.run(["git", *args], cwd=ROOT, check=True)


def move(old: Path, new: Path) -> None:
    if not old.exists() or old == new:
        return
    if old.is_dir() and new.is_dir():  # a folder merged on the old layout: move its files
        for child in sorted(old.iterdir()):
            move(child, new / child.name)
        return
    new.parent.mkdir(parents=True, exist_ok=True)
    git("mv", str(old.relative_to(ROOT)), str(new.relative_to(ROOT)))


def main() -> int:
    global NEW
    for old, new in MOVES.items():
        move(PKG / old, PKG / new)
    for old, new in TEST_MOVES.items():
        move(ROOT / "tests" / old, ROOT / "tests" / new)
    for old, new in OTHER_MOVES.items():
        move(ROOT / old, ROOT / new)
    # modules added on the old layout after the first move: each to its slice by name
    for folder in ("store", "api/routes", "web/routes", "web", "api", "service"):
        for leftover in sorted((PKG / folder).glob("*.py")) if (PKG / folder).is_dir() else []:
            if leftover.name != "__init__.py" and f"{folder}/{leftover.name}" not in MOVES.values():
                print(f"not mapped, move by hand: {leftover.relative_to(ROOT)}", file=sys.stderr)
    for rel in ("tests/api/__init__.py", "tests/web/__init__.py"):
        if (ROOT / rel).exists() and len(list((ROOT / rel).parent.glob("*.py"))) == 1:
            git("rm", "-q", rel)
    for rel in DELETED:
        if (PKG / rel).exists():
            git("rm", "-q", str((PKG / rel).relative_to(ROOT)))
    for rel, doc in NEW_PACKAGES.items():
        init = PKG / rel / "__init__.py"
        if not init.exists():
            init.parent.mkdir(parents=True, exist_ok=True)
            init.write_text(f'"""{doc}"""\n')
            git("add", str(init.relative_to(ROOT)))
    for rel in {Path(new).parent for new in TEST_MOVES.values()}:
        init = ROOT / "tests" / rel / "__init__.py"
        if not init.exists():
            init.write_text("")
            git("add", str(init.relative_to(ROOT)))
    NEW = new_modules()
    store_names = store_reexports()
    roots = ["src", "tests", "benchmarks", "tools", "docs", "examples"]
    files = [p for r in roots if (ROOT / r).is_dir() for p in (ROOT / r).rglob("*") if p.is_file()]
    files += [
        ROOT / n
        for n in (
            "README.md",
            "ARCHITECTURE.md",
            "mkdocs.yml",
            "Makefile",
            "pyproject.toml",
            "babel.cfg",
        )
        if (ROOT / n).exists()
    ]
    files += (
        [p for p in (ROOT / ".ci").rglob("*") if p.is_file()] if (ROOT / ".ci").is_dir() else []
    )
    for path in files:
        if path.suffix not in {
            ".py",
            ".md",
            ".toml",
            ".cfg",
            ".ini",
            ".txt",
            ".sh",
            ".yml",
            ".yaml",
            ".html",
            ".mako",
            "",
        } or "egg-info" in str(path):
            continue
        if path == Path(__file__).resolve() or "__pycache__" in path.parts:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        new = rewrite_text(text, path.suffix == ".py", store_names)
        if new != text:
            path.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
