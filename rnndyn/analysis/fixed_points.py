"""Fixed points of a cell or map, their type (sink, source, saddle, neutral), and continua of them.

A fixed point solves F(h) = h for the update F(h) = step(h, x) with a constant
input x. For the Euler and antisymmetric cells F(h) − h = ε[z∘]φ(M h + V x + b),
so a fixed point is a zero of φ(M h + V x + b): for tanh or a linear activation a
solution of the linear system M h = −(V x + b) (one point, an affine subspace when
M is singular, or none), for ReLU the whole polyhedron {M h + V x + b ≤ 0}, for
the sigmoid none at all. These cases are decided exactly, by linear algebra and
linear programming; every other system is searched numerically.

Classification rule
-------------------
``kind`` says what the *iterated map* does near the point, which is what
trajectories computed with the cell show. It is decided by the eigenvalues μ of
the one-step Jacobian, with a neutral band of width ``neutral_tol`` (default
:data:`NEUTRAL_TOL`) around the unit circle: *neutral* when some
| |μ| − 1 | ≤ tol, otherwise *sink* when every |μ| < 1, *source* when every
|μ| > 1, *saddle* otherwise (:func:`classify_map`).

Euler-type cells (EulerRNN, AntisymmetricRNN: α = 1) are forward-Euler steps of
the ODE h' = [z∘]φ(M h + V x + b) (Chang et al., ICLR 2019), and their fixed
points are also the ODE's equilibria. For them ``ode_kind`` classifies the point
for the ODE, from the eigenvalues ν of its Jacobian diag([z∘]φ')·M (computed
directly, not as (μ − 1)/ε, which would lose the digits that decide
"neutral"), ``ode_eigenvalues``: *neutral* when some
|Re ν| ≤ tol·max(1, max|ν|), otherwise *sink* when every Re ν < 0, *source*
when every Re ν > 0, *saddle* otherwise (:func:`classify_ode`). Vanilla cells,
LSTMs and maps have no ODE: ``ode_kind`` and ``ode_eigenvalues`` are None.

The two differ where the step ε is too large for the ODE. At the origin of
``EulerRNN(W0, eps=0.1, gamma=0.15)`` (M = Wdiff), ν = −0.15 ± 2i: the ODE
spirals in (``ode_kind`` "sink"), but μ = 1 + εν has |μ| = 1.0051, so the
iterated map spirals out slowly (``kind`` "source"; forward Euler needs
γ ≥ 0.202 there, see :func:`rnndyn.stability`). With γ = 0 the ODE has a
centre (ν = ±2i, "neutral") and the map a source (|μ| = 1.0198); ``W−`` at
ε = 1.5 has ν = −2 (a sink of the ODE) and μ = −2 (a source of the map).

Continua
--------
Where the fixed points are not isolated (ReLU's region, a singular M with tanh
or a linear activation, a vanilla linear cell with W − I singular) they are
reported once, as a :class:`Continuum` (a description, its dimension, a few
sample points), instead of as dozens of :class:`FixedPoint` samples; see
:func:`fixed_points` for how a continuum is recognised in the numerical search.

Completeness
------------
The numerical search draws batches of random starts until two consecutive
batches find no new isolated point (or ``max_starts`` is reached), and says in
``FixedPoints.complete`` whether that criterion was met.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from rnndyn._validate import _describe, as_float, as_int, as_real_array, as_rng, check_memory
from rnndyn.analysis.stability import _eigvals
from rnndyn.errors import ArgumentTypeError, ValidationError
from rnndyn.kernels.numpy import cell as _ref
from rnndyn.kernels.scalar import LINEAR, RELU, SIGMOID, TANH
from rnndyn.systems.base import family_of

__all__ = ["NEUTRAL_TOL", "Continuum", "FixedPoint", "FixedPoints", "classify", "classify_map", "classify_ode",
           "fixed_points"]

#: Width of the neutral band of the classification (absolute on |μ| − 1 for the
#: map rule, relative to max(1, max|ν|) on Re ν for the ODE rule). Root finding
#: returns states to about 1e-10, so eigenvalues of the Jacobian evaluated there
#: carry errors of that order; 1e-6 keeps a verdict from flipping on rounding
#: while anything that decays or grows by less than 1e-6 per step (or unit time)
#: is, for all practical horizons, neutral.
NEUTRAL_TOL: float = 1e-6

#: Iterations of the batched Levenberg–Marquardt solver before scipy finishes
#: the stragglers.
_LM_ITERATIONS = 100

#: Singular values of M (or W − I) below this fraction of the largest count as zero when
#: deciding whether the linear system M h = −c has one solution or an affine subspace of them.
_RANK_RTOL = 1e-10

#: In the numerical search, singular values of J − I below this fraction of max(1, σ_max)
#: mark a null direction along which a continuum of fixed points may continue.
_NULL_RTOL = 1e-6

#: Relative length of the probe step along a null direction (times max(1, ‖h‖)).
_PROBE = 1e-3

#: Batches in a row without a new isolated point that end the search as complete.
_QUIET_BATCHES = 2

#: Sample points kept to show a continuum.
_MAX_SAMPLES = 8

KINDS = ("sink", "source", "saddle", "neutral")


@dataclass(frozen=True)
class FixedPoint:
    """One isolated fixed point h* = F(h*) of a cell or map.

    Attributes
    ----------
    state : ndarray, (n,)
    kind : {"sink", "source", "saddle", "neutral"}
        What the iterated map does there: from the map's eigenvalues μ, neutral
        when some | |μ| − 1 | ≤ ``neutral_tol`` (:func:`classify_map`).
    eigenvalues : ndarray of complex, (n,)
        μ of the one-step Jacobian of the map at the point, by descending modulus.
    eigenvectors : ndarray of complex, (n, n)
        Column i belongs to ``eigenvalues[i]``.
    residual : float
        ‖F(h*) − h*‖.
    ode_kind : {"sink", "source", "saddle", "neutral"} or None
        For Euler-type cells, the type of the point as an equilibrium of the ODE
        the cell discretises, from the sign of Re ν (:func:`classify_ode`); None
        for vanilla cells, LSTMs and maps.
    ode_eigenvalues : ndarray of complex, (n,), or None
        ν, the eigenvalues of the ODE's Jacobian diag([z∘]φ')·M, by descending
        real part; None where ``ode_kind`` is.
    """

    state: np.ndarray
    kind: str
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    residual: float
    ode_kind: str | None = None
    ode_eigenvalues: np.ndarray | None = None

    @property
    def is_origin(self) -> bool:
        """True when the point is exactly the origin."""
        return not np.any(self.state)


@dataclass(frozen=True)
class Continuum:
    """A set of fixed points that are not isolated.

    Attributes
    ----------
    description : str
        One line naming the set, e.g. "a continuum of fixed points: every h with
        W h + b ≤ 0 componentwise (ReLU), a 2-D region".
    dimension : int
        Its dimension (exact for Euler-type cells and vanilla linear cells; for
        the numerical search the number of independent directions along which it
        was found to continue, see :func:`fixed_points`).
    samples : ndarray, (k, n)
        A few points of it (at most 8, k ≥ 1), spread out, nearest the origin first.
    kind : {"sink", "source", "saddle", "neutral"}
        The map rule at ``samples[0]`` (for a continuum some |μ| is 1: usually "neutral").
    ode_kind : str or None
        The ODE rule at ``samples[0]`` for Euler-type cells, else None.
    """

    description: str
    dimension: int
    samples: np.ndarray
    kind: str
    ode_kind: str | None = None


class FixedPoints(tuple):
    """What :func:`fixed_points` returns: a tuple of the isolated :class:`FixedPoint` s, plus three attributes.

    Attributes
    ----------
    complete : bool
        True when the set is known to be complete: decided exactly (Euler-type
        cells, vanilla linear cells), or the numerical search met its stopping
        criterion (two batches in a row without a new isolated point) before
        ``max_starts``.
    n_starts : int
        Starting states actually solved, the origin included (0 when the answer
        came in closed form).
    continuum : Continuum or None
        The fixed points that are not isolated, if any (they are not in the tuple).
    """

    def __new__(cls, points=(), complete=True, n_starts=0, continuum=None):
        self = super().__new__(cls, points)
        self.__dict__.update(_complete=bool(complete), _n_starts=int(n_starts), _continuum=continuum)
        return self

    @property
    def complete(self) -> bool:
        """True when no fixed point is known to be missing (see the class docstring)."""
        return self._complete

    @property
    def n_starts(self) -> int:
        """Starting states solved, the origin included."""
        return self._n_starts

    @property
    def continuum(self) -> Continuum | None:
        """The non-isolated fixed points, or None."""
        return self._continuum

    def extra_fields(self) -> dict:
        """What :func:`rnndyn.save_result` stores besides the points (``complete``, ``n_starts``, ``continuum``)."""
        return {"complete": self.complete, "n_starts": self.n_starts, "continuum": self.continuum}

    def __repr__(self) -> str:
        return (f"FixedPoints({tuple.__repr__(self)}, complete={self.complete}, n_starts={self.n_starts}, "
                f"continuum={self.continuum!r})")


def classify_map(mu, neutral_tol=NEUTRAL_TOL) -> str:
    """The type of a fixed point of a map from its one-step Jacobian's eigenvalues μ.

    Parameters
    ----------
    mu : array_like of complex, (n,)
    neutral_tol : float
        Half-width of the neutral band around the unit circle.

    Returns
    -------
    str
        "neutral" when some | |μ| − 1 | ≤ neutral_tol, else "sink" when every
        |μ| < 1, "source" when every |μ| > 1, "saddle" otherwise.

    Examples
    --------
    >>> classify_map([0.985 + 0.2j, 0.985 - 0.2j])   # |μ| = 1.0051: spirals out
    'source'
    >>> classify_map([0.5, 2.0]), classify_map([1.0 + 1e-9])
    ('saddle', 'neutral')
    """
    return _kind_by_sign(np.abs(np.asarray(mu, dtype=complex)) - 1.0, neutral_tol)


def _kind_by_sign(x, band: float) -> str:
    """"neutral" when some x is within ±band of 0, else "sink" (all negative), "source" (all positive), "saddle"."""
    if np.any(np.abs(x) <= band):
        return "neutral"
    if np.all(x < 0):
        return "sink"
    if np.all(x > 0):
        return "source"
    return "saddle"


def classify_ode(nu, neutral_tol=NEUTRAL_TOL) -> str:
    """The type of an equilibrium of an ODE h' = f(h) from its Jacobian's eigenvalues ν.

    Parameters
    ----------
    nu : array_like of complex, (n,)
    neutral_tol : float
        Relative width of the neutral band: |Re ν| ≤ neutral_tol·max(1, max|ν|).

    Returns
    -------
    str
        "neutral" when some Re ν is in the band, else "sink" when every Re ν < 0,
        "source" when every Re ν > 0, "saddle" otherwise.

    Examples
    --------
    >>> classify_ode([-0.15 + 2j, -0.15 - 2j]), classify_ode([2j, -2j])
    ('sink', 'neutral')
    """
    v = np.asarray(nu, dtype=complex)
    band = neutral_tol * max(1.0, float(np.max(np.abs(v)))) if v.size else 0.0
    return _kind_by_sign(v.real, band)


def classify(mu, alpha=0.0, eps=1.0, nu=None, neutral_tol=NEUTRAL_TOL) -> str:
    """The type of a fixed point from its Jacobian's eigenvalues, by the map or the ODE rule.

    :func:`fixed_points` sets ``kind`` with ``alpha=0`` (the map rule) for every
    system and ``ode_kind`` with ``alpha=1`` for Euler-type cells.

    Parameters
    ----------
    mu : array_like of complex, (n,)
        Eigenvalues of the map's one-step Jacobian.
    alpha : float
        0: the map rule on μ (:func:`classify_map`). 1: the ODE rule
        (:func:`classify_ode`) on ν = (μ − 1)/ε, or on ``nu`` when given — the
        rule for the equilibria of the ODE an Euler-type cell discretises.
    eps : float
        The step ε (ODE rule only).
    nu : array_like of complex, optional
        The ODE Jacobian's eigenvalues when known more accurately than (μ − 1)/ε.
    neutral_tol : float
        Width of the neutral band.

    Returns
    -------
    str
        "sink", "source", "saddle" or "neutral".

    Examples
    --------
    >>> classify([1 + 0.2j, 1 - 0.2j], alpha=1.0, eps=0.1)   # W0's origin for the ODE: a centre
    'neutral'
    >>> classify([1 + 0.2j, 1 - 0.2j])                        # ... and for the map: |μ| = 1.0198
    'source'
    >>> classify([0.5, 2.0])
    'saddle'
    """
    mu = np.asarray(mu, dtype=complex)
    if alpha == 1.0:
        v = (mu - 1.0) / eps if nu is None else np.asarray(nu, dtype=complex)
        return classify_ode(v, neutral_tol)
    return classify_map(mu, neutral_tol)


def _bounds(bounds, n, p):
    if bounds is None:
        if p.alpha == 0.0 and p.act == TANH:
            return -np.ones(n), np.ones(n)  # a vanilla tanh state lives in [-1, 1]^n
        if p.alpha == 0.0 and p.act == SIGMOID:
            return np.zeros(n), np.ones(n)
        return -2.0 * np.ones(n), 2.0 * np.ones(n)
    if isinstance(bounds, (str, bytes)):
        raise ArgumentTypeError(f"bounds: expected (lo, hi) or an (n, 2) array, got {_describe(bounds)}")
    b = as_real_array(bounds, "bounds", ndim=(1, 2))
    if b.shape == (2,):
        lo, hi = np.full(n, b[0]), np.full(n, b[1])
    elif b.shape == (n, 2):
        lo, hi = b[:, 0].copy(), b[:, 1].copy()
    else:
        raise ValidationError(f"bounds: expected (lo, hi) or an ({n}, 2) array, got shape {b.shape}")
    if np.any(lo > hi):
        raise ValidationError(f"bounds: expected lo <= hi in every coordinate, got {b.tolist()}")
    return lo, hi


def _lm_solve(G, Jac, H, tol, iters, xtol=1e-9):
    """Batched Levenberg–Marquardt on G(H) = 0 for every row of H at once.

    Each start keeps its own damping λ: a step that lowers ‖G‖ is taken and λ
    shrinks, otherwise λ grows. Singular Jacobians (a continuum of solutions)
    are fine: the damped normal equations are always solvable. A start is done
    when ‖G‖ ≤ tol and its next step is below xtol·max(1, ‖h‖) — the second
    test matters at degenerate roots (tanh(h) = h at 0), where ‖G‖ drops below
    tol long before h reaches the root.
    """
    S, n = H.shape
    R = G(H)
    f = np.linalg.norm(R, axis=1)
    lam = np.full(S, 1e-3)
    eye = np.eye(n)
    active = np.isfinite(f) & (f > 0)
    for _ in range(iters):
        if not active.any():
            break
        idx = np.flatnonzero(active)
        Jg = Jac(H[idx])
        Jt = Jg.transpose(0, 2, 1)
        JtJ = Jt @ Jg
        g = (Jt @ R[idx][..., None])[..., 0]
        scale = np.maximum(np.trace(JtJ, axis1=1, axis2=2) / n, 1e-300)
        A = JtJ + (lam[idx] * scale)[:, None, None] * eye
        delta = -np.linalg.solve(A, g[..., None])[..., 0]
        small = np.linalg.norm(delta, axis=1) <= xtol * np.maximum(1.0, np.linalg.norm(H[idx], axis=1))
        done = small & (f[idx] <= tol)
        Hn = H[idx] + delta
        Rn = G(Hn)
        fn = np.linalg.norm(Rn, axis=1)
        better = np.isfinite(fn) & (fn < f[idx])
        ib = idx[better]
        H[ib], R[ib], f[ib] = Hn[better], Rn[better], fn[better]
        lam[ib] = np.maximum(lam[ib] / 5.0, 1e-15)
        lam[idx[~better]] *= 8.0
        active[idx[done]] = False
        # A start gives up when its damping exploded (a local minimum of ‖G‖ that is no root) or its
        # residual vanished exactly.
        active &= (f > 0) & (lam < 1e12)
    return H, f


def _dedupe(H, rows, err, tol):
    """Rows of H that are not within sqrt(tol)·max(1, ‖h‖) of a row with a smaller ``err``."""
    rows = rows[np.argsort(err[rows], kind="stable")]
    kept: list[int] = []
    K = np.empty((rows.size, H.shape[1]))
    for i in rows:
        h = H[i]
        r = np.sqrt(tol) * max(1.0, float(np.sqrt(h @ h)))
        if not kept or np.sqrt(np.min(((K[:len(kept)] - h) ** 2).sum(axis=1))) > r:
            K[len(kept)] = h
            kept.append(int(i))
    return np.array(kept, dtype=np.int64)


def _solve_all(G, Jac, starts, aim, tol, residual):
    """LM on every start, scipy on the stragglers, Newton polish of one point per cluster.

    ``residual(H)`` is the true ‖F(h) − h‖ of each row (G may be a rescaled or
    equivalent equation).
    """
    H, f = _lm_solve(G, Jac, starts.copy(), aim, _LM_ITERATIONS)
    if not np.all(f <= aim):
        import scipy.optimize  # only for stragglers: SciPy's optimisers take a second to import on a busy machine
    for i in np.flatnonzero(~(f <= aim)):
        h_i = starts[i]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                sol = scipy.optimize.root(lambda v: G(v[None])[0], h_i, jac=lambda v: Jac(v[None])[0],
                                          method="hybr", options={"xtol": 1e-14})
            except (ValueError, np.linalg.LinAlgError):  # pragma: no cover - defensive
                continue
        if np.all(np.isfinite(sol.x)):
            fi = float(np.linalg.norm(G(sol.x[None])[0]))
            if fi < f[i] or not np.isfinite(f[i]):
                H[i], f[i] = sol.x, fi

    # Polish one representative per cluster (the rest are duplicates), then merge again.
    reps = _dedupe(H, np.flatnonzero(np.isfinite(f) & (f <= tol)), f, tol)
    if reps.size:
        H[reps] = _newton_polish(G, Jac, H[reps].copy())
        f[reps] = np.linalg.norm(G(H[reps]), axis=1)
    return H, f, reps, residual(H[reps])


def _newton_polish(G, Jac, H, iters=80, xtol=1e-13):
    """Minimum-norm Newton steps (pseudo-inverse) on converged rows while ‖G‖ does not grow.

    Levenberg–Marquardt's damping stalls at degenerate roots, where the
    Jacobian's smallest singular value vanishes with the distance to the root
    (tanh(h) = h at 0: ‖G‖ ~ ‖h‖³/3 is below tol at ‖h‖ ~ 1e-4). Undamped Newton
    still contracts there (by 2/3 per step for a cubic), so a cluster of
    near-roots collapses onto the root instead of surviving deduplication.
    """
    act = np.ones(H.shape[0], bool)
    for _ in range(iters):
        idx = np.flatnonzero(act)
        if idx.size == 0:
            break
        R = G(H[idx])
        delta = -(np.linalg.pinv(Jac(H[idx]), rcond=1e-13) @ R[..., None])[..., 0]
        Hn = H[idx] + delta
        fn = np.linalg.norm(G(Hn), axis=1)
        ok = np.isfinite(fn) & (fn <= np.linalg.norm(R, axis=1))
        H[idx[ok]] = Hn[ok]
        small = np.linalg.norm(delta, axis=1) <= xtol * np.maximum(1.0, np.linalg.norm(H[idx], axis=1))
        act[idx[~ok | small]] = False
    return H


def _check_common(n_starts, max_starts, tol, neutral_tol, rng, n):
    n_starts = as_int(n_starts, "n_starts", minimum=0)
    # A batch of starts is solved at once: per start its state, residual and Jacobian, the normal
    # equations and their solution, a handful of (n, n) and (n,) arrays live together.
    check_memory(8.0 * (n_starts + 1) * (6 * n * n + 12 * n), f"solving {n_starts} starts at once",
                 "use fewer n_starts")
    return (n_starts, as_int(max_starts, "max_starts", minimum=0),
            as_float(tol, "tol", positive=True), as_float(neutral_tol, "neutral_tol", nonnegative=True),
            as_rng(rng))


def _frozen(h) -> np.ndarray:
    h = np.array(h, dtype=np.float64) + 0.0  # + 0.0 turns −0.0 into 0.0
    h.flags.writeable = False
    return h


def _eig_sorted(J):
    """μ by descending modulus (then real, imaginary part) and their eigenvectors."""
    mu, vec = scipy.linalg.eig(J, check_finite=False)
    order = np.lexsort((-mu.imag, -mu.real, -np.abs(mu)))
    return mu[order].astype(complex), vec[:, order].astype(complex)


def _spread(P, k, first=0):
    """Up to k rows of P: ``first``, then greedily the row farthest from those chosen."""
    chosen = [int(first)]
    d = np.linalg.norm(P - P[first], axis=1)
    floor = 1e-8 * max(1.0, float(np.max(np.abs(P))))
    while len(chosen) < min(k, P.shape[0]):
        i = int(np.argmax(d))
        if not d[i] > floor:
            break
        chosen.append(i)
        d = np.minimum(d, np.linalg.norm(P - P[i], axis=1))
    return _frozen(P[chosen])


def _continues(G, Jac, residual, P, tol, smooth=True):
    """For each row of P, the number of null directions of G's Jacobian along which fixed points continue.

    Returns that count and the number of singular values below the threshold (the nullity).

    A direction v counts when the Jacobian has a singular value ≤ _NULL_RTOL·max(1, σ_max)
    with right singular vector v (every right singular vector when not ``smooth``: at a ReLU kink
    the Jacobian is only one of the one-sided ones), and minimum-norm Newton steps from p ± δv, δ = _PROBE·max(1, ‖p‖),
    end on a fixed point (‖G‖ and the true residual ≤ tol) whose distance from p is between δ/2 and
    2δ: the fixed-point set passes through p and extends at least δ/2 along v. At an isolated
    degenerate root (tanh(h) = h at 0, where J − I = 0) Newton contracts back onto p instead.
    """
    dims = np.zeros(P.shape[0], dtype=np.int64)
    _, S, Vt = np.linalg.svd(Jac(P))
    null = S <= _NULL_RTOL * np.maximum(1.0, S[:, :1])
    nullity = null.sum(axis=1)
    if not smooth:
        null[:] = True
    ip, idir = np.nonzero(null)
    if ip.size == 0:
        return dims, nullity
    delta = (_PROBE * np.maximum(1.0, np.linalg.norm(P, axis=1)))[ip][:, None]
    V = Vt[ip, idir, :]
    base = np.vstack([P[ip], P[ip]])
    Q = _newton_polish(G, Jac, np.vstack([P[ip] + delta * V, P[ip] - delta * V]))
    dist = np.linalg.norm(Q - base, axis=1)
    d2 = np.concatenate([delta[:, 0], delta[:, 0]])
    ok = (np.linalg.norm(G(Q), axis=1) <= tol) & (residual(Q) <= tol) & (dist >= d2 / 2) & (dist <= 2 * d2)
    hit = ok.reshape(2, -1).any(axis=0)
    np.add.at(dims, ip[hit], 1)
    return dims, nullity


def _near(h, known, tol):
    if known.shape[0] == 0:
        return False
    return bool(np.min(np.linalg.norm(known - h, axis=1)) <= np.sqrt(tol) * max(1.0, float(np.linalg.norm(h))))


def _search(G, Jac, residual, draw, n, n_starts, max_starts, tol, aim, point, smooth=True):
    """Batches of random starts until two batches in a row find no new isolated fixed point.

    Returns FixedPoints with the isolated points (nearest the origin first) and, when some found
    points lie on a continuum (:func:`_continues`), a Continuum of them.
    """
    batch = max(64, 16 * n)
    starts = np.vstack([np.zeros((1, n)), draw(n_starts)])
    drawn, used, quiet, complete = n_starts, 0, 0, False
    iso, iso_res, cont, cont_dim = np.zeros((0, n)), np.zeros(0), np.zeros((0, n)), 0
    cont_rank = np.zeros(0, np.int64)
    while True:
        used += starts.shape[0]
        H, f, reps, res = _solve_all(G, Jac, starts, aim, tol, residual)
        ok = np.isfinite(res) & np.isfinite(f[reps]) & (res <= tol) & (f[reps] <= tol)
        err = np.full(H.shape[0], np.inf)
        err[reps] = res
        # merged again: polishing can bring representatives of different clusters together
        keep = _dedupe(H, reps[ok], err, tol)
        P, R = H[keep], err[keep]
        known = np.vstack([iso, cont])
        fresh = np.array([not _near(h, known, tol) for h in P], dtype=bool)
        P, R = P[fresh], R[fresh]
        if P.shape[0]:
            dims, nullity = _continues(G, Jac, residual, P, tol, smooth)
        else:
            dims = nullity = np.zeros(0, np.int64)
        single = dims == 0
        iso, iso_res = np.vstack([iso, P[single]]), np.concatenate([iso_res, R[single]])
        cont = np.vstack([cont, P[~single]])
        cont_rank = np.concatenate([cont_rank, dims[~single] * (n + 1) + nullity[~single]])
        cont_dim = max(cont_dim, int(dims.max(initial=0)))
        quiet = 0 if single.any() else quiet + 1
        if quiet >= _QUIET_BATCHES:
            complete = True
            break
        if drawn + batch > max_starts:
            break
        starts = draw(batch)
        drawn += batch
    order = sorted(range(iso.shape[0]), key=lambda i: (float(np.linalg.norm(iso[i])), tuple(iso[i])))
    pts = tuple(point(iso[i], iso_res[i]) for i in order)
    continuum = None
    if cont.shape[0]:
        # The representative continues in the most directions and has the largest nullity of J − I
        # (an interior point rather than a ReLU corner, whose one-sided Jacobian misleads), nearest
        # the origin among those.
        first = min(range(cont.shape[0]), key=lambda i: (-int(cont_rank[i]), float(np.linalg.norm(cont[i]))))
        samples = _spread(cont, _MAX_SAMPLES, first=first)
        rep = point(samples[0], 0.0)
        continuum = Continuum(
            f"a continuum of fixed points, {cont_dim}-D (found numerically: F − I is singular at "
            f"{cont.shape[0]} of the points found, and fixed points continue along its null directions)",
            cont_dim, samples, rep.kind, rep.ode_kind)
    return FixedPoints(pts, complete=complete, n_starts=used, continuum=continuum)


def _matrix_names(cell, p, c, with_x):
    """How the description of a continuum names M and the constant term c."""
    from rnndyn.systems.cells import AntisymmetricRNN

    gamma = float(getattr(cell, "gamma", 0.0) or 0.0)
    if p.alpha == 0.0:
        M = "(W − I)"
    elif isinstance(cell, AntisymmetricRNN):
        M = "(W − Wᵀ − γI)" if gamma else "(W − Wᵀ)"
    else:
        M = "(W − γI)" if gamma else "W"
    rhs = " + V x + b" if with_x else (" + b" if np.any(c) else "")
    return M, rhs


def _affine(A, c, point, residual, starts, tol, names, act):
    """Fixed points where they are the solutions of A h + c = 0: one point, an affine subspace, or none."""
    n = A.shape[0]
    U, S, Vt = np.linalg.svd(A)
    r = int(np.sum(S > _RANK_RTOL * S[0])) if S[0] > 0 else 0
    if r == n:
        h = np.linalg.solve(A, -c)
        h = h - np.linalg.solve(A, A @ h + c)  # one step of iterative refinement
        res = float(residual(h[None])[0])
        ok = res <= tol and np.linalg.norm(A @ h + c) <= tol
        return FixedPoints((point(h, res),) if ok else (), complete=ok, n_starts=0)
    hp = -(Vt[:r].T @ ((U[:, :r].T @ c) / S[:r]))  # the solution of least norm
    if not (np.linalg.norm(A @ hp + c) <= tol and residual(hp[None])[0] <= tol):
        return FixedPoints((), complete=True, n_starts=0)  # c is not in the range of A: no solution
    N = Vt[r:].T
    # Each start's nearest point of the subspace (one minimum-norm Newton step lands there); the
    # origin's is hp, listed first.
    proj = hp + (starts - hp) @ N @ N.T
    proj = proj[residual(proj) <= tol]
    samples = _spread(np.vstack([hp, proj]), _MAX_SAMPLES)
    rep = point(samples[0], 0.0)
    M, rhs = names
    k = n - r
    shape = "line" if k == 1 else "plane" if k == 2 else f"{k}-D affine subspace"
    desc = (f"a continuum of fixed points: the {shape} {{h : {M}h{rhs} = 0}} ({M} is singular, rank {r}; "
            f"{act} activation)")
    return FixedPoints((), complete=True, n_starts=starts.shape[0], continuum=Continuum(desc, k, samples, rep.kind,
                                                                                        rep.ode_kind))


def _linprog(cost, A_ub, b_ub, bounds):
    import scipy.optimize

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return scipy.optimize.linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=bounds, method="highs")


def _relu_region(M, c, point, residual, solve_samples, tol, names):
    """Fixed points of a ReLU Euler-type cell: the polyhedron {h : M h + c ≤ 0}, decided by linear programs.

    Maximise t subject to M h + c + t ≤ 0 (t ≤ 1, t free below). t < 0 means the set is empty; t > 0
    gives an interior point and the full dimension n; t = 0 (to 1e-9) leaves the implicit
    equalities E, the rows i whose slack −(M_i h + c_i) cannot be made positive on the set, and
    the dimension n − rank(M_E) of its affine hull (≥ 1, since n rows of rank n leave an interior),
    and a second program finds a point strict in the other rows (a relative interior point).
    """
    n = M.shape[0]
    thr = 1e-9 * max(1.0, float(np.max(np.abs(c), initial=0.0)))
    free = [(None, None)] * n
    lp = _linprog(np.r_[np.zeros(n), -1.0], np.hstack([M, np.ones((n, 1))]), -c, free + [(None, 1.0)])
    if lp.status != 0:  # pragma: no cover - HiGHS failing on a tiny dense program
        return None
    h0, t = lp.x[:n], -lp.fun
    if t < -thr:  # every h violates some inequality by at least −t: no fixed point
        return FixedPoints((), complete=True, n_starts=0)
    eq = []
    if not t > thr:
        for i in range(n):
            # maximise the slack −(M_i h + c_i) on the set, capped at 1
            li = _linprog(M[i], np.vstack([M, -M[i]]), np.r_[-c, c[i] + 1.0], free)
            if li.status == 0 and -(li.fun + c[i]) <= thr:
                eq.append(i)
    rank = 0
    if eq:
        s = np.linalg.svd(M[eq], compute_uv=False)
        rank = int(np.sum(s > _RANK_RTOL * s[0])) if s[0] > 0 else 0
    # rank(M_E) = n would need M_E = M of full rank, and then t > 0: the set is never a single point.
    dim = n - rank
    if eq and len(eq) < n:
        # a point of the relative interior, strict in every other row, to stand for the set
        rest = np.setdiff1d(np.arange(n), eq)
        A = np.vstack([np.hstack([M[rest], np.ones((rest.size, 1))]), np.hstack([M[eq], np.zeros((len(eq), 1))])])
        lp = _linprog(np.r_[np.zeros(n), -1.0], A, np.r_[-c[rest], -c[eq]], free + [(None, 1.0)])
        if lp.status == 0:
            h0 = lp.x[:n]
    landed, used = solve_samples()
    pool = [h0[None]] if residual(h0[None])[0] <= tol else []
    pool = np.vstack(pool + [landed]) if (pool or landed.shape[0]) else h0[None]
    samples = _spread(pool, _MAX_SAMPLES)
    rep = point(samples[0], 0.0)
    Mname, rhs = names
    what = f"a {n}-D region" if dim == n else f"a {dim}-D polyhedron"
    desc = f"a continuum of fixed points: every h with {Mname}h{rhs} ≤ 0 componentwise (ReLU), {what}"
    return FixedPoints((), complete=True, n_starts=used, continuum=Continuum(desc, dim, samples, rep.kind,
                                                                             rep.ode_kind))


def fixed_points(cell, x=None, n_starts=64, rng=0, tol=1e-10, bounds=None,
                 neutral_tol=NEUTRAL_TOL, max_starts=4096) -> FixedPoints:
    """Fixed points h* = F(h*, x) of a cell or map: isolated ones classified, continua described.

    Parameters
    ----------
    cell : VanillaRNN, EulerRNN, AntisymmetricRNN, LSTM or Map
        Any state size n. An LSTM (state [h; c]) or a Map is solved through its
        ``step`` and ``jacobian``.
    x : array_like, shape (d,), optional
        A constant input; None means no input term (the bias still applies).
    n_starts : int
        Random starting states of the first batch, drawn uniformly in
        ``bounds``; the origin is always tried in addition.
    rng : None, int or numpy.random.Generator
        Source of the starting states.
    tol : float
        A point is kept when ‖F(h) − h‖ ≤ tol.
    bounds : (lo, hi) or array_like (n, 2), optional
        The box the starts are drawn from (points found outside it are kept).
        Default [−1, 1]ⁿ for vanilla tanh cells, [0, 1]ⁿ for vanilla sigmoid
        cells (where their fixed points must lie), [−2, 2]ⁿ otherwise.
    neutral_tol : float
        Width of the neutral band of the classification: a point is
        "neutral" when some | |μ| − 1 | ≤ neutral_tol (module docstring).
    max_starts : int
        Cap on the random starts of the numerical search, all batches together
        (the first batch of ``n_starts`` is always drawn).

    Returns
    -------
    FixedPoints
        A tuple of the isolated :class:`FixedPoint` s, sorted by distance from
        the origin (so the origin, when one, comes first), each with state,
        ``kind`` (the map rule), eigenvalues and eigenvectors of the map's
        one-step Jacobian, residual, and for Euler-type cells ``ode_kind`` and
        ``ode_eigenvalues``; with the attributes ``complete``, ``n_starts``
        (starts solved, the origin included) and ``continuum`` (a
        :class:`Continuum` or None).

    Notes
    -----
    *Decided exactly.* For Euler-type cells z∘φ(a) = 0 ⇔ φ(a) = 0 with
    a = M h + c, c = V x + b. With tanh or a linear activation that is M h = −c:
    when M has full rank (singular values above 1e-10·σ_max) its one solution,
    found by a linear solve; otherwise the affine subspace of dimension
    n − rank(M), or nothing when −c is not in M's range. The same holds for a
    vanilla cell with a linear activation, with W − I for M. With ReLU it is
    the polyhedron {M h + c ≤ 0}; linear programs (``scipy.optimize.linprog``)
    decide whether it is empty or a continuum (n inequalities never pin down a single point), and its
    dimension. With the sigmoid there is none (σ > 0). A continuum's samples
    are the projections of the starts onto the subspace, or for ReLU an
    interior point and the points the solver below lands on. ``complete`` is
    True for all of these (False only when a unique solution fails the ``tol``
    test, for an ill-conditioned M).

    *Searched numerically* (vanilla tanh, ReLU and sigmoid cells, LSTMs, maps).
    A batch of starts (the origin and ``n_starts`` random states) is solved at
    once by a batched Levenberg–Marquardt iteration (NumPy over the starts) on
    G(h) = F(h) − h with the analytic Jacobian ``cell.jacobian(h, x) − I``.
    Starts left unconverged are retried one by one with
    ``scipy.optimize.root`` (``hybr``, same Jacobian). One point per cluster is
    then polished by minimum-norm Newton steps (which, unlike damped ones, still
    contract at degenerate roots such as tanh(h) = h at 0), and points closer
    than sqrt(tol)·max(1, ‖h‖) are merged. A found point is on a *continuum*
    when J − I has a singular value ≤ 1e-6·max(1, σ_max) there and Newton
    steps from the point displaced by ±δ, δ = 1e-3·max(1, ‖h‖), along the
    corresponding singular vector end on another fixed point between δ/2 and
    2δ away; the number of such directions is the continuum's dimension. (With
    ReLU every singular vector is probed, as the Jacobian at a kink is only
    one of the one-sided ones.) An isolated but degenerate point such as the
    origin of tanh(h) = h passes the first test and fails the second: Newton
    contracts back onto it.
    Further batches of max(64, 16·n) random starts follow until two batches in
    a row find no new isolated point — then ``complete`` is True — or the next
    batch would take the random starts beyond ``max_starts`` (``complete``
    False). Found points on a continuum do not count as new.

    Examples
    --------
    >>> import rnndyn as rd
    >>> fps = rd.fixed_points(rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15))
    >>> [(fp.kind, fp.ode_kind, fp.state.tolist()) for fp in fps], fps.complete
    ([('source', 'sink', [0.0, 0.0])], True)
    >>> round(float(abs(fps[0].eigenvalues[0])), 4)   # |μ| > 1: the map spirals out
    1.0051
    >>> fp = rd.fixed_points(rd.EulerRNN(rd.named_matrix("W0"), eps=0.1))[0]
    >>> fp.kind, fp.ode_kind
    ('source', 'neutral')
    >>> fps = rd.fixed_points(rd.EulerRNN(rd.named_matrix("W+"), eps=0.1, activation="relu"))
    >>> len(fps), fps.continuum.description
    (0, 'a continuum of fixed points: every h with Wh ≤ 0 componentwise (ReLU), a 2-D region')
    """
    if family_of(cell, "cell") != "cell":  # an LSTM or a Map: solved through its step and Jacobian, as a map
        return _map_fixed_points(cell, x, n_starts, rng, tol, bounds, neutral_tol, max_starts)
    p = cell.kernel_params()
    n = cell.n
    n_starts, max_starts, tol, neutral_tol, g = _check_common(n_starts, max_starts, tol, neutral_tol, rng, n)
    if x is None:
        X = np.zeros((1, cell.d))
    else:
        xa = as_real_array(x, "x", ndim=1)
        if xa.shape != (cell.d,):
            raise ValidationError(f"x: expected shape ({cell.d},) (the cell's input size), got {xa.shape}")
        X = xa[None, :]
    lo, hi = _bounds(bounds, n, p)
    eye = np.eye(n)
    c = (X @ p.V.T)[0] + p.b

    def Xb(H):
        return np.broadcast_to(X, (H.shape[0], X.shape[1]))

    def residual(Hs):
        with np.errstate(all="ignore"):
            return np.linalg.norm(_ref.step(Hs, Xb(Hs), *p) - Hs, axis=1)

    def point(h, res):
        h = _frozen(h)
        mu, vec = _eig_sorted(_ref.jacobian(h[None], X, *p)[0])
        nu = ode = None
        if p.alpha == 1.0:
            # ν from diag(D/ε)·M directly: (μ − 1)/ε would lose the digits that decide "neutral"
            D = _ref.step_derivative(h[None], X, *p)[0] / p.eps
            nu = np.asarray(_eigvals(D[:, None] * p.M), dtype=complex)
            nu = nu[np.lexsort((-nu.imag, -nu.real))]
            ode = classify_ode(nu, neutral_tol)
        return FixedPoint(h, classify_map(mu, neutral_tol), mu, vec, float(res), ode, nu)

    def draw(k):
        return lo + (hi - lo) * g.random((k, n))

    names = _matrix_names(cell, p, c, x is not None)
    if p.alpha == 1.0 and p.act == SIGMOID:
        # ε z∘σ(a) > 0 everywhere: an Euler cell with a sigmoid has no equilibrium.
        return FixedPoints((), complete=True, n_starts=0)
    if (p.alpha == 1.0 and p.act in (TANH, LINEAR)) or (p.alpha == 0.0 and p.act == LINEAR):
        A = p.M if p.alpha == 1.0 else p.M - eye
        act = "tanh" if p.act == TANH else "linear"
        return _affine(A, c, point, residual, np.vstack([np.zeros((1, n)), draw(n_starts)]), tol, names, act)

    s = p.eps if p.alpha == 1.0 else 1.0

    def G(H):
        with np.errstate(all="ignore"):
            return (_ref.step(H, Xb(H), *p) - H) / s

    def Jac(H):
        with np.errstate(all="ignore"):
            return (_ref.jacobian(H, Xb(H), *p) - eye) / s

    # The solver aims below tol in the scaled residual and in the true one.
    aim = 0.1 * tol * min(1.0, 1.0 / s)
    with np.errstate(all="ignore"):
        if p.alpha == 1.0 and p.act == RELU:
            def solve_samples():
                starts = np.vstack([np.zeros((1, n)), draw(n_starts)])
                H, f, reps, res = _solve_all(G, Jac, starts, aim, tol, residual)
                ok = np.isfinite(res) & (res <= tol) & (f[reps] <= tol)
                return H[reps[ok]], starts.shape[0]

            out = _relu_region(p.M, c, point, residual, solve_samples, tol, names)
            if out is not None:
                return out
        # Far-away iterates may overflow: that is expected, and every result is checked for finiteness.
        return _search(G, Jac, residual, draw, n, n_starts, max_starts, tol, aim, point, smooth=p.act != RELU)


def _map_fixed_points(m, x, n_starts, rng, tol, bounds, neutral_tol, max_starts):
    """Fixed points of a general :class:`~rnndyn.Map` or an LSTM (state [h; c]), classified as a map."""
    n = m.dim
    n_starts, max_starts, tol, neutral_tol, g = _check_common(n_starts, max_starts, tol, neutral_tol, rng, n)
    u = None if x is None else as_real_array(x, "x", ndim=1)
    if bounds is None:
        lo, hi = -2.0 * np.ones(n), 2.0 * np.ones(n)
    else:
        from types import SimpleNamespace

        lo, hi = _bounds(bounds, n, SimpleNamespace(alpha=1.0, act=LINEAR))
    eye = np.eye(n)

    def G(H):
        return m.step(H, u) - H

    def Jac(H):
        return m.jacobian(H, u) - eye

    def residual(Hs):
        return np.linalg.norm(G(Hs), axis=1)

    def point(h, res):
        h = _frozen(h)
        mu, vec = _eig_sorted(m.jacobian(h, u))
        return FixedPoint(h, classify_map(mu, neutral_tol), mu, vec, float(res))

    def draw(k):
        return lo + (hi - lo) * g.random((k, n))

    with np.errstate(all="ignore"):
        return _search(G, Jac, residual, draw, n, n_starts, max_starts, tol, 0.1 * tol, point)
