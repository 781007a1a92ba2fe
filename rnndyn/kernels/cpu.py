"""numba ``@njit`` kernels: arrays and scalars in, preallocated arrays out.

Same names and arguments as :mod:`rnndyn.kernels.reference` (plus trailing
tuning arguments the reference ignores). No validation here: the public
functions check everything before a kernel is called.

Layout. ``simulate`` gives each thread a block of ``chunk`` trajectories and
keeps the block's state as an (n, chunk) array, batch innermost, so every inner
loop runs over contiguous memory and LLVM vectorises it. ``tangent`` gives each
thread one trajectory and its (n, n) tangent matrix.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .. import config
from .scalar import dphi, phi, sigmoid

_FASTMATH = set(config.FASTMATH_FLAGS)


# --------------------------------------------------------------------------- block helpers


@njit(cache=True, fastmath=_FASTMATH)
def _matmul_small(M, H, out):
    """out = M @ H by hand (n, n) x (n, m): faster than a BLAS call for small n."""
    n, m = H.shape
    for i in range(n):
        row = out[i]
        for k in range(m):
            row[k] = 0.0
        for j in range(n):
            mij = M[i, j]
            hj = H[j]
            for k in range(m):
                row[k] += mij * hj[k]


@njit(cache=True, fastmath=_FASTMATH)
def _block_step(H, Hn, A, Z, X, alpha, eps, act, gated, M, V, b, Vz, bz, use_blas):
    """Hn = alpha H + eps [σ(Z)] ∘ φ(A) for a block H of shape (n, m), batch innermost."""
    n, m = H.shape
    d = V.shape[1]
    if use_blas:
        np.dot(M, H, A)
    else:
        _matmul_small(M, H, A)
    if gated:
        for i in range(n):
            zi = Z[i]
            ai = A[i]
            for k in range(m):
                zi[k] = ai[k] + bz[i]
            for j in range(d):
                vz = Vz[i, j]
                xj = X[j]
                for k in range(m):
                    zi[k] += vz * xj[k]
    for i in range(n):
        ai = A[i]
        bi = b[i]
        for k in range(m):
            ai[k] += bi
        for j in range(d):
            vij = V[i, j]
            xj = X[j]
            for k in range(m):
                ai[k] += vij * xj[k]
    for i in range(n):
        ai = A[i]
        hi = H[i]
        hni = Hn[i]
        if gated:
            zi = Z[i]
            for k in range(m):
                hni[k] = alpha * hi[k] + eps * sigmoid(zi[k]) * phi(act, ai[k])
        else:
            for k in range(m):
                hni[k] = alpha * hi[k] + eps * phi(act, ai[k])


@njit(cache=True)
def _check_block(H, acc, div, t):
    """Mark columns of H that became non-finite at step t, and poison them with NaN.

    A sum is non-finite as soon as one term is (inf - inf and NaN give NaN), so
    one pass of adds checks a whole column. A diverged trajectory is set to NaN
    so that a bounded activation cannot turn inf back into a finite number.
    """
    n, m = H.shape
    for k in range(m):
        acc[k] = 0.0
    for i in range(n):
        hi = H[i]
        for k in range(m):
            acc[k] += hi[k]
    for k in range(m):
        if not math.isfinite(acc[k]) and div[k] < 0:
            div[k] = t
        if div[k] >= 0:
            for i in range(n):
                H[i, k] = np.nan


# --------------------------------------------------------------------------- simulate


@njit(cache=True, parallel=True, fastmath=_FASTMATH)
def simulate(h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, stride, out, final, diverged_at,
             chunk, blas_min_n):
    """Integrate a batch of trajectories (see ``reference.simulate``)."""
    B, n = h0.shape
    Bi, T, d = inputs.shape
    nchunks = (B + chunk - 1) // chunk
    use_blas = n >= blas_min_n
    dt = final.dtype
    for c in prange(nchunks):
        b0 = c * chunk
        m = min(chunk, B - b0)
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
            _block_step(H, Hn, A, Z, X, alpha, eps, act, gated, M, V, b, Vz, bz, use_blas)
            H, Hn = Hn, H
            _check_block(H, acc, div, t)
            if stride > 0 and t % stride == 0:
                r = t // stride
                for k in range(m):
                    for i in range(n):
                        out[b0 + k, r, i] = H[i, k]
        for k in range(m):
            diverged_at[b0 + k] = div[k]
            for i in range(n):
                final[b0 + k, i] = H[i, k]


# --------------------------------------------------------------------------- tangent


@njit(cache=True)
def _spectral_norm(A, At, S):
    """‖A‖₂ as ‖A‖_F · sqrt(λ_max(BᵀB)) with B = A/‖A‖_F (scaled so BᵀB cannot overflow)."""
    fro = math.sqrt(np.sum(A * A))
    if fro == 0.0 or not math.isfinite(fro):
        return fro
    n, k = A.shape
    for i in range(n):
        for j in range(k):
            At[j, i] = A[i, j] / fro
    for i in range(k):
        for j in range(k):
            s = 0.0
            for r in range(n):
                s += At[i, r] * At[j, r]
            S[i, j] = s
    ev = np.linalg.eigvalsh(S)
    return fro * math.sqrt(max(ev[k - 1], 0.0))


@njit(cache=True)
def _record_tangent_norms(A, vecs, norm_kind, norms_b, vec_norms_b, t, At, S, AV):
    if norm_kind == 0:
        norms_b[t] = _spectral_norm(A, At, S)
    else:
        norms_b[t] = math.sqrt(np.sum(A * A))
    kv = vecs.shape[1]
    if kv > 0:
        n = A.shape[0]
        for i in range(n):
            for c in range(kv):
                AV[i, c] = 0.0
            for j in range(n):
                aij = A[i, j]
                for c in range(kv):
                    AV[i, c] += aij * vecs[j, c]
        for c in range(kv):
            s = 0.0
            for i in range(n):
                s += AV[i, c] * AV[i, c]
            vec_norms_b[t, c] = math.sqrt(s)


@njit(cache=True, parallel=True)
def tangent(h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, vecs, norm_kind,
            final, jac, norms, vec_norms, diverged_at, blas_min_n):
    """Propagate A_t = ∂h_t/∂h_0 along a batch (see ``reference.tangent``)."""
    B, n = h0.shape
    Bi, T, d = inputs.shape
    kv = vecs.shape[1]
    use_blas = n >= blas_min_n
    for bb in prange(B):
        # prange indices are unsigned: mixing them with signed ints would type bi as float
        bi = np.int64(bb) if Bi > 1 else np.int64(0)
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
            for i in range(n):
                y = phi(act, a[i])
                dy = dphi(act, a[i], y)
                if gated:
                    z = sigmoid(az[i])
                    D[i] = eps * (z * dy + y * z * (1.0 - z))
                    hn[i] = alpha * h[i] + eps * z * y
                else:
                    D[i] = eps * dy
                    hn[i] = alpha * h[i] + eps * y
            if use_blas:
                np.dot(M, A, MA)
            else:
                _matmul_small(M, A, MA)
            total = 0.0
            for i in range(n):
                for j in range(n):
                    A[i, j] = alpha * A[i, j] + D[i] * MA[i, j]
                    total += A[i, j]
            h, hn = hn, h
            for i in range(n):
                total += h[i]
            if not math.isfinite(total):
                dv = t
                h[:] = np.nan
                A[:, :] = np.nan
                norms[bb, t] = np.nan
                for c in range(kv):
                    vec_norms[bb, t, c] = np.nan
                continue
            _record_tangent_norms(A, vecs, norm_kind, norms[bb], vec_norms[bb], t, At, S, AV)
        final[bb] = h
        jac[bb] = A
        diverged_at[bb] = dv
