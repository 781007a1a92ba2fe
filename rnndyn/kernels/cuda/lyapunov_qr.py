"""CUDA kernel of Lyapunov spectra of cells by the QR (Benettin) method: ``lyapunov``.

Twins: :func:`rnndyn.kernels.cpu.lyapunov_qr.lyapunov` (same signature, the same
carried arrays) and :func:`rnndyn.kernels.numpy.lyapunov_qr.lyapunov` (the readable
definition).

One thread per trajectory, grid-stride over the batch. The state, the k tangent
vectors Q (n × k), the Householder reflectors and the running sums live in local
arrays of compile-time size (n ≤ ``common.MAX_N["lyapunov"]`` = 32); the QR is the
CPU's unblocked Householder QR with diag(R) ≥ 0, operation by operation. No
fast-math anywhere: the QR and the log-accumulation round like the reference.
``blas_min_n`` and ``qr_lapack_min_n`` are accepted and ignored.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import cuda

from rnndyn.kernels.cuda.common import (
    MAX_N,
    cell_step,
    check_size,
    launch_geometry,
    lyap_is_qr_time,
    qr_positive,
    tangent_step,
    to_device,
)

_N = MAX_N["lyapunov"]


@cuda.jit(device=True)
def _after_qr(t, transient, total, every, Sb, rdiag, k, blocks, hist, bb):
    """Add log R_jj to the sums and to its block after a QR at global step t; the running estimate (CPU's
    ``_lyap_after_qr``)."""
    if t <= transient:
        return
    done = t - transient
    r = (done + every - 1) // every - 1
    nb = blocks.shape[1]
    jb = 0
    if nb > 0:
        windows = (total - transient + every - 1) // every
        jb = ((r + 1) * nb + windows - 1) // windows - 1
    for j in range(k):
        # R_jj = 0 (a tangent direction collapsed, e.g. under ReLU) adds -inf, as log does on the CPU; Python's
        # math.log (the simulator) would raise instead
        lr = math.log(rdiag[j]) if rdiag[j] > 0.0 else -math.inf
        Sb[j] += lr
        if nb > 0:
            blocks[bb, jb, j] += lr
    if hist.shape[1] > 0:
        for j in range(k):
            hist[bb, r, j] = Sb[j] / done


@cuda.jit
def _lyapunov_kernel(h, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, Q, S, t0, transient, total, every,
                     blocks, hist, diverged_at):
    B = h.shape[0]
    n = h.shape[1]
    Bi = inputs.shape[0]
    T = inputs.shape[1]
    d = inputs.shape[2]
    k = Q.shape[2]
    x = cuda.local.array(_N, numba.float64)
    xn = cuda.local.array(_N, numba.float64)
    D = cuda.local.array(_N, numba.float64)
    tmp = cuda.local.array(_N, numba.float64)
    w = cuda.local.array(_N, numba.float64)
    rdiag = cuda.local.array(_N, numba.float64)
    Sb = cuda.local.array(_N, numba.float64)
    Qb = cuda.local.array((_N, _N), numba.float64)
    Vh = cuda.local.array((_N, _N), numba.float64)
    for bb in range(cuda.grid(1), B, cuda.gridsize(1)):
        if diverged_at[bb] >= 0:
            continue
        bi = bb if Bi > 1 else 0
        for i in range(n):
            x[i] = h[bb, i]
            for c in range(k):
                Qb[i, c] = Q[bb, i, c]
        for c in range(k):
            Sb[c] = S[bb, c]
        dv = -1
        for s in range(T):
            t = t0 + s + 1
            ok = cell_step(x, xn, D, n, M, V, b, Vz, bz, inputs, bi, s, d, alpha, eps, act, gated, True)
            tangent_step(Qb, tmp, n, k, alpha, D, M)  # a non-finite Q shows in R's diagonal at the next QR
            for i in range(n):
                x[i] = xn[i]
            if not ok:
                dv = t
                break
            if lyap_is_qr_time(t, transient, total, every):
                if qr_positive(Qb, Vh, w, rdiag, n, k):
                    dv = t
                    break
                _after_qr(t, transient, total, every, Sb, rdiag, k, blocks, hist, bb)
        if dv >= 0:
            diverged_at[bb] = dv
            for i in range(n):
                x[i] = math.nan
                for c in range(k):
                    Qb[i, c] = math.nan
            for c in range(k):
                Sb[c] = math.nan
        for i in range(n):
            h[bb, i] = x[i]
            for c in range(k):
                Q[bb, i, c] = Qb[i, c]
        for c in range(k):
            S[bb, c] = Sb[c]


def lyapunov(h, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, Q, S, t0, transient, total, every,
             blocks, hist, diverged_at, blas_min_n=None, qr_lapack_min_n=None, *, threads_per_block=None):
    """Benettin/QR Lyapunov spectra of a batch on the GPU, one chunk of steps (see ``rnndyn.kernels.numpy.lyapunov``).

    Parameters
    ----------
    h : (B, n) in/out, n ≤ 32
    inputs : (Bi, T, d)
        Inputs of global steps t0+1 .. t0+T.
    Q : (B, n, k) in/out
    S : (B, k) in/out
    t0, transient, total, every : int
    blocks : (B, nb, k) in/out
    hist : (B, H, k) in/out
    diverged_at : (B,) in/out
        All carried from chunk to chunk exactly as by the CPU kernel.
    blas_min_n, qr_lapack_min_n : ignored
    threads_per_block : int, optional

    Raises
    ------
    ValueError
        When n exceeds ``common.MAX_N["lyapunov"]``.
    """
    B, n = h.shape
    check_size("lyapunov", n)
    if B == 0:
        return
    f8 = np.float64
    d_in, d_M, d_V, d_b, d_Vz, d_bz = to_device(*(np.asarray(a, f8) for a in (inputs, M, V, b, Vz, bz)))
    carried = (h, Q, S, blocks, hist, diverged_at)
    d_h, d_Q, d_S, d_blocks, d_hist, d_div = to_device(*carried)
    blocks_, threads = launch_geometry(B, threads_per_block)
    _lyapunov_kernel[blocks_, threads](d_h, d_in, f8(alpha), f8(eps), int(act), bool(gated), d_M, d_V, d_b, d_Vz,
                                       d_bz, d_Q, d_S, int(t0), int(transient), int(total), int(every), d_blocks,
                                       d_hist, d_div)
    for host, dev in zip(carried, (d_h, d_Q, d_S, d_blocks, d_hist, d_div)):
        if host.size:
            dev.copy_to_host(host)
