"""The transition to chaos of random networks, drawn from a sweep of Lyapunov spectra.

Drawing only: the numbers come from :func:`rnndyn.analysis.chaos.transition_to_chaos`
(a :class:`~rnndyn.analysis.chaos.ChaosSweep`, recognised by its fields).
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure

from rnndyn._validate import _describe
from rnndyn.errors import ValidationError
from rnndyn.plots._results import require

__all__ = ["plot_transition_to_chaos"]

#: What the plot reads of a sweep.
_FIELDS = ("sizes", "gains", "spectra", "max_exponent", "kaplan_yorke", "kaplan_yorke_bounded", "mean_field",
           "zero_state", "critical_gain", "label")

_WHAT = "ChaosSweep"
_SOURCE = "rnndyn.analysis.chaos.transition_to_chaos"


def _size_colors(m: int) -> list:
    return [tuple(c) for c in colormaps["viridis"](np.linspace(0.0, 0.85, m))]


def _mean_sd(a):
    """Mean and standard deviation over the seeds (last axis); the deviation is 0 for one seed."""
    return a.mean(axis=-1), (a.std(axis=-1, ddof=1) if a.shape[-1] > 1 else np.zeros(a.shape[:-1]))


def _zero_line(ax):
    ax.axhline(0.0, color="0.4", linewidth=0.8, linestyle="--")


def _draw_gain_curves(ax, sw, values, ylabel, colors):
    for s, (n, c) in enumerate(zip(sw.sizes, colors)):
        m, sd = _mean_sd(values[s])
        ax.plot(sw.gains, m, color=c, marker="o", markersize=3.5, linewidth=1.3, label=f"N = {n}")
        if np.any(sd > 0):  # the spread over the seeds
            ax.errorbar(sw.gains, m, yerr=sd, color=c, fmt="none", capsize=2, linewidth=1.0)
    ax.set_xlabel("gain $g$")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)


def _nearest(values, target):
    return int(np.argmin(np.abs(np.asarray(values, dtype=float) - target)))


def plot_transition_to_chaos(sweep, others=(), mean_field=None, collapse_gains=(2.0,), title=None):
    """Four panels: λ_max against g per N with the mean field, spectra against i/N, D_KY/N against g, other cells.

    Parameters
    ----------
    sweep : ChaosSweep
        Vanilla tanh networks over sizes and gains.
    others : sequence of ChaosSweep, optional
        Sweeps of other cells (antisymmetric cells at a few γ, say) drawn on the
        fourth panel, λ_max of their largest size against g, with their
        zero-state prediction (dotted) and critical gain (tick on the axis), beside
        the vanilla networks of the same size. No fourth panel when empty.
    mean_field : (array_like, array_like), optional
        (gains, λ) of the mean-field curve; default: ``sweep.mean_field`` at the
        sweep's gains.
    collapse_gains : sequence of float
        Gains (the nearest of the sweep's) whose spectra are drawn against i/N.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    sw = require(sweep, _FIELDS, "sweep", _WHAT, _SOURCE)
    if isinstance(others, (str, bytes)) or not hasattr(others, "__iter__"):
        raise ValidationError(f"others: expected a sequence of ChaosSweep, got {_describe(others)}")
    others = [require(o, _FIELDS, f"others[{i}]", _WHAT, _SOURCE) for i, o in enumerate(others)]
    colors = _size_colors(len(sw.sizes))
    fig = Figure(figsize=(12.0, 8.6) if others else (16.0, 4.6), layout="constrained")
    axes = fig.subplots(2, 2).ravel() if others else fig.subplots(1, 3)

    # λ_max against g
    ax = axes[0]
    _draw_gain_curves(ax, sw, sw.max_exponent, r"$\lambda_{\max}$  (per step)", colors)
    if mean_field is not None:
        mg, ml = (np.asarray(v, dtype=float) for v in mean_field)
    elif sw.mean_field is not None:
        mg, ml = np.asarray(sw.gains, dtype=float), np.asarray(sw.mean_field, dtype=float)
    else:
        mg = ml = None
    if mg is not None:
        ax.plot(mg, ml, color="black", linewidth=1.4, linestyle="--", zorder=4,
                label=r"mean field $\frac{1}{2}\log(g^2\,\mathrm{E}[\phi'(\sqrt{q^*}z)^2])$")
    _zero_line(ax)
    ax.axvline(sw.critical_gain, color="0.5", linewidth=0.8, linestyle=":")
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(f"largest exponent (zero state unstable from $g$ = {sw.critical_gain:.3g})")

    # spectra against i/N
    ax = axes[1]
    styles = ("-", "--", "-.", ":")
    picked = list(dict.fromkeys(_nearest(sw.gains, gval) for gval in collapse_gains))  # each sweep gain once
    for gi, j in enumerate(picked):
        for s, (n, c) in enumerate(zip(sw.sizes, colors)):
            spec = sw.spectra[s][j].mean(axis=0)
            x = np.arange(1, spec.size + 1) / n
            ax.plot(x, spec, color=c, linestyle=styles[gi % len(styles)], linewidth=1.3,
                    label=f"N = {n}, g = {sw.gains[j]:g}" if len(picked) > 1 else f"N = {n}")
    _zero_line(ax)
    ax.set_xlabel("$i / N$")
    ax.set_ylabel(r"$\lambda_i$  (per step)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, ncol=2 if len(picked) > 1 else 1)
    gains_text = ", ".join(f"{sw.gains[j]:g}" for j in picked)
    ax.set_title(f"spectra against $i/N$ (g = {gains_text}): one curve for every N")

    # D_KY / N against g
    ax = axes[2]
    density = sw.kaplan_yorke / np.asarray(sw.sizes, dtype=float)[:, None, None]
    _draw_gain_curves(ax, sw, density, "$D_{KY} / N$", colors)
    bounded = np.asarray(sw.kaplan_yorke_bounded).any(axis=-1)
    if bounded.any():
        s_idx, j_idx = np.nonzero(bounded)
        ax.plot(np.asarray(sw.gains)[j_idx], density.mean(axis=-1)[s_idx, j_idx], linestyle="none", marker="^",
                markersize=7, markerfacecolor="none", color="tab:red", label="lower bound (too few exponents)")
    ax.axvline(sw.critical_gain, color="0.5", linewidth=0.8, linestyle=":")
    ax.legend(fontsize=8)
    ax.set_title("Kaplan–Yorke dimension per unit")

    if others:
        ax = axes[3]
        sizes = [int(n) for n in sw.sizes]
        s_ref = sizes.index(int(others[0].sizes[-1])) if int(others[0].sizes[-1]) in sizes else len(sizes) - 1
        m, _ = _mean_sd(sw.max_exponent[s_ref])
        ax.plot(sw.gains, m, color="0.45", marker="o", markersize=3.5, linewidth=1.3,
                label=f"{sw.label}, N = {sizes[s_ref]} (leaves the panel)")
        shown = [0.0]
        pal = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")
        for o, c in zip(others, pal * (len(others) // len(pal) + 1)):
            m, _ = _mean_sd(o.max_exponent[-1])
            shown.extend(m[np.isfinite(m)])
            ax.plot(o.gains, m, color=c, marker="s", markersize=3.5, linewidth=1.3,
                    label=f"{o.label}, N = {int(o.sizes[-1])}")
            # the zero state's exponent is the network's only while it attracts (g up to the critical gain)
            gz, lz = np.asarray(o.gains, dtype=float), np.asarray(o.zero_state, dtype=float)
            keep = lz <= 0.0
            gc = float(o.critical_gain)
            inside = np.isfinite(gc) and gz.min() <= gc <= gz.max()
            if inside:
                gz, lz = np.append(gz[keep], gc), np.append(lz[keep], 0.0)
            else:
                gz, lz = gz[keep], lz[keep]
            if gz.size:
                ax.plot(gz, lz, color=c, linestyle=":", linewidth=1.4)
                shown.extend(lz)
            if inside:
                ax.plot([gc], [0.0], marker="|", markersize=14, markeredgewidth=2, color=c, linestyle="none")
        ax.plot([], [], color="0.3", linestyle=":", label="zero state, random-matrix theory")
        ax.plot([], [], color="0.3", marker="|", markersize=10, markeredgewidth=2, linestyle="none",
                label="critical gain")
        _zero_line(ax)
        # the other cells' range, not the vanilla network's: their exponents stay within a few hundredths of 0
        lo, hi = min(shown), max(shown)
        pad = 0.25 * (hi - lo) + 1e-3
        ax.set_ylim(lo - 1.5 * pad, hi + pad)
        ax.set_xlabel("gain $g$")
        ax.set_ylabel(r"$\lambda_{\max}$  (per step)")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7.5, loc="lower right")
        ax.set_title("antisymmetric cells stay near $\\lambda = 0$")
    if title:
        fig.suptitle(title)
    return fig
