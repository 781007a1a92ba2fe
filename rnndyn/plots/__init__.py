"""Every drawing function of rnndyn in one namespace: data in, ``matplotlib.figure.Figure`` out.

Plotting never computes and never imports the analyses: each function takes a
result of the library (a :class:`~rnndyn.analysis.phase.PhasePortrait`,
:class:`~rnndyn.analysis.stability.StabilityReport`,
:class:`~rnndyn.analysis.gradients.GradientNorms`,
:class:`~rnndyn.analysis.lyapunov.LyapunovSpectrum`,
:class:`~rnndyn.analysis.orbits1d.CobwebDiagram`, ...), recognises it by the
fields it reads, and draws it. The topic modules (``phase``, ``stability``,
``gradients``, ``lyapunov``, ``growth``, ``orbits1d``) hold the code; this
module gathers them so ``from rnndyn.plots import plot_phase`` works.

>>> import rnndyn as rd
>>> from rnndyn.plots import plot_stability
>>> fig = plot_stability([rd.stability(rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=g)) for g in (0, 0.15)])
>>> len(fig.axes) >= 2
True
"""

import importlib as _importlib
from importlib.util import find_spec as _find_spec

#: Module -> the drawing functions it defines, imported on first use: ``from rnndyn.plots.phase import plot_phase``
#: then loads one module, not every plot (and whatever each of them imports). A new function is one more entry.
_EXPORTS = {
    "rnndyn.plots.basins": ["plot_basins"],
    "rnndyn.plots.chaos": ["plot_transition_to_chaos"],
    "rnndyn.plots.gradients": ["draw_gradient_norms", "plot_gradient_norms"],
    "rnndyn.plots.growth": ["plot_activation_gradient", "plot_fibonacci", "plot_init_variance", "plot_matrix_products",
                            "plot_norm_growth", "plot_power_heatmaps", "plot_scalar_products"],
    "rnndyn.plots.lyapunov": ["plot_jacobian_statistics", "plot_lyapunov", "plot_lyapunov_convergence",
                              "plot_lyapunov_spectra", "plot_lyapunov_vs_parameter"],
    "rnndyn.plots.orbits1d": ["plot_bifurcation", "plot_cobweb", "plot_compositions"],
    "rnndyn.plots.phase": ["plot_phase"],
    "rnndyn.plots.stability": ["plot_stability"],
    "rnndyn.plots.train": ["plot_learning_curves", "plot_slow_points"],
}
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name):
    module = _WHERE.get(name)
    if module is None:
        if not name.startswith("__") and _find_spec(f"{__name__}.{name}") is not None:
            return _importlib.import_module(f"{__name__}.{name}")  # a topic module: rnndyn.plots.growth
        raise AttributeError(f"module 'rnndyn.plots' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module), name)
    globals()[name] = value  # looked up once
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))


__all__ = [
    "plot_basins",
    "draw_gradient_norms",
    "plot_activation_gradient",
    "plot_bifurcation",
    "plot_cobweb",
    "plot_compositions",
    "plot_fibonacci",
    "plot_gradient_norms",
    "plot_init_variance",
    "plot_jacobian_statistics",
    "plot_learning_curves",
    "plot_lyapunov",
    "plot_lyapunov_convergence",
    "plot_lyapunov_spectra",
    "plot_lyapunov_vs_parameter",
    "plot_matrix_products",
    "plot_norm_growth",
    "plot_phase",
    "plot_power_heatmaps",
    "plot_scalar_products",
    "plot_slow_points",
    "plot_stability",
    "plot_transition_to_chaos",
]
