"""Pictures of 1-D iterated maps (Grosse, CSC321 Lecture 15, "Iterated Functions").

Drawing only: every number comes from :mod:`rnndyn.analysis.orbits1d` (a
:class:`~rnndyn.analysis.orbits1d.Compositions`, a
:class:`~rnndyn.analysis.orbits1d.CobwebDiagram` or a
:class:`~rnndyn.analysis.orbits1d.BifurcationResult`); each function returns a
:class:`matplotlib.figure.Figure` built with the object-oriented API (no pyplot
state, so any backend, including Agg, works; save with ``fig.savefig(path)``).
To draw straight from a map spec such as ``"logistic:3.5"``, use
:func:`rnndyn.figures.csc321.compositions_figure` and
:func:`rnndyn.figures.csc321.cobweb_figure`.
"""

from __future__ import annotations

import ast
import importlib
import warnings

import numpy as np
from matplotlib.figure import Figure

from rnndyn.errors import ArgumentTypeError
from rnndyn.plots._results import require

__all__ = ["plot_bifurcation", "plot_cobweb", "plot_compositions"]

#: What the plots read of each result of :mod:`rnndyn.analysis.orbits1d`.
_COMPOSITIONS = ("formula", "ks", "x", "curves", "interval")
_COBWEB = ("formula", "interval", "x", "graph", "x0", "steps", "orbits", "paths", "fixed_points")
_BIFURCATION = ("params", "orbits", "map", "x0", "transient")

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


# Functions mathtext sets upright as operators; any other name is set upright by \mathrm.
_TEX_FUNCS = {"sin", "cos", "tan", "exp", "log", "tanh", "min", "max"}
_TEX_NAMES = {"pi": r"\pi"}
# Binding strength of each operator, for parentheses.
_PREC = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.Pow: 4}
_UNARY_PREC = 3


def _tex_number(v) -> str:
    s = f"{v:.6g}"
    if "e" in s:
        mant, exp = s.split("e")
        head = "" if mant == "1" else rf"{mant}\times "
        return rf"{head}10^{{{int(exp)}}}"
    return s


def _tex_name(name: str) -> str:
    if name in _TEX_NAMES:
        return _TEX_NAMES[name]
    return name if len(name) == 1 else r"\mathrm{" + name.replace("_", r"\_") + "}"


def _tex(node, var: str) -> tuple[str, int]:
    """``node`` as mathtext, with the binding strength of its outermost operator (5: an atom)."""
    if isinstance(node, ast.Expression):
        return _tex(node.body, var)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return _tex_number(node.value), 5 if node.value >= 0 else _UNARY_PREC
    if isinstance(node, ast.Name):
        return (var if node.id == "x" else _tex_name(node.id)), 5
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        body, prec = _tex(node.operand, var)
        if prec < _UNARY_PREC:
            body = f"({body})"
        return ("-" if isinstance(node.op, ast.USub) else "+") + body, _UNARY_PREC
    if isinstance(node, ast.BinOp) and type(node.op) in _PREC:
        prec = _PREC[type(node.op)]
        left, lp = _tex(node.left, var)
        right, rp = _tex(node.right, var)
        if isinstance(node.op, ast.Div):
            return rf"\frac{{{left}}}{{{right}}}", 5
        if isinstance(node.op, ast.Pow):
            base = left if lp == 5 else f"({left})"
            return f"{base}^{{{right}}}", prec
        if lp < prec:
            left = f"({left})"
        # a - (b + c) and x * (-2) keep their parentheses
        if rp < prec or (rp == prec and isinstance(node.op, ast.Sub)) or right[:1] in "+-":
            right = f"({right})"
        if isinstance(node.op, ast.Mult):
            # juxtaposition, as written by hand (3.5 x (1 - x)); a dot where two numbers would run together
            sep = r"\cdot " if right[:1].isdigit() else r"\,"
            return f"{left}{sep}{right}", prec
        return f"{left} {'+' if isinstance(node.op, ast.Add) else '-'} {right}", prec
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords:
        args = ", ".join(_tex(a, var)[0] for a in node.args)
        name = node.func.id
        if name == "sqrt" and len(node.args) == 1:
            return rf"\sqrt{{{args}}}", 5
        if name == "abs" and len(node.args) == 1:
            return f"|{args}|", 5
        return (rf"\{name}" if name in _TEX_FUNCS else _tex_name(name)) + f"({args})", 5
    raise ValueError(f"no mathtext for {ast.dump(node)[:60]}")


def _formula_label(formula: str, var: str = "x") -> str:
    r"""The formula for a title, as mathtext: ``x**2 + 0.15`` as $x^{2} + 0.15$, ``3.5*x*(1 - x)`` as $3.5\,x\,(1 - x)$.

    ``var`` replaces the variable x (``"x_t"`` for the right side of x_{t+1} = f(x_t)). A formula that is
    not an expression (a map known only by its name) is set upright, its underscores escaped.
    """
    try:
        tex, _ = _tex(ast.parse(str(formula).strip(), mode="eval"), var)
    except (SyntaxError, ValueError, RecursionError):
        tex = r"\mathrm{" + str(formula).replace("\\", "").replace("$", "").replace("_", r"\_") \
            .replace("^", r"\^{}").replace("{", "").replace("}", "") + "}"
    return f"${tex}$"


def _deprecated_spec_call(name: str, f, args, kwargs):
    """Draw from a map or spec with the old signature, through :mod:`rnndyn.figures.csc321`.

    Drawing from a spec means computing first, which this layer never does; the
    figure layer does it. Resolved at run time so that the drawing layer keeps no
    import of the layers above it.
    """
    builder = {"plot_compositions": "compositions_figure", "plot_cobweb": "cobweb_figure"}[name]
    warnings.warn(
        f"{name}(f, ...) with a map or a spec string is deprecated: pass the result of "
        f"rnndyn.analysis.orbits1d.{'compositions' if name == 'plot_compositions' else 'cobweb_diagram'}(f, ...), "
        f"or call rnndyn.figures.csc321.{builder}(f, ...)",
        DeprecationWarning,
        stacklevel=3,
    )
    return getattr(importlib.import_module("rnndyn.figures.csc321"), builder)(f, *args, **kwargs)


def _is_map_spec(f) -> bool:
    return isinstance(f, str) or (callable(f) and hasattr(f, "derivative"))


def plot_compositions(result, *args, figsize=None, **kwargs) -> Figure:
    """Graphs of ``f``, ``f∘f``, ``f∘f∘f``, … side by side, each with ``y = x``.

    CSC321 Lecture 15 draws these for ``f(x) = 3.5 x (1 - x)``: each
    composition has more wiggles, and its crossings of the diagonal are the
    points of period dividing k.

    Parameters
    ----------
    result : Compositions
        From :func:`rnndyn.analysis.orbits1d.compositions`. (Deprecated: a map
        or a spec string with the old arguments ``ks, interval, samples``,
        drawn through :func:`rnndyn.figures.csc321.compositions_figure`.)
    figsize : (float, float), optional
        Figure size in inches; by default 3.2 per panel by 3.6.

    Returns
    -------
    matplotlib.figure.Figure
        ``len(result.ks)`` axes in a row, the interval as both x and y range.

    Examples
    --------
    >>> from rnndyn.analysis.orbits1d import compositions
    >>> fig = plot_compositions(compositions("logistic:3.5"))
    >>> len(fig.axes)
    4
    """
    if _is_map_spec(result):
        return _deprecated_spec_call("plot_compositions", result, args, dict(kwargs, figsize=figsize))
    if args or kwargs:
        raise ArgumentTypeError(
            f"plot_compositions: unexpected arguments {', '.join([repr(a) for a in args] + list(kwargs))}; "
            "ks, interval and samples belong to rnndyn.analysis.orbits1d.compositions"
        )
    require(result, _COMPOSITIONS, "result", "Compositions", "rnndyn.analysis.orbits1d.compositions")
    lo, hi = result.interval
    n = len(result.ks)
    fig = Figure(figsize=figsize or (3.2 * n, 3.6), layout="constrained")
    axes = fig.subplots(1, n, squeeze=False)[0]
    for ax, k, ys in zip(axes, result.ks, result.curves):
        _diagonal(ax, lo, hi)
        ax.plot(result.x, ys, color="tab:blue", linewidth=1.5, label=f"$f^{{\\circ {k}}}$")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal")
        ax.set_title(_composition_title(k))
        ax.set_xlabel("$x$")
        ax.set_ylabel("$y$")
    fig.suptitle(f"Iterated function $f(x) =$ {_formula_label(result.formula)}")
    return fig


def plot_cobweb(diagram, *args, figsize=None, **kwargs) -> Figure:
    """Cobweb diagram and phase plot of one or several orbits.

    Left: the graph of ``f``, the diagonal, the cobweb path of each orbit and the
    fixed points in the interval (sources as open red circles, sinks as filled
    blue ones, neutral ones as grey diamonds). Right: ``x_t`` against ``t``, with
    the fixed points as horizontal lines. CSC321 Lecture 15 draws this for
    ``x_{t+1} = x_t² + 0.15``: orbits below the source at 0.816 fall into the
    sink at 0.184, orbits above it escape.

    Parameters
    ----------
    diagram : CobwebDiagram
        From :func:`rnndyn.analysis.orbits1d.cobweb_diagram`. (Deprecated: a
        map or a spec string with the old arguments ``x0, steps, interval``,
        drawn through :func:`rnndyn.figures.csc321.cobweb_figure`.)
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
    >>> from rnndyn.analysis.orbits1d import cobweb_diagram
    >>> fig = plot_cobweb(cobweb_diagram("quadratic:0.15", [0.1, 0.8], steps=20))
    >>> len(fig.axes)
    2
    """
    if _is_map_spec(diagram):
        return _deprecated_spec_call("plot_cobweb", diagram, args, dict(kwargs, figsize=figsize))
    if args or kwargs:
        raise ArgumentTypeError(
            f"plot_cobweb: unexpected arguments {', '.join([repr(a) for a in args] + list(kwargs))}; "
            "x0, steps and interval belong to rnndyn.analysis.orbits1d.cobweb_diagram"
        )
    d = require(diagram, _COBWEB, "diagram", "CobwebDiagram", "rnndyn.analysis.orbits1d.cobweb_diagram")
    lo, hi = d.interval
    pad = 0.02 * (hi - lo)
    steps = int(d.steps)
    fig = Figure(figsize=figsize or (11, 5), layout="constrained")
    ax, ax_t = fig.subplots(1, 2)

    _diagonal(ax, lo, hi)
    ax.plot(d.x, d.graph, color="black", linewidth=1.8, label="$y = f(x)$")
    ts = np.arange(steps + 1)
    for i, (x, path, orb) in enumerate(zip(d.x0, d.paths, d.orbits)):
        color = _ORBIT_COLORS[i % len(_ORBIT_COLORS)]
        ax.plot(path[:, 0], path[:, 1], color=color, linewidth=1, alpha=0.9)
        ax.plot([x], [x], marker="s", markersize=5, color=color, linestyle="none", label=f"$x_0 = {x:g}$")
        ax_t.plot(ts, orb, marker="o", markersize=3, color=color, linewidth=1, label=f"$x_0 = {x:g}$")
    for kind, style, text in (
        ("sink", _SINK, "sink ($|f'| < 1$)"),
        ("source", _SOURCE, "source ($|f'| > 1$)"),
        ("neutral", _NEUTRAL, "neutral ($|f'| = 1$)"),
    ):
        pts = np.array([p.x for p in d.fixed_points if p.kind == kind])
        if pts.size:
            ax.plot(pts, pts, label=text, **style)
            for p in pts:
                ax_t.axhline(p, color=style["color"], linewidth=1,
                             linestyle="--" if kind == "sink" else ":")
    # an interval reaching the float64 limit has no room for the padding
    big = np.finfo(float).max
    with np.errstate(over="ignore"):
        window = (max(lo - pad, -big), min(hi + pad, big))
    ax.set_xlim(*window)
    ax.set_ylim(*window)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_t$")
    ax.set_ylabel("$x_{t+1}$")
    ax.set_title(f"Cobweb: $x_{{t+1}} =$ {_formula_label(d.formula, var='x_t')}")
    ax.legend(loc="upper left", fontsize="small")

    ax_t.set_xlim(0, max(steps, 1))
    ax_t.set_ylim(*window)
    ax_t.set_xlabel("$t$")
    ax_t.set_ylabel("$x_t$")
    ax_t.set_title("Phase plot (dashed: sinks, dotted: sources)")
    ax_t.legend(loc="best", fontsize="small")
    return fig


def plot_bifurcation(result, *, figsize=None, markersize: float = 0.4, alpha: float = 0.25) -> Figure:
    """Orbit diagram: the long-run states against the parameter, as small dots.

    Parameters
    ----------
    result : rnndyn.analysis.orbits1d.BifurcationResult
        From :func:`rnndyn.analysis.orbits1d.bifurcation`.
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
    >>> from rnndyn.analysis.orbits1d import bifurcation
    >>> fig = plot_bifurcation(bifurcation(np.linspace(2.5, 4.0, 50), keep=20))
    >>> len(fig.axes)
    1
    """
    require(result, _BIFURCATION, "result", "BifurcationResult", "rnndyn.analysis.orbits1d.bifurcation")
    keep = result.orbits.shape[1]
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
