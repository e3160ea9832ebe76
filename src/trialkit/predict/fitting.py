"""Maximum likelihood on the log scale, and parameter draws for predictive simulation.

Details and reasoning: docs/prediction.md, section `trialkit.predict.fitting`.

References
----------
Ying G.-S. and Heitjan D.F. (2008). Weibull prediction of event times in clinical
trials. *Pharmaceutical Statistics* 7, 107-120.

Lu K. eventPred: Event prediction in clinical trials (R package),
https://github.com/kaifenglu/eventPred.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import minimize

__all__ = ["covariance", "draw_normal", "information_criteria", "maximise", "numerical_hessian"]

Objective = Callable[[NDArray[np.float64]], float]


def numerical_hessian(
    f: Objective, x: NDArray[np.float64], step: float = 1e-4
) -> NDArray[np.float64]:
    """Central-difference Hessian of ``f`` at ``x`` (for a handful of parameters)."""
    p = x.size
    h = np.empty((p, p))
    eye = np.eye(p) * step
    for i in range(p):
        for j in range(i, p):
            value = (
                f(x + eye[i] + eye[j])
                - f(x + eye[i] - eye[j])
                - f(x - eye[i] + eye[j])
                + f(x - eye[i] - eye[j])
            ) / (4.0 * step * step)
            h[i, j] = h[j, i] = value
    return h


def covariance(hessian: NDArray[np.float64]) -> NDArray[np.float64]:
    """Inverse of the observed information, with eigenvalues floored where it is near singular.

    A flat direction of the likelihood (the two rates of a blinded mixture that are
    close together) would give a huge or negative variance; the floor keeps the draws
    finite, at a standard deviation of at most 10 on the log scale.
    """
    vals, vecs = np.linalg.eigh((hessian + hessian.T) / 2.0)
    vals = np.maximum(vals, 1e-2)
    cov: NDArray[np.float64] = (vecs / vals) @ vecs.T
    return cov


def maximise(
    negloglik: Objective, start: NDArray[np.float64]
) -> tuple[NDArray[np.float64], float, NDArray[np.float64]]:
    """Minimise a negative log-likelihood; return the MLE, the log-likelihood and its covariance."""
    best = minimize(negloglik, start, method="Nelder-Mead", options={"xatol": 1e-8, "fatol": 1e-10})
    polished = minimize(negloglik, best.x, method="BFGS", options={"gtol": 1e-7})
    x = polished.x if polished.fun <= best.fun else best.x
    x = np.asarray(x, dtype=float)
    return x, -float(negloglik(x)), covariance(numerical_hessian(negloglik, x))


def information_criteria(loglik: float, n_params: int, n_obs: int) -> tuple[float, float]:
    """AIC :math:`= -2\\ell + 2p` and BIC :math:`= -2\\ell + p \\log n`."""
    return -2.0 * loglik + 2.0 * n_params, -2.0 * loglik + n_params * math.log(max(n_obs, 1))


def draw_normal(
    mean: NDArray[np.float64], cov: NDArray[np.float64], size: int, rng: np.random.Generator
) -> NDArray[np.float64]:
    """``size`` draws from :math:`N(\\text{mean}, \\text{cov})`, shape ``(size, p)``.

    Uses the symmetric square root of ``cov``, so a zero covariance (parameters
    fixed, as at the design stage) returns ``mean`` in every row.
    """
    vals, vecs = np.linalg.eigh(cov)
    root = vecs * np.sqrt(np.maximum(vals, 0.0))
    z = rng.standard_normal((size, mean.size))
    out: NDArray[np.float64] = mean + z @ root.T
    return out
