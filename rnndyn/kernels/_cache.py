"""numba's on-disk cache for rnndyn's kernels, invalidated by a change to any kernel source, not only their own.

Why
---
numba keys a cached function on its own source file (its size and content
hash): change that file and the function is compiled again. But a kernel's
machine code also holds every ``@njit`` and ``register_jitable`` helper it
calls, inlined from other files: ``simulate`` in ``trajectories.py`` carries
the block step of ``common.py`` and the tanh of ``vecmath.py``. Change only
those, and numba still loads the old ``simulate`` from its cache, running the
old helpers; a helper moved to another module makes the load fail with an
import error. After a ``git pull`` in a development install (files not
touched keep their times) that means stale results.

Here the stamp numba compares also holds one digest of every ``.py`` file of
:mod:`rnndyn.kernels`, so any change to the kernels' sources recompiles every
cached rnndyn kernel. The cache stays where numba would put it
(``NUMBA_CACHE_DIR``, else the ``__pycache__`` folder beside the source, else
the user-wide folder), for functions defined in rnndyn's own files; other
functions keep numba's own locators. :func:`install` adds the locators; the
CPU kernel package calls it before any kernel module is imported. An explicit
``NUMBA_CACHE_LOCATOR_CLASSES`` still takes precedence.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from numba.core import caching

_KERNELS = Path(__file__).resolve().parent
_PACKAGE = _KERNELS.parent


def sources_digest(root) -> bytes:
    """SHA-256 over the relative path and the content of every ``.py`` file under ``root``, in sorted order.

    Parameters
    ----------
    root : str or Path
        A folder (here: the :mod:`rnndyn.kernels` package).

    Returns
    -------
    bytes
        32 bytes; the same for the same files with the same contents, wherever
        they lie and whatever their modification times.
    """
    root = Path(root)
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.digest()


@functools.cache
def _kernels_digest() -> bytes:
    # Once per process: the sources do not change under a running process in any supported use.
    return sources_digest(_KERNELS)


def _inside_package(py_file) -> bool:
    try:
        return Path(py_file).resolve().is_relative_to(_PACKAGE)
    except (OSError, ValueError):
        return False


class _KernelSourcesStamp:
    """Locator mixin: only functions of rnndyn's files; their stamp also holds the kernels' digest."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if not _inside_package(py_file):
            return None
        return super().from_function(py_func, py_file)

    def get_source_stamp(self):
        return super().get_source_stamp(), _kernels_digest()


def _numba(name):
    # numba 0.59-0.60 name these with a leading underscore; later versions without.
    return getattr(caching, name, None) or getattr(caching, "_" + name, None)


def _locators():
    """numba's (user-provided, in-tree, user-wide) locators, each with the kernels' digest in its stamp;
    () when this numba lacks one of them (then numba's own caching applies unchanged)."""
    bases = [_numba(name) for name in ("UserProvidedCacheLocator", "InTreeCacheLocator", "UserWideCacheLocator")]
    if not all(bases):
        return ()
    return tuple(type(f"{base.__name__.lstrip('_')}ForKernels", (_KernelSourcesStamp, base),
                      {"__module__": __name__, "__doc__": f"numba's {base.__name__} for rnndyn's functions, "
                                                         "stamped with the kernels' digest."})
                 for base in bases)


#: The locators :func:`install` puts ahead of numba's, in numba's order of preference: ``NUMBA_CACHE_DIR``
#: when set, else the ``__pycache__`` folder beside the source when writable, else the user-wide folder.
LOCATORS = _locators()


def install() -> None:
    """Put :data:`LOCATORS` ahead of numba's own locators; idempotent, and a no-op on a numba without them."""
    impl = _numba("CacheImpl")
    classes = getattr(impl, "_locator_classes", None)
    if not LOCATORS or not isinstance(classes, list):
        return
    for cls in reversed(LOCATORS):
        if cls not in classes:
            classes.insert(0, cls)
