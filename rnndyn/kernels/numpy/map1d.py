"""NumPy twins of :mod:`rnndyn.kernels.cpu.map1d`: ``map1d_step`` and ``bifurcation``.
"""

from __future__ import annotations

import numpy as np

from rnndyn.kernels.params import LOGISTIC, QUADRATIC, TENT

# ---- 1-D maps ----
# Twins of cpu.map1d_step / cpu.bifurcation: vectorised over the parameters and
# written as the same IEEE operations in the same order, so the numba kernel
# agrees with them to the last bit even on chaotic orbits.



def map1d_step(kind, p, x):
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
    rnndyn.kernels.cpu.bifurcation : the numba kernel.
    """
    p = np.asarray(params, dtype=np.float64)
    x = np.full(p.shape, float(x0))
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(transient):
            x = map1d_step(kind, p, x)
        for j in range(out.shape[1]):
            out[:, j] = x
            x = map1d_step(kind, p, x)
