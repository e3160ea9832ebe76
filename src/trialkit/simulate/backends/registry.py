"""The backend protocol and the registry that finds backends by name.

A backend is a module of this package (its file name is the backend's name) holding
``BACKEND``, an object that satisfies :class:`Backend`. Adding one is adding its module;
nothing else changes. Only the backend asked for is imported, so a run on the CPU never
loads the GPU libraries (and the listing of names imports nothing).
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TYPE_CHECKING, Protocol

from trialkit.errors import DesignInputError

if TYPE_CHECKING:
    from trialkit.simulate.looks import Batches, LookStatistics
    from trialkit.simulate.results import Tally
    from trialkit.simulate.scenario import Scenario

__all__ = ["DEFAULT_BACKEND", "Backend", "backend_names", "get_backend"]

DEFAULT_BACKEND = "numba"
_NOT_BACKENDS = frozenset({"registry"})


class Backend(Protocol):
    """What the engine asks of a backend.

    Attributes
    ----------
    name
        The registry name (the module's).
    devices
        ``0`` for a CPU backend (the engine runs its batches in worker threads), else the
        number of devices it runs one launch on (workers do not apply).
    launch_batches
        Logical batches the engine hands over at once, at least.
    """

    name: str
    devices: int
    launch_batches: int

    def require(self, *, host_draws: bool) -> None:
        """Raise :class:`DesignInputError` (parameter ``backend`` or ``host_draws``) if unusable."""

    def statistics(
        self, scenario: Scenario, seed: int, index: int, size: int, *, host_draws: bool = False
    ) -> LookStatistics:
        """Each trial's statistics at every look for logical batch ``index`` of ``size`` trials."""

    def tally(
        self, scenario: Scenario, seed: int, batches: Batches, *, host_draws: bool = False
    ) -> Tally:
        """The tally of the logical batches ``(index, size)``."""


def backend_names() -> tuple[str, ...]:
    """The registered backends, default first (module names only: nothing is imported)."""
    names = sorted(
        m.name
        for m in pkgutil.iter_modules(_package_path())
        if not m.name.startswith("_") and m.name not in _NOT_BACKENDS
    )
    return (DEFAULT_BACKEND, *(n for n in names if n != DEFAULT_BACKEND))


def _package_path() -> list[str]:
    package = importlib.import_module(__package__ or "trialkit.simulate.backends")
    return list(package.__path__)


def get_backend(name: str) -> Backend:
    """The backend called ``name``, imported now; ``DesignInputError`` (``backend``) if none."""
    names = backend_names()
    if name not in names:
        raise DesignInputError(
            f"backend must be one of {', '.join(names)}; you gave {name!r}", location="backend"
        )
    module = importlib.import_module(f"{__package__}.{name}")
    backend: Backend = module.BACKEND
    return backend
