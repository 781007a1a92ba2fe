"""Plain NumPy twins of :mod:`rnndyn.kernels.cpu_maps` (the tests' oracle).

Same names, same signatures, same outputs; vectorised over the parameters and
written as the same IEEE operations in the same order, so the numba kernel must
agree with it to the last bit even on chaotic orbits.
"""

from __future__ import annotations

import numpy as np

from .cpu_maps import LOGISTIC, MAP_KINDS, QUADRATIC, TENT

__all__ = ["LOGISTIC", "MAP_KINDS", "QUADRATIC", "TENT", "bifurcation", "map_step"]


def map_step(kind, p, x):
    """One step of map family ``kind`` (elementwise over arrays ``p``, ``x``)."""
    if kind == LOGISTIC:
        return p * x * (1.0 - x)
    if kind == QUADRATIC:
        return x * x + p
    if kind == TENT:
        return p * np.minimum(x, 1.0 - x)
    raise ValueError(f"kind: unknown map kind {kind}")


def bifurcation(kind, params, x0, transient, out):
    """Orbit diagram: for each parameter, iterate from ``x0`` and keep the tail.

    Parameters
    ----------
    kind : int
        Map family id (``LOGISTIC``, ``QUADRATIC`` or ``TENT``).
    params : ndarray, shape (P,)
        Parameter values (r, c or mu).
    x0 : float
        Initial state, the same for every parameter.
    transient : int
        Steps discarded before recording.
    out : ndarray, shape (P, keep)
        Filled with ``out[i, j] = x_{transient + j}`` for parameter ``params[i]``.

    See Also
    --------
    rnndyn.kernels.cpu_maps.bifurcation : the numba kernel.
    """
    p = np.asarray(params, dtype=np.float64)
    x = np.full(p.shape, float(x0))
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(transient):
            x = map_step(kind, p, x)
        for j in range(out.shape[1]):
            out[:, j] = x
            x = map_step(kind, p, x)
