"""CPU kernels of covariant Lyapunov vectors (Ginelli et al., PRL 99, 130601, 2007).

``clv_forward`` (cells) and ``map_clv_forward`` (maps and the LSTM) run the QR
method with a QR after every step and keep the whole triangular factor R_t of
each step in a window, and the orthonormal basis Q_t at the sampled times;
``clv_backward`` iterates the coefficients C_{t-1} = R_t^{-1} C_t (columns
normalised) backwards through the stored factors and writes the covariant
vectors V_t = Q_t C_t over the sampled bases, with their angles computed from
C_t alone (Q_t preserves them), so that no stack of coefficient matrices is
kept. Twins:
:mod:`rnndyn.kernels.numpy.clv`, same names and arguments.

No fast-math anywhere in this module: the QR, the triangular solves and the log
growth rates must round like the reference (and a reciprocal taken by fast-math
could overflow where the division does not). The backward step's solve runs in
register tiles (:func:`rnndyn.kernels.cpu.tiles.tiled_solve_upper`), whose fused
multiply-adds are single roundings, not fast-math.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types

from rnndyn.kernels.cpu.common import (
    _all_finite,
    _column_norm,
    _copy_mat,
    _copy_vec,
    _matmul_small,
    _qr_scratch,
    _reortho_by,
    _state_and_derivative,
)
from rnndyn.kernels.cpu.maps import JAC, RULE, _matmul_plain, f8_1, f8_2, f8_3, i8, i8_1
from rnndyn.kernels.cpu.tiles import tiled_solve_upper

f8_4 = types.float64[:, :, :, ::1]


@njit(cache=True, error_model="numpy")
def _qr_full(A, R, Qp, Vh, w, rdiag, use_lapack):
    """A <- Q, R with diag(R) ≥ 0: the kernel's Householder QR (``common._qr_cols_r``, in the padded rows of
    ``Qp`` where it has any; the scratch from ``common._qr_scratch``), or LAPACK's with ``use_lapack``.

    Returns True when R is not finite (the tangent vectors diverged).
    """
    k = A.shape[1]
    _reortho_by(A, Qp, Vh, w, rdiag, use_lapack, R, True)
    for j in range(k):
        for c in range(j, k):
            if not math.isfinite(R[j, c]):
                return True
    return False


@njit(cache=True)
def _clv_sample(t, transient, every, x, Qb, Qs_b, Hs_b):
    """Keep the basis and the state at global time t when t is a sampled time (transient + j·every)."""
    if t < transient or (t - transient) % every != 0:
        return
    j = (t - transient) // every
    if j < Qs_b.shape[0]:
        _copy_mat(Qs_b[j], Qb)  # loops, not slice assignment: see common._copy_vec
        _copy_vec(Hs_b[j], x)


@njit(cache=True)
def _clv_keep_r(t, transient, roff, Rb, R_b):
    """Store R of global step t as row t - transient - 1 - roff of the window's buffer, when it falls in it."""
    r = t - transient - 1 - roff
    if 0 <= r < R_b.shape[0]:
        _copy_mat(R_b[r], Rb)


@njit(cache=True)
def _clv_store(bb, dv, x, Qb, h, Q, diverged_at):
    if dv >= 0:
        diverged_at[bb] = dv
        x[:] = np.nan
        Qb[:, :] = np.nan
    _copy_vec(h[bb], x)
    _copy_mat(Q[bb], Qb)


# ---- clv_forward ----


@njit(cache=True, parallel=True, error_model="numpy")
def clv_forward(h, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, Q, R, Qs, Hs, t0, transient, every, roff,
                diverged_at, blas_min_n, qr_lapack_min_n):
    """Forward pass of the CLVs of a batch of cells, one chunk of steps (see ``numpy.clv.clv_forward``)."""
    B, n = h.shape
    Bi, T, d = inputs.shape
    k = Q.shape[2]
    use_blas = n >= blas_min_n
    use_lapack = n >= qr_lapack_min_n
    MT = np.ascontiguousarray(M.T)
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
        Qp, Vh, w, rdiag = _qr_scratch(n, k)
        Rb = np.empty((k, k))
        dv = np.int64(-1)
        if t0 == 0:
            _clv_sample(0, transient, every, x, Qb, Qs[bb], Hs[bb])
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
            if use_blas:
                np.dot(M, Qb, P)
            else:
                _matmul_small(M, Qb, P)
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
            if _qr_full(Qb, Rb, Qp, Vh, w, rdiag, use_lapack):
                dv = t
                break
            _clv_keep_r(t, transient, roff, Rb, R[bb])
            _clv_sample(t, transient, every, x, Qb, Qs[bb], Hs[bb])
        _clv_store(bb, dv, x, Qb, h, Q, diverged_at)


def _map_clv_forward(h, inputs, rule, jac, p, Q, R, Qs, Hs, t0, transient, every, roff, diverged_at,
                     blas_min_n, qr_lapack_min_n):
    """Forward pass of the CLVs of a batch under a map, one chunk (see ``numpy.clv.clv_forward``)."""
    B, n = h.shape
    Bi, T, d = inputs.shape
    k = Q.shape[2]
    use_blas = n >= blas_min_n
    use_lapack = n >= qr_lapack_min_n
    for bb in prange(B):
        if diverged_at[bb] >= 0:
            continue
        bi = np.int64(bb) if Bi > 1 else np.int64(0)
        x = h[bb].copy()
        xn = np.empty(n)
        J = np.empty((n, n))
        Qb = Q[bb].copy()
        P = np.empty((n, k))
        Qp, Vh, w, rdiag = _qr_scratch(n, k)
        Rb = np.empty((k, k))
        dv = np.int64(-1)
        if t0 == 0:
            _clv_sample(0, transient, every, x, Qb, Qs[bb], Hs[bb])
        for s in range(T):
            t = t0 + s + 1
            u = inputs[bi, s]
            jac(x, u, p, J)
            rule(x, u, p, xn)
            x, xn = xn, x
            if use_blas:
                np.dot(J, Qb, P)
            else:
                _matmul_plain(J, Qb, P)
            Qb, P = P, Qb
            if not _all_finite(x):
                dv = t
                break
            if _qr_full(Qb, Rb, Qp, Vh, w, rdiag, use_lapack):
                dv = t
                break
            _clv_keep_r(t, transient, roff, Rb, R[bb])
            _clv_sample(t, transient, every, x, Qb, Qs[bb], Hs[bb])
        _clv_store(bb, dv, x, Qb, h, Q, diverged_at)


# ---- clv_backward ----


@njit(cache=True, error_model="numpy")
def _clv_apply(Qj, C, P, use_blas):
    """Qj <- Qj C (n, k) x (k, k) upper triangular, through the scratch P."""
    n, k = Qj.shape
    if use_blas:
        np.dot(Qj, C, P)
    else:
        for i in range(n):
            pi = P[i]
            qi = Qj[i]
            for c in range(k):
                pi[c] = 0.0
            for m in range(k):
                qm = qi[m]
                cm = C[m]
                for c in range(m, k):
                    pi[c] += qm * cm[c]
    for i in range(n):
        for c in range(k):
            Qj[i, c] = P[i, c]


@njit(cache=True, error_model="numpy")
def _split_angle(C, s, A):
    """Minimal principal angle between span(c_1..c_s) and span(c_{s+1}..c_k) for C (k, k) upper triangular.

    In the orthonormal basis Q of the same time the covariant vectors are the
    columns of C, and Q preserves angles, so the angle is computed from C
    alone. As C is upper triangular, span(c_1..c_s) is span(e_1..e_s); a unit
    u = C[:, s:] y of the other subspace has sin² θ(u) = ‖C22 y‖² / (‖C12 y‖² +
    ‖C22 y‖²), whose minimum over y gives tan θ_min = 1 / σ_max(C12 C22^{-1}).
    A = C12 C22^{-1} (s, k - s) is one triangular solve; σ_max² is the largest
    eigenvalue of the smaller Gram matrix of A (scaled by max|a_ij| first so
    that it neither overflows nor underflows). A large σ_max (a near-tangency)
    keeps its relative accuracy, so small angles are accurate relative to
    themselves. ``A`` (≥ k - s rows, ≥ s columns) is scratch. NaN when C is
    not finite; 0 when a stable vector lies in the unstable subspace (a zero
    diagonal of C22).
    """
    k = C.shape[0]
    m = k - s
    for i in range(k):
        for j in range(k):
            if not math.isfinite(C[i, j]):
                return np.nan
    for j in range(s, k):
        if C[j, j] == 0.0:
            return 0.0
    # A is kept transposed in the scratch, At[j, i] = a_ij, so that the substitution's updates run along the s
    # rows of A at once (one loop entry per pair j < c instead of one per row and j); each entry gets the same
    # operations in the same order as a row-by-row forward substitution
    At = A
    for i in range(s):
        ci = C[i]
        for j in range(m):
            At[j, i] = ci[s + j]
    for j in range(m):
        d = C[s + j, s + j]
        aj = At[j]
        for i in range(s):
            aj[i] = aj[i] / d
        cj = C[s + j]
        for c in range(j + 1, m):
            f = cj[s + c]
            ac = At[c]
            for i in range(s):
                ac[i] -= aj[i] * f
    amax = 0.0
    for i in range(s):  # in the order of A's rows: after a NaN the next entry replaces it, as before
        for j in range(m):
            v = abs(At[j, i])
            if not v <= amax:
                amax = v
    if amax == 0.0:
        return 0.5 * math.pi
    if not math.isfinite(amax):
        return 0.0 if amax == math.inf else np.nan
    for j in range(m):  # each entry divided once, not once per product it enters: the same values
        aj = At[j]
        for i in range(s):
            aj[i] = aj[i] / amax
    small = min(s, m)
    G = np.zeros((small, small))
    if s <= m:  # A Aᵀ, each entry summed over j ascending, the rows of At along q
        for j in range(m):
            aj = At[j]
            for p in range(s):
                apj = aj[p]
                gp = G[p]
                for q in range(p + 1):
                    gp[q] += apj * aj[q]
    else:  # Aᵀ A
        for p in range(small):
            ap = At[p]
            gp = G[p]
            for q in range(p + 1):
                aq = At[q]
                acc = 0.0
                for i in range(s):
                    acc += ap[i] * aq[i]
                gp[q] = acc
    for p in range(small):
        for q in range(p):
            G[q, p] = G[p, q]
    lam = G[0, 0] if small == 1 else np.linalg.eigvalsh(G)[small - 1]
    return math.atan2(1.0 / amax, math.sqrt(lam))


@njit(cache=True, error_model="numpy")
def _pair_angles(C, out):
    """out[i] = the angle in [0, π/2] between the lines of columns i and i + 1 of C (unit, upper triangular),
    as 2 atan2(‖a - b‖, ‖a + b‖) with b's sign chosen so that aᵀb ≥ 0: accurate near 0 and π/2 alike."""
    k = C.shape[0]
    for i in range(k - 1):
        dot = 0.0
        for r in range(i + 2):
            dot += C[r, i] * C[r, i + 1]
        sg = -1.0 if dot < 0.0 else 1.0
        dm = 0.0
        dp = 0.0
        for r in range(i + 2):
            a = C[r, i]
            b = sg * C[r, i + 1]
            dm += (a - b) * (a - b)
            dp += (a + b) * (a + b)
        out[i] = 2.0 * math.atan2(math.sqrt(dm), math.sqrt(dp))


@njit(cache=True, error_model="numpy", inline="always")
def _solve_rows(R, C, X, row_hi, row_lo, c_lo):
    """Rows row_hi - 1 … row_lo of X = R^{-1} C (upper triangular, k × k) on the columns c_lo … k - 1, given the
    rows below: bottom up, each update an axpy along a contiguous row of X (row m of an upper-triangular X is
    zero left of m), which vectorises where a dot product per entry would not."""
    k = R.shape[0]
    for row in range(row_hi - 1, row_lo - 1, -1):
        xr = X[row]
        cr = C[row]
        rr = R[row]
        for c in range(c_lo, k):
            xr[c] = cr[c] if c >= row else 0.0
        for m in range(row + 1, k):
            f = rr[m]
            xm = X[m]
            for c in range(max(m, c_lo), k):
                xr[c] -= f * xm[c]
        d = rr[row]
        for c in range(max(row, c_lo), k):
            xr[c] = xr[c] / d


@njit(cache=True, parallel=True, error_model="numpy")
def clv_backward(R, QV, C, r_hi, r_lo, roff, steps, every, growth, split, angles, pairs, diverged_at, blas_min_n):
    """Backward pass of the CLVs over stored rows r_hi - 1 … r_lo (see ``numpy.clv.clv_backward``)."""
    B = R.shape[0]
    k = R.shape[2]
    Ts, n = QV.shape[1], QV.shape[2]
    use_blas = n >= blas_min_n
    for bb in prange(B):
        if diverged_at[bb] >= 0:
            continue
        s = split[bb]
        Cb = C[bb].copy()
        X = np.zeros((k, k))  # tiled_solve_upper leaves the zeros under the diagonal of a strip alone
        kt = k - k % 4
        A = np.empty((k, k))
        nrm = np.empty(k)
        P = np.empty((n, k))
        for r in range(r_hi - 1, r_lo - 1, -1):
            Rr = R[bb, r - roff]
            # X = R^{-1} C: the rows that do not fill a tile of four first (the bottom ones), then the tiles on
            # the whole column strips, then the columns the strips left, by rows
            _solve_rows(Rr, Cb, X, k, kt, 0)
            mt = tiled_solve_upper(Rr, Cb, X, kt)
            _solve_rows(Rr, Cb, X, kt, 0, mt)
            for c in range(k):
                nrm[c] = 0.0
            for row in range(k):
                xr = X[row]
                for c in range(k):
                    nrm[c] += xr[c] * xr[c]
            for c in range(k):
                q = nrm[c]
                if 1e-300 < q < 1e300:
                    nrm[c] = math.sqrt(q)
                else:
                    nrm[c] = _column_norm(X[:, c:c + 1].copy(), 0, X.shape[0])  # scaled: the squares left the range
                if r < steps:
                    growth[bb, r, c] = -math.log(nrm[c])
            for row in range(k):
                xr = X[row]
                cr = Cb[row]
                for c in range(k):
                    cr[c] = xr[c] / nrm[c]
            if r % every == 0 and r // every < Ts:
                j = r // every
                _clv_apply(QV[bb, j], Cb, P, use_blas)
                angles[bb, j] = _split_angle(Cb, s, A) if 0 < s < k else np.nan
                _pair_angles(Cb, pairs[bb, j])
        C[bb] = Cb


# --------------------------------------------------------------------------- lazy compilation

_LAZY = {
    "map_clv_forward": (_map_clv_forward, types.void(f8_2, f8_3, RULE, JAC, f8_1, f8_3, f8_4, f8_4, f8_3, i8, i8,
                                                       i8, i8, i8_1, i8, i8)),
}


def __getattr__(name):
    """Compile (or load from the disk cache) ``map_clv_forward`` with its fixed signature on first use: one
    compiled kernel serves every map, whose rule and Jacobian arrive as first-class functions."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    fn, sig = _LAZY[name]
    disp = njit(sig, cache=True, parallel=True)(fn)
    globals()[name] = disp
    return disp
