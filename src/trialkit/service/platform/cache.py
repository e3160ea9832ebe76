"""A small thread-safe LRU cache of results computed from the data, held per process.

Keys carry what makes a result valid (a seal's hash, the data version of
:func:`trialkit.service.platform.audit.data_version`), so a worker never serves a result
another process has made stale: the key it reads from the database is new.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from trialkit.service.platform.principal import Principal

__all__ = ["GrantsKey", "LruCache", "grants_key"]

GrantsKey = tuple[tuple[str, int | None], ...]
"""The caller's grants as part of a cache key: (role, site or ``None``) pairs, sorted."""

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LruCache(Generic[K, V]):
    """At most ``size`` results; the least recently used goes first."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """The result under ``key``, made and kept first if there is none (two threads may
        both make it: the results are equal, and the later one is kept)."""
        item = self.get(key)
        if item is None:
            item = make()
            self.put(key, item)
        return item

    def put(self, key: K, item: V) -> None:
        with self._lock:
            self._items[key] = item
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def grants_key(actor: Principal, trial_id: int, site_id: int | None = None) -> GrantsKey:
    """The caller's grants (role, site) in a trial, or at one of its sites: the part of a cache
    key that says who may see the cached result, so that a result is served only to callers
    whose grants there are the same (a monitor of some sites never gets an all-sites view)."""
    return tuple(
        sorted(
            {
                (g.role.value, g.site_id)
                for g in actor.grants
                if g.trial_id in (None, trial_id)
                and (site_id is None or g.site_id in (None, site_id))
            },
            key=lambda grant: (grant[0], grant[1] or 0),
        )
    )
