"""NumPy twins of :mod:`rnndyn.kernels.cpu.clv`: ``clv_forward``, ``map_clv_forward``, ``clv_backward``.

Covariant Lyapunov vectors by Ginelli et al., PRL 99, 130601 (2007): a forward
QR pass keeping the triangular factors, a backward pass of the coefficients.
"""

from __future__ import annotations

import numpy as np

from rnndyn.kernels.numpy.cell import jacobian, step
from rnndyn.kernels.numpy.trajectories import _input_at


def _qr_full(A):
    """Q (n, k), R (k, k) of A with diag(R) ≥ 0 (the signs moved into Q)."""
    q, r = np.linalg.qr(A)
    sgn = np.where(np.diagonal(r) < 0.0, -1.0, 1.0)
    return q * sgn, r * sgn[:, None]


def _sample(t, transient, every, x, Qb, Qs_b, Hs_b):
    if t >= transient and (t - transient) % every == 0 and (t - transient) // every < Qs_b.shape[0]:
        Qs_b[(t - transient) // every] = Qb
        Hs_b[(t - transient) // every] = x


def _keep_r(t, transient, roff, Rb, R_b):
    r = t - transient - 1 - roff
    if 0 <= r < R_b.shape[0]:
        R_b[r] = Rb


def _forward(h, inputs, Q, R, Qs, Hs, t0, transient, every, roff, diverged_at, one_step):
    B, n = h.shape
    T = inputs.shape[1]
    for bb in range(B):
        if diverged_at[bb] >= 0:
            continue
        x = h[bb].copy()
        Qb = Q[bb].copy()
        if t0 == 0:
            _sample(0, transient, every, x, Qb, Qs[bb], Hs[bb])
        for s in range(T):
            t = t0 + s + 1
            x, Jac = one_step(x, bb, s)
            Qb = Jac @ Qb
            if not np.isfinite(x).all():
                diverged_at[bb] = t
                break
            Qb, Rb = _qr_full(Qb)
            if not np.isfinite(np.triu(Rb)).all():
                diverged_at[bb] = t
                break
            _keep_r(t, transient, roff, Rb, R[bb])
            _sample(t, transient, every, x, Qb, Qs[bb], Hs[bb])
        if diverged_at[bb] >= 0:
            x[:] = np.nan
            Qb[:] = np.nan
        h[bb] = x
        Q[bb] = Qb


def clv_forward(h, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, Q, R, Qs, Hs, t0, transient, every, roff,
                diverged_at, blas_min_n=None, qr_lapack_min_n=None):
    """Forward pass of the covariant Lyapunov vectors of a batch of cells, one chunk of steps.

    Per step t (global, 1-based): h_t = F(h_{t-1}, x_t), P = J_t Q_{t-1} with
    J_t the Jacobian at h_{t-1}, and P = Q_t R_t (QR, diag R ≥ 0), after every
    step. All in/out arrays carry the run from one chunk to the next.

    Parameters
    ----------
    h : (B, n) in/out
        State h_{t0} on entry, h_{t0+T} on exit.
    inputs : (Bi, T, d)
        Inputs of global steps t0+1 .. t0+T.
    alpha, eps, act, gated, M, V, b, Vz, bz
        The cell (:class:`~rnndyn.kernels.params.CellParams`).
    Q : (B, n, k) in/out
        The orthonormal tangent basis Q_{t0}.
    R : (B, W, k, k) out
        R_t of global step t at row t - transient - 1 - roff, for the steps
        that fall in its W rows (the others are not kept).
    Qs, Hs : (B, Ts, n, k), (B, Ts, n) out
        Q_t and h_t at the sampled times t = transient + j·every, j < Ts
        (time 0 included when transient = 0).
    t0, transient, every, roff : int
        Global steps done before this chunk; the forward transient (the first
        sampled time); the sampling interval; the global step, counted after
        the transient, of R's first row.
    diverged_at : (B,) in/out
        -1, or the step at which the state or R became non-finite (h and Q
        are then NaN, and the trajectory is left alone by later chunks).
    blas_min_n, qr_lapack_min_n : ignored
        Tuning arguments of the compiled twin.
    """
    cell = (alpha, eps, act, gated, M, V, b, Vz, bz)

    def one_step(x, bb, s):
        X = _input_at(inputs[bb:bb + 1] if inputs.shape[0] > 1 else inputs, s, 1)
        return step(x[None], X, *cell)[0], jacobian(x[None], X, *cell)[0]

    _forward(h, inputs, Q, R, Qs, Hs, t0, transient, every, roff, diverged_at, one_step)


def map_clv_forward(h, inputs, rule, jac, p, Q, R, Qs, Hs, t0, transient, every, roff, diverged_at,
                    blas_min_n=None, qr_lapack_min_n=None):
    """:func:`clv_forward` under a map x_t = F(x_{t-1}; u_t, p) with its compiled rule and Jacobian."""
    n = h.shape[1]

    def one_step(x, bb, s):
        u = np.ascontiguousarray(inputs[bb if inputs.shape[0] > 1 else 0, s])
        J = np.empty((n, n))
        jac(x, u, p, J)
        xn = np.empty(n)
        rule(x, u, p, xn)
        return xn, J

    _forward(h, inputs, Q, R, Qs, Hs, t0, transient, every, roff, diverged_at, one_step)


def clv_backward(R, QV, C, r_hi, r_lo, roff, steps, every, growth, split, angles, pairs, diverged_at,
                 blas_min_n=None):
    """Backward pass of the covariant Lyapunov vectors over rows r_hi - 1 … r_lo of the run (Ginelli et al. 2007).

    Row r is the factor R of step transient + r + 1 (stored at ``R[:, r - roff]``).
    With C (upper triangular, unit columns) at time transient + r + 1,
    X = R^{-1} C; the column norms give the growth of each covariant vector
    over that step, log ‖J v_i‖ = −log ‖X e_i‖, and C ← X with unit columns is
    the coefficient matrix at time transient + r. At each sampled r
    (r = j·every, j < Ts) the basis Q of that time is replaced by the
    covariant vectors Q C, and the angles between them are computed from C
    (Q has orthonormal columns, so it preserves them).

    Parameters
    ----------
    R : (B, W, k, k)
        Stored factors (rows r_lo - roff … r_hi - 1 - roff are read).
    QV : (B, Ts, n, k) in/out
        Sampled bases in, covariant vectors (unit columns) out at the sampled
        times reached by this chunk.
    C : (B, k, k) in/out
        Coefficients at time transient + r_hi on entry, transient + r_lo on exit.
    r_hi, r_lo, roff : int
    steps : int
        Rows r < steps are the accumulated steps whose growth is recorded.
    every : int
        Sampling interval.
    growth : (B, steps, k) out
        log ‖J_t v_i(t-1)‖ of step t = transient + r + 1 at row r.
    split : (B,) int
        s: the number of vectors that span the unstable subspace.
    angles : (B, Ts) out
        Minimal principal angle between span(v_1..v_s) and span(v_{s+1}..v_k)
        at the sampled times (:func:`split_angle`); NaN when s = 0 or s = k.
    pairs : (B, Ts, k - 1) out
        Angle between the lines of v_i and v_{i+1} at the sampled times.
    diverged_at : (B,)
        Trajectories with diverged_at ≥ 0 are skipped.
    blas_min_n : ignored
    """
    B = R.shape[0]
    Ts = QV.shape[1]
    k = R.shape[2]
    for bb in range(B):
        if diverged_at[bb] >= 0:
            continue
        Cb = C[bb].copy()
        for r in range(r_hi - 1, r_lo - 1, -1):
            X = _solve_upper(R[bb, r - roff], Cb)
            nrm = np.sqrt(np.einsum("ij,ij->j", X, X))
            small = ~((nrm > 1e-150) & (nrm < 1e150))
            if small.any():
                nrm[small] = _scaled_norms(X[:, small])
            Cb = X / nrm
            if r < steps:
                growth[bb, r] = -np.log(nrm)
            if r % every == 0 and r // every < Ts:
                j = r // every
                QV[bb, j] = QV[bb, j] @ Cb
                s = int(split[bb])
                angles[bb, j] = split_angle(Cb, s) if 0 < s < k else np.nan
                pairs[bb, j] = pair_angles(Cb)
        C[bb] = Cb


def split_angle(C, s):
    """Minimal principal angle between span(c_1..c_s) and span(c_{s+1}..c_k) of C (k, k), upper triangular.

    span(c_1..c_s) = span(e_1..e_s); for u = C[:, s:] y, sin² θ(u) =
    ‖C22 y‖² / (‖C12 y‖² + ‖C22 y‖²), so tan θ_min = 1 / σ_max(A) with
    A = C12 C22^{-1}: one triangular solve (forward substitution on C22ᵀ, one
    column of A at a time, in the compiled kernel's order), then σ_max² as the
    largest eigenvalue of the smaller Gram matrix of A / max|a_ij|. A near-
    tangency makes σ_max large, which keeps its relative accuracy: small
    angles are accurate relative to themselves. NaN when C is not finite, 0
    when a stable vector lies in the unstable subspace (C22 singular).

    Examples
    --------
    >>> phi = 1e-9
    >>> C = np.array([[1.0, np.cos(phi), 0.0], [0.0, np.sin(phi), 0.0], [0.0, 0.0, 1.0]])
    >>> bool(abs(split_angle(C, 1) - phi) < 1e-24)
    True
    """
    k = C.shape[0]
    m = k - s
    if not np.isfinite(C).all():
        return np.nan
    C22 = C[s:, s:]
    if (np.diagonal(C22) == 0.0).any():
        return 0.0
    A = C[:s, s:].copy()
    for j in range(m):
        A[:, j] = A[:, j] / C22[j, j]
        A[:, j + 1:] -= A[:, j:j + 1] * C22[j, j + 1:]
    amax = np.abs(A).max()
    if amax == 0.0:
        return 0.5 * np.pi
    if not np.isfinite(amax):
        return 0.0 if amax == np.inf else np.nan
    A = A / amax
    G = A @ A.T if s <= m else A.T @ A
    lam = G[0, 0] if G.shape[0] == 1 else np.linalg.eigvalsh(G)[-1]
    return float(np.arctan2(1.0 / amax, np.sqrt(lam)))


def pair_angles(C):
    """Angles in [0, π/2] between the lines of consecutive columns of C (k, k): 2 atan2(‖a - b‖, ‖a + b‖)
    with b's sign chosen so that aᵀb ≥ 0, accurate near 0 and near π/2 alike."""
    a, b = C[:, :-1], C[:, 1:]
    sgn = np.where(np.einsum("ij,ij->j", a, b) < 0, -1.0, 1.0)
    b = b * sgn
    return 2.0 * np.arctan2(np.sqrt(((a - b) ** 2).sum(axis=0)), np.sqrt(((a + b) ** 2).sum(axis=0)))


def _solve_upper(Rr, C):
    """R^{-1} C for upper-triangular R and C, by back-substitution (column i of C has rows 0..i)."""
    k = Rr.shape[0]
    X = np.zeros((k, k))
    for i in range(k):
        for row in range(i, -1, -1):
            X[row, i] = (C[row, i] - Rr[row, row + 1:i + 1] @ X[row + 1:i + 1, i]) / Rr[row, row]
    return X


def _scaled_norms(X):
    m = np.max(np.abs(X), axis=0)
    m = np.where((m == 0) | ~np.isfinite(m), 1.0, m)
    return m * np.sqrt(((X / m) ** 2).sum(axis=0))
