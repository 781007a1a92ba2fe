"""Plain NumPy twins of the kernels: slow, obvious, and the oracle of the tests.

Each function has the same name and the same arguments as its ``cpu`` (and
``cuda``) counterpart, so tests can call both on the same case. Nothing here is
clever: loops over time, NumPy over the batch.

The cell arguments, in order, are those of :class:`rnndyn.cells.CellParams`:
``alpha, eps, act, gated, M, V, b, Vz, bz``.
"""

from __future__ import annotations

import numpy as np

from .scalar import LINEAR, RELU, SIGMOID, TANH

# --------------------------------------------------------------------------- activations


def phi(act, a):
    """Activation ``act`` applied elementwise."""
    if act == TANH:
        return np.tanh(a)
    if act == RELU:
        return np.maximum(a, 0.0)
    if act == SIGMOID:
        return 1.0 / (1.0 + np.exp(-a))
    return np.array(a, dtype=np.float64, copy=True)


def dphi(act, a, y):
    """Derivative of ``act`` at ``a`` given ``y = phi(act, a)``."""
    if act == TANH:
        return 1.0 - y * y
    if act == RELU:
        return (a > 0.0).astype(a.dtype)
    if act == SIGMOID:
        return y * (1.0 - y)
    return np.ones_like(a)


def sigmoid(a):
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-a))


# --------------------------------------------------------------------------- one step


def preactivations(H, X, alpha, eps, act, gated, M, V, b, Vz, bz):
    """Pre-activations a = M h + V x + b (and the gate's a_z) for a batch (B, n), (B, d)."""
    MH = H @ M.T
    A = MH + X @ V.T + b
    Az = MH + X @ Vz.T + bz if gated else None
    return A, Az


def step(H, X, alpha, eps, act, gated, M, V, b, Vz, bz):
    """One step for a batch: H (B, n), X (B, d) -> (B, n)."""
    A, Az = preactivations(H, X, alpha, eps, act, gated, M, V, b, Vz, bz)
    beta = eps * sigmoid(Az) if gated else eps
    return alpha * H + beta * phi(act, A)


def step_derivative(H, X, alpha, eps, act, gated, M, V, b, Vz, bz):
    """The diagonal D of the one-step Jacobian J = alpha I + diag(D) M, (B, n)."""
    A, Az = preactivations(H, X, alpha, eps, act, gated, M, V, b, Vz, bz)
    Y = phi(act, A)
    if gated:
        Z = sigmoid(Az)
        return eps * (Z * dphi(act, A, Y) + Y * Z * (1.0 - Z))
    return eps * dphi(act, A, Y)


def jacobian(H, X, alpha, eps, act, gated, M, V, b, Vz, bz):
    """One-step Jacobians ∂h_t/∂h_{t-1} for a batch, (B, n, n)."""
    D = step_derivative(H, X, alpha, eps, act, gated, M, V, b, Vz, bz)
    n = M.shape[0]
    return alpha * np.eye(n) + D[:, :, None] * M[None, :, :]


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


def spectral_norm(A):
    """Largest singular value of each matrix in a stack (…, n, k)."""
    return np.linalg.norm(A, ord=2, axis=(-2, -1))


def tangent(h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, vecs, norm_kind,
            final, jac, norms, vec_norms, diverged_at, blas_min_n=None):
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
    """
    B, n = h0.shape
    T = inputs.shape[1]
    H = np.array(h0, dtype=np.float64, copy=True)
    A = np.broadcast_to(np.eye(n), (B, n, n)).copy()
    diverged_at[:] = -1

    def record(t):
        ok = diverged_at < 0  # the SVD refuses NaN input: diverged rows stay NaN
        norms[:, t] = np.nan
        norms[ok, t] = spectral_norm(A[ok]) if norm_kind == 0 else np.linalg.norm(A[ok], axis=(-2, -1))
        if vecs.shape[1]:
            vec_norms[:, t, :] = np.linalg.norm(A @ vecs, axis=1)

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
