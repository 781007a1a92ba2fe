"""CPU kernel of the slow-point search: Adam on q(h) = ½‖F(h) − h‖² for a batch of starts.

Twin: :mod:`rnndyn.kernels.numpy.slow_points`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from rnndyn.kernels.params import FASTMATH
from rnndyn.kernels.params import PARALLEL_PRANGE_ONLY as _PARALLEL
from rnndyn.kernels.scalar import dphi, phi, sigmoid

_FASTMATH = set(FASTMATH)  # numba takes a set, not a frozenset


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _adam_block(H, MT, alpha, eps, act, gated, M, c, cz, iters, lr, beta1, beta2, adam_eps, decay, stop_q,
                q_out, steps_out):
    """All Adam steps for one block of starts (rows of ``H``), batched through two matrix products per step."""
    S, n = H.shape
    R = np.empty((S, n))
    E = np.empty((S, n))
    m = np.zeros((S, n))
    v = np.zeros((S, n))
    active = np.ones(S, np.bool_)
    for s in range(S):
        steps_out[s] = 0
    for it in range(iters + 1):
        A = np.dot(H, MT)
        left = 0
        for s in range(S):
            if not active[s]:
                continue
            q = 0.0
            for i in range(n):
                a = A[s, i] + c[i]
                y = phi(act, a)
                if gated:
                    z = sigmoid(A[s, i] + cz[i])
                    f = alpha * H[s, i] + eps * z * y
                    D = eps * (z * dphi(act, a, y) + y * z * (1.0 - z))
                else:
                    f = alpha * H[s, i] + eps * y
                    D = eps * dphi(act, a, y)
                r = f - H[s, i]
                R[s, i] = r
                E[s, i] = D * r
                q += r * r
            q_out[s] = 0.5 * q
            if q_out[s] < stop_q or it == iters or not math.isfinite(q):
                active[s] = False
                for i in range(n):
                    E[s, i] = 0.0
            else:
                left += 1
        if left == 0:
            break
        G = np.dot(E, M)
        t = it + 1
        c1 = 1.0 - beta1 ** t
        c2 = 1.0 - beta2 ** t
        step = lr / (1.0 + it / decay)
        for s in range(S):
            if not active[s]:
                continue
            steps_out[s] = t
            for j in range(n):
                g = (alpha - 1.0) * R[s, j] + G[s, j]
                m[s, j] = beta1 * m[s, j] + (1.0 - beta1) * g
                v[s, j] = beta2 * v[s, j] + (1.0 - beta2) * g * g
                H[s, j] -= step * (m[s, j] / c1) / (math.sqrt(v[s, j] / c2) + adam_eps)


@njit(cache=True, parallel=_PARALLEL)
def slow_points_adam(H, alpha, eps, act, gated, M, c, cz, iters, lr, beta1, beta2, adam_eps, decay, stop_q,
                     q_out, steps_out, chunk):
    """Minimise q(h) = ½‖F(h) − h‖² from every row of ``H`` (in place) with Adam.

    Parameters
    ----------
    H : ndarray, (S, n)
        Starts; overwritten with the minimisers.
    alpha, eps, act, gated, M
        The cell (as in :class:`~rnndyn.kernels.params.CellParams`): F(h) =
        alpha h + eps [z ∘] φ(M h + c), z = σ(M h + cz).
    c, cz : ndarray, (n,)
        V x* + b and V_z x* + b_z for the constant input x* (cz unused unless gated).
    iters : int
        Adam steps at most.
    lr, beta1, beta2, adam_eps : float
        Adam's step size and constants; the step size at iteration t is
        lr / (1 + t / decay).
    decay : float
    stop_q : float
        A start stops moving once its q is below this.
    q_out : ndarray, (S,)
        q of each row of ``H`` on return.
    steps_out : ndarray of int64, (S,)
        Adam steps each start took.
    chunk : int
        Starts per block; one block per prange iteration, each running all its
        steps (one parallel region for the whole search, not one per step: a
        barrier per step stalls whenever the machine is busy). Call under
        ``blas_threads(1)`` when there are several blocks.

    Notes
    -----
    ∇q = (J − I)ᵀ (F − h) with J = alpha I + diag(D) M, D = eps [z ∘] φ'(a)
    (+ eps φ(a) ∘ σ'(a_z) when gated), so ∇q = (alpha − 1) r + Mᵀ (D ∘ r):
    two matrix products (BLAS) per step for a whole block of starts.
    """
    S = H.shape[0]
    MT = np.ascontiguousarray(M.T)
    nchunks = (S + chunk - 1) // chunk
    if nchunks == 1:
        _adam_block(H, MT, alpha, eps, act, gated, M, c, cz, iters, lr, beta1, beta2, adam_eps, decay, stop_q,
                    q_out, steps_out)
    else:
        for k in prange(nchunks):
            s0 = np.int64(k) * chunk  # prange indices are unsigned
            s1 = min(s0 + chunk, S)
            _adam_block(H[s0:s1], MT, alpha, eps, act, gated, M, c, cz, iters, lr, beta1, beta2, adam_eps, decay,
                        stop_q, q_out[s0:s1], steps_out[s0:s1])
