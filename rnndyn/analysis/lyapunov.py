"""Lyapunov spectra by the Benettin/QR method.

The Lyapunov exponents λ_1 ≥ … ≥ λ_n of a trajectory are the long-run growth
rates of the product of one-step Jacobians A_t = J_t ⋯ J_1, the product whose
growth or decay *is* the exploding or vanishing gradient: λ_1 > 0 explodes,
λ_n < 0 vanishes, λ ≈ 0 is the AntisymmetricRNN's critical criterion (Chang et
al., ICLR 2019, Sec. 3). They are measured here as in Benettin et al.
(1980) and DynamicalSystems.jl's ``lyapunovspectrum``: evolve k orthonormal
tangent vectors with J_t, re-orthonormalise them by QR, and average log R_jj.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnndyn._validate import _describe, as_int
from rnndyn.analysis.trajectories import check_memory, prepare, warn_divergence
from rnndyn.backends import kernel_for
from rnndyn.errors import ArgumentTypeError, ValidationError

#: Number of chunks a run is cut into when a ``progress`` callback is given
#: (the carried state makes the result independent of the cut).
PROGRESS_CHUNKS = 50

#: Seed of the fixed random orthonormal basis that starts the tangent vectors
#: when k < n (the first k coordinate axes could lie in an invariant subspace).
_Q0_SEED = 20190226

#: Blocks of the batch-means error estimate (fewer when the run has fewer
#: re-orthonormalisations); 10 to 30 batches is the usual advice for batch means
#: (Schmeiser, Operations Research 30, 1982).
ERROR_BLOCKS = 20

#: Fewest blocks for which an error is given (two in the late half).
_MIN_ERROR_BLOCKS = 4

#: Student's t quantiles t_{0.975, ν} for ν = 1 … 9 (the late half has at most
#: ERROR_BLOCKS/2 = 10 blocks), from scipy.stats.t.ppf.
_T975 = (12.706204736174694, 4.302652729749462, 3.1824463052837078, 2.7764451051977934, 2.5705818356363146,
         2.4469118511449786, 2.364624251592784, 2.306004135204166, 2.262157162798205)


@dataclass(frozen=True)
class LyapunovSpectrum:
    """Result of :func:`lyapunov_spectrum`.

    Attributes
    ----------
    exponents : ndarray, (…, k)
        λ_1 ≥ λ_2 ≥ … ≥ λ_k, natural log per step, sorted in descending order
        (the QR's column order usually is, but not always on a finite run).
        NaN for a trajectory that diverged.
    history : ndarray or None, (…, H, k)
        With ``return_history=True``: the running estimate (Σ log R_jj)/t after
        each re-orthonormalisation, t = ``history_steps``. Column i follows the
        tangent vector that ends as ``exponents[..., i]``, so each curve is one
        exponent converging. None otherwise.
    history_steps : ndarray of int or None, (H,)
        Accumulated steps (after the transient) of each history row.
    error : ndarray, (…, k)
        Uncertainty of each exponent, by batch means (see Notes of
        :func:`lyapunov_spectrum`): the 95 % half-width from the late half of
        ``error_blocks`` blocks plus twice the offset of the whole-run estimate
        from the late half's. On known answers (linear maps, cells at a fixed
        point, Hénon, logistic r = 4) the actual error lies within ±error for
        over 90 % of the exponents. NaN when the run has fewer than 4
        re-orthonormalisations, or for a diverged trajectory.
    error_blocks : int
        Number B of blocks the accumulated steps were cut into for ``error``
        (``ERROR_BLOCKS`` = 20, fewer for short runs; 0 when no error was estimated).
    steps : int
        Steps accumulated (after the transient).
    transient : int
        Steps discarded before accumulating.
    reortho_every : int
        QR interval.
    diverged_at : int or ndarray of int, (…,)
        Step at which the state or the tangent became non-finite, -1 if never.
    """

    exponents: np.ndarray
    history: np.ndarray | None
    history_steps: np.ndarray | None
    error: np.ndarray
    steps: int
    transient: int
    reortho_every: int
    diverged_at: np.ndarray | int
    error_blocks: int = 0

    @property
    def k(self) -> int:
        """Number of exponents."""
        return self.exponents.shape[-1]

    @property
    def max_exponent(self):
        """λ_1, the largest exponent (float, or (B,) for a batch)."""
        m = self.exponents[..., 0]
        return float(m) if np.ndim(m) == 0 else m

    @property
    def sum(self):
        """Σ λ_i: the mean log volume growth per step (= mean log|det J_t| when k = n)."""
        s = self.exponents.sum(axis=-1)
        return float(s) if np.ndim(s) == 0 else s

    @property
    def kaplan_yorke(self):
        """Kaplan–Yorke (Lyapunov) dimension j + (λ_1 + … + λ_j)/|λ_{j+1}|.

        j is the largest index with λ_1 + … + λ_j ≥ 0; 0 when λ_1 < 0, and k
        when every partial sum is ≥ 0 (a lower bound when k < n).
        """
        e = self.exponents
        out = np.array([kaplan_yorke(row) for row in e.reshape(-1, e.shape[-1])])
        return float(out[0]) if e.ndim == 1 else out.reshape(e.shape[:-1])

    @property
    def diverged(self):
        """True where a trajectory became non-finite."""
        return np.asarray(self.diverged_at) >= 0

    def error_text(self) -> str:
        """The largest ``error`` of the first trajectory and how it was obtained, e.g.
        ``"± 0.0021 (batch means over 20 blocks, 95 %)"``; ``"± n/a (…)"`` without an estimate."""
        err = self.error.reshape(-1, self.k)[0]
        if not np.isfinite(err).any():
            return f"± n/a (fewer than {_MIN_ERROR_BLOCKS} re-orthonormalisations, or diverged)"
        return f"± {np.nanmax(err):.2g} (batch means over {self.error_blocks} blocks, 95 %)"

    def summary(self) -> str:
        """One line: λ_1, Σλ, D_KY and the largest error (first trajectory of a batch)."""
        e = self.exponents.reshape(-1, self.k)[0]
        ky = kaplan_yorke(e)
        return (f"λ_max = {e[0]:.6g}, Σλ = {e.sum():.6g}, D_KY = {ky:.4g}, "
                f"error {self.error_text()} ({self.k} exponents, {self.steps} steps)")


def kaplan_yorke(exponents) -> float:
    """Kaplan–Yorke dimension of one spectrum (sorted descending inside).

    Examples
    --------
    >>> round(kaplan_yorke([0.41922, -1.62319]), 4)
    1.2583
    """
    # -inf is a legitimate exponent (a singular Jacobian), so not as_real_array, which wants finite values
    if isinstance(exponents, (str, bytes)):
        raise ArgumentTypeError(f"exponents: expected a real array, got the string {_describe(exponents)}")
    try:
        lam = np.sort(np.asarray(exponents, dtype=np.float64).ravel())[::-1]
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"exponents: expected a real array, got {_describe(exponents)}") from None
    if lam.size == 0 or not np.all(np.isfinite(lam) | (lam == -np.inf)):
        return float("nan")
    if lam[0] < 0:
        return 0.0
    c = np.cumsum(lam)
    j = int(np.nonzero(c >= 0)[0][-1])  # partial sums rise then fall: {c >= 0} is a prefix
    if j == lam.size - 1:
        return float(lam.size)
    return float(j + 1 + c[j] / abs(lam[j + 1]))


def _initial_basis(n: int, k: int) -> np.ndarray:
    if k == n:
        return np.eye(n)
    q, r = np.linalg.qr(np.random.default_rng(_Q0_SEED).standard_normal((n, k)))
    return np.ascontiguousarray(q * np.where(np.diag(r) < 0, -1.0, 1.0))


def _edges(total: int, chunks: int) -> list[int]:
    e = sorted(set(int(round(x)) for x in np.linspace(0, total, chunks + 1)[1:]))
    return [x for x in e if x > 0] or [total]


def lyapunov_spectrum(cell, h0, inputs=None, steps=None, k=None, transient=0, reortho_every=1,
                      return_history=False, backend="auto", *, progress=None) -> LyapunovSpectrum:
    """Lyapunov spectrum of a cell or a map along the trajectory from ``h0``.

    Parameters
    ----------
    cell : VanillaRNN, EulerRNN, AntisymmetricRNN, LSTM or Map
        The system. RNN cells use the fused tangent step J Q = alpha Q +
        diag(D)(M Q) (no n × n Jacobian is formed); an :class:`~rnndyn.LSTM`
        or a general :class:`~rnndyn.Map` uses its Jacobian function.
    h0 : array_like, shape (n,) or (B, n)
        Initial state(s); a batch gives a batch of spectra (computed in parallel).
    inputs : array_like, shape (T, d) or (B, T, d), optional
        Inputs of a driven system, covering the transient and the accumulated
        steps (T = transient + steps). None: autonomous.
    steps : int, optional
        Steps accumulated after the transient (≥ 1). Required when ``inputs``
        is None, else T − transient by default.
    k : int, optional
        Number of exponents (the k largest), 1 ≤ k ≤ n; default n. The
        tangent vectors start from the identity when k = n, and from a fixed
        random orthonormal n × k basis (the same on every call) when k < n: a
        full basis sees every direction, but the first k coordinate axes could
        lie in an invariant subspace (a block-diagonal W, say) and would then
        never find the k largest exponents.
    transient : int
        Steps evolved first (state and tangent vectors, with their QRs) but not
        accumulated, so that the state reaches the attractor and the tangent
        vectors align with the Lyapunov vectors (this also removes most of the
        initial-alignment offset that ``error`` accounts for).
    reortho_every : int
        Re-orthonormalise every this many steps (and at the end of the
        transient and of the run). 1 is safest; larger values save QRs when the
        exponents are close together, but the tangent vectors must not
        overflow or collapse in between.
    return_history : bool
        Keep the running estimates (see :class:`LyapunovSpectrum`).
    backend : {"auto", "cpu", "reference"} or another registered backend
    progress : callable, optional
        ``progress(done, total)`` is called after each of about
        ``PROGRESS_CHUNKS`` chunks of steps (``total`` = transient + steps).

    Returns
    -------
    LyapunovSpectrum
        exponents (sorted descending), history, history_steps, error, steps,
        transient, reortho_every, diverged_at, error_blocks; properties
        max_exponent, sum, kaplan_yorke.

    Raises
    ------
    ValidationError
        Bad shapes or values (the message names the argument).
    UnsupportedError
        When ``backend`` has no Lyapunov kernel for this kind of system.

    Warns
    -----
    DivergenceWarning
        When a trajectory or its tangent vectors become non-finite.

    Notes
    -----
    Per step t (1-based), with the Jacobian evaluated at the state *before*
    the step, J_t = ∂h_t/∂h_{t-1}: h_t = F(h_{t-1}, x_t), Q ← J_t Q; every
    ``reortho_every`` steps Q = Q'R (Householder, diag R > 0) and, after the
    transient, S_j += log R_jj. Then λ_j = S_j / steps. For k = n the sum
    Σ λ_j equals the mean of log|det J_t| over the accumulated steps exactly
    (up to rounding), which the tests check. QR is Householder written in the
    kernel, and LAPACK's (dgeqrf/dorgqr) from ``config.QR_LAPACK_MIN_N`` on; never with fast-math.

    The ``error`` is by batch means. The accumulated re-orthonormalisations are
    cut into B = ``ERROR_BLOCKS`` (20) blocks of about equal length (B = their
    number when there are fewer than 20; no error below 4); block b gives
    X_b = (Σ log R_jj over the block) / (its steps) for each exponent. The
    estimate λ̂ = S/steps has two errors: (1) a finite-time offset c/steps,
    because the initial basis is not aligned with the Lyapunov vectors (a
    one-off O(1) term c in Σ log R_jj, which settles slowly when two
    exponents are close; a ``transient`` removes most of it), and (2) the
    fluctuation of the log growth along the trajectory. With λ̂_late the
    estimate from the last m = B − ⌊B/2⌋ blocks alone,

        error = t_{0.975, m−1} · sd(X_b over those m blocks) / √B
                + 2 |λ̂ − λ̂_late| + ε (4n + steps |λ̂|):

    the 95 % batch-means half-width of the whole run, its spread taken from
    the late half (which the offset does not inflate); the offset, as far as
    it shows between the halves, counted twice (to cover what of it remains
    in the late half when the alignment is slow); and the rounding of the
    accumulated sums. On known answers (antisymmetric cells at their fixed
    point, linear cells, Hénon, logistic r = 4; n = 2 … 32, 2 000 and 20 000
    steps) over 90 % of the exponents lie within ±error. Exponents that are
    equal in theory (a complex pair of eigenvalues) come out close but not
    equal, each with its own error.

    References: Benettin, Galgani, Giorgilli,
    Strelcyn, Meccanica 15 (1980); ChaosTools.jl ``lyapunovspectrum``;
    Engelken, Wolf, Abbott, "Lyapunov spectra of chaotic recurrent neural
    networks" (2020); Chang et al., ICLR 2019; for batch means, Schmeiser,
    "Batch size effects in the analysis of simulation output", Operations
    Research 30 (1982).

    See Also
    --------
    rnndyn.tangent : the end-to-end Jacobian itself, for short horizons.

    Examples
    --------
    >>> import rnndyn as rd
    >>> les = rd.lyapunov_spectrum(rd.systems.henon(), [0.1, 0.1], steps=20_000, transient=100)
    >>> les.exponents.round(2)
    array([ 0.42, -1.62])
    >>> les.error_blocks, bool(les.error.max() < 0.02)
    (20, True)
    >>> cell = rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15, activation="linear")
    >>> rd.lyapunov_spectrum(cell, [0.0, 0.5], steps=100).exponents.round(4)   # log|1 + ε(−γ ± 2i)|
    array([0.0051, 0.0051])
    """
    transient = as_int(transient, "transient", minimum=0)
    every = as_int(reortho_every, "reortho_every", minimum=1)
    if not isinstance(return_history, (bool, np.bool_)):
        raise ValidationError(f"return_history: expected True or False, got {return_history!r}")
    if steps is not None:
        steps = as_int(steps, "steps", minimum=1)
    if inputs is None:
        if steps is None:
            raise ValidationError("steps: required when inputs is None (the number of steps to accumulate)")
        total = transient + steps
    else:
        total = None  # taken from the inputs
        if steps is not None:
            total = transient + steps
    prep = prepare(cell, h0, inputs, total)
    total = prep.steps
    if steps is None:
        steps = total - transient
        if steps < 1:
            raise ValidationError(
                f"transient: {transient} leaves no step to accumulate from the {total} steps of inputs"
            )
    B, n = prep.h0.shape
    k = n if k is None else as_int(k, "k", minimum=1, maximum=n)
    H = -(-steps // every) if return_history else 0
    check_memory(8.0 * B * (H * k + n * k), f"the history of {B} spectra of {k} exponents over {H} QR steps",
                 "pass return_history=False, or a larger reortho_every")
    run = kernel_for("lyapunov", prep.family, backend, work=float(B) * total * n * n * k, n=n, steps=total, batch=B)
    nblocks = _error_blocks(steps, every)
    edges = None
    on_chunk = None
    if progress is not None:
        if not callable(progress):
            raise ArgumentTypeError(f"progress: expected a callable progress(done, total), got {_describe(progress)}")
        edges = _edges(total, PROGRESS_CHUNKS)

        def on_chunk(t):
            progress(t, total)
    q0 = _initial_basis(n, k)
    _, S, blocks, hist, div = run(prep.args, prep.h0, prep.inputs, q0, transient, steps, every, nblocks,
                                  return_history, edges, on_chunk)
    warn_divergence(div)
    exps = S / steps
    order = np.argsort(-np.where(np.isnan(exps), -np.inf, exps), axis=1, kind="stable")
    error = _batch_means_error(exps, blocks, steps, every, n)
    rows = np.arange(exps.shape[0])[:, None]
    exps = exps[rows, order]
    error = error[rows, order]
    error = np.where(div[:, None] >= 0, np.nan, error)
    history = hist_steps = None
    if return_history:
        history = np.take_along_axis(hist, order[:, None, :], axis=2)
        hist_steps = np.minimum(np.arange(1, H + 1) * every, steps)
    if not prep.batched:
        exps, error = exps[0], error[0]
        history = None if history is None else history[0]
        div = int(div[0])
    return LyapunovSpectrum(exps, history, hist_steps, error, steps, transient, every, div, nblocks)


def _error_blocks(steps: int, every: int) -> int:
    """Blocks of the batch-means error: ERROR_BLOCKS, or W = ⌈steps/every⌉ when fewer; 0 when W < 4."""
    windows = -(-steps // every)
    blocks = min(ERROR_BLOCKS, windows)
    return blocks if blocks >= _MIN_ERROR_BLOCKS else 0


def _block_ends(steps: int, every: int, nblocks: int) -> np.ndarray:
    """Accumulated steps at which the blocks end (QR times; the last is ``steps``).

    Block j holds QRs j W // nb … (j + 1) W // nb - 1 of W = ⌈steps/every⌉, as
    the kernels share them out.
    """
    windows = -(-steps // every)
    return np.minimum((np.arange(1, nblocks + 1) * windows // nblocks) * every, steps)


def _batch_means_error(exps, blocks, steps, every, n):
    """``error`` of the unsorted estimates ``exps`` (B, k) from the per-block sums ``blocks`` (B, nb, k).

    See the Notes of :func:`lyapunov_spectrum`.
    """
    nb = blocks.shape[1]
    if nb == 0:
        return np.full_like(exps, np.nan)
    ends = _block_ends(steps, every, nb)
    first = nb // 2
    m = nb - first
    late_steps = steps - ends[first - 1]
    lengths = ends[first:] - ends[first - 1:-1]
    with np.errstate(invalid="ignore", divide="ignore"):  # -inf - -inf where a Jacobian was singular
        late_blocks = blocks[:, first:]
        late = late_blocks.sum(axis=1) / late_steps
        X = late_blocks / lengths[None, :, None]
        # the sample standard deviation over the blocks (ddof = 1), as np.std computes it
        dev = X - X.sum(axis=1, keepdims=True) / m
        half_width = _T975[m - 2] * np.sqrt((dev * dev).sum(axis=1) / (m - 1)) / np.sqrt(nb)
        offset = np.abs(exps - late)
        rounding = np.finfo(np.float64).eps * (4 * n + steps * np.abs(exps))
        return half_width + 2.0 * offset + rounding


__all__ = ["LyapunovSpectrum", "kaplan_yorke", "lyapunov_spectrum"]
