"""Brent's root finder (``brentq``), in Python, without importing ``scipy.optimize``.

``scipy.optimize`` takes about 0.3 s to import, more than the rest of a
``trialkit simulate`` start-up needs for the design's one root (the accrual time
and the efficacy bound). This is the same algorithm, step for step and in the same
floating-point order, as SciPy's ``brentq`` (C. Harris's ``Zeros/brentq.c``:
Brent 1973, ch. 4, with inverse quadratic extrapolation), so it returns the same
root to the last bit; a test compares the two on many brackets and functions.

References
----------
Brent R.P. (1973). *Algorithms for Minimization Without Derivatives*. Prentice-Hall, ch. 4.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["MAXITER", "RTOL", "brentq"]

#: iterations before giving up, as SciPy's default
MAXITER = 100
#: the smallest relative tolerance allowed, as SciPy's (4 machine epsilons)
RTOL = 4 * 2.220446049250313e-16


def brentq(
    f: Callable[[float], float],
    a: float,
    b: float,
    *,
    xtol: float = 2e-12,
    rtol: float = RTOL,
    maxiter: int = MAXITER,
) -> float:
    """A root of ``f`` in ``[a, b]``, where ``f(a)`` and ``f(b)`` differ in sign.

    Raises
    ------
    ValueError
        ``f(a)`` and ``f(b)`` have the same sign, ``f`` returned NaN, or a tolerance is
        too small (as ``scipy.optimize.brentq``).
    RuntimeError
        No convergence in ``maxiter`` iterations.
    """
    if xtol <= 0:
        raise ValueError(f"xtol too small ({xtol:g} <= 0)")
    if rtol < RTOL:
        raise ValueError(f"rtol too small ({rtol:g} < {RTOL:g})")

    def value(x: float) -> float:
        fx = float(f(x))
        if math.isnan(fx):
            raise ValueError(f"the function value at x={x:.17g} is NaN; solver cannot continue.")
        return fx

    xpre, xcur = float(a), float(b)
    xblk = fblk = spre = scur = 0.0
    fpre = value(xpre)
    fcur = value(xcur)
    if fpre * fcur > 0:
        raise ValueError("f(a) and f(b) must have different signs")
    if fpre == 0:
        return xpre
    if fcur == 0:
        return xcur
    for _ in range(maxiter):
        if fpre * fcur < 0:
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2
        sbis = (xblk - xcur) / 2
        if fcur == 0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:  # interpolate
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:  # extrapolate
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            bound = abs(spre)
            other = 3 * abs(sbis) - delta
            if 2 * abs(stry) < (bound if bound < other else other):  # good short step
                spre, scur = scur, stry
            else:  # bisect
                spre = scur = sbis
        else:  # bisect
            spre = scur = sbis
        xpre, fpre = xcur, fcur
        if abs(scur) > delta:
            xcur += scur
        else:
            xcur += delta if sbis > 0 else -delta
        fcur = value(xcur)
    raise RuntimeError(f"Failed to converge after {maxiter} iterations.")
