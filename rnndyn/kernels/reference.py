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


# ---- bptt ----


#: ``loss_kind`` codes of :func:`bptt` (shared with the compiled twin).
LOSS_LAST, LOSS_SUM, LOSS_READOUT, LOSS_UPSTREAM = 0, 1, 2, 3


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
        state is kept).
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
        delta_norms[:, t] = np.linalg.norm(delta, axis=1)
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
    delta_norms[:, 0] = np.linalg.norm(delta, axis=1)
    dh0[:] = delta
    deps[0] = de


# ---- 1-D maps ----
# Twins of cpu.map_step / cpu.bifurcation: vectorised over the parameters and
# written as the same IEEE operations in the same order, so the numba kernel
# agrees with them to the last bit even on chaotic orbits.

from .cpu import LOGISTIC, MAP_KINDS, QUADRATIC, TENT  # noqa: E402,F401


def map_step(kind, p, x):
    """One step of map family ``kind`` (elementwise over arrays ``p``, ``x``)."""
    if kind == LOGISTIC:
        return p * x * (1.0 - x)
    if kind == QUADRATIC:
        return x * x + p
    if kind == TENT:
        return p * np.minimum(x, 1.0 - x)
    raise ValueError(f"kind: unknown map kind {kind}")


def bifurcation(kind, params, x0, transient, out):
    """Orbit diagram: for each parameter, iterate from ``x0`` and keep the tail.

    Parameters
    ----------
    kind : int
        Map family id (``LOGISTIC``, ``QUADRATIC`` or ``TENT``).
    params : ndarray, shape (P,)
        Parameter values (r, c or mu).
    x0 : float
        Initial state, the same for every parameter.
    transient : int
        Steps discarded before recording.
    out : ndarray, shape (P, keep)
        Filled with ``out[i, j] = x_{transient + j}`` for parameter ``params[i]``.

    See Also
    --------
    rnndyn.kernels.cpu.bifurcation : the numba kernel.
    """
    p = np.asarray(params, dtype=np.float64)
    x = np.full(p.shape, float(x0))
    with np.errstate(over="ignore", invalid="ignore"):
        for _ in range(transient):
            x = map_step(kind, p, x)
        for j in range(out.shape[1]):
            out[:, j] = x
            x = map_step(kind, p, x)


# ---- lyapunov ----


def qr_positive(A):
    """QR of a stack of (n, k) matrices with diag(R) ≥ 0 (the sign moved into Q)."""
    Qm, R = np.linalg.qr(A)
    d = np.diagonal(R, axis1=-2, axis2=-1)
    sgn = np.where(d < 0.0, -1.0, 1.0)
    return Qm * sgn[..., None, :], np.abs(d)


def lyapunov_qr_time(t, transient, total, every):
    """Whether the tangent basis is re-orthonormalised after global step t."""
    if t == total or t == transient:
        return True
    if t < transient:
        return t % every == 0
    return (t - transient) % every == 0


def lyapunov_accumulate(t, transient, every, err_from, S, rdiag, lo, hi, hist, ok):
    """Add log diag(R) to S after a QR at global step t (rows ``ok`` only); running spread and history."""
    if t <= transient:
        return
    done = t - transient
    with np.errstate(divide="ignore"):
        S[ok] += np.log(rdiag[ok])
    est = S / done
    if done >= err_from:
        lo[ok] = np.minimum(lo[ok], est[ok])
        hi[ok] = np.maximum(hi[ok], est[ok])
    if hist.shape[1] > 0:
        hist[ok, (done + every - 1) // every - 1, :] = est[ok]


def lyapunov(h, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, Q, S, t0, transient, total, every,
             err_from, lo, hi, hist, diverged_at, blas_min_n=None, qr_lapack_min_n=None):
    """Benettin/QR Lyapunov spectra of a batch of trajectories, one chunk of steps.

    Evolves the state h and k tangent vectors with the one-step Jacobian at the
    state *before* the step, J_t = alpha I + diag(D_t) M, re-orthonormalises by
    QR (diag R ≥ 0) at the scheduled steps and adds log R_jj to S once the
    transient is over. All arrays marked in/out carry the run from one chunk
    to the next, so a long run can be cut into chunks with identical results.

    Parameters
    ----------
    h : (B, n) in/out
        State h_{t0} on entry, h_{t0+T} on exit.
    inputs : (Bi, T, d)
        Inputs of global steps t0+1 .. t0+T.
    Q : (B, n, k) in/out
        The k tangent vectors as columns (orthonormal after a QR).
    S : (B, k) in/out
        Σ log R_jj accumulated since the end of the transient.
    t0 : int
        Global steps done before this chunk.
    transient, total, every : int
        Steps discarded, transient + accumulated steps, and the QR interval.
        QR after step t when t is the end of the transient or of the run, or
        t (before the transient's end) or t - transient (after) is a multiple
        of ``every``.
    err_from : int
        Accumulated steps from which the running estimate S/(t - transient)
        enters ``lo``/``hi``.
    lo, hi : (B, k) in/out
        Running min and max of that estimate.
    hist : (B, H, k)
        Running estimate after each accumulated QR (H = ceil(steps/every)), or H = 0.
    diverged_at : (B,) in/out
        -1, or the step at which the state or the tangent became non-finite
        (then h, Q and S are NaN).
    blas_min_n, qr_lapack_min_n : ignored
        Tuning arguments of the compiled twin (from which n the product M Q
        goes to BLAS and the QR to LAPACK instead of hand-written loops).
    """
    B, n = h.shape
    T = inputs.shape[1]
    ok = diverged_at < 0
    X0 = inputs
    for s in range(T):
        t = t0 + s + 1
        X = _input_at(X0, s, B)
        Jac = jacobian(h, X, alpha, eps, act, gated, M, V, b, Vz, bz)
        h[:] = step(h, X, alpha, eps, act, gated, M, V, b, Vz, bz)
        Q[:] = Jac @ Q
        bad = ok & ~np.isfinite(h).all(axis=1)
        if lyapunov_qr_time(t, transient, total, every):
            good = ok & ~bad
            Qm, rd = qr_positive(Q[good])
            Q[good] = Qm
            rdiag = np.ones(S.shape)
            rdiag[good] = rd
            bad |= good & ~np.isfinite(rdiag).all(axis=1)
            lyapunov_accumulate(t, transient, every, err_from, S, rdiag, lo, hi, hist, good & ~bad)
        diverged_at[bad] = t
        ok &= ~bad
        h[~ok] = np.nan
        Q[~ok] = np.nan
        S[~ok] = np.nan


# ---- maps and LSTM ----
# Their twins live in reference_discrete (which builds on the helpers above);
# imported here so every kernel's oracle is reachable from this module.
from .reference_discrete import dmap_lyapunov, dmap_simulate, dmap_tangent, lstm_jacobian, lstm_step  # noqa: E402,F401
