"""Pictures of spectra and stability regions (Chang et al. 2019, "Stability of the forward Euler method").

Drawing only: every number comes from :mod:`rnndyn.analysis.stability` (a
:class:`~rnndyn.analysis.stability.StabilityReport` per configuration); each function
returns a :class:`matplotlib.figure.Figure` built with the object-oriented API.

Convention
----------
The complex-plane panel shows, for an Euler or antisymmetric cell (or a matrix
given with ε), the eigenvalues **λ of the ODE Jacobian** J₀ = φ'(0)·M (for tanh
simply λ(M)) together with the imaginary axis (the ODE's stability boundary,
Re λ = 0) and the forward-Euler stability disk |1 + ελ| ≤ 1 — centre −1/ε,
radius 1/ε — which is the unit circle of the map's eigenvalues μ = 1 + ελ
pulled back to the λ-plane. For a vanilla cell (or a matrix without ε), a map,
it shows the one-step Jacobian's eigenvalues **μ** with the unit circle.
The second panel shows the per-eigenvalue amplification — |1 + ελ| or |μ| —
against the line at 1. Eigenvalues outside their stability region are ringed
in red in both panels.
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Circle, Rectangle

from rnndyn._validate import _describe
from rnndyn.errors import ValidationError
from rnndyn.formatting import MINUS, format_eigenvalues
from rnndyn.plots._results import has_fields, require

__all__ = ["plot_stability"]

#: What the plots read of a :class:`~rnndyn.analysis.stability.StabilityReport`.
_FIELDS = ("eps", "gamma", "kind", "tol", "matrix_eigenvalues", "jacobian_eigenvalues", "ode_eigenvalues",
           "euler_factors")

_COLORS = ("tab:blue", "tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "black")
_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")
_OUT = {"marker": "o", "markersize": 15, "markerfacecolor": "none", "markeredgecolor": "red",
        "markeredgewidth": 1.6, "linestyle": "none", "zorder": 4}


def _points(rep):
    """(eigenvalues drawn, amplification per eigenvalue, plane) for one report."""
    if rep.eps is not None:
        return rep.ode_eigenvalues, rep.euler_factors, "ode"
    mu = rep.jacobian_eigenvalues if rep.kind != "matrix" else rep.matrix_eigenvalues
    return mu, np.abs(mu), "map"


def _check_reports(reports, labels):
    if has_fields(reports, _FIELDS):
        reports = [reports]
    if isinstance(reports, (str, bytes)) or not hasattr(reports, "__len__") or len(reports) == 0:
        raise ValidationError(f"reports: expected a StabilityReport or a non-empty sequence of them, "
                              f"got {_describe(reports)}")
    for i, r in enumerate(reports):
        require(r, _FIELDS, f"reports[{i}]", "StabilityReport", "rnndyn.stability(...)")
    if labels is None:
        labels = [_default_label(r) for r in reports]
    elif isinstance(labels, str) or len(labels) != len(reports):
        raise ValidationError(f"labels: expected {len(reports)} labels (one per report), got {_describe(labels)}")
    return list(reports), [str(lab) for lab in labels]


def _default_label(r) -> str:
    if r.eps is None:
        return r.kind
    g = "" if r.gamma is None else f"γ = {r.gamma:.4g}, "
    return f"{g}ε = {r.eps:.4g}"


def _limits(pts, include, pad=0.15):
    """Axis limits covering the points and the extra coordinates in ``include``."""
    xs = np.concatenate([pts.real, include[0]])
    ys = np.concatenate([pts.imag, include[1]])
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    w, h = x1 - x0, y1 - y0
    span = max(w, h, 1e-3)
    # Keep a narrow extent readable without distorting it into a sliver.
    w = max(w, 0.2 * span)
    h = max(h, 0.2 * span)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    return (cx - (0.5 + pad) * w, cx + (0.5 + pad) * w), (cy - (0.5 + pad) * h, cy + (0.5 + pad) * h)


def plot_stability(reports, labels=None, *, title=None, figsize=None) -> Figure:
    """Eigenvalues against the stability regions, and the per-eigenvalue amplification.

    Parameters
    ----------
    reports : StabilityReport or sequence of StabilityReport
        From :func:`rnndyn.stability`, one per configuration (e.g. several γ);
        each gets its own colour and marker.
    labels : sequence of str, optional
        Legend entries (default: "γ = …, ε = …" or the kind).
    title : str, optional
        Figure title.
    figsize : (float, float), optional

    Returns
    -------
    matplotlib.figure.Figure
        Two axes. Left: the complex plane — for Euler-type configurations the
        ODE eigenvalues λ with the imaginary axis and the forward-Euler disk
        (centre −1/ε, radius 1/ε, one per distinct ε); for maps the
        eigenvalues μ with the unit circle; eigenvalues outside their region
        ringed in red. Right: |1 + ελ_i| (or |μ_i|) per eigenvalue with the
        line at 1.

    Notes
    -----
    Chang et al. 2019: purely imaginary eigenvalues (W0: ±2i) lie
    just outside the Euler disk, since the disk's boundary is tangent to the
    imaginary axis at 0; the diffusion γ shifts them left, and from the
    critical γ on (0.202 for W0 at ε = 0.1) they are inside.

    Examples
    --------
    >>> import rnndyn as rd
    >>> from rnndyn.plots.stability import plot_stability
    >>> reps = [rd.stability(rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=g)) for g in (0.0, 0.15)]
    >>> len(plot_stability(reps).axes)
    2
    """
    reports, labels = _check_reports(reports, labels)
    fig = Figure(figsize=figsize or (11.5, 4.8), layout="constrained")
    ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.15, 1.0]})

    drawn = [_points(r) for r in reports]
    planes = {d[2] for d in drawn}
    all_pts = np.concatenate([d[0] for d in drawn])
    epss = sorted({r.eps for r in reports if r.eps is not None})

    # ---- the regions
    inc_x, inc_y = [0.0], [0.0]
    handles = []
    if "ode" in planes:
        ext = max(np.ptp(all_pts.real), np.ptp(all_pts.imag), np.abs(all_pts).max(), 1e-3)
        for k, eps in enumerate(epss):
            with np.errstate(over="ignore"):
                R = 1.0 / eps
            if not R <= 1e6 * ext:
                # a disk this large is the left half-plane at the scale drawn (and 1/ε of a subnormal ε is inf,
                # which no patch can hold)
                ax.axvspan(-1e6, 0.0, facecolor="tab:green", alpha=0.12 / len(epss) + 0.05, edgecolor="none",
                           zorder=1)
            else:
                ax.add_patch(Circle((-R, 0.0), R, facecolor="tab:green", alpha=0.12 / len(epss) + 0.05,
                                    edgecolor="none", zorder=1))
                ax.add_patch(Circle((-R, 0.0), R, facecolor="none", edgecolor="tab:green", linewidth=1.5,
                                    linestyle="-" if k == 0 else "--", zorder=2))
            if 2 * R <= 4 * ext:  # a disk small enough to show whole
                inc_x += [-2 * R, 0.0]
                inc_y += [-R, R]
            handles.append(Rectangle((0, 0), 1, 1, facecolor="tab:green", alpha=0.2, edgecolor="tab:green",
                                     label=f"forward-Euler stable: |1 + ελ| ≤ 1\n(disk centre −1/ε = {-R:.4g}, "
                                           f"radius {R:.4g}; ε = {eps:.4g})"))
        ax.axvline(0.0, color="black", linewidth=1.0, zorder=2)
        ax.axvspan(0.0, 1e6, facecolor="tab:red", alpha=0.06, zorder=0)
        handles.append(Line2D([], [], color="black", linewidth=1.0, label="imaginary axis Re λ = 0 (ODE boundary)"))
        handles.append(Rectangle((0, 0), 1, 1, facecolor="tab:red", alpha=0.12, label="Re λ > 0: ODE unstable"))
    if "map" in planes:
        ax.add_patch(Circle((0.0, 0.0), 1.0, facecolor="none", edgecolor="0.3", linewidth=1.3,
                            linestyle="--", zorder=1))
        inc_x += [-1.0, 1.0]
        inc_y += [-1.0, 1.0]
        handles.append(Line2D([], [], color="0.3", linestyle="--", label="unit circle |μ| = 1 (map boundary)"))
    ax.axhline(0.0, color="0.6", linewidth=0.6, zorder=0)

    # ---- the eigenvalues
    any_out = False
    for i, ((pts, amp, plane), rep, lab) in enumerate(zip(drawn, reports, labels)):
        c, m = _COLORS[i % len(_COLORS)], _MARKERS[i % len(_MARKERS)]
        sym = "λ" if plane == "ode" else "μ"
        ax.plot(pts.real, pts.imag, linestyle="none", marker=m, markersize=8, color=c,
                markeredgecolor="black", markeredgewidth=0.6, zorder=5)
        eigs = format_eigenvalues(pts, limit=3, minus=MINUS)
        handles.append(Line2D([], [], linestyle="none", marker=m, markersize=8, color=c, markeredgecolor="black",
                              markeredgewidth=0.6, label=f"{lab}: {sym} = {eigs}"))
        out = amp > 1.0 + rep.tol
        if out.any():
            any_out = True
            ax.plot(pts.real[out], pts.imag[out], **_OUT)
    if any_out:
        handles.append(Line2D([], [], label="outside its stability region", **{**_OUT, "markersize": 10}))

    xl, yl = _limits(all_pts, (np.array(inc_x), np.array(inc_y)))
    ax.set_xlim(*xl)
    ax.set_ylim(*yl)
    ratio = (xl[1] - xl[0]) / (yl[1] - yl[0])
    if planes == {"map"} or 0.25 <= ratio <= 4.0:
        # circles as circles, unless one extent is so narrow that equal scales would flatten it
        ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("Re λ" if planes == {"ode"} else ("Re μ" if planes == {"map"} else "Re"))
    ax.set_ylabel("Im λ" if planes == {"ode"} else ("Im μ" if planes == {"map"} else "Im"))
    ax.set_title("eigenvalues of the ODE Jacobian λ(φ'(0)·M)" if planes == {"ode"}
                 else "eigenvalues of the one-step Jacobian μ" if planes == {"map"} else "eigenvalues")
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, -0.14), fontsize=8, frameon=False,
              ncol=1)

    # ---- per-eigenvalue amplification
    nmax = max(len(d[0]) for d in drawn)
    k = len(reports)
    width = 0.7 / k
    vals = []
    for i, ((pts, amp, plane), rep, lab) in enumerate(zip(drawn, reports, labels)):
        c, m = _COLORS[i % len(_COLORS)], _MARKERS[i % len(_MARKERS)]
        x = np.arange(1, len(amp) + 1) + (i - (k - 1) / 2) * width
        bx.vlines(x, 1.0, amp, color=c, linewidth=2.0, alpha=0.7)
        bx.plot(x, amp, linestyle="none", marker=m, markersize=8, color=c, markeredgecolor="black",
                markeredgewidth=0.6, label=lab)
        out = amp > 1.0 + rep.tol
        if out.any():
            bx.plot(x[out], amp[out], **_OUT)
        if nmax <= 4 and k <= 4:
            for xi, ai in zip(x, amp):
                bx.annotate(f"{ai:.4f}", (xi, ai), textcoords="offset points", xytext=(0, 9 if ai >= 1 else -15),
                            ha="center", fontsize=8, color=c)
        vals.append(amp)
    bx.axhline(1.0, color="red", linewidth=1.2, linestyle="--", label="stability limit 1")
    v = np.concatenate(vals + [np.array([1.0])])
    lo, hi = float(v.min()), float(v.max())
    pad = max(0.15 * (hi - lo), 1e-3 * max(1.0, hi))
    bx.set_ylim(lo - pad, hi + 1.6 * pad)
    bx.set_xlim(0.4, nmax + 0.6)
    if nmax <= 12:
        bx.set_xticks(np.arange(1, nmax + 1))
        bx.set_xticklabels([f"$\\lambda_{{{j}}}$" for j in range(1, nmax + 1)] if planes == {"ode"}
                           else [f"$\\mu_{{{j}}}$" for j in range(1, nmax + 1)] if planes == {"map"}
                           else [str(j) for j in range(1, nmax + 1)])
    bx.set_xlabel("eigenvalue (in the order of the left panel's legend)")
    bx.set_ylabel("|1 + ελ|" if planes == {"ode"} else "|μ|" if planes == {"map"} else "|1 + ελ| or |μ|")
    bx.set_title("amplification per step: stable iff every value ≤ 1")
    bx.legend(loc="upper left", bbox_to_anchor=(0.0, -0.14), fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    return fig
