"""Orbits of one-dimensional maps: orbits, cobwebs, fixed and periodic points, bifurcation data.

The algorithms over :class:`~rnndyn.systems.map1d.Map1D` (Grosse, CSC321
Lecture 15, "Iterated Functions"): :func:`orbit`, :func:`cobweb`,
:func:`fixed_points` (fixed and periodic points, classified sink / source /
neutral), :func:`lyapunov_1d`, :func:`compositions` (the curves of f, f∘f, …
over an interval, a :class:`Compositions`), :func:`cobweb_diagram` (graph,
cobweb paths, orbits and fixed points of one picture, a :class:`CobwebDiagram`)
and :func:`bifurcation` (orbit diagram over a parameter grid, numba kernel
``bifurcation``). The results are what :mod:`rnndyn.plots.orbits1d` draws.

References: see :mod:`rnndyn.references`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq, minimize_scalar

from rnndyn._validate import _describe, as_float, as_int, as_real_array, check_memory, choice
from rnndyn.backends.drivers import kernel_array
from rnndyn.errors import ArgumentTypeError, DivergenceWarning, ValidationError
from rnndyn.kernels.params import MAP1D_KINDS
from rnndyn.systems.map1d import Map1D, _as_map, compose

__all__ = [
    "BifurcationResult",
    "CobwebDiagram",
    "Compositions",
    "FixedPoint",
    "bifurcation",
    "cobweb",
    "cobweb_diagram",
    "compositions",
    "fixed_points",
    "lyapunov_1d",
    "orbit",
]


@dataclass(frozen=True)
class FixedPoint:
    """A fixed point (``period == 1``) or a point of a p-cycle of a 1-D map.

    Attributes
    ----------
    x : float
        The point, ``f^p(x) = x``.
    derivative : float
        The multiplier ``(f^p)'(x)``: ``f'(x)`` for a fixed point, the product of
        ``f'`` over the cycle otherwise.
    kind : str
        ``"sink"`` (``|derivative| < 1``, attracting), ``"source"``
        (``|derivative| > 1``, repelling) or ``"neutral"`` (``|derivative| ≈ 1``).
    period : int
        The period p.
    """

    x: float
    derivative: float
    kind: str
    period: int = 1


@dataclass(frozen=True)
class BifurcationResult:
    """Orbit diagram of a one-parameter map family (see :func:`bifurcation`).

    Attributes
    ----------
    params : ndarray, shape (P,)
        The parameter values (r for logistic, c for quadratic, mu for tent).
    orbits : ndarray, shape (P, keep)
        ``orbits[i, j] = x_{transient + j}`` for parameter ``params[i]``.
    map : str
        The family.
    x0 : float
        The common initial state.
    transient : int
        The number of discarded steps.
    """

    params: np.ndarray
    orbits: np.ndarray
    map: str
    x0: float
    transient: int


@dataclass(frozen=True, eq=False)
class Compositions:
    """The graphs of f, f∘f, f∘f∘f, … over an interval (see :func:`compositions`).

    Attributes
    ----------
    map : str
        The map's canonical name (``"logistic:3.5"``, or its expression).
    formula : str
        The formula of f for titles (its expression, else its name).
    ks : tuple of int
        The numbers of compositions, one curve each.
    x : ndarray, shape (samples,)
        The sample points, evenly spaced over ``interval``.
    curves : ndarray, shape (len(ks), samples)
        ``curves[i] = f^{ks[i]}(x)`` (``f^0`` is the identity).
    interval : (float, float)
        ``(lo, hi)``.
    """

    map: str
    formula: str
    ks: tuple
    x: np.ndarray
    curves: np.ndarray
    interval: tuple


@dataclass(frozen=True, eq=False)
class CobwebDiagram:
    """Everything a cobweb picture of a 1-D map shows (see :func:`cobweb_diagram`).

    Attributes
    ----------
    map : str
        The map's canonical name.
    formula : str
        The formula of f for titles.
    interval : (float, float)
        The drawn x (and y) range, where fixed points were searched.
    x : ndarray, shape (samples,)
        Points of the graph of f.
    graph : ndarray, shape (samples,)
        ``f(x)``.
    x0 : ndarray, shape (m,)
        The initial states.
    steps : int
        Steps per orbit.
    orbits : ndarray, shape (m, steps + 1)
        ``orbits[i, t] = f^t(x0[i])``; an escaping orbit holds ``inf``/``nan`` (reported by a
        :class:`~rnndyn.DivergenceWarning` naming its start and step).
    paths : ndarray, shape (m, 2 * steps + 1, 2)
        The cobweb polyline of each orbit (:func:`cobweb`).
    fixed_points : tuple of FixedPoint
        The fixed points in ``interval``, classified (:func:`fixed_points`).
    """

    map: str
    formula: str
    interval: tuple
    x: np.ndarray
    graph: np.ndarray
    x0: np.ndarray
    steps: int
    orbits: np.ndarray
    paths: np.ndarray
    fixed_points: tuple


def _frozen(a) -> np.ndarray:
    a = np.array(a, dtype=np.float64)
    a.flags.writeable = False
    return a


def _formula(m: Map1D) -> str:
    return m.expr if m.expr else m.name


def _step(m: Map1D, x: np.ndarray) -> np.ndarray:
    y = np.asarray(m.f(x), dtype=np.float64)
    if y.shape != x.shape:
        raise ValidationError(
            f"f: the map {m.name!r} returned shape {y.shape} for an input of shape {x.shape}; "
            "a map must be elementwise"
        )
    return y


def _escape_steps(orbits: np.ndarray) -> np.ndarray:
    """First step at which each orbit (a column of ``orbits``, time first) is non-finite; -1 for none."""
    bad = ~np.isfinite(orbits.reshape(orbits.shape[0], -1))
    return np.where(bad.any(axis=0), bad.argmax(axis=0), -1)


def _warn_escapes(first: np.ndarray, starts: np.ndarray, what: str = "orbit", start_name: str = "x0",
                  when: str = "at") -> None:
    """One DivergenceWarning naming the escaping orbits' starts and steps (the earliest first), as the cells do."""
    bad = np.flatnonzero(first >= 0)
    if not bad.size:
        return
    order = bad[np.argsort(first[bad], kind="stable")]
    shown = ", ".join(f"{start_name} = {float(starts[i]):.6g} {when} step {int(first[i])}" for i in order[:3])
    more = f" and {order.size - 3} more" if order.size > 3 else ""
    k = order.size
    warnings.warn(f"{k} {what}{'' if k == 1 else 's'} of {first.size} became non-finite ({shown}{more}); "
                  f"the later states are inf/nan", DivergenceWarning, stacklevel=3)


def _as_states(x0) -> np.ndarray:
    """x0 as a float64 array of shape () or (m,)."""
    x = as_real_array(x0, "x0", ndim=(0, 1))
    return x.reshape(()) if np.ndim(x0) == 0 else x


def orbit(f, x0, steps) -> np.ndarray:
    """The orbit ``x_0, f(x_0), f(f(x_0)), …`` of one or several initial states.

    Parameters
    ----------
    f : Map1D or str
        The map.
    x0 : float or array_like, shape (m,)
        Initial state(s), finite.
    steps : int
        Number of steps, ``>= 0``.

    Returns
    -------
    ndarray, shape (steps + 1,) or (steps + 1, m)
        ``out[t] = f^t(x0)``. An orbit that escapes holds ``inf`` / ``nan`` from
        the step it left the floating-point range, and one
        :class:`~rnndyn.DivergenceWarning` names its initial state and that step.

    Examples
    --------
    >>> orbit("quadratic:0.15", 0.5, 3).round(4)
    array([0.5   , 0.4   , 0.31  , 0.2461])
    >>> orbit("logistic:2.5", [0.1, 0.9], 2).shape
    (3, 2)
    """
    m = _as_map(f, "f")
    x = _as_states(x0)
    steps = as_int(steps, "steps", minimum=0)
    check_memory((steps + 1) * max(x.size, 1) * 8.0, f"steps: an orbit of {steps} steps of {max(x.size, 1)} states",
                 "ask for fewer steps")
    out = _iterate(m, x, steps)
    _warn_escapes(_escape_steps(out), np.atleast_1d(x))
    return out


def _iterate(m: Map1D, x: np.ndarray, steps: int) -> np.ndarray:
    out = np.empty((steps + 1,) + x.shape)
    out[0] = x
    with np.errstate(all="ignore"):  # an escape is reported once, by the caller, with its start and step
        for t in range(steps):
            out[t + 1] = _step(m, out[t])
    return out


def cobweb(f, x0, steps) -> np.ndarray:
    """Vertices of the cobweb diagram of an orbit.

    From ``(x_0, x_0)`` on the diagonal, the path goes vertically to the graph,
    ``(x_t, x_{t+1})``, then horizontally back to the diagonal,
    ``(x_{t+1}, x_{t+1})``; drawn over ``y = f(x)`` and ``y = x`` it shows the
    orbit (CSC321 Lecture 15, "determine the behavior of repeated iterations
    visually").

    Parameters
    ----------
    f : Map1D or str
        The map.
    x0 : float
        Initial state.
    steps : int
        Number of steps, ``>= 0``.

    Returns
    -------
    ndarray, shape (2 * steps + 1, 2)
        Polyline vertices ``(x, y)``.

    Examples
    --------
    >>> cobweb("quadratic:0.15", 0.5, 2)
    array([[0.5 , 0.5 ],
           [0.5 , 0.4 ],
           [0.4 , 0.4 ],
           [0.4 , 0.31],
           [0.31, 0.31]])
    """
    x = as_float(x0, "x0")
    xs = orbit(f, x, steps)
    v = np.empty((2 * len(xs) - 1, 2))
    v[0::2, 0] = xs
    v[0::2, 1] = xs
    v[1::2, 0] = xs[:-1]
    v[1::2, 1] = xs[1:]
    return v


#: The widest interval sampled and drawn.
MAX_INTERVAL_WIDTH = 1e300


def _check_interval(interval, argname: str = "interval") -> tuple[float, float]:
    if isinstance(interval, (str, bytes)) or not hasattr(interval, "__len__") or len(interval) != 2:
        raise ValidationError(f"{argname}: expected a pair (lo, hi) with lo < hi, got {_describe(interval)}")
    lo = as_float(interval[0], f"{argname}[0]")
    hi = as_float(interval[1], f"{argname}[1]")
    if not lo < hi:
        raise ValidationError(f"{argname}: expected lo < hi, got ({lo}, {hi})")
    with np.errstate(over="ignore"):
        width = hi - lo
    # sampling an infinite width (linspace) overflows, and no axis can draw one beyond ~1e300 (its ticks overflow)
    if not width <= MAX_INTERVAL_WIDTH:
        raise ValidationError(f"{argname}: expected an interval of finite width (hi - lo at most "
                              f"{MAX_INTERVAL_WIDTH:g}), got ({lo:g}, {hi:g})")
    return lo, hi


def _divisors(p: int) -> list[int]:
    return [d for d in range(1, p) if p % d == 0]


#: Absolute resolution of the bracketing root search.
_XTOL = 1e-15


def fixed_points(
    f,
    interval=(0.0, 1.0),
    *,
    period: int = 1,
    samples: int = 2001,
    neutral_tol: float = 1e-8,
    exact_period: bool = True,
) -> tuple[FixedPoint, ...]:
    """All fixed points (or period-p points) of a 1-D map in an interval, classified.

    Parameters
    ----------
    f : Map1D or str
        The map.
    interval : (float, float)
        ``(lo, hi)`` with ``lo < hi``, searched closed.
    period : int
        Find the roots of ``f^p(x) - x`` (``p >= 1``; 1: fixed points).
    samples : int
        Grid points on which sign changes are looked for (``>= 3``); roots
        closer together than the grid spacing may be missed.
    neutral_tol : float
        ``|multiplier|`` within this of 1 is classified ``"neutral"``.
    exact_period : bool
        For ``period > 1``, drop points whose minimal period is a proper divisor
        of p (the fixed points are also roots of ``f^2(x) - x``).

    Returns
    -------
    tuple of FixedPoint, sorted by x
        Each with its multiplier ``(f^p)'(x)`` and kind: ``"sink"`` when
        ``|f'| < 1``, ``"source"`` when ``|f'| > 1``, ``"neutral"`` otherwise.

    Notes
    -----
    ``g(x) = f^p(x) - x`` is sampled on a uniform grid; every sign change is
    refined by Brent's method (:func:`scipy.optimize.brentq`), sign changes at
    poles (``|g|`` large at the limit) are discarded, and a grid-local minimum of
    ``|g|`` without a sign change is refined by bounded minimisation and kept when
    ``|g|`` is below 1e-10 (a tangency, e.g. at a saddle-node bifurcation).
    Grosse, CSC321 Lecture 15: fixed points are where f crosses ``x_{t+1} = x_t``;
    sinks have ``|f'| < 1``, sources ``|f'| > 1``.

    Examples
    --------
    >>> for p in fixed_points("quadratic:0.15"):
    ...     print(f"{p.x:.4f} {p.derivative:.4f} {p.kind}")
    0.1838 0.3675 sink
    0.8162 1.6325 source
    >>> [round(p.x, 4) for p in fixed_points("logistic:3.2", period=2)]
    [0.513, 0.7995]
    """
    m = _as_map(f, "f")
    lo, hi = _check_interval(interval)
    period = as_int(period, "period", minimum=1, maximum=64)
    samples = as_int(samples, "samples", minimum=3, maximum=10**7)
    neutral_tol = as_float(neutral_tol, "neutral_tol", nonnegative=True)
    if not isinstance(exact_period, (bool, np.bool_)):
        raise ArgumentTypeError(f"exact_period: expected a bool, got {_describe(exact_period)}")

    F = compose(m, period) if period > 1 else m

    def g(x):
        return np.asarray(F.f(np.asarray(x, dtype=np.float64)), dtype=np.float64) - x

    def g_scalar(x):
        return float(g(np.float64(x)))

    grid = np.linspace(lo, hi, samples)
    with np.errstate(all="ignore"):
        gv = g(grid)
    if gv.shape != grid.shape:
        raise ValidationError(f"f: the map {m.name!r} is not elementwise (returned shape {gv.shape})")

    candidates = list(grid[gv == 0.0])
    finite = np.isfinite(gv)
    s = np.sign(gv)
    change = np.nonzero(finite[:-1] & finite[1:] & (s[:-1] * s[1:] < 0))[0]
    with np.errstate(all="ignore"):
        for i in change:
            r = brentq(g_scalar, grid[i], grid[i + 1], xtol=_XTOL, rtol=4 * np.finfo(float).eps)
            # Brent stops within xtol of the root, so a root at 0 comes back as ~1e-18; the nearest
            # multiple of xtol is kept when it is at least as good a root (it is exact there).
            q = float(np.round(r / _XTOL) * _XTOL)
            gq = g_scalar(q)
            if gq == 0.0 or abs(gq) < abs(g_scalar(r)):
                r = q
            if abs(g_scalar(r)) <= 1e-6 * (1.0 + abs(r)):  # not a pole
                candidates.append(r)
        ag = np.abs(gv)
        inner = np.arange(1, samples - 1)
        touch = inner[
            finite[inner - 1]
            & finite[inner + 1]
            & (ag[inner] > 0)
            & (ag[inner] <= ag[inner - 1])
            & (ag[inner] <= ag[inner + 1])
            & (s[inner - 1] == s[inner])
            & (s[inner + 1] == s[inner])
        ]
        for i in touch:
            res = minimize_scalar(
                lambda x: abs(g_scalar(x)),
                bounds=(grid[i - 1], grid[i + 1]),
                method="bounded",
                options={"xatol": 1e-14},
            )
            if abs(g_scalar(res.x)) <= 1e-10:
                candidates.append(float(res.x))

    candidates.sort()
    roots: list[float] = []
    for r in candidates:
        if lo <= r <= hi and (not roots or abs(r - roots[-1]) > 1e-9 * max(1.0, abs(r))):
            roots.append(float(r))

    if period > 1 and exact_period:
        divs = _divisors(period)
        roots = [
            r
            for r in roots
            if all(abs(compose(m, d).f(r) - r) > 1e-8 * (1.0 + abs(r)) for d in divs)
        ]

    out = []
    for r in roots:
        d = float(F.df(r))
        a = abs(d)
        if abs(a - 1.0) <= neutral_tol:
            kind = "neutral"
        elif a < 1.0:
            kind = "sink"
        else:
            kind = "source"
        out.append(FixedPoint(x=r, derivative=d, kind=kind, period=period))
    return tuple(out)


def lyapunov_1d(f, x0, steps: int = 10_000, transient: int = 1_000):
    """Lyapunov exponent of a 1-D map: the mean of ``log |f'(x_t)|`` along an orbit.

    Parameters
    ----------
    f : Map1D or str
        The map.
    x0 : float or array_like, shape (m,)
        Initial state(s).
    steps : int
        Steps averaged over, ``>= 1``.
    transient : int
        Steps discarded first, ``>= 0``.

    Returns
    -------
    float, or ndarray of shape (m,)
        ``λ = (1/steps) Σ_{t=transient}^{transient+steps-1} log|f'(x_t)|``:
        negative on a stable cycle (``-inf`` on a superstable one), positive on
        chaos; ``ln 2`` for the logistic map at r = 4 and for the tent map at
        mu = 2.

    Notes
    -----
    The one-dimensional case of the exponents in :mod:`rnndyn` (the product of
    Jacobians along an orbit, CSC321 Lecture 15): the derivative of
    ``f^T`` is ``Π f'(x_t)``, so ``λ`` is its growth rate.

    Examples
    --------
    >>> round(lyapunov_1d("logistic:2.5", 0.3, steps=1000), 4)  # log|f'(0.6)| = log 0.5
    -0.6931
    """
    m = _as_map(f, "f")
    x = _as_states(x0)
    steps = as_int(steps, "steps", minimum=1)
    transient = as_int(transient, "transient", minimum=0)
    with np.errstate(all="ignore"):
        for _ in range(transient):
            x = _step(m, x)
        acc = np.zeros(x.shape)
        for _ in range(steps):
            acc += np.log(np.abs(np.asarray(m.df(x), dtype=np.float64)))
            x = _step(m, x)
    lam = acc / steps
    return float(lam) if lam.ndim == 0 else lam


def bifurcation(
    r_values,
    x0: float = 0.5,
    transient: int = 500,
    keep: int = 200,
    map: str = "logistic",  # noqa: A002 - the public name of the option
    *,
    backend: str = "cpu",
) -> BifurcationResult:
    """Orbit diagram: the long-run states of a map family over a parameter grid.

    Parameters
    ----------
    r_values : array_like, shape (P,)
        Parameter values, finite (r of the logistic map, c of the quadratic map,
        mu of the tent map).
    x0 : float
        Initial state for every parameter.
    transient : int
        Steps discarded, ``>= 0``.
    keep : int
        Steps recorded after the transient, ``>= 1``.
    map : {"logistic", "quadratic", "tent"}
        ``r x (1 - x)``, ``x² + c`` or ``mu min(x, 1 - x)``.
    backend : {"cpu", "reference"}
        The numba kernel (parallel over parameters) or its NumPy oracle.

    Returns
    -------
    BifurcationResult
        ``params`` (P,) and ``orbits`` (P, keep) with
        ``orbits[i, j] = x_{transient + j}``; read-only. Escaping orbits (e.g.
        quadratic with c > 1/4) hold ``inf``/``nan``, and one
        :class:`~rnndyn.DivergenceWarning` names their parameters.

    See Also
    --------
    rnndyn.kernels.cpu.bifurcation, rnndyn.kernels.numpy.bifurcation

    Examples
    --------
    >>> res = bifurcation([2.5, 3.2], transient=1000, keep=4)
    >>> res.orbits.round(4)
    array([[0.6   , 0.6   , 0.6   , 0.6   ],
           [0.513 , 0.7995, 0.513 , 0.7995]])
    """
    params = as_real_array(r_values, "r_values", ndim=1)
    if params.size == 0:
        raise ValidationError("r_values: expected at least one parameter value, got an empty array")
    x0 = as_float(x0, "x0")
    transient = as_int(transient, "transient", minimum=0)
    keep = as_int(keep, "keep", minimum=1)
    family = choice(map, "map", MAP1D_KINDS)
    backend = choice(backend, "backend", ("cpu", "reference"))
    check_memory(params.size * keep * 8.0, f"keep: {keep} states for each of {params.size} parameters",
                 "keep fewer states")
    out = np.empty((params.size, keep))
    if backend == "cpu":
        from rnndyn.kernels.cpu import bifurcation as kernel
    else:
        from rnndyn.kernels.numpy import bifurcation as kernel
    with np.errstate(all="ignore"):  # an escape is reported once, below, with its parameter
        kernel(MAP1D_KINDS[family], kernel_array(params), x0, transient, out)  # one compiled signature
    first = _escape_steps(out.T)
    # the states before the kept window are not stored: an orbit non-finite from its first kept state
    # escaped during the transient, by that step
    _warn_escapes(np.where(first >= 0, first + transient, -1), params, start_name="parameter",
                  when="by" if np.any(first == 0) else "at")
    params = params.copy()
    params.flags.writeable = False
    out.flags.writeable = False
    return BifurcationResult(params=params, orbits=out, map=family, x0=x0, transient=transient)


def compositions(f, ks=(1, 2, 3, 6), interval=(0.0, 1.0), samples: int = 1001) -> Compositions:
    """The graphs of the k-fold compositions ``f∘…∘f`` over an interval.

    Grosse, CSC321 Lecture 15 draws them for ``f(x) = 3.5 x (1 - x)``: each
    composition has more wiggles, and its crossings of the diagonal are the
    points whose period divides k.

    Parameters
    ----------
    f : Map1D or str
        The map (a string goes through :func:`rnndyn.systems.map1d.parse_map`).
    ks : sequence of int
        Numbers of compositions, one curve each (``k >= 0``).
    interval : (float, float)
        ``(lo, hi)`` with ``lo < hi``.
    samples : int
        Points per curve, ``>= 2``.

    Returns
    -------
    Compositions
        Read-only arrays ``x`` (samples,) and ``curves`` (len(ks), samples).

    Examples
    --------
    >>> c = compositions("logistic:3.5", ks=(1, 2), samples=3)
    >>> c.x
    array([0. , 0.5, 1. ])
    >>> c.curves  # f(1/2) = 0.875, f(f(1/2)) = 3.5 * 0.875 * 0.125
    array([[0.       , 0.875    , 0.       ],
           [0.       , 0.3828125, 0.       ]])
    """
    m = _as_map(f, "f")
    if isinstance(ks, (str, bytes)) or not hasattr(ks, "__len__") or len(ks) == 0:
        raise ValidationError(f"ks: expected a non-empty sequence of integers >= 0, got {_describe(ks)}")
    ks = tuple(as_int(k, f"ks[{i}]", minimum=0, maximum=10**4) for i, k in enumerate(ks))
    lo, hi = _check_interval(interval)
    samples = as_int(samples, "samples", minimum=2, maximum=10**7)
    check_memory(8.0 * samples * (len(ks) + 1), f"samples: {len(ks)} curves of {samples} points",
                 "ask for fewer samples")
    xs = np.linspace(lo, hi, samples)
    curves = np.empty((len(ks), samples))
    with np.errstate(all="ignore"):  # reported once, below
        for i, k in enumerate(ks):
            curves[i] = np.asarray(compose(m, k)(xs), dtype=np.float64)
    bad = ~np.isfinite(curves)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        warnings.warn(f"f^{ks[i]} left the floating-point range at {int(bad[i].sum())} of {samples} points "
                      f"(first at x = {xs[j]:.6g}); those points of the curves are inf/nan", DivergenceWarning,
                      stacklevel=2)
    return Compositions(map=m.name, formula=_formula(m), ks=ks, x=_frozen(xs), curves=_frozen(curves),
                        interval=(lo, hi))


def cobweb_diagram(f, x0, steps: int = 30, interval=(0.0, 1.0), *, samples: int = 1001) -> CobwebDiagram:
    """The graph, the cobweb path and the orbit of each initial state, and the fixed points.

    What a cobweb picture shows (CSC321 Lecture 15 draws one for
    ``x_{t+1} = x_t² + 0.15``: orbits below the source at 0.816 fall into the
    sink at 0.184, orbits above it escape).

    Parameters
    ----------
    f : Map1D or str
        The map.
    x0 : float or array_like, shape (m,)
        Initial state(s), finite; at least one.
    steps : int
        Steps per orbit, ``>= 0``.
    interval : (float, float)
        The drawn range; fixed points are searched in it.
    samples : int
        Points of the graph of f, ``>= 2``.

    Returns
    -------
    CobwebDiagram

    Examples
    --------
    >>> d = cobweb_diagram("quadratic:0.15", [0.1, 0.5], steps=3)
    >>> d.orbits.shape, d.paths.shape, [p.kind for p in d.fixed_points]
    ((2, 4), (2, 7, 2), ['sink', 'source'])
    """
    m = _as_map(f, "f")
    x0s = np.atleast_1d(as_real_array(x0, "x0", ndim=(0, 1)))
    if x0s.size == 0:
        raise ValidationError("x0: expected at least one initial state, got an empty array")
    steps = as_int(steps, "steps", minimum=0)
    lo, hi = _check_interval(interval)
    samples = as_int(samples, "samples", minimum=2, maximum=10**7)
    check_memory(8.0 * x0s.size * (steps + 1) * 5, f"steps: {x0s.size} orbits of {steps} steps",
                 "ask for fewer steps")
    xs = np.linspace(lo, hi, samples)
    orbits = orbit(m, x0s, steps).T  # (m, steps + 1)
    paths = np.empty((x0s.size, 2 * steps + 1, 2))
    paths[:, 0::2, 0] = orbits
    paths[:, 0::2, 1] = orbits
    paths[:, 1::2, 0] = orbits[:, :-1]
    paths[:, 1::2, 1] = orbits[:, 1:]
    return CobwebDiagram(
        map=m.name, formula=_formula(m), interval=(lo, hi), x=_frozen(xs),
        graph=_frozen(np.asarray(m(xs), dtype=np.float64)), x0=_frozen(x0s), steps=steps,
        orbits=_frozen(orbits), paths=_frozen(paths), fixed_points=fixed_points(m, (lo, hi)),
    )
