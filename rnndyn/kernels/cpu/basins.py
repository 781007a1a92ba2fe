"""CPU kernel of basins of attraction: ``basins`` (end states, the next states and log ‖∂h_T/∂h_0‖ per initial state).

Twins: :mod:`rnndyn.kernels.numpy.basins` (the oracle), ``rnndyn.kernels.cuda.basins``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from rnndyn.kernels.cpu.common import _fro, _pow2_scale, _state_and_derivative
from rnndyn.kernels.params import BASINS_RENORM_HI, BASINS_RENORM_LO, FASTMATH, TANH
from rnndyn.kernels.params import PARALLEL_PRANGE_ONLY as _PARALLEL
from rnndyn.kernels.scalar import dphi, dtanh, phi, tanh

_FASTMATH = set(FASTMATH)  # numba takes a set, not a frozenset

_LN2 = math.log(2.0)


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _basins_one(g, h0, steps, escape, alpha, eps, act, gated, M, b, bz, final, tail, log_grad, diverged_at,
                h, hn, a, az, D, A, MA):
    """Point g: its trajectory for steps + P steps, and the tangent A_t = ∂h_t/∂h_0 up to t = steps,
    kept as 2^E · A with A's largest entry in [BASINS_RENORM_LO, BASINS_RENORM_HI]."""
    n = h0.shape[1]
    P = tail.shape[1]
    for i in range(n):
        h[i] = h0[g, i]
        for j in range(n):
            A[i, j] = 1.0 if i == j else 0.0
    E = 0
    dv = -1
    for t in range(1, steps + P + 1):
        for i in range(n):
            s = 0.0
            for j in range(n):
                s += M[i, j] * h[j]
            a[i] = s + b[i]
            if gated:
                az[i] = s + bz[i]
        _state_and_derivative(a, az, h, hn, D, alpha, eps, act, gated)
        h, hn = hn, h
        hmax = 0.0
        for i in range(n):
            v = abs(h[i])
            if not v <= hmax:  # also takes NaN
                hmax = v
        if not hmax <= escape or hmax == math.inf:
            dv = t
            break
        if t <= steps:
            for i in range(n):
                for k in range(n):
                    MA[i, k] = 0.0
                for j in range(n):
                    mij = M[i, j]
                    for k in range(n):
                        MA[i, k] += mij * A[j, k]
            amax = 0.0
            for i in range(n):
                di = D[i]
                for k in range(n):
                    v = alpha * A[i, k] + di * MA[i, k]
                    A[i, k] = v
                    if not abs(v) <= amax:
                        amax = abs(v)
            if not math.isfinite(amax):
                dv = t
                break
            if amax > BASINS_RENORM_HI or (0.0 < amax < BASINS_RENORM_LO):
                # by an exact power of two: the scale goes into E without rounding
                e, s1, s2 = _pow2_scale(amax)
                E += e
                for i in range(n):
                    for k in range(n):
                        A[i, k] = (A[i, k] * s1) * s2
            if t == steps:
                for i in range(n):
                    final[g, i] = h[i]
        else:
            for i in range(n):
                tail[g, t - steps - 1, i] = h[i]
    if steps == 0:
        for i in range(n):
            final[g, i] = h0[g, i]
    diverged_at[g] = dv
    if dv >= 0:
        log_grad[g] = np.nan
        for i in range(n):
            final[g, i] = np.nan
            for p in range(P):
                tail[g, p, i] = np.nan
    else:
        log_grad[g] = E * _LN2 + math.log(_fro(A))


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _basins_block_2d(g0, m, h0, steps, escape, alpha, eps, act, M, b, final, tail, log_grad, diverged_at):
    """Points g0 .. g0+m-1 of an ungated 2-D cell, as in :func:`_basins_one`, fused: the state and the 2x2
    tangent of every point are vectors over the block, so the step loops vectorise. A point that escapes
    is marked and restarted from 0 with A = I (its outputs become NaN at the end), so that the block-wide
    finiteness checks stay one vectorised reduction."""
    P = tail.shape[1]
    m00, m01, m10, m11 = M[0, 0], M[0, 1], M[1, 0], M[1, 1]
    b0, b1 = b[0], b[1]
    x = np.empty(m)
    y = np.empty(m)
    a00 = np.ones(m)
    a01 = np.zeros(m)
    a10 = np.zeros(m)
    a11 = np.ones(m)
    E = np.zeros(m, np.int64)
    dv = np.full(m, -1, np.int64)
    for k in range(m):
        x[k] = h0[g0 + k, 0]
        y[k] = h0[g0 + k, 1]
        final[g0 + k, 0] = x[k]
        final[g0 + k, 1] = y[k]
    for t in range(1, steps + P + 1):
        tangent = t <= steps
        if tangent and act == TANH:
            hbad, aout = _sweep_2d_tanh(x, y, a00, a01, a10, a11, escape, alpha, eps, m00, m01, m10, m11, b0, b1)
        elif tangent:
            hbad, aout = _sweep_2d(x, y, a00, a01, a10, a11, escape, alpha, eps, act, m00, m01, m10, m11, b0, b1)
        else:
            hbad = 0
            aout = 0
            for k in range(m):
                xk = alpha * x[k] + eps * phi(act, m00 * x[k] + m01 * y[k] + b0)
                yk = alpha * y[k] + eps * phi(act, m10 * x[k] + m11 * y[k] + b1)
                x[k] = xk
                y[k] = yk
                hmax = max(abs(xk), abs(yk))
                hbad += not (hmax <= escape and hmax < math.inf)
        if hbad > 0 or aout > 0:
            for k in range(m):
                hmax = max(abs(x[k]), abs(y[k]))
                amax = max(max(abs(a00[k]), abs(a01[k])), max(abs(a10[k]), abs(a11[k])))
                if not (hmax <= escape and hmax < math.inf) or (tangent and not math.isfinite(amax)):
                    if dv[k] < 0:
                        dv[k] = t
                    x[k] = 0.0
                    y[k] = 0.0
                    a00[k] = 1.0
                    a01[k] = 0.0
                    a10[k] = 0.0
                    a11[k] = 1.0
                elif tangent and (amax > BASINS_RENORM_HI or 0.0 < amax < BASINS_RENORM_LO):
                    e, s1, s2 = _pow2_scale(amax)
                    E[k] += e
                    a00[k] = (a00[k] * s1) * s2
                    a01[k] = (a01[k] * s1) * s2
                    a10[k] = (a10[k] * s1) * s2
                    a11[k] = (a11[k] * s1) * s2
        if t == steps:
            for k in range(m):
                final[g0 + k, 0] = x[k]
                final[g0 + k, 1] = y[k]
        elif t > steps:
            for k in range(m):
                tail[g0 + k, t - steps - 1, 0] = x[k]
                tail[g0 + k, t - steps - 1, 1] = y[k]
    for k in range(m):
        g = g0 + k
        diverged_at[g] = dv[k]
        if dv[k] >= 0:
            log_grad[g] = np.nan
            final[g, 0] = np.nan
            final[g, 1] = np.nan
            for p in range(P):
                tail[g, p, 0] = np.nan
                tail[g, p, 1] = np.nan
        else:
            s = _fro_2x2(a00[k], a01[k], a10[k], a11[k])
            log_grad[g] = E[k] * _LN2 + math.log(s)


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _point_2d(x, y, a00, a01, a10, a11, p0, p1, y0, y1, d0, d1, escape, alpha, eps, m00, m01, m10, m11):
    """One point's next state and tangent from its pre-activations p, activations y and derivatives d;
    returns (x, y, a00, a01, a10, a11, escaped, tangent out of range)."""
    xn = alpha * x + eps * y0
    yn = alpha * y + eps * y1
    d0 = eps * d0
    d1 = eps * d1
    c00 = alpha * a00 + d0 * (m00 * a00 + m01 * a10)
    c01 = alpha * a01 + d0 * (m00 * a01 + m01 * a11)
    c10 = alpha * a10 + d1 * (m10 * a00 + m11 * a10)
    c11 = alpha * a11 + d1 * (m10 * a01 + m11 * a11)
    hmax = max(abs(xn), abs(yn))
    amax = max(max(abs(c00), abs(c01)), max(abs(c10), abs(c11)))
    return (xn, yn, c00, c01, c10, c11, not (hmax <= escape and hmax < math.inf),
            not (BASINS_RENORM_LO <= amax <= BASINS_RENORM_HI))


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _sweep_2d_tanh(x, y, a00, a01, a10, a11, escape, alpha, eps, m00, m01, m10, m11, b0, b1):
    """One step of state and tangent of every point of a tanh block (a loop of its own: it vectorises)."""
    hbad = 0
    aout = 0
    for k in range(x.shape[0]):
        p0 = m00 * x[k] + m01 * y[k] + b0
        p1 = m10 * x[k] + m11 * y[k] + b1
        r = _point_2d(x[k], y[k], a00[k], a01[k], a10[k], a11[k], p0, p1, tanh(p0), tanh(p1), dtanh(p0),
                      dtanh(p1), escape, alpha, eps, m00, m01, m10, m11)
        x[k], y[k], a00[k], a01[k], a10[k], a11[k] = r[0], r[1], r[2], r[3], r[4], r[5]
        hbad += r[6]
        aout += r[7]
    return hbad, aout


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _sweep_2d(x, y, a00, a01, a10, a11, escape, alpha, eps, act, m00, m01, m10, m11, b0, b1):
    """As :func:`_sweep_2d_tanh` for any activation."""
    hbad = 0
    aout = 0
    for k in range(x.shape[0]):
        p0 = m00 * x[k] + m01 * y[k] + b0
        p1 = m10 * x[k] + m11 * y[k] + b1
        y0 = phi(act, p0)
        y1 = phi(act, p1)
        r = _point_2d(x[k], y[k], a00[k], a01[k], a10[k], a11[k], p0, p1, y0, y1, dphi(act, p0, y0),
                      dphi(act, p1, y1), escape, alpha, eps, m00, m01, m10, m11)
        x[k], y[k], a00[k], a01[k], a10[k], a11[k] = r[0], r[1], r[2], r[3], r[4], r[5]
        hbad += r[6]
        aout += r[7]
    return hbad, aout


@njit(cache=True, error_model="numpy")
def _fro_2x2(a, b, c, d):
    """‖[[a, b], [c, d]]‖_F; the entries are within [2^-32, 2^32] of each other's scale or zero, no overflow."""
    return math.sqrt(a * a + b * b + c * c + d * d)


@njit(cache=True, parallel=_PARALLEL)
def basin_trajectories(h0, steps, escape, alpha, eps, act, gated, M, V, b, Vz, bz, final, tail, log_grad, diverged_at,
           chunk):
    """Run every initial state for ``steps`` + P steps with its end-to-end Jacobian (see ``reference.basin_trajectories``).

    One chunk of ``chunk`` points per prange iteration, each with its own scratch; a single chunk runs
    without a parallel region.
    """
    G, n = h0.shape
    nchunks = (G + chunk - 1) // chunk
    if nchunks == 1:
        _basins_chunk(G - G, G, h0, steps, escape, alpha, eps, act, gated, M, b, bz, final, tail, log_grad,
                      diverged_at)
    else:
        for c in prange(nchunks):
            g0 = np.int64(c) * chunk  # prange indices are unsigned
            _basins_chunk(g0, min(chunk, G - g0), h0, steps, escape, alpha, eps, act, gated, M, b, bz, final,
                          tail, log_grad, diverged_at)


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _basins_chunk(g0, m, h0, steps, escape, alpha, eps, act, gated, M, b, bz, final, tail, log_grad, diverged_at):
    n = h0.shape[1]
    h = np.empty(n)
    hn = np.empty(n)
    a = np.empty(n)
    az = np.empty(n)
    D = np.empty(n)
    A = np.empty((n, n))
    MA = np.empty((n, n))
    if n == 2 and not gated:
        _basins_block_2d(g0, m, h0, steps, escape, alpha, eps, act, M, b, final, tail, log_grad, diverged_at)
        return
    for g in range(g0, g0 + m):
        _basins_one(g, h0, steps, escape, alpha, eps, act, gated, M, b, bz, final, tail, log_grad, diverged_at,
                    h, hn, a, az, D, A, MA)
