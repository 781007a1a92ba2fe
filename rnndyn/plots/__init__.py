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

from rnndyn.plots.chaos import plot_transition_to_chaos
from rnndyn.plots.gradients import draw_gradient_norms, plot_gradient_norms
from rnndyn.plots.growth import (
    plot_activation_gradient,
    plot_fibonacci,
    plot_init_variance,
    plot_matrix_products,
    plot_norm_growth,
    plot_power_heatmaps,
    plot_scalar_products,
)
from rnndyn.plots.lyapunov import (
    plot_jacobian_statistics,
    plot_lyapunov,
    plot_lyapunov_convergence,
    plot_lyapunov_spectra,
    plot_lyapunov_vs_parameter,
)
from rnndyn.plots.orbits1d import plot_bifurcation, plot_cobweb, plot_compositions
from rnndyn.plots.phase import plot_phase
from rnndyn.plots.stability import plot_stability
from rnndyn.plots.train import plot_learning_curves, plot_slow_points

__all__ = [
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
