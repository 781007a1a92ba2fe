"""NumPy twin of :mod:`rnndyn.kernels.cpu.basins`: ``basins``."""

from __future__ import annotations

import numpy as np

from rnndyn.kernels.numpy.cell import step, step_derivative
from rnndyn.kernels.numpy.trajectories import scaled_norm
from rnndyn.kernels.params import BASINS_RENORM_HI, BASINS_RENORM_LO


def basin_trajectories(h0, steps, escape, alpha, eps, act, gated, M, V, b, Vz, bz, final, tail, log_grad, diverged_at,
           chunk=None):
    """Run a batch of initial states for ``steps`` + P steps and the end-to-end Jacobian to ``steps``.

    The cell runs without inputs (a constant input is folded into ``b`` and ``bz`` by the caller).

    Parameters
    ----------
    h0 : (G, n)
        Initial states.
    steps : int
        T, the step at which the end state and the Jacobian are taken.
    escape : float
        A trajectory whose largest |h_i| exceeds ``escape`` (or becomes non-finite) has diverged
        (``inf``: only non-finite states count).
    alpha, eps, act, gated, M, V, b, Vz, bz
        The cell (:class:`~rnndyn.kernels.params.CellParams`); ``V`` and ``Vz`` are not used.
    final : (G, n)
        Receives h_T.
    tail : (G, P, n)
        Receives h_{T+1} … h_{T+P}, the states a cycle of period p ≤ P returns through.
    log_grad : (G,)
        Receives ln ‖∂h_T/∂h_0‖_F. The product of Jacobians is carried as 2^E·A, A rescaled by an exact
        power of two whenever its largest entry leaves [BASINS_RENORM_LO, BASINS_RENORM_HI], so the
        result neither overflows nor underflows for any T (−inf only where the product is exactly zero).
    diverged_at : (G,) int64
        Receives the first step t ≤ T + P at which the state escaped or became non-finite, or -1; such a
        point's ``final``, ``tail`` and ``log_grad`` are NaN.
    chunk : ignored
        Tuning argument of the compiled twins.
    """
    G, n = h0.shape
    P = tail.shape[1]
    X = np.zeros((G, 0))
    Vn = np.zeros((n, 0))
    H = np.array(h0, dtype=np.float64, copy=True)
    A = np.broadcast_to(np.eye(n), (G, n, n)).copy()
    E = np.zeros(G, np.int64)
    dv = np.full(G, -1, np.int64)
    final[:] = H
    for t in range(1, steps + P + 1):
        live = dv < 0
        D = step_derivative(H, X, alpha, eps, act, gated, M, Vn, b, Vn, bz)
        H = step(H, X, alpha, eps, act, gated, M, Vn, b, Vn, bz)
        hmax = np.max(np.abs(H), axis=1)
        bad = live & ~((hmax <= escape) & np.isfinite(hmax))
        if t <= steps:
            A = alpha * A + D[:, :, None] * (M @ A)
            amax = np.max(np.abs(A), axis=(1, 2))
            bad |= live & ~bad & ~np.isfinite(amax)
            rescale = live & ~bad & ((amax > BASINS_RENORM_HI) | ((amax > 0) & (amax < BASINS_RENORM_LO)))
            if rescale.any():
                e = np.frexp(amax[rescale])[1]
                E[rescale] += e
                A[rescale] = np.ldexp(A[rescale], -e[:, None, None])
            if t == steps:
                final[:] = H
        else:
            tail[:, t - steps - 1, :] = H
        dv[bad] = t
        H[dv >= 0] = np.nan
        A[dv >= 0] = np.nan
    ok = dv < 0
    with np.errstate(divide="ignore"):
        log_grad[:] = np.where(ok, E * np.log(2.0) + np.log(np.where(ok, scaled_norm(A, axis=(1, 2)), 1.0)),
                               np.nan)
    final[~ok] = np.nan
    tail[~ok] = np.nan
    diverged_at[:] = dv
