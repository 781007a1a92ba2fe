"""Drawing basins of attraction and the gradient field (Grosse, CSC321 Lecture 15).

Drawing only: every number comes from a :class:`rnndyn.analysis.basins.Basins`.
Two panels side by side: the basin of each attractor in its own colour (diverged
points grey, points that did not settle on a period black) with the attractors
marked, and log10 ‖∂h_T/∂h_0‖ with a colour bar, bright along the basin
boundaries and dark inside the basins.

Artists carry a ``gid``: ``"labels"`` (the basin image, its data the labels),
``"log-grad"`` (the gradient image), ``"attractor-<k>"`` (the markers of
attractor k, in the plane's coordinates).
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from rnndyn.plots._results import require

__all__ = ["BASIN_COLORS", "plot_basins"]

_FIELDS = ("labels", "log_grad", "attractors", "u", "v", "axis_names", "steps", "project")

#: Colours of the basins 0, 1, … (qualitative; repeated beyond ten attractors).
BASIN_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink",
                "tab:olive", "tab:cyan", "gold")
_DIVERGED_COLOR = "0.6"
_NOT_CONVERGED_COLOR = "black"


#: The gradient panel's title (mathtext: h_T and h_0 with real subscripts).
_LOG_GRAD = r"$\log_{10}\,\Vert\partial h_T/\partial h_0\Vert$"

def _extent(bas):
    du = (bas.u[-1] - bas.u[0]) / (2 * (len(bas.u) - 1))
    dv = (bas.v[-1] - bas.v[0]) / (2 * (len(bas.v) - 1))
    return (bas.u[0] - du, bas.u[-1] + du, bas.v[0] - dv, bas.v[-1] + dv)


def _point(x) -> str:
    return "(" + ", ".join(f"{v:.3g}".replace("-", "−") for v in x[:4]) + (", …" if len(x) > 4 else "") + ")"


def plot_basins(bas, *, title=None, figsize=None) -> Figure:
    """Basins of attraction and log10 ‖∂h_T/∂h_0‖ side by side.

    Parameters
    ----------
    bas : Basins
        From :func:`rnndyn.basins`.
    title : str, optional
        Figure title (default: the number of attractors and T).
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
        Two panels, the second with a colour bar.

    Examples
    --------
    >>> import numpy as np, rnndyn as rd
    >>> fig = plot_basins(rd.basins(rd.VanillaRNN(2 * np.eye(2)), grid=8, steps=40, backend="reference"))
    >>> fig.axes[0].get_title(), "partial h_T" in fig.axes[1].get_title()
    ('basins of attraction', True)
    """
    require(bas, _FIELDS, "bas", "Basins", "rnndyn.basins")
    fig = Figure(figsize=figsize or (12.0, 5.2), layout="constrained")
    ax_b, ax_g = fig.subplots(1, 2, sharex=True, sharey=True)
    attractors = [a for a in bas.attractors if a.label >= 0]
    K = len(attractors)
    colors = [_NOT_CONVERGED_COLOR, _DIVERGED_COLOR] + [BASIN_COLORS[k % len(BASIN_COLORS)] for k in range(K)]
    cmap = ListedColormap(colors)
    norm = BoundaryNorm(np.arange(-2.5, K + 0.5), cmap.N)
    ext = _extent(bas)
    im = ax_b.imshow(bas.labels, origin="lower", extent=ext, cmap=cmap, norm=norm, interpolation="nearest",
                     aspect="auto")
    im.set_gid("labels")
    handles = []
    for a in attractors:
        c = BASIN_COLORS[a.label % len(BASIN_COLORS)]
        uv = np.asarray(bas.project(a.points)).reshape(-1, 2)
        ax_b.plot(uv[:, 0], uv[:, 1], linestyle="none", marker="*", markersize=13, markerfacecolor="white",
                  markeredgecolor="black", markeredgewidth=1.0, gid=f"attractor-{a.label}")
        where = _point(a.points[0]) if a.period == 1 else f"through {_point(a.points[0])}"
        handles.append(Patch(facecolor=c, label=f"{a.kind} {where}"))
    for a in bas.attractors:
        if a.label < 0:
            c = _DIVERGED_COLOR if a.kind == "diverged" else _NOT_CONVERGED_COLOR
            handles.append(Patch(facecolor=c, label=f"{a.kind} ({a.count} points)"))
    if K:
        handles.append(Line2D([], [], linestyle="none", marker="*", markerfacecolor="white", markeredgecolor="black",
                              markersize=11, label="attractor"))
    fig.legend(handles=handles, loc="outside lower center", ncol=min(3, len(handles)), fontsize="small")
    ax_b.set_title("basins of attraction")
    finite = bas.log_grad[np.isfinite(bas.log_grad)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    gmap = colormaps["magma"].with_extremes(bad=_DIVERGED_COLOR)
    img = ax_g.imshow(np.ma.masked_invalid(bas.log_grad), origin="lower", extent=ext, cmap=gmap, vmin=lo, vmax=hi,
                      interpolation="nearest", aspect="auto")
    img.set_gid("log-grad")
    fig.colorbar(img, ax=ax_g, label=_LOG_GRAD + " (Frobenius)")
    ax_g.set_title(_LOG_GRAD)
    for ax in (ax_b, ax_g):
        ax.set_xlabel(bas.axis_names[0])
        ax.set_xlim(ext[0], ext[1])
        ax.set_ylim(ext[2], ext[3])
    ax_b.set_ylabel(bas.axis_names[1])
    fig.suptitle(title if title is not None else
                 f"{K} attractor{'s' if K != 1 else ''} after T = {bas.steps} steps: the gradient vanishes inside "
                 "a basin and blows up on its boundary")
    return fig
