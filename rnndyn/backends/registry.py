"""The backend registry and the one table of what runs where.

:func:`register_backend` makes ``backend=name`` available; :func:`get_backend`
builds a backend on first use; :func:`kernel_for` answers every request of an
algorithm for a family of systems on a backend, and is the only place that
refuses an unsupported (algorithm, family, backend) triple, with
:class:`~rnndyn.errors.UnsupportedError`.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable

import numpy as np

from rnndyn import config
from rnndyn._validate import _describe, choice
from rnndyn.backends.drivers import ALGORITHMS, KERNELS, Backend, KernelBackend
from rnndyn.errors import ArgumentTypeError, UnsupportedError, ValidationError

_FACTORIES: dict[str, Callable[[], Backend]] = {}
_INSTANCES: dict[str, Backend] = {}

# How an error message names the systems of a family (the classes live above this layer).
_FAMILY_WORDS = {
    "cell": "cells (VanillaRNN, EulerRNN, AntisymmetricRNN)",
    "map": "maps (Map)",
    "lstm": "LSTMs",
}


def register_backend(name: str, factory: Callable[[], Backend]) -> None:
    """Make ``backend=name`` available; ``factory()`` builds the backend on first use.

    Parameters
    ----------
    name : str
        A non-empty name other than ``"auto"`` (which chooses among the others).
        Registering a name again replaces the backend.
    factory : callable
        Called without arguments the first time the backend is needed; returns a
        :class:`~rnndyn.backends.Backend`.

    Raises
    ------
    ArgumentTypeError
        When ``name`` is not a string or ``factory`` is not callable.
    ValidationError
        When ``name`` is empty or ``"auto"``.

    Examples
    --------
    >>> import rnndyn as rd
    >>> rd.register_backend("", lambda: None)
    Traceback (most recent call last):
    ...
    rnndyn.errors.ValidationError: name: expected a non-empty backend name, got an empty string
    """
    if not isinstance(name, str):
        raise ArgumentTypeError(f"name: expected a backend name (a string), got {_describe(name)}")
    if not name.strip():
        raise ValidationError("name: expected a non-empty backend name, got an empty string")
    if name == "auto":
        raise ValidationError("name: 'auto' is reserved (it chooses among the registered backends)")
    if not callable(factory):
        raise ArgumentTypeError(
            f"factory: expected a callable that builds the backend (e.g. a lambda), got {_describe(factory)}"
        )
    _FACTORIES[name] = factory
    _INSTANCES.pop(name, None)


def available_backends() -> tuple[str, ...]:
    """Names accepted by the ``backend`` argument (besides ``"auto"``)."""
    return tuple(_FACTORIES)


def _no_cuda_driver() -> bool:
    """True where no CUDA GPU can be visible: Linux without NVIDIA's device files (nor WSL's) and no simulator.

    numba-cuda takes seconds to import only to find no driver; elsewhere (or with a driver) it is asked.
    """
    if not sys.platform.startswith("linux") or os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"):
        return False
    return not any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg"))


@functools.lru_cache(maxsize=None)
def cuda_available() -> bool:
    """Whether a CUDA GPU (or the CUDA simulator) is usable, without failing when numba-cuda is absent.

    Asked once per process (a driver does not come or go while it runs), and answered without importing
    numba-cuda where no NVIDIA device file exists: ``backend="auto"`` asks it for every large request.
    """
    if _no_cuda_driver():
        return False
    try:
        from numba import cuda

        return bool(cuda.is_available())
    except Exception:  # noqa: BLE001 - a missing or broken CUDA stack means "no GPU", whatever it raises
        return False


def _instance(name: str) -> Backend:
    if name not in _INSTANCES:
        be = _FACTORIES[name]()
        if not isinstance(be, Backend):
            raise ArgumentTypeError(
                f"backend: the factory registered as {name!r} built {_describe(be)}, "
                "not an rnndyn.backends.Backend"
            )
        _INSTANCES[name] = be
    return _INSTANCES[name]


def get_backend(name: str = "auto", work: float = 0.0) -> Backend:
    """The backend object for ``name``.

    ``"auto"`` picks ``"cuda"`` when it is registered, a GPU is visible and the
    work (multiply-adds) is at least ``config.CUDA_MIN_WORK``; else ``"cpu"``.
    """
    choice(name, "backend", set(_FACTORIES) | {"auto"})
    if name == "auto":
        name = "cuda" if ("cuda" in _FACTORIES and work >= config.CUDA_MIN_WORK and cuda_available()) else "cpu"
    return _instance(name)


def _runs(name: str, algorithm: str, family: str) -> bool:
    """Whether backend ``name`` can be built here and runs the pair (a "cuda" without a GPU does not)."""
    try:
        return _instance(name).supports(algorithm, family)
    except UnsupportedError:
        return False


def reference_seconds(algorithm: str, steps: float, work: float, batch: float = 1) -> float:
    """Estimated seconds of the NumPy twin of ``algorithm`` for a cell.

    ``steps`` steps of ``batch`` trajectories, ``work`` multiply-adds in all:
    ``steps * (STEP[algorithm] + (batch - 1) * TRAJECTORY_STEP[algorithm]) + MADD * work`` with the
    ``config.REFERENCE_*_SECONDS`` constants; ``inf`` for an algorithm without measured costs.

    Examples
    --------
    >>> from rnndyn.backends.registry import reference_seconds
    >>> round(reference_seconds("simulate", 50, 1200, batch=3), 6)  # the phase portrait of a 2-D cell
    0.003051
    >>> reference_seconds("basins", 200, 5e7)
    inf
    """
    per_step = config.REFERENCE_STEP_SECONDS.get(algorithm)
    per_trajectory = config.REFERENCE_TRAJECTORY_STEP_SECONDS.get(algorithm)
    if per_step is None or per_trajectory is None:
        return float("inf")
    return (float(steps) * (float(per_step) + max(float(batch) - 1, 0.0) * float(per_trajectory))
            + float(config.REFERENCE_MADD_SECONDS) * float(work))


def _auto(algorithm: str, family: str, work: float, n: int | None, steps: float | None, batch: float) -> str:
    """What ``"auto"`` means for this request (see :func:`kernel_for`)."""
    if "cuda" in _FACTORIES and work >= config.CUDA_MIN_WORK and cuda_available() \
            and _instance("cuda").supports(algorithm, family) \
            and (n is None or _instance("cuda").fits(algorithm, family, n)):
        return "cuda"
    limit = float(config.AUTO_REFERENCE_SECONDS)
    if limit > 0 and steps is not None and family == "cell" and "reference" in _FACTORIES \
            and reference_seconds(algorithm, steps, work, batch) <= limit and _runs("reference", algorithm, family):
        return "reference"
    return "cpu"


def kernel_for(algorithm: str, family: str, backend: str = "auto", work: float = 0.0, argname: str = "system",
               n: int | None = None, steps: float | None = None, batch: float = 1):
    """The driver that runs ``algorithm`` for a system of ``family`` on ``backend``.

    Parameters
    ----------
    algorithm : {"simulate", "tangent", "lyapunov", "bptt"}
    family : {"cell", "map", "lstm"}
        The system's family (:func:`rnndyn.systems.family_of`).
    backend : str
        A registered backend, or ``"auto"``: ``"cuda"`` when it is registered,
        runs this pair, a GPU is visible and ``work`` ≥ ``config.CUDA_MIN_WORK``;
        else ``"reference"`` for a cell whose NumPy twin is estimated to take at most
        ``config.AUTO_REFERENCE_SECONDS`` (0 by default: never; see
        :func:`reference_seconds`); else ``"cpu"``.
    work : float
        Multiply-adds of the request, for ``"auto"``.
    argname : str
        How the caller names the system argument in error messages.
    n : int, optional
        The state size, for ``"auto"``: a backend whose kernels cannot hold states
        of this size (:meth:`~rnndyn.backends.Backend.fits`) is not chosen.
    steps : float, optional
        Steps of the request, for ``"auto"``'s estimate of the NumPy twin's time;
        without it, ``"auto"`` never picks ``"reference"``.
    batch : float
        Trajectories of the request, for the same estimate.

    Returns
    -------
    callable
        The backend's driver method ``algorithm`` with ``family`` bound: call it
        with the system's kernel arguments and the prepared arrays.

    Raises
    ------
    UnsupportedError
        When no backend runs ``algorithm`` for ``family`` (e.g. ``bptt`` of a
        Map), or ``backend`` does not.
    UnknownNameError
        When ``backend`` is not registered.

    Examples
    --------
    >>> from rnndyn.backends import kernel_for
    >>> kernel_for("simulate", "map", "reference").func.__self__.name
    'reference'
    >>> kernel_for("bptt", "lstm", "cpu", argname="cell")
    Traceback (most recent call last):
    ...
    rnndyn.errors.UnsupportedError: cell: bptt runs cells (VanillaRNN, EulerRNN, AntisymmetricRNN) only, not LSTMs
    """
    choice(algorithm, "algorithm", set(ALGORITHMS))
    if (algorithm, family) not in KERNELS:
        runs = ", ".join(_FAMILY_WORDS.get(f, repr(f)) for a, f in KERNELS if a == algorithm)
        what = _FAMILY_WORDS.get(family, repr(family))
        raise UnsupportedError(f"{argname}: {algorithm} runs {runs} only, not {what}")
    choice(backend, "backend", set(_FACTORIES) | {"auto"})
    if backend == "auto":
        be = _instance(_auto(algorithm, family, work, n, steps, batch))
    else:
        be = _instance(backend)
    if not be.supports(algorithm, family):
        others = [n for n in _FACTORIES if n != be.name and _runs(n, algorithm, family)]
        hint = f"; use {' or '.join(repr(o) for o in others)}" if others else ""
        raise UnsupportedError(
            f"backend: {be.name!r} has no {algorithm} kernel for {_FAMILY_WORDS.get(family, repr(family))}{hint}"
        )
    return functools.partial(getattr(be, algorithm), family)


def _cuda_unavailable_reason() -> str:
    """What stops CUDA from running here, in a few words (for the error of ``backend="cuda"``)."""
    try:
        from numba.cuda.cudadrv.driver import driver

        err = driver.initialization_error
    except Exception as exc:  # noqa: BLE001 - numba-cuda missing or broken: say so, whatever it raised
        return f"numba-cuda cannot be imported: {' '.join(str(exc).split())}"
    if err:
        return f"no GPU is visible: {' '.join(str(err).split())}"
    return "no GPU is visible"


class _CudaBackend(KernelBackend):
    """The drivers over ``rnndyn.kernels.cuda``: each kernel call gets ``config.CUDA_THREADS_PER_BLOCK``
    (read at call time) and is refused, naming the limit, when the state is larger than the kernel's
    per-thread arrays hold."""

    def fits(self, algorithm: str, family: str, n: int) -> bool:
        """Whether the kernel's per-thread arrays hold states of size ``n``."""
        from rnndyn.kernels.cuda.common import MAX_N

        limit = MAX_N.get(KERNELS[algorithm, family])
        return limit is None or n <= limit

    def _bptt_workspace(self, words):
        """No host scratch: the CUDA bptt keeps its stored trajectories on the device."""
        return np.empty(0)

    def kernel(self, algorithm: str, family: str):
        import inspect

        from rnndyn.kernels.cuda.common import MAX_N

        fn = super().kernel(algorithm, family)
        limit = MAX_N.get(KERNELS[algorithm, family])
        takes_tpb = "threads_per_block" in inspect.signature(fn).parameters
        takes_block_min_n = "block_min_n" in inspect.signature(fn).parameters

        @functools.wraps(fn)
        def run(*args, **kwargs):
            n = args[0].shape[1]
            if limit is not None and n > limit:
                raise UnsupportedError(f"system: backend 'cuda' runs {algorithm} for states of n ≤ {limit} "
                                       f"(one GPU thread holds a trajectory), got n = {n}; use backend='cpu'")
            if takes_tpb:
                kwargs["threads_per_block"] = int(config.CUDA_THREADS_PER_BLOCK)
            if takes_block_min_n:
                kwargs["block_min_n"] = int(config.CUDA_BPTT_BLOCK_MIN_N)
            return fn(*args, **kwargs)

        return run


def _cuda_backend() -> Backend:
    if not cuda_available():
        raise UnsupportedError(f"backend: 'cuda' needs an NVIDIA GPU and numba-cuda ({_cuda_unavailable_reason()}); "
                               "use 'cpu', or set NUMBA_ENABLE_CUDASIM=1 to run the CUDA kernels in numba's simulator")
    # Cells only: maps and LSTMs run Python rules, which a GPU cannot call.
    return _CudaBackend("cuda", "rnndyn.kernels.cuda",
                        supports={("simulate", "cell"), ("tangent", "cell"), ("lyapunov", "cell"), ("bptt", "cell"),
                                  ("basins", "cell")})


register_backend("cpu", lambda: KernelBackend("cpu", "rnndyn.kernels.cpu"))
register_backend("reference", lambda: KernelBackend("reference", "rnndyn.kernels.numpy", threaded=False))
register_backend("cuda", _cuda_backend)
