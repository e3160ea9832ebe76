"""Dask distributed runner for :func:`trialkit.simulate.engine.simulate`.

Each task is a chunk of logical batch indices; a worker regenerates those batches from
their own seeds (``SeedSequence(seed, spawn_key=(i,))``) and returns their
:class:`~trialkit.simulate.results.Tally`, which merges exactly, so a cluster gives the
same result as one process for the same seed. Dask is the optional ``[cluster]`` extra
and is imported only when this runner is used; this module does no I/O of its own (the
scheduler connection is Dask's).

References
----------
Rocklin M. (2015). Dask: parallel computation with blocked algorithms and task
scheduling. *Proc. 14th Python in Science Conference*, 130-136.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from trialkit.errors import DesignInputError
from trialkit.simulate.engine import Runner
from trialkit.simulate.results import Tally

__all__ = ["dask_runner"]

LOCAL_WORKERS = 2


@contextmanager
def dask_runner(address: str | None = None, *, workers: int = LOCAL_WORKERS) -> Iterator[Runner]:
    """A runner on a Dask cluster: the scheduler at ``address``, or a local one.

    Without ``address`` a ``LocalCluster`` of ``workers`` single-threaded processes is
    started on 127.0.0.1 and shut down on exit. Errors name the parameter ``cluster``.
    """
    if address is not None and (address.startswith("-") or ":" not in address):
        raise DesignInputError(
            f"got {address!r}: give no address (a local cluster of {workers} workers) or a "
            "scheduler address such as tcp://127.0.0.1:8786",
            location="cluster",
        )
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError as exc:
        raise DesignInputError(
            "the cluster runner needs Dask: pip install 'trialkit[cluster]'", location="cluster"
        ) from exc
    cluster: Any = None
    try:
        if address is None:
            cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            client = Client(cluster)  # type: ignore[no-untyped-call]
        else:
            client = Client(address, timeout="10s")  # type: ignore[no-untyped-call]
    except (OSError, ValueError) as exc:
        raise DesignInputError(
            f"cannot reach the Dask scheduler at {address}: {exc}; check the address "
            "(tcp://HOST:PORT) or omit it for a local cluster",
            location="cluster",
        ) from exc

    def run(task: Callable[[list[int]], Tally], chunks: list[list[int]]) -> Iterable[Tally]:
        futures = client.map(task, chunks, pure=False)
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            yield future.result()

    try:
        yield run
    finally:
        client.close()  # type: ignore[no-untyped-call]
        if cluster is not None:
            cluster.close()
