"""NumPy twins of :mod:`rnndyn.kernels.cpu.maps`: ``map_simulate``, ``map_tangent``, ``map_lyapunov``.
"""

from __future__ import annotations

import numpy as np

from rnndyn.kernels.numpy.lyapunov_qr import (
    lyapunov_accumulate,
    lyapunov_qr_time,
    qr_positive,
)
from rnndyn.kernels.numpy.trajectories import scaled_norm, spectral_norm

# --------------------------------------------------------------------------- general maps


def _u(inputs, bb, s):
    return inputs[bb if inputs.shape[0] > 1 else 0, s]


def map_simulate(h0, inputs, rule, p, stride, out, final, diverged_at):
    """Orbits x_t = F(x_{t-1}; u_t, p) of a batch.

    Parameters
    ----------
    h0 : (B, n)
    inputs : (Bi, T, d), Bi in {1, B}
    rule : compiled rule(x, u, p, out)
    p : (P,) parameters of the map
    stride, out, final, diverged_at
        As in ``reference.simulate``.
    """
    B, n = h0.shape
    T = inputs.shape[1]
    diverged_at[:] = -1
    for bb in range(B):
        x = h0[bb].copy()
        if stride > 0:
            out[bb, 0] = x
        for t in range(1, T + 1):
            if diverged_at[bb] < 0:
                xn = np.empty(n)
                rule(x, np.ascontiguousarray(_u(inputs, bb, t - 1)), p, xn)
                x = xn
                if not np.isfinite(x).all():
                    diverged_at[bb] = t
                    x[:] = np.nan
            if stride > 0 and t % stride == 0:
                out[bb, t // stride] = x
        final[bb] = x


def map_tangent(h0, inputs, rule, jac, p, vecs, norm_kind, final, jac_out, norms, vec_norms, diverged_at,
                 blas_min_n=None):
    """A_t = J_t ⋯ J_1 with J_t = ∂F/∂x at x_{t-1}; arguments as in ``reference.tangent``."""
    B, n = h0.shape
    T = inputs.shape[1]
    diverged_at[:] = -1
    for bb in range(B):
        x = h0[bb].copy()
        A = np.eye(n)

        def record(t):
            norms[bb, t] = spectral_norm(A) if norm_kind == 0 else scaled_norm(A)
            vec_norms[bb, t] = scaled_norm(A @ vecs, axis=0)

        record(0)
        for t in range(1, T + 1):
            if diverged_at[bb] >= 0:
                norms[bb, t] = np.nan
                vec_norms[bb, t] = np.nan
                continue
            u = np.ascontiguousarray(_u(inputs, bb, t - 1))
            J = np.empty((n, n))
            jac(x, u, p, J)
            xn = np.empty(n)
            rule(x, u, p, xn)
            x = xn
            A = J @ A
            if not (np.isfinite(x).all() and np.isfinite(A).all()):
                diverged_at[bb] = t
                x[:] = np.nan
                A[:] = np.nan
                norms[bb, t] = np.nan
                vec_norms[bb, t] = np.nan
                continue
            record(t)
        final[bb] = x
        jac_out[bb] = A


def map_lyapunov(h, inputs, rule, jac, p, Q, S, t0, transient, total, every, blocks, hist,
                  diverged_at, blas_min_n=None, qr_lapack_min_n=None):
    """Benettin/QR Lyapunov spectra under a map, one chunk; arguments as in ``reference.lyapunov``."""
    B, n = h.shape
    T = inputs.shape[1]
    for bb in range(B):
        if diverged_at[bb] >= 0:
            continue
        ok = np.ones(1, bool)
        for s in range(T):
            t = t0 + s + 1
            u = np.ascontiguousarray(_u(inputs, bb, s))
            J = np.empty((n, n))
            jac(h[bb], u, p, J)
            xn = np.empty(n)
            rule(h[bb], u, p, xn)
            h[bb] = xn
            Q[bb] = J @ Q[bb]
            if not np.isfinite(h[bb]).all():
                diverged_at[bb] = t
                break
            if lyapunov_qr_time(t, transient, total, every):
                Qm, rd = qr_positive(Q[bb])
                Q[bb] = Qm
                if not np.all(np.isfinite(rd) | (rd == 0)):
                    diverged_at[bb] = t
                    break
                lyapunov_accumulate(t, transient, total, every, S[bb:bb + 1], rd[None], blocks[bb:bb + 1],
                                    hist[bb:bb + 1], ok)
        if diverged_at[bb] >= 0:
            h[bb] = np.nan
            Q[bb] = np.nan
            S[bb] = np.nan
