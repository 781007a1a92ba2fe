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
from .scalar import RELU, SIGMOID, TANH, dphi, phi, sigmoid, tanh

_FASTMATH = set(config.FASTMATH_FLAGS)


# --------------------------------------------------------------------------- block helpers


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
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


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
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
    # One loop per activation: a branch inside the innermost loop would stop LLVM
    # from vectorising it.
    for i in range(n):
        ai = A[i]
        hi = H[i]
        hni = Hn[i]
        if gated:
            zi = Z[i]
            for k in range(m):
                ai[k] = sigmoid(zi[k]) * phi(act, ai[k])
        elif act == TANH:
            for k in range(m):
                ai[k] = tanh(ai[k])
        elif act == RELU:
            for k in range(m):
                ai[k] = phi(RELU, ai[k])  # keeps NaN, which max(a, 0) would drop
        elif act == SIGMOID:
            for k in range(m):
                ai[k] = sigmoid(ai[k])
        for k in range(m):
            hni[k] = alpha * hi[k] + eps * ai[k]


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _check_block(H, acc, div, t):
    """Mark columns of H that became non-finite at step t, and poison them with NaN.

    A sum is non-finite as soon as one term is (inf - inf and NaN give NaN), so
    one vectorised pass of adds checks the whole block; the per-column branches
    run only when that total is not finite (rare). A diverged trajectory is set
    to NaN so that a bounded activation cannot turn inf back into a number.
    Returns the number of diverged columns.
    """
    n, m = H.shape
    for k in range(m):
        acc[k] = 0.0
    for i in range(n):
        hi = H[i]
        for k in range(m):
            acc[k] += hi[k]
    total = 0.0
    for k in range(m):
        total += acc[k]
    if math.isfinite(total):
        return 0
    ndiv = 0
    for k in range(m):
        if not math.isfinite(acc[k]) and div[k] < 0:
            div[k] = t
        if div[k] >= 0:
            ndiv += 1
            for i in range(n):
                H[i, k] = np.nan
    return ndiv


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _block_step_2d(H, Hn, alpha, eps, act, M, b):
    """The autonomous 2-D step fused in one pass (phase portraits, grids of initial states):
    both coordinates stay in registers, and the loop over the batch vectorises."""
    m = H.shape[1]
    m00, m01, m10, m11 = M[0, 0], M[0, 1], M[1, 0], M[1, 1]
    b0, b1 = b[0], b[1]
    x, y = H[0], H[1]
    xn, yn = Hn[0], Hn[1]
    if act == TANH:
        for k in range(m):
            a0 = m00 * x[k] + m01 * y[k] + b0
            a1 = m10 * x[k] + m11 * y[k] + b1
            xn[k] = alpha * x[k] + eps * tanh(a0)
            yn[k] = alpha * y[k] + eps * tanh(a1)
    else:
        for k in range(m):
            a0 = m00 * x[k] + m01 * y[k] + b0
            a1 = m10 * x[k] + m11 * y[k] + b1
            xn[k] = alpha * x[k] + eps * phi(act, a0)
            yn[k] = alpha * y[k] + eps * phi(act, a1)


# --------------------------------------------------------------------------- simulate


# Only prange loops become parallel regions: numba would otherwise turn every array
# expression into a parallel loop of its own, compiled separately, for no gain here.
_PARALLEL = {"prange": True, "comprehension": False, "reduction": False, "inplace_binop": False,
             "setitem": False, "numpy": False, "stencil": False, "fusion": False}


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
            _block_step_2d(H, Hn, alpha, eps, act, M, b)
        else:
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
def _fro(A):
    s = 0.0
    for i in range(A.shape[0]):
        for j in range(A.shape[1]):
            s += A[i, j] * A[i, j]
    return math.sqrt(s)


@njit(cache=True)
def _spectral_norm(A, At, S):
    """‖A‖₂ as ‖A‖_F · sqrt(λ_max(BᵀB)) with B = A/‖A‖_F (scaled so BᵀB cannot overflow)."""
    fro = _fro(A)
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
        norms_b[t] = _fro(A)
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


@njit(cache=True, error_model="numpy")
def _state_and_derivative(a, az, h, hn, D, alpha, eps, act, gated):
    """One trajectory's next state hn = alpha h + eps [z] φ(a) and the diagonal D of
    J = alpha I + diag(D) M, from the pre-activations a (and the gate's az)."""
    for i in range(h.shape[0]):
        y = phi(act, a[i])
        dy = dphi(act, a[i], y)
        if gated:
            z = sigmoid(az[i])
            D[i] = eps * (z * dy + y * z * (1.0 - z))
            hn[i] = alpha * h[i] + eps * z * y
        else:
            D[i] = eps * dy
            hn[i] = alpha * h[i] + eps * y


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


# ---- bptt ----
#
# Layout: a thread owns a chunk of m trajectories and keeps its states as (m, n)
# blocks, state innermost: for B = 1 (the common case of a long sequence) there
# is nothing to vectorise over but the state, and for large n the per-step
# products become (m, n) x (n, n) BLAS calls. States, activations and gate values
# of a segment of L steps are stored as (L, m, n); during the backward pass the
# activation slots are overwritten by the pre-activation adjoints g^a (and the
# gate slots by g^z), so the weight gradients Σ_t g_t h_{t-1}ᵀ and Σ_t g_t x_tᵀ
# become one GEMM per segment instead of a rank-1 update per step.
# Checkpointing: the forward pass keeps the segment starts h_0, h_L, h_2L, ...;
# the backward pass recomputes each segment from its start (the last segment is
# still in the buffers). Recomputation runs the same code on the same inputs, so
# checkpointed and stored runs give identical bits.

from .vecmath import sigmoid as _vsigmoid  # noqa: E402
from .vecmath import tanh as _vtanh  # noqa: E402


@njit(cache=True, fastmath=_FASTMATH)
def _bptt_forward_segment(Hs, Ys, Zs, Xs, s0, l, inputs, b0, alpha, eps, act, gated, MT, VT, b, VzT, bz,
                          use_blas, A, Az, first, loss_kind, dL_dh, acc, div):
    """Steps t = s0+1 .. s0+l of a chunk: Hs[i] = h_{s0+i}, Ys[i-1] = φ(a), Zs[i-1] = σ(a_z), Xs[i-1] = x.

    On the first pass (``first``) it also accumulates the per-trajectory loss of
    the sum/upstream losses into ``acc`` and marks divergence in ``div``.
    Arrays are indexed directly rather than through row views: a view made
    inside the time loop costs reference-count updates every step.
    """
    m = Hs.shape[1]
    n = Hs.shape[2]
    Bi = inputs.shape[0]
    d = inputs.shape[2]
    Bd = dL_dh.shape[0]
    for i in range(1, l + 1):
        t = s0 + i
        for k in range(m):
            bi = b0 + k if Bi > 1 else 0
            for j in range(d):
                Xs[i - 1, k, j] = inputs[bi, t - 1, j]
        if use_blas:
            np.dot(Hs[i - 1], MT, A)
        else:
            for k in range(m):
                for r in range(n):
                    A[k, r] = 0.0
                for j in range(n):
                    hj = Hs[i - 1, k, j]
                    for r in range(n):
                        A[k, r] += hj * MT[j, r]
        for k in range(m):
            if gated:
                for r in range(n):
                    Az[k, r] = A[k, r] + bz[r]
                for j in range(d):
                    xj = Xs[i - 1, k, j]
                    for r in range(n):
                        Az[k, r] += xj * VzT[j, r]
            for r in range(n):
                A[k, r] += b[r]
            for j in range(d):
                xj = Xs[i - 1, k, j]
                for r in range(n):
                    A[k, r] += xj * VT[j, r]
            if act == 0:  # TANH; the branch is outside the loops so that they vectorise
                for r in range(n):
                    Ys[i - 1, k, r] = _vtanh(A[k, r])
            elif act == 1:  # RELU
                for r in range(n):
                    x = A[k, r]
                    Ys[i - 1, k, r] = x if x > 0.0 else 0.0 * x
            elif act == 3:  # SIGMOID
                for r in range(n):
                    Ys[i - 1, k, r] = _vsigmoid(A[k, r])
            else:
                for r in range(n):
                    Ys[i - 1, k, r] = A[k, r]
            if gated:
                for r in range(n):
                    Zs[i - 1, k, r] = _vsigmoid(Az[k, r])
                for r in range(n):
                    Hs[i, k, r] = alpha * Hs[i - 1, k, r] + eps * Zs[i - 1, k, r] * Ys[i - 1, k, r]
            else:
                for r in range(n):
                    Hs[i, k, r] = alpha * Hs[i - 1, k, r] + eps * Ys[i - 1, k, r]
        if first:
            for k in range(m):
                s = 0.0
                for r in range(n):
                    s += Hs[i, k, r]
                if not math.isfinite(s) and div[k] < 0:
                    div[k] = t
                if loss_kind == 1:
                    q = 0.0
                    for r in range(n):
                        q += Hs[i, k, r] * Hs[i, k, r]
                    acc[k] += 0.5 * q
                elif loss_kind == 3:
                    bd = b0 + k if Bd > 1 else 0
                    q = 0.0
                    for r in range(n):
                        q += dL_dh[bd, t, r] * Hs[i, k, r]
                    acc[k] += q


@njit(cache=True, fastmath=_FASTMATH)
def _bptt_backward_segment(Hs, Ys, Zs, Gs, D, cur, dyv, s0, l, b0, alpha, eps, act, gated, M, use_blas,
                           loss_kind, dL_dh, pb, pbz, pe, delta_norms):
    """Steps t = s0+l down to s0+1 of the backward pass of a chunk; returns the slot of D holding δ_{s0}.

    D[cur] holds δ_t on entry. Ys[i-1] (φ(a)) is overwritten by g^a, Zs[i-1]
    (σ(a_z)) by g^z and Gs[i-1] receives g^a + g^z (Gs is Ys when not gated);
    b, b_z and ε gradients are summed into pb, pbz, pe (pe per state entry, so
    the loops stay free of scalar reductions and vectorise).
    """
    m = Hs.shape[1]
    n = Hs.shape[2]
    Bd = dL_dh.shape[0]
    for i in range(l, 0, -1):
        t = s0 + i
        nxt = 1 - cur
        for k in range(m):
            q = 0.0
            for r in range(n):
                q += D[cur, k, r] * D[cur, k, r]
            delta_norms[b0 + k, t] = math.sqrt(q)
            if act == 0:  # φ'(a) from y = φ(a); ReLU: y > 0 exactly when a > 0
                for r in range(n):
                    dyv[r] = 1.0 - Ys[i - 1, k, r] * Ys[i - 1, k, r]
            elif act == 1:
                for r in range(n):
                    dyv[r] = 1.0 if Ys[i - 1, k, r] > 0.0 else 0.0
            elif act == 3:
                for r in range(n):
                    dyv[r] = Ys[i - 1, k, r] * (1.0 - Ys[i - 1, k, r])
            else:
                for r in range(n):
                    dyv[r] = 1.0
            if gated:
                for r in range(n):
                    dl = D[cur, k, r]
                    y = Ys[i - 1, k, r]
                    z = Zs[i - 1, k, r]
                    ed = eps * dl
                    ga = ed * z * dyv[r]
                    gz = ed * y * z * (1.0 - z)
                    pe[r] += dl * z * y
                    Ys[i - 1, k, r] = ga
                    Zs[i - 1, k, r] = gz
                    Gs[i - 1, k, r] = ga + gz
                    pb[r] += ga
                    pbz[r] += gz
            else:
                for r in range(n):
                    dl = D[cur, k, r]
                    ga = eps * dl * dyv[r]
                    pe[r] += dl * Ys[i - 1, k, r]
                    Ys[i - 1, k, r] = ga
                    pb[r] += ga
        # δ_{t-1} = alpha δ_t + Mᵀ g_t + ∂ℓ/∂h_{t-1}
        if use_blas:
            np.dot(Gs[i - 1], M, D[nxt])
            for k in range(m):
                for r in range(n):
                    D[nxt, k, r] += alpha * D[cur, k, r]
        else:
            for k in range(m):
                for r in range(n):
                    D[nxt, k, r] = alpha * D[cur, k, r]
                for j in range(n):
                    gj = Gs[i - 1, k, j]
                    for r in range(n):
                        D[nxt, k, r] += gj * M[j, r]
        if loss_kind == 1 and t - 1 >= 1:
            for k in range(m):
                for r in range(n):
                    D[nxt, k, r] += Hs[i - 1, k, r]
        elif loss_kind == 3:
            for k in range(m):
                bd = b0 + k if Bd > 1 else 0
                for r in range(n):
                    D[nxt, k, r] += dL_dh[bd, t - 1, r]
        cur = nxt
    return cur


@njit(cache=True, fastmath=_FASTMATH)
def _bptt_accumulate(Gs, Ga, Gz, Hs, Xs, l, gated, dM, dV, dVz, tnn, tnd):
    """dM += Σ_{i<l} Gs[i]ᵀ Hs[i], dV += Σ Ga[i]ᵀ Xs[i], dVz += Σ Gz[i]ᵀ Xs[i], as GEMMs."""
    m = Hs.shape[1]
    n = Hs.shape[2]
    d = Xs.shape[2]
    if l == 0 or m == 0:
        return
    Hf = Hs[:l].reshape((l * m, n))
    Gf = Gs[:l].reshape((l * m, n))
    np.dot(Gf.T, Hf, tnn)
    for r in range(n):
        for j in range(n):
            dM[r, j] += tnn[r, j]
    if d > 0:
        Xf = Xs[:l].reshape((l * m, d))
        np.dot(Ga[:l].reshape((l * m, n)).T, Xf, tnd)
        for r in range(n):
            for j in range(d):
                dV[r, j] += tnd[r, j]
        if gated:
            np.dot(Gz[:l].reshape((l * m, n)).T, Xf, tnd)
            for r in range(n):
                for j in range(d):
                    dVz[r, j] += tnd[r, j]


@njit(cache=True)
def _bptt_words(L, nseg, n, d, gated):
    """Workspace entries one trajectory needs: states, activations, gates, adjoints, inputs, checkpoints."""
    return n * ((L + 1) + L + (L if gated else 1) + (L if gated else 0) + max(nseg, 1)) + d * L


@njit(cache=True, fastmath=_FASTMATH)
def _bptt_chunk(b0, m, h0, inputs, alpha, eps, act, gated, M, MT, VT, b, VzT, bz, loss_kind, dL_dh, U, c, targets,
                L, nseg, use_blas, pM, pV, pb, pVz, pbz, pU, pc, pe, dh0, delta_norms, loss, final, diverged_at,
                work):
    """Forward and backward pass of trajectories b0 .. b0+m-1; weight gradients are added to the p* slices.

    A plain (serial) function called from the parallel loop of :func:`bptt`: a
    small parfor body compiles much faster than a large one. The stored states,
    activations, inputs and checkpoints live in ``work`` (this chunk's part of
    the caller's workspace, :func:`_bptt_words` ``* m`` entries).
    """
    n = h0.shape[1]
    T = inputs.shape[1]
    d = inputs.shape[2]
    kc = U.shape[0]
    Bd = dL_dh.shape[0]
    pM[:, :] = 0.0
    pV[:, :] = 0.0
    pb[:] = 0.0
    pVz[:, :] = 0.0
    pbz[:] = 0.0
    pU[:, :] = 0.0
    pc[:] = 0.0
    pe[:] = 0.0
    # summed every step: kept thread-local (the p* slices of two threads can share a cache line)
    lb = np.zeros(n)
    lbz = np.zeros(pbz.shape[0])
    le = np.zeros(n)
    zl = L if gated else 1
    ncp = max(nseg, 1)
    o1 = (L + 1) * m * n
    o2 = o1 + L * m * n
    o3 = o2 + zl * m * n
    o4 = o3 + (L * m * n if gated else 0)
    o5 = o4 + L * m * d
    Hs = work[:o1].reshape((L + 1, m, n))
    Ys = work[o1:o2].reshape((L, m, n))
    Zs = work[o2:o3].reshape((zl, m, n))
    Gs = work[o3:o4].reshape((L, m, n)) if gated else Ys
    Xs = work[o4:o5].reshape((L, m, d))
    CP = work[o5:o5 + ncp * m * n].reshape((ncp, m, n))
    A = np.empty((m, n))
    Az = np.empty((m, n))
    D = np.empty((2, m, n))  # δ_t and δ_{t-1}, swapped by index
    cur = np.int64(0)  # not a literal 0: literals give the callees a second compiled signature
    dyv = np.empty(n)
    tnn = np.empty((n, n))
    tnd = np.empty((n, d))
    acc = np.zeros(m)
    div = np.full(m, -1, np.int64)
    lg = np.empty(kc)
    pr = np.empty(kc)
    for k in range(m):
        for r in range(n):
            Hs[0, k, r] = h0[b0 + k, r]
    if loss_kind == 3:
        for k in range(m):
            g = dL_dh[b0 + k if Bd > 1 else 0, 0]
            q = 0.0
            for r in range(n):
                q += g[r] * Hs[0, k, r]
            acc[k] += q
    # ---- forward, keeping the segment starts
    # a run-time flag, not a literal: two literals would compile the segment twice
    first_pass = nseg >= 0
    last = 0
    for s in range(nseg):
        s0 = s * L
        l = min(L, T - s0)
        CP[s] = Hs[0]
        _bptt_forward_segment(Hs, Ys, Zs, Xs, s0, l, inputs, b0, alpha, eps, act, gated, MT, VT, b, VzT, bz,
                              use_blas, A, Az, first_pass, loss_kind, dL_dh, acc, div)
        last = l
        if s < nseg - 1:
            Hs[0] = Hs[l]
    HT = Hs[last]
    for k in range(m):
        for r in range(n):
            final[b0 + k, r] = HT[k, r]
    # ---- the loss at T and δ_T
    for k in range(m):
        hk = HT[k]
        dk = D[0, k]
        if loss_kind == 0:
            q = 0.0
            for r in range(n):
                dk[r] = hk[r]
                q += hk[r] * hk[r]
            acc[k] = 0.5 * q
        elif loss_kind == 1:
            for r in range(n):
                dk[r] = hk[r] if T > 0 else 0.0
        elif loss_kind == 2:
            mx = -np.inf
            for j in range(kc):
                s_ = c[j]
                for r in range(n):
                    s_ += U[j, r] * hk[r]
                lg[j] = s_
                mx = max(mx, s_)
            tot = 0.0
            for j in range(kc):
                pr[j] = math.exp(lg[j] - mx)
                tot += pr[j]
            tg = targets[b0 + k]
            acc[k] = (mx + math.log(tot)) - lg[tg]
            for j in range(kc):
                pr[j] = pr[j] / tot
            pr[tg] -= 1.0
            for r in range(n):
                dk[r] = 0.0
            for j in range(kc):
                pj = pr[j]
                for r in range(n):
                    dk[r] += pj * U[j, r]
                    pU[j, r] += pj * hk[r]
                pc[j] += pj
        else:
            g = dL_dh[b0 + k if Bd > 1 else 0, T]
            for r in range(n):
                dk[r] = g[r]
    # ---- backward, segment by segment from the last
    for s in range(nseg - 1, -1, -1):
        s0 = s * L
        l = min(L, T - s0)
        if s < nseg - 1:
            Hs[0] = CP[s]
            _bptt_forward_segment(Hs, Ys, Zs, Xs, s0, l, inputs, b0, alpha, eps, act, gated, MT, VT, b, VzT,
                                  bz, use_blas, A, Az, not first_pass, loss_kind, dL_dh, acc, div)
        cur = _bptt_backward_segment(Hs, Ys, Zs, Gs, D, cur, dyv, s0, l, b0, alpha, eps, act, gated, M,
                                     use_blas, loss_kind, dL_dh, lb, lbz, le, delta_norms)
        _bptt_accumulate(Gs, Ys, Zs, Hs, Xs, l, gated, pM, pV, pVz, tnn, tnd)
    for k in range(m):
        dk = D[cur, k]
        q = 0.0
        for r in range(n):
            q += dk[r] * dk[r]
            dh0[b0 + k, r] = dk[r]
        delta_norms[b0 + k, 0] = math.sqrt(q)
        loss[b0 + k] = acc[k]
        diverged_at[b0 + k] = div[k]
    pb[:] = lb
    pbz[:] = lbz
    pe[:] = le


# Only the prange loop is parallelised: with plain ``parallel=True`` every array
# expression (np.zeros, +=, slice assignment) becomes a parfor of its own, each
# compiled separately, for no gain at these sizes.
_PRANGE_ONLY = {"prange": True, "comprehension": False, "reduction": False, "inplace_binop": False,
                "setitem": False, "numpy": False, "stencil": False, "fusion": False}


@njit(cache=True, parallel=_PRANGE_ONLY, fastmath=_FASTMATH)
def bptt(h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, loss_kind, dL_dh, U, c, targets, checkpoint,
         dM, dV, db, dVz, dbz, dU, dc, deps, dh0, delta_norms, loss, final, diverged_at, work, chunk, blas_min_n):
    """Backpropagation through time for a batch (see ``reference.bptt``).

    One chunk of trajectories per prange iteration, each adding into its own
    slice of the partial sums; the slices are reduced in chunk order afterwards,
    so the result does not depend on the number of threads. ``work`` is scratch
    space for the stored trajectories, reused across calls by the driver: fresh
    memory would be page-faulted in on every call, which costs more than the
    arithmetic at B > 1 (a smaller ``work`` is replaced by a fresh allocation).
    """
    B, n = h0.shape
    T = inputs.shape[1]
    d = inputs.shape[2]
    dz = dVz.shape[1]
    kc = U.shape[0]
    nchunks = (B + chunk - 1) // chunk
    use_blas = n >= blas_min_n
    L = T if (checkpoint <= 0 or checkpoint >= T) else checkpoint
    nseg = (T + L - 1) // L if T > 0 else 0
    MT = np.ascontiguousarray(M.T)
    Mc = np.ascontiguousarray(M)
    VT = np.ascontiguousarray(V.T)
    VzT = np.ascontiguousarray(Vz.T)
    nz = dbz.shape[0]
    pdM = np.empty((nchunks, n, n))
    pdV = np.empty((nchunks, n, d))
    pdb = np.empty((nchunks, n))
    pdVz = np.empty((nchunks, n, dz))
    pdbz = np.empty((nchunks, nz))
    pdU = np.empty((nchunks, kc, n))
    pdc = np.empty((nchunks, kc))
    pde = np.empty((nchunks, n))
    per = _bptt_words(L, nseg, n, d, gated)
    if work.shape[0] < nchunks * chunk * per:
        work = np.empty(nchunks * chunk * per)
    if nchunks == 1:  # no parallel region: waking idle threads costs more than a short sequence
        first = nchunks - 1  # 0, but not a literal (which would compile _bptt_chunk a second time)
        _bptt_chunk(first, B, h0, inputs, alpha, eps, act, gated, Mc, MT, VT, b, VzT, bz, loss_kind, dL_dh, U, c,
                    targets, L, nseg, use_blas, pdM[0], pdV[0], pdb[0], pdVz[0], pdbz[0], pdU[0], pdc[0],
                    pde[0], dh0, delta_norms, loss, final, diverged_at, work[:B * per])
    else:
        for cc in prange(nchunks):
            ci = np.int64(cc)  # prange indices are unsigned
            b0 = ci * chunk
            m = min(chunk, B - b0)
            _bptt_chunk(b0, m, h0, inputs, alpha, eps, act, gated, Mc, MT, VT, b, VzT, bz, loss_kind, dL_dh, U,
                        c, targets, L, nseg, use_blas, pdM[ci], pdV[ci], pdb[ci], pdVz[ci], pdbz[ci], pdU[ci],
                        pdc[ci], pde[ci], dh0, delta_norms, loss, final, diverged_at,
                        work[b0 * per:(b0 + m) * per])
    de = 0.0
    for ci in range(nchunks):
        for r in range(n):
            for j in range(n):
                dM[r, j] = pdM[ci, r, j] if ci == 0 else dM[r, j] + pdM[ci, r, j]
            for j in range(d):
                dV[r, j] = pdV[ci, r, j] if ci == 0 else dV[r, j] + pdV[ci, r, j]
            for j in range(dz):
                dVz[r, j] = pdVz[ci, r, j] if ci == 0 else dVz[r, j] + pdVz[ci, r, j]
            db[r] = pdb[ci, r] if ci == 0 else db[r] + pdb[ci, r]
            de += pde[ci, r]
        for r in range(nz):
            dbz[r] = pdbz[ci, r] if ci == 0 else dbz[r] + pdbz[ci, r]
        for j in range(kc):
            dc[j] = pdc[ci, j] if ci == 0 else dc[j] + pdc[ci, j]
            for r in range(n):
                dU[j, r] = pdU[ci, j, r] if ci == 0 else dU[j, r] + pdU[ci, j, r]
    deps[0] = de


# ---- 1-D maps ----
# Orbit diagrams of scalar iterated maps (rnndyn.maps.bifurcation). No fast-math
# here, not even contraction: the orbits are chaotic for most parameters, so one
# fused multiply-add changes the last bit of an iterate and the difference grows
# to O(1) within ~50 steps. Without it every step is the same sequence of IEEE
# operations as in reference.bifurcation, and the two agree bit for bit. The map
# family reaches the kernel as a small integer, never as a string.

from numba.extending import register_jitable  # noqa: E402

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
    rnndyn.kernels.reference.bifurcation : the NumPy oracle.
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


# ---- lyapunov ----
# Benettin/QR Lyapunov spectra. The k tangent vectors are the columns of an
# (n, k) C-ordered array Q: the propagation J Q = alpha Q + diag(D) (M Q) and
# every Householder update are then row-wise axpys over contiguous memory, which
# LLVM vectorises without fast-math. No fast-math in this section: the QR and
# the log-accumulation must round like the reference.


@njit(cache=True, error_model="numpy")
def _reflect(A, Vh, w, j):
    """Apply H_j = I - tau_j v_j v_jᵀ to every column of A (rows j..), as w = Aᵀv; A -= tau v wᵀ.

    Full-width rows (length k, from index 0) rather than the columns that
    matter only: the loops then have one fixed trip count that LLVM vectorises
    without remainders (faster at small n than skipping columns). This is
    exact for the columns that matter: each column is updated independently of
    the others, the columns c < j of the accumulation of Q are still e_c, so
    their w is exactly 0, and in the factorisation the columns c ≤ j are dead
    (their reflectors are already in Vh and Q is rebuilt from scratch). The
    w accumulation takes four rows per pass, written as the same left-to-right
    sum (identical rounding), to keep w in registers across them.
    """
    n, k = A.shape
    tau = Vh[j, j]
    aj = A[j]
    for c in range(k):
        w[c] = aj[c]
    i = j + 1
    while i + 3 < n:
        v0 = Vh[i, j]
        v1 = Vh[i + 1, j]
        v2 = Vh[i + 2, j]
        v3 = Vh[i + 3, j]
        a0 = A[i]
        a1 = A[i + 1]
        a2 = A[i + 2]
        a3 = A[i + 3]
        for c in range(k):
            w[c] = (((w[c] + v0 * a0[c]) + v1 * a1[c]) + v2 * a2[c]) + v3 * a3[c]
        i += 4
    while i < n:
        vi = Vh[i, j]
        ai = A[i]
        for c in range(k):
            w[c] += vi * ai[c]
        i += 1
    for c in range(k):
        w[c] *= tau
        aj[c] -= w[c]
    for i in range(j + 1, n):
        vi = Vh[i, j]
        ai = A[i]
        for c in range(k):
            ai[c] -= vi * w[c]


@njit(cache=True, error_model="numpy")
def _qr_cols(A, Vh, w, rdiag):
    """Householder QR of A (n, k), in place: A <- Q with diag(R) ≥ 0 returned in ``rdiag``.

    Householder (LAPACK dgeqr2 + dorg2r, unblocked) rather than Gram-Schmidt:
    with ``reortho_every`` > 1 the columns can be badly conditioned, and
    Householder stays orthogonal to machine precision whatever the condition
    number. Each reflector H_j = I - tau_j v_j v_jᵀ (v_j[j] = 1) is applied as
    w = Aᵀv (accumulated row by row) and A -= tau v wᵀ, both axpys along the
    contiguous rows. The sign of each R_jj is moved into Q so that diag(R) ≥ 0,
    which makes the factorisation unique and equal to the reference's.
    ``Vh`` (n, k) is scratch for the reflectors (below the diagonal of column j:
    v_j, whose leading 1 is implicit; on the diagonal: tau_j), ``w`` (k,) too.
    """
    n, k = A.shape
    for j in range(k):
        a0 = A[j, j]
        sigma = 0.0
        for i in range(j + 1, n):
            sigma += A[i, j] * A[i, j]
        if sigma == 0.0:
            tau = 0.0  # column already triangular: H_j = I
            rdiag[j] = a0
        else:
            norm = math.sqrt(a0 * a0 + sigma)
            beta = -norm if a0 >= 0.0 else norm
            tau = (beta - a0) / beta
            scale = 1.0 / (a0 - beta)
            for i in range(j + 1, n):
                Vh[i, j] = A[i, j] * scale
            rdiag[j] = beta
        Vh[j, j] = tau
        if tau != 0.0 and j + 1 < k:
            _reflect(A, Vh, w, j)
    # Q = H_0 ⋯ H_{k-1} [I_k; 0], accumulated backwards (columns c < j are still e_c)
    for i in range(n):
        ai = A[i]
        for c in range(k):
            ai[c] = 0.0
        if i < k:
            ai[i] = 1.0
    for j in range(k - 1, -1, -1):
        if Vh[j, j] != 0.0:
            _reflect(A, Vh, w, j)
    for j in range(k):
        if rdiag[j] < 0.0:
            rdiag[j] = -rdiag[j]
            for i in range(n):
                A[i, j] = -A[i, j]


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _matmul_small4(M, H, out):
    """As :func:`_matmul_small`, four rows of H per pass (the same left-to-right sum, so identical rounding)."""
    n, m = H.shape
    for i in range(n):
        row = out[i]
        mi = M[i]
        for c in range(m):
            row[c] = 0.0
        j = 0
        while j + 3 < n:
            m0 = mi[j]
            m1 = mi[j + 1]
            m2 = mi[j + 2]
            m3 = mi[j + 3]
            h0 = H[j]
            h1 = H[j + 1]
            h2 = H[j + 2]
            h3 = H[j + 3]
            for c in range(m):
                row[c] = (((row[c] + m0 * h0[c]) + m1 * h1[c]) + m2 * h2[c]) + m3 * h3[c]
            j += 4
        while j < n:
            mij = mi[j]
            hj = H[j]
            for c in range(m):
                row[c] += mij * hj[c]
            j += 1


@njit(cache=True)
def _qr_lapack(A, rdiag):
    """As :func:`_qr_cols` through LAPACK (dgeqrf + dorgqr, blocked): faster once A outgrows L1 (n ≳ 64)."""
    q, r = np.linalg.qr(A)
    n, k = A.shape
    for j in range(k):
        rdiag[j] = abs(r[j, j])
    for i in range(n):
        for j in range(k):
            A[i, j] = -q[i, j] if r[j, j] < 0.0 else q[i, j]


@njit(cache=True, error_model="numpy")
def _lyap_reortho(Q, Vh, w, rdiag, use_lapack):
    """Re-orthonormalise Q in place (R's diagonal, made positive, into rdiag).

    Returns True when R's diagonal is NaN or infinite: the tangent vectors have
    diverged, and the trajectory is reported as such.
    """
    if use_lapack:
        _qr_lapack(Q, rdiag)
    else:
        _qr_cols(Q, Vh, w, rdiag)
    for j in range(rdiag.shape[0]):
        if math.isnan(rdiag[j]) or rdiag[j] == math.inf:
            return True
    return False


@njit(cache=True, error_model="numpy")
def _lyap_is_qr_time(t, transient, total, every):
    """Whether the tangent basis is re-orthonormalised after global step t."""
    if t == total or t == transient:
        return True
    if t < transient:
        return t % every == 0
    return (t - transient) % every == 0


@njit(cache=True)
def _lyap_store(bb, dv, x, Qb, Sb, lob, hib, h, Q, S, lo, hi, diverged_at):
    """Write trajectory bb's carried state back (NaN from the step it diverged at)."""
    if dv >= 0:
        diverged_at[bb] = dv
        x[:] = np.nan
        Qb[:, :] = np.nan
        Sb[:] = np.nan
    h[bb] = x
    Q[bb] = Qb
    S[bb] = Sb
    lo[bb] = lob
    hi[bb] = hib


@njit(cache=True, error_model="numpy")
def _lyap_after_qr(t, transient, every, err_from, S, rdiag, lo, hi, hist_b):
    """Accumulate log R_jj after a QR at global step t; update the running-estimate spread and history."""
    k = S.shape[0]
    if t <= transient:
        return
    for j in range(k):
        S[j] += math.log(rdiag[j])
    done = t - transient
    if done >= err_from:
        for j in range(k):
            e = S[j] / done
            if e < lo[j]:
                lo[j] = e
            if e > hi[j]:
                hi[j] = e
    if hist_b.shape[0] > 0:
        r = (done + every - 1) // every - 1
        for j in range(k):
            hist_b[r, j] = S[j] / done


@njit(cache=True)
def _all_finite(x):
    """Whether every entry is finite: one vectorisable sum (inf - inf and NaN stay non-finite)."""
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * 0.0
    return s == 0.0


@njit(cache=True, parallel=True, error_model="numpy")
def lyapunov(h, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, Q, S, t0, transient, total, every,
             err_from, lo, hi, hist, diverged_at, blas_min_n, qr_lapack_min_n):
    """Benettin/QR Lyapunov spectra of a batch, one chunk of steps (see ``reference.lyapunov``)."""
    B, n = h.shape
    Bi, T, d = inputs.shape
    k = Q.shape[2]
    use_blas = n >= blas_min_n
    use_lapack = n >= qr_lapack_min_n
    MT = np.ascontiguousarray(M.T)  # M x as axpys over MT's rows: vectorised, same summation order
    for bb in prange(B):
        if diverged_at[bb] >= 0:
            continue
        bi = np.int64(bb) if Bi > 1 else np.int64(0)
        x = h[bb].copy()
        xn = np.empty(n)
        a = np.empty(n)
        az = np.empty(n)
        mx = np.empty(n)
        D = np.empty(n)
        Qb = Q[bb].copy()
        P = np.empty((n, k))
        Vh = np.empty((n, k))
        w = np.empty(k)
        rdiag = np.empty(k)
        Sb = S[bb].copy()
        lob = lo[bb].copy()
        hib = hi[bb].copy()
        dv = np.int64(-1)
        for s in range(T):
            t = t0 + s + 1
            for i in range(n):
                mx[i] = 0.0
            for j in range(n):
                xj = x[j]
                mj = MT[j]
                for i in range(n):
                    mx[i] += mj[i] * xj
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
                _matmul_small4(M, Qb, P)
            for i in range(n):
                qi = Qb[i]
                pi = P[i]
                di = D[i]
                for c in range(k):
                    qi[c] = alpha * qi[c] + di * pi[c]
            x, xn = xn, x
            if not _all_finite(x):
                dv = t
                break
            if _lyap_is_qr_time(t, transient, total, every):
                if _lyap_reortho(Qb, Vh, w, rdiag, use_lapack):
                    dv = t
                    break
                _lyap_after_qr(t, transient, every, err_from, Sb, rdiag, lob, hib, hist[bb])
        _lyap_store(bb, dv, x, Qb, Sb, lob, hib, h, Q, S, lo, hi, diverged_at)
