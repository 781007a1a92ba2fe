"""Control of the BLAS thread count seen by numba's ``np.dot``.

numba's ``np.dot`` calls SciPy's OpenBLAS. Inside a ``prange`` loop each numba
thread already owns a core: a multi-threaded BLAS call there oversubscribes the
machine (and OpenBLAS warns that an OpenMP loop "may hang"). Kernels that call
BLAS inside ``prange`` therefore run under ``blas_threads(1)``.

One-off factorisations outside the kernels (the QR of an orthogonal
initialisation, the eigenvalues of a recurrent matrix) run under
:func:`factorisation_threads` instead: OpenBLAS's threads spin while they wait,
so on a machine whose cores are busy a second thread slows a QR of n = 1024
tenfold (0.9 s on one thread, 16 s on two, on a shared 2-core machine), while on
idle cores more threads help. They get the cores the load average leaves idle.

The library is found among the shared objects of the running process (Linux
``/proc/self/maps``); elsewhere, or when no OpenBLAS is found, the context
managers do nothing.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading

_NAMES = [
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
]
_lock = threading.RLock()  # re-entrant: a body that calls a library function using it again must not deadlock


@functools.lru_cache(maxsize=1)
def _controls():
    # Importing the BLAS numba uses makes sure its library is loaded before we look.
    try:
        import scipy.linalg.cython_blas  # noqa: F401
    except Exception:
        return ()
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower() and "/" in line}
    except OSError:
        return ()
    found = []
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _NAMES:
            setter = getattr(lib, set_name, None)
            getter = getattr(lib, get_name, None)
            if setter is not None and getter is not None:
                setter.argtypes = [ctypes.c_int]
                getter.restype = ctypes.c_int
                found.append((setter, getter))
                break
    return tuple(found)


class blas_threads:  # noqa: N801 - a context manager, named and used like a function
    """Run the body with OpenBLAS limited to ``k`` threads, then restore the previous count.

    The count is process-wide, so the body runs under a (re-entrant) lock: a second thread's
    limit waits for the first to restore. Written as a class rather than a generator: it
    wraps every kernel call, where the generator's machinery cost a few microseconds.
    """

    __slots__ = ("k", "before")

    def __init__(self, k: int):
        self.k = k
        self.before = None

    def __enter__(self):
        ctl = _controls()
        if ctl:
            _lock.acquire()
            try:
                self.before = [get() for _, get in ctl]
                for (set_, _), b in zip(ctl, self.before):
                    if b != self.k:
                        set_(self.k)
            except BaseException:
                _lock.release()
                raise
        return self

    def __exit__(self, *exc):
        ctl = _controls()
        if ctl:
            try:
                for (set_, _), b in zip(ctl, self.before):
                    if b != self.k:
                        set_(b)
            finally:
                _lock.release()
        return False


def usable_cores() -> int:
    """The cores this process may run on: its CPU set where the platform has one, else the CPU count."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


def idle_cores() -> int:
    """The cores of this process's CPU set that the 1-minute load average leaves idle, at least 1.

    ``OPENBLAS_NUM_THREADS``, when set, caps the result.
    """
    cores = usable_cores()
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this platform
        busy = 0.0
    idle = max(1, min(cores, int(cores - busy + 0.5)))
    try:
        cap = int(os.environ.get("OPENBLAS_NUM_THREADS", "0"))
    except ValueError:
        cap = 0
    return min(idle, cap) if cap > 0 else idle


def factorisation_threads():
    """Context manager for a one-off LAPACK call (QR, eigenvalues): OpenBLAS on :func:`idle_cores` threads.

    Examples
    --------
    >>> import numpy as np
    >>> with factorisation_threads():
    ...     q, r = np.linalg.qr(np.eye(3))
    """
    return blas_threads(idle_cores())
