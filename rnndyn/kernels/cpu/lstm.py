"""CPU kernels of the LSTM cell: ``lstm_step``, ``lstm_jacobian`` and its map callbacks ``lstm_rule``/``lstm_jac``.

Twins: :mod:`rnndyn.kernels.numpy.lstm`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from rnndyn.kernels.cpu.maps import JAC_SIG, RULE_SIG
from rnndyn.kernels.params import PARALLEL_PRANGE_ONLY as _PARALLEL
from rnndyn.kernels.scalar import sigmoid

# --------------------------------------------------------------------------- LSTM


@njit(cache=True)
def _lstm_core(x, u, Whh, b, Wih, out, J, want_jac):
    """One LSTM step from x = [h; c] (2n,), PyTorch gate order (i, f, g, o); optionally ∂(h', c')/∂(h, c).

    gates = W_hh h + b + W_ih u; c' = f ∘ c + i ∘ g; h' = o ∘ tanh(c'). The
    Jacobian (2n, 2n) has blocks [[∂h'/∂h, ∂h'/∂c], [∂c'/∂h, ∂c'/∂c]] with
    ∂c'/∂h = diag(c f(1-f)) W_f + diag(g i(1-i)) W_i + diag(i (1-g²)) W_g,
    ∂c'/∂c = diag(f), ∂h'/∂h = diag(tanh(c') o(1-o)) W_o + diag(o (1-tanh²c')) ∂c'/∂h,
    ∂h'/∂c = diag(o (1-tanh²c') f).
    """
    n = x.shape[0] // 2
    d = u.shape[0]
    for r in range(n):
        gi = b[r]
        gf = b[n + r]
        gg = b[2 * n + r]
        go = b[3 * n + r]
        for j in range(n):
            hj = x[j]
            gi += Whh[r, j] * hj
            gf += Whh[n + r, j] * hj
            gg += Whh[2 * n + r, j] * hj
            go += Whh[3 * n + r, j] * hj
        for j in range(d):
            uj = u[j]
            gi += Wih[r, j] * uj
            gf += Wih[n + r, j] * uj
            gg += Wih[2 * n + r, j] * uj
            go += Wih[3 * n + r, j] * uj
        i = sigmoid(gi)
        f = sigmoid(gf)
        g = math.tanh(gg)
        o = sigmoid(go)
        c = x[n + r]
        cn = f * c + i * g
        tc = math.tanh(cn)
        out[r] = o * tc
        out[n + r] = cn
        if want_jac:
            kf = c * f * (1.0 - f)
            ki = g * i * (1.0 - i)
            kg = i * (1.0 - g * g)
            ko = tc * o * (1.0 - o)
            oc = o * (1.0 - tc * tc)
            for j in range(n):
                dc = kf * Whh[n + r, j] + ki * Whh[r, j] + kg * Whh[2 * n + r, j]
                J[n + r, j] = dc
                J[r, j] = ko * Whh[3 * n + r, j] + oc * dc
            for j in range(n):
                J[n + r, n + j] = 0.0
                J[r, n + j] = 0.0
            J[n + r, n + r] = f
            J[r, n + r] = oc * f


@njit(cache=True)
def _lstm_unpack(x, u, p):
    n = x.shape[0] // 2
    d = u.shape[0]
    m = 4 * n
    Whh = p[: m * n].reshape((m, n))
    b = p[m * n: m * n + m]
    Wih = p[m * n + m: m * n + m + m * d].reshape((m, d))
    return Whh, b, Wih


def _lstm_rule(x, u, p, out):
    """The LSTM as a map rule; p = [W_hh.ravel(), b, W_ih.ravel()] (see ``rnndyn.LSTM.as_map``)."""
    Whh, b, Wih = _lstm_unpack(x, u, p)
    _lstm_core(x, u, Whh, b, Wih, out, out.reshape((1, out.shape[0])), False)


def _lstm_jac(x, u, p, out):
    """The LSTM's Jacobian ∂(h', c')/∂(h, c) as a map Jacobian (parameters as in :func:`lstm_rule`)."""
    Whh, b, Wih = _lstm_unpack(x, u, p)
    tmp = np.empty(x.shape[0])
    _lstm_core(x, u, Whh, b, Wih, tmp, out, True)


@njit(cache=True, parallel=_PARALLEL)
def lstm_step(H, X, W_ih, W_hh, b, out):
    """One LSTM step for a batch: H (B, 2n) = [h; c], X (B, d) -> out (B, 2n)."""
    B = H.shape[0]
    dummy = np.empty((0, 0))
    for bb in prange(B):
        _lstm_core(H[bb], X[bb], W_hh, b, W_ih, out[bb], dummy, False)


@njit(cache=True, parallel=_PARALLEL)
def lstm_jacobian(H, X, W_ih, W_hh, b, out):
    """∂(h', c')/∂(h, c) for a batch: H (B, 2n), X (B, d) -> out (B, 2n, 2n)."""
    B, m = H.shape
    for bb in prange(B):
        tmp = np.empty(m)
        _lstm_core(H[bb], X[bb], W_hh, b, W_ih, tmp, out[bb], True)


# The map callbacks are compiled with the fixed rule/Jacobian signatures of the
# map kernels, on first use only (see rnndyn.kernels.cpu.maps).
_LAZY = {"lstm_rule": (_lstm_rule, RULE_SIG), "lstm_jac": (_lstm_jac, JAC_SIG)}


def __getattr__(name):
    """Compile (or load from the disk cache) ``lstm_rule`` / ``lstm_jac`` the first time they are asked for."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    fn, sig = _LAZY[name]
    disp = njit(sig, cache=True)(fn)
    globals()[name] = disp
    return disp
