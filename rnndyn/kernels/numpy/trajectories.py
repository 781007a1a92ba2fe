"""NumPy twins of :mod:`rnndyn.kernels.cpu.trajectories`: ``simulate`` and ``tangent``.
"""

from __future__ import annotations

import numpy as np

from rnndyn.kernels.numpy.cell import (  # noqa: F401
    dphi,
    jacobian,
    phi,
    preactivations,
    sigmoid,
    step,
    step_derivative,
)

# --------------------------------------------------------------------------- trajectories


def _input_at(inputs, t, B):
    x = inputs[:, t, :]
    return np.broadcast_to(x, (B, x.shape[1])) if x.shape[0] != B else x


def simulate(h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, stride, out, final, diverged_at,
             chunk=None, blas_min_n=None):
    """Integrate a batch of trajectories.

    Parameters
    ----------
    h0 : (B, n)
    inputs : (Bi, T, d), Bi in {1, B}; T is the number of steps
    stride : int
        Record h_t for t = 0, stride, 2·stride, ... into ``out``; 0 records nothing.
    out : (B, R, n) with R = T // stride + 1 (or R = 0)
    final : (B, n)
        Receives h_T.
    diverged_at : (B,) int64
        Receives the first step t at which h_t was non-finite, or -1. A diverged
        trajectory is set to NaN from that step on.
    chunk, blas_min_n : ignored
        Tuning arguments of the compiled twins.
    """
    B, n = h0.shape
    T = inputs.shape[1]
    H = np.array(h0, dtype=out.dtype if out.size else final.dtype, copy=True)
    diverged_at[:] = -1
    if stride > 0:
        out[:, 0, :] = H
    for t in range(1, T + 1):
        H = step(H, _input_at(inputs, t - 1, B), alpha, eps, act, gated, M, V, b, Vz, bz)
        bad = ~np.isfinite(H).all(axis=1) & (diverged_at < 0)
        diverged_at[bad] = t
        H[diverged_at >= 0] = np.nan
        if stride > 0 and t % stride == 0:
            out[:, t // stride, :] = H
    final[:] = H


def scaled_norm(X, axis=None):
    """Euclidean (Frobenius) norm over ``axis``, scaled by max|x| first so that it overflows or
    underflows only when the result does (the plain sum of squares leaves the range for norms
    beyond ~1e±154)."""
    X = np.asarray(X, dtype=float)
    if isinstance(axis, int) and X.shape[axis] == 1:  # |x| itself, the value the scaled sum gives, without its passes
        return np.abs(np.squeeze(X, axis=axis))
    with np.errstate(invalid="ignore", divide="ignore", over="ignore", under="ignore"):
        amax = np.max(np.abs(X), axis=axis, keepdims=True) if X.size else np.zeros((1,) * X.ndim)
        safe = np.where((amax > 0) & np.isfinite(amax), amax, 1.0)
        out = safe * np.sqrt(np.sum((X / safe) ** 2, axis=axis, keepdims=True))
        out = np.where((amax > 0) & np.isfinite(amax), out, amax)
    return np.squeeze(out, axis=axis) if axis is not None else out.reshape(())[()]


def spectral_norm(A):
    """Largest singular value of each matrix in a stack (…, n, k)."""
    return np.linalg.norm(A, ord=2, axis=(-2, -1))


def tangent(h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, vecs, norm_kind,
            final, jac, norms, vec_norms, diverged_at, blas_min_n=None, chunk=None):
    """Propagate the end-to-end Jacobian A_t = ∂h_t/∂h_0 = J_t ⋯ J_1 along a batch.

    Parameters
    ----------
    h0 : (B, n)
    inputs : (Bi, T, d)
    vecs : (n, kv)
        Tangent vectors v whose norms ‖A_t v‖ are recorded (kv may be 0).
    norm_kind : int
        0: spectral norm ‖A_t‖₂; 1: Frobenius norm.
    final : (B, n)       receives h_T
    jac : (B, n, n)      receives A_T
    norms : (B, T+1)     receives ‖A_t‖ for t = 0..T
    vec_norms : (B, T+1, kv) receives ‖A_t v‖
    diverged_at : (B,)   as in :func:`simulate`
    blas_min_n, chunk : ignored
        Tuning arguments of the compiled kernel (BLAS cut-over, trajectories per block).
    """
    B, n = h0.shape
    T = inputs.shape[1]
    H = np.array(h0, dtype=np.float64, copy=True)
    A = np.broadcast_to(np.eye(n), (B, n, n)).copy()
    diverged_at[:] = -1

    def record(t):
        ok = diverged_at < 0  # the SVD refuses NaN input: diverged rows stay NaN
        norms[:, t] = np.nan
        norms[ok, t] = spectral_norm(A[ok]) if norm_kind == 0 else scaled_norm(A[ok], axis=(-2, -1))
        if vecs.shape[1]:
            vec_norms[:, t, :] = scaled_norm(A @ vecs, axis=1)

    record(0)
    for t in range(1, T + 1):
        X = _input_at(inputs, t - 1, B)
        D = step_derivative(H, X, alpha, eps, act, gated, M, V, b, Vz, bz)
        H = step(H, X, alpha, eps, act, gated, M, V, b, Vz, bz)
        A = alpha * A + D[:, :, None] * (M @ A)
        bad = ~(np.isfinite(H).all(axis=1) & np.isfinite(A).all(axis=(1, 2))) & (diverged_at < 0)
        diverged_at[bad] = t
        H[diverged_at >= 0] = np.nan
        A[diverged_at >= 0] = np.nan
        record(t)
    final[:] = H
    jac[:] = A
