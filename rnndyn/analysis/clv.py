"""Covariant Lyapunov vectors and finite-time Lyapunov exponents.

The Lyapunov exponents say how fast perturbations of a trajectory grow or
shrink; the covariant Lyapunov vectors (CLVs) v_1(t), …, v_k(t) say in which
directions. They are carried into each other by the dynamics,
J_t v_i(t-1) = γ_i(t) v_i(t), and the long-run mean of log |γ_i(t)| is the i-th
exponent. For an RNN they are the directions in which a gradient signal is
stretched (v_1, …) or crushed (…, v_k); where the expanding and the
contracting directions become nearly tangent, a small perturbation can move
from one to the other and the growth of a gradient becomes hard to predict.
The angle between the unstable and the stable subspace is the usual measure
of this (a hyperbolic system keeps it away from zero).

Finite-time exponents are the same growth rates averaged over windows of τ
steps instead of the whole run: their spread along a trajectory says how
unevenly a gradient grows from one stretch of inputs to the next.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnndyn import config
from rnndyn._validate import _describe, as_int, check_memory
from rnndyn.analysis.lyapunov import _edges, _initial_basis
from rnndyn.analysis.trajectories import prepare, warn_divergence
from rnndyn.backends import kernel_for
from rnndyn.errors import ArgumentTypeError, MemoryLimitError, ValidationError

#: Default length of the backward transient of the CLVs (see the Notes of
#: :func:`covariant_lyapunov_vectors`).
TRANSIENT_BACKWARD = 1000

#: Chunks of each pass when a ``progress`` callback is given.
PROGRESS_CHUNKS = 50


@dataclass(frozen=True)
class CovariantVectors:
    """Result of :func:`covariant_lyapunov_vectors`.

    Attributes
    ----------
    vectors : ndarray, (…, T_s, n, k)
        The covariant vectors v_1 … v_k (columns, unit length, sign arbitrary)
        at the sampled times.
    times : ndarray of int, (T_s,)
        The sampled times: transient, transient + every, … ≤ transient + steps
        (a time t means the state h_t, after t steps from h0).
    states : ndarray, (…, T_s, n)
        h_t at the sampled times.
    growth : ndarray, (…, steps, k)
        Local growth rates: log ‖J_t v_i(t-1)‖ for every accumulated step
        t = transient + 1 … transient + steps (row t - transient - 1), in
        natural log per step.
    exponents : ndarray, (…, k)
        The mean of ``growth`` over the steps: the Lyapunov exponents, in the
        QR order (descending up to the finite run's fluctuations).
    angles : ndarray, (…, T_s)
        Minimal (principal) angle, in radians in [0, π/2], between the
        unstable subspace span(v_1 … v_s) and the stable subspace
        span(v_{s+1} … v_k) at each sampled time, s = ``split``; NaN when one
        of them is empty (s = 0 or s = k).
    pair_angles : ndarray, (…, T_s, k - 1)
        Angle in [0, π/2] between v_i and v_{i+1}, i = 1 … k - 1.
    split : int or ndarray of int, (…,)
        s: the number of vectors counted as unstable (by default those with a
        positive exponent).
    steps, transient, transient_backward, every : int
        The run: accumulated steps, forward transient, backward transient,
        sampling interval.
    segments : int
        Pieces the backward pass was cut into to fit the memory limit (1: all
        triangular factors kept at once; more: recomputed from checkpoints).
    diverged_at : int or ndarray of int, (…,)
        Step at which the state or the tangent basis became non-finite, -1 if
        never (then that trajectory's arrays are NaN).
    """

    vectors: np.ndarray
    times: np.ndarray
    states: np.ndarray
    growth: np.ndarray
    exponents: np.ndarray
    angles: np.ndarray
    pair_angles: np.ndarray
    split: np.ndarray | int
    steps: int
    transient: int
    transient_backward: int
    every: int
    segments: int
    diverged_at: np.ndarray | int

    @property
    def k(self) -> int:
        """Number of vectors."""
        return self.exponents.shape[-1]

    def angle_stats(self, small: float = 0.1) -> dict:
        """Statistics of ``angles`` (first trajectory of a batch): min, 1st percentile, median, and the fraction
        of sampled times with an angle below ``small`` radians; NaN when there is no angle."""
        a = np.asarray(self.angles).reshape(-1, self.angles.shape[-1])[0]
        a = a[np.isfinite(a)]
        if a.size == 0:
            nan = float("nan")
            return {"min": nan, "p1": nan, "median": nan, "fraction_below": nan, "below": small}
        return {"min": float(a.min()), "p1": float(np.percentile(a, 1)), "median": float(np.median(a)),
                "fraction_below": float(np.mean(a < small)), "below": small}

    def finite_time(self, window: int) -> np.ndarray:
        """Covariant finite-time exponents: the mean of ``growth`` over consecutive windows of ``window`` steps,
        (…, steps // window, k) (a last, incomplete window is left out)."""
        window = as_int(window, "window", minimum=1, maximum=self.steps)
        m = self.steps // window
        g = self.growth[..., :m * window, :]
        return g.reshape(g.shape[:-2] + (m, window, self.k)).mean(axis=-2)


def covariant_lyapunov_vectors(system, h0, inputs=None, steps=None, transient=0, k=None, every=1,
                               transient_backward=None, split=None, backend="auto", *,
                               progress=None) -> CovariantVectors:
    """Covariant Lyapunov vectors along a trajectory (Ginelli et al. 2007), their growth rates and angles.

    Parameters
    ----------
    system : VanillaRNN, EulerRNN, AntisymmetricRNN, LSTM or Map
        Any system :func:`~rnndyn.lyapunov_spectrum` takes.
    h0 : array_like, shape (n,) or (B, n)
        Initial state(s); a batch gives a batch of results (computed in parallel).
    inputs : array_like, shape (T, d) or (B, T, d), optional
        Inputs of a driven system, covering T = transient + steps +
        transient_backward steps. None: autonomous.
    steps : int, optional
        Steps after the transient over which the vectors, growth rates and
        angles are reported (≥ 1). Required when ``inputs`` is None, else
        T − transient − transient_backward.
    transient : int
        Forward transient: steps evolved first (state and tangent basis, with
        a QR each step) so that the state reaches the attractor and the basis
        aligns with the (backward) Lyapunov vectors.
    k : int, optional
        Number of vectors, the k most expanding (1 ≤ k ≤ n); default n. The
        basis starts as in :func:`~rnndyn.lyapunov_spectrum`.
    every : int
        Keep the vectors (and angles) at every this many steps; the growth
        rates are kept for every step.
    transient_backward : int, optional
        Steps run past the reported window only to let the backward iteration
        of the coefficients forget its arbitrary start (see Notes); default
        ``TRANSIENT_BACKWARD`` = 1000.
    split : int, optional
        s, the number of vectors that span the "unstable" subspace in
        ``angles``; default: the number of positive exponents (of each
        trajectory). 0 ≤ s ≤ k.
    backend : {"auto", "cpu", "reference"} or another registered backend
    progress : callable, optional
        ``progress(done, total)`` after each of about ``PROGRESS_CHUNKS``
        pieces of each pass.

    Returns
    -------
    CovariantVectors
        vectors, times, states, growth, exponents, angles, pair_angles,
        split, steps, transient, transient_backward, every, segments,
        diverged_at; ``angle_stats()`` and ``finite_time(window)``.

    Raises
    ------
    ValidationError
        Bad shapes or values (the message names the argument).
    UnsupportedError
        When ``backend`` has no CLV kernel for this kind of system.
    MemoryLimitError
        When the sampled vectors alone would exceed
        ``config.MEMORY_LIMIT_BYTES`` (use a larger ``every``, fewer steps or a
        smaller ``k``).

    Warns
    -----
    DivergenceWarning
        When a trajectory or its tangent basis becomes non-finite.

    Notes
    -----
    Ginelli's method (Ginelli, Poggi, Turchi, Chaté, Livi, Politi, "Characterizing
    dynamics with covariant Lyapunov vectors", PRL 99, 130601, 2007; the
    notation of Kuptsov & Parlitz, J. Nonlinear Sci. 22, 2012). Forward:
    J_t Q_{t-1} = Q_t R_t (QR after every step, diag R > 0) over
    transient + steps + transient_backward steps; after the transient the
    factors R_t are kept. Backward: from C = I at the end, C_{t-1} =
    R_t^{-1} C_t with its columns normalised to one; the normalising factors
    are the growth rates, log ‖J_t v_i(t-1)‖ = −log ‖R_t^{-1} c_i(t)‖, and the
    vectors are v_i(t) = Q_t c_i(t). The first column of C stays e_1 (v_1 is
    the first backward Lyapunov vector); column i forgets its start like
    exp(−(λ_{i-1} − λ_i) τ) over τ backward steps, which the backward transient
    pays for: 1000 steps make that 1e-16 for gaps ≥ 0.037 per step; pass more
    when exponents lie closer together. The growth rates of the window are
    exact for the vectors returned: J_t v_i(t-1) = e^{growth} v_i(t) up to
    rounding, and the exponents equal those of the QR method on the same run
    up to O(1/steps).

    Memory: the factors R_t take (steps + transient_backward) k² floats. When
    they would not fit in ``config.MEMORY_LIMIT_BYTES`` next to the results,
    the run is checkpointed: the forward pass keeps the state and the basis at
    the start of every segment, and each segment's factors are recomputed just
    before its backward pass (bit-identical results; one more forward pass;
    ``segments`` says how many). Only when the results themselves (the sampled
    vectors above all) exceed the limit is the request refused.

    The angle between the subspaces is the smallest principal angle,
    computed inside the backward pass from the coefficients C alone: with
    C12 = C[:s, s:] and C22 = C[s:, s:], tan θ_min = 1 / σ_max(C12 C22^{-1})
    (see :func:`rnndyn.kernels.numpy.clv.split_angle`), which keeps small angles
    accurate relative to themselves. With k < n the stable subspace is the span of the
    k − s computed vectors only (its angle bounds that of the whole stable
    subspace from above).

    A singular Jacobian (a dead ReLU unit, an exponent of −∞) leaves the
    backward iteration undefined in the collapsed directions: those columns
    come out NaN.

    See Also
    --------
    rnndyn.lyapunov_spectrum : the exponents alone (the same forward QR method).
    rnndyn.finite_time_lyapunov : exponents over windows of τ steps.

    Examples
    --------
    >>> import rnndyn as rd
    >>> clv = rd.covariant_lyapunov_vectors(rd.systems.henon(), [0.1, 0.1], steps=5000, transient=100)
    >>> clv.vectors.shape, clv.split
    ((5001, 2, 2), 1)
    >>> clv.exponents.round(2)
    array([ 0.42, -1.62])
    >>> bool(clv.angles.min() < 0.05)   # near-tangencies of the Hénon attractor
    True
    """
    transient = as_int(transient, "transient", minimum=0)
    every = as_int(every, "every", minimum=1)
    tb = TRANSIENT_BACKWARD if transient_backward is None else as_int(transient_backward, "transient_backward",
                                                                        minimum=0)
    if steps is not None:
        steps = as_int(steps, "steps", minimum=1)
    if inputs is None:
        if steps is None:
            raise ValidationError("steps: required when inputs is None (the number of steps to report)")
        total = transient + steps + tb
    else:
        total = None if steps is None else transient + steps + tb
    prep = prepare(system, h0, inputs, total)
    total = prep.steps
    if steps is None:
        steps = total - transient - tb
        if steps < 1:
            raise ValidationError(
                f"transient, transient_backward: {transient} + {tb} leave no step to report from the {total} "
                "steps of inputs")
    B, n = prep.h0.shape
    k = n if k is None else as_int(k, "k", minimum=1, maximum=n)
    if split is not None:
        split = as_int(split, "split", minimum=0, maximum=k)
    if progress is not None and not callable(progress):
        raise ArgumentTypeError(f"progress: expected a callable progress(done, total), got {_describe(progress)}")
    samples = steps // every + 1
    W = steps + tb
    out_bytes = 8.0 * B * (samples * (n * k + n + k) + steps * k)  # vectors, states, angles; growth
    suggestion = "pass a larger every, fewer steps or a smaller k"
    check_memory(out_bytes, f"the covariant vectors of {B} trajectories at {samples} times ({n} × {k} each)",
                 suggestion)
    per_row = 8.0 * B * k * k  # one step's triangular factors
    per_seg = 8.0 * B * (n + n * k)  # one checkpoint: state and basis
    budget = config.MEMORY_LIMIT_BYTES - out_bytes
    segment_rows = W
    if W * per_row > budget:
        # checkpointed: half the room for one segment's factors, half for the checkpoints
        segment_rows = int(budget / 2 // per_row)
        if segment_rows < 1 or -(-W // segment_rows) * per_seg > budget / 2:
            raise MemoryLimitError(
                f"the triangular factors of {W} steps of {B} trajectories ({k} × {k} each) do not fit next to the "
                f"covariant vectors in rnndyn.config.MEMORY_LIMIT_BYTES, even checkpointed; {suggestion}")
    run = kernel_for("clv", prep.family, backend, work=float(B) * total * n * n * k, n=n)
    on_progress = None
    chunks = 1
    if progress is not None:
        chunks = max(1, PROGRESS_CHUNKS // 3)
        on_progress = progress
    q0 = _initial_basis(n, k)
    growth, V, angles, pairs, Hs, div, s = run(prep.args, prep.h0, prep.inputs, q0, transient, steps, tb, every,
                                               samples, segment_rows, chunks, on_progress,
                                               None if split is None else np.full(B, split))
    warn_divergence(div)
    exps = growth.mean(axis=1)
    if split is None:
        # the kernels computed the angles with s from the QR exponents of the forward pass; the covariant
        # exponents differ from those by boundary terms O(1/steps), which can move one that is nearly 0 across
        # it: those trajectories run again with the covariant count (a deterministic rerun: the same growth)
        s_cov = (exps > 0).sum(axis=1)
        redo = np.flatnonzero((s_cov != s) & (div < 0))
        if redo.size:
            x = prep.inputs if prep.inputs.shape[0] == 1 else prep.inputs[redo]
            _, _, angles[redo], pairs[redo], _, _, _ = run(prep.args, prep.h0[redo], x, q0, transient, steps, tb,
                                                           every, samples, segment_rows, 1, None, s_cov[redo])
        s = s_cov
    times = transient + every * np.arange(samples)
    segments = -(-W // segment_rows)
    if not prep.batched:
        return CovariantVectors(V[0], times, Hs[0], growth[0], exps[0], angles[0], pairs[0], int(s[0]), steps,
                                transient, tb, every, segments, int(div[0]))
    return CovariantVectors(V, times, Hs, growth, exps, angles, pairs, s, steps, transient, tb, every, segments,
                            div)


@dataclass(frozen=True)
class FiniteTimeLyapunov:
    """Result of :func:`finite_time_lyapunov`.

    Attributes
    ----------
    exponents : ndarray, (…, m, k)
        Finite-time exponents of the m consecutive windows (natural log per
        step), in the QR order.
    window : int
        τ, the steps of each window.
    steps : int
        m τ, the steps accumulated after the transient.
    transient : int
    diverged_at : int or ndarray of int, (…,)
    """

    exponents: np.ndarray
    window: int
    steps: int
    transient: int
    diverged_at: np.ndarray | int

    @property
    def windows(self) -> int:
        """Number m of windows."""
        return self.exponents.shape[-2]

    @property
    def k(self) -> int:
        """Number of exponents."""
        return self.exponents.shape[-1]

    @property
    def mean(self) -> np.ndarray:
        """Mean over the windows, (…, k): exactly the Lyapunov spectrum of the whole run (QR order)."""
        return self.exponents.mean(axis=-2)

    @property
    def std(self) -> np.ndarray:
        """Standard deviation over the windows, (…, k)."""
        return self.exponents.std(axis=-2, ddof=1) if self.windows > 1 else np.full(self.mean.shape, np.nan)

    @property
    def positive_fraction(self) -> np.ndarray:
        """Fraction of windows in which each exponent is positive, (…, k)."""
        return (self.exponents > 0).mean(axis=-2)

    def summary(self) -> str:
        """One line on the first exponent (first trajectory of a batch)."""
        e = self.exponents.reshape(-1, self.windows, self.k)[0, :, 0]
        sd = e.std(ddof=1) if e.size > 1 else float("nan")
        return (f"λ_1(τ = {self.window}): mean {e.mean():.6g}, sd {sd:.3g}, range [{e.min():.4g}, {e.max():.4g}], "
                f"positive in {100 * (e > 0).mean():.1f} % of {self.windows} windows")


def finite_time_lyapunov(system, h0, inputs=None, steps=None, window=None, transient=0, k=None, backend="auto", *,
                         progress=None) -> FiniteTimeLyapunov:
    """Finite-time Lyapunov exponents over consecutive windows of ``window`` steps along one trajectory.

    Parameters
    ----------
    system : VanillaRNN, EulerRNN, AntisymmetricRNN, LSTM or Map
    h0 : array_like, shape (n,) or (B, n)
    inputs : array_like, shape (T, d) or (B, T, d), optional
        Covering transient + steps steps.
    steps : int, optional
        Steps after the transient; cut into ⌊steps/window⌋ windows (a last,
        incomplete window is dropped). Required when ``inputs`` is None.
    window : int
        τ ≥ 1.
    transient : int
        Steps evolved first (state and basis) and not counted.
    k : int, optional
        Number of exponents (default n).
    backend : {"auto", "cpu", "reference"} or another registered backend
    progress : callable, optional
        ``progress(done, total)``, as in :func:`~rnndyn.lyapunov_spectrum`.

    Returns
    -------
    FiniteTimeLyapunov
        exponents (…, m, k), window, steps, transient, diverged_at; mean, std,
        positive_fraction, summary().

    Notes
    -----
    The QR method of :func:`~rnndyn.lyapunov_spectrum` with a QR after every
    step and the tangent basis carried across windows (not restarted): window
    j's exponents are (Σ log R_ii over its τ steps)/τ. They are the growth
    rates of the Gram–Schmidt (backward Lyapunov) vectors over that window, so
    their mean over the windows is the spectrum of the whole run exactly, and
    their spread is the finite-time variability of the growth: it shrinks
    like τ^{-1/2} for a chaotic system with decaying correlations. The growth
    rates of the covariant vectors over windows are
    ``covariant_lyapunov_vectors(...).finite_time(window)``.

    Examples
    --------
    >>> import rnndyn as rd
    >>> ftle = rd.finite_time_lyapunov(rd.systems.henon(), [0.1, 0.1], steps=20_000, window=20, transient=100)
    >>> ftle.exponents.shape
    (1000, 2)
    >>> ftle.mean.round(2)
    array([ 0.42, -1.62])
    """
    if window is None:
        raise ValidationError("window: required (the steps τ of each window)")
    window = as_int(window, "window", minimum=1)
    transient = as_int(transient, "transient", minimum=0)
    if steps is not None:
        steps = as_int(steps, "steps", minimum=1)
    if inputs is None:
        if steps is None:
            raise ValidationError("steps: required when inputs is None (the number of steps to cut into windows)")
        total = transient + steps
    else:
        total = None if steps is None else transient + steps
    prep = prepare(system, h0, inputs, total)
    if steps is None:
        steps = prep.steps - transient
    m = steps // window
    if m < 1:
        raise ValidationError(f"window: {window} is longer than the {steps} steps after the transient")
    steps = m * window
    B, n = prep.h0.shape
    k = n if k is None else as_int(k, "k", minimum=1, maximum=n)
    check_memory(8.0 * B * m * k, f"{m} windows of {k} exponents for {B} trajectories", "pass a larger window")
    run = kernel_for("lyapunov", prep.family, backend, work=float(B) * (transient + steps) * n * n * k, n=n)
    edges = on_chunk = None
    if progress is not None:
        if not callable(progress):
            raise ArgumentTypeError(f"progress: expected a callable progress(done, total), got {_describe(progress)}")
        total = transient + steps
        edges = _edges(total, PROGRESS_CHUNKS)

        def on_chunk(t):
            progress(t, total)
    inputs_used = prep.inputs[:, :transient + steps]
    # the kernels' per-block sums with one block per window: block j holds QRs jτ … (j+1)τ − 1
    _, _, blocks, _, div = run(prep.args, prep.h0, inputs_used, _initial_basis(n, k), transient, steps, 1, m,
                               False, edges, on_chunk)
    warn_divergence(div)
    ex = blocks / window
    ex[div >= 0] = np.nan
    if not prep.batched:
        return FiniteTimeLyapunov(ex[0], window, steps, transient, int(div[0]))
    return FiniteTimeLyapunov(ex, window, steps, transient, div)


__all__ = ["CovariantVectors", "FiniteTimeLyapunov", "covariant_lyapunov_vectors", "finite_time_lyapunov"]
