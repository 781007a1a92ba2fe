"""CUDA kernel of basins of attraction: ``basins`` (end states, the next states and log ‖∂h_T/∂h_0‖ per initial state).

Twins: :mod:`rnndyn.kernels.cpu.basins` (same signature and outputs) and
:mod:`rnndyn.kernels.numpy.basins` (the readable definition).

One thread per initial state, grid-stride over the grid's points; the thread keeps
its state and its n × n tangent in local arrays of compile-time size, so n is
limited to :data:`MAX_N` (the tangent kernel's bound).
"""

from __future__ import annotations

import math

import numba
import numpy as np
from numba import cuda

from rnndyn.kernels.cuda.common import MAX_N as _MAX_N
from rnndyn.kernels.cuda.common import cell_step, fro_norm, launch_geometry, pow2_scale, tangent_step, to_device
from rnndyn.kernels.params import BASINS_RENORM_HI, BASINS_RENORM_LO

#: Largest state size of the CUDA basins kernel.
MAX_N = _MAX_N["tangent"]
_LN2 = math.log(2.0)


@cuda.jit
def _basins_kernel(h0, steps, escape, alpha, eps, act, gated, M, V, b, Vz, bz, nothing, final, tail, log_grad,
                   diverged_at):
    G = h0.shape[0]
    n = h0.shape[1]
    P = tail.shape[1]
    h = cuda.local.array(MAX_N, numba.float64)
    hn = cuda.local.array(MAX_N, numba.float64)
    D = cuda.local.array(MAX_N, numba.float64)
    tmp = cuda.local.array(MAX_N, numba.float64)
    A = cuda.local.array((MAX_N, MAX_N), numba.float64)
    for g in range(cuda.grid(1), G, cuda.gridsize(1)):
        for i in range(n):
            h[i] = h0[g, i]
            final[g, i] = h[i]
            for j in range(n):
                A[i, j] = 1.0 if i == j else 0.0
        E = 0
        dv = -1
        for t in range(1, steps + P + 1):
            tangent = t <= steps
            cell_step(h, hn, D, n, M, V, b, Vz, bz, nothing, 0, 0, 0, alpha, eps, act, gated, tangent)
            hmax = 0.0
            for i in range(n):
                h[i] = hn[i]
                v = abs(h[i])
                if not v <= hmax:  # also takes NaN
                    hmax = v
            if not hmax <= escape or hmax == math.inf:
                dv = t
                break
            if tangent:
                tangent_step(A, tmp, n, n, alpha, D, M)
                amax = 0.0
                for i in range(n):
                    for j in range(n):
                        v = abs(A[i, j])
                        if not v <= amax:
                            amax = v
                if not math.isfinite(amax):
                    dv = t
                    break
                if amax > BASINS_RENORM_HI or (0.0 < amax < BASINS_RENORM_LO):
                    e, s1, s2 = pow2_scale(amax)
                    E += e
                    for i in range(n):
                        for j in range(n):
                            A[i, j] = (A[i, j] * s1) * s2
                if t == steps:
                    for i in range(n):
                        final[g, i] = h[i]
            else:
                for i in range(n):
                    tail[g, t - steps - 1, i] = h[i]
        diverged_at[g] = dv
        if dv >= 0:
            log_grad[g] = math.nan
            for i in range(n):
                final[g, i] = math.nan
                for p in range(P):
                    tail[g, p, i] = math.nan
        else:
            log_grad[g] = E * _LN2 + math.log(fro_norm(A, n, n))


def basin_trajectories(h0, steps, escape, alpha, eps, act, gated, M, V, b, Vz, bz, final, tail, log_grad, diverged_at,
           chunk=None, *, threads_per_block=None):
    """Run every initial state for ``steps`` + P steps with its end-to-end Jacobian, on the GPU
    (see ``rnndyn.kernels.numpy.basin_trajectories``).

    Parameters
    ----------
    h0 : (G, n), n ≤ :data:`MAX_N`
    steps : int
    escape : float
    alpha, eps, act, gated, M, V, b, Vz, bz
        The cell (:class:`rnndyn.kernels.params.CellParams`); ``V`` and ``Vz`` are not used (no inputs).
    final : (G, n), tail : (G, P, n), log_grad : (G,), diverged_at : (G,) int64
        Filled in place, as by the CPU kernel.
    chunk : ignored
    threads_per_block : int, optional
        Launch geometry (default ``common.DEFAULT_THREADS_PER_BLOCK``).

    Raises
    ------
    ValueError
        When n exceeds :data:`MAX_N`.

    See Also
    --------
    rnndyn.kernels.cpu.basins : the CPU twin.
    """
    G, n = h0.shape
    if n > MAX_N:
        raise ValueError(f"h0: the CUDA basins kernel holds states of n ≤ {MAX_N} in per-thread memory, got n = {n}")
    if G == 0:
        return
    f8 = np.float64
    n_in = np.zeros((n, 0))
    d_h0, d_M, d_V, d_b, d_Vz, d_bz, d_nothing = to_device(
        *(np.asarray(a, f8) for a in (h0, M, n_in, b, n_in, bz if gated else np.zeros(n), np.zeros((1, 1, 0)))))
    outs = [cuda.device_array(a.shape, a.dtype) for a in (final, tail, log_grad, diverged_at)]
    blocks, threads = launch_geometry(G, threads_per_block)
    _basins_kernel[blocks, threads](d_h0, int(steps), f8(escape), f8(alpha), f8(eps), int(act), bool(gated), d_M,
                                    d_V, d_b, d_Vz, d_bz, d_nothing, *outs)
    for host, d in zip((final, tail, log_grad, diverged_at), outs):
        if host.size:
            d.copy_to_host(host)
