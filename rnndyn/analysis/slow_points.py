"""Slow points of a recurrent cell under a constant input (Sussillo & Barak 2013).

A trained network keeps information in the neighbourhood of points where the
state barely moves: q(h) = ½‖F(h, x*) − h‖² is (nearly) zero. :func:`slow_points`
minimises q from many starts, taken from the network's own trajectories, with
Adam in one batched numba kernel (two matrix products per step for all starts
together), refines the candidates with Levenberg–Marquardt steps on F(h) − h,
keeps those below a tolerance, removes duplicates, and returns each point with
its q, the eigenvalues and eigenvectors of its one-step Jacobian and its kind
(:func:`rnndyn.analysis.fixed_points.classify_map`). This is what
FixedPointFinder (Golub & Sussillo 2018) does with TensorFlow or PyTorch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

from rnndyn._validate import _describe, as_float, as_int, as_real_array, as_rng, choice
from rnndyn.analysis.fixed_points import NEUTRAL_TOL, FixedPoint, classify_map
from rnndyn.analysis.trajectories import simulate
from rnndyn.backends.blas import blas_threads
from rnndyn.errors import ArgumentTypeError, ValidationError
from rnndyn.systems.cells import AntisymmetricRNN, EulerRNN, VanillaRNN

__all__ = ["SlowPoints", "slow_points"]

#: Groups the searches are run in when a ``progress`` callback is given.
_PROGRESS_GROUPS = 16


@dataclass(frozen=True, eq=False)
class SlowPoints:
    """Result of :func:`slow_points`.

    Attributes
    ----------
    states : ndarray, (K, n)
        The distinct points found, by increasing q.
    q : ndarray, (K,)
        ½‖F(h) − h‖² at each.
    kinds : tuple of str
        "sink", "source", "saddle" or "neutral" (:func:`classify_map` of the
        one-step Jacobian's eigenvalues).
    eigenvalues : ndarray of complex, (K, n)
        Eigenvalues of the one-step Jacobian at each point, by descending modulus.
    eigenvectors : ndarray of complex, (K, n, n)
        Column i of ``eigenvectors[k]`` belongs to ``eigenvalues[k, i]``.
    x : ndarray or None, (d,)
        The constant input x*.
    q_starts : ndarray, (S,)
        q reached by Adam from each start (before refinement): how many
        starts found their way to a slow region.
    steps : ndarray of int, (S,)
        Adam steps each start took.
    tol : float
        Points with q < tol were kept.
    """

    states: np.ndarray
    q: np.ndarray
    kinds: tuple
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    x: np.ndarray | None
    q_starts: np.ndarray
    steps: np.ndarray
    tol: float

    def __len__(self) -> int:
        return len(self.kinds)

    @property
    def counts(self) -> dict:
        """Number of points of each kind."""
        out = {}
        for k in self.kinds:
            out[k] = out.get(k, 0) + 1
        return out

    @property
    def points(self) -> tuple:
        """The points as :class:`~rnndyn.FixedPoint` objects (residual = ‖F(h) − h‖ = √(2q))."""
        return tuple(FixedPoint(self.states[i], self.kinds[i], self.eigenvalues[i], self.eigenvectors[i],
                                float(np.sqrt(2.0 * self.q[i]))) for i in range(len(self)))


def _lm_polish(cell, x, h, iters=50):
    """Levenberg–Marquardt on G(h) = F(h) − h; returns the best point seen and its q."""
    n = h.size
    eye = np.eye(n)

    def q_of(v):
        r = cell.step(v, x) - v
        return 0.5 * float(r @ r), r

    q, r = q_of(h)
    lam = 1e-3
    for _ in range(iters):
        if q == 0.0:
            break
        A = cell.jacobian(h, x) - eye
        g = A.T @ r
        try:
            dh = np.linalg.solve(A.T @ A + lam * eye, -g)
        except np.linalg.LinAlgError:
            break
        h2 = h + dh
        q2, r2 = q_of(h2)
        if np.isfinite(q2) and q2 < q:
            h, q, r = h2, q2, r2
            lam = max(lam / 10.0, 1e-12)
            if np.linalg.norm(dh) <= 1e-15 * (1.0 + np.linalg.norm(h)):
                break
        else:
            lam *= 10.0
            if lam > 1e12:
                break
    return h, q


def _dedupe(H, q, tol):
    """Indices of the points kept, lowest q first: each removes every point within ``tol`` of it."""
    order = np.argsort(q, kind="stable")
    H = H[order]
    gone = np.zeros(len(order), dtype=bool)
    keep = []
    for i in range(len(order)):  # one vectorised pass per point kept, not per pair
        if gone[i]:
            continue
        keep.append(order[i])
        gone |= np.linalg.norm(H - H[i], axis=1) <= tol
    return np.array(keep, dtype=np.int64)


def slow_points(cell, x=None, starts=None, inputs=None, n_starts=1024, noise=0.0, tol=1e-10, iters=2000, lr=1e-2,
                decay=200.0, unique_tol=1e-3, polish=True, candidate_q=1e-4, neutral_tol=NEUTRAL_TOL, rng=0,
                backend="cpu", *, progress=None) -> SlowPoints:
    """Slow and fixed points of a cell under a constant input, from many starts.

    Parameters
    ----------
    cell : VanillaRNN, EulerRNN or AntisymmetricRNN
        Gated antisymmetric cells included.
    x : array_like, shape (d,), optional
        The constant input x*; zeros by default (None for a cell without inputs).
    starts : array_like, shape (S, n), optional
        Where the searches start. Default: states visited by the network on
        ``inputs`` (sampled), or, without inputs, uniform in [−1, 1]ⁿ.
    inputs : array_like, shape (B, T, d), optional
        Input sequences whose trajectories (from h = 0) provide the starts.
    n_starts : int
        S when the starts are sampled.
    noise : float
        Standard deviation of Gaussian noise added to sampled starts.
    tol : float
        Keep points with q < tol.
    iters : int
        Adam steps at most.
    lr, decay : float
        Adam's step size lr / (1 + t / decay) at step t.
    unique_tol : float
        Points closer than this (Euclidean) are one point.
    polish : bool
        Refine candidates (q < ``candidate_q`` after Adam) with
        Levenberg–Marquardt steps; an exact fixed point then reaches q of
        order 1e-30.
    candidate_q : float
    neutral_tol : float
        As in :func:`classify_map`.
    rng : None, int or numpy.random.Generator
    backend : {"cpu", "reference"}
    progress : callable, optional
        ``progress(done, total)`` is called as the searches finish (in groups,
        ``total`` = the number of starts) and then once per polished candidate
        (``total`` grows by the number of candidates once they are known).

    Returns
    -------
    SlowPoints

    Notes
    -----
    Sussillo & Barak, "Opening the black box", Neural Computation 2013: the
    minima of q with q ≈ 0 are fixed points; small nonzero minima are slow
    points, where the linearisation still describes the dynamics. ∇q =
    (J − I)ᵀ (F(h) − h). The kinds are those of the iterated map
    (eigenvalue moduli against 1), as in :func:`rnndyn.fixed_points`.

    Examples
    --------
    >>> import numpy as np, rnndyn as rd
    >>> cell = rd.VanillaRNN(2.0 * np.eye(2))  # tanh(2h) = h has 3 roots per unit
    >>> sp = rd.slow_points(cell, n_starts=200, rng=0)
    >>> len(sp), sorted(sp.counts.items())
    (9, [('saddle', 4), ('sink', 4), ('source', 1)])
    """
    if not isinstance(cell, (VanillaRNN, EulerRNN, AntisymmetricRNN)):
        raise ArgumentTypeError(f"cell: expected a VanillaRNN, EulerRNN or AntisymmetricRNN, got {_describe(cell)}")
    choice(backend, "backend", {"cpu", "reference"})
    if progress is not None and not callable(progress):
        raise ArgumentTypeError(f"progress: expected a callable progress(done, total), got {_describe(progress)}")
    n, d = cell.n, cell.d
    if x is None:
        xv = np.zeros(d) if d else None
    else:
        xv = as_real_array(x, "x", ndim=1)
        if xv.shape != (d,):
            raise ValidationError(f"x: expected shape ({d},) (the cell's input size), got {xv.shape}")
    tol = as_float(tol, "tol", positive=True)
    iters = as_int(iters, "iters", minimum=0)
    lr = as_float(lr, "lr", positive=True)
    decay = as_float(decay, "decay", positive=True)
    unique_tol = as_float(unique_tol, "unique_tol", nonnegative=True)
    candidate_q = as_float(candidate_q, "candidate_q", positive=True)
    noise = as_float(noise, "noise", nonnegative=True)
    g = as_rng(rng)
    if starts is not None:
        H = np.array(as_real_array(starts, "starts", ndim=2), dtype=np.float64, order="C")
        if H.shape[1] != n or H.shape[0] == 0:
            raise ValidationError(f"starts: expected shape (S, {n}) with S >= 1, got {H.shape}")
    else:
        S = as_int(n_starts, "n_starts", minimum=1)
        if inputs is not None:
            X = as_real_array(inputs, "inputs", ndim=3)
            if X.shape[2] != d:
                raise ValidationError(f"inputs: expected shape (B, T, {d}), got {X.shape}")
            states = simulate(cell, np.zeros((X.shape[0], n)), X).states.reshape(-1, n)
            states = states[np.isfinite(states).all(axis=1)]
            if not len(states):
                raise ValidationError("inputs: every trajectory diverged; no states to start from")
            H = states[g.integers(0, len(states), S)]
        else:
            H = g.uniform(-1.0, 1.0, (S, n))
        if noise:
            H = H + noise * g.standard_normal(H.shape)
        H = np.ascontiguousarray(H, dtype=np.float64)
    p = cell.kernel_args(with_inputs=xv is not None)
    c = p.b + (p.V @ xv if xv is not None else 0.0)
    cz = (p.bz + (p.Vz @ xv if xv is not None else 0.0)) if p.gated else np.zeros(n)
    q_out = np.empty(H.shape[0])
    steps = np.zeros(H.shape[0], np.int64)
    if backend == "cpu":
        from rnndyn.kernels.cpu.slow_points import slow_points_adam
    else:
        from rnndyn.kernels.numpy.slow_points import slow_points_adam
    M = np.array(p.M, dtype=np.float64, order="C")  # a writeable copy: one compiled specialisation
    S = H.shape[0]
    threads = max(1, min(S, numba.get_num_threads()))
    # With a callback the starts run in groups (each a whole number of per-thread chunks, so every
    # search is the same computation as in one call); without one, in a single call.
    groups = _PROGRESS_GROUPS if progress is not None else 1
    group = max(threads, -(-S // groups))
    c = np.ascontiguousarray(c, dtype=np.float64)
    cz = np.ascontiguousarray(cz, dtype=np.float64)
    for s0 in range(0, S, group):
        s1 = min(S, s0 + group)
        Hg, qg, sg = H[s0:s1], q_out[s0:s1], steps[s0:s1]
        with blas_threads(1):  # prange owns the cores; a threaded GEMM inside it oversubscribes them
            slow_points_adam(Hg, float(p.alpha), float(p.eps), int(p.act), bool(p.gated), M, c, cz,
                             iters, lr, 0.9, 0.999, 1e-8, decay, min(tol, candidate_q) * 1e-3, qg, sg,
                             -(-(s1 - s0) // threads))
        if progress is not None:
            progress(s1, S)
    q_starts = q_out.copy()
    cand = np.flatnonzero(np.isfinite(q_out) & (q_out < max(candidate_q, tol)))
    cand = cand[_dedupe(H[cand], q_out[cand], unique_tol)] if cand.size else cand
    pts, qs = [], []
    for j, i in enumerate(cand):
        h, q = (_lm_polish(cell, xv, H[i].copy()) if polish else (H[i], float(q_out[i])))
        if q < tol:
            pts.append(h)
            qs.append(q)
        if progress is not None:
            progress(S + j + 1, S + len(cand))
    P = np.array(pts).reshape(-1, n)
    Q = np.array(qs, dtype=np.float64)
    keep = _dedupe(P, Q, unique_tol) if len(Q) else np.zeros(0, np.int64)
    P, Q = P[keep], Q[keep]
    eigs, vecs, kinds = [], [], []
    for h in P:
        mu, V = np.linalg.eig(cell.jacobian(h, xv))
        order = np.argsort(-np.abs(mu), kind="stable")
        eigs.append(mu[order])
        vecs.append(V[:, order])
        kinds.append(classify_map(mu[order], neutral_tol))
    return SlowPoints(P, Q, tuple(kinds), np.array(eigs, dtype=complex).reshape(-1, n),
                      np.array(vecs, dtype=complex).reshape(-1, n, n), xv, q_starts, steps, tol)
