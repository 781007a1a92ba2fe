"""Control of the BLAS thread count seen by numba's ``np.dot``.

numba's ``np.dot`` calls SciPy's OpenBLAS. Inside a ``prange`` loop each numba
thread already owns a core: a multi-threaded BLAS call there oversubscribes the
machine (and OpenBLAS warns that an OpenMP loop "may hang"). Kernels that call
BLAS inside ``prange`` therefore run under ``blas_threads(1)``.

The library is found among the shared objects of the running process (Linux
``/proc/self/maps``); elsewhere, or when no OpenBLAS is found, the context
manager does nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import threading

_NAMES = [
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
]
_lock = threading.Lock()


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


@contextlib.contextmanager
def blas_threads(k: int):
    """Run the body with OpenBLAS limited to ``k`` threads, then restore the previous count."""
    ctl = _controls()
    if not ctl:
        yield
        return
    with _lock:
        before = [get() for _, get in ctl]
        for set_, _ in ctl:
            set_(k)
        try:
            yield
        finally:
            for (set_, _), b in zip(ctl, before):
                set_(b)
