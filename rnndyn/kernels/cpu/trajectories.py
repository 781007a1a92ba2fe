"""CPU kernels of trajectories: ``simulate`` (a batch of states) and ``tangent`` (the end-to-end Jacobian).

Twins: :mod:`rnndyn.kernels.numpy.trajectories`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from rnndyn.kernels.cpu.common import (
    _FLOAT_MAX,
    TILE_2D,
    _block_step,
    _block_step_2d,
    _copy_mat,
    _copy_vec,
    _gather_inputs,
    _mark_diverged,
    _matmul_small,
    _max_nan,
    _pow2_scale,
    _preactivations,
    _record_tangent_norms,
    _state_and_derivative,
    _tile_2d,
)
from rnndyn.kernels.params import FASTMATH, TANH
from rnndyn.kernels.params import PARALLEL_PRANGE_ONLY as _PARALLEL

_FASTMATH = set(FASTMATH)  # numba takes a set, not a frozenset



# --------------------------------------------------------------------------- simulate




@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _simulate_block(b0, m, h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, stride, out, final,
                    diverged_at, use_blas):
    """Trajectories b0 .. b0+m-1, batch innermost: the autonomous 2-D tanh cell in tiles of ``TILE_2D``
    states (:func:`_tile_2d`); every other cell, a tile that meets a non-finite state and the rest of the
    block as (n, count) blocks, a step at a time over the whole block."""
    n = h0.shape[1]
    Bi, T, d = inputs.shape
    fused2d = n == 2 and d == 0 and not gated
    tiled = fused2d and act == TANH
    dt = final.dtype
    Ht = np.empty((3, TILE_2D if tiled else 0), dt)
    end = b0 + m
    k0 = b0
    while k0 < end:
        if tiled:
            while end - k0 >= TILE_2D and _tile_2d(k0, h0, T, alpha, eps, M, b, stride, out, final, diverged_at,
                                                   Ht):
                k0 += TILE_2D
            if k0 >= end:
                break
        count = TILE_2D if tiled and end - k0 >= TILE_2D else end - k0
        # The step-by-step path, written once: numba re-optimises a callee's code in every caller that links
        # it, so a function of its own between here and the block step cost 2-5 s more of a cold compile.
        H = np.empty((n, count), dt)
        Hn = np.empty((n, count), dt)
        A = np.empty((n, count), dt)
        Z = np.empty((n if gated else 0, count), dt)
        X = np.empty((d, count), dt)
        acc = np.empty(count, dt)
        div = np.full(count, -1, np.int64)
        for k in range(count):
            for i in range(n):
                H[i, k] = h0[k0 + k, i]
        if stride > 0:
            for k in range(count):
                for i in range(n):
                    out[k0 + k, 0, i] = H[i, k]
        for t in range(1, T + 1):
            if d > 0:
                _gather_inputs(inputs, X, k0, t - 1)
            if fused2d:
                _block_step_2d(H, Hn, alpha, eps, act, M, b, acc)
            else:
                _block_step(H, Hn, A, Z, X, alpha, eps, act, gated, M, V, b, Vz, bz, use_blas, acc)
            H, Hn = Hn, H
            _mark_diverged(H, acc, div, t)
            if stride > 0 and t % stride == 0:
                r = t // stride
                for k in range(count):
                    for i in range(n):
                        out[k0 + k, r, i] = H[i, k]
        for k in range(count):
            diverged_at[k0 + k] = div[k]
            for i in range(n):
                final[k0 + k, i] = H[i, k]
        k0 += count


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



#: Largest n whose tangent runs a block of trajectories at once, the batch innermost (SIMD lanes over
#: trajectories, as simulate); larger n run a trajectory per thread, whose (n, n) product is then big
#: enough to vectorise by itself.
TANGENT_BLOCK_MAX_N = 16


@njit(cache=True, fastmath=False, error_model="numpy")  # explicit, as _fro's: see there
def _fro_columns(A2, n, m, amax, F1, F2, E, S4, out):
    """out[k] = ‖A_k‖_F for the m matrices stored as A2[i, j*m + k] = A_k[i, j], as :func:`_fro` computes
    each (the same power-of-two scaling and the same four partial sums, so the same bits), the batch
    innermost."""
    for k in range(m):
        amax[k] = 0.0
    for i in range(n):
        for j in range(n):
            base = j * m
            for k in range(m):
                amax[k] = _max_nan(amax[k], abs(A2[i, base + k]))
    for k in range(m):
        a = amax[k]
        if a == 0.0 or not (a <= _FLOAT_MAX):
            E[k], F1[k], F2[k] = 0, 1.0, 1.0
        else:
            E[k], F1[k], F2[k] = _pow2_scale(a)
        for q in range(4):
            S4[q, k] = 0.0
    jt = n - n % 4  # _fro sums entries j < jt into partial j % 4, the rest into partial 0
    for i in range(n):
        for j in range(n):
            base = j * m
            sq = S4[j % 4] if j < jt else S4[0]
            for k in range(m):
                v = (A2[i, base + k] * F1[k]) * F2[k]
                sq[k] += v * v
    for k in range(m):
        a = amax[k]
        if a == 0.0 or not (a <= _FLOAT_MAX):
            out[k] = a
        else:
            out[k] = math.ldexp(math.sqrt((S4[0, k] + S4[1, k]) + (S4[2, k] + S4[3, k])), E[k])


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _tangent_block(b0, m, h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, vecs, norm_kind,
                   final, jac, norms, vec_norms, diverged_at):
    """Trajectories b0 .. b0+m-1 and their tangent matrices together, the batch innermost.

    The m tangent matrices are stored side by side, A2[i, j*m + k] = A_k[i, j], so that the
    product M A_k of all of them is one (n, n) x (n, n m) product (register tiles) and every
    elementwise pass runs over the batch in SIMD lanes.
    """
    n = h0.shape[1]
    Bi, T, d = inputs.shape
    kv = vecs.shape[1]
    H = np.empty((n, m))
    Hn = np.empty((n, m))
    P = np.empty((n, m))
    Z = np.empty((n if gated else 0, m))
    X = np.empty((d, m))
    D = np.empty((n, m))
    A2 = np.zeros((n, n * m))
    MA = np.empty((n, n * m))
    bad = np.zeros(m, np.int64)
    div = np.full(m, -1, np.int64)
    # scratch of the norms: the vectorised Frobenius norm, and one matrix at a time for the others
    fro_vec = norm_kind == 1 and kv == 0
    amax, F1, F2, fro = np.empty(m), np.empty(m), np.empty(m), np.empty(m)
    E = np.empty(m, np.int64)
    S4 = np.empty((4, m))
    Ak, At, S, AV = np.empty((n, n)), np.empty((n, n)), np.empty((n, n)), np.empty((n, kv))
    for k in range(m):
        for i in range(n):
            H[i, k] = h0[b0 + k, i]
            A2[i, i * m + k] = 1.0
    for t in range(T + 1):
        if t > 0:
            if d > 0:
                _gather_inputs(inputs, X, b0, t - 1)
            _preactivations(M, H, X, V, b, Vz, bz, gated, False, P, Z)
            for i in range(n):  # the state step row by row: each row is m trajectories' entry i
                _state_and_derivative(P[i], Z[i] if gated else P[i], H[i], Hn[i], D[i], alpha, eps, act, gated)
            _matmul_small(M, A2, MA)
            for k in range(m):
                bad[k] = 0
            for i in range(n):
                di = D[i]
                ai = A2[i]
                mai = MA[i]
                for j in range(n):
                    base = j * m
                    for k in range(m):
                        v = alpha * ai[base + k] + di[k] * mai[base + k]
                        ai[base + k] = v
                        bad[k] += 0 if abs(v) <= _FLOAT_MAX else 1
                hni = Hn[i]
                for k in range(m):
                    bad[k] += 0 if abs(hni[k]) <= _FLOAT_MAX else 1
            H, Hn = Hn, H
            nbad = 0
            for k in range(m):
                nbad += bad[k]
            if nbad:
                for k in range(m):
                    if bad[k] and div[k] < 0:
                        div[k] = t
                    if div[k] >= 0:
                        for i in range(n):
                            H[i, k] = np.nan
                            for j in range(n):
                                A2[i, j * m + k] = np.nan
        if fro_vec:
            _fro_columns(A2, n, m, amax, F1, F2, E, S4, fro)
        for k in range(m):
            if div[k] >= 0:
                norms[b0 + k, t] = np.nan
                for c in range(kv):
                    vec_norms[b0 + k, t, c] = np.nan
            elif fro_vec:
                norms[b0 + k, t] = fro[k]
            else:
                for i in range(n):
                    for j in range(n):
                        Ak[i, j] = A2[i, j * m + k]
                _record_tangent_norms(Ak, vecs, norm_kind, norms[b0 + k], vec_norms[b0 + k], t, At, S, AV)
    for k in range(m):
        diverged_at[b0 + k] = div[k]
        for i in range(n):
            final[b0 + k, i] = H[i, k]
            for j in range(n):
                jac[b0 + k, i, j] = A2[i, j * m + k]


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
            final, jac, norms, vec_norms, diverged_at, blas_min_n, chunk):
    """Propagate A_t = ∂h_t/∂h_0 along a batch (see ``reference.tangent``).

    n <= TANGENT_BLOCK_MAX_N: blocks of ``chunk`` trajectories, a block per prange iteration; larger n:
    a thread per trajectory. A single block or trajectory runs without a parallel region.
    """
    B, n = h0.shape
    use_blas = n >= blas_min_n
    if n <= TANGENT_BLOCK_MAX_N:
        nchunks = -(-B // chunk)
        if nchunks == 1:
            _tangent_block(B - B, B, h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, vecs, norm_kind,
                           final, jac, norms, vec_norms, diverged_at)
        else:
            for c in prange(nchunks):
                b0 = np.int64(c) * chunk
                _tangent_block(b0, min(chunk, B - b0), h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz,
                               vecs, norm_kind, final, jac, norms, vec_norms, diverged_at)
    elif B == 1:
        _tangent_one(B - B, h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, vecs, norm_kind,
                     final, jac, norms, vec_norms, diverged_at, use_blas)
    else:
        for bb in prange(B):
            _tangent_one(np.int64(bb), h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, vecs, norm_kind,
                         final, jac, norms, vec_norms, diverged_at, use_blas)
