"""Figures of Grosse, CSC321 Lecture 15, "Exploding and Vanishing Gradients" (University of Toronto),
rebuilt from rnndyn's own computations.

"Why Gradients Explode or Vanish": the 1-D linear RNN (w = 1.1 gives 117.4 after
50 steps, w = 0.9 gives 0.00515) and the tanh cliff. "Iterated Functions": the
compositions of f(x) = 3.5 x (1 − x), the cobweb of x_{t+1} = x_t² + 0.15 with its
sink and source, and the orbit diagram of the logistic family.

:func:`compositions_figure` and :func:`cobweb_figure` draw straight from a map
spec (``"logistic:3.5"``): they compute with :mod:`rnndyn.analysis.orbits1d` and
draw with :mod:`rnndyn.plots.orbits1d`.

References: see :mod:`rnndyn.references`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from rnndyn.analysis import growth, orbits1d
from rnndyn.analysis.gradients import gradient_norms
from rnndyn.figures import compute_backend, register
from rnndyn.plots import growth as plots_growth
from rnndyn.plots.gradients import plot_gradient_norms
from rnndyn.plots.orbits1d import plot_bifurcation, plot_cobweb, plot_compositions

__all__ = [
    "cobweb_figure",
    "compositions_figure",
    "csc321_basins",
    "csc321_cobweb",
    "csc321_iterated_functions",
    "csc321_scalar_gradient",
    "csc321_scalar_products",
    "logistic_bifurcation",
]

CSC321 = "Grosse, CSC321 Lecture 15, 'Iterated Functions'"


def compositions_figure(f, ks=(1, 2, 3, 6), interval=(0.0, 1.0), *, samples: int = 1001, figsize=None) -> Figure:
    """Graphs of ``f``, ``f∘f``, ``f∘f∘f``, … of a map given by its spec, side by side.

    Parameters
    ----------
    f : Map1D or str
        The map (a string goes through :func:`rnndyn.systems.map1d.parse_map`).
    ks, interval, samples
        As in :func:`rnndyn.analysis.orbits1d.compositions`.
    figsize : (float, float), optional
        As in :func:`rnndyn.plots.orbits1d.plot_compositions`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> len(compositions_figure("logistic:3.5", ks=(1, 2), samples=51).axes)
    2
    """
    return plot_compositions(orbits1d.compositions(f, ks, interval, samples), figsize=figsize)


def cobweb_figure(f, x0, steps: int = 30, interval=(0.0, 1.0), *, figsize=None) -> Figure:
    """Cobweb diagram and phase plot of a map given by its spec, for one or several orbits.

    Parameters
    ----------
    f : Map1D or str
        The map.
    x0, steps, interval
        As in :func:`rnndyn.analysis.orbits1d.cobweb_diagram`.
    figsize : (float, float), optional
        As in :func:`rnndyn.plots.orbits1d.plot_cobweb`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> len(cobweb_figure("quadratic:0.15", [0.1, 0.8], steps=20).axes)
    2
    """
    return plot_cobweb(orbits1d.cobweb_diagram(f, x0, steps, interval), figsize=figsize)


# --------------------------------------------------------------------------- "Why Gradients Explode or Vanish"


@register(
    "csc321_scalar_gradient",
    "Grosse, CSC321 Lecture 15, 'Why Gradients Explode or Vanish': the 1-D linear case",
    "‖∂h_T/∂h_t‖ = w^(T−t) for the scalar linear RNN h_t = w h_{t−1}, T = 50, from rnndyn's backprop: "
    "w = 1.1 gives 117.4 at t = 0 (exploding), w = 0.9 gives 0.00515 (vanishing), w = 1 stays at 1",
    command="rnndyn gradients --cell vanilla --activation linear --size 1 --steps 50 --init identity:gain=1.1 "
            "--init identity:gain=0.9",
)
def csc321_scalar_gradient(quick=False):
    r = gradient_norms("vanilla", ["identity:gain=1.1,label=w = 1.1", "identity,label=w = 1",
                                   "identity:gain=0.9,label=w = 0.9"],
                       size=1, steps=50, activation="linear", input_size=0, rng=0, backend=compute_backend(quick))
    return plot_gradient_norms(r, annotate_start=True,
                               title=r"CSC321 L15: 1-D linear RNN, $T$ = 50: $\partial h_T/\partial h_t = w^{T-t}$",
                               figsize=(7.5, 5.0))


@register(
    "csc321_scalar_products",
    "Grosse, CSC321 Lecture 15, 'Why Gradients Explode or Vanish' (univariate encoder; tanh cliffs)",
    "∂h_T/∂h_0 = w^T of a 1-D linear RNN for w = 1.1 (117.4 at T = 50) and w = 0.9 (0.00515), from rd.tangent; "
    "the tanh RNN h_t = tanh(3 h_{t-1} + b): h_T and the loss against b for T = 2, 4, 8, 50 (the cliff)",
)
def csc321_scalar_products(quick=False):
    prods = growth.scalar_products((1.1, 0.9), steps=50, backend=compute_backend(quick))
    cliff = growth.tanh_cliff(np.linspace(-1.6, -0.3, 301 if quick else 4001), param="b",
                             steps=(2, 4, 8, 50), w=3.0, h0=0.5, target=1.0, backend=compute_backend(quick))
    return plots_growth.plot_scalar_products(prods, cliff)


# --------------------------------------------------------------------------- "Iterated Functions"


@register(
    "csc321_iterated_functions",
    CSC321,
    "graphs of f, f∘f, f∘f∘f and f composed 6 times for f(x) = 3.5x(1 − x), each with y = x: "
    "more wiggles with every composition",
    "rnndyn cobweb --map logistic:3.5 --compose 6 --out compositions.png",
)
def csc321_iterated_functions(quick=False):
    return compositions_figure("logistic:3.5", ks=(1, 2, 3, 6), samples=201 if quick else 2001)


@register(
    "csc321_cobweb",
    CSC321,
    "cobweb and phase plot of x_{t+1} = x_t² + 0.15: the sink at 0.184 attracts every orbit started below "
    "the source at 0.816, orbits above it escape",
    "rnndyn cobweb --map quadratic:0.15 --x0 0 --x0 0.5 --x0 0.8 --x0 0.83 --steps 25 "
    "--interval -0.05,1.05 --out cobweb.png",
)
def csc321_cobweb(quick=False):
    return cobweb_figure("quadratic:0.15", [0.0, 0.5, 0.8, 0.83], steps=10 if quick else 25, interval=(-0.05, 1.05))


#: The lecture's map f(x) = 3.5 x (1 − x) ("Iterated Functions"), marked on the orbit diagram.
LECTURE_R = 3.5


@register(
    "logistic_bifurcation",
    f"{CSC321} (bonus: the orbit diagram of the lecture's map family)",
    "orbit diagram of the logistic map x ↦ r x (1 − x) for r in [2.5, 4]: period doubling into chaos; "
    "the dashed line marks r = 3.5, the lecture's f(x) = 3.5x(1 − x), whose orbits settle on an attracting "
    "period-4 cycle (marked)",
)
def logistic_bifurcation(quick=False):
    """The orbit diagram of the logistic family, with the lecture's map r = 3.5 marked.

    The "Iterated Functions" slides of Grosse's CSC321 Lecture 15 compose
    f(x) = 3.5 x (1 − x) with itself; on the orbit diagram that map is the
    vertical line r = 3.5, which crosses the period-4 window: the long-run
    states are the four points of an attracting 4-cycle, found here as the
    period-4 points of f (rnndyn's root finder) and drawn on the line.
    """
    P, keep = (200, 50) if quick else (2400, 300)
    res = orbits1d.bifurcation(np.linspace(2.5, 4.0, P), x0=0.5, transient=1000, keep=keep,
                               backend=compute_backend(quick, "cpu"))
    fig = plot_bifurcation(res)
    ax = fig.axes[0]
    cycle = [p for p in orbits1d.fixed_points(f"logistic:{LECTURE_R:g}", period=4) if p.kind == "sink"]
    ax.axvline(LECTURE_R, color="tab:red", linewidth=0.8, linestyle="--",
               label=f"$r$ = {LECTURE_R:g}: the lecture's $f(x) = {LECTURE_R:g}\\,x\\,(1 - x)$")
    if cycle:
        xs = [p.x for p in cycle]
        ax.plot([LECTURE_R] * len(xs), xs, linestyle="none", marker="o", markersize=6, markerfacecolor="none",
                markeredgecolor="tab:red", markeredgewidth=1.3,
                label=f"its attracting {len(xs)}-cycle: $x$ = " + ", ".join(f"{x:.3f}" for x in sorted(xs)))
    ax.legend(loc="upper left", fontsize="small", framealpha=0.9)
    return fig


# --------------------------------------------------------------------------- attractors and basins

#: The 2-D tanh RNN of :func:`csc321_basins`: h ← tanh(W h), W = 3·R(0.3) (a rotation by 0.3 rad scaled by 3).
BASINS_GAIN, BASINS_ANGLE = 3.0, 0.3


@register(
    "csc321_basins",
    "Grosse, CSC321 Lecture 15, 'Iterated Functions': an RNN as a dynamical system with attractors and basins",
    "h ← tanh(W h) with W = 3·R(0.3 rad), a rotation scaled by 3: four stable fixed points, their basins "
    "(twisted quadrants) and log10 ‖∂h_T/∂h_0‖ after T = 30 steps: the gradient vanishes inside each basin "
    "and blows up along the boundaries",
    command="rnndyn basins --cell vanilla --matrix identity --scale 3 --rotate 0.3 --steps 30 --grid 512",
)
def csc321_basins(quick=False):
    """The lecture's picture of an RNN with several attractors, computed: basins and the gradient field.

    "Within one of the coloured regions the gradients vanish …; on the boundary the gradient blows up"
    (Grosse, CSC321 Lecture 15): a 2-D tanh RNN whose recurrent matrix is a rotation scaled by 3 has four
    stable fixed points; ‖∂h_T/∂h_0‖ is many decades smaller inside the basins than along their edges.
    """
    from rnndyn.analysis.basins import basins
    from rnndyn.plots.basins import plot_basins
    from rnndyn.systems.cells import VanillaRNN

    c, s = np.cos(BASINS_ANGLE), np.sin(BASINS_ANGLE)
    cell = VanillaRNN(BASINS_GAIN * np.array([[c, -s], [s, c]]))
    bas = basins(cell, grid=64 if quick else 512, steps=30, bounds=(-1.5, 1.5), backend=compute_backend(quick))
    return plot_basins(bas, title="CSC321 L15: h ← tanh(3·R(0.3) h), T = 30: gradients vanish inside the basins "
                                  "and blow up on their boundaries")
