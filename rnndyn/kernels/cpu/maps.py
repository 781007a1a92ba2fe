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
(:mod:`rnndyn.kernels.numpy.maps`, same names and arguments) within a
few dozen steps.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types

from rnndyn.kernels.cpu.common import (
    _all_finite,
    _copy_mat,
    _copy_vec,
    _lyap_after_qr,
    _lyap_is_qr_time,
    _lyap_reortho,
    _lyap_store,
    _qr_scratch,
    _record_tangent_norms,
)
from rnndyn.kernels.params import PARALLEL_PRANGE_ONLY as _PARALLEL

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


def _map_simulate(h0, inputs, rule, p, stride, out, final, diverged_at):
    """Orbits of a batch under a map (see ``reference_discrete.map_simulate``)."""
    B, n = h0.shape
    Bi, T, d = inputs.shape
    for bb in prange(B):
        bi = np.int64(bb) if Bi > 1 else np.int64(0)
        x = h0[bb].copy()
        xn = np.empty(n)
        dv = np.int64(-1)
        if stride > 0:
            _copy_vec(out[bb, 0], x)
        for t in range(1, T + 1):
            if dv < 0:
                rule(x, inputs[bi, t - 1], p, xn)
                x, xn = xn, x
                if not _all_finite(x):
                    dv = t
                    x[:] = np.nan
            if stride > 0 and t % stride == 0:
                _copy_vec(out[bb, t // stride], x)
        _copy_vec(final[bb], x)
        diverged_at[bb] = dv


def _map_tangent(h0, inputs, rule, jac, p, vecs, norm_kind, final, jac_out, norms, vec_norms, diverged_at,
                 blas_min_n):
    """End-to-end Jacobians A_t = J_t ⋯ J_1 of a batch under a map (see ``reference_discrete.map_tangent``)."""
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
        _copy_vec(final[bb], x)
        _copy_mat(jac_out[bb], A)
        diverged_at[bb] = dv


def _map_lyapunov(h, inputs, rule, jac, p, Q, S, t0, transient, total, every, blocks, hist,
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
        Qs, Vh, w, rdiag = _qr_scratch(n, k)
        Sb = S[bb].copy()
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
                if _lyap_reortho(Qb, Qs, Vh, w, rdiag, use_lapack):
                    dv = t
                    break
                _lyap_after_qr(t, transient, total, every, Sb, rdiag, blocks[bb], hist[bb])
        _lyap_store(bb, dv, x, Qb, Sb, h, Q, S, diverged_at)


# --------------------------------------------------------------------------- lazy compilation

_LAZY = {
    "map_simulate": (_map_simulate, types.void(f8_2, f8_3, RULE, f8_1, i8, f8_3, f8_2, i8_1), True),
    "map_tangent": (_map_tangent,
                     types.void(f8_2, f8_3, RULE, JAC, f8_1, f8_2, i8, f8_2, f8_3, f8_2, f8_3, i8_1, i8), True),
    "map_lyapunov": (_map_lyapunov, types.void(f8_2, f8_3, RULE, JAC, f8_1, f8_3, f8_2, i8, i8, i8, i8, f8_3,
                                                 f8_3, i8_1, i8, i8), True),
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
    disp = njit(sig, cache=True, parallel=_PARALLEL)(fn) if parallel else njit(sig, cache=True)(fn)
    globals()[name] = disp
    return disp

