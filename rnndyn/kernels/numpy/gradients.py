"""NumPy twin of :func:`rnndyn.kernels.cpu.gradients.bptt`.
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
from rnndyn.kernels.numpy.trajectories import _input_at, scaled_norm  # noqa: F401
from rnndyn.kernels.params import LOSS_LAST, LOSS_READOUT, LOSS_SUM

# ---- bptt ----


#: ``loss_kind`` codes of :func:`bptt` (shared with the compiled twin).


def bptt(h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, loss_kind, dL_dh, U, c, targets, checkpoint,
         dM, dV, db, dVz, dbz, dU, dc, deps, dh0, delta_norms, loss, final, diverged_at,
         work=None, chunk=None, blas_min_n=None):
    """Backpropagation through time for a batch: every gradient of a loss on the trajectory.

    Forward a_t = M h_{t-1} + V x_t + b, h_t = alpha h_{t-1} + eps [z_t ∘] φ(a_t);
    backward, with δ_t = ∂L/∂h_t (the total derivative, direct term included),

        g^a_t = eps z_t ∘ φ'(a_t) ∘ δ_t,   g^z_t = eps φ(a_t) ∘ σ'(a^z_t) ∘ δ_t,
        δ_{t-1} = alpha δ_t + Mᵀ (g^a_t + g^z_t) + ∂ℓ/∂h_{t-1},

    and ∂L/∂M = Σ_t (g^a_t + g^z_t) h_{t-1}ᵀ, ∂L/∂V = Σ_t g^a_t x_tᵀ, ∂L/∂b = Σ_t g^a_t
    (likewise V_z, b_z with g^z), ∂L/∂eps = Σ_t δ_t · (z_t ∘ φ(a_t)).

    Parameters
    ----------
    h0 : (B, n)
    inputs : (Bi, T, d), Bi in {1, B}
    loss_kind : int
        0 (``LOSS_LAST``): ½‖h_T‖²; 1 (``LOSS_SUM``): ½ Σ_{t=1..T} ‖h_t‖²;
        2 (``LOSS_READOUT``): softmax cross-entropy of U h_T + c against ``targets``;
        3 (``LOSS_UPSTREAM``): the linear functional Σ_{t=0..T} ⟨dL_dh_t, h_t⟩.
    dL_dh : (Bd, T+1, n), Bd in {1, B}
        Upstream gradients (read only for ``loss_kind == 3``).
    U : (k, n), c : (k,), targets : (B,) int64
        Readout (read only for ``loss_kind == 2``).
    checkpoint : int
        Segment length of the compiled twin's checkpointing; ignored here (every
        state is kept). The weight gradients are summed step by step from t = T
        down to 1, each step's batch in one product: another order than the
        compiled twin's blocks of steps, so the two agree to rounding, not bit
        for bit.
    dM : (n, n), dV : (n, d), db : (n,), dVz : (n, dz), dbz : (nz,), dU : (k, n), dc : (k,), deps : (1,)
        Receive the batch-summed gradients (dz = d, nz = n when gated, else 0).
    dh0 : (B, n)          receives δ_0 of each trajectory
    delta_norms : (B, T+1) receives ‖δ_t‖ for t = 0..T
    loss : (B,)           receives each trajectory's loss
    final : (B, n)        receives h_T
    diverged_at : (B,)    first step at which h_t was non-finite, or -1
    work, chunk, blas_min_n : ignored
        Scratch space and tuning of the compiled twin.
    """
    B, n = h0.shape
    T = inputs.shape[1]
    H = np.array(h0, dtype=np.float64, copy=True)
    Hs, As, Azs, Xs = [H], [], [], []
    diverged_at[:] = -1
    for t in range(1, T + 1):
        X = _input_at(inputs, t - 1, B)
        A, Az = preactivations(H, X, alpha, eps, act, gated, M, V, b, Vz, bz)
        Y = phi(act, A)
        H = alpha * H + (eps * sigmoid(Az) * Y if gated else eps * Y)
        bad = ~np.isfinite(H).all(axis=1) & (diverged_at < 0)
        diverged_at[bad] = t
        Hs.append(H)
        As.append(A)
        Azs.append(Az)
        Xs.append(X)
    final[:] = H
    S = np.stack(Hs, axis=1)  # (B, T+1, n)

    direct = np.zeros((B, T + 1, n))
    dU[:] = 0.0
    dc[:] = 0.0
    if loss_kind == LOSS_LAST:
        direct[:, T] = H
        loss[:] = 0.5 * np.sum(H * H, axis=1)
    elif loss_kind == LOSS_SUM:
        direct[:, 1:] = S[:, 1:]
        loss[:] = 0.5 * np.sum(S[:, 1:] ** 2, axis=(1, 2))
    elif loss_kind == LOSS_READOUT:
        logits = H @ U.T + c
        mx = logits.max(axis=1, keepdims=True)
        e = np.exp(logits - mx)
        s = e.sum(axis=1, keepdims=True)
        rows = np.arange(B)
        loss[:] = (mx[:, 0] + np.log(s[:, 0])) - logits[rows, targets]
        P = e / s
        P[rows, targets] -= 1.0
        direct[:, T] = P @ U
        dU[:] = P.T @ H
        dc[:] = P.sum(axis=0)
    else:
        direct[:] = np.broadcast_to(dL_dh, direct.shape)
        loss[:] = np.sum(direct * S, axis=(1, 2))

    dM[:] = 0.0
    dV[:] = 0.0
    db[:] = 0.0
    dVz[:] = 0.0
    dbz[:] = 0.0
    de = 0.0
    delta = direct[:, T].copy()
    for t in range(T, 0, -1):
        delta_norms[:, t] = scaled_norm(delta, axis=1)
        A, Az, X = As[t - 1], Azs[t - 1], Xs[t - 1]
        Y = phi(act, A)
        dY = dphi(act, A, Y)
        if gated:
            Z = sigmoid(Az)
            ga = eps * Z * dY * delta
            gz = eps * Y * Z * (1.0 - Z) * delta
            dVz += gz.T @ X
            dbz += gz.sum(axis=0)
            de += np.sum(delta * Z * Y)
            g = ga + gz
        else:
            ga = eps * dY * delta
            de += np.sum(delta * Y)
            g = ga
        dM += g.T @ S[:, t - 1]
        dV += ga.T @ X
        db += ga.sum(axis=0)
        delta = alpha * delta + g @ M + direct[:, t - 1]
    delta_norms[:, 0] = scaled_norm(delta, axis=1)
    dh0[:] = delta
    deps[0] = de
