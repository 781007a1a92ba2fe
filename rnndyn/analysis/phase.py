"""Phase portraits of 2-D RNN cells: the update's vector field, trajectories, fixed points.

A 2-D cell is an iterated map h ↦ F(h) of the plane. Its phase portrait shows
the displacement field F(h) − h on a grid, a few trajectories h_0, h_1, …, h_T
from given initial states, and the fixed points F(h*) = h* classified by the
eigenvalues of the one-step Jacobian there. This is how Chang, Chen, Haber and
Chi (ICLR 2019, Figures 1 and 2) explain why a vanilla RNN forgets
(trajectories contract to the origin), why forward Euler on an antisymmetric
matrix spirals outwards, and why diffusion γ fixes it.

:func:`phase_portrait` computes everything into a :class:`PhasePortrait`;
:func:`rnndyn.plots.phase.plot_phase` draws one (no computation there).
:func:`~rnndyn.formatting.format_eigenvalues` is re-exported here for the titles.

References: see :mod:`rnndyn.references`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnndyn._validate import as_int, as_real_array, as_rng
from rnndyn.errors import ArgumentTypeError, ValidationError
from rnndyn.formatting import format_eigenvalues

__all__ = [
    "PhasePortrait",
    "phase_portrait",
    "random_inits",
    "describe_cell",
    "effective_matrix_label",
    "format_eigenvalues",
    "PAPER_INITS",
    "PAPER_STEPS",
    "PAPER_EPS",
    "PAPER_GAMMA",
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
        First non-finite step of each trajectory, −1 if none.
    grid : ndarray, (G, G, 2)
        Points of the vector-field grid; ``grid[i, j] = (x_j, y_i)``.
    field : ndarray, (G, G, 2)
        The displacement F(h) − h of one update at each grid point.
    speed : ndarray, (G, G)
        ‖F(h) − h‖ at each grid point.
    fixed_points : tuple of FixedPoint
        From :func:`rnndyn.fixed_points` (empty when not requested).
    stability : StabilityReport
        From :func:`rnndyn.stability`: eigenvalues of the effective matrix,
        max Re λ, Euler factor max|1 + ελ|, verdicts.
    xlim, ylim : (float, float)
        The plotted window (given, or fitted to trajectories and fixed points).
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
        return np.linalg.norm(self.trajectories[:, 0], axis=-1)

    @property
    def final_norms(self) -> np.ndarray:
        """‖h_T‖ of each trajectory, (K,) (NaN where it diverged)."""
        return np.linalg.norm(self.trajectories[:, -1], axis=-1)

    @property
    def smooth(self) -> np.ndarray:
        """Per trajectory: do successive steps turn by less than 60° (median)? (K,) bool.

        Small-step maps (the Euler cells) trace a curve, and are drawn as one;
        a vanilla RNN with a reflection or rotation jumps across the plane
        every step, and is drawn as points with faint connections instead.
        """
        d = np.diff(self.trajectories, axis=1)  # (K, T, 2)
        if d.shape[1] < 2:
            return np.ones(len(self.trajectories), bool)
        a, b = d[:, :-1], d[:, 1:]
        with np.errstate(invalid="ignore", divide="ignore"):
            cos = np.sum(a * b, axis=-1) / (np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1))
        out = np.ones(len(d), bool)
        for i, c in enumerate(cos):
            c = c[np.isfinite(c)]
            if c.size:
                out[i] = bool(np.median(c) > 0.5)
        return out


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
    return (float(a[0]), float(a[1]))


def _fit_limits(points: np.ndarray, pad: float = 0.12, min_half: float = 0.25, min_ratio: float = 0.4):
    """A window around ``points`` (P, 2): padded, never degenerate, never much thinner than wide."""
    pts = points[np.all(np.isfinite(points), axis=1)]
    if pts.size == 0:
        pts = np.zeros((1, 2))
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    center = (lo + hi) / 2
    half = np.maximum((hi - lo) / 2 * (1 + 2 * pad), min_half)
    # A trajectory along a line would give a sliver; keep both axes comparable
    # so the (equal-aspect) picture stays readable.
    half = np.maximum(half, min_ratio * half.max())
    return ((float(center[0] - half[0]), float(center[0] + half[0])),
            (float(center[1] - half[1]), float(center[1] + half[1])))


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
    if box is None:
        box = _DEFAULT_RANDOM_BOX
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
        The window; a missing one is fitted to the trajectories and the fixed
        points (padded, both axes of comparable size).
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

    Notes
    -----
    The field drawn is the displacement of one update, F(h) − h; for the Euler
    and antisymmetric cells it is ε·φ(Mh + b), the forward-Euler step along the
    ODE h' = φ(Mh + b) (Chang et al. 2019, Sec. 3). A trajectory that
    overflows is kept with NaN from its ``diverged_at`` step on (and a
    DivergenceWarning is issued by :func:`rnndyn.simulate`).

    Examples
    --------
    >>> import rnndyn as rd
    >>> cell = rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15)
    >>> p = rd.phase_portrait(cell, steps=50, grid=11)
    >>> p.trajectories.shape, p.field.shape
    ((3, 51, 2), (11, 11, 2))
    >>> p.eigenvalues.round(2)
    array([-0.15+2.j, -0.15-2.j])
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

    traj = simulate(cell, h0, steps=steps, record="all", backend=backend)
    states = np.asarray(traj.states, dtype=np.float64).reshape(h0.shape[0], steps + 1, 2)
    diverged_at = np.atleast_1d(np.asarray(traj.diverged_at, dtype=np.int64))

    fps = ()
    if fixed_points:
        from rnndyn.analysis.fixed_points import fixed_points as _fixed_points

        fps = tuple(_fixed_points(cell))

    if xlim is None or ylim is None:
        pts = [states.reshape(-1, 2)]
        if fps:
            pts.append(np.array([fp.state for fp in fps], dtype=np.float64).reshape(-1, 2))
        if xlim is not None:  # fit y to what is visible in the given x range
            pts = [p[(p[:, 0] >= xlim[0]) & (p[:, 0] <= xlim[1])] for p in pts]
        if ylim is not None:
            pts = [p[(p[:, 1] >= ylim[0]) & (p[:, 1] <= ylim[1])] for p in pts]
        fx, fy = _fit_limits(np.concatenate(pts))
        xlim = xlim if xlim is not None else fx
        ylim = ylim if ylim is not None else fy

    xs = np.linspace(xlim[0], xlim[1], G)
    ys = np.linspace(ylim[0], ylim[1], G)
    X, Y = np.meshgrid(xs, ys)
    pts = np.column_stack([X.ravel(), Y.ravel()])
    disp = cell.step(pts) - pts
    field = disp.reshape(G, G, 2)
    speed = np.hypot(field[..., 0], field[..., 1])

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
    )
