"""Figures of iterated 1-D maps: CSC321 Lecture 15, 'Iterated Functions'."""

from __future__ import annotations

import numpy as np

from rnndyn.analysis import orbits1d
from rnndyn.plots import orbits1d as plots_maps
from rnndyn.figures import register

CSC321 = "Grosse, CSC321 Lecture 15, 'Iterated Functions'"


@register(
    "csc321_iterated_functions",
    CSC321,
    "graphs of f, f∘f, f∘f∘f and f composed 6 times for f(x) = 3.5x(1 − x), each with y = x: "
    "more wiggles with every composition",
    "rnndyn cobweb --map logistic:3.5 --compose 6 --out compositions.png",
)
def csc321_iterated_functions(quick=False):
    return plots_maps.plot_compositions("logistic:3.5", ks=(1, 2, 3, 6), samples=201 if quick else 2001)


@register(
    "csc321_cobweb",
    CSC321,
    "cobweb and phase plot of x_{t+1} = x_t² + 0.15: the sink at 0.184 attracts every orbit started below "
    "the source at 0.816, orbits above it escape",
    "rnndyn cobweb --map quadratic:0.15 --x0 0 --x0 0.5 --x0 0.8 --x0 0.83 --steps 25 "
    "--interval -0.05,1.05 --out cobweb.png",
)
def csc321_cobweb(quick=False):
    return plots_maps.plot_cobweb("quadratic:0.15", [0.0, 0.5, 0.8, 0.83], steps=10 if quick else 25,
                                  interval=(-0.05, 1.05))


@register(
    "logistic_bifurcation",
    f"{CSC321} (bonus: the orbit diagram of the lecture's map family)",
    "orbit diagram of the logistic map x ↦ r x (1 − x) for r in [2.5, 4]: period doubling into chaos; "
    "r = 3.5 (the lecture's f) sits on the period-4 cycle",
)
def logistic_bifurcation(quick=False):
    P, keep = (200, 50) if quick else (2400, 300)
    res = orbits1d.bifurcation(np.linspace(2.5, 4.0, P), x0=0.5, transient=1000, keep=keep)
    fig = plots_maps.plot_bifurcation(res)
    fig.axes[0].axvline(3.5, color="tab:red", linewidth=0.8, linestyle="--")
    return fig
