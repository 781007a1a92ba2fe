"""CPU kernel of backpropagation through time: ``bptt``.

Twin: :func:`rnndyn.kernels.numpy.gradients.bptt`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from rnndyn.kernels.cpu.tiles import pack_panels, tiled_product, tiled_product_panels
from rnndyn.kernels.params import FASTMATH
from rnndyn.kernels.params import PARALLEL_PRANGE_ONLY as _PARALLEL

_FASTMATH = set(FASTMATH)  # numba takes a set, not a frozenset



# ---- bptt ----
#
# Layout: a thread owns a chunk of m trajectories and keeps its states as (m, n)
# blocks, state innermost: for B = 1 (the common case of a long sequence) there
# is nothing to vectorise over but the state, and for large n the per-step
# products become (m, n) x (n, n) BLAS calls. States, activations and gate values
# of a segment of L steps are stored as (L, m, n); during the backward pass the
# activation slots are overwritten by the pre-activation adjoints g^a (and the
# gate slots by g^z), so the weight gradients Σ_t g_t h_{t-1}ᵀ and Σ_t g_t x_tᵀ
# become GEMMs over blocks of steps instead of a rank-1 update per step. Each block
# is multiplied as soon as the backward pass has produced it, while its adjoints
# are still in cache, rather than after the whole segment.
# Checkpointing: the forward pass keeps the segment starts h_0, h_L, h_2L, ...;
# the backward pass recomputes each segment from its start (the last segment is
# still in the buffers). Recomputation runs the same code on the same inputs, so
# states and adjoints have the same bits as in a stored run; the weight gradients
# do too because their blocks are fixed steps [jP, jP + P) whatever L is (a GEMM
# per segment would split the sums at the segment boundaries, which changes their
# rounding). Each chunk sums its own trajectories; the chunks' sums are added in
# chunk order, so the result is the same run to run; the chunks themselves follow the
# number of cores of the machine (see ``bptt``).

from rnndyn.kernels.cpu.common import (  # noqa: E402
    _copy_mat,
    _copy_vec,
    _norm_of_sum_of_squares,
    _sigmoid_f64,
    _tanh_f64,
)

#: GEMM rows (steps × trajectories of a chunk) per block of the weight-gradient sums: enough for BLAS to
#: run at full speed, while the per-block additions into the gradients stay negligible.
_BPTT_BLOCK_ROWS = 256


@njit(cache=True, fastmath=_FASTMATH)
def _bptt_forward_segment(Hs, Ys, Zs, Xs, s0, l, inputs, b0, alpha, eps, act, gated, MT, MTp, VT, b, VzT, bz,
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
            _step_product(Hs[i - 1], MT, MTp, A)
        else:
            # four rows of MT per pass (A loaded and stored once per four multiply-adds), each entry
            # still summed from j = 0 upwards
            for k in range(m):
                for r in range(n):
                    A[k, r] = 0.0
                j = 0
                while j + 3 < n:
                    h0, h1, h2, h3 = Hs[i - 1, k, j], Hs[i - 1, k, j + 1], Hs[i - 1, k, j + 2], Hs[i - 1, k, j + 3]
                    for r in range(n):
                        A[k, r] = (((A[k, r] + h0 * MT[j, r]) + h1 * MT[j + 1, r]) + h2 * MT[j + 2, r]) \
                            + h3 * MT[j + 3, r]
                    j += 4
                while j < n:
                    hj = Hs[i - 1, k, j]
                    for r in range(n):
                        A[k, r] += hj * MT[j, r]
                    j += 1
        for k in range(m):
            if gated:
                for r in range(n):
                    Az[k, r] = A[k, r] + bz[r]
                for j in range(d):
                    xj = Xs[i - 1, k, j]
                    for r in range(n):
                        Az[k, r] += xj * VzT[j, r]
            if d == 1:  # the common case in one pass, same rounding as the general loops
                x0 = Xs[i - 1, k, 0]
                for r in range(n):
                    A[k, r] = (A[k, r] + b[r]) + x0 * VT[0, r]
            else:
                for r in range(n):
                    A[k, r] += b[r]
                for j in range(d):
                    xj = Xs[i - 1, k, j]
                    for r in range(n):
                        A[k, r] += xj * VT[j, r]
            if act == 0 and not gated and n >= 16:  # activation and update in one pass (for short rows
                # the separate loops are faster: each vectorised loop pays its overlap checks once per row)
                for r in range(n):
                    y = _tanh_f64(A[k, r])
                    Ys[i - 1, k, r] = y
                    Hs[i, k, r] = alpha * Hs[i - 1, k, r] + eps * y
                continue
            if act == 0:  # TANH; the branch is outside the loops so that they vectorise
                for r in range(n):
                    Ys[i - 1, k, r] = _tanh_f64(A[k, r])
            elif act == 1:  # RELU
                for r in range(n):
                    x = A[k, r]
                    Ys[i - 1, k, r] = x if x > 0.0 else 0.0 * x
            elif act == 3:  # SIGMOID
                for r in range(n):
                    Ys[i - 1, k, r] = _sigmoid_f64(A[k, r])
            else:
                for r in range(n):
                    Ys[i - 1, k, r] = A[k, r]
            if gated:
                for r in range(n):
                    Zs[i - 1, k, r] = _sigmoid_f64(Az[k, r])
                for r in range(n):
                    Hs[i, k, r] = alpha * Hs[i - 1, k, r] + eps * Zs[i - 1, k, r] * Ys[i - 1, k, r]
            else:
                for r in range(n):
                    Hs[i, k, r] = alpha * Hs[i - 1, k, r] + eps * Ys[i - 1, k, r]
        if first:
            for k in range(m):
                # the row's sum decides divergence; it is finite whenever every |h| <= 1e300 (n < 1e8), which an
                # integer OR tests in vector registers (the sum is a serial chain of n additions)
                big = 0
                for r in range(n):
                    big |= np.int64(not (abs(Hs[i, k, r]) <= 1e300))
                if big != 0 and div[k] < 0:
                    s = 0.0
                    for r in range(n):
                        s += Hs[i, k, r]
                    if not math.isfinite(s):
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


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _step_product(X, Y, P, out):
    """out = X @ Y for one step of a block, (m, n) x (n, n): register tiles where they cover the product
    and beat a BLAS call (which packs Y anew at every step), else BLAS. One thread, float64, n = 128:
    m = 32 30.0 against 38.6 µs, m = 16 19.4 / 19.9, (32, 64) 8.2 / 10.8; m = 64 75 / 64 and
    (32, 256) 168 / 156 went to BLAS, hence at most 4096 entries. ``P`` holds Y's columns as panels
    (``pack_panels``, made once per call): the tiles read them where they cover every column, 4-5 % faster
    than Y's strips at n = 128 (paired, one Zen 4 core: 0.958 at m = 32, 0.950 at m = 16), the same bits."""
    m = X.shape[0]
    n = Y.shape[1]
    if m % 4 == 0 and n % 8 == 0 and m * n <= 4096:
        if P.shape[0] * P.shape[2] == n and tiled_product_panels(X, P, out) == m:
            return
        nt, mt = tiled_product(X, Y, out)
        if nt == m and mt == n:
            return
    np.dot(X, Y, out)


@njit(cache=True, fastmath=_FASTMATH)
def _sum_of_squares(v):
    """Σ v_i² of a contiguous vector in four interleaved partial sums: four independent chains of
    multiply-adds instead of one (a serial sum is bound by the latency of each addition)."""
    n = v.shape[0]
    q0 = q1 = q2 = q3 = 0.0
    r = 0
    while r + 3 < n:
        q0 += v[r] * v[r]
        q1 += v[r + 1] * v[r + 1]
        q2 += v[r + 2] * v[r + 2]
        q3 += v[r + 3] * v[r + 3]
        r += 4
    while r < n:
        q0 += v[r] * v[r]
        r += 1
    return (q0 + q1) + (q2 + q3)


@njit(cache=True, fastmath=_FASTMATH)
def _bptt_backward_segment(Hs, Ys, Zs, Gs, D, cur, dyv, s0, l, lo, b0, alpha, eps, act, gated, M, Mp, use_blas,
                           loss_kind, dL_dh, pb, pbz, pe, delta_norms):
    """Steps t = s0+l down to s0+lo+1 of the backward pass of a chunk; returns the slot of D holding δ_{s0+lo}.

    D[cur] holds δ_t on entry. Ys[i-1] (φ(a)) is overwritten by g^a, Zs[i-1]
    (σ(a_z)) by g^z and Gs[i-1] receives g^a + g^z (Gs is Ys when not gated);
    b, b_z and ε gradients are summed into pb, pbz, pe (pe per state entry, so
    the loops stay free of scalar reductions and vectorise).
    """
    m = Hs.shape[1]
    n = Hs.shape[2]
    Bd = dL_dh.shape[0]
    for i in range(l, lo, -1):
        t = s0 + i
        nxt = 1 - cur
        for k in range(m):
            delta_norms[b0 + k, t] = _norm_of_sum_of_squares(D[cur, k], _sum_of_squares(D[cur, k]))
            if act == 0 and not gated:
                pass  # fused into the adjoint pass below
            elif act == 0:  # φ'(a) from y = φ(a); ReLU: y > 0 exactly when a > 0
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
            elif act == 0:  # φ' = 1 - y² in the same pass
                for r in range(n):
                    dl = D[cur, k, r]
                    y = Ys[i - 1, k, r]
                    ga = eps * dl * (1.0 - y * y)
                    pe[r] += dl * y
                    Ys[i - 1, k, r] = ga
                    pb[r] += ga
            else:
                for r in range(n):
                    dl = D[cur, k, r]
                    ga = eps * dl * dyv[r]
                    pe[r] += dl * Ys[i - 1, k, r]
                    Ys[i - 1, k, r] = ga
                    pb[r] += ga
        # δ_{t-1} = alpha δ_t + Mᵀ g_t + ∂ℓ/∂h_{t-1}
        if use_blas:
            _step_product(Gs[i - 1], M, Mp, D[nxt])
            for k in range(m):
                for r in range(n):
                    D[nxt, k, r] += alpha * D[cur, k, r]
        else:
            for k in range(m):
                for r in range(n):
                    D[nxt, k, r] = alpha * D[cur, k, r]
                j = 0
                while j + 3 < n:  # four rows of M per pass, as in the forward product
                    g0, g1, g2, g3 = Gs[i - 1, k, j], Gs[i - 1, k, j + 1], Gs[i - 1, k, j + 2], Gs[i - 1, k, j + 3]
                    for r in range(n):
                        D[nxt, k, r] = (((D[nxt, k, r] + g0 * M[j, r]) + g1 * M[j + 1, r]) + g2 * M[j + 2, r]) \
                            + g3 * M[j + 3, r]
                    j += 4
                while j < n:
                    gj = Gs[i - 1, k, j]
                    for r in range(n):
                        D[nxt, k, r] += gj * M[j, r]
                    j += 1
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
def _bptt_block_add(G, Ga, Gz, H, X, i0, i1, m, n, d, gated, dM, dV, dVz, tnn, tnd):
    """dM += Gᵀ H, dV += Gaᵀ X, dVz += Gzᵀ X over the slots i0 .. i1-1 of flat (slot, trajectory, entry) buffers.

    One GEMM each over the rows (slot, trajectory), added to the gradients once.
    """
    r = (i1 - i0) * m
    np.dot(G[i0 * m * n:i1 * m * n].reshape((r, n)).T, H[i0 * m * n:i1 * m * n].reshape((r, n)), tnn)
    for i in range(n):
        for j in range(n):
            dM[i, j] += tnn[i, j]
    if d > 0:
        Xm = X[i0 * m * d:i1 * m * d].reshape((r, d))
        np.dot(Ga[i0 * m * n:i1 * m * n].reshape((r, n)).T, Xm, tnd)
        for i in range(n):
            for j in range(d):
                dV[i, j] += tnd[i, j]
        if gated:
            np.dot(Gz[i0 * m * n:i1 * m * n].reshape((r, n)).T, Xm, tnd)
            for i in range(n):
                for j in range(d):
                    dVz[i, j] += tnd[i, j]


@njit(cache=True)
def _bptt_copy2(dst1, dst2, src1, src2, j, i, cnt):
    """dst1[j:j+cnt] = src1[i:i+cnt] and dst2[j:j+cnt] = src2[i:i+cnt], for 1-d arrays.

    A loop over views from 0: with offsets inside the index the loop would keep
    a negative-index check per element and not vectorise.
    """
    d1 = dst1[j:j + cnt]
    d2 = dst2[j:j + cnt]
    s1 = src1[i:i + cnt]
    s2 = src2[i:i + cnt]
    for q in range(cnt):
        d1[q] = s1[q]
        d2[q] = s2[q]


@njit(cache=True, fastmath=_FASTMATH)
def _bptt_accumulate(Gs, Ga, Gz, Hs, Xs, m, n, d, s0, l, T, P, gated, SG, SA, SZ, SH, SX, dM, dV, dVz, tnn, tnd):
    """Add the steps of a segment to the weight gradients: dM += Σ g_t h_{t-1}ᵀ, dV += Σ g^a_t x_tᵀ, dVz likewise.

    The buffers are flat views of (slot, trajectory, entry) arrays; slot u - s0
    holds the row u = t - 1 for u = s0 .. s0+l-1 (g_t = Gs, g^a_t = Ga,
    g^z_t = Gz, h_{t-1} = Hs, x_t = Xs). The sums run over fixed blocks of P
    steps, u in [jP, min(jP + P, T)), one GEMM per block, blocks added from the
    last to the first. Neither the blocks nor their order depend on the
    segment length, so every checkpoint gives the same bits: a block inside the
    segment is multiplied in place, one that crosses a segment boundary is
    gathered in the staging buffers S* (its later rows arrive first, from the
    segment after) and multiplied once complete. This relies on a GEMM's
    result depending on its operands' values and shapes only, not on where they
    lie in memory (true of OpenBLAS, which packs its operands; the tests check
    it through the result).
    """
    if l == 0 or m == 0:
        return
    w = m * n
    wd = m * d
    for j in range((s0 + l - 1) // P, s0 // P - 1, -1):
        a = j * P
        e = min(a + P, T)
        lo = max(a, s0)
        hi = min(e, s0 + l)
        if lo == a and hi == e:
            _bptt_block_add(Gs, Ga, Gz, Hs, Xs, lo - s0, hi - s0, m, n, d, gated, dM, dV, dVz, tnn, tnd)
            continue
        _bptt_copy2(SG, SH, Gs, Hs, (lo - a) * w, (lo - s0) * w, (hi - lo) * w)
        if gated:
            _bptt_copy2(SA, SZ, Ga, Gz, (lo - a) * w, (lo - s0) * w, (hi - lo) * w)
        _bptt_copy2(SX, SX, Xs, Xs, (lo - a) * wd, (lo - s0) * wd, (hi - lo) * wd)
        if lo == a:
            _bptt_block_add(SG, SA, SZ, SH, SX, 0, e - a, m, n, d, gated, dM, dV, dVz, tnn, tnd)


@njit(cache=True)
def _bptt_words(L, nseg, n, d, gated):
    """Workspace entries one trajectory needs: states, activations, gates, adjoints, inputs, checkpoints."""
    return n * ((L + 1) + L + (L if gated else 1) + (L if gated else 0) + max(nseg, 1)) + d * L


@njit(cache=True, fastmath=_FASTMATH)
def _bptt_chunk(b0, m, h0, inputs, alpha, eps, act, gated, M, MT, Mp, MTp, VT, b, VzT, bz, loss_kind, dL_dh, U, c,
                targets, L, nseg, use_blas, pM, pV, pb, pVz, pbz, pU, pc, pe, dh0, delta_norms, loss, final,
                diverged_at, work):
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
    w = m * n
    wd = m * d
    Hs = work[:o1].reshape((L + 1, m, n))
    Ys = work[o1:o2].reshape((L, m, n))
    Zs = work[o2:o3].reshape((zl, m, n))
    Gsf = work[o3:o4] if gated else work[o1:o2]
    Gs = Gsf.reshape((L, m, n))
    Xs = work[o4:o5].reshape((L, m, d))
    CP = work[o5:o5 + ncp * m * n].reshape((ncp, m, n))
    A = np.empty((m, n))
    Az = np.empty((m, n))
    D = np.empty((2, m, n))  # δ_t and δ_{t-1}, swapped by index
    cur = np.int64(0)  # not a literal 0: literals give the callees a second compiled signature
    dyv = np.empty(n)
    tnn = np.empty((n, n))
    tnd = np.empty((n, d))
    # accumulation blocks of P steps (about _BPTT_BLOCK_ROWS GEMM rows); a checkpointed run gathers the
    # blocks that cross a segment boundary in these staging buffers (a stored run never does)
    P = max(1, (_BPTT_BLOCK_ROWS + m - 1) // m)
    ps = min(P, T) if nseg > 1 else 0
    SG = np.empty(ps * m * n)
    SH = np.empty(ps * m * n)
    SX = np.empty(ps * m * d)
    SA = np.empty(ps * m * n) if gated else SG
    SZ = np.empty(ps * m * n if gated else 0)
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
        _copy_mat(CP[s], Hs[0])
        _bptt_forward_segment(Hs, Ys, Zs, Xs, s0, l, inputs, b0, alpha, eps, act, gated, MT, MTp, VT, b, VzT, bz,
                              use_blas, A, Az, first_pass, loss_kind, dL_dh, acc, div)
        last = l
        if s < nseg - 1:
            _copy_mat(Hs[0], Hs[l])
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
            _copy_mat(Hs[0], CP[s])
            _bptt_forward_segment(Hs, Ys, Zs, Xs, s0, l, inputs, b0, alpha, eps, act, gated, MT, MTp, VT, b, VzT,
                                  bz, use_blas, A, Az, not first_pass, loss_kind, dL_dh, acc, div)
        # one accumulation block of steps at a time, while the block's adjoints are still in cache; the
        # blocks and their order are those of the whole segment, so the sums keep their bits
        hi = l
        while hi > 0:
            lo = max((s0 + hi - 1) // P * P - s0, 0)
            cur = _bptt_backward_segment(Hs, Ys, Zs, Gs, D, cur, dyv, s0, hi, lo, b0, alpha, eps, act, gated, M, Mp,
                                         use_blas, loss_kind, dL_dh, lb, lbz, le, delta_norms)
            _bptt_accumulate(Gsf[lo * w:], work[o1 + lo * w:o2], work[o2 + lo * w:o3] if gated else work[o2:o3],
                             work[lo * w:o1], work[o4 + lo * wd:o5], m, n, d, s0 + lo, hi - lo, T, P, gated,
                             SG, SA, SZ, SH, SX, pM, pV, pVz, tnn, tnd)
            hi = lo
    for k in range(m):
        dk = D[cur, k]
        q = 0.0
        for r in range(n):
            q += dk[r] * dk[r]
            dh0[b0 + k, r] = dk[r]
        delta_norms[b0 + k, 0] = _norm_of_sum_of_squares(dk, q)
        loss[b0 + k] = acc[k]
        diverged_at[b0 + k] = div[k]
    _copy_vec(pb, lb)
    _copy_vec(pbz, lbz)
    _copy_vec(pe, le)




@njit(cache=True, parallel=_PARALLEL, fastmath=_FASTMATH)
def bptt(h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, loss_kind, dL_dh, U, c, targets, checkpoint,
         dM, dV, db, dVz, dbz, dU, dc, deps, dh0, delta_norms, loss, final, diverged_at, work, chunk, blas_min_n):
    """Backpropagation through time for a batch (see ``reference.bptt``).

    One chunk of trajectories per prange iteration, each adding into its own
    slice of the partial sums; the slices are reduced in chunk order afterwards,
    so the result does not depend on which thread ran which chunk, nor on
    ``checkpoint``. It does depend on ``chunk`` (the driver derives it from the
    batch size and the number of threads): chunks group the batch sums
    differently, and ``blas_min_n`` may pick BLAS or loops for the per-step
    products. Batched results may then differ in the last bits. ``work`` is scratch
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
    # the per-step products' right factors as panels, copied once for all steps (see _step_product)
    MTp = pack_panels(MT)
    Mp = pack_panels(Mc)
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
        _bptt_chunk(first, B, h0, inputs, alpha, eps, act, gated, Mc, MT, Mp, MTp, VT, b, VzT, bz, loss_kind, dL_dh,
                    U, c, targets, L, nseg, use_blas, pdM[0], pdV[0], pdb[0], pdVz[0], pdbz[0], pdU[0], pdc[0],
                    pde[0], dh0, delta_norms, loss, final, diverged_at, work[:B * per])
    else:
        for cc in prange(nchunks):
            ci = np.int64(cc)  # prange indices are unsigned
            b0 = ci * chunk
            m = min(chunk, B - b0)
            _bptt_chunk(b0, m, h0, inputs, alpha, eps, act, gated, Mc, MT, Mp, MTp, VT, b, VzT, bz, loss_kind, dL_dh,
                        U, c, targets, L, nseg, use_blas, pdM[ci], pdV[ci], pdb[ci], pdVz[ci], pdbz[ci], pdU[ci],
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
