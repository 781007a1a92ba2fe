"""CPU kernels of trajectories: ``simulate`` (a batch of states) and ``tangent`` (the end-to-end Jacobian).

Twins: :mod:`rnndyn.kernels.numpy.trajectories`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from rnndyn.kernels.cpu.common import (
    _FLOAT_MAX,
    _block_step,
    _block_step_2d,
    _copy_mat,
    _copy_vec,
    _mark_diverged,
    _matmul_small,
    _record_tangent_norms,
    _state_and_derivative,
)
from rnndyn.kernels.params import FASTMATH
from rnndyn.kernels.params import PARALLEL_PRANGE_ONLY as _PARALLEL

_FASTMATH = set(FASTMATH)  # numba takes a set, not a frozenset



# --------------------------------------------------------------------------- simulate




@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _simulate_block(b0, m, h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, stride, out, final,
                    diverged_at, use_blas):
    """Trajectories b0 .. b0+m-1, integrated together as an (n, m) block, batch innermost."""
    n = h0.shape[1]
    Bi, T, d = inputs.shape
    fused2d = n == 2 and d == 0 and not gated
    dt = final.dtype
    H = np.empty((n, m), dt)
    Hn = np.empty((n, m), dt)
    A = np.empty((n, m), dt)
    Z = np.empty((n if gated else 0, m), dt)
    X = np.empty((d, m), dt)
    acc = np.empty(m, dt)
    div = np.full(m, -1, np.int64)
    for k in range(m):
        for i in range(n):
            H[i, k] = h0[b0 + k, i]
    if stride > 0:
        for k in range(m):
            for i in range(n):
                out[b0 + k, 0, i] = H[i, k]
    for t in range(1, T + 1):
        if d > 0:
            for k in range(m):
                bi = b0 + k if Bi > 1 else 0
                for j in range(d):
                    X[j, k] = inputs[bi, t - 1, j]
        if fused2d:
            _block_step_2d(H, Hn, alpha, eps, act, M, b, acc)
        else:
            _block_step(H, Hn, A, Z, X, alpha, eps, act, gated, M, V, b, Vz, bz, use_blas, acc)
        H, Hn = Hn, H
        _mark_diverged(H, acc, div, t)
        if stride > 0 and t % stride == 0:
            r = t // stride
            for k in range(m):
                for i in range(n):
                    out[b0 + k, r, i] = H[i, k]
    for k in range(m):
        diverged_at[b0 + k] = div[k]
        for i in range(n):
            final[b0 + k, i] = H[i, k]


@njit(cache=True, parallel=_PARALLEL)
def simulate(h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, stride, out, final, diverged_at,
             chunk, blas_min_n):
    """Integrate a batch of trajectories (see ``reference.simulate``).

    One block of ``chunk`` trajectories per prange iteration; a single block
    runs without a parallel region (waking idle threads costs more than a short
    run of a small batch).
    """
    B, n = h0.shape
    nchunks = (B + chunk - 1) // chunk
    use_blas = n >= blas_min_n
    if nchunks == 1:
        first = B - B  # 0, but not a literal (a literal would compile the block a second time)
        _simulate_block(first, B, h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, stride, out, final,
                        diverged_at, use_blas)
    else:
        for c in prange(nchunks):
            b0 = np.int64(c) * chunk  # prange indices are unsigned
            m = min(chunk, B - b0)
            _simulate_block(b0, m, h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, stride, out, final,
                            diverged_at, use_blas)


# --------------------------------------------------------------------------- tangent



@njit(cache=True, error_model="numpy")
def _tangent_one(bb, h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, vecs, norm_kind,
                 final, jac, norms, vec_norms, diverged_at, use_blas):
    """Trajectory bb and its tangent matrix A_t (n, n)."""
    n = h0.shape[1]
    Bi, T, d = inputs.shape
    kv = vecs.shape[1]
    bi = bb if Bi > 1 else bb - bb
    h = h0[bb].copy()
    hn = np.empty(n)
    a = np.empty(n)
    az = np.empty(n)
    D = np.empty(n)
    A = np.eye(n)
    MA = np.empty((n, n))
    At = np.empty((n, n))
    S = np.empty((n, n))
    AV = np.empty((n, kv))
    dv = -1
    _record_tangent_norms(A, vecs, norm_kind, norms[bb], vec_norms[bb], 0, At, S, AV)
    for t in range(1, T + 1):
        if dv >= 0:
            norms[bb, t] = np.nan
            for c in range(kv):
                vec_norms[bb, t, c] = np.nan
            continue
        for i in range(n):
            s = 0.0
            for j in range(n):
                s += M[i, j] * h[j]
            sa = s + b[i]
            for j in range(d):
                sa += V[i, j] * inputs[bi, t - 1, j]
            a[i] = sa
            if gated:
                sz = s + bz[i]
                for j in range(d):
                    sz += Vz[i, j] * inputs[bi, t - 1, j]
                az[i] = sz
        _state_and_derivative(a, az, h, hn, D, alpha, eps, act, gated)
        if use_blas:
            np.dot(M, A, MA)
        else:
            _matmul_small(M, A, MA)
        # a count of non-finite entries, not their sum: an integer reduction lets the update vectorise
        nbad = 0
        for i in range(n):
            Di = D[i]
            for j in range(n):
                v = alpha * A[i, j] + Di * MA[i, j]
                A[i, j] = v
                nbad += 0 if abs(v) <= _FLOAT_MAX else 1
        h, hn = hn, h
        for i in range(n):
            nbad += 0 if abs(h[i]) <= _FLOAT_MAX else 1
        if nbad:
            dv = t
            h[:] = np.nan
            A[:, :] = np.nan
            norms[bb, t] = np.nan
            for c in range(kv):
                vec_norms[bb, t, c] = np.nan
            continue
        _record_tangent_norms(A, vecs, norm_kind, norms[bb], vec_norms[bb], t, At, S, AV)
    _copy_vec(final[bb], h)
    _copy_mat(jac[bb], A)
    diverged_at[bb] = dv


@njit(cache=True, parallel=_PARALLEL)
def tangent(h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, vecs, norm_kind,
            final, jac, norms, vec_norms, diverged_at, blas_min_n):
    """Propagate A_t = ∂h_t/∂h_0 along a batch (see ``reference.tangent``).

    A thread per trajectory; a single trajectory runs without a parallel region.
    """
    B, n = h0.shape
    use_blas = n >= blas_min_n
    if B == 1:
        _tangent_one(B - B, h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, vecs, norm_kind,
                     final, jac, norms, vec_norms, diverged_at, use_blas)
    else:
        for bb in prange(B):
            _tangent_one(np.int64(bb), h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, vecs, norm_kind,
                         final, jac, norms, vec_norms, diverged_at, use_blas)
