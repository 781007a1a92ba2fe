"""CPU kernel of Lyapunov spectra of cells by the QR (Benettin) method: ``lyapunov``.

Twin: :func:`rnndyn.kernels.numpy.lyapunov_qr.lyapunov`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from rnndyn.kernels.cpu.common import (
    _all_finite,
    _lyap_after_qr,
    _lyap_is_qr_time,
    _lyap_reortho,
    _lyap_store,
    _matmul_small,
    _qr_scratch,
    _state_and_derivative,
)
from rnndyn.kernels.params import PARALLEL_PRANGE_ONLY as _PARALLEL

# ---- lyapunov ----
# Benettin/QR Lyapunov spectra. The k tangent vectors are the columns of an
# (n, k) C-ordered array Q: the propagation J Q = alpha Q + diag(D) (M Q) and
# every Householder update are then row-wise axpys over contiguous memory, which
# LLVM vectorises without fast-math. No fast-math in this section: the QR and
# the log-accumulation must round like the reference.


@njit(cache=True, error_model="numpy")
def _lyapunov_one(bb, h, inputs, alpha, eps, act, gated, M, MT, V, b, Vz, bz, Q, S, t0, transient, total, every,
                  blocks, hist, diverged_at, use_blas, use_lapack):
    """Trajectory bb of :func:`lyapunov`: a plain function, so that the parallel loop's body stays small."""
    n = h.shape[1]
    Bi, T, d = inputs.shape
    k = Q.shape[2]
    bi = bb if Bi > 1 else bb - bb
    x = h[bb].copy()
    xn = np.empty(n)
    a = np.empty(n)
    az = np.empty(n)
    mx = np.empty(n)
    D = np.empty(n)
    Qb = Q[bb].copy()
    P = np.empty((n, k))
    Qs, Vh, w, rdiag = _qr_scratch(n, k)
    Sb = S[bb].copy()
    dv = np.int64(-1)
    for s in range(T):
        t = t0 + s + 1
        # M x as column updates, four per pass: the same left-to-right sums as one at a time
        for i in range(n):
            mx[i] = 0.0
        j = 0
        while j + 3 < n:
            x0 = x[j]
            x1 = x[j + 1]
            x2 = x[j + 2]
            x3 = x[j + 3]
            for i in range(n):
                mx[i] = (((mx[i] + MT[j, i] * x0) + MT[j + 1, i] * x1) + MT[j + 2, i] * x2) + MT[j + 3, i] * x3
            j += 4
        while j < n:
            xj = x[j]
            for i in range(n):
                mx[i] += MT[j, i] * xj
            j += 1
        for i in range(n):
            acc = mx[i]
            sa = acc + b[i]
            for j in range(d):
                sa += V[i, j] * inputs[bi, s, j]
            a[i] = sa
            if gated:
                sz = acc + bz[i]
                for j in range(d):
                    sz += Vz[i, j] * inputs[bi, s, j]
                az[i] = sz
        _state_and_derivative(a, az, x, xn, D, alpha, eps, act, gated)
        # J Q = alpha Q + diag(D) (M Q): the Jacobian itself is never formed
        if use_blas:
            np.dot(M, Qb, P)
        else:
            _matmul_small(M, Qb, P)
        for i in range(n):
            di = D[i]
            for c in range(k):
                Qb[i, c] = alpha * Qb[i, c] + di * P[i, c]
        x, xn = xn, x
        if not _all_finite(x):
            dv = t
            break
        if _lyap_is_qr_time(t, transient, total, every):
            if _lyap_reortho(Qb, Qs, Vh, w, rdiag, use_lapack):
                dv = t
                break
            _lyap_after_qr(t, transient, total, every, Sb, rdiag, blocks[bb], hist[bb])
    _lyap_store(bb, dv, x, Qb, Sb, h, Q, S, diverged_at)


@njit(cache=True, parallel=_PARALLEL, error_model="numpy")
def lyapunov(h, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, Q, S, t0, transient, total, every,
             blocks, hist, diverged_at, blas_min_n, qr_lapack_min_n):
    """Benettin/QR Lyapunov spectra of a batch, one chunk of steps (see ``reference.lyapunov``).

    A thread per trajectory; a single trajectory runs without a parallel region.
    """
    B, n = h.shape
    use_blas = n >= blas_min_n
    use_lapack = n >= qr_lapack_min_n
    MT = np.ascontiguousarray(M.T)  # M x as axpys over MT's rows: vectorised, same summation order
    if B == 1:
        if diverged_at[0] < 0:
            _lyapunov_one(B - B, h, inputs, alpha, eps, act, gated, M, MT, V, b, Vz, bz, Q, S, t0, transient,
                          total, every, blocks, hist, diverged_at, use_blas, use_lapack)
    else:
        for bb in prange(B):
            if diverged_at[bb] < 0:
                _lyapunov_one(np.int64(bb), h, inputs, alpha, eps, act, gated, M, MT, V, b, Vz, bz, Q, S, t0,
                              transient, total, every, blocks, hist, diverged_at, use_blas, use_lapack)
