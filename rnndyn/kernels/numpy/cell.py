"""The cell form in NumPy: activations, one step and the one-step Jacobian.

``h_t = alpha h_{t-1} + beta_t ∘ phi(M h_{t-1} + V x_t + b)`` with the
arguments of :class:`rnndyn.kernels.params.CellParams`. These are the oracle of
the kernels and also what the cells' own ``step``/``jacobian`` use.
"""

from __future__ import annotations

import numpy as np

from rnndyn.kernels.params import RELU, SIGMOID, TANH

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
        # sech² from a, not 1 − y²: the latter loses relative accuracy as tanh saturates
        with np.errstate(over="ignore"):
            return 1.0 / np.cosh(a) ** 2
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
