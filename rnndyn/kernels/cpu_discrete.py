"""numba kernels of general discrete maps and of the LSTM cell.

A general map reaches these kernels as two compiled functions with fixed
signatures (first-class functions, :data:`RULE` and :data:`JAC`)::

    rule(x, u, p, out)       # out[:] = F(x; u, p)        x, u, p, out: float64[::1]
    jacobian(x, u, p, out)   # out[:, :] = ∂F/∂x at x      out: float64[:, ::1]

where x is the state (dim,), u the input of this step ((d,), empty when the map
is autonomous) and p the map's parameter vector. Because the function *type*
is fixed, each kernel below is compiled once (and cached on disk) for every
map; the rule is called through a pointer. Kernels are compiled eagerly with
explicit signatures on first use (module ``__getattr__``): a process compiles, or
loads from the disk cache, only the kernels it calls.

No fast-math here, not even contraction: maps such as Hénon's are chaotic, and
one fused multiply-add would make the orbits part from the reference's
(:mod:`rnndyn.kernels.reference_discrete`, same names and arguments) within a
few dozen steps.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange, types

from .cpu import _all_finite, _lyap_after_qr, _lyap_is_qr_time, _lyap_reortho, _lyap_store, _record_tangent_norms
from .scalar import sigmoid

f8_1 = types.float64[::1]
f8_2 = types.float64[:, ::1]
f8_3 = types.float64[:, :, ::1]
i8_1 = types.int64[::1]
i8 = types.int64

#: Signature of a map's rule: rule(x, u, p, out) -> None.
RULE_SIG = types.void(f8_1, f8_1, f8_1, f8_1)
#: Signature of a map's Jacobian: jacobian(x, u, p, out) -> None, out (dim, dim).
JAC_SIG = types.void(f8_1, f8_1, f8_1, f8_2)
RULE = types.FunctionType(RULE_SIG)
JAC = types.FunctionType(JAC_SIG)


@njit(cache=True)
def _matmul_plain(A, B, out):
    """out = A @ B, (n, n) x (n, k), row-wise axpys; no fast-math (see the module note)."""
    n, k = B.shape
    for i in range(n):
        oi = out[i]
        for c in range(k):
            oi[c] = 0.0
        for j in range(n):
            aij = A[i, j]
            bj = B[j]
            for c in range(k):
                oi[c] += aij * bj[c]


# --------------------------------------------------------------------------- general maps


def _dmap_simulate(h0, inputs, rule, p, stride, out, final, diverged_at):
    """Orbits of a batch under a map (see ``reference_discrete.dmap_simulate``)."""
    B, n = h0.shape
    Bi, T, d = inputs.shape
    for bb in prange(B):
        bi = np.int64(bb) if Bi > 1 else np.int64(0)
        x = h0[bb].copy()
        xn = np.empty(n)
        dv = np.int64(-1)
        if stride > 0:
            out[bb, 0] = x
        for t in range(1, T + 1):
            if dv < 0:
                rule(x, inputs[bi, t - 1], p, xn)
                x, xn = xn, x
                if not _all_finite(x):
                    dv = t
                    x[:] = np.nan
            if stride > 0 and t % stride == 0:
                out[bb, t // stride] = x
        final[bb] = x
        diverged_at[bb] = dv


def _dmap_tangent(h0, inputs, rule, jac, p, vecs, norm_kind, final, jac_out, norms, vec_norms, diverged_at,
                 blas_min_n):
    """End-to-end Jacobians A_t = J_t ⋯ J_1 of a batch under a map (see ``reference_discrete.dmap_tangent``)."""
    B, n = h0.shape
    Bi, T, d = inputs.shape
    kv = vecs.shape[1]
    use_blas = n >= blas_min_n
    for bb in prange(B):
        bi = np.int64(bb) if Bi > 1 else np.int64(0)
        x = h0[bb].copy()
        xn = np.empty(n)
        J = np.empty((n, n))
        A = np.eye(n)
        An = np.empty((n, n))
        At = np.empty((n, n))
        S = np.empty((n, n))
        AV = np.empty((n, kv))
        dv = np.int64(-1)
        _record_tangent_norms(A, vecs, norm_kind, norms[bb], vec_norms[bb], 0, At, S, AV)
        for t in range(1, T + 1):
            if dv >= 0:
                norms[bb, t] = np.nan
                for c in range(kv):
                    vec_norms[bb, t, c] = np.nan
                continue
            u = inputs[bi, t - 1]
            jac(x, u, p, J)
            rule(x, u, p, xn)
            x, xn = xn, x
            if use_blas:
                np.dot(J, A, An)
            else:
                _matmul_plain(J, A, An)
            A, An = An, A
            if not (_all_finite(x) and _all_finite(A.reshape(n * n))):
                dv = t
                x[:] = np.nan
                A[:, :] = np.nan
                norms[bb, t] = np.nan
                for c in range(kv):
                    vec_norms[bb, t, c] = np.nan
                continue
            _record_tangent_norms(A, vecs, norm_kind, norms[bb], vec_norms[bb], t, At, S, AV)
        final[bb] = x
        jac_out[bb] = A
        diverged_at[bb] = dv


def _dmap_lyapunov(h, inputs, rule, jac, p, Q, S, t0, transient, total, every, err_from, lo, hi, hist,
                  diverged_at, blas_min_n, qr_lapack_min_n):
    """Benettin/QR Lyapunov spectra under a map, one chunk (see ``reference.lyapunov`` for the arguments)."""
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
        Vh = np.empty((n, k))
        w = np.empty(k)
        rdiag = np.empty(k)
        Sb = S[bb].copy()
        lob = lo[bb].copy()
        hib = hi[bb].copy()
        dv = np.int64(-1)
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
            if _lyap_is_qr_time(t, transient, total, every):
                if _lyap_reortho(Qb, Vh, w, rdiag, use_lapack):
                    dv = t
                    break
                _lyap_after_qr(t, transient, every, err_from, Sb, rdiag, lob, hib, hist[bb])
        _lyap_store(bb, dv, x, Qb, Sb, lob, hib, h, Q, S, lo, hi, diverged_at)


# --------------------------------------------------------------------------- LSTM


@njit(cache=True)
def _lstm_core(x, u, Whh, b, Wih, out, J, want_jac):
    """One LSTM step from x = [h; c] (2n,), PyTorch gate order (i, f, g, o); optionally ∂(h', c')/∂(h, c).

    gates = W_hh h + b + W_ih u; c' = f ∘ c + i ∘ g; h' = o ∘ tanh(c'). The
    Jacobian (2n, 2n) has blocks [[∂h'/∂h, ∂h'/∂c], [∂c'/∂h, ∂c'/∂c]] with
    ∂c'/∂h = diag(c f(1-f)) W_f + diag(g i(1-i)) W_i + diag(i (1-g²)) W_g,
    ∂c'/∂c = diag(f), ∂h'/∂h = diag(tanh(c') o(1-o)) W_o + diag(o (1-tanh²c')) ∂c'/∂h,
    ∂h'/∂c = diag(o (1-tanh²c') f).
    """
    n = x.shape[0] // 2
    d = u.shape[0]
    for r in range(n):
        gi = b[r]
        gf = b[n + r]
        gg = b[2 * n + r]
        go = b[3 * n + r]
        for j in range(n):
            hj = x[j]
            gi += Whh[r, j] * hj
            gf += Whh[n + r, j] * hj
            gg += Whh[2 * n + r, j] * hj
            go += Whh[3 * n + r, j] * hj
        for j in range(d):
            uj = u[j]
            gi += Wih[r, j] * uj
            gf += Wih[n + r, j] * uj
            gg += Wih[2 * n + r, j] * uj
            go += Wih[3 * n + r, j] * uj
        i = sigmoid(gi)
        f = sigmoid(gf)
        g = math.tanh(gg)
        o = sigmoid(go)
        c = x[n + r]
        cn = f * c + i * g
        tc = math.tanh(cn)
        out[r] = o * tc
        out[n + r] = cn
        if want_jac:
            kf = c * f * (1.0 - f)
            ki = g * i * (1.0 - i)
            kg = i * (1.0 - g * g)
            ko = tc * o * (1.0 - o)
            oc = o * (1.0 - tc * tc)
            for j in range(n):
                dc = kf * Whh[n + r, j] + ki * Whh[r, j] + kg * Whh[2 * n + r, j]
                J[n + r, j] = dc
                J[r, j] = ko * Whh[3 * n + r, j] + oc * dc
            for j in range(n):
                J[n + r, n + j] = 0.0
                J[r, n + j] = 0.0
            J[n + r, n + r] = f
            J[r, n + r] = oc * f


@njit(cache=True)
def _lstm_unpack(x, u, p):
    n = x.shape[0] // 2
    d = u.shape[0]
    m = 4 * n
    Whh = p[: m * n].reshape((m, n))
    b = p[m * n: m * n + m]
    Wih = p[m * n + m: m * n + m + m * d].reshape((m, d))
    return Whh, b, Wih


def _lstm_rule(x, u, p, out):
    """The LSTM as a map rule; p = [W_hh.ravel(), b, W_ih.ravel()] (see ``rnndyn.LSTM.as_map``)."""
    Whh, b, Wih = _lstm_unpack(x, u, p)
    _lstm_core(x, u, Whh, b, Wih, out, out.reshape((1, out.shape[0])), False)


def _lstm_jac(x, u, p, out):
    """The LSTM's Jacobian ∂(h', c')/∂(h, c) as a map Jacobian (parameters as in :func:`lstm_rule`)."""
    Whh, b, Wih = _lstm_unpack(x, u, p)
    tmp = np.empty(x.shape[0])
    _lstm_core(x, u, Whh, b, Wih, tmp, out, True)


@njit(cache=True, parallel=True)
def lstm_step(H, X, W_ih, W_hh, b, out):
    """One LSTM step for a batch: H (B, 2n) = [h; c], X (B, d) -> out (B, 2n)."""
    B = H.shape[0]
    dummy = np.empty((0, 0))
    for bb in prange(B):
        _lstm_core(H[bb], X[bb], W_hh, b, W_ih, out[bb], dummy, False)


@njit(cache=True, parallel=True)
def lstm_jacobian(H, X, W_ih, W_hh, b, out):
    """∂(h', c')/∂(h, c) for a batch: H (B, 2n), X (B, d) -> out (B, 2n, 2n)."""
    B, m = H.shape
    for bb in prange(B):
        tmp = np.empty(m)
        _lstm_core(H[bb], X[bb], W_hh, b, W_ih, tmp, out[bb], True)


# --------------------------------------------------------------------------- lazy compilation

_LAZY = {
    "dmap_simulate": (_dmap_simulate, types.void(f8_2, f8_3, RULE, f8_1, i8, f8_3, f8_2, i8_1), True),
    "dmap_tangent": (_dmap_tangent,
                     types.void(f8_2, f8_3, RULE, JAC, f8_1, f8_2, i8, f8_2, f8_3, f8_2, f8_3, i8_1, i8), True),
    "dmap_lyapunov": (_dmap_lyapunov, types.void(f8_2, f8_3, RULE, JAC, f8_1, f8_3, f8_2, i8, i8, i8, i8, i8, f8_2,
                                                 f8_2, f8_3, i8_1, i8, i8), True),
    "lstm_rule": (_lstm_rule, RULE_SIG, False),
    "lstm_jac": (_lstm_jac, JAC_SIG, False),
}


def __getattr__(name):
    """Compile (or load from the disk cache) a kernel with its fixed signature the first time it is asked for.

    A fixed signature with function-typed rule/Jacobian arguments makes one
    compiled kernel serve every map; compiling it lazily keeps the cost (the
    tangent kernel alone takes ~10 s from cold) off processes that never use it.
    """
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    fn, sig, parallel = _LAZY[name]
    disp = njit(sig, cache=True, parallel=parallel)(fn) if parallel else njit(sig, cache=True)(fn)
    globals()[name] = disp
    return disp
