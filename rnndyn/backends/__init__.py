"""Backends: where a computation runs, behind one interface.

A backend (:class:`Backend`) says which (algorithm, family) pairs it runs and has
one driver method per algorithm (``simulate``, ``tangent``, ``lyapunov``,
``bptt``). A driver allocates the outputs, normalises the arguments to one
compiled signature, picks the kernel's tuning from :mod:`rnndyn.config`,
launches, and returns plain arrays; the public functions in
:mod:`rnndyn.analysis` validate, :func:`~rnndyn.analysis.trajectories.prepare`
the system, ask :func:`kernel_for` for the driver, and wrap the arrays in result
dataclasses. A new backend (CUDA, say) plugs in with :func:`register_backend`
and changes nothing else.

* :mod:`~rnndyn.backends.registry` — :func:`register_backend`, :func:`get_backend`,
  :func:`available_backends`, :func:`cuda_available` and :func:`kernel_for`, the
  one place that refuses an unsupported (algorithm, family, backend) triple;
* :mod:`~rnndyn.backends.drivers` — :class:`Backend`, :class:`KernelBackend` (the
  drivers over ``rnndyn.kernels.cpu`` and ``rnndyn.kernels.numpy``), the table
  :data:`KERNELS` and :func:`batch_chunk`;
* :mod:`~rnndyn.backends.blas` — the BLAS thread count inside parallel kernels.
"""

from rnndyn.backends.drivers import (
    ALGORITHMS,
    KERNELS,
    Backend,
    KernelBackend,
    batch_chunk,
)
from rnndyn.backends.registry import (
    available_backends,
    cuda_available,
    get_backend,
    kernel_for,
    register_backend,
)

__all__ = [
    "ALGORITHMS",
    "KERNELS",
    "Backend",
    "KernelBackend",
    "available_backends",
    "batch_chunk",
    "cuda_available",
    "get_backend",
    "kernel_for",
    "register_backend",
]
