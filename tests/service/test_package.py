"""The service package imports its modules on first use, and lists every one of them."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from types import ModuleType

import pytest

import trialkit.service as service

HEAVY = ("numpy", "scipy", "numba", "pandas", "matplotlib", "weasyprint", "fastapi")


def test_importing_the_package_imports_no_use_case() -> None:
    code = "import sys\nimport trialkit.service\nprint(' '.join(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    modules = set(out.split())
    loaded = {m for m in modules if m.startswith("trialkit.service.")}
    assert loaded == {"trialkit.service.platform.transaction"}, loaded
    assert not {m for m in modules if m.split(".")[0] in HEAVY}


def test_the_listing_names_every_module_and_every_name_resolves() -> None:
    modules = {m.name for m in pkgutil.iter_modules(service.__path__)}
    assert modules <= set(service.__all__), modules - set(service.__all__)
    for name in service.__all__:
        assert getattr(service, name) is not None, name
        assert name in dir(service)
    for name in modules - {"transaction"}:
        assert isinstance(getattr(service, name), ModuleType), name
    assert service.__doc__ is not None
    described = {m for m in modules if f"``{m}``" in service.__doc__}
    assert described == modules, modules - described


def test_transaction_is_the_function_after_its_module_is_imported() -> None:
    import trialkit.service.platform.transaction  # noqa: F401 (importing it must not rebind the name)
    from trialkit.service.platform.transaction import transaction

    assert transaction is sys.modules["trialkit.service.platform.transaction"].transaction
    assert callable(transaction)
    assert not isinstance(transaction, ModuleType)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_use_case"):
        service.no_such_use_case  # noqa: B018 (the look-up is the test)
