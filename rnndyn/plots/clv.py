"""Pictures of covariant Lyapunov vectors and finite-time Lyapunov exponents.

Drawing only: the numbers come from :func:`rnndyn.covariant_lyapunov_vectors`
(a ``CovariantVectors``) and :func:`rnndyn.finite_time_lyapunov` (a
``FiniteTimeLyapunov``), recognised by their fields; each function returns a
:class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from rnndyn.plots._results import require
from rnndyn.plots.lyapunov import _colors

__all__ = ["plot_clv", "plot_finite_time_lyapunov"]

_CLV_FIELDS = ("angles", "growth", "exponents", "transient", "split")
_FTLE_FIELDS = ("exponents", "window")

#: Most growth-rate curves and FTLE histograms drawn (evenly spread over the vectors).
MAX_CURVES = 6


def _first(a, trailing):
    """The first trajectory of a batched array whose own axes are the last ``trailing``."""
    a = np.asarray(a)
    return a.reshape((-1,) + a.shape[a.ndim - trailing:])[0] if a.ndim > trailing else a


def _which(k, most=MAX_CURVES):
    return sorted(set(np.linspace(0, k - 1, min(k, most)).round().astype(int).tolist()))


def draw_angle_histogram(ax, angles, split, bins=60):
    """Histogram of the unstable/stable angles on a log axis (near-tangencies are the small ones)."""
    a = np.asarray(angles, dtype=float)
    a = a[np.isfinite(a) & (a > 0)]
    if a.size == 0:
        ax.text(0.5, 0.5, "no angle: the unstable or the stable subspace is empty", ha="center", va="center",
                transform=ax.transAxes, fontsize=9)
    else:
        lo = max(a.min(), 1e-16)
        edges = np.geomspace(lo, max(np.pi / 2, lo * 10), bins + 1)
        ax.hist(a, bins=edges, color="tab:blue", alpha=0.8)
        ax.set_xscale("log")
        ax.axvline(0.1, color="0.4", linestyle="--", linewidth=0.8)
    unstable = "v_1" if split == 1 else f"v_1..v_{split}"
    ax.set_xlabel(f"angle between span({unstable}) and the other vectors (rad)" if split > 0 else "angle (rad)")
    ax.set_ylabel("sampled times")
    ax.set_title("unstable/stable angle")


def draw_growth_rates(ax, growth, exponents, transient=0):
    """Local growth rates log ‖J_t v_i‖ against t for a few vectors, their means dashed."""
    g = np.asarray(growth, dtype=float)
    steps, k = g.shape
    t = transient + 1 + np.arange(steps)
    # a long run is a solid band step by step: its moving average over ~1/200 of the run is drawn on top
    w = max(1, steps // 200)
    for i, c in zip(_which(k), _colors(len(_which(k)))):
        ax.plot(t, g[:, i], color=c, linewidth=0.5, alpha=0.25 if w > 1 else 0.8)
        if w > 1:
            avg = np.convolve(g[:, i], np.ones(w) / w, mode="valid")
            ax.plot(t[w - 1:], avg, color=c, linewidth=1.2, label=f"v_{i + 1}")
        else:
            ax.lines[-1].set_label(f"v_{i + 1}")
        ax.axhline(exponents[i], color=c, linestyle="--", linewidth=0.9)
    ax.set_xlabel("step t")
    ax.set_ylabel("log growth per step")
    ax.set_title("local growth rates" + (f" (solid: mean over {w} steps)" if w > 1 else "") + "; dashed: exponents")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(True, alpha=0.3)


def draw_ftle_histograms(ax, exponents, window, bins=80):
    """Histograms of the finite-time exponents of a few vectors, their means as vertical lines."""
    e = np.asarray(exponents, dtype=float)
    k = e.shape[1]
    shown = e[:, _which(k)]
    shown = shown[np.isfinite(shown)]
    if shown.size == 0:
        edges = bins
    else:  # one set of bins for all: widths comparable between the exponents
        lo, hi = shown.min(), shown.max()
        edges = np.linspace(lo, hi if hi > lo else lo + 1.0, bins + 1)
    for i, c in zip(_which(k), _colors(len(_which(k)))):
        col = e[:, i][np.isfinite(e[:, i])]
        if col.size == 0:
            continue
        ax.hist(col, bins=edges, histtype="stepfilled", alpha=0.35, color=c, label=f"λ_{i + 1}(τ)")
        ax.axvline(col.mean(), color=c, linewidth=1.0)
    ax.axvline(0.0, color="0.4", linestyle="--", linewidth=0.8)
    ax.set_xlabel(f"finite-time exponent, τ = {window} steps (per step)")
    ax.set_ylabel("windows")
    ax.set_title("finite-time Lyapunov exponents")
    ax.legend(fontsize=7)


def plot_clv(clv, ftle=None, title=None):
    """The angle distribution and the local growth rates of a CLV result (and FTLE histograms).

    Parameters
    ----------
    clv : CovariantVectors
        From :func:`rnndyn.covariant_lyapunov_vectors` (first trajectory of a batch).
    ftle : FiniteTimeLyapunov, optional
        From :func:`rnndyn.finite_time_lyapunov`: a third panel of its histograms.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Axes: angle histogram, growth rates over time (, FTLE histograms).
    """
    require(clv, _CLV_FIELDS, "clv", "CovariantVectors", "rd.covariant_lyapunov_vectors")
    if ftle is not None:
        require(ftle, _FTLE_FIELDS, "ftle", "FiniteTimeLyapunov", "rd.finite_time_lyapunov")
    panels = 3 if ftle is not None else 2
    fig = Figure(figsize=(5.0 * panels, 4.0), layout="constrained")
    axes = fig.subplots(1, panels)
    split = clv.split if np.ndim(clv.split) == 0 else np.ravel(clv.split)[0]
    draw_angle_histogram(axes[0], _first(clv.angles, 1), int(split))
    draw_growth_rates(axes[1], _first(clv.growth, 2), _first(clv.exponents, 1), clv.transient)
    if ftle is not None:
        draw_ftle_histograms(axes[2], _first(ftle.exponents, 2), ftle.window)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def plot_finite_time_lyapunov(ftle, title=None, ax=None):
    """Histograms of finite-time Lyapunov exponents (a few exponents, evenly spread over the spectrum).

    Parameters
    ----------
    ftle : FiniteTimeLyapunov
        From :func:`rnndyn.finite_time_lyapunov` (first trajectory of a batch).
    title : str, optional
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    require(ftle, _FTLE_FIELDS, "ftle", "FiniteTimeLyapunov", "rd.finite_time_lyapunov")
    if ax is None:
        fig = Figure(figsize=(6.0, 4.2), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    draw_ftle_histograms(ax, _first(ftle.exponents, 2), ftle.window)
    if title:
        ax.set_title(title)
    return fig
