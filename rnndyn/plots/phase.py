"""Drawing phase portraits of 2-D cells (Chang et al. 2019, Figures 1 and 2).

Drawing only: every number comes from a :class:`rnndyn.analysis.phase.PhasePortrait`;
the functions return a :class:`matplotlib.figure.Figure` built with the
object-oriented API (no pyplot state; any backend, including Agg, works).

Artists carry a ``gid`` so that tests and users can find them again:
``"trajectory-<i>"`` (the line of trajectory i, its data equal to
``portrait.trajectories[i]``), ``"start-<i>"``, ``"end-<i>"``,
``"direction-<i>"`` (its arrows), ``"diverged-<i>"`` (the × of a trajectory
that overflowed), ``"fixed-<kind>"`` (fixed points of one map kind;
``"fixed-<kind>-ode-<ode_kind>"`` for Euler-type cells), ``"continuum"`` (a
continuum of fixed points) and ``"field"`` (the quiver of F(h) − h).

Fixed points carry two types, and every label says which is which: ``kind``
(the marker), what the iterated map does there, from the one-step Jacobian's
eigenvalues μ — what the drawn trajectories do; and for Euler-type cells
``ode_kind``, the type of the equilibrium of the ODE h' = φ(Mh + b).
"""

from __future__ import annotations

import numpy as np
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Polygon

from rnndyn.formatting import MINUS, format_eigenvalues, format_number
from rnndyn.plots._results import require

__all__ = ["CONTINUUM_STYLE", "DIVERGED_STYLE", "FIXED_POINT_STYLE", "TRAJECTORY_COLORS", "continuum_handle",
           "diverged_handle", "fixed_point_groups", "fixed_point_handle", "fixed_point_label", "phase_title",
           "plot_phase", "state_label"]

#: What :func:`plot_phase` reads of a :class:`~rnndyn.analysis.phase.PhasePortrait`.
_FIELDS = ("cell", "kind", "label", "matrix_label", "inits", "steps", "trajectories", "diverged_at", "grid", "field",
           "speed", "fixed_points", "stability", "eigenvalues", "initial_norms", "final_norms", "smooth", "jump_periods", "xlim",
           "ylim", "continuum", "continuum_region", "diverged", "divergence_marks")

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

#: The × at the last finite state (in view) of a trajectory that overflowed.
DIVERGED_STYLE = dict(marker="X", markersize=11, color="black", markerfacecolor="black", markeredgecolor="white",
                      markeredgewidth=1.0, linestyle="none")

#: A continuum of fixed points: a hatched grey region (a polygon), a line, or sample points.
CONTINUUM_STYLE = dict(facecolor="0.5", edgecolor="0.3", alpha=0.3, hatch="//", linewidth=1.0)

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


def fixed_point_label(kind: str, ode_kind: str | None = None) -> str:
    """Legend text of a fixed point, naming which classification is which.

    ``kind`` is the type for the iterated map (from the one-step Jacobian's
    eigenvalues μ: what the trajectories drawn beside it do); ``ode_kind``,
    for Euler-type cells, the type of the equilibrium of the ODE
    h' = φ(Mh + b) the cell discretises. The two differ where forward Euler is
    unstable (W0 with γ = 0.15, ε = 0.1: a source of the map, a sink of the ODE).

    >>> fixed_point_label("source", "sink")
    'source (map), sink (ODE)'
    >>> fixed_point_label("sink")
    'sink (map)'
    """
    return f"{kind} (map)" if ode_kind is None else f"{kind} (map), {ode_kind} (ODE)"


def fixed_point_groups(fixed_points) -> list:
    """Fixed points grouped by (kind, ode_kind), in the order of :data:`FIXED_POINT_STYLE`.

    Returns
    -------
    list of (str, str or None, ndarray (k, 2))
    """
    groups: dict = {}
    for fp in fixed_points:
        groups.setdefault((fp.kind, fp.ode_kind), []).append(fp.state)
    order = list(FIXED_POINT_STYLE)
    keys = sorted(groups, key=lambda k: (order.index(k[0]) if k[0] in order else len(order), str(k[1])))
    return [(k[0], k[1], np.array(groups[k], dtype=float).reshape(-1, 2)) for k in keys]


def fixed_point_handle(kind: str, ode_kind: str | None = None) -> Line2D:
    """A legend handle for fixed points of one (kind, ode_kind)."""
    return Line2D([], [], linestyle="none", label=fixed_point_label(kind, ode_kind),
                  **FIXED_POINT_STYLE.get(kind, FIXED_POINT_STYLE["neutral"]))


def continuum_handle(continuum) -> Patch:
    """A legend handle for a continuum of fixed points."""
    return Patch(label="continuum of fixed points: " + fixed_point_label(continuum.kind, continuum.ode_kind),
                 **CONTINUUM_STYLE)


def diverged_handle() -> Line2D:
    """A legend handle for the × of a trajectory that overflowed."""
    return Line2D([], [], label="diverged (last finite state in view)", **DIVERGED_STYLE)


def _draw_continuum(ax, portrait):
    """The continuum of fixed points: the exact region when known, else the samples the search found."""
    c = portrait.continuum
    region = portrait.continuum_region
    label = continuum_handle(c).get_label()
    if region is not None and len(region) >= 3:
        patch = Polygon(region, closed=True, zorder=0.5, label=label, **CONTINUUM_STYLE)
        ax.add_patch(patch)
        patch.set_gid("continuum")
        return patch
    if region is not None and len(region) == 2:
        (ln,) = ax.plot(region[:, 0], region[:, 1], "-", color="0.35", lw=3.0, alpha=0.6, zorder=0.5, label=label)
    else:
        pts = np.asarray(c.samples, dtype=float).reshape(-1, 2)
        (ln,) = ax.plot(pts[:, 0], pts[:, 1], linestyle="none", marker="o", markersize=3, color="0.35", zorder=0.5,
                        label=label)
    ln.set_gid("continuum")
    return continuum_handle(c)


def _within_reach(traj, xlim, ylim, reach: float = 1e3):
    """The trajectory as drawn: states beyond ``reach`` window sizes from the window become NaN.

    A trajectory on its way to overflow has states near 1e308, which
    matplotlib's transforms cannot take. A far state right after a near one
    is replaced by a point ``reach`` window sizes out along the same segment,
    so the line still leaves the window in the right direction.
    """
    center = np.array([(xlim[0] + xlim[1]) / 2, (ylim[0] + ylim[1]) / 2])
    R = reach * max(xlim[1] - xlim[0], ylim[1] - ylim[0])
    with np.errstate(over="ignore", invalid="ignore"):
        far = ~(np.max(np.abs(traj - center), axis=1) <= R)  # NaN states count as far
    if not far.any():
        return traj
    out = np.array(traj, dtype=float, copy=True)
    out[far] = np.nan
    for t in np.flatnonzero(far):
        if t > 0 and not far[t - 1] and np.all(np.isfinite(traj[t])):
            a = traj[t - 1]
            m = max(float(np.max(np.abs(traj[t]))), 1.0)
            u = traj[t] / m - a / m  # the segment's direction, scaled so that nothing overflows
            out[t] = a + R * u / np.max(np.abs(u))
    return out


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
        end markers, the × of diverged trajectories, and the types of the fixed
        points present, each naming its classification: "source (map)" for
        what the iterated map does there, "sink (ODE)" for the equilibrium of
        the ODE an Euler-type cell discretises.
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
    large dot at h_0, a square at h_T and arrowheads along the way. A
    trajectory that overflowed is drawn up to its last finite state and
    marked with an × there (or, when that lies far outside the window, at its
    last state in view). A continuum of fixed points is a hatched region
    (ReLU's {Mh + b ≤ 0}), a thick line, or the sample points the search found.

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
    # The window first: autoscaling stays off, so no drawn datum (however far) is ever asked for its extent.
    ax.set_xlim(*portrait.xlim)
    ax.set_ylim(*portrait.ylim)

    # --- the vector field: unit arrows coloured by the step length
    X, Y = portrait.grid[..., 0], portrait.grid[..., 1]
    U, V = portrait.field[..., 0], portrait.field[..., 1]
    S = portrait.speed
    finite = np.isfinite(S)
    with np.errstate(invalid="ignore", divide="ignore"):
        Un = np.where(finite & (S > 0), U / S, 0.0)
        Vn = np.where(finite & (S > 0), V / S, 0.0)
    G = X.shape[0]
    dx = (portrait.xlim[1] - portrait.xlim[0]) / max(G - 1, 1)
    dy = (portrait.ylim[1] - portrait.ylim[0]) / max(G - 1, 1)
    length = 0.7 * min(dx, dy)
    smax = float(S[finite].max()) if finite.any() else 1.0
    norm = Normalize(vmin=0.0, vmax=smax if smax > 0 else 1.0)
    # Arrows whose step is not finite (only in a window far beyond the states) are left out.
    mask = ~finite
    q = ax.quiver(X, Y, np.ma.array(Un * length, mask=mask), np.ma.array(Vn * length, mask=mask),
                  np.ma.array(np.where(finite, S, 0.0), mask=mask), cmap=_FIELD_CMAP, norm=norm, angles="xy",
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
        traj = _within_reach(traj, portrait.xlim, portrait.ylim)
        c = TRAJECTORY_COLORS[i % len(TRAJECTORY_COLORS)]
        h0 = portrait.inits[i]
        n0, nT = portrait.initial_norms[i], portrait.final_norms[i]
        end = f"diverged at step {int(portrait.diverged_at[i])}" if portrait.diverged[i] else f"{nT:.3g}"
        label = f"h₀ = {_point(h0)}: ‖h₀‖ {n0:.3g} → ‖{state_label(T)}‖ {end}"
        if smooth[i]:
            (line,) = ax.plot(traj[:, 0], traj[:, 1], "-", color=c, lw=1.1 if crowded else 1.4, marker="o",
                              markersize=ms, label=label, zorder=3)
        else:
            # A map that jumps across the plane every step: a line through h_0, h_1, … only
            # criss-crosses the window, so the states are dots, and every q-th state (q the jump
            # period) is joined faintly: each such subsequence creeps along one curve.
            (line,) = ax.plot(traj[:, 0], traj[:, 1], linestyle="none", color=c, marker="o",
                              markersize=3.6, markeredgewidth=0, label=label, zorder=3)
            q = portrait.jump_periods[i]
            for r in range(q or 0):
                (sub,) = ax.plot(traj[r::q, 0], traj[r::q, 1], "-", color=c, lw=0.9, alpha=0.5, zorder=2)
                sub.set_gid(f"trajectory-{i}-every-{q}")
        line.set_gid(f"trajectory-{i}")
        handles.append(line)
        (s,) = ax.plot([h0[0]], [h0[1]], linestyle="none", marker="o", markersize=8, color=c,
                       markeredgecolor="black", markeredgewidth=1.0, zorder=5)
        s.set_gid(f"start-{i}")
        if portrait.diverged[i]:
            mark = portrait.divergence_marks[i]
            (e,) = ax.plot([mark[0]], [mark[1]], zorder=6, **DIVERGED_STYLE)
            e.set_gid(f"diverged-{i}")
        else:
            last = traj[-1]
            (e,) = ax.plot([last[0]], [last[1]], linestyle="none", marker="s", markersize=7, color=c,
                           markerfacecolor="white", markeredgecolor=c, markeredgewidth=2.0, zorder=5)
            e.set_gid(f"end-{i}")
        if smooth[i]:
            _direction_arrows(ax, traj, c, f"direction-{i}", fractions=fracs)
        else:  # where h_0 jumps to: the map's action
            _step_arrows(ax, traj, c, f"direction-{i}", steps=(0,))

    # --- fixed points, one artist per (map kind, ODE kind); a continuum as a region
    kinds_present = []
    if portrait.continuum is not None:
        kinds_present.append(_draw_continuum(ax, portrait))
    for kind, ode_kind, pts in fixed_point_groups(portrait.fixed_points):
        style = FIXED_POINT_STYLE.get(kind, FIXED_POINT_STYLE["neutral"])
        (fpl,) = ax.plot(pts[:, 0], pts[:, 1], linestyle="none", zorder=6,
                         label=fixed_point_label(kind, ode_kind), **style)
        fpl.set_gid(f"fixed-{kind}" if ode_kind is None else f"fixed-{kind}-ode-{ode_kind}")
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
        ]
        if not portrait.diverged.all():
            markers.append(Line2D([], [], linestyle="none", marker="s", markersize=6, markerfacecolor="white",
                                  markeredgecolor="0.4", markeredgewidth=2.0, label=f"end {state_label(T)}"))
        if portrait.diverged.any():
            markers.append(diverged_handle())
        if len(handles) > 8:  # a legend is not a table: name a few, count the rest
            extra = Line2D([], [], linestyle="none", label=f"… and {len(handles) - 6} more trajectories")
            handles = handles[:6] + [extra]
        all_handles = handles + markers + kinds_present
        ax.legend(handles=all_handles, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=2,
                  fontsize="small", frameon=False)
    return fig
