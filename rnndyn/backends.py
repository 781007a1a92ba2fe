"""Backends: where a computation runs, behind one interface.

A backend is an object with one driver method per algorithm (``simulate``,
``tangent``, ...). A driver allocates the outputs, picks the kernel variant and
its tuning from :mod:`rnndyn.config`, launches, and returns plain arrays; the
public functions in :mod:`rnndyn.dynamics` (and friends) validate, choose the
backend, and wrap the arrays in result dataclasses. A new backend (CUDA, say)
plugs in with :func:`register_backend` and changes nothing else.
"""

from __future__ import annotations

import importlib
from typing import Callable

import numpy as np

from . import config
from ._blas import blas_threads
from ._validate import choice

_FACTORIES: dict[str, Callable[[], object]] = {}
_INSTANCES: dict[str, object] = {}


class KernelBackend:
    """Drivers over a kernel module whose functions share the reference's signatures.

    Parameters
    ----------
    name : str
    module : str
        Dotted module path of the kernels (imported on first use).
    """

    def __init__(self, name: str, module: str):
        self.name = name
        self._module_name = module
        self._module = None

    @property
    def kernels(self):
        if self._module is None:
            self._module = importlib.import_module(self._module_name)
        return self._module

    def simulate(self, p, h0, inputs, stride, dtype=np.float64):
        """Run ``simulate``; returns (out, final, diverged_at)."""
        B, n = h0.shape
        T = inputs.shape[1]
        R = T // stride + 1 if stride > 0 else 0
        dt = np.dtype(dtype)
        out = np.empty((B, R, n), dt)
        final = np.empty((B, n), dt)
        diverged_at = np.empty(B, np.int64)
        if dt != np.float64:
            p = p._replace(M=p.M.astype(dt), V=p.V.astype(dt), b=p.b.astype(dt), Vz=p.Vz.astype(dt),
                           bz=p.bz.astype(dt), alpha=dt.type(p.alpha), eps=dt.type(p.eps))
            h0 = h0.astype(dt)
            inputs = inputs.astype(dt)
        with blas_threads(1):  # prange owns the cores
            self.kernels.simulate(h0, inputs, *p, stride, out, final, diverged_at,
                                  batch_chunk(B), config.BLAS_MIN_N)
        return out, final, diverged_at

    def tangent(self, p, h0, inputs, vecs, norm_kind):
        """Run ``tangent``; returns (final, jac, norms, vec_norms, diverged_at)."""
        B, n = h0.shape
        T = inputs.shape[1]
        final = np.empty((B, n))
        jac = np.empty((B, n, n))
        norms = np.empty((B, T + 1))
        vec_norms = np.empty((B, T + 1, vecs.shape[1]))
        diverged_at = np.empty(B, np.int64)
        with blas_threads(1):
            self.kernels.tangent(h0, inputs, *p, vecs, norm_kind, final, jac, norms, vec_norms, diverged_at,
                                 config.BLAS_MIN_N)
        return final, jac, norms, vec_norms, diverged_at

    def bptt(self, p, h0, inputs, loss_kind, dL_dh, U, c, targets, checkpoint):
        """Run ``bptt``; returns (dM, dV, db, dVz, dbz, dU, dc, deps, dh0, delta_norms, loss, final, diverged_at).

        The batch is split into one chunk per thread (at most
        ``config.BATCH_CHUNK`` trajectories each) so that B = 2 already uses both cores.
        """
        import numba

        B, n = h0.shape
        T = inputs.shape[1]
        d = p.V.shape[1]
        k = U.shape[0]
        threads = max(1, numba.get_num_threads())
        chunk = max(1, min(config.BATCH_CHUNK, -(-B // threads)))
        dM = np.empty((n, n))
        dV = np.empty((n, d))
        db = np.empty(n)
        dVz = np.empty((n, d if p.gated else 0))
        dbz = np.empty(n if p.gated else 0)
        dU = np.empty((k, n))
        dc = np.empty(k)
        deps = np.empty(1)
        dh0 = np.empty((B, n))
        delta_norms = np.empty((B, T + 1))
        loss = np.empty(B)
        final = np.empty((B, n))
        diverged_at = np.empty(B, np.int64)
        self.kernels.bptt(h0, inputs, *p, loss_kind, dL_dh, U, c, targets, checkpoint,
                          dM, dV, db, dVz, dbz, dU, dc, deps, dh0, delta_norms, loss, final, diverged_at,
                          chunk, config.BLAS_MIN_N)
        return dM, dV, db, dVz, dbz, dU, dc, float(deps[0]), dh0, delta_norms, loss, final, diverged_at


def batch_chunk(B: int) -> int:
    """Trajectories per thread block: at most ``config.BATCH_CHUNK``, but small enough
    that every numba thread gets work, and a multiple of 8 (one AVX-512 vector)."""
    import numba

    per_thread = -(-B // max(1, numba.get_num_threads()))
    chunk = min(config.BATCH_CHUNK, max(8, -(-per_thread // 8) * 8))
    return max(1, chunk)


def register_backend(name: str, factory: Callable[[], object]) -> None:
    """Make ``backend=name`` available; ``factory()`` builds the backend on first use."""
    _FACTORIES[name] = factory
    _INSTANCES.pop(name, None)


def available_backends() -> tuple[str, ...]:
    """Names accepted by the ``backend`` argument (besides ``"auto"``)."""
    return tuple(_FACTORIES)


def cuda_available() -> bool:
    """Whether a CUDA GPU (or the CUDA simulator) is usable, without failing when numba-cuda is absent."""
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:
        return False


def get_backend(name: str = "auto", work: float = 0.0):
    """The backend object for ``name``.

    ``"auto"`` picks ``"cuda"`` when it is registered, a GPU is visible and the
    work (multiply-adds) is at least ``config.CUDA_MIN_WORK``; else ``"cpu"``.
    """
    choice(name, "backend", set(_FACTORIES) | {"auto"})
    if name == "auto":
        name = "cuda" if ("cuda" in _FACTORIES and work >= config.CUDA_MIN_WORK and cuda_available()) else "cpu"
    if name not in _INSTANCES:
        _INSTANCES[name] = _FACTORIES[name]()
    return _INSTANCES[name]


register_backend("cpu", lambda: KernelBackend("cpu", "rnndyn.kernels.cpu"))
register_backend("reference", lambda: KernelBackend("reference", "rnndyn.kernels.reference"))
