"""CUDA kernels of trajectories: ``simulate`` (a batch of states) and ``tangent`` (the end-to-end Jacobian).

Twins: :mod:`rnndyn.kernels.cpu.trajectories` (same signatures and outputs) and
:mod:`rnndyn.kernels.numpy.trajectories` (the readable definition).

One thread per trajectory, grid-stride over the batch; the thread keeps its
state (and, in ``tangent``, the n × n tangent A_t and the scratch of its
spectral norm) in local arrays of compile-time size, so n is limited to
``common.MAX_N`` (256 for ``simulate``, 32 for ``tangent``). The host functions
copy the inputs to the device, launch, and copy the results into the output
arrays they were given. ``chunk`` and ``blas_min_n`` (tuning arguments of the
CPU kernels) are accepted and ignored; ``threads_per_block`` sets the launch
geometry (the "cuda" backend passes ``config.CUDA_THREADS_PER_BLOCK``).
"""

from __future__ import annotations

import functools
import math

import numba
import numpy as np
from numba import cuda

from rnndyn.kernels.cuda.common import (
    MAX_N,
    cell_step,
    check_size,
    fro_norm,
    launch_geometry,
    spectral_norm,
    tangent_step,
    to_device,
    vec_norm,
)
from rnndyn.kernels.params import NORM_SPECTRAL

_N_SIM = MAX_N["simulate"]
_N_TAN = MAX_N["tangent"]


# --------------------------------------------------------------------------- simulate


@functools.lru_cache(maxsize=None)
def _simulate_kernel(dtype_name):
    """The simulate kernel whose local state has dtype ``dtype_name`` (float64, or float32 for speed)."""
    state = numba.from_dtype(np.dtype(dtype_name))

    @cuda.jit
    def kernel(h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, stride, out, final, diverged_at):
        B = h0.shape[0]
        n = h0.shape[1]
        Bi = inputs.shape[0]
        T = inputs.shape[1]
        d = inputs.shape[2]
        h = cuda.local.array(_N_SIM, state)
        hn = cuda.local.array(_N_SIM, state)
        for bb in range(cuda.grid(1), B, cuda.gridsize(1)):
            bi = bb if Bi > 1 else 0
            for i in range(n):
                h[i] = h0[bb, i]
            if stride > 0:
                for i in range(n):
                    out[bb, 0, i] = h[i]
            dv = -1
            for t in range(1, T + 1):
                if dv < 0:
                    if not cell_step(h, hn, hn, n, M, V, b, Vz, bz, inputs, bi, t - 1, d, alpha, eps, act, gated,
                                     False):
                        dv = t
                        for i in range(n):
                            hn[i] = math.nan
                    for i in range(n):
                        h[i] = hn[i]
                if stride > 0 and t % stride == 0:
                    r = t // stride
                    for i in range(n):
                        out[bb, r, i] = h[i]
            for i in range(n):
                final[bb, i] = h[i]
            diverged_at[bb] = dv

    return kernel


def simulate(h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, stride, out, final, diverged_at,
             chunk=None, blas_min_n=None, *, threads_per_block=None):
    """Integrate a batch of trajectories on the GPU (see ``rnndyn.kernels.numpy.simulate``).

    Parameters
    ----------
    h0 : (B, n), n ≤ 256
    inputs : (Bi, T, d), Bi in {1, B}
    alpha, eps, act, gated, M, V, b, Vz, bz
        The cell (:class:`rnndyn.kernels.params.CellParams`), float64 or float32
        like ``h0``; the state is kept in the dtype of ``final``.
    stride : int
        Record h_t for t = 0, stride, ... into ``out``; 0 records nothing.
    out : (B, R, n), final : (B, n), diverged_at : (B,) int64
        Filled in place, as by the CPU kernel.
    chunk, blas_min_n : ignored
    threads_per_block : int, optional
        Launch geometry (default ``common.DEFAULT_THREADS_PER_BLOCK``).

    Raises
    ------
    ValueError
        When n exceeds ``common.MAX_N["simulate"]``.
    """
    B, n = h0.shape
    check_size("simulate", n)
    if B == 0:
        return
    dt = final.dtype
    d_h0, d_in, d_M, d_V, d_b, d_Vz, d_bz = to_device(
        *(np.asarray(a, dt) for a in (h0, inputs, M, V, b, Vz, bz)))
    d_out, d_final, d_div = cuda.device_array(out.shape, dt), cuda.device_array(final.shape, dt), \
        cuda.device_array(diverged_at.shape, np.int64)
    blocks, threads = launch_geometry(B, threads_per_block)
    _simulate_kernel(dt.name)[blocks, threads](d_h0, d_in, dt.type(alpha), dt.type(eps), int(act), bool(gated),
                                               d_M, d_V, d_b, d_Vz, d_bz, int(stride), d_out, d_final, d_div)
    if out.size:
        d_out.copy_to_host(out)
    d_final.copy_to_host(final)
    d_div.copy_to_host(diverged_at)


# --------------------------------------------------------------------------- tangent


@cuda.jit
def _tangent_kernel(h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, vecs, norm_kind,
                    final, jac, norms, vec_norms, diverged_at):
    B = h0.shape[0]
    n = h0.shape[1]
    Bi = inputs.shape[0]
    T = inputs.shape[1]
    d = inputs.shape[2]
    kv = vecs.shape[1]
    h = cuda.local.array(_N_TAN, numba.float64)
    hn = cuda.local.array(_N_TAN, numba.float64)
    D = cuda.local.array(_N_TAN, numba.float64)
    tmp = cuda.local.array(_N_TAN, numba.float64)
    A = cuda.local.array((_N_TAN, _N_TAN), numba.float64)
    S = cuda.local.array((_N_TAN, _N_TAN), numba.float64)
    for bb in range(cuda.grid(1), B, cuda.gridsize(1)):
        bi = bb if Bi > 1 else 0
        for i in range(n):
            h[i] = h0[bb, i]
            for j in range(n):
                A[i, j] = 1.0 if i == j else 0.0
        dv = -1
        for t in range(T + 1):
            if t > 0 and dv < 0:
                ok = cell_step(h, hn, D, n, M, V, b, Vz, bz, inputs, bi, t - 1, d, alpha, eps, act, gated, True)
                ok = tangent_step(A, tmp, n, n, alpha, D, M) and ok
                for i in range(n):
                    h[i] = hn[i]
                if not ok:
                    dv = t
                    for i in range(n):
                        h[i] = math.nan
                        for j in range(n):
                            A[i, j] = math.nan
            if dv >= 0:
                norms[bb, t] = math.nan
                for c in range(kv):
                    vec_norms[bb, t, c] = math.nan
                continue
            if norm_kind == NORM_SPECTRAL:
                norms[bb, t] = spectral_norm(A, S, n)
            else:
                norms[bb, t] = fro_norm(A, n, n)
            for c in range(kv):
                for i in range(n):
                    s = 0.0
                    for j in range(n):
                        s += A[i, j] * vecs[j, c]
                    tmp[i] = s
                vec_norms[bb, t, c] = vec_norm(tmp, n)
        for i in range(n):
            final[bb, i] = h[i]
            for j in range(n):
                jac[bb, i, j] = A[i, j]
        diverged_at[bb] = dv


def tangent(h0, inputs, alpha, eps, act, gated, M, V, b, Vz, bz, vecs, norm_kind,
            final, jac, norms, vec_norms, diverged_at, blas_min_n=None, chunk=None, *, threads_per_block=None):
    """Propagate A_t = ∂h_t/∂h_0 along a batch on the GPU (see ``rnndyn.kernels.numpy.tangent``).

    Parameters
    ----------
    h0 : (B, n), n ≤ 32
    inputs : (Bi, T, d)
    vecs : (n, kv)
        Tangent vectors whose norms ‖A_t v‖ are recorded.
    norm_kind : int
        0: spectral norm (the largest eigenvalue of the scaled AᵀA by cyclic
        Jacobi rotations, where the CPU calls LAPACK's dsyevd); 1: Frobenius.
    final : (B, n), jac : (B, n, n), norms : (B, T+1), vec_norms : (B, T+1, kv), diverged_at : (B,)
        Filled in place, as by the CPU kernel.
    blas_min_n, chunk : ignored
    threads_per_block : int, optional

    Raises
    ------
    ValueError
        When n exceeds ``common.MAX_N["tangent"]``.
    """
    B, n = h0.shape
    check_size("tangent", n)
    if B == 0:
        return
    f8 = np.float64
    dev = to_device(*(np.asarray(a, f8) for a in (h0, inputs, M, V, b, Vz, bz, vecs)))
    d_h0, d_in, d_M, d_V, d_b, d_Vz, d_bz, d_vecs = dev
    outs = [cuda.device_array(a.shape, a.dtype) for a in (final, jac, norms, vec_norms, diverged_at)]
    blocks, threads = launch_geometry(B, threads_per_block)
    _tangent_kernel[blocks, threads](d_h0, d_in, f8(alpha), f8(eps), int(act), bool(gated), d_M, d_V, d_b, d_Vz,
                                     d_bz, d_vecs, int(norm_kind), *outs)
    for host, d in zip((final, jac, norms, vec_norms, diverged_at), outs):
        if host.size:
            d.copy_to_host(host)
