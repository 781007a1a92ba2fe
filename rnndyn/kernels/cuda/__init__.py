"""The CUDA kernels (numba ``@cuda.jit``), one module per algorithm, twins of :mod:`rnndyn.kernels.cpu`.

``trajectories`` (simulate, tangent), ``lyapunov_qr`` (lyapunov), ``gradients``
(bptt); ``common`` holds the device functions they share (one trajectory's cell
step, norms, the Householder QR). Each host function has the signature of its
CPU twin, copies its inputs to the device, launches, and fills the output arrays
it was given; the CPU kernels' tuning arguments are accepted and ignored, and a
keyword ``threads_per_block`` sets the launch geometry. Only cells have CUDA
kernels (maps run Python rules, which a GPU cannot call).

Importing this package imports nothing from numba.cuda: each module is imported
on first use of one of its kernels (``rnndyn.kernels.cuda.simulate``), so
``import rnndyn`` never needs CUDA. The kernels run on an NVIDIA GPU, or in
numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) where the tests run them.
"""

from __future__ import annotations

from rnndyn.kernels._lazy import lazy_namespace

#: Kernel name -> the module of this package that defines it.
KERNELS = {
    "simulate": "trajectories",
    "tangent": "trajectories",
    "lyapunov": "lyapunov_qr",
    "bptt": "gradients",
    "basin_trajectories": "basins",
}

__all__ = sorted(KERNELS)


__getattr__, __dir__ = lazy_namespace(__name__, KERNELS, globals())
