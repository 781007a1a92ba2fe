"""NumPy twin of :mod:`rnndyn.kernels.cpu.slow_points`: Adam on q(h) = ½‖F(h) − h‖²."""

from __future__ import annotations

import numpy as np

from rnndyn.kernels.numpy.cell import dphi, phi, sigmoid


def slow_points_adam(H, alpha, eps, act, gated, M, c, cz, iters, lr, beta1, beta2, adam_eps, decay, stop_q,
                     q_out, steps_out, chunk=None):
    """Minimise q(h) = ½‖F(h) − h‖² from every row of ``H`` (in place) with Adam.

    Same arguments and results as :func:`rnndyn.kernels.cpu.slow_points.slow_points_adam` (``chunk``, the
    CPU kernel's block size, is ignored: every start is independent).
    """
    S, n = H.shape
    m = np.zeros((S, n))
    v = np.zeros((S, n))
    active = np.ones(S, bool)
    steps_out[:] = 0
    for it in range(iters + 1):
        A = H @ M.T + c
        y = phi(act, A)
        if gated:
            z = sigmoid(H @ M.T + cz)
            F = alpha * H + eps * z * y
            D = eps * (z * dphi(act, A, y) + y * z * (1.0 - z))
        else:
            F = alpha * H + eps * y
            D = eps * dphi(act, A, y)
        R = F - H
        q = 0.5 * np.sum(R * R, axis=1)
        q_out[active] = q[active]
        active &= ~((q < stop_q) | (it == iters) | ~np.isfinite(q))
        if not active.any():
            break
        G = (D * R) @ M + (alpha - 1.0) * R
        t = it + 1
        m[active] = beta1 * m[active] + (1.0 - beta1) * G[active]
        v[active] = beta2 * v[active] + (1.0 - beta2) * G[active] ** 2
        step = lr / (1.0 + it / decay)
        H[active] -= step * (m[active] / (1.0 - beta1 ** t)) / (np.sqrt(v[active] / (1.0 - beta2 ** t)) + adam_eps)
        steps_out[active] = t
