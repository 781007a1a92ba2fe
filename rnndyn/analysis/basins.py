"""Basins of attraction and gradient fields over a plane of initial states.

An RNN without inputs is a dynamical system h ↦ F(h) with attractors: stable
fixed points, cycles, or escape to infinity. Grosse (CSC321 Lecture 15) draws
the picture: the state space splits into basins, one per attractor, and "within
one of the coloured regions the gradients vanish", since a small change of h_0
does not change where the trajectory ends up, while "on the boundary the
gradient blows up", since there it decides which attractor is reached.
:func:`basins` computes both over a grid of initial states: the attractor each
one reaches after T steps (identified without being told what the attractors
are) and log10 ‖∂h_T/∂h_0‖.

References: see :mod:`rnndyn.references`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rnndyn._validate import _describe, as_float, as_int, as_real_array, check_memory
from rnndyn.backends import kernel_for
from rnndyn.errors import ArgumentTypeError, ValidationError
from rnndyn.systems.base import family_of

__all__ = ["Attractor", "Basins", "basins", "DIVERGED", "NOT_CONVERGED"]

#: Label of grid points whose trajectory escaped (‖h‖_∞ > escape) or became non-finite.
DIVERGED = -1
#: Label of grid points whose state after T steps repeats with no period ≤ cycle_max (within tol).
NOT_CONVERGED = -2
#: Rows per chunk when a progress callback is given (about this many chunks in all).
_PROGRESS_CHUNKS = 16


@dataclass(frozen=True, eq=False)
class Attractor:
    """One attractor found by :func:`basins` (or the pseudo-attractors "diverged" and "not converged").

    Attributes
    ----------
    label : int
        Its label in :attr:`Basins.labels` (0, 1, …; −1 diverged, −2 not converged).
    kind : str
        ``"fixed point"``, ``"cycle of period p"``, ``"diverged"`` or ``"not converged"``.
    period : int
        p (1 for a fixed point, 0 for the pseudo-attractors).
    points : ndarray, (p, n)
        Its states in the full state space, in the order the map visits them (empty for the pseudo-attractors).
    count : int
        Grid points in its basin.
    """

    label: int
    kind: str
    period: int
    points: np.ndarray
    count: int


@dataclass(frozen=True, eq=False)
class Basins:
    """Result of :func:`basins`.

    Attributes
    ----------
    labels : ndarray of int, (grid, grid)
        ``labels[i, j]``: the attractor reached from the grid point (u_j, v_i): 0 … K−1 (see
        :attr:`attractors`), :data:`DIVERGED` (−1) or :data:`NOT_CONVERGED` (−2).
    log_grad : ndarray, (grid, grid)
        log10 ‖∂h_T/∂h_0‖_F at each grid point (NaN where diverged).
    attractors : tuple of Attractor
        The attractors 0 … K−1 (``attractors[k].label == k``), then "diverged" and "not converged"
        when any grid point ended so.
    u, v : ndarray, (grid,)
        The grid's axes: h_0 = origin + u_j d_1 + v_i d_2.
    origin : ndarray, (n,)
    directions : ndarray, (2, n)
        d_1 and d_2 (unit vectors e_i, e_j for ``plane=(i, j)``).
    axis_names : (str, str)
        Names of the axes for plots ("h₁", "h₂", or "u", "v" for given directions).
    steps : int
    cycle_max : int
    tol : float
    escape : float
    final : ndarray, (grid, grid, n)
        h_T of each grid point.
    diverged_at : ndarray of int, (grid, grid)
        The step at which a trajectory escaped, −1 if it did not.
    """

    labels: np.ndarray
    log_grad: np.ndarray
    attractors: tuple
    u: np.ndarray
    v: np.ndarray
    origin: np.ndarray
    directions: np.ndarray
    axis_names: tuple
    steps: int
    cycle_max: int
    tol: float
    escape: float
    final: np.ndarray = field(repr=False)
    diverged_at: np.ndarray = field(repr=False)

    @property
    def n_attractors(self) -> int:
        """K, the number of attractors found (the pseudo-attractors not counted)."""
        return sum(1 for a in self.attractors if a.label >= 0)

    def project(self, points) -> np.ndarray:
        """Coordinates (u, v) of states (…, n) in the plane of the grid (least squares off the plane)."""
        x = np.asarray(points, dtype=float) - self.origin
        coef, *_ = np.linalg.lstsq(self.directions.T, x.reshape(-1, x.shape[-1]).T, rcond=None)
        return coef.T.reshape(x.shape[:-1] + (2,))


def _bounds(bounds):
    if bounds is None:
        return (-1.5, 1.5), (-1.5, 1.5)
    b = as_real_array(bounds, "bounds", ndim=(1, 2))
    if b.shape == (2,):
        b = np.stack([b, b])
    if b.shape != (2, 2) or not (b[0, 0] < b[0, 1] and b[1, 0] < b[1, 1]):
        raise ValidationError(f"bounds: expected (low, high) or ((u_low, u_high), (v_low, v_high)) with low < high, "
                              f"got {np.asarray(bounds).tolist()}")
    return (float(b[0, 0]), float(b[0, 1])), (float(b[1, 0]), float(b[1, 1]))


def _axis(lo, hi, G):
    a = np.linspace(lo, hi, G)
    if lo == -hi:  # exactly antisymmetric, so that an odd map's picture is exactly point-symmetric
        a = (a - a[::-1]) / 2
    return a


def _plane(plane, origin, n):
    if origin is None:
        o = np.zeros(n)
    else:
        o = as_real_array(origin, "origin", ndim=1)
        if o.shape != (n,):
            raise ValidationError(f"origin: expected shape ({n},) (the cell's state size), got {o.shape}")
    if plane is None:
        if n != 2:
            raise ValidationError(f"plane: required for a cell of state size n = {n}: two axes (i, j) or two "
                                  f"directions of shape (2, {n}) spanning the slice")
        plane = (0, 1)
    if isinstance(plane, (tuple, list)) and len(plane) == 2 and all(
            isinstance(p, (int, np.integer)) and not isinstance(p, bool) for p in plane):
        i, j = (as_int(p, "plane", minimum=0, maximum=n - 1) for p in plane)
        if i == j:
            raise ValidationError(f"plane: expected two different axes, got ({i}, {j})")
        d = np.zeros((2, n))
        d[0, i] = d[1, j] = 1.0
        return o, d, (f"h{_sub(i + 1)}", f"h{_sub(j + 1)}")
    d = as_real_array(plane, "plane", ndim=2)
    if d.shape != (2, n):
        raise ValidationError(f"plane: expected two axes (i, j) or two directions of shape (2, {n}), got shape "
                              f"{d.shape}")
    if np.linalg.matrix_rank(d) < 2:
        raise ValidationError("plane: the two directions are parallel (they span no plane)")
    return o, d, ("u", "v")


def _sub(k: int) -> str:
    return str(k).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


def _periods(final, tail, tol):
    """Smallest p with ‖h_{T+p} − h_T‖ ≤ tol (1 + ‖h_T‖) per point, 0 where none, with that distance."""
    scale = tol * (1.0 + np.linalg.norm(final, axis=1))
    dist = np.linalg.norm(tail - final[:, None, :], axis=2)
    ok = dist <= scale[:, None]
    found = ok.any(axis=1)
    p = np.where(found, np.argmax(ok, axis=1) + 1, 0)
    resid = np.where(found, dist[np.arange(len(p)), np.maximum(p - 1, 0)] / scale, np.inf)
    return p, resid


def _creep(F, tail, p, r):
    """Per point, d₀/(1 − q) where its p-step moves shrink geometrically (q = d₁/d₀ < 1), at most 64 r; else 0."""
    idx = np.arange(len(p))
    P = tail.shape[1]
    h_p = tail[idx, p - 1]
    two = 2 * p <= P
    h_2p = tail[idx, np.minimum(2 * p, P) - 1]
    d0 = np.linalg.norm(h_p - F, axis=1)
    d1 = np.linalg.norm(h_2p - h_p, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        q = d1 / d0
        dist = d0 / (1.0 - q)
    ok = two & (d0 > 0) & (q < 1) & np.isfinite(dist)
    return np.where(ok, np.minimum(dist, 64.0 * r), 0.0)


def _identify(final, tail, period, resid, tol):
    """Attractor index per converged point (−1 elsewhere), and per attractor (period, points).

    The cycle of a point is the set of its p states h_T … h_{T+p−1}; all cycle points are bucketed on a
    lattice of spacing r/√n (r = tol (1 + max ‖h_T‖)), buckets within r of each other are joined
    (cKDTree pairs: single linkage, so states still creeping towards their attractor chain up), and so
    are the buckets of one point's cycle. Each connected component is one attractor.

    A point still approaching its cycle geometrically (successive p-step moves d₀ = ‖h_{T+p} − h_T‖,
    d₁ = ‖h_{T+2p} − h_{T+p}‖ with q = d₁/d₀ < 1) lies about d₀/(1 − q) from its limit (the sum of
    the remaining moves); two buckets are also joined when they are within r plus their members' largest
    such distances (each at most 64 r), so that a sink approached slowly from a coarse grid is one attractor
    and not a row of nearby ones.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    conv = np.flatnonzero(period > 0)
    out = np.full(len(period), -1, np.int64)
    if conv.size == 0:
        return out, []
    n = final.shape[1]
    F = final[conv]
    p = period[conv]
    r = tol * (1.0 + float(np.max(np.linalg.norm(F, axis=1))))
    pts = [F]
    owner = [np.arange(conv.size)]
    for k in range(1, int(p.max())):
        sel = np.flatnonzero(p > k)
        pts.append(tail[conv[sel], k - 1])
        owner.append(sel)
    pts = np.concatenate(pts)
    owner = np.concatenate(owner)
    keys = np.floor(pts / (r / np.sqrt(n))).astype(np.int64)
    _, first, inv = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    leaders = pts[first]
    m = len(leaders)
    reach = np.zeros(m)
    np.maximum.at(reach, inv, _creep(final[conv], tail[conv], p, r)[owner])
    pairs = cKDTree(leaders).query_pairs(r + 2.0 * float(reach.max()), output_type="ndarray").reshape(-1, 2)
    if reach.any():
        gap = np.linalg.norm(leaders[pairs[:, 0]] - leaders[pairs[:, 1]], axis=1)
        pairs = pairs[gap <= r + reach[pairs[:, 0]] + reach[pairs[:, 1]]]
    own_leader = inv[: conv.size]  # the bucket of each point's h_T
    cyc = np.stack([own_leader[owner], inv], axis=1)
    edges = np.concatenate([pairs.reshape(-1, 2), cyc])
    graph = coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(m, m))
    ncomp, comp = connected_components(graph, directed=False)
    comp_of_point = comp[own_leader]
    # one representative per attractor: its best-converged point; attractors ordered by (period, position)
    reps = []
    for c in np.unique(comp_of_point):
        members = np.flatnonzero(comp_of_point == c)
        best = members[np.argmin(resid[conv[members]])]
        q = int(p[best])
        cycle = np.concatenate([F[best][None], tail[conv[best], : q - 1]])
        start = np.lexsort(np.round(cycle / r).T[::-1])[0]  # the cycle from its lexicographically first point
        cycle = np.roll(cycle, -start, axis=0)
        reps.append((q, tuple(np.round(cycle[0] / r).tolist()), c, cycle))
    reps.sort(key=lambda x: (x[0], x[1]))
    index = np.empty(ncomp, np.int64)
    found = []
    for k, (q, _, c, cycle) in enumerate(reps):
        index[c] = k
        found.append((q, cycle))
    out[conv] = index[comp_of_point]
    return out, found


def basins(system, grid=256, steps=200, *, bounds=None, plane=None, origin=None, cycle_max=8, tol=1e-6,
           escape=1e6, constant_input=None, backend="auto", progress=None) -> Basins:
    """Basins of attraction and the gradient field ‖∂h_T/∂h_0‖ over a grid of initial states.

    Every initial state of a ``grid`` × ``grid`` lattice in a plane runs for ``steps`` steps
    (T) and then ``cycle_max`` more; the attractor it reached is identified from those last
    states, and the end-to-end Jacobian ∂h_T/∂h_0 is carried along.

    Parameters
    ----------
    system : VanillaRNN, EulerRNN or AntisymmetricRNN
        The cell, run without inputs (or with a constant input, see ``constant_input``).
    grid : int
        Points per axis (≥ 2).
    steps : int
        T (≥ 0).
    bounds : (low, high) or ((u_low, u_high), (v_low, v_high)), optional
        The window of the plane's coordinates; default (−1.5, 1.5) on both axes.
    plane : (int, int) or array_like (2, n), optional
        The slice h_0 = origin + u·d_1 + v·d_2: two axes (i, j) (d = e_i, e_j) or two directions.
        Default (0, 1), required when n > 2.
    origin : array_like (n,), optional
        Where the slice passes (default 0).
    cycle_max : int
        Longest period looked for (P, ≥ 1).
    tol : float
        A point has period p when ‖h_{T+p} − h_T‖ ≤ tol·(1 + ‖h_T‖); two points share an
        attractor when their cycles come within tol·(1 + max ‖h_T‖) of each other.
    escape : float
        A trajectory whose largest |h_i| exceeds ``escape`` within T + P steps has diverged (to
        infinity: a linear map with |λ| > 1 takes thousands of steps to overflow). ``inf``:
        only non-finite states count.
    constant_input : array_like (d,), optional
        An input x held constant, folded into the bias (b + V x, and b_z + V_z x when gated).
    backend : {"auto", "cpu", "reference", "cuda"}
    progress : callable, optional
        ``progress(done, total)`` in grid rows, after each of about 16 chunks of rows.

    Returns
    -------
    Basins
        labels, log_grad (log10), attractors, the grid's axes and the parameters.

    Raises
    ------
    ValidationError
        Bad arguments (the message names the argument).
    UnsupportedError
        When ``system`` is not a cell (maps and LSTMs have no basins kernel) or ``backend`` cannot run it.
    MemoryLimitError
        When the grid's results would exceed ``config.MEMORY_LIMIT_BYTES``.

    Notes
    -----
    Attractors are found without being told: a point's period is the smallest p ≤ ``cycle_max``
    with h_{T+p} ≈ h_T; points with none are labelled "not converged" (−2), never merged into an
    attractor. The cycles of the converged points are then clustered (a cycle is the set of its p
    states; single linkage at the tolerance, with scipy's cKDTree), each cluster one attractor. A
    point still approaching its cycle geometrically also reaches as far as its estimated distance to
    the limit (the sum of its remaining moves, at most 64 times the tolerance), so a sink approached
    slowly from a coarse grid is one attractor.

    The norm is Frobenius: it costs n² per step on every backend (the spectral norm needs an
    eigensolver per point) and ‖A‖₂ ≤ ‖A‖_F ≤ √n ‖A‖₂, a shift of at most ½ log10 n on a scale that
    spans tens of decades. The product of Jacobians is kept as 2^E·A, rescaled by exact powers of two,
    so it neither overflows nor underflows for T in the thousands. Grosse, CSC321 Lecture 15
    ("Iterated Functions"): inside a basin the gradient vanishes, on the boundaries it blows up.

    Examples
    --------
    >>> import numpy as np, rnndyn as rd
    >>> bas = rd.basins(rd.VanillaRNN(2 * np.eye(2)), grid=8, steps=60, backend="reference")
    >>> [a.kind for a in bas.attractors]
    ['fixed point', 'fixed point', 'fixed point', 'fixed point']
    >>> int(bas.labels[0, 0]), int(bas.labels[-1, -1])  # the quadrants (−, −) and (+, +)
    (0, 3)
    """
    family = family_of(system, "system")
    G = as_int(grid, "grid", minimum=2)
    T = as_int(steps, "steps", minimum=0)
    P = as_int(cycle_max, "cycle_max", minimum=1)
    tol = as_float(tol, "tol", positive=True)
    if isinstance(escape, (int, float, np.integer, np.floating)) and not isinstance(escape, bool) \
            and escape == np.inf:
        escape = float("inf")
    else:
        escape = as_float(escape, "escape", positive=True)
    if progress is not None and not callable(progress):
        raise ArgumentTypeError(f"progress: expected a callable progress(done, total), got {_describe(progress)}")
    if family != "cell":
        kernel_for("basins", family, backend if isinstance(backend, str) else "auto")  # refuses, naming it
    n = system.dim
    o, d, names = _plane(plane, origin, n)
    (u0, u1), (v0, v1) = _bounds(bounds)
    p = system.kernel_args(with_inputs=False)
    if constant_input is not None:
        if system.d == 0:
            raise ValidationError("constant_input: the cell has no input weights (V is None)")
        x = as_real_array(constant_input, "constant_input", ndim=1)
        if x.shape != (system.d,):
            raise ValidationError(f"constant_input: expected shape ({system.d},) (the cell's input size), "
                                  f"got {x.shape}")
        full = system.kernel_args(with_inputs=True)
        p = p._replace(b=full.b + full.V @ x, bz=full.bz + full.Vz @ x if full.gated else full.bz)
    p = type(p)(*(np.array(a) if isinstance(a, np.ndarray) else a for a in p))
    check_memory(8.0 * G * G * (n * (P + 3) + 4), f"the basins of a {G}x{G} grid of states of size {n}",
                 "use a smaller grid")
    u = _axis(u0, u1, G)
    v = _axis(v0, v1, G)
    run = kernel_for("basins", family, backend, work=float(G) * G * (T + P) * n * n, n=n)
    final = np.empty((G * G, n))
    tail = np.empty((G * G, P, n))
    lg = np.empty(G * G)
    div = np.empty(G * G, np.int64)
    rows = max(1, -(-G // _PROGRESS_CHUNKS)) if progress is not None else G
    for r0 in range(0, G, rows):
        r1 = min(G, r0 + rows)
        uu, vv = np.meshgrid(u, v[r0:r1])
        h0 = o + uu.reshape(-1, 1) * d[0] + vv.reshape(-1, 1) * d[1]
        s = slice(r0 * G, r1 * G)
        final[s], tail[s], lg[s], div[s] = run(p, h0, T, P, escape)
        if progress is not None:
            progress(r1, G)
    period, resid = _periods(final, tail, tol)
    period[div >= 0] = 0
    index, found = _identify(final, tail, period, resid, tol)
    labels = np.where(div >= 0, DIVERGED, np.where(period > 0, index, NOT_CONVERGED))
    attractors = []
    for k, (q, cycle) in enumerate(found):
        kind = "fixed point" if q == 1 else f"cycle of period {q}"
        attractors.append(Attractor(k, kind, q, cycle, int(np.sum(labels == k))))
    for lab, kind in ((DIVERGED, "diverged"), (NOT_CONVERGED, "not converged")):
        c = int(np.sum(labels == lab))
        if c:
            attractors.append(Attractor(lab, kind, 0, np.zeros((0, n)), c))
    with np.errstate(invalid="ignore"):
        log10 = lg / np.log(10.0)
    return Basins(labels.reshape(G, G), log10.reshape(G, G), tuple(attractors), u, v, o, d, names, T, P, tol,
                  escape, final.reshape(G, G, n), div.reshape(G, G))
