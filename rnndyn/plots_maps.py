"""Pictures of 1-D iterated maps (Grosse, CSC321 Lecture 15, "Iterated Functions").

Drawing only: every number comes from :mod:`rnndyn.maps`; each function takes data
or a map and returns a :class:`matplotlib.figure.Figure` built with the
object-oriented API (no pyplot state, so any backend, including Agg, works;
save with ``fig.savefig(path)``).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from . import maps
from ._validate import _describe, as_int, as_real_array
from .errors import ArgumentTypeError, ValidationError

__all__ = ["plot_bifurcation", "plot_cobweb", "plot_compositions"]

_SINK = {"marker": "o", "linestyle": "none", "markersize": 9, "color": "tab:blue",
         "markerfacecolor": "tab:blue", "markeredgewidth": 1.5, "zorder": 5}
_SOURCE = {"marker": "o", "linestyle": "none", "markersize": 9, "color": "tab:red",
           "markerfacecolor": "white", "markeredgewidth": 1.5, "zorder": 5}
_NEUTRAL = {"marker": "D", "linestyle": "none", "markersize": 8, "color": "tab:gray",
            "markerfacecolor": "tab:gray", "zorder": 5}
#: Orbit colours, avoiding the blue and red of sinks and sources.
_ORBIT_COLORS = ("tab:orange", "tab:green", "tab:purple", "tab:brown",
                 "tab:pink", "tab:olive", "tab:cyan", "black")
_PARAM_LABEL = {"logistic": "r", "quadratic": "c", "tent": r"$\mu$"}


def _composition_title(k: int) -> str:
    if k == 0:
        return "$y = x$"
    if k <= 3:
        return "$y = " + "f(" * k + "x" + ")" * k + "$"
    return rf"$y = f^{{\circ {k}}}(x)$ ({k}-fold)"


def _diagonal(ax, lo, hi):
    ax.plot([lo, hi], [lo, hi], color="0.5", linestyle="--", linewidth=1, label="$y = x$")


def _map_label(m: maps.Map1D) -> str:
    """The formula for a title: ``x**2`` as ``x^2``, ``*`` as a thin dot."""
    text = m.expr if m.expr else m.name
    return text.replace("**", "^").replace("*", "\u00b7")


def plot_compositions(f, ks=(1, 2, 3, 6), interval=(0.0, 1.0), *, samples: int = 1001, figsize=None) -> Figure:
    """Graphs of ``f``, ``f∘f``, ``f∘f∘f``, … side by side, each with ``y = x``.

    CSC321 Lecture 15 draws these for ``f(x) = 3.5 x (1 - x)``: each composition
    has more wiggles, and its crossings of the diagonal are the points of period
    dividing k.

    Parameters
    ----------
    f : Map1D or str
        The map (a string goes through :func:`rnndyn.maps.parse_map`).
    ks : sequence of int
        Numbers of compositions, one panel each (``k >= 0``).
    interval : (float, float)
        The x range, also used as the y range (a square box).
    samples : int
        Points per curve, ``>= 2``.
    figsize : (float, float), optional
        Figure size in inches; by default 3.2 per panel by 3.6.

    Returns
    -------
    matplotlib.figure.Figure
        ``len(ks)`` axes in a row.

    Examples
    --------
    >>> fig = plot_compositions("logistic:3.5")
    >>> len(fig.axes)
    4
    """
    m = maps.parse_map(f, argname="f")
    if isinstance(ks, (str, bytes)) or not hasattr(ks, "__len__") or len(ks) == 0:
        raise ValidationError(f"ks: expected a non-empty sequence of integers >= 0, got {_describe(ks)}")
    ks = [as_int(k, f"ks[{i}]", minimum=0, maximum=10**4) for i, k in enumerate(ks)]
    lo, hi = maps._check_interval(interval)
    samples = as_int(samples, "samples", minimum=2, maximum=10**7)

    xs = np.linspace(lo, hi, samples)
    n = len(ks)
    fig = Figure(figsize=figsize or (3.2 * n, 3.6), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, k in zip(axes, ks):
        ys = np.asarray(maps.compose(m, k)(xs), dtype=float)
        _diagonal(ax, lo, hi)
        ax.plot(xs, ys, color="tab:blue", linewidth=1.5, label=f"$f^{{\\circ {k}}}$")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal")
        ax.set_title(_composition_title(k))
        ax.set_xlabel("$x$")
        ax.set_ylabel("$y$")
    fig.suptitle(f"Iterated function $f(x) = $ {_map_label(m)}")
    return fig


def plot_cobweb(f, x0, steps: int = 30, interval=(0.0, 1.0), *, figsize=None) -> Figure:
    """Cobweb diagram and phase plot of one or several orbits.

    Left: the graph of ``f``, the diagonal, the cobweb path of each orbit and the
    fixed points in ``interval`` (sources as open red circles, sinks as filled
    blue ones, neutral ones as grey diamonds). Right: ``x_t`` against ``t``, with
    the fixed points as horizontal lines. CSC321 Lecture 15 draws this for
    ``x_{t+1} = x_t² + 0.15``: orbits below the source at 0.816 fall into the
    sink at 0.184, orbits above it escape.

    Parameters
    ----------
    f : Map1D or str
        The map.
    x0 : float or array_like, shape (m,)
        Initial state(s), one cobweb each.
    steps : int
        Steps per orbit, ``>= 0``.
    interval : (float, float)
        The plotted x (and y) range; fixed points are searched in it.
    figsize : (float, float), optional
        Figure size in inches; by default (11, 5).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes: the cobweb (``fig.axes[0]``) and the phase plot
        (``fig.axes[1]``). The fixed-point markers are the lines labelled
        ``"sink ..."``, ``"source ..."`` and ``"neutral ..."``.

    Examples
    --------
    >>> fig = plot_cobweb("quadratic:0.15", [0.1, 0.8], steps=20)
    >>> len(fig.axes)
    2
    """
    m = maps.parse_map(f, argname="f")
    x0s = np.atleast_1d(as_real_array(x0, "x0", ndim=(0, 1)))
    if x0s.size == 0:
        raise ValidationError("x0: expected at least one initial state, got an empty array")
    steps = as_int(steps, "steps", minimum=0)
    lo, hi = maps._check_interval(interval)
    pad = 0.02 * (hi - lo)

    xs = np.linspace(lo, hi, 1001)
    fps = maps.fixed_points(m, (lo, hi))
    fig = Figure(figsize=figsize or (11, 5), layout="constrained")
    ax, ax_t = fig.subplots(1, 2)

    _diagonal(ax, lo, hi)
    ax.plot(xs, np.asarray(m(xs), dtype=float), color="black", linewidth=1.8, label="$y = f(x)$")
    for i, x in enumerate(x0s):
        color = _ORBIT_COLORS[i % len(_ORBIT_COLORS)]
        v = maps.cobweb(m, float(x), steps)
        ax.plot(v[:, 0], v[:, 1], color=color, linewidth=1, alpha=0.9)
        ax.plot([x], [x], marker="s", markersize=5, color=color, linestyle="none",
                label=f"$x_0 = {x:g}$")
        ts = np.arange(steps + 1)
        ax_t.plot(ts, maps.orbit(m, float(x), steps), marker="o", markersize=3,
                  color=color, linewidth=1, label=f"$x_0 = {x:g}$")
    for kind, style, text in (
        ("sink", _SINK, "sink ($|f'| < 1$)"),
        ("source", _SOURCE, "source ($|f'| > 1$)"),
        ("neutral", _NEUTRAL, "neutral ($|f'| = 1$)"),
    ):
        pts = np.array([p.x for p in fps if p.kind == kind])
        if pts.size:
            ax.plot(pts, pts, label=text, **style)
            for p in pts:
                ax_t.axhline(p, color=style["color"], linewidth=1,
                             linestyle="--" if kind == "sink" else ":")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_t$")
    ax.set_ylabel("$x_{t+1}$")
    ax.set_title(f"Cobweb: $x_{{t+1}} = $ {_map_label(m)}")
    ax.legend(loc="upper left", fontsize="small")

    ax_t.set_xlim(0, max(steps, 1))
    ax_t.set_ylim(lo - pad, hi + pad)
    ax_t.set_xlabel("$t$")
    ax_t.set_ylabel("$x_t$")
    ax_t.set_title("Phase plot (dashed: sinks, dotted: sources)")
    ax_t.legend(loc="best", fontsize="small")
    return fig


def plot_bifurcation(result, *, figsize=None, markersize: float = 0.4, alpha: float = 0.25) -> Figure:
    """Orbit diagram: the long-run states against the parameter, as small dots.

    Parameters
    ----------
    result : rnndyn.maps.BifurcationResult
        From :func:`rnndyn.maps.bifurcation`.
    figsize : (float, float), optional
        Figure size in inches; by default (9, 5.5).
    markersize, alpha : float
        Dot size (points) and opacity.

    Returns
    -------
    matplotlib.figure.Figure
        One axes. Non-finite states (escaped orbits) are left out.

    Examples
    --------
    >>> import numpy as np
    >>> from rnndyn.maps import bifurcation
    >>> fig = plot_bifurcation(bifurcation(np.linspace(2.5, 4.0, 50), keep=20))
    >>> len(fig.axes)
    1
    """
    if not isinstance(result, maps.BifurcationResult):
        raise ArgumentTypeError(
            f"result: expected a BifurcationResult from rnndyn.maps.bifurcation, got {_describe(result)}"
        )
    P, keep = result.orbits.shape
    X = np.repeat(result.params, keep)
    Y = result.orbits.ravel()
    ok = np.isfinite(Y)
    fig = Figure(figsize=figsize or (9, 5.5), layout="constrained")
    ax = fig.subplots()
    ax.plot(X[ok], Y[ok], marker=".", linestyle="none", markersize=markersize,
            alpha=alpha, color="black", rasterized=True)
    ax.set_xlim(result.params.min(), result.params.max())
    ax.set_xlabel(_PARAM_LABEL.get(result.map, "parameter"))
    ax.set_ylabel("$x$ (long-run states)")
    ax.set_title(
        f"Orbit diagram of the {result.map} map "
        f"(steps {result.transient}–{result.transient + keep - 1} from $x_0 = {result.x0:g}$)"
    )
    return fig
