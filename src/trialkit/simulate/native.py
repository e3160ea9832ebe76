"""The CPU kernel as object code, run without importing numba: the default backend's start.

numba's own disk cache still needs numba at run time: importing it and setting up its CPU
target cost 0.5-0.7 s before the first trial (measured on SOR). Here
:func:`trialkit.simulate.trial.native_batch` is compiled once by ``numba.cfunc``, its
object code for this CPU kept in a cache file, and later runs load it with llvmlite's MCJIT
(numba's own LLVM binding, about 50 ms) and call it through ctypes, which releases the GIL.
Hand-written: numba has no ahead-of-time path that keeps one kernel source without a C
compiler (``numba.pycc`` is deprecated). A stale, corrupt or unwritable cache costs a
compile; object code this process cannot link is never loaded, and the kernel numba
compiles in the process runs instead (:func:`status` says which, and why).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import pickle
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trialkit.simulate.looks import LookStatistics
from trialkit.simulate.model import PATIENTS, FlatModel, flat_scratch

__all__ = ["NativeKernel", "cache_file", "kernel", "object_kernel", "status"]

#: the kernel's sources: any change to one makes a new cache file
_SOURCES = ("trial.py", "model.py", "streams.py", "native.py")
_FORMAT = 1  # of the cache file: (format, name, external symbols, sha256, object code)

# Three symbols that numba's C-function wrapper references on its error path and that only
# numba's own extension modules define (not exported to the dynamic linker): the GIL
# helpers of numba/_helperlib.c, and the runtime's destructor call, reached only when an
# array numba allocated is released (the kernel allocates none; it traps if ever reached).
_SHIM = """
declare i32 @PyGILState_Ensure()
declare void @PyGILState_Release(i32)
declare void @llvm.trap()
define void @numba_gil_ensure(ptr %state) {
  %s = call i32 @PyGILState_Ensure()
  store i32 %s, ptr %state
  ret void
}
define void @numba_gil_release(ptr %state) {
  %s = load i32, ptr %state
  call void @PyGILState_Release(i32 %s)
  ret void
}
define void @NRT_MemInfo_call_dtor(ptr %mi) {
  call void @llvm.trap()
  unreachable
}
"""
_SHIMMED = frozenset({"numba_gil_ensure", "numba_gil_release", "NRT_MemInfo_call_dtor"})

#: the dtype of each buffer of :data:`trialkit.simulate.trial.NATIVE_SIGNATURE`, in order
_DTYPES = tuple(
    np.dtype(t)
    for t in ("int64", "float64", "uint64", "uint8", "float64", "int64", "float64", "int64")
    + ("float64",) * 4
)
_POINTER = ctypes.c_void_p
_PROTOTYPE = ctypes.CFUNCTYPE(None, ctypes.c_uint64, ctypes.c_int64, *([_POINTER] * 12))


@dataclass(frozen=True)
class Status:
    """How the kernel was loaded: ``native`` (object code, numba not imported) or ``numba``.

    ``detail`` says where the object code came from (the cache, or compiled and how long
    that took) and how long loading took, or why the object code could not be loaded
    (then numba compiled the same kernel in this process: slower to start, as fast).
    """

    path: str
    detail: str


class NativeKernel:
    """The loaded kernel: ``kernel(base, model, out)`` fills ``out`` for ``out``'s trials."""

    def __init__(self, owner: Any, address: int) -> None:
        self._owner = owner  # the MCJIT engine or numba's cfunc: keeps the code mapped
        self._function = _PROTOTYPE(address)

    def __call__(self, base: int, model: FlatModel, out: LookStatistics) -> None:
        """Trials ``0 .. len(out.time) - 1`` of the logical batch seeded ``base``."""
        time_, events, o, e, v, beta = out.arrays()
        fs, is_ = flat_scratch(int(model.ints[PATIENTS]), time_.shape[1])
        buffers: tuple[NDArray[Any], ...] = (*model, fs, is_, time_, events, o, e, v, beta)
        for array, dtype in zip(buffers, _DTYPES, strict=True):  # read as raw C buffers
            if array.dtype != dtype or not array.flags.c_contiguous:
                raise ValueError(f"the native kernel takes C-contiguous {dtype} arrays only")
        if any(a.shape != time_.shape for a in (events, o, e, v, beta)):
            raise ValueError("the native kernel's six outputs must have one shape")
        self._function(ctypes.c_uint64(base), time_.shape[0], *(a.ctypes.data for a in buffers))


_lock = threading.Lock()
_loaded: tuple[NativeKernel, Status] | None = None


def kernel() -> NativeKernel:
    """The kernel, loaded (and compiled, the first time on this machine) on the first call.

    Thread-safe: the engine's threads ask for it at once.
    """
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = _load()
        return _loaded[0]


def status() -> Status:
    """Which kernel this process runs, and why (loading it if no run has yet)."""
    kernel()
    assert _loaded is not None
    return _loaded[1]


def _beside_sources() -> Path:
    """The ``__pycache__`` beside the kernel's sources: this copy of trialkit's own folder."""
    return Path(__file__).parent / "__pycache__"


def _cache_dir() -> Path:
    """``$NUMBA_CACHE_DIR/trialkit`` if set (numba's own setting), else numba's choice of a
    ``__pycache__`` beside the sources, or the user's cache folder if that is not writable."""
    configured = os.environ.get("NUMBA_CACHE_DIR")
    if configured:
        return Path(configured) / "trialkit"
    beside = _beside_sources()
    try:
        beside.mkdir(exist_ok=True)
        if os.access(beside, os.W_OK):
            return beside
    except OSError:
        pass
    home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(home) / "trialkit"


def cache_file() -> Path:
    """The cache file of this kernel on this CPU (its name is the key).

    The name is ``native_batch-<environment>-<sources>.bin``: a hash of Python's, numba's and
    llvmlite's versions and the CPU's name and features, then a hash of the kernel's sources
    (with the environment), so that :func:`_prune` can tell an earlier version's file apart.
    """
    import llvmlite
    import llvmlite.binding as llvm

    environment = (
        _FORMAT, sys.version_info[:2], sys.platform, version("numba"), llvmlite.__version__,
        llvm.get_process_triple(), llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten(),
    )  # fmt: skip
    digest = hashlib.sha256(repr(environment).encode())
    prefix = digest.hexdigest()[:16]
    here = Path(__file__).parent
    for name in _SOURCES:
        digest.update((here / name).read_bytes())
    return _cache_dir() / f"native_batch-{prefix}-{digest.hexdigest()[:16]}.bin"


def _prune(path: Path) -> None:
    """Remove the files an earlier version of these sources left beside them for this machine.

    Only in the ``__pycache__`` beside the sources, which no other copy of trialkit shares:
    there a file of the same environment under another source hash (or in the name format
    before 2026-12-07 22:00, one hash of 32 digits) is an earlier version's and is never read
    again. A shared folder (``$NUMBA_CACHE_DIR``, the user's cache) may hold another
    install's current kernel, so nothing is removed there.
    """
    if path.parent != _beside_sources():
        return
    environment = path.name.split("-")[1]
    for other in path.parent.glob("native_batch-*.bin"):
        key = other.name.removeprefix("native_batch-").removesuffix(".bin")
        earlier = key.startswith(f"{environment}-") or "-" not in key
        if other != path and earlier:
            with contextlib.suppress(OSError):  # another process's, or read-only: left
                other.unlink()


def _target_machine() -> Any:
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_triple(llvm.get_process_triple())
    return target.create_target_machine(
        cpu=llvm.get_host_cpu_name(),
        features=llvm.get_host_cpu_features().flatten(),
        opt=3,
        jit=True,
    )  # numba's own settings for its CPU target


@cache
def _compile() -> tuple[Any, tuple[str, list[str], bytes]]:
    """Compile :func:`~trialkit.simulate.trial.native_batch` in this process, once.

    Returns the ``numba.cfunc`` (callable here at its ``address``) and what the cache
    keeps: the symbol's name, the external symbols and the object code for this CPU. The
    sources cannot change under a running process, so a second load (the fallback after a
    compile whose object code did not link) reuses the first compile: 20-30 s each.
    """
    from numba import cfunc

    from trialkit.simulate import trial

    compiled: Any = cfunc(trial.NATIVE_SIGNATURE, error_model="numpy")(trial.native_batch)
    return compiled, _emit(compiled)


def _emit(compiled: Any) -> tuple[str, list[str], bytes]:
    """The symbol's name, the external symbols and the object code of a ``numba.cfunc``."""
    import llvmlite.binding as llvm

    module = llvm.parse_assembly(compiled.inspect_llvm())  # the optimised, linked module
    module.verify()
    externals = sorted(
        f.name for f in module.functions if f.is_declaration and not f.name.startswith("llvm.")
    )
    return compiled.native_name, externals, _target_machine().emit_object(module)


def object_kernel(compiled: Any) -> NativeKernel:
    """A ``numba.cfunc`` of :data:`~trialkit.simulate.trial.NATIVE_SIGNATURE` as a run loads it.

    For benchmarks of variants of the kernel: its object code, emitted and loaded as
    :func:`kernel` does. numba's own in-process copy of the same function can run about
    10% faster or slower than this code (measured on SOR), so only this compares.
    """
    loaded = _object_kernel(*_emit(compiled))
    if isinstance(loaded, str):
        raise RuntimeError(loaded)
    return loaded


def _read(path: Path) -> tuple[str, list[str], bytes] | None:
    """The cache file's contents, or None if it is missing, of another format or corrupt."""
    try:
        fmt, name, externals, digest, code = pickle.loads(path.read_bytes())
    except (OSError, pickle.UnpicklingError, ValueError, TypeError, EOFError):
        return None
    if fmt != _FORMAT or hashlib.sha256(code).hexdigest() != digest:
        return None
    return name, externals, code


def _write(path: Path, name: str, externals: list[str], code: bytes) -> None:
    """Write the cache file atomically; a folder that cannot be written is left alone."""
    data = pickle.dumps((_FORMAT, name, externals, hashlib.sha256(code).hexdigest(), code))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, path)
    except OSError:
        return
    _prune(path)


def _resolve(symbols: Iterable[str]) -> list[str]:
    """Give MCJIT the address of each symbol (C library, Python) in this process; the missing."""
    import llvmlite.binding as llvm

    try:
        process = ctypes.CDLL(None)  # dlopen(NULL): the symbols the process has loaded
    except (OSError, TypeError):  # Windows has no such handle
        return ["(this platform has no process symbol table)"]
    missing = []
    for symbol in symbols:
        try:
            function = getattr(process, symbol)
        except AttributeError:
            missing.append(symbol)
            continue
        llvm.add_symbol(symbol, ctypes.cast(function, ctypes.c_void_p).value)
    return missing


def _object_kernel(name: str, externals: list[str], code: bytes) -> NativeKernel | str:
    """The kernel from its object code, or why it cannot be loaded in this process."""
    import llvmlite.binding as llvm

    missing = _resolve(s for s in externals if s not in _SHIMMED)
    if missing:  # MCJIT would abort the process on an unresolved symbol: never try
        return f"unresolved symbols in the object code: {', '.join(missing)}"
    try:
        shim = llvm.parse_assembly(_SHIM)
        shim.triple = llvm.get_process_triple()
        engine = llvm.create_mcjit_compiler(shim, _target_machine())
        engine.add_object_file(llvm.ObjectFileRef.from_data(code))
        engine.finalize_object()
        address = engine.get_function_address(name)
    except RuntimeError as exc:  # llvmlite's report of an object it cannot load
        return f"the object code did not load: {exc}"
    if not address:
        return f"the object code defines no {name}"
    return NativeKernel(engine, address)


def _load() -> tuple[NativeKernel, Status]:
    """The object code from the cache (compiled and cached first if missing), loaded.

    Where it cannot be loaded, the kernel numba compiled in this process (the same code).
    """
    start = time.perf_counter()
    path = cache_file()
    cached = _read(path)
    compiled = None
    origin = "cache"
    if cached is None:
        compiled, cached = _compile()
        origin = f"compiled in {time.perf_counter() - start:.1f} s"
        _write(path, *cached)
    loaded = _object_kernel(*cached)
    if isinstance(loaded, NativeKernel):
        ready = f"{time.perf_counter() - start:.3f} s"
        return loaded, Status("native", f"object code from {origin} ({path}), ready in {ready}")
    if compiled is None:
        compiled, _ = _compile()
    return NativeKernel(compiled, compiled.address), Status("numba", loaded)
