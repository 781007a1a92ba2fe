"""The NumPy twins of the kernels: slow, obvious, and the oracle of the tests.

Each function has the same name and the same arguments as its
:mod:`rnndyn.kernels.cpu` (and ``cuda``) counterpart, in a module of the same
name, so tests call both on the same case; this package is also the
``"reference"`` backend. :mod:`~rnndyn.kernels.numpy.cell` holds the cell form
itself (activations, one step, the one-step Jacobian), which the cells' own
``step``/``jacobian`` use. The cell arguments, in order, are those of
:class:`rnndyn.kernels.params.CellParams`: ``alpha, eps, act, gated, M, V, b, Vz, bz``.
"""

from __future__ import annotations

from rnndyn.kernels._lazy import lazy_namespace

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
    "map1d_step": "map1d",
    "bifurcation": "map1d",
    "slow_points_adam": "slow_points",
    "basin_trajectories": "basins",
    "phi": "cell",
    "dphi": "cell",
    "sigmoid": "cell",
    "preactivations": "cell",
    "step": "cell",
    "step_derivative": "cell",
    "jacobian": "cell",
    "spectral_norm": "trajectories",
    "qr_positive": "lyapunov_qr",
    "lyapunov_qr_time": "lyapunov_qr",
    "lyapunov_accumulate": "lyapunov_qr",
}

__all__ = sorted(KERNELS)


__getattr__, __dir__ = lazy_namespace(__name__, KERNELS, globals())
