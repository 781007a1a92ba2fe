"""Phase portraits of 2-D RNN cells: the update's vector field, trajectories, fixed points.

A 2-D cell is an iterated map h ↦ F(h) of the plane. Its phase portrait shows
the displacement field F(h) − h on a grid, a few trajectories h_0, h_1, …, h_T
from given initial states, and the fixed points F(h*) = h* classified by the
eigenvalues μ of the one-step Jacobian there (``kind``: what the iterated map
does, the same thing the trajectories show) and, for the Euler-type cells, by
the ODE h' = φ(Mh + b) they discretise (``ode_kind``). This is how Chang, Chen, Haber and
Chi (ICLR 2019, Figures 1 and 2) explain why a vanilla RNN forgets
(trajectories contract to the origin), why forward Euler on an antisymmetric
matrix spirals outwards, and why diffusion γ fixes it.

:func:`phase_portrait` computes everything into a :class:`PhasePortrait`;
:func:`rnndyn.plots.phase.plot_phase` draws one (no computation there).
:func:`~rnndyn.formatting.format_eigenvalues` is re-exported here for the titles.

References: see :mod:`rnndyn.references`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rnndyn._validate import _describe, as_int, as_real_array, as_rng, check_memory
from rnndyn.errors import ArgumentTypeError, DivergenceWarning, ValidationError
from rnndyn.formatting import format_eigenvalues

__all__ = [
    "MAX_JUMP_PERIOD",
    "PhasePortrait",
    "jump_period",
    "phase_portrait",
    "random_inits",
    "describe_cell",
    "continuum_region",
    "effective_matrix_label",
    "format_eigenvalues",
    "PAPER_INITS",
    "PAPER_STEPS",
    "PAPER_EPS",
    "PAPER_GAMMA",
    "WINDOW_CAP",
]

#: Initial states of Chang et al. (2019), Figures 1 and 2 ("Simulations").
PAPER_INITS = ((0.0, 0.5), (-0.5, -0.5), (0.5, -0.75))
#: Number of steps T of those figures.
PAPER_STEPS = 50
#: Step size ε of the RNN with feedback in Figure 2. The figure does not state
#: it (see the Notes of :func:`rnndyn.figures.chang2019.build_fig2`); ε = 0.1 is the
#: value that reproduces every statement the paper and the slides make at T = 50:
#: W0 spirals outwards (about one turn, ‖h‖ grows 30-60 %), Wdiff keeps ‖h‖
#: within 10 % of its start, W− collapses to the origin and W+ runs away. With
#: ε = 0.01 nothing visibly moves in 50 steps (W0 turns 0.1 times), with ε = 0.2
#: Wdiff already grows by 60-90 %.
PAPER_EPS = 0.1
#: Diffusion γ of the Wdiff panel (Wdiff = W0 − 0.15 I).
PAPER_GAMMA = 0.15

#: A fitted window holds the finite states within WINDOW_CAP times the scale of
#: the picture, max(1, ‖h_0‖, ‖h*‖) over the initial states and the isolated
#: fixed points; states further out (a trajectory on its way to overflow) leave
#: the window instead of stretching it to 1e308.
WINDOW_CAP = 10.0

_DEFAULT_RANDOM_BOX = ((-1.0, 1.0), (-1.0, 1.0))


@dataclass(frozen=True, eq=False)
class PhasePortrait:
    """Everything a phase portrait of a 2-D cell shows (result of :func:`phase_portrait`).

    Attributes
    ----------
    cell : VanillaRNN, EulerRNN or AntisymmetricRNN
        The (2-D) cell.
    label : str
        Name of the matrix for titles ("W0", a file stem, or "").
    inits : ndarray, (K, 2)
        Initial states.
    steps : int
        Number of steps T of each trajectory.
    trajectories : ndarray, (K, T+1, 2)
        h_0 … h_T of each trajectory, computed by :func:`rnndyn.simulate`.
    diverged_at : ndarray of int, (K,)
        First non-finite step of each trajectory, −1 if none; the states from
        there on are NaN.
    grid : ndarray, (G, G, 2)
        Points of the vector-field grid; ``grid[i, j] = (x_j, y_i)``.
    field : ndarray, (G, G, 2)
        The displacement F(h) − h of one update at each grid point (NaN where
        it is not finite: only in a window far beyond the states' scale).
    speed : ndarray, (G, G)
        ‖F(h) − h‖ at each grid point (NaN where the field is).
    fixed_points : FixedPoints (tuple of FixedPoint)
        The isolated fixed points from :func:`rnndyn.fixed_points` (empty when
        not requested). ``kind`` is what the iterated map does there (from the
        one-step Jacobian's eigenvalues μ), ``ode_kind`` (Euler-type cells) the
        type of the equilibrium of the ODE h' = φ(Mh + b) the cell discretises.
    stability : StabilityReport
        From :func:`rnndyn.stability`: eigenvalues of the effective matrix,
        max Re λ, Euler factor max|1 + ελ|, verdicts.
    xlim, ylim : (float, float)
        The plotted window (given, or fitted to the finite states within
        :data:`WINDOW_CAP` times the scale of the initial states and fixed points).
    continuum : Continuum or None
        The set of non-isolated fixed points, when there is one (ReLU's region
        {Mh + b ≤ 0} for an Euler-type cell, a line for a singular M, …).
    continuum_region : ndarray (k, 2) or None
        That set inside the window, exactly, where it is known in closed form:
        a polygon (k ≥ 3), a segment (k = 2) or empty (k = 0); None where only
        ``continuum.samples`` are known.
    fixed_points_complete : bool or None
        Whether :func:`rnndyn.fixed_points` judged its search complete; None
        when no search was made.
    """

    cell: object
    label: str
    inits: np.ndarray
    steps: int
    trajectories: np.ndarray
    diverged_at: np.ndarray
    grid: np.ndarray
    field: np.ndarray
    speed: np.ndarray
    fixed_points: tuple
    stability: object
    xlim: tuple
    ylim: tuple
    continuum: object = None
    continuum_region: object = None
    fixed_points_complete: object = None

    @property
    def kind(self) -> str:
        """``"vanilla"``, ``"euler"`` or ``"antisymmetric"``."""
        return _cell_kind(self.cell)

    @property
    def matrix_label(self) -> str:
        """How M is built from W, for titles: ``"W"``, ``"W − γI"`` or ``"W − Wᵀ − γI"``."""
        return effective_matrix_label(self.cell)

    @property
    def effective_matrix(self) -> np.ndarray:
        """M of the update (W, W − γI or W − Wᵀ − γI), shape (2, 2)."""
        return self.cell.recurrent_matrix

    @property
    def eigenvalues(self) -> np.ndarray:
        """Eigenvalues of the effective matrix M, complex (2,)."""
        return np.asarray(self.stability.matrix_eigenvalues)

    @property
    def initial_norms(self) -> np.ndarray:
        """‖h_0‖ of each trajectory, (K,)."""
        return _norms(self.trajectories[:, 0])

    @property
    def final_norms(self) -> np.ndarray:
        """‖h_T‖ of each trajectory, (K,) (NaN where it diverged)."""
        return _norms(self.trajectories[:, -1])

    @property
    def diverged(self) -> np.ndarray:
        """Did the trajectory become non-finite within T steps? (K,) bool."""
        return np.asarray(self.diverged_at) >= 0

    @property
    def last_finite(self) -> np.ndarray:
        """Index t of each trajectory's last finite state h_t, (K,) int (T where it did not diverge)."""
        return np.where(self.diverged, np.asarray(self.diverged_at) - 1, self.steps)

    @property
    def divergence_marks(self) -> np.ndarray:
        """Where to mark each diverged trajectory, (K, 2); NaN for the others.

        The last finite state when it lies in the window; otherwise the last
        state in the window before the trajectory left it for good (the last
        finite one lies far outside, often near 1e308).
        """
        out = np.full((len(self.trajectories), 2), np.nan)
        for i in np.flatnonzero(self.diverged):
            t = int(self.last_finite[i])
            if t < 0:
                continue
            seen = self.trajectories[i, : t + 1]
            inside = np.flatnonzero(_in_window(seen, self.xlim, self.ylim))
            out[i] = seen[inside[-1]] if inside.size else seen[-1]
        return out

    @property
    def smooth(self) -> np.ndarray:
        """Per trajectory: do successive steps turn by less than 60° (median)? (K,) bool.

        Small-step maps (the Euler cells) trace a curve, and are drawn as one;
        a vanilla RNN with a reflection or rotation jumps across the plane
        every step, and is drawn as points instead (see :attr:`jump_periods`).
        """
        return np.array([_turns_smoothly(_finite_part(t)) for t in self.trajectories], dtype=bool)

    @property
    def jump_periods(self) -> tuple:
        """Per trajectory: the smallest q ≤ :data:`MAX_JUMP_PERIOD` such that every q-th state traces a
        smooth curve (1 for a smooth trajectory), or None.

        A vanilla RNN with a reflection (q = 2) or a rotation by 90° (q = 4)
        jumps across the plane every step, but h_t, h_{t+q}, h_{t+2q}, … creep
        along one curve towards the origin: those are the states worth joining.
        """
        return tuple(jump_period(t) for t in self.trajectories)


#: Longest period :func:`jump_period` searches for (a rotation by 90° needs 4).
MAX_JUMP_PERIOD = 4


def _finite_part(traj: np.ndarray) -> np.ndarray:
    ok = np.all(np.isfinite(traj), axis=1)
    return traj if ok.all() else traj[: int(np.argmin(ok))]


def _turns_smoothly(points: np.ndarray) -> bool:
    """Do successive steps of ``points`` turn by less than 60° (median)?"""
    # A trajectory on its way to overflow has steps near 1e308: their products overflow, harmlessly.
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        d = np.diff(points, axis=0)
        if len(d) < 2:
            return True
        a, b = d[:-1], d[1:]
        cos = np.sum(a * b, axis=-1) / (np.hypot(a[:, 0], a[:, 1]) * np.hypot(b[:, 0], b[:, 1]))
    cos = cos[np.isfinite(cos)]
    return bool(cos.size == 0 or np.median(cos) > 0.5)


def jump_period(traj, max_period: int = MAX_JUMP_PERIOD) -> int | None:
    """The smallest q such that every q-th state of ``traj`` traces a smooth curve, or None.

    Parameters
    ----------
    traj : array_like, (T+1, 2)
        A trajectory; only its finite part is looked at.
    max_period : int
        Largest q tried.

    Returns
    -------
    int or None

    Examples
    --------
    >>> t = np.array([(0.5 * 0.9 ** k) * np.array([(0, 1), (1, 0), (0, -1), (-1, 0)][k % 4]) for k in range(20)])
    >>> jump_period(t), jump_period(t[::4])
    (4, 1)
    """
    traj = _finite_part(np.asarray(traj, dtype=float))
    for q in range(1, max_period + 1):
        if len(traj) >= 3 * q and all(_turns_smoothly(traj[r::q]) for r in range(q)):
            return q
    return None


def _norms(h: np.ndarray) -> np.ndarray:
    """‖h‖ over the last axis of (…, 2) states; inf (not a warning) where it overflows."""
    with np.errstate(over="ignore", invalid="ignore"):
        return np.hypot(h[..., 0], h[..., 1])


def _in_window(pts: np.ndarray, xlim, ylim) -> np.ndarray:
    return (pts[:, 0] >= xlim[0]) & (pts[:, 0] <= xlim[1]) & (pts[:, 1] >= ylim[0]) & (pts[:, 1] <= ylim[1])


def _cell_kind(cell) -> str:
    from rnndyn.systems.cells import AntisymmetricRNN, EulerRNN, VanillaRNN

    if isinstance(cell, VanillaRNN):
        return "vanilla"
    if isinstance(cell, EulerRNN):
        return "euler"
    if isinstance(cell, AntisymmetricRNN):
        return "antisymmetric"
    raise ArgumentTypeError(
        f"cell: expected an rnndyn cell (VanillaRNN, EulerRNN, AntisymmetricRNN), got {type(cell).__name__}"
    )


_PHI = {"tanh": "tanh", "relu": "relu", "linear": "", "sigmoid": "σ"}


def effective_matrix_label(cell) -> str:
    """How the effective matrix M is built from W: ``"W"``, ``"W − γI"`` or ``"W − Wᵀ − γI"``."""
    kind = _cell_kind(cell)
    if kind == "vanilla":
        return "W"
    return "W − γI" if kind == "euler" else "W − Wᵀ − γI"


def describe_cell(cell) -> str:
    """The update of a cell as a one-line formula, e.g. ``h ← h + ε·tanh((W − γI)h)``."""
    kind = _cell_kind(cell)
    phi = _PHI.get(cell.activation, cell.activation)
    extra = " + Vx + b" if cell.d else (" + b" if np.any(cell.b) else "")
    if kind == "vanilla":
        inner = f"Wh{extra}"
        return f"h ← {phi}({inner})" if phi else f"h ← {inner}"
    M = "(W − γI)h" if kind == "euler" else "(W − Wᵀ − γI)h"
    gate = "z∘" if getattr(cell, "gated", False) else ""
    inner = f"{M}{extra}"
    return f"h ← h + ε·{gate}{phi}({inner})" if phi else f"h ← h + ε·{gate}({inner})"


def _check_2d(cell) -> None:
    _cell_kind(cell)
    if cell.n != 2:
        raise ValidationError(
            f"cell: a phase portrait needs a 2-D cell (a 2x2 matrix), got state size n = {cell.n} "
            f"(a {cell.n}x{cell.n} matrix)"
        )


def _check_inits(inits) -> np.ndarray:
    if inits is None:
        return np.array(PAPER_INITS, dtype=np.float64)
    h = as_real_array(inits, "inits", ndim=(1, 2))
    if h.ndim == 1:
        h = h[None]
    if h.shape[-1] != 2 or h.shape[0] == 0:
        raise ValidationError(f"inits: expected initial states of shape (K, 2) with K >= 1, got shape {h.shape}")
    return h


def _check_lim(lim, name):
    if lim is None:
        return None
    a = as_real_array(lim, name, ndim=1)
    if a.shape != (2,) or not a[0] < a[1]:
        raise ValidationError(f"{name}: expected (low, high) with low < high, got {tuple(np.ravel(a).tolist())}")
    with np.errstate(over="ignore"):
        width = a[1] - a[0]
    if not np.isfinite(width):
        raise ValidationError(f"{name}: expected a window of finite width, got {tuple(a.tolist())}")
    return (float(a[0]), float(a[1]))


def _fit_limits(points: np.ndarray, pad: float = 0.12, min_half: float = 0.25, min_ratio: float = 0.4):
    """A window around ``points`` (P, 2): padded, never degenerate, never much thinner than wide."""
    pts = points[np.all(np.isfinite(points), axis=1)]
    if pts.size == 0:
        pts = np.zeros((1, 2))
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    # halves first: states near the float64 limit must not overflow the window's centre and width
    big = np.finfo(float).max / 4
    center = np.clip(lo / 2 + hi / 2, -big, big)
    half = np.clip((hi / 2 - lo / 2) * (1 + 2 * pad), min_half, big)
    # A trajectory along a line would give a sliver; keep both axes comparable
    # so the (equal-aspect) picture stays readable.
    half = np.maximum(half, min_ratio * half.max())
    return ((float(center[0] - half[0]), float(center[0] + half[0])),
            (float(center[1] - half[1]), float(center[1] + half[1])))


def _fit_points(states, inits, fps, xlim, ylim) -> np.ndarray:
    """The points a fitted window must hold: finite states within WINDOW_CAP × scale, and the fixed points."""
    fp_states = np.array([fp.state for fp in fps], dtype=np.float64).reshape(-1, 2)
    anchors = np.concatenate([inits, fp_states])
    scale = max(1.0, float(np.max(_norms(anchors), initial=0.0)))
    pts = states.reshape(-1, 2)
    r = _norms(pts)
    pts = np.concatenate([pts[np.isfinite(r) & (r <= WINDOW_CAP * scale)], fp_states])
    if xlim is not None:  # fit y to what is visible in the given x range
        pts = pts[(pts[:, 0] >= xlim[0]) & (pts[:, 0] <= xlim[1])]
    if ylim is not None:
        pts = pts[(pts[:, 1] >= ylim[0]) & (pts[:, 1] <= ylim[1])]
    return pts


def _clip_halfplane(poly: np.ndarray, a: np.ndarray, d: float) -> np.ndarray:
    """The convex polygon ``poly`` (k, 2) cut to {h : a·h ≤ d} (Sutherland–Hodgman, one edge)."""
    out = []
    k = len(poly)
    for i in range(k):
        P, Q = poly[i], poly[(i + 1) % k]
        fp, fq = float(a @ P) - d, float(a @ Q) - d
        if fp <= 0:
            out.append(P)
        if (fp < 0 < fq) or (fq < 0 < fp):
            out.append(P + fp / (fp - fq) * (Q - P))
    return np.array(out, dtype=np.float64).reshape(-1, 2)


def _clip_line(p0: np.ndarray, v: np.ndarray, xlim, ylim) -> np.ndarray:
    """The part of the line p0 + t·v inside the window: (2, 2) end points, or (0, 2)."""
    lo, hi = -np.inf, np.inf
    for k, (a, b) in enumerate((xlim, ylim)):
        if abs(v[k]) <= 1e-15 * np.linalg.norm(v):
            if not a <= p0[k] <= b:
                return np.zeros((0, 2))
            continue
        t1, t2 = sorted(((a - p0[k]) / v[k], (b - p0[k]) / v[k]))
        lo, hi = max(lo, t1), min(hi, t2)
    if not lo < hi:
        return np.zeros((0, 2))
    return np.array([p0 + lo * v, p0 + hi * v])


def continuum_region(cell, xlim, ylim):
    """The fixed points of an Euler-type cell that are not isolated, inside a window, exactly.

    For an Euler-type cell (inputs held at zero) F(h) − h = ε[z∘]φ(Mh + b)
    vanishes exactly where φ(Mh + b) = 0: for ReLU on the polyhedron
    {Mh + b ≤ 0}, for tanh and the identity on the affine set {Mh + b = 0}
    (a line when M has rank 1, the plane when M = 0 and b = 0).

    Parameters
    ----------
    cell : EulerRNN or AntisymmetricRNN
        A 2-D cell.
    xlim, ylim : (float, float)
        The window.

    Returns
    -------
    ndarray (k, 2) or None
        A convex polygon (k ≥ 3), a segment (k = 2), nothing in the window
        (k = 0), or None where the set is not of these forms (vanilla cells,
        the sigmoid, an isolated equilibrium).

    Examples
    --------
    >>> import rnndyn as rd
    >>> cell = rd.EulerRNN(rd.named_matrix("W+"), activation="relu")   # M = [[2, -2], [0, 2]]
    >>> continuum_region(cell, (-1, 1), (-1, 1)).tolist()   # {2x − 2y ≤ 0, 2y ≤ 0}: the triangle x ≤ y ≤ 0
    [[-1.0, -1.0], [0.0, 0.0], [-1.0, 0.0]]
    """
    if _cell_kind(cell) == "vanilla" or cell.n != 2:
        return None
    M = np.asarray(cell.recurrent_matrix, dtype=np.float64)
    b = np.asarray(cell.b, dtype=np.float64)
    box = np.array([[xlim[0], ylim[0]], [xlim[1], ylim[0]], [xlim[1], ylim[1]], [xlim[0], ylim[1]]], dtype=np.float64)
    if cell.activation == "relu":
        poly = box
        for i in range(2):
            poly = _clip_halfplane(poly, M[i], -b[i])
            if len(poly) == 0:
                break
        return poly
    if cell.activation not in ("tanh", "linear"):
        return None
    U, sv, Vt = np.linalg.svd(M)
    tol = 1e-12 * max(1.0, float(sv[0]))
    rank = int(np.sum(sv > tol))
    if rank == 2:
        return None  # one isolated equilibrium
    if rank == 0:
        return box if not np.any(b) else np.zeros((0, 2))
    p0 = np.linalg.pinv(M) @ (-b)
    if np.linalg.norm(M @ p0 + b) > 1e-9 * max(1.0, float(np.linalg.norm(b))):
        return np.zeros((0, 2))  # M h = −b has no solution
    return _clip_line(p0, Vt[1], xlim, ylim)


def _divergence_message(inits: np.ndarray, diverged_at: np.ndarray) -> str:
    bad = np.flatnonzero(diverged_at >= 0)
    parts = [f"from h0 = {_fmt_point(inits[i])} at step {int(diverged_at[i])}" for i in bad[:5]]
    if bad.size > 5:
        parts.append(f"and {bad.size - 5} more")
    return (f"{bad.size} of {len(inits)} trajectories diverged (a state overflowed to a non-finite value): "
            + ", ".join(parts) + "; each is kept up to its last finite state")


def _fmt_point(p) -> str:
    return "(" + ", ".join(f"{float(v):.4g}" for v in p) + ")"


def random_inits(k, rng=None, box=None) -> np.ndarray:
    """``k`` initial states drawn uniformly in a box of the plane.

    Parameters
    ----------
    k : int
        Number of states, ``k >= 0``.
    rng : None, int or numpy.random.Generator
        Seed or generator.
    box : ((float, float), (float, float)), optional
        (xlim, ylim) to draw in; default [−1, 1]², the range of a tanh state.

    Returns
    -------
    ndarray, (k, 2)

    Examples
    --------
    >>> random_inits(3, rng=0).shape
    (3, 2)
    """
    k = as_int(k, "k", minimum=0)
    check_memory(3 * 16.0 * k, f"{k} random initial states", "ask for fewer")  # two draws, then stacked
    if box is None:
        box = _DEFAULT_RANDOM_BOX
    if isinstance(box, (str, bytes)) or not isinstance(box, Sequence) or len(box) != 2:
        raise ArgumentTypeError(f"box: expected ((xlo, xhi), (ylo, yhi)), got {_describe(box)}")
    xlim = _check_lim(box[0], "box[0]")
    ylim = _check_lim(box[1], "box[1]")
    g = as_rng(rng)
    return np.column_stack([g.uniform(*xlim, size=k), g.uniform(*ylim, size=k)])


def phase_portrait(cell, inits=None, steps: int = PAPER_STEPS, grid: int = 21, xlim=None, ylim=None, *,
                   label: str = "", fixed_points: bool = True, backend: str = "auto") -> PhasePortrait:
    """Vector field, trajectories, fixed points and stability of a 2-D cell.

    Parameters
    ----------
    cell : VanillaRNN, EulerRNN or AntisymmetricRNN
        A cell with state size 2 (its inputs, if any, are held at zero; the bias
        stays).
    inits : array_like, shape (K, 2) or (2,), optional
        Initial states; default the paper's (0, 0.5), (−0.5, −0.5), (0.5, −0.75).
    steps : int
        Number of updates T of each trajectory (default 50, as in the paper).
    grid : int
        Grid points per axis of the vector field (``>= 2``).
    xlim, ylim : (float, float), optional
        The window; a missing one is fitted to the finite states within
        :data:`WINDOW_CAP` × max(1, ‖h_0‖, ‖h*‖) and the isolated fixed points
        (padded, both axes of comparable size).
    label : str
        Name of the matrix, for titles.
    fixed_points : bool
        Search for fixed points with :func:`rnndyn.fixed_points` (default True).
    backend : str
        Backend of :func:`rnndyn.simulate`.

    Returns
    -------
    PhasePortrait

    Raises
    ------
    ValidationError
        A cell that is not 2-D, initial states not of shape (K, 2), a bad window.

    Warns
    -----
    DivergenceWarning
        When a trajectory overflows (once, naming each and its step).

    Notes
    -----
    The field drawn is the displacement of one update, F(h) − h; for the Euler
    and antisymmetric cells it is ε·φ(Mh + b), the forward-Euler step along the
    ODE h' = φ(Mh + b) (Chang et al. 2019, Sec. 3). Each fixed point carries
    two classifications: ``kind``, the map's (from the one-step Jacobian's
    eigenvalues μ: sink when every |μ| < 1, source when every |μ| > 1, neutral
    when some | |μ| − 1 | ≤ ``NEUTRAL_TOL`` = 1e-6, saddle otherwise), which is what the trajectories in the
    picture do, and for Euler-type cells ``ode_kind``, the equilibrium's type
    for the ODE (by Re ν). They differ where forward Euler is unstable: at
    the origin of ``EulerRNN(W0, gamma=0.15)`` the ODE has a sink, the map
    (|μ| = 1.0051) a slow source.

    A trajectory that overflows is kept with NaN from its ``diverged_at``
    step on; one DivergenceWarning names the trajectories and their steps.
    Such trajectories do not stretch the fitted window (see ``xlim``).

    Examples
    --------
    >>> import rnndyn as rd
    >>> cell = rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15)
    >>> p = rd.phase_portrait(cell, steps=50, grid=11)
    >>> p.trajectories.shape, p.field.shape
    ((3, 51, 2), (11, 11, 2))
    >>> p.eigenvalues.round(2)
    array([-0.15+2.j, -0.15-2.j])
    >>> origin = p.fixed_points[0]
    >>> origin.kind, origin.ode_kind   # the map spirals out slowly; the ODE spirals in
    ('source', 'sink')
    """
    from rnndyn.analysis.stability import stability
    from rnndyn.analysis.trajectories import simulate

    _check_2d(cell)
    h0 = _check_inits(inits)
    steps = as_int(steps, "steps", minimum=0)
    G = as_int(grid, "grid", minimum=2, maximum=1000)
    if not isinstance(fixed_points, (bool, np.bool_)):
        raise ArgumentTypeError(f"fixed_points: expected True or False, got {type(fixed_points).__name__}")
    xlim = _check_lim(xlim, "xlim")
    ylim = _check_lim(ylim, "ylim")
    if not isinstance(label, str):
        raise ArgumentTypeError(f"label: expected a string, got {type(label).__name__}")

    # Divergence is reported once below, naming the trajectories, instead of simulate's generic warning.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        traj = simulate(cell, h0, steps=steps, record="all", backend=backend)
    states = np.asarray(traj.states, dtype=np.float64).reshape(h0.shape[0], steps + 1, 2)
    diverged_at = np.atleast_1d(np.asarray(traj.diverged_at, dtype=np.int64))
    if np.any(diverged_at >= 0):
        warnings.warn(_divergence_message(h0, diverged_at), DivergenceWarning, stacklevel=2)

    fps = ()
    if fixed_points:
        from rnndyn.analysis.fixed_points import fixed_points as _fixed_points

        fps = _fixed_points(cell)
    continuum = fps.continuum if fixed_points else None

    if xlim is None or ylim is None:
        fx, fy = _fit_limits(_fit_points(states, h0, fps, xlim, ylim))
        xlim = xlim if xlim is not None else fx
        ylim = ylim if ylim is not None else fy

    xs = np.linspace(xlim[0], xlim[1], G)
    ys = np.linspace(ylim[0], ylim[1], G)
    X, Y = np.meshgrid(xs, ys)
    pts = np.column_stack([X.ravel(), Y.ravel()])
    # Only a window far beyond the states' scale (given by the caller) can overflow; such arrows are left out.
    with np.errstate(all="ignore"):
        field = (cell.step(pts) - pts).reshape(G, G, 2)
        speed = np.hypot(field[..., 0], field[..., 1])
    bad = ~np.isfinite(speed)
    field[bad] = np.nan
    speed[bad] = np.nan

    return PhasePortrait(
        cell=cell,
        label=label,
        inits=h0,
        steps=steps,
        trajectories=states,
        diverged_at=diverged_at,
        grid=np.stack([X, Y], axis=-1),
        field=field,
        speed=speed,
        fixed_points=fps,
        stability=stability(cell),
        xlim=(float(xlim[0]), float(xlim[1])),
        ylim=(float(ylim[0]), float(ylim[1])),
        continuum=continuum,
        continuum_region=None if continuum is None else continuum_region(cell, xlim, ylim),
        fixed_points_complete=fps.complete if fixed_points else None,
    )
