"""The standard normal distribution, from ``scipy.special`` without ``scipy.stats``.

``scipy.stats`` takes about 0.6 s to import; its ``norm`` computes these very
expressions (``ndtr``, ``ndtri``, and ``exp(-x**2/2)/sqrt(2 pi)`` for the density), so
the values are the same to the last bit; a test compares them with ``scipy.stats.norm``.
"""

from __future__ import annotations

from typing import overload

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr, ndtri

__all__ = ["cdf", "isf", "pdf", "ppf", "sf"]

_SQRT_2PI = np.sqrt(2 * np.pi)

Values = NDArray[np.float64]


@overload
def cdf(x: float) -> float: ...
@overload
def cdf(x: Values) -> Values: ...
def cdf(x: float | Values) -> float | Values:
    """:math:`\\Phi(x)`."""
    return ndtr(x)  # type: ignore[no-any-return]


@overload
def sf(x: float) -> float: ...
@overload
def sf(x: Values) -> Values: ...
def sf(x: float | Values) -> float | Values:
    """:math:`1 - \\Phi(x)`, accurate in the upper tail."""
    return ndtr(-x)  # type: ignore[no-any-return]


@overload
def ppf(q: float) -> float: ...
@overload
def ppf(q: Values) -> Values: ...
def ppf(q: float | Values) -> float | Values:
    """:math:`\\Phi^{-1}(q)`."""
    return ndtri(q)  # type: ignore[no-any-return]


@overload
def isf(q: float) -> float: ...
@overload
def isf(q: Values) -> Values: ...
def isf(q: float | Values) -> float | Values:
    """:math:`\\Phi^{-1}(1 - q)`, accurate for small ``q``."""
    return -ndtri(q)  # type: ignore[no-any-return]


def pdf(x: Values) -> Values:
    """:math:`\\varphi(x)`."""
    return np.exp(-(x**2) / 2.0) / _SQRT_2PI  # type: ignore[no-any-return]
