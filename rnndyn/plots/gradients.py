"""Pictures of gradients through time (Grosse, CSC321 Lecture 15; Chang et al. 2019).

Drawing only: every number comes from :func:`rnndyn.gradient_norms` (or any
array of norms); each function returns a :class:`matplotlib.figure.Figure`
built with the object-oriented API, so any backend (Agg included) works.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from rnndyn._validate import as_real_array
from rnndyn.errors import ValidationError
from rnndyn.plots._axes import log_yaxis
from rnndyn.plots._results import require

__all__ = ["draw_gradient_norms", "plot_gradient_norms"]

#: What the plots read of a :class:`~rnndyn.analysis.gradients.GradientNorms`.
_FIELDS = ("times", "labels", "norms", "cells", "activations", "size", "steps")


def _fmt(v: float) -> str:
    if not np.isfinite(v):
        return str(v)
    if v == 0:
        return "0"
    if 1 <= abs(v) < 1e4:
        return f"{v:.4g}"
    if 1e-3 <= abs(v) < 1:
        return f"{v:.3g}"
    return f"{v:.2e}"


def draw_gradient_norms(ax, result, *, annotate_start: bool = False, legend: bool = True,
                        title: str | None = None) -> None:
    """Draw ‖∂L/∂h_t‖ against t for every line of ``result`` into the Axes ``ax``.

    The y axis is logarithmic, t runs from 0 (the first state, farthest from the
    loss) to T (where the loss is), so vanishing shows as a curve dropping
    toward the left and exploding as one rising toward the left. Zero or
    non-finite norms are left out of the line (a log axis cannot show them).

    Parameters
    ----------
    ax : matplotlib.axes.Axes
    result : GradientNorms
        From :func:`rnndyn.gradient_norms`.
    annotate_start : bool
        Write each line's value at t = 0 next to its start.
    legend : bool
        Add a legend (labels with the value at t = 0).
    title : str, optional

    See Also
    --------
    plot_gradient_norms : the same as a stand-alone figure.
    """
    require(result, _FIELDS, "result", "GradientNorms", "rd.gradient_norms")
    t = result.times
    T = int(t[-1]) if t.size else 0
    for label, row in zip(result.labels, result.norms):
        shown = np.where(np.isfinite(row) & (row > 0), row, np.nan)
        (line,) = ax.plot(t, shown, linewidth=1.8, label=f"{label}   ({_fmt(row[0])} at t = 0)")
        if annotate_start and np.isfinite(shown[0]):
            rising = row.size > 1 and row[1] > row[0]  # put the label on the side away from the line
            ax.annotate(_fmt(row[0]), xy=(t[0], shown[0]), xytext=(6, -14 if rising else 5),
                        textcoords="offset points", color=line.get_color(), fontsize=10, fontweight="bold")
    log_yaxis(ax, result.norms)
    ax.set_xlim(0, max(T, 1))
    ax.axvline(T, color="0.4", linestyle=":", linewidth=1)
    ax.annotate("loss at t = T", xy=(T, 1.0), xycoords=("data", "axes fraction"), xytext=(-4, -14),
                textcoords="offset points", ha="right", fontsize=9, color="0.3")
    ax.set_xlabel("t  (← toward the first input, far from the loss;  the loss is at t = T)")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$  (log scale)")
    ax.grid(True, which="major", alpha=0.3)
    if title is not None:
        ax.set_title(title)
    if legend:
        ax.legend(fontsize=8, loc="best", framealpha=0.85)


def plot_gradient_norms(result, *, annotate_start: bool = False, title: str | None = None,
                        figsize=None) -> Figure:
    """One figure of ‖∂L/∂h_t‖ over t, one line per initialisation.

    Parameters
    ----------
    result : GradientNorms
        From :func:`rnndyn.gradient_norms`.
    annotate_start : bool
        Write each line's value at t = 0 next to it (the CSC321 numbers 117.4
        and 0.00515 for w = 1.1 and 0.9 over 50 steps).
    title : str, optional
        Default: a description of the cell and sizes.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The backward pass multiplies the upstream gradient by the transposed
    one-step Jacobians, so ‖∂L/∂h_t‖ shrinks or grows geometrically with the
    distance T − t from the loss (Grosse, CSC321 Lecture 15).

    Examples
    --------
    >>> import rnndyn as rd
    >>> from rnndyn.plots.gradients import plot_gradient_norms
    >>> r = rd.gradient_norms("vanilla", ["identity:gain=1.1", "identity:gain=0.9"], size=1, steps=50,
    ...                       activation="linear", input_size=0)
    >>> fig = plot_gradient_norms(r, annotate_start=True)
    >>> fig.axes[0].get_yscale()
    'log'
    """
    require(result, _FIELDS, "result", "GradientNorms", "rd.gradient_norms")
    as_real_array(np.nan_to_num(result.norms, nan=0.0, posinf=0.0, neginf=0.0), "result.norms", ndim=2)
    if result.norms.shape[0] == 0:
        raise ValidationError("result: has no lines to draw")
    fig = Figure(figsize=figsize or (8.0, 5.0), layout="constrained")
    ax = fig.add_subplot()
    if title is None:
        kinds = sorted(set(result.cells))
        acts = sorted(set(result.activations))
        title = (f"Gradient norm through time: {'/'.join(kinds)} cell, {'/'.join(acts)}, "
                 f"n = {result.size}, T = {result.steps}")
    draw_gradient_norms(ax, result, annotate_start=annotate_start, title=title)
    return fig
