"""Deterministic random streams derived from one sealed seed (HMAC-SHA256 in counter mode).

Details and reasoning: docs/randomisation.md, section `trialkit.randomisation.stream`.

References
----------
.. [1] Krawczyk H, Bellare M, Canetti R. HMAC: keyed-hashing for message authentication.
   RFC 2104, 1997.
.. [2] Knuth DE. The Art of Computer Programming, vol. 2, 3rd ed., section 3.4.2
   (Algorithm P, the Fisher-Yates shuffle). Addison-Wesley, 1997.
.. [3] Rosenberger WF, Lachin JM. Randomization in Clinical Trials: Theory and Practice,
   2nd ed., chapter 3 (random allocation rules). Wiley, 2016.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import MutableSequence
from typing import TypeVar

from trialkit.errors import InputError

__all__ = ["MIN_SEED_BYTES", "SeedStream", "check_seed"]

MIN_SEED_BYTES = 16
_WORD = 8
_TWO64 = 1 << 64
_T = TypeVar("_T")


def check_seed(seed: bytes) -> bytes:
    """Return the seed if it is long enough to be a sealed trial seed, else raise."""
    if not isinstance(seed, bytes | bytearray):
        raise InputError("the seed must be bytes (for example secrets.token_bytes(32))")
    if len(seed) < MIN_SEED_BYTES:
        raise InputError(
            f"the seed has {len(seed)} bytes; a trial seed needs at least {MIN_SEED_BYTES} "
            "(the service draws 32 with secrets.token_bytes(32))"
        )
    return bytes(seed)


class SeedStream:
    """One labelled stream of uniform random integers derived from the seed.

    Parameters
    ----------
    seed
        The sealed trial seed (at least 16 bytes; 32 in practice).
    *parts
        The label's parts after ``trialkit/v1/``, for example ``("allocation", "3", "0")``.
    """

    __slots__ = ("_buffer", "_counter", "_key", "_label", "_position")

    def __init__(self, seed: bytes, *parts: str) -> None:
        self._key = check_seed(seed)
        self._label = ("trialkit/v1/" + "/".join(parts)).encode("utf-8")
        self._counter = 0
        self._buffer = b""
        self._position = 0

    @property
    def label(self) -> str:
        return self._label.decode("utf-8")

    def _word(self) -> int:
        if self._position + _WORD > len(self._buffer):
            message = self._label + b"\x00" + self._counter.to_bytes(8, "big")
            self._buffer = hmac.new(self._key, message, hashlib.sha256).digest()
            self._counter += 1
            self._position = 0
        word = int.from_bytes(self._buffer[self._position : self._position + _WORD], "big")
        self._position += _WORD
        return word

    def below(self, n: int) -> int:
        """A uniform integer in ``[0, n)``, by rejection (step 4 of the construction)."""
        if n <= 0 or n > _TWO64:
            raise ValueError(f"below(n) needs 0 < n <= 2**64, got {n}")
        limit = _TWO64 - (_TWO64 % n)
        while True:
            word = self._word()
            if word < limit:
                return word % n

    def shuffle(self, items: MutableSequence[_T]) -> None:
        """Shuffle in place by Fisher-Yates (step 5 of the construction)."""
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]
