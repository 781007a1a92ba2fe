"""Fixed points of a cell and their type (sink, source, saddle, neutral).

A fixed point solves F(h) = h for the cell's update F(h) = step(h, x) with a
constant input x. For the Euler and antisymmetric cells F(h) − h = ε[z∘]φ(M h + V x + b),
so a fixed point is a zero of φ(M h + V x + b): for tanh a solution of the linear
system M h = −(V x + b), for ReLU a whole polyhedron {M h + V x + b ≤ 0}, for the
sigmoid none at all.

Classification rule
-------------------
Each point is classified by the eigenvalues of the linearisation of the
*dynamical system the cell stands for*, with a neutral band of relative width
``neutral_tol`` (default :data:`NEUTRAL_TOL`):

* Vanilla cells are maps h ↦ φ(W h + …); their one-step Jacobian's eigenvalues
  μ decide: *sink* when every |μ| < 1 − tol, *source* when every |μ| > 1 + tol,
  *neutral* when some | |μ| − 1 | ≤ tol, *saddle* otherwise.
* Euler and antisymmetric cells are forward-Euler steps of the ODE
  h' = [z∘]φ(M h + V x + b) (Chang et al. 2019), and their fixed points
  are the ODE's equilibria. They are classified by the ODE Jacobian's
  eigenvalues ν = (μ − 1)/ε, i.e. by the sign of Re ν: *sink* when every
  Re ν < −tol·max(1, max|ν|), *source* when every Re ν > +tol·max(1, max|ν|),
  *neutral* when some |Re ν| is within that band (a centre, or a continuum of
  equilibria), *saddle* otherwise.

The second rule is what makes Chang et al.'s three pictures come out as the
paper describes them: at the origin of ``EulerRNN(W, eps=0.1)`` with tanh, the map's
Jacobian is I + εM, so W0 (ν = ±2i, a centre: neutral) has |μ| = sqrt(1.04),
Wdiff = W0 − 0.15 I (ν = −0.15 ± 2i: a sink) has |μ| = 1.0051, and W+ (ν = 2, 2:
a source) has |μ| = 1.2. No band around |μ| = 1 can call the first neutral and
the second a sink, since Wdiff's |μ| is closer to 1 than W0's: both lie outside
the unit circle because forward Euler with ε = 0.1 is not stable for them (see
:func:`rnndyn.stability`: Wdiff needs γ ≥ 0.202). The ``eigenvalues`` attached to
every point are still the map's μ, so that discrete fact stays visible.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.optimize

from rnndyn._validate import _describe, as_float, as_int, as_real_array, as_rng
from rnndyn.analysis.stability import _eigvals
from rnndyn.errors import ArgumentTypeError, ValidationError
from rnndyn.kernels.numpy import cell as _ref
from rnndyn.kernels.scalar import LINEAR, SIGMOID, TANH
from rnndyn.systems.base import family_of

__all__ = ["NEUTRAL_TOL", "FixedPoint", "classify", "fixed_points"]

#: Relative width of the neutral band of the classification. Root finding
#: returns states to about 1e-10, so eigenvalues of the Jacobian evaluated there
#: carry errors of that order; 1e-6 keeps a verdict from flipping on rounding
#: while anything that decays or grows by less than 1e-6 per unit time is, for
#: all practical horizons, neutral.
NEUTRAL_TOL: float = 1e-6

#: Iterations of the batched Levenberg–Marquardt solver before scipy finishes
#: the stragglers.
_LM_ITERATIONS = 100

KINDS = ("sink", "source", "saddle", "neutral")


@dataclass(frozen=True)
class FixedPoint:
    """One fixed point h* = F(h*) of a cell.

    Attributes
    ----------
    state : ndarray, (n,)
    kind : {"sink", "source", "saddle", "neutral"}
        See the module's classification rule.
    eigenvalues : ndarray of complex, (n,)
        μ of the one-step Jacobian of the map at the point, by descending modulus.
    eigenvectors : ndarray of complex, (n, n)
        Column i belongs to ``eigenvalues[i]``.
    residual : float
        ‖F(h*) − h*‖.
    """

    state: np.ndarray
    kind: str
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    residual: float

    @property
    def is_origin(self) -> bool:
        """True when the point is exactly the origin."""
        return not np.any(self.state)


def classify(mu, alpha=0.0, eps=1.0, nu=None, neutral_tol=NEUTRAL_TOL) -> str:
    """The type of a fixed point from its Jacobian's eigenvalues.

    Parameters
    ----------
    mu : array_like of complex, (n,)
        Eigenvalues of the map's one-step Jacobian.
    alpha : float
        The cell's alpha: 0 for a vanilla cell (map rule), 1 for Euler-type
        cells (ODE rule on ν = (μ − 1)/ε).
    eps : float
        The step ε (ODE rule only).
    nu : array_like of complex, optional
        The ODE Jacobian's eigenvalues when known more accurately than (μ − 1)/ε.
    neutral_tol : float
        Relative width of the neutral band.

    Returns
    -------
    str
        "sink", "source", "saddle" or "neutral".

    Examples
    --------
    >>> classify([1 + 0.2j, 1 - 0.2j], alpha=1.0, eps=0.1)   # W0 under Euler: a centre
    'neutral'
    >>> classify([0.5, 2.0])
    'saddle'
    """
    mu = np.asarray(mu, dtype=complex)
    if alpha == 1.0:
        v = (mu - 1.0) / eps if nu is None else np.asarray(nu, dtype=complex)
        band = neutral_tol * max(1.0, float(np.max(np.abs(v))))
        x = v.real
        if np.any(np.abs(x) <= band):
            return "neutral"
        if np.all(x < 0):
            return "sink"
        if np.all(x > 0):
            return "source"
        return "saddle"
    r = np.abs(mu) - 1.0
    if np.any(np.abs(r) <= neutral_tol):
        return "neutral"
    if np.all(r < 0):
        return "sink"
    if np.all(r > 0):
        return "source"
    return "saddle"


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
    for i in rows:
        r = np.sqrt(tol) * max(1.0, float(np.linalg.norm(H[i])))
        if all(np.linalg.norm(H[i] - H[j]) > r for j in kept):
            kept.append(int(i))
    return np.array(kept, dtype=np.int64)


def _solve_all(G, Jac, starts, aim, tol, residual):
    """LM on every start, scipy on the stragglers, Newton polish of one point per cluster.

    ``residual(H)`` is the true ‖F(h) − h‖ of each row (G may be a rescaled or
    equivalent equation).
    """
    H, f = _lm_solve(G, Jac, starts.copy(), aim, _LM_ITERATIONS)
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


def fixed_points(cell, x=None, n_starts=64, rng=0, tol=1e-10, bounds=None,
                 neutral_tol=NEUTRAL_TOL) -> tuple[FixedPoint, ...]:
    """Fixed points h* = F(h*, x) of a cell, deduplicated and classified.

    Parameters
    ----------
    cell : VanillaRNN, EulerRNN, AntisymmetricRNN, LSTM or Map
        Any state size n. An LSTM (state [h; c]) or a Map is solved through its
        ``step`` and ``jacobian`` and classified by the map rule.
    x : array_like, shape (d,), optional
        A constant input; None means no input term (the bias still applies).
    n_starts : int
        Random starting states, drawn uniformly in ``bounds``; the origin is
        always tried in addition.
    rng : None, int or numpy.random.Generator
        Source of the starting states.
    tol : float
        A point is kept when ‖F(h) − h‖ ≤ tol.
    bounds : (lo, hi) or array_like (n, 2), optional
        The box the starts are drawn from (points found outside it are kept).
        Default [−1, 1]ⁿ for vanilla tanh cells, [0, 1]ⁿ for vanilla sigmoid
        cells (where their fixed points must lie), [−2, 2]ⁿ otherwise.
    neutral_tol : float
        Relative width of the neutral band (module docstring).

    Returns
    -------
    tuple of FixedPoint
        Sorted by distance from the origin (so the origin, when a fixed point,
        comes first). Each has state, kind, eigenvalues and eigenvectors of the
        map's one-step Jacobian, and residual.

    Notes
    -----
    All starts are solved at once by a batched Levenberg–Marquardt iteration
    (NumPy over the starts) on G(h) = (F(h) − h)/s with the analytic Jacobian
    (``cell.jacobian(h, x) − I``)/s, s = ε for Euler-type cells (so a small ε
    does not make every state look like a root). For Euler-type cells with tanh
    or a linear activation the equivalent G(h) = M h + V x + b is solved instead
    (z∘φ(a) = 0 ⇔ a = 0 there): the same roots, without tanh's saturation
    stalling the solver far from them. Starts left unconverged are retried one
    by one with ``scipy.optimize.root`` (``hybr``, same Jacobian) from their
    starting state. One point per cluster is then polished by minimum-norm
    Newton steps (which, unlike damped ones, still contract at degenerate roots
    such as tanh(h) = h at 0), and points closer than sqrt(tol)·max(1, ‖h‖) are
    merged. When the solutions form a continuum (a singular M with a linear
    activation, an odd-dimensional W − Wᵀ, ReLU's region M h + V x + b ≤ 0)
    the points the solver lands on are reported, deduplicated; they are
    classified neutral. An Euler-type cell with a sigmoid has no equilibrium
    (σ > 0) and gives ``()``. Classification: see the module docstring (map
    rule for vanilla cells, ODE rule for Euler-type cells).

    Examples
    --------
    >>> import rnndyn as rd
    >>> fps = rd.fixed_points(rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15))
    >>> [(fp.kind, fp.state.tolist()) for fp in fps]
    [('sink', [0.0, 0.0])]
    >>> rd.fixed_points(rd.EulerRNN(rd.named_matrix("W0"), eps=0.1))[0].kind
    'neutral'
    """
    if family_of(cell, "cell") != "cell":  # an LSTM or a Map: solved through its step and Jacobian, as a map
        return _map_fixed_points(cell, x, n_starts, rng, tol, bounds, neutral_tol)
    p = cell.kernel_params()
    n = cell.n
    n_starts = as_int(n_starts, "n_starts", minimum=0)
    tol = as_float(tol, "tol", positive=True)
    neutral_tol = as_float(neutral_tol, "neutral_tol", nonnegative=True)
    g = as_rng(rng)
    if x is None:
        X = np.zeros((1, cell.d))
    else:
        xa = as_real_array(x, "x", ndim=1)
        if xa.shape != (cell.d,):
            raise ValidationError(f"x: expected shape ({cell.d},) (the cell's input size), got {xa.shape}")
        X = xa[None, :]
    lo, hi = _bounds(bounds, n, p)

    eye = np.eye(n)

    def Xb(H):
        return np.broadcast_to(X, (H.shape[0], X.shape[1]))

    if p.alpha == 1.0 and p.act == SIGMOID:
        # ε z∘σ(a) > 0 everywhere: an Euler cell with a sigmoid has no equilibrium.
        return ()
    if p.alpha == 1.0 and p.act in (TANH, LINEAR):
        # z∘φ(a) = 0 ⇔ a = M h + V x + b = 0 (z > 0, and 0 is the only zero of tanh and of the
        # identity): the same roots, without tanh's saturation stalling the solver far away.
        c = (X @ p.V.T)[0] + p.b
        s = 1.0

        def G(H):
            return H @ p.M.T + c

        def Jac(H):
            return np.broadcast_to(p.M, (H.shape[0], n, n))
    else:
        s = p.eps if p.alpha == 1.0 else 1.0

        def G(H):
            with np.errstate(all="ignore"):
                return (_ref.step(H, Xb(H), *p) - H) / s

        def Jac(H):
            with np.errstate(all="ignore"):
                return (_ref.jacobian(H, Xb(H), *p) - eye) / s

    starts = np.vstack([np.zeros((1, n)), lo + (hi - lo) * g.random((n_starts, n))])
    # The solver aims below tol in the scaled residual and in the true one.
    aim = 0.1 * tol * min(1.0, 1.0 / s)
    # Far-away iterates may overflow: that is expected, and every result is checked for finiteness.
    with np.errstate(all="ignore"):
        H, f, reps, resid = _solve_all(G, Jac, starts, aim, tol,
                                       lambda Hs: np.linalg.norm(_ref.step(Hs, Xb(Hs), *p) - Hs, axis=1))
        return _classified(H, f, reps, resid, tol, neutral_tol, p, X)


def _classified(H, f, reps, resid, tol, neutral_tol, p, X):
    """The accepted, deduplicated points as FixedPoint records, nearest the origin first."""
    res = np.full(H.shape[0], np.inf)
    res[reps] = resid
    # Both the true residual and the ε-scaled one must be small: with a tiny ε every state has a tiny
    # ‖F(h) − h‖, but only a root of φ(M h + V x + b) is an equilibrium.
    good = reps[np.isfinite(res[reps]) & np.isfinite(f[reps]) & (res[reps] <= tol) & (f[reps] <= tol)]
    kept = sorted(_dedupe(H, good, res, tol).tolist(), key=lambda i: (float(np.linalg.norm(H[i])), tuple(H[i])))

    out = []
    for i in kept:
        h = H[i].copy()
        h.flags.writeable = False
        Hi = h[None]
        J = _ref.jacobian(Hi, X, *p)[0]
        mu, vec = scipy.linalg.eig(J, check_finite=False)
        order = np.lexsort((-mu.imag, -mu.real, -np.abs(mu)))
        mu, vec = mu[order].astype(complex), vec[:, order].astype(complex)
        nu = None
        if p.alpha == 1.0:
            # ν from diag(D/ε)·M directly: (μ − 1)/ε would lose the digits that decide "neutral"
            D = _ref.step_derivative(Hi, X, *p)[0] / p.eps
            nu = _eigvals(D[:, None] * p.M)
        kind = classify(mu, p.alpha, p.eps, nu=nu, neutral_tol=neutral_tol)
        out.append(FixedPoint(h, kind, mu, vec, float(res[i])))
    return tuple(out)


def _map_fixed_points(m, x, n_starts, rng, tol, bounds, neutral_tol):
    """Fixed points of a general :class:`~rnndyn.Map` or an LSTM (state [h; c]), classified as a map."""
    n = m.dim
    n_starts = as_int(n_starts, "n_starts", minimum=0)
    tol = as_float(tol, "tol", positive=True)
    neutral_tol = as_float(neutral_tol, "neutral_tol", nonnegative=True)
    g = as_rng(rng)
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

    starts = np.vstack([np.zeros((1, n)), lo + (hi - lo) * g.random((n_starts, n))])
    with np.errstate(all="ignore"):
        H, f, reps, resid = _solve_all(G, Jac, starts, 0.1 * tol, tol, lambda Hs: np.linalg.norm(G(Hs), axis=1))
    good = reps[np.isfinite(resid) & (resid <= tol)]
    err = np.full(H.shape[0], np.inf)
    err[reps] = resid
    kept = sorted(_dedupe(H, good, err, tol).tolist(), key=lambda i: (float(np.linalg.norm(H[i])), tuple(H[i])))
    out = []
    for i in kept:
        h = H[i].copy()
        h.flags.writeable = False
        mu, vec = scipy.linalg.eig(m.jacobian(h, u), check_finite=False)
        order = np.lexsort((-mu.imag, -mu.real, -np.abs(mu)))
        mu, vec = mu[order].astype(complex), vec[:, order].astype(complex)
        out.append(FixedPoint(h, classify(mu, 0.0, neutral_tol=neutral_tol), mu, vec, float(err[i])))
    return tuple(out)
