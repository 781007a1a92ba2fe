"""CPU kernels of scalar iterated maps: ``map1d_step`` and ``bifurcation`` (orbit diagrams).

Twins: :mod:`rnndyn.kernels.numpy.map1d`.
"""

from __future__ import annotations

from numba import njit, prange

# ---- 1-D maps ----
# Orbit diagrams of scalar iterated maps (rnndyn.analysis.orbits1d.bifurcation). No fast-math
# here, not even contraction: the orbits are chaotic for most parameters, so one
# fused multiply-add changes the last bit of an iterate and the difference grows
# to O(1) within ~50 steps. Without it every step is the same sequence of IEEE
# operations as in reference.bifurcation, and the two agree bit for bit. The map
# family reaches the kernel as a small integer, never as a string.
from numba.extending import register_jitable  # noqa: E402

from rnndyn.kernels.params import LOGISTIC, QUADRATIC
from rnndyn.kernels.params import PARALLEL_PRANGE_ONLY as _PARALLEL


@register_jitable
def map1d_step(kind, p, x):
    """One step of map family ``kind`` with parameter ``p`` from ``x``.

    logistic: ``p * x * (1 - x)``; quadratic: ``x * x + p``;
    tent: ``p * min(x, 1 - x)``.
    """
    if kind == LOGISTIC:
        return p * x * (1.0 - x)
    if kind == QUADRATIC:
        return x * x + p
    return p * min(x, 1.0 - x)


@njit(cache=True, parallel=_PARALLEL)
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
    rnndyn.kernels.numpy.map1d.bifurcation : the NumPy oracle.
    """
    P = out.shape[0]
    keep = out.shape[1]
    for i in prange(P):
        p = params[i]
        x = x0
        for _ in range(transient):
            x = map1d_step(kind, p, x)
        for j in range(keep):
            out[i, j] = x
            x = map1d_step(kind, p, x)
