"""The CPU kernels (numba ``@njit``), one module per algorithm.

``trajectories`` (simulate, tangent), ``gradients`` (bptt), ``lyapunov_qr`` (lyapunov),
``maps`` (general maps through compiled rule/Jacobian callbacks), ``lstm``,
``map1d`` (scalar maps); ``common`` holds the helpers several of them inline, ``tiles`` and
``intrinsics`` the code they emit as LLVM IR (register-tiled products; opaque constants, a fixed FMA).
Every kernel has a NumPy twin of the same name in :mod:`rnndyn.kernels.numpy`
(the test oracle), and a CUDA twin of the same name in ``rnndyn.kernels.cuda``
where one exists. The package exposes every kernel by name
(``rnndyn.kernels.cpu.simulate``), importing its module on first use.
"""

from __future__ import annotations

from rnndyn.kernels._cache import install as _install_cache_locators
from rnndyn.kernels._lazy import lazy_namespace

# Before any kernel module is imported: numba picks a function's cache locator when cache=True is applied.
_install_cache_locators()

#: Kernel name -> the module of this package that defines it.
KERNELS = {
    "simulate": "trajectories",
    "tangent": "trajectories",
    "bptt": "gradients",
    "lyapunov": "lyapunov_qr",
    "map_simulate": "maps",
    "map_tangent": "maps",
    "map_lyapunov": "maps",
    "clv_forward": "clv",
    "map_clv_forward": "clv",
    "clv_backward": "clv",
    "lstm_step": "lstm",
    "lstm_jacobian": "lstm",
    "lstm_rule": "lstm",
    "lstm_jac": "lstm",
    "map1d_step": "map1d",
    "bifurcation": "map1d",
    "slow_points_adam": "slow_points",
    "basin_trajectories": "basins",
}

__all__ = sorted(KERNELS)


__getattr__, __dir__ = lazy_namespace(__name__, KERNELS, globals())
