"""NumPy twins of :mod:`rnndyn.kernels.cpu.lstm`: ``lstm_step`` and ``lstm_jacobian``.
"""

from __future__ import annotations

import numpy as np


def _sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


# --------------------------------------------------------------------------- LSTM


def _lstm_parts(H, X, W_ih, W_hh, b):
    n = H.shape[1] // 2
    h, c = H[:, :n], H[:, n:]
    G = h @ W_hh.T + b + (X @ W_ih.T if X.shape[1] else 0.0)
    i = _sigmoid(G[:, :n])
    f = _sigmoid(G[:, n:2 * n])
    g = np.tanh(G[:, 2 * n:3 * n])
    o = _sigmoid(G[:, 3 * n:])
    cn = f * c + i * g
    return n, c, i, f, g, o, cn, np.tanh(cn)


def lstm_step(H, X, W_ih, W_hh, b, out):
    """One LSTM step (PyTorch gate order i, f, g, o) for a batch: H (B, 2n) = [h; c], X (B, d) -> out (B, 2n)."""
    n, c, i, f, g, o, cn, tc = _lstm_parts(H, X, W_ih, W_hh, b)
    out[:, :n] = o * tc
    out[:, n:] = cn


def lstm_jacobian(H, X, W_ih, W_hh, b, out):
    """∂(h_t, c_t)/∂(h_{t-1}, c_{t-1}) for a batch, (B, 2n, 2n), by the chain rule written out."""
    n, c, i, f, g, o, cn, tc = _lstm_parts(H, X, W_ih, W_hh, b)
    Wi, Wf, Wg, Wo = W_hh[:n], W_hh[n:2 * n], W_hh[2 * n:3 * n], W_hh[3 * n:]
    dc_dh = ((c * f * (1 - f))[:, :, None] * Wf + (g * i * (1 - i))[:, :, None] * Wi
             + (i * (1 - g * g))[:, :, None] * Wg)
    oc = o * (1 - tc * tc)
    out[:] = 0.0
    out[:, n:, :n] = dc_dh
    out[:, :n, :n] = (tc * o * (1 - o))[:, :, None] * Wo + oc[:, :, None] * dc_dh
    idx = np.arange(n)
    out[:, n + idx, n + idx] = f
    out[:, idx, n + idx] = oc * f
