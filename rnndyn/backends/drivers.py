"""Drivers: allocate the outputs, normalise the arguments, launch a kernel, return arrays.

A backend is a :class:`Backend`: it says which (algorithm, family) pairs it runs
(:meth:`Backend.supports`) and has one driver method per algorithm
(``simulate``, ``tangent``, ``lyapunov``, ``bptt``), each taking the family and
the system's kernel arguments first. :class:`KernelBackend` implements them over
a kernel package whose functions carry the names in :data:`KERNELS`
(``rnndyn.kernels.cpu`` and its NumPy twin ``rnndyn.kernels.numpy``).

Which (algorithm, family, backend) triples exist is decided in one place,
:func:`rnndyn.backends.kernel_for`; a driver trusts that it was asked for a
supported pair.
"""

from __future__ import annotations

import abc
import contextlib
import functools
import importlib
import threading
import types

import numpy as np

from rnndyn import config
from rnndyn.backends.blas import blas_threads, usable_cores
from rnndyn.errors import ValidationError

#: Every algorithm a backend may drive (the names of its driver methods).
ALGORITHMS = ("simulate", "tangent", "lyapunov", "bptt", "clv", "basins")

#: (algorithm, family) -> the name of the kernel that runs it, the same name in every
#: kernel package. The LSTM runs on the map kernels with its own compiled rule; only
#: cells have a hand-written backward pass.
KERNELS = {
    ("simulate", "cell"): "simulate",
    ("simulate", "map"): "map_simulate",
    ("simulate", "lstm"): "map_simulate",
    ("tangent", "cell"): "tangent",
    ("tangent", "map"): "map_tangent",
    ("tangent", "lstm"): "map_tangent",
    ("lyapunov", "cell"): "lyapunov",
    ("lyapunov", "map"): "map_lyapunov",
    ("lyapunov", "lstm"): "map_lyapunov",
    ("bptt", "cell"): "bptt",
    ("clv", "cell"): "clv_forward",
    ("clv", "map"): "map_clv_forward",
    ("clv", "lstm"): "map_clv_forward",
    ("basins", "cell"): "basin_trajectories",
}


def _quiet(fn):
    """``fn`` under np.errstate(all="ignore"). The NumPy twins compute in NumPy, which warns on overflow
    and 0·inf; the compiled kernels do not, and every algorithm reports non-finite results its own way
    (``diverged_at`` and one DivergenceWarning), so the twins' raw warnings would only repeat that."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        with np.errstate(all="ignore"):
            return fn(*args, **kwargs)

    return run


def _user_code_errors(fn):
    """``fn`` with an exception raised inside a user's map rule named as such. Compiled, it surfaces as
    numba's bare "SystemError: … returned a result with an exception set" (the rule is called through a
    first-class function pointer); the original exception, when Python kept it, is chained."""

    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SystemError as exc:
            cause = exc.__cause__ or exc.__context__
            what = f" ({type(cause).__name__}: {cause})" if cause is not None else ""
            raise ValidationError(f"rule: the map's rule or Jacobian raised an exception while the kernels ran"
                                  f"{what}; make it total over the states it meets (return inf or NaN to stop "
                                  "a trajectory)") from None

    return run


def kernel_array(a, dtype=np.float64) -> np.ndarray:
    """``a`` as the one array type a kernel is compiled for: C-contiguous, writeable, of ``dtype``, a plain ndarray.

    numba types a read-only array (a memory-mapped file, a system's frozen weights, a
    broadcast view), a non-contiguous one or one of another dtype as a different
    argument type, and compiles the kernel once more for each; a copy (when one is
    needed at all) costs far less than that.
    """
    if type(a) is np.ndarray and a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable:
        return a  # the usual case, without np.require's few microseconds of Python
    return np.require(a, dtype=dtype, requirements=["C", "W", "E"])


def cell_args(p, dtype=np.float64):
    """A :class:`~rnndyn.kernels.params.CellParams` with every field of the one type its kernels are compiled for.

    Arrays go through :func:`kernel_array`; alpha and eps become scalars of ``dtype``,
    the activation code an int and the gate flag a bool, whatever NumPy scalar or
    Python number the cell held.
    """
    dt = np.dtype(dtype)
    return type(p)(dt.type(p.alpha), dt.type(p.eps), int(p.act), bool(p.gated), kernel_array(p.M, dt),
                   kernel_array(p.V, dt), kernel_array(p.b, dt), kernel_array(p.Vz, dt), kernel_array(p.bz, dt))


def map_args(args):
    """A map's ``(rule, jacobian, params)`` with ``params`` as :func:`kernel_array` gives it."""
    return type(args)(args[0], args[1], kernel_array(args[2]))


class Backend(abc.ABC):
    """Where a computation runs: the interface :func:`rnndyn.backends.register_backend` expects.

    Subclasses set ``name``, implement :meth:`supports`, and provide a driver
    method for every algorithm they support (see :class:`KernelBackend` for the
    signatures).
    """

    name: str = ""

    @abc.abstractmethod
    def supports(self, algorithm: str, family: str) -> bool:
        """Whether this backend runs ``algorithm`` (e.g. ``"simulate"``) for systems of ``family``."""

    def fits(self, algorithm: str, family: str, n: int) -> bool:
        """Whether this backend's ``algorithm`` kernel takes states of size ``n`` (every size, unless a
        backend's kernels keep a state in fixed-size per-thread arrays)."""
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class KernelBackend(Backend):
    """Drivers over a kernel package whose functions share the NumPy twins' signatures.

    Parameters
    ----------
    name : str
    module : str
        Dotted path of the kernel package (imported on first use); it exposes
        the kernels of :data:`KERNELS` by name.
    supports : iterable of (algorithm, family), optional
        The pairs this backend runs; default every pair of :data:`KERNELS`. A
        kernel package that has, say, no map kernels declares it here.
    threaded : bool
        Whether the kernels run their batch over numba's threads (``prange``): the
        batch is then split into one chunk per thread and BLAS is held to one thread
        while they run. False for kernels that run in the calling thread (the NumPy
        twins), which then skip both (and numba's import).
    """

    def __init__(self, name: str, module: str, supports=None, threaded: bool = True):
        pairs = frozenset(KERNELS if supports is None else (tuple(p) for p in supports))
        unknown = sorted(pairs - KERNELS.keys())
        if unknown:
            raise ValidationError(f"supports: {unknown} are not (algorithm, family) pairs of any kernel; "
                             f"expected some of {sorted(KERNELS)}")
        self.name = name
        self.threaded = bool(threaded)
        self._module_name = module
        self._module = None
        self._pairs = pairs

    def supports(self, algorithm: str, family: str) -> bool:
        """Whether this backend runs ``algorithm`` for ``family`` (see :data:`KERNELS`)."""
        return (algorithm, family) in self._pairs

    def threads(self) -> int:
        """The threads a kernel call spreads its batch over: numba's, or 1 for kernels that are not threaded."""
        if not self.threaded:
            return 1
        import numba

        return max(1, numba.get_num_threads())

    def serial_blas(self):
        """A context that holds BLAS to one thread while a threaded kernel owns the cores (else does nothing)."""
        return blas_threads(1) if self.threaded else contextlib.nullcontext()

    @property
    def kernels(self):
        """The kernel package (imported on first use)."""
        if self._module is None:
            self._module = importlib.import_module(self._module_name)
        return self._module

    def kernel(self, algorithm: str, family: str):
        """The kernel function that runs ``algorithm`` for ``family`` (a supported pair)."""
        fn = getattr(self.kernels, KERNELS[algorithm, family])
        if isinstance(fn, types.FunctionType):  # a NumPy twin, not a compiled kernel
            fn = _quiet(fn)
        return _user_code_errors(fn) if family == "map" else fn

    def simulate(self, family, args, h0, inputs, stride, dtype=np.float64):
        """Run ``simulate``; returns (out, final, diverged_at).

        ``args`` are the system's kernel arguments (:class:`~rnndyn.kernels.params.CellParams`
        for a cell, ``(rule, jacobian, params)`` for a map or an LSTM). Cells run
        in float64 or float32; maps in float64.
        """
        kernel = self.kernel("simulate", family)
        dt = np.dtype(dtype) if family == "cell" else np.dtype(np.float64)
        h0, inputs, stride = kernel_array(h0, dt), kernel_array(inputs, dt), int(stride)
        B, n = h0.shape
        T = inputs.shape[1]
        R = T // stride + 1 if stride > 0 else 0
        out = np.empty((B, R, n), dt)
        final = np.empty((B, n), dt)
        diverged_at = np.empty(B, np.int64)
        if family == "cell":
            with self.serial_blas():  # prange owns the cores
                kernel(h0, inputs, *cell_args(args, dt), stride, out, final, diverged_at,
                       batch_chunk(B, n, self.threads()), int(config.BLAS_MIN_N))
        else:
            rule, _, params = map_args(args)
            with self.serial_blas():
                kernel(h0, inputs, rule, params, stride, out, final, diverged_at)
        return out, final, diverged_at

    def tangent(self, family, args, h0, inputs, vecs, norm_kind):
        """Run ``tangent``; returns (final, jac, norms, vec_norms, diverged_at)."""
        kernel = self.kernel("tangent", family)
        args = cell_args(args) if family == "cell" else map_args(args)
        h0, inputs, vecs, norm_kind = kernel_array(h0), kernel_array(inputs), kernel_array(vecs), int(norm_kind)
        B, n = h0.shape
        T = inputs.shape[1]
        final = np.empty((B, n))
        jac = np.empty((B, n, n))
        norms = np.empty((B, T + 1))
        vec_norms = np.empty((B, T + 1, vecs.shape[1]))
        diverged_at = np.empty(B, np.int64)
        # cells batch their tangent step through BLAS later than a map's per-trajectory product
        blas_min_n = config.TANGENT_BLAS_MIN_N if family == "cell" else config.BLAS_MIN_N
        with self.serial_blas():
            if family == "cell":
                kernel(h0, inputs, *args, vecs, norm_kind, final, jac, norms, vec_norms, diverged_at, int(blas_min_n),
                       batch_chunk(B, threads=self.threads(), cap=config.TANGENT_CHUNK))
            else:
                kernel(h0, inputs, *args, vecs, norm_kind, final, jac, norms, vec_norms, diverged_at, int(blas_min_n))
        return final, jac, norms, vec_norms, diverged_at

    def lyapunov(self, family, args, h0, inputs, q0, transient, steps, every, nblocks, history, edges=None,
                 on_chunk=None):
        """Run ``lyapunov_spectrum``; see :func:`_lyapunov_run`."""
        pargs = cell_args(args) if family == "cell" else map_args(args)
        return _lyapunov_run(self.kernel("lyapunov", family), pargs, h0, inputs, q0, int(transient), int(steps),
                             int(every), int(nblocks), history, edges, on_chunk, self.serial_blas)

    def clv(self, family, args, *rest, **kw):
        """Run ``covariant_lyapunov_vectors``; see :func:`rnndyn.backends.clv.clv_run`."""
        from rnndyn.backends.clv import clv_run

        args = cell_args(args) if family == "cell" else map_args(args) if family == "map" else args
        return clv_run(self, family, args, *rest, **kw)

    def bptt(self, family, p, h0, inputs, loss_kind, dL_dh, U, c, targets, checkpoint):
        """Run ``bptt``; returns (dM, dV, db, dVz, dbz, dU, dc, deps, dh0, delta_norms, loss, final, diverged_at).

        The batch is split into one chunk per usable core (at most ``config.BATCH_CHUNK``
        trajectories each) so that B = 2 already uses both cores. The split follows the cores
        of the machine (its CPU set), not numba's thread count: the chunks' sums are added in
        chunk order, so a split that followed ``numba.set_num_threads`` would give other last bits
        in a one-thread worker (``rnndyn figures``, a Dask sweep) than in the main process.
        """
        kernel = self.kernel("bptt", family)

        w = kernel_array
        p = cell_args(p)
        h0, inputs, dL_dh, U, c, targets = w(h0), w(inputs), w(dL_dh), w(U), w(c), w(targets, np.int64)
        B, n = h0.shape
        T = inputs.shape[1]
        d = p.V.shape[1]
        k = U.shape[0]
        chunk = max(1, min(config.BATCH_CHUNK, -(-B // (usable_cores() if self.threaded else 1))))
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
        per = n * (2 * L + 1 + (2 * L if p.gated else 1) + max(nseg, 1)) + d * L  # the kernel's _bptt_words
        work = self._bptt_workspace(-(-B // chunk) * chunk * per)
        with self.serial_blas():  # prange owns the cores; a threaded GEMM inside it oversubscribes them
            kernel(h0, inputs, *p, int(loss_kind), dL_dh, U, c, targets, int(checkpoint),
                   dM, dV, db, dVz, dbz, dU, dc, deps, dh0, delta_norms, loss, final, diverged_at,
                   work, int(chunk), int(blas_min_n))
        return dM, dV, db, dVz, dbz, dU, dc, float(deps[0]), dh0, delta_norms, loss, final, diverged_at

    def basins(self, family, p, h0, steps, tail, escape):
        """Run ``basins`` on the initial states h0 (G, n) of a cell without inputs; returns
        (final (G, n), tail (G, tail, n), log_grad (G,), diverged_at (G,))."""
        kernel = self.kernel("basins", family)
        h0 = kernel_array(h0)
        G, n = h0.shape
        final = np.empty((G, n))
        tails = np.empty((G, int(tail), n))
        log_grad = np.empty(G)
        diverged_at = np.empty(G, np.int64)
        chunk = max(1, min(config.BATCH_CHUNK, -(-G // (4 * self.threads()))))
        kernel(h0, int(steps), float(escape), *cell_args(p), final, tails, log_grad, diverged_at, int(chunk))
        return final, tails, log_grad, diverged_at

    def _bptt_workspace(self, words):
        """A float64 scratch array of at least ``words`` entries, reused by later calls of this thread."""
        tls = self.__dict__.setdefault("_bptt_tls", threading.local())
        buf = getattr(tls, "work", None)
        if buf is None or buf.size < words:
            buf = np.empty(words)
            tls.work = buf if 8 * words <= config.BPTT_WORKSPACE_CACHE_BYTES else None
        return buf


def batch_chunk(B: int, n: int = 1, threads: int | None = None, cap: int | None = None) -> int:
    """Trajectories per thread block.

    ``config.BLOCK_ELEMENTS // n`` (a block of about that many state entries),
    at most ``cap`` (default ``config.BATCH_CHUNK``), at most an even share of the
    batch so every numba thread (or each of ``threads``) gets work, and a multiple
    of 8 (one AVX-512 vector, two tile rows of float64) when ≥ 8.
    """
    if threads is None:
        import numba

        threads = numba.get_num_threads()
    per_thread = -(-B // max(1, threads))
    target = max(8, config.BLOCK_ELEMENTS // max(1, n))
    chunk = min(target, -(-per_thread // 8) * 8)
    return max(1, min(config.BATCH_CHUNK if cap is None else cap, chunk))


def _lyapunov_run(kernel, pargs, h0, inputs, q0, transient, steps, every, nblocks, history, edges, on_chunk,
                  serial_blas=lambda: blas_threads(1)):
    """Allocate the carried state of a Lyapunov run and call ``kernel`` over chunks of steps.

    ``kernel(h, inputs_chunk, *pargs, Q, S, t0, transient, total, every,
    blocks, hist, diverged_at, blas_min_n, qr_lapack_min_n)`` advances every
    carried array in place (see ``rnndyn.kernels.numpy.lyapunov``); ``edges`` are
    the global steps at which a chunk ends (default: one chunk), ``on_chunk(t)``
    is called after each. ``nblocks``: blocks of the per-block sums of log R_jj
    (0: none). Returns (h_T, S, blocks, hist, diverged_at).
    """
    B, n = h0.shape
    k = q0.shape[1]
    total = transient + steps
    h = np.array(h0, dtype=np.float64, copy=True)
    Q = np.empty((B, n, k))
    Q[...] = q0
    S = np.zeros((B, k))
    blocks = np.zeros((B, nblocks, k))
    H = -(-steps // every) if history else 0
    hist = np.full((B, H, k), np.nan)
    diverged_at = np.full(B, -1, np.int64)
    lapack_min_n = config.QR_LAPACK_MIN_N
    t0 = 0
    for t1 in (edges if edges is not None else [total]):
        chunk = kernel_array(inputs[:, t0:t1])
        # prange owns the cores when there are several trajectories, and a threaded BLAS inside it would
        # oversubscribe them; a single trajectory runs on the calling thread, whose products may use BLAS's
        # threads (n = 128: the step 384 -> 356 µs, its product 91 -> 60 µs on two cores).
        with serial_blas() if B > 1 else contextlib.nullcontext():
            kernel(h, chunk, *pargs, Q, S, int(t0), transient, total, every, blocks, hist, diverged_at,
                   int(config.BLAS_MIN_N), int(lapack_min_n))
        t0 = t1
        if on_chunk is not None:
            on_chunk(t1)
    return h, S, blocks, hist, diverged_at
