"""NumPy twin of :func:`rnndyn.kernels.cpu.lyapunov_qr.lyapunov`, and the QR helpers the map twins share.
"""

from __future__ import annotations

import numpy as np

from rnndyn.kernels.numpy.cell import jacobian, step  # noqa: F401
from rnndyn.kernels.numpy.trajectories import _input_at  # noqa: F401

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


def lyapunov_accumulate(t, transient, total, every, S, rdiag, blocks, hist, ok):
    """Add log diag(R) to S and to its block after a QR at global step t (rows ``ok`` only); history.

    QR number r (0-based, after the transient) of W = ceil((total - transient)/every)
    belongs to block ceil((r + 1) nb / W) - 1 of the nb = ``blocks.shape[1]``.
    """
    if t <= transient:
        return
    done = t - transient
    r = (done + every - 1) // every - 1
    with np.errstate(divide="ignore"):
        lr = np.log(rdiag[ok])
    S[ok] += lr
    nb = blocks.shape[1]
    if nb > 0:
        windows = (total - transient + every - 1) // every
        blocks[ok, ((r + 1) * nb + windows - 1) // windows - 1, :] += lr
    if hist.shape[1] > 0:
        hist[ok, r, :] = S[ok] / done


def lyapunov(h, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, Q, S, t0, transient, total, every,
             blocks, hist, diverged_at, blas_min_n=None, qr_lapack_min_n=None):
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
    blocks : (B, nb, k) in/out
        Σ log R_jj per block: the W = ceil((total - transient)/every) QRs after
        the transient are shared out among nb blocks, block j holding QRs
        j W // nb … (j + 1) W // nb - 1 (the batch-means error of
        ``lyapunov_spectrum``); nb = 0 for none.
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
            lyapunov_accumulate(t, transient, total, every, S, rdiag, blocks, hist, good & ~bad)
        diverged_at[bad] = t
        ok &= ~bad
        h[~ok] = np.nan
        Q[~ok] = np.nan
        S[~ok] = np.nan
