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

    @property
    def discrete(self):
        """The kernels of general maps and the LSTM (``<module>_discrete``), imported on first use."""
        if getattr(self, "_discrete", None) is None:
            self._discrete = importlib.import_module(self._module_name + "_discrete")
        return self._discrete

    def lyapunov(self, p, h0, inputs, q0, transient, steps, every, err_from, history, edges=None,
                 on_chunk=None):
        """Run ``lyapunov_spectrum`` for a cell; see :func:`_lyapunov_run`."""
        # writable copies: a cell's frozen (read-only) arrays would be a separate numba specialisation
        pargs = tuple(np.array(a, order="C") if isinstance(a, np.ndarray) else a for a in p)
        return _lyapunov_run(self.kernels.lyapunov, pargs, h0, inputs, q0, transient, steps, every,
                             err_from, history, edges, on_chunk)

    def dmap_lyapunov(self, m, h0, inputs, q0, transient, steps, every, err_from, history, edges=None,
                      on_chunk=None):
        """Run ``lyapunov_spectrum`` for a :class:`~rnndyn.discrete_maps.Map` ``m``."""
        return _lyapunov_run(self.discrete.dmap_lyapunov, (m.rule, m.jacobian_kernel, np.array(m.params)), h0, inputs,
                             q0, transient, steps, every, err_from, history, edges, on_chunk)

    def dmap_simulate(self, m, h0, inputs, stride):
        """Run ``simulate`` for a Map; returns (out, final, diverged_at)."""
        B, n = h0.shape
        T = inputs.shape[1]
        R = T // stride + 1 if stride > 0 else 0
        out = np.empty((B, R, n))
        final = np.empty((B, n))
        diverged_at = np.empty(B, np.int64)
        with blas_threads(1):
            self.discrete.dmap_simulate(h0, inputs, m.rule, np.array(m.params), stride, out, final, diverged_at)
        return out, final, diverged_at

    def dmap_tangent(self, m, h0, inputs, vecs, norm_kind):
        """Run ``tangent`` for a Map; returns (final, jac, norms, vec_norms, diverged_at)."""
        B, n = h0.shape
        T = inputs.shape[1]
        final = np.empty((B, n))
        jac = np.empty((B, n, n))
        norms = np.empty((B, T + 1))
        vec_norms = np.empty((B, T + 1, vecs.shape[1]))
        diverged_at = np.empty(B, np.int64)
        with blas_threads(1):
            self.discrete.dmap_tangent(h0, inputs, m.rule, m.jacobian_kernel, np.array(m.params), vecs, norm_kind,
                                       final, jac, norms, vec_norms, diverged_at, config.BLAS_MIN_N)
        return final, jac, norms, vec_norms, diverged_at

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
                                  batch_chunk(B, n), config.BLAS_MIN_N)
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
                                 config.TANGENT_BLAS_MIN_N)
        return final, jac, norms, vec_norms, diverged_at

    def bptt(self, p, h0, inputs, loss_kind, dL_dh, U, c, targets, checkpoint):
        """Run ``bptt``; returns (dM, dV, db, dVz, dbz, dU, dc, deps, dh0, delta_norms, loss, final, diverged_at).

        The batch is split into one chunk per thread (at most
        ``config.BATCH_CHUNK`` trajectories each) so that B = 2 already uses both cores.
        """
        import numba

        # One compiled signature only: read-only (frozen cell weights, broadcast views) or
        # non-contiguous arrays would each compile the kernel again.
        def w(a, dtype=np.float64):
            return np.require(a, dtype=dtype, requirements=["C", "W"])

        p = p._replace(M=w(p.M), V=w(p.V), b=w(p.b), Vz=w(p.Vz), bz=w(p.bz),
                       alpha=float(p.alpha), eps=float(p.eps), act=int(p.act), gated=bool(p.gated))
        h0, inputs, dL_dh, U, c, targets = w(h0), w(inputs), w(dL_dh), w(U), w(c), w(targets, np.int64)
        B, n = h0.shape
        T = inputs.shape[1]
        d = p.V.shape[1]
        k = U.shape[0]
        threads = max(1, numba.get_num_threads())
        chunk = max(1, min(config.BATCH_CHUNK, -(-B // threads)))
        # the kernel compares n with blas_min_n; a block of several trajectories goes to BLAS earlier
        blas_min_n = 0 if chunk * n * n >= config.BPTT_BLAS_MIN_WORK else config.BLAS_MIN_N
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
        L = T if (checkpoint <= 0 or checkpoint >= T) else checkpoint
        nseg = -(-T // L) if T > 0 else 0
        per = n * (2 * L + 1 + (2 * L if p.gated else 1) + max(nseg, 1)) + d * L  # cpu._bptt_words
        work = self._bptt_workspace(-(-B // chunk) * chunk * per)
        with blas_threads(1):  # prange owns the cores; a threaded GEMM inside it oversubscribes them
            self.kernels.bptt(h0, inputs, *p, int(loss_kind), dL_dh, U, c, targets, int(checkpoint),
                              dM, dV, db, dVz, dbz, dU, dc, deps, dh0, delta_norms, loss, final, diverged_at,
                              work, int(chunk), int(blas_min_n))
        return dM, dV, db, dVz, dbz, dU, dc, float(deps[0]), dh0, delta_norms, loss, final, diverged_at

    def _bptt_workspace(self, words):
        """A float64 scratch array of at least ``words`` entries, reused by later calls of this thread."""
        import threading

        tls = self.__dict__.setdefault("_bptt_tls", threading.local())
        buf = getattr(tls, "work", None)
        if buf is None or buf.size < words:
            buf = np.empty(words)
            tls.work = buf if 8 * words <= config.BPTT_WORKSPACE_CACHE_BYTES else None
        return buf


def batch_chunk(B: int, n: int = 1) -> int:
    """Trajectories per thread block.

    ``config.BLOCK_ELEMENTS // n`` (a block of about that many state entries),
    at most ``config.BATCH_CHUNK``, at most an even share of the batch so every
    numba thread gets work, and a multiple of 8 (one AVX-512 vector) when ≥ 8.
    """
    import numba

    per_thread = -(-B // max(1, numba.get_num_threads()))
    target = max(8, config.BLOCK_ELEMENTS // max(1, n))
    chunk = min(target, -(-per_thread // 8) * 8)
    return max(1, min(config.BATCH_CHUNK, chunk))


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


# ---- lyapunov ----


def _lyapunov_run(kernel, pargs, h0, inputs, q0, transient, steps, every, err_from, history, edges, on_chunk):
    """Allocate the carried state of a Lyapunov run and call ``kernel`` over chunks of steps.

    ``kernel(h, inputs_chunk, *pargs, Q, S, t0, transient, total, every, err_from,
    lo, hi, hist, diverged_at, blas_min_n, qr_lapack_min_n)`` advances every
    carried array in place (see ``reference.lyapunov``); ``edges`` are the global
    steps at which a chunk ends (default: one chunk), ``on_chunk(t)`` is called
    after each. Returns (h_T, S, lo, hi, hist, diverged_at).
    """
    B, n = h0.shape
    k = q0.shape[1]
    total = transient + steps
    h = np.array(h0, dtype=np.float64, copy=True)
    Q = np.array(np.broadcast_to(q0, (B, n, k)), dtype=np.float64, order="C")
    S = np.zeros((B, k))
    lo = np.full((B, k), np.inf)
    hi = np.full((B, k), -np.inf)
    H = -(-steps // every) if history else 0
    hist = np.full((B, H, k), np.nan)
    diverged_at = np.full(B, -1, np.int64)
    lapack_min_n = config.QR_LAPACK_MIN_N
    t0 = 0
    for t1 in (edges if edges is not None else [total]):
        chunk = np.ascontiguousarray(inputs[:, t0:t1])
        with blas_threads(1):  # prange owns the cores; a threaded BLAS inside it oversubscribes them
            kernel(h, chunk, *pargs, Q, S, t0, transient, total, every, err_from, lo, hi, hist, diverged_at,
                   config.BLAS_MIN_N, lapack_min_n)
        t0 = t1
        if on_chunk is not None:
            on_chunk(t1)
    return h, S, lo, hi, hist, diverged_at
