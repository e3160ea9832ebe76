"""The service package is plain: it imports nothing, and its docstring maps every slice."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import trialkit.service as service

HEAVY = ("numpy", "scipy", "numba", "pandas", "matplotlib", "weasyprint", "fastapi", "sqlalchemy")


def test_importing_the_package_imports_no_use_case() -> None:
    code = "import sys\nimport trialkit.service\nprint(' '.join(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    modules = set(out.split())
    assert not {m for m in modules if m.startswith("trialkit.service.")}
    assert not {m for m in modules if m.split(".")[0] in HEAVY}


def test_the_package_docstring_names_every_slice_and_module_above_them() -> None:
    modules = {m.name for m in pkgutil.iter_modules(service.__path__)}
    assert service.__doc__ is not None
    described = {
        m for m in modules if f"``{m}``" in service.__doc__ or f":mod:`.{m}`" in service.__doc__
    }
    assert described == modules, modules - described
