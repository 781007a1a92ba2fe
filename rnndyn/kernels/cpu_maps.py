"""Numba kernels of the 1-D iterated maps (orbit diagrams).

Scalars and arrays in, a preallocated ``out`` filled; no validation (that is done
once by :func:`rnndyn.maps.bifurcation`). The map family reaches a kernel as a
small integer (``LOGISTIC``, ``QUADRATIC``, ``TENT``), never as a string.

No fast-math here, not even contraction: the orbits are chaotic for most
parameters, so a single fused multiply-add changes the last bit of an iterate and
the difference grows to O(1) within ~50 steps. Without it, every step is the same
sequence of IEEE operations as in :mod:`rnndyn.kernels.reference_maps`, and the
two agree bit for bit.
"""

from __future__ import annotations

from numba import njit, prange
from numba.extending import register_jitable

LOGISTIC = 0
QUADRATIC = 1
TENT = 2

#: Public family name -> kernel id.
MAP_KINDS = {"logistic": LOGISTIC, "quadratic": QUADRATIC, "tent": TENT}


@register_jitable
def map_step(kind, p, x):
    """One step of map family ``kind`` with parameter ``p`` from ``x``.

    logistic: ``p * x * (1 - x)``; quadratic: ``x * x + p``;
    tent: ``p * min(x, 1 - x)``.
    """
    if kind == LOGISTIC:
        return p * x * (1.0 - x)
    if kind == QUADRATIC:
        return x * x + p
    return p * min(x, 1.0 - x)


@njit(cache=True, parallel=True)
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
    rnndyn.kernels.reference_maps.bifurcation : the NumPy oracle.
    """
    P = out.shape[0]
    keep = out.shape[1]
    for i in prange(P):
        p = params[i]
        x = x0
        for _ in range(transient):
            x = map_step(kind, p, x)
        for j in range(keep):
            out[i, j] = x
            x = map_step(kind, p, x)
