"""Pictures of parameter sweeps: a measure over one axis (seed mean and band) or over two (a heatmap).

Drawing only: the numbers come from :func:`rnndyn.sweep` (a
:class:`~rnndyn.analysis.sweep.SweepResult`, read through its ``pivot``) and
the overlays from :func:`rnndyn.analysis.sweep.stability_overlay`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from rnndyn.errors import ValidationError
from rnndyn.plots._results import require

__all__ = ["draw_sweep_heatmap", "plot_sweep"]

_LABELS = {"eps": "step ε", "gamma": "diffusion γ", "size": "size n", "cell": "cell", "init": "init",
           "activation": "activation"}
_MEASURE_LABELS = {
    "lyapunov_max": r"$\lambda_{\max}$ (per step)",
    "lyapunov_sum": r"$\Sigma\lambda$ (per step)",
    "jacobian_sv": r"$\log_{10}\,\sigma_{\min}/\sigma_{\max}$ of $\partial h_T/\partial h_0$",
    "grad_ratio": r"$\log_{10}\,\|\partial L/\partial h_0\| \,/\, \|\partial L/\partial h_T\|$",
    "euler_factor": "max |1 + ελ|",
    "spectral_radius": "spectral radius of J at 0",
    "critical_gamma": "critical γ",
    "diverged_at": "diverged at step",
}
#: Measures whose neutral value is 0 (a diverging colour map centred there) or 1.
_CENTRE = {"lyapunov_max": 0.0, "lyapunov_sum": 0.0, "jacobian_sv": None, "grad_ratio": 0.0, "euler_factor": 1.0,
           "spectral_radius": 1.0}


def _label(measure: str) -> str:
    if measure.startswith("lyapunov_top_"):
        return rf"$\lambda_{{{measure.rsplit('_', 1)[1]}}}$ (per step)"
    return _MEASURE_LABELS.get(measure, measure)


def _numeric(values) -> bool:
    return all(isinstance(v, (int, float, np.integer, np.floating)) for v in values)


def _log_spaced(v) -> bool:
    """Whether the values are evenly spaced in log (an axis written log:start:stop:num)."""
    v = np.asarray(v, float)
    return len(v) > 2 and bool(v[0] > 0) and bool(np.allclose(np.diff(np.log(v)), np.log(v[1] / v[0])))


def _edges(v, log: bool) -> np.ndarray:
    """Cell edges around the centres ``v``: midpoints, geometric ones on a log axis (so cells look equal there)."""
    v = np.asarray(v, float)
    if len(v) == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5]) if not log else np.array([v[0] / 1.5, v[0] * 1.5])
    w = np.log(v) if log else v
    e = np.concatenate([[w[0] - (w[1] - w[0]) / 2], (w[:-1] + w[1:]) / 2, [w[-1] + (w[-1] - w[-2]) / 2]])
    return np.exp(e) if log else e


def draw_sweep_heatmap(ax, xs, ys, values, measure: str, x: str, y: str, overlay=None):
    """Draw ``values`` (len(ys), len(xs)) on ``ax`` as a heatmap with the stability overlays; returns the mesh."""
    from matplotlib.colors import TwoSlopeNorm

    finite = values[np.isfinite(values)]
    centre = _CENTRE.get(measure.split("_top_")[0] if measure.startswith("lyapunov_top_") else measure)
    if measure.startswith("lyapunov_top_"):
        centre = 0.0
    norm, cmap = None, "viridis"
    if centre is not None and finite.size and finite.min() < centre < finite.max():
        norm, cmap = TwoSlopeNorm(vcenter=centre, vmin=finite.min(), vmax=finite.max()), "RdBu_r"
    xnum, ynum = _numeric(xs), _numeric(ys)
    X = np.asarray(xs, float) if xnum else np.arange(len(xs))
    Y = np.asarray(ys, float) if ynum else np.arange(len(ys))
    xlog, ylog = _log_spaced(X) and xnum, _log_spaced(Y) and ynum
    mesh = ax.pcolormesh(_edges(X, xlog), _edges(Y, ylog), np.ma.masked_invalid(values), shading="flat", cmap=cmap,
                         norm=norm)
    if not xnum:
        ax.set_xticks(X, [str(v) for v in xs])
    if not ynum:
        ax.set_yticks(Y, [str(v) for v in ys])
    if xlog:
        ax.set_xscale("log")
    if ylog:
        ax.set_yscale("log")
    if overlay:
        ef = overlay.get("euler_factor")
        if ef is not None and np.isfinite(ef).any() and np.nanmin(ef) < 1 < np.nanmax(ef):
            ax.contour(X, Y, ef, levels=[1.0], colors="black", linewidths=1.5, linestyles="--")
            ax.plot([], [], "k--", label="max|1 + ελ| = 1 (forward-Euler boundary)")
        cg = overlay.get("critical_gamma")
        if cg is not None and np.isfinite(cg).any():
            eps = np.asarray(overlay["eps"], float)
            ex, gy = (eps, cg) if x == "eps" else (cg, eps)
            ax.plot(ex, gy, color="gold", lw=2, marker="o", ms=3, label="critical γ(ε) (seed mean)")
            lo, hi = (Y.min(), Y.max()) if x == "eps" else (X.min(), X.max())
            if x == "eps":
                ax.set_ylim(lo, hi)
            else:
                ax.set_xlim(lo, hi)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="upper left", fontsize=8, framealpha=0.85)
    ax.set_xlabel(_LABELS.get(x, x))
    ax.set_ylabel(_LABELS.get(y, y))
    return mesh


def plot_sweep(result, measure: str | None = None, x: str | None = None, y: str | None = None, overlay=None,
               title: str | None = None) -> Figure:
    """A measure of a sweep over one axis (seed mean with a min–max band) or two (heatmap of the seed mean).

    Parameters
    ----------
    result : SweepResult
        From :func:`rnndyn.sweep`.
    measure : str, optional
        A value column; default the first.
    x, y : str, optional
        The axes; default the axes that vary (one: lines, two: heatmap). With a
        third varying axis, its values become separate lines (one axis plotted)
        or are refused (two axes).
    overlay : dict, optional
        :func:`rnndyn.analysis.sweep.stability_overlay` of the same result:
        the forward-Euler boundary max|1 + ελ| = 1 (dashed contour) and the
        critical γ(ε) curve on an (ε, γ) heatmap.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    require(result, ("columns", "value_columns", "varying", "pivot"), "result", "a SweepResult",
            "rnndyn.sweep")
    measure = measure or result.value_columns[0]
    if measure not in result.value_columns:
        raise ValidationError(f"measure: expected one of {', '.join(result.value_columns)}, got {measure!r}")
    varying = list(result.varying)
    if x is None:
        x = varying[0] if varying else "gamma"
        if y is None and len(varying) >= 2:
            x, y = varying[0], varying[1]
            if {x, y} == {"eps", "gamma"}:
                x, y = "eps", "gamma"
    fig = Figure(figsize=(6.4, 4.8) if y is None else (7.0, 5.2), layout="constrained")
    ax = fig.add_subplot()
    if y is not None:
        xs, ys, vals = result.pivot(measure, x, y)
        mesh = draw_sweep_heatmap(ax, xs.tolist(), ys.tolist(), vals, measure, x, y, overlay)
        fig.colorbar(mesh, ax=ax, label=f"{_label(measure)}, mean over seeds")
    else:
        xs, _, mean = result.pivot(measure, x)
        _, _, lo = result.pivot(measure, x, stat="min")
        _, _, hi = result.pivot(measure, x, stat="max")
        X = np.asarray(xs, float) if _numeric(xs.tolist()) else np.arange(len(xs))
        ax.plot(X, mean, marker="o", label="mean over seeds")
        ax.fill_between(X, lo, hi, alpha=0.25, label="min–max over seeds")
        if not _numeric(xs.tolist()):
            ax.set_xticks(X, [str(v) for v in xs])
        centre = _CENTRE.get(measure)
        if centre is not None:
            ax.axhline(centre, color="grey", lw=0.8, ls=":")
        ax.set_xlabel(_LABELS.get(x, x))
        ax.set_ylabel(_label(measure))
        ax.legend(fontsize=8)
    nseeds = len(getattr(result, "seeds", ()) or ())
    ax.set_title(title or f"{_label(measure)}: {nseeds} seed{'s' if nseeds != 1 else ''}, T = {result.steps}",
                 fontsize=10)
    return fig
