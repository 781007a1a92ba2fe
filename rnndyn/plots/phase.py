"""Drawing phase portraits of 2-D cells (Chang et al. 2019, Figures 1 and 2).

Drawing only: every number comes from a :class:`rnndyn.analysis.phase.PhasePortrait`;
the functions return a :class:`matplotlib.figure.Figure` built with the
object-oriented API (no pyplot state; any backend, including Agg, works).

Artists carry a ``gid`` so that tests and users can find them again:
``"trajectory-<i>"`` (the line of trajectory i, its data equal to
``portrait.trajectories[i]``), ``"start-<i>"``, ``"end-<i>"``,
``"direction-<i>"`` (its arrows), ``"fixed-<kind>"`` (fixed points of one
kind) and ``"field"`` (the quiver of F(h) − h).
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from rnndyn.formatting import MINUS, format_eigenvalues, format_number
from rnndyn.plots._results import require

__all__ = ["FIXED_POINT_STYLE", "TRAJECTORY_COLORS", "fixed_point_label", "phase_title", "plot_phase", "state_label"]

#: What :func:`plot_phase` reads of a :class:`~rnndyn.analysis.phase.PhasePortrait`.
_FIELDS = ("cell", "kind", "label", "matrix_label", "inits", "steps", "trajectories", "diverged_at", "grid", "field",
           "speed", "fixed_points", "stability", "eigenvalues", "initial_norms", "final_norms", "smooth", "xlim",
           "ylim")

#: Trajectory colours; none is a fixed-point colour (blue, red, purple, grey).
TRAJECTORY_COLORS = ("tab:orange", "tab:green", "tab:pink", "tab:brown", "tab:olive",
                     "tab:cyan", "black", "gold")

#: Marker style of each kind of fixed point.
FIXED_POINT_STYLE = {
    "sink": dict(marker="o", markersize=9, color="tab:blue", markerfacecolor="tab:blue",
                 markeredgecolor="white", markeredgewidth=1.2),
    "source": dict(marker="o", markersize=9, color="tab:red", markerfacecolor="white",
                   markeredgecolor="tab:red", markeredgewidth=2.0),
    "saddle": dict(marker="X", markersize=10, color="tab:purple", markerfacecolor="tab:purple",
                   markeredgecolor="white", markeredgewidth=1.0),
    "neutral": dict(marker="D", markersize=8, color="0.35", markerfacecolor="0.35",
                    markeredgecolor="white", markeredgewidth=1.0),
}

# Speed as darkness, starting above white so that slow arrows stay visible and
# the coloured trajectories remain the brightest things on the page.
_FIELD_CMAP = LinearSegmentedColormap.from_list("rnndyn_field", ["#d4dbe6", "#7d8ca3", "#2b3a55"])

_KIND_NAME = {"vanilla": "Vanilla RNN", "euler": "RNN with feedback (Euler)", "antisymmetric": "AntisymmetricRNN"}


_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def state_label(t: int) -> str:
    """h with a subscript time, h₅₀."""
    return "h" + str(int(t)).translate(_SUB)


def _num(x: float) -> str:
    return format_number(x, 4, minus=MINUS)


def _point(p) -> str:
    return "(" + ", ".join(_num(float(v)) if v != 0 else "0" for v in p) + ")"


def phase_title(portrait, short: bool = False) -> str:
    """The title :func:`plot_phase` writes: cell, matrix, ε, γ and eig(M) (and max|1+ελ|).

    ``short=True`` gives two compact lines for a panel of a multi-panel figure.
    """
    cell = portrait.cell
    kind = portrait.kind
    name = portrait.label or "W"
    params = []
    if kind != "vanilla":
        params.append(f"ε = {_num(cell.eps)}")
        params.append(f"γ = {_num(cell.gamma)}")
    eig = f"eig({portrait.matrix_label}) = {format_eigenvalues(portrait.eigenvalues, minus=MINUS)}"
    ef = getattr(portrait.stability, "euler_factor", None)
    if short:
        head = f"W = {name}" + (", " + ", ".join(params) if params else "")
        return f"{head}\n{eig}"
    line1 = f"{_KIND_NAME[kind]}, W = {name}" + (": " + ", ".join(params) if params else "")
    line2 = eig
    if ef is not None and kind != "vanilla":
        line2 += f",  max|1 + ελ| = {ef:.4f}"
    return f"{line1}\n{line2}"


def fixed_point_label(kind: str, cell_kind: str) -> str:
    """Legend text of a fixed point: the type of a map's fixed point, or of the ODE's equilibrium.

    :func:`rnndyn.fixed_points` classifies the fixed points of Euler-type cells
    by the ODE h' = φ(Mh + b) they discretise (so W_diff's origin is a sink even
    where forward Euler is unstable, which the Euler factor in the title shows).
    """
    return f"{kind} (fixed point)" if cell_kind == "vanilla" else f"{kind} (equilibrium of the ODE)"


def _direction_arrows(ax, traj, color, gid, fractions=(0.3, 0.65)):
    """Arrowheads on the segments at the given fractions of the path's length."""
    ok = np.all(np.isfinite(traj), axis=1)
    pts = traj[: np.argmin(ok) if not ok.all() else len(traj)]
    if len(pts) < 2:
        return
    seg = np.hypot(*np.diff(pts, axis=0).T)
    total = seg.sum()
    if total <= 0:
        return
    cum = np.cumsum(seg)
    for f in fractions:
        k = int(np.searchsorted(cum, f * total))
        k = min(k, len(seg) - 1)
        if seg[k] <= 1e-3 * total:  # a stalled segment has no direction to show
            continue
        ann = ax.annotate("", xy=pts[k + 1], xytext=pts[k],
                          arrowprops=dict(arrowstyle="-|>,head_length=0.7,head_width=0.35", color=color, lw=1.4,
                                          mutation_scale=16, shrinkA=0, shrinkB=0), zorder=4)
        ann.set_gid(gid)


def _step_arrows(ax, traj, color, gid, steps=(0, 1)):
    """Arrows from h_t to h_{t+1} for the given t."""
    for t in steps:
        if t + 1 >= len(traj) or not np.all(np.isfinite(traj[t:t + 2])):
            continue
        if np.allclose(traj[t], traj[t + 1]):
            continue
        ann = ax.annotate("", xy=traj[t + 1], xytext=traj[t],
                          arrowprops=dict(arrowstyle="-|>,head_length=0.7,head_width=0.35", color=color, lw=1.2,
                                          mutation_scale=14, shrinkA=4, shrinkB=3, alpha=0.9), zorder=4)
        ann.set_gid(gid)


def plot_phase(portrait, ax=None, *, title=None, legend: bool = True, colorbar: bool = True,
               figsize=(6.4, 6.4)) -> Figure:
    """Draw a phase portrait: field F(h) − h, trajectories, fixed points.

    Parameters
    ----------
    portrait : PhasePortrait
        From :func:`rnndyn.phase_portrait`.
    ax : matplotlib.axes.Axes, optional
        Draw into this axes (its figure is returned); by default a new figure.
    title : str, optional
        None: the automatic title (cell, matrix, ε, γ, eigenvalues of the
        effective matrix, Euler factor); ``""``: no title.
    legend : bool
        A legend of the trajectories (h_0 and ‖h_0‖ → ‖h_T‖), the start and
        end markers and the kinds of fixed points present.
    colorbar : bool
        A colour bar of the step length ‖F(h) − h‖.
    figsize : (float, float)
        Size of a new figure, in inches.

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Arrows of the field all have the same length (their direction is what a
    reader follows); their colour is the step length ‖F(h) − h‖. Each
    trajectory is drawn through all its states h_0 … h_T (markers), with a
    large dot at h_0, a square at h_T and arrowheads along the way.

    Examples
    --------
    >>> import rnndyn as rd
    >>> from rnndyn.plots.phase import plot_phase
    >>> p = rd.phase_portrait(rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15), grid=9)
    >>> fig = plot_phase(p)
    >>> len([l for l in fig.axes[0].lines if (l.get_gid() or "").startswith("trajectory")])
    3
    """
    require(portrait, _FIELDS, "portrait", "PhasePortrait", "rd.phase_portrait")
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure

    # --- the vector field: unit arrows coloured by the step length
    X, Y = portrait.grid[..., 0], portrait.grid[..., 1]
    U, V = portrait.field[..., 0], portrait.field[..., 1]
    S = portrait.speed
    with np.errstate(invalid="ignore", divide="ignore"):
        Un = np.where(S > 0, U / S, 0.0)
        Vn = np.where(S > 0, V / S, 0.0)
    G = X.shape[0]
    dx = (portrait.xlim[1] - portrait.xlim[0]) / max(G - 1, 1)
    dy = (portrait.ylim[1] - portrait.ylim[0]) / max(G - 1, 1)
    length = 0.7 * min(dx, dy)
    finite = np.isfinite(S)
    smax = float(S[finite].max()) if finite.any() else 1.0
    norm = Normalize(vmin=0.0, vmax=smax if smax > 0 else 1.0)
    q = ax.quiver(X, Y, Un * length, Vn * length, S, cmap=_FIELD_CMAP, norm=norm, angles="xy",
                  scale_units="xy", scale=1.0, pivot="mid", width=0.0035, headwidth=3.6, headlength=4.2,
                  headaxislength=3.8, zorder=1)
    q.set_gid("field")
    if colorbar:
        # An inset in axes coordinates keeps the bar exactly as tall as the (equal-aspect) box.
        cax = ax.inset_axes([1.03, 0.0, 0.035, 1.0])
        cb = fig.colorbar(q, cax=cax)
        cb.set_label("step length ‖F(h) − h‖")

    # --- trajectories
    handles = []
    T = portrait.steps
    smooth = portrait.smooth
    crowded = len(portrait.trajectories) > 8  # thinner marks, one arrow each, so the field stays visible
    ms, fracs = (1.6, (0.5,)) if crowded else (2.6, (0.3, 0.65))
    for i, traj in enumerate(portrait.trajectories):
        c = TRAJECTORY_COLORS[i % len(TRAJECTORY_COLORS)]
        h0 = portrait.inits[i]
        n0, nT = portrait.initial_norms[i], portrait.final_norms[i]
        end = "diverged" if portrait.diverged_at[i] >= 0 else f"{nT:.3g}"
        label = f"h₀ = {_point(h0)}: ‖h₀‖ {n0:.3g} → ‖{state_label(T)}‖ {end}"
        if smooth[i]:
            (line,) = ax.plot(traj[:, 0], traj[:, 1], "-", color=c, lw=1.1 if crowded else 1.4, marker="o",
                              markersize=ms, label=label, zorder=3)
        else:  # a jumping map: points, joined faintly so the order stays readable
            (line,) = ax.plot(traj[:, 0], traj[:, 1], "-", color=c, lw=0.7, alpha=0.45, marker="o",
                              markersize=3.6, markeredgewidth=0, label=label, zorder=3)
        line.set_gid(f"trajectory-{i}")
        handles.append(line)
        (s,) = ax.plot([h0[0]], [h0[1]], linestyle="none", marker="o", markersize=8, color=c,
                       markeredgecolor="black", markeredgewidth=1.0, zorder=5)
        s.set_gid(f"start-{i}")
        last = traj[np.all(np.isfinite(traj), axis=1)][-1]
        (e,) = ax.plot([last[0]], [last[1]], linestyle="none", marker="s", markersize=7, color=c,
                       markerfacecolor="white", markeredgecolor=c, markeredgewidth=2.0, zorder=5)
        e.set_gid(f"end-{i}")
        if smooth[i]:
            _direction_arrows(ax, traj, c, f"direction-{i}", fractions=fracs)
        else:  # where h_0 goes, and h_1: enough to show the map's action
            _step_arrows(ax, traj, c, f"direction-{i}", steps=(0, 1))

    # --- fixed points, one artist per kind
    kinds_present = []
    for kind, style in FIXED_POINT_STYLE.items():
        pts = np.array([fp.state for fp in portrait.fixed_points if fp.kind == kind], dtype=float).reshape(-1, 2)
        if len(pts) == 0:
            continue
        (fpl,) = ax.plot(pts[:, 0], pts[:, 1], linestyle="none", zorder=6,
                         label=fixed_point_label(kind, portrait.kind), **style)
        fpl.set_gid(f"fixed-{kind}")
        kinds_present.append(fpl)

    ax.set_xlim(*portrait.xlim)
    ax.set_ylim(*portrait.ylim)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("$h_1$")
    ax.set_ylabel("$h_2$")
    ax.axhline(0, color="0.85", lw=0.8, zorder=0)
    ax.axvline(0, color="0.85", lw=0.8, zorder=0)

    if title is None:
        ax.set_title(phase_title(portrait), fontsize="medium")
    elif title:
        ax.set_title(title, fontsize="medium")

    if legend:
        markers = [
            Line2D([], [], linestyle="none", marker="o", markersize=7, color="0.6", markeredgecolor="black",
                   label="start h₀"),
            Line2D([], [], linestyle="none", marker="s", markersize=6, markerfacecolor="white",
                   markeredgecolor="0.4", markeredgewidth=2.0, label=f"end {state_label(T)}"),
        ]
        if len(handles) > 8:  # a legend is not a table: name a few, count the rest
            extra = Line2D([], [], linestyle="none", label=f"… and {len(handles) - 6} more trajectories")
            handles = handles[:6] + [extra]
        all_handles = handles + markers + kinds_present
        ax.legend(handles=all_handles, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=2,
                  fontsize="small", frameon=False)
    return fig
