"""Norm growth under repeated multiplication: why gradients vanish or explode.

An RNN without inputs, bias or nonlinearity computes ``h_t = W h_{t-1}``, so
``h_t = W^t h_0``: the norm of ``W^t`` decides whether signals (and gradients,
which flow back through ``(W^T)^t``) vanish, keep their size or explode
(Smerity, "Explaining and illustrating orthogonal initialization for RNNs"). With a nonlinearity the relevant
product is the end-to-end Jacobian ``∂h_t/∂h_0 = J_t ⋯ J_1`` (Grosse, CSC321
Lecture 15); with deep feed-forward nets it is a product of layer
matrices (Dive into Deep Learning §5.4).

Everything here is computed with rnndyn's own machinery: matrix powers are the
states of a linear :class:`~rnndyn.VanillaRNN` run by :func:`rnndyn.simulate`
from ``h_0 = I`` (one trajectory per column), and their norms are the tangent
norms of :func:`rnndyn.tangent`.

Functions
---------
init_matrix          an (n, n) matrix from an init spec (a bare number is read as a gain)
norm_growth          ‖W^t‖ (linear) or ‖∂h_t/∂h_0‖ (nonlinear cells) against t, per init
power_snapshots      W^t h_0 at chosen t (h_0 = I: the matrix powers themselves)
fibonacci            F^n by repeated multiplication and by Q Λ^n Q⁻¹
matrix_product       running product of a sequence of matrices and its norms
gaussian_product     the d2l experiment: a Gaussian 4x4 matrix times 100 more
orthogonal_product   the same with orthogonal factors (norm stays 1)
scalar_products      ∂h_T/∂h_0 = w^T of a 1-D linear RNN (117.4 and 0.00515)
tanh_cliff           h_T and the loss of a 1-D tanh RNN over a parameter grid
init_variance        empirical variances of Xavier-initialised layers vs theory

References: see :mod:`rnndyn.references`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from rnndyn import matrices
from rnndyn._validate import _describe, as_float, as_int, as_real_array, as_rng, choice
from rnndyn.analysis.stability import spectral_radius
from rnndyn.analysis.trajectories import check_memory, simulate, tangent
from rnndyn.errors import ArgumentTypeError, DivergenceWarning, ValidationError
from rnndyn.systems.cells import AntisymmetricRNN, EulerRNN, VanillaRNN

__all__ = [
    "CELLS",
    "INIT_SPECS",
    "KEEP_BAND",
    "VERDICTS",
    "Cliff",
    "FibonacciPowers",
    "NormGrowth",
    "PowerSnapshots",
    "ProductGrowth",
    "ScalarProducts",
    "VarianceCheck",
    "fibonacci",
    "gaussian_product",
    "growth_verdict",
    "init_matrix",
    "init_variance",
    "matrix_product",
    "norm_growth",
    "orthogonal_product",
    "power_snapshots",
    "scalar_products",
    "tanh_cliff",
]

#: Cells :func:`norm_growth` runs.
CELLS = ("linear", "vanilla", "euler", "antisymmetric")

#: Initialiser names :func:`init_matrix` reads (``NAME[:KEY=VALUE]``, :data:`rnndyn.init.INIT_SPEC_GRAMMAR`).
INIT_SPECS = ("orthogonal", "identity", "normal", "uniform", "xavier", "xavier_normal",
              "xavier_uniform", "antisymmetric")

#: Half-width of the "keeps its norm" band of the mean growth rate per step, on a log scale: a norm
#: that changes by less than 0.1 % per step (a factor within e^{±0.064} over Smerity's 64 steps,
#: e^{±1} over 1000) keeps its norm; below the band it vanishes, above it explodes.
KEEP_BAND: float = 1e-3

#: The verdicts of :func:`norm_growth`, by the measured growth rate and the floating-point range.
VERDICTS = ("vanishes", "keeps its norm", "explodes", "overflowed", "underflowed")

#: The default initialisations of ``rnndyn norms``: vanishing, norm-keeping, exploding.
DEFAULT_INITS = ("normal:gain=0.5", "orthogonal", "normal:gain=1.5")


# --------------------------------------------------------------------------- initialisation by gain


def init_matrix(spec: str, n, rng=None) -> np.ndarray:
    """An (n, n) matrix from an init spec ``NAME[:KEY=VALUE]``; :func:`rnndyn.init.from_spec` with one difference.

    The grammar is :data:`rnndyn.init.INIT_SPEC_GRAMMAR`, the same as
    everywhere: ``normal:gain=0.5`` has spectral radius about 0.5 for every
    n, so it vanishes under repeated multiplication and ``normal:gain=1.5``
    explodes, as in the Smerity post. The one difference is the deprecated
    bare number (``normal:0.5``): here it was always a **gain**, and it is
    still read so, with a DeprecationWarning (``from_spec`` reads it as the
    initialiser's own parameter, a standard deviation for ``normal``).

    Parameters
    ----------
    spec : str or rnndyn.init.InitSpec
        ``NAME[:KEY=VALUE]`` with NAME one of :data:`INIT_SPECS`.
    n : int
        Size.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    ndarray, shape (n, n)

    Notes
    -----
    The circular law: an n x n matrix of iid entries of variance σ² has its
    eigenvalues spread over a disc of radius σ·sqrt(n); an antisymmetric one
    with off-diagonal variance σ² has them on the imaginary axis within
    ±2σ·sqrt(n) (the semicircle law). :meth:`rnndyn.init.InitSpec.matrix`
    lists how each gain is converted.

    Examples
    --------
    >>> import numpy as np
    >>> W = init_matrix("orthogonal:gain=0.9", 8, rng=0)
    >>> bool(np.allclose(np.abs(np.linalg.eigvals(W)), 0.9))
    True
    """
    parsed = matrices.parse_init_spec(spec, bare_number="gain")
    return parsed.matrix(as_int(n, "size", minimum=1), as_rng(rng))


# --------------------------------------------------------------------------- norm growth


@dataclass(frozen=True)
class NormGrowth:
    """Result of :func:`norm_growth`.

    Attributes
    ----------
    inits : tuple of str
        The specs, one per row of the arrays below.
    times : ndarray of int, (T+1,)
        t = 0..T.
    matrix_norms : ndarray, (k, T+1)
        ‖W^t‖₂ for each initialisation (the linear RNN's ∂h_t/∂h_0).
    jacobian_norms : ndarray or None, (k, T+1)
        ‖∂h_t/∂h_0‖₂ of the nonlinear cell along the trajectory from ``h0``;
        None for ``cell="linear"``.
    spectral_radius : ndarray, (k,)
        max |λ(W)|.
    jacobian_radius : ndarray, (k,)
        Spectral radius of the one-step Jacobian the cell has at h = 0 with no
        input: ρ(W) for the linear cell, ρ(φ'(0)·W) for a vanilla cell,
        ρ(I + ε·φ'(0)·(W − γI)) for an Euler cell and ρ(I + ε·φ'(0)·(W − Wᵀ − γI))
        for an antisymmetric one — the matrix the cell iterates near the origin.
    growth_per_step : ndarray, (k,)
        Mean growth factor per step of :attr:`norms`, (‖·‖_t / ‖·‖_0)^{1/t} at the last
        step t whose norm is a normal floating-point number (NaN when there is none).
    verdicts : tuple of str
        One of :data:`VERDICTS` per initialisation: "overflowed" / "underflowed" when
        the norm left the floating-point range (at ``limit_step``), otherwise
        "vanishes", "keeps its norm" or "explodes" by whether log(growth_per_step)
        lies below, inside or above ±:data:`KEEP_BAND`.
    limit_step : ndarray of int, (k,)
        The first t at which the norm overflowed (inf or NaN) or underflowed (below
        the smallest normal double, 2.2e-308); −1 when it stayed in range.
    cell : str
    size : int
    """

    inits: tuple
    times: np.ndarray
    matrix_norms: np.ndarray
    jacobian_norms: np.ndarray | None
    spectral_radius: np.ndarray
    jacobian_radius: np.ndarray
    growth_per_step: np.ndarray
    verdicts: tuple
    limit_step: np.ndarray
    cell: str
    size: int

    @property
    def norms(self) -> np.ndarray:
        """The quantity to plot: ``jacobian_norms`` for nonlinear cells, else ``matrix_norms``."""
        return self.matrix_norms if self.jacobian_norms is None else self.jacobian_norms


def growth_verdict(norms, band=KEEP_BAND) -> tuple[float, str, int]:
    """The mean growth factor per step of a norm sequence and what it says.

    Parameters
    ----------
    norms : array_like, (T+1,)
        ‖A_t‖ for t = 0..T, with ‖A_0‖ > 0.
    band : float
        Half-width of the "keeps its norm" band of log(growth per step).

    Returns
    -------
    rate : float
        (‖A_t‖ / ‖A_0‖)^{1/t} at the last t before the norm left the range of
        normal doubles (NaN when that is t = 0, or T = 0).
    verdict : str
        "overflowed" or "underflowed" when the norm left the range at some step,
        else "vanishes", "keeps its norm" or "explodes" (log rate < −band, within
        ±band, > band); "n/a" when T = 0.
    limit_step : int
        The step at which the norm left the range, −1 when it did not.

    Examples
    --------
    >>> growth_verdict(0.5 ** np.arange(11))
    (0.5, 'vanishes', -1)
    >>> growth_verdict([1.0, 2.0, 4.0, np.inf])
    (2.0, 'overflowed', 3)
    """
    a = as_real_array(norms, "norms", ndim=1, allow_nonfinite=True)
    if np.any(a < 0):
        raise ValidationError(f"norms: expected non-negative norms, found {a[np.argmax(a < 0)]:g}")
    T = a.size - 1
    if T <= 0:
        return float("nan"), "n/a", -1
    tiny = np.finfo(float).tiny
    with np.errstate(invalid="ignore"):
        over = ~np.isfinite(a)
        under = ~over & (a < tiny)
    out = np.flatnonzero(over | under)
    limit = int(out[0]) if out.size else -1
    last = (limit if limit >= 0 else T + 1) - 1
    rate = math.exp((math.log(a[last]) - math.log(a[0])) / last) if last >= 1 and limit != 0 else float("nan")
    if limit >= 0:
        return rate, ("overflowed" if over[limit] else "underflowed"), limit
    lr = math.log(rate)
    return rate, ("vanishes" if lr < -band else "explodes" if lr > band else "keeps its norm"), -1


def _linear_tangent_norms(W: np.ndarray, steps: int, backend="auto") -> np.ndarray:
    # The tangent of h -> W h is W^t itself: the kernel's repeated product is the matrix power.
    return tangent(VanillaRNN(W, activation="linear"), np.zeros(W.shape[0]), steps=steps, backend=backend).norms


def norm_growth(inits=DEFAULT_INITS, size=64, steps=64, cell="linear", rng=0, *, eps=0.1, gamma=0.0,
                activation="tanh", h0=None, progress=None, backend="auto") -> NormGrowth:
    """How the norm of repeated products grows or decays, one curve per initialisation.

    Parameters
    ----------
    inits : sequence of str
        Initialisation specs ``NAME[:KEY=VALUE]``, read by :func:`init_matrix`.
        Default: ``normal:gain=0.5`` (vanishes), ``orthogonal`` (keeps its
        norm), ``normal:gain=1.5`` (explodes).
    size : int
        State size n.
    steps : int
        Number of steps T (the post uses 64).
    cell : {"linear", "vanilla", "euler", "antisymmetric"}
        ``"linear"``: ‖W^t‖ only. Otherwise also ‖∂h_t/∂h_0‖ of
        ``VanillaRNN(W, activation)``, ``EulerRNN(W, eps, gamma, activation)``
        or ``AntisymmetricRNN(W, eps, gamma, activation)`` from ``h0``.
    rng : None, int or numpy.random.Generator
        The matrices are drawn in the order of ``inits``, then ``h0``.
    eps, gamma, activation
        Cell parameters (nonlinear cells only).
    h0 : array_like, shape (n,), optional
        Initial state; by default N(0, 1/n) entries (‖h0‖ ≈ 1).
    progress : callable, optional
        Called with each initialisation's spec once its curves are computed.
    backend : str
        Where the kernels run (:func:`rnndyn.get_backend`; ``"reference"``: their NumPy twins).

    Returns
    -------
    NormGrowth
        inits, times, matrix_norms, jacobian_norms, spectral_radius,
        jacobian_radius, growth_per_step, verdicts, limit_step, cell, size.

    Warns
    -----
    DivergenceWarning
        Once, naming every initialisation whose norm overflowed or underflowed
        and the step at which it did; the rate and verdict of such a curve are
        measured on the steps before.

    Notes
    -----
    Smerity: "the matrix F^n vanishes if the absolute value of all
    eigenvalues are smaller than 1, maintains a constant norm if they are all
    1, explodes if any is larger than 1", shown there over 64 steps. With a
    nonlinearity the product is the Jacobian J_t ⋯ J_1 (CSC321 L15). The
    verdicts come from the measured growth rate (:func:`growth_verdict`), not
    from ρ(W): a contracting nonlinearity or the Euler step can turn either way.

    Examples
    --------
    >>> g = norm_growth(size=16, steps=64)
    >>> g.matrix_norms.shape
    (3, 65)
    >>> bool(g.matrix_norms[0, -1] < 1e-6 < 1e6 < g.matrix_norms[2, -1])
    True
    >>> bool(abs(g.matrix_norms[1, -1] - 1) < 1e-12)
    True
    >>> g.verdicts
    ('vanishes', 'keeps its norm', 'explodes')
    """
    if isinstance(inits, str):
        inits = (inits,)
    try:
        inits = tuple(inits)
    except TypeError:
        raise ArgumentTypeError(f"inits: expected a sequence of specs such as 'orthogonal', got {_describe(inits)}") from None
    if not inits:
        raise ValidationError("inits: expected at least one initialisation spec, got none")
    n = as_int(size, "size", minimum=1, maximum=4096)
    T = as_int(steps, "steps", minimum=0, maximum=10**6)
    choice(cell, "cell", CELLS)
    g = as_rng(rng)
    Ws = [init_matrix(s, n, g) for s in inits]
    check_memory(8.0 * len(Ws) * (T + 1) * 2, "the norms", "use fewer steps")
    with warnings.catch_warnings():
        # Overflow and underflow are reported once below, per initialisation, in these terms.
        warnings.simplefilter("ignore", DivergenceWarning)
        if progress is not None and not callable(progress):
            raise ArgumentTypeError(f"progress: expected a callable, got {_describe(progress)}")
        radius = np.array([spectral_radius(W) for W in Ws])
        cells = None
        if cell != "linear":
            if h0 is None:
                h = g.standard_normal(n) / math.sqrt(n)
            else:
                h = as_real_array(h0, "h0", ndim=1)
                if h.shape != (n,):
                    raise ValidationError(f"h0: expected shape ({n},) (the size), got {h.shape}")
            cls = {"vanilla": VanillaRNN, "euler": EulerRNN, "antisymmetric": AntisymmetricRNN}[cell]
            kw = {"activation": activation} if cell == "vanilla" else {"eps": eps, "gamma": gamma,
                                                                     "activation": activation}
            cells = [cls(W, **kw) for W in Ws]
        mat_rows, jac_rows = [], []
        for i, (spec, W) in enumerate(zip(inits, Ws)):
            mat_rows.append(_linear_tangent_norms(W, T, backend))
            if cells is not None:
                jac_rows.append(tangent(cells[i], h, steps=T, backend=backend).norms)
            if progress is not None:
                progress(spec)
        mat = np.array(mat_rows)
        jac = None if cells is None else np.array(jac_rows)
    jradius = radius if cells is None else np.array([spectral_radius(c.jacobian(np.zeros(n))) for c in cells])
    curves = mat if jac is None else jac
    found = [growth_verdict(row) for row in curves]
    rate = np.array([f[0] for f in found])
    verdicts = tuple(f[1] for f in found)
    limit = np.array([f[2] for f in found], dtype=np.int64)
    if np.any(limit >= 0):
        what = "‖W^t‖" if jac is None else "‖∂h_t/∂h_0‖"
        parts = [f"{spec} {v} at t = {t}" for spec, v, t in zip(inits, verdicts, limit) if t >= 0]
        warnings.warn(f"{len(parts)} of {len(inits)} curves of {what} left the floating-point range: "
                      + "; ".join(parts) + " (their rate and verdict are measured on the steps before)",
                      DivergenceWarning, stacklevel=2)
    return NormGrowth(tuple(inits), np.arange(T + 1), mat, jac, radius, jradius, rate, verdicts, limit, cell, n)


@dataclass(frozen=True)
class PowerSnapshots:
    """Result of :func:`power_snapshots`.

    Attributes
    ----------
    times : ndarray of int, (S,)
    states : ndarray, (S, n, m)
        ``W^t h_0`` for each t in ``times`` (columns: the m initial states).
    norms : ndarray, (S,)
        Spectral norm of each snapshot.
    """

    times: np.ndarray
    states: np.ndarray
    norms: np.ndarray


def power_snapshots(W, times=(0, 1, 4, 16, 64), h0=None, backend="auto") -> PowerSnapshots:
    """``W^t h_0`` at chosen t, run as a linear RNN (h_0 = I by default: the powers themselves).

    Parameters
    ----------
    W : array_like, shape (n, n)
    times : sequence of int
        Steps to keep, each ``>= 0``.
    h0 : array_like, shape (n, m), optional
        Initial states as columns; the identity by default (Smerity's simplified
        RNN: no inputs, no bias, identity activation, ``h_0 = I``).
    backend : str
        Where the kernels run (:func:`rnndyn.get_backend`; ``"reference"``: their NumPy twins).

    Returns
    -------
    PowerSnapshots
        times, states (S, n, m), norms (S,).

    Examples
    --------
    >>> import numpy as np, rnndyn as rd
    >>> s = power_snapshots(rd.named_matrix("fibonacci"), times=[0, 5])
    >>> s.states[1]
    array([[8., 5.],
           [5., 3.]])
    """
    W = as_real_array(W, "W", ndim=2)
    if W.shape[0] != W.shape[1] or W.shape[0] == 0:
        raise ValidationError(f"W: expected a non-empty square matrix, got shape {W.shape}")
    n = W.shape[0]
    ts = np.atleast_1d(as_real_array(times, "times", ndim=(0, 1)))
    if ts.size == 0 or np.any(ts < 0) or np.any(ts != np.round(ts)):
        raise ValidationError(f"times: expected non-negative integers, got {_describe(times)}")
    ts = ts.astype(np.int64)
    H0 = np.eye(n) if h0 is None else as_real_array(h0, "h0", ndim=2)
    if H0.shape[0] != n:
        raise ValidationError(f"h0: expected shape ({n}, m), got {H0.shape}")
    T = int(ts.max())
    # The trajectory up to max(times), and the snapshots gathered from it (one per entry of times).
    check_memory(8.0 * H0.shape[1] * n * ((T + 1) + ts.size), f"{T + 1} powers of a {n} x {n} matrix "
                 f"and {ts.size} snapshots", "ask for fewer or smaller times, or a smaller matrix")
    # One trajectory per column of h0; simulate's states are (m, T+1, n).
    traj = simulate(VanillaRNN(W, activation="linear"), H0.T, steps=T, backend=backend)
    states = np.transpose(traj.states[:, ts, :], (1, 2, 0))
    with np.errstate(invalid="ignore"):
        norms = np.array([np.linalg.norm(S, 2) if np.all(np.isfinite(S)) else np.inf for S in states])
    return PowerSnapshots(ts, states, norms)


# --------------------------------------------------------------------------- Fibonacci


@dataclass(frozen=True)
class FibonacciPowers:
    """Result of :func:`fibonacci`.

    Attributes
    ----------
    n : ndarray of int, (N+1,)
    by_multiplication : ndarray, (N+1, 2, 2)
        F^n by repeated multiplication (a linear RNN from h_0 = I).
    by_eigendecomposition : ndarray, (N+1, 2, 2)
        Q Λ^n Q⁻¹.
    eigenvalues : ndarray, (2,)
        Sorted by decreasing modulus: the golden ratio φ and 1 − φ.
    eigenvectors : ndarray, (2, 2)
        Q (columns).
    eigenvalue_powers : ndarray, (N+1, 2)
        λ_i^n: the first explodes, the second vanishes.
    numbers : ndarray, (N+1,)
        The Fibonacci numbers F^n[0, 1] = Fib(n).
    golden_check : ndarray, (5,)
        round(13 · φ^i), i = 0..4: 13, 21, 34, 55, 89.
    """

    n: np.ndarray
    by_multiplication: np.ndarray
    by_eigendecomposition: np.ndarray
    eigenvalues: np.ndarray
    eigenvectors: np.ndarray
    eigenvalue_powers: np.ndarray
    numbers: np.ndarray
    golden_check: np.ndarray

    @property
    def golden_ratio(self) -> float:
        """The dominant eigenvalue."""
        return float(self.eigenvalues[0])


def fibonacci(n_max=20, backend="auto") -> FibonacciPowers:
    """Powers of the Fibonacci matrix F = [[1, 1], [1, 0]], two ways.

    Parameters
    ----------
    n_max : int
        Largest power N (``0 <= N <= 1400``; float64 is exact only up to N ≈ 78).
    backend : str
        Where the kernels run (:func:`rnndyn.get_backend`; ``"reference"``: their NumPy twins).

    Returns
    -------
    FibonacciPowers

    Notes
    -----
    Smerity: F = Q Λ Q⁻¹, so F^n = Q Λ^n Q⁻¹; one eigenvalue (the
    golden ratio) explodes, the other (1 − φ ≈ −0.618) vanishes, and
    "if you just multiply a reasonably large Fibonacci number by the largest
    eigenvalue, you get essentially the next Fibonacci value":
    ``[np.round(13 * 1.618 ** i) for i in range(5)] == [13, 21, 34, 55, 89]``.

    Examples
    --------
    >>> fib = fibonacci(10)
    >>> fib.numbers[:8].astype(int).tolist()
    [0, 1, 1, 2, 3, 5, 8, 13]
    >>> round(fib.golden_ratio, 6), fib.golden_check.astype(int).tolist()
    (1.618034, [13, 21, 34, 55, 89])
    """
    N = as_int(n_max, "n_max", minimum=0, maximum=1400)
    F = matrices.named_matrix("fibonacci")
    mult = power_snapshots(F, np.arange(N + 1), backend=backend).states
    lam, Q = np.linalg.eig(F)
    order = np.argsort(-np.abs(lam))
    lam, Q = lam.real[order], Q.real[:, order]  # F is symmetric: real spectrum
    ns = np.arange(N + 1)
    lam_n = lam[None, :] ** ns[:, None]
    Qinv = np.linalg.inv(Q)
    eig = np.einsum("ij,nj,jk->nik", Q, lam_n, Qinv)
    golden = np.round(13.0 * lam[0] ** np.arange(5))
    return FibonacciPowers(ns, mult, eig, lam, Q, lam_n, mult[:, 0, 1].copy(), golden)


# --------------------------------------------------------------------------- products of many matrices


@dataclass(frozen=True)
class ProductGrowth:
    """Result of :func:`matrix_product` (and the d2l helpers).

    Attributes
    ----------
    norms : ndarray, (K,)
        ‖M_1 M_2 ⋯ M_k‖₂ for k = 1..K.
    final : ndarray, (n, n)
        The full product.
    max_abs : float
        Largest |entry| of the product (the magnitude d2l prints).
    """

    norms: np.ndarray
    final: np.ndarray
    max_abs: float


def matrix_product(mats) -> ProductGrowth:
    """Running product ``M_1 M_2 ⋯ M_k`` (left to right, as d2l writes ``M = M @ next``).

    Parameters
    ----------
    mats : array_like, shape (K, n, n)

    Returns
    -------
    ProductGrowth

    Examples
    --------
    >>> import numpy as np
    >>> matrix_product(np.stack([2 * np.eye(2)] * 3)).norms.tolist()
    [2.0, 4.0, 8.0]
    """
    A = as_real_array(mats, "mats", ndim=3)
    if A.shape[0] == 0 or A.shape[1] != A.shape[2] or A.shape[1] == 0:
        raise ValidationError(f"mats: expected a non-empty stack of square matrices (K, n, n), got shape {A.shape}")
    P = A[0].copy()
    norms = np.empty(A.shape[0])
    norms[0] = np.linalg.norm(P, 2)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, A.shape[0]):
            P = P @ A[k]
            norms[k] = np.linalg.norm(P, 2) if np.all(np.isfinite(P)) else np.inf
    over = np.flatnonzero(~np.isfinite(norms))
    if over.size:
        warnings.warn(f"the product overflowed at factor {over[0] + 1} of {A.shape[0]}: its norm exceeds the "
                      "float64 range from there on (inf, or NaN entries where inf meets 0)", DivergenceWarning,
                      stacklevel=2)
    return ProductGrowth(norms, P, float(np.max(np.abs(P))))


def gaussian_product(count=100, size=4, rng=0) -> ProductGrowth:
    """d2l §5.4.1.2: a Gaussian matrix multiplied by ``count`` more, all N(0, 1) entries.

    Parameters
    ----------
    count : int
        Number of multiplications (d2l: 100), so ``count + 1`` factors.
    size : int
        Matrix size (d2l: 4).
    rng : None, int or numpy.random.Generator
        Draws ``rng.normal(0, 1, (size, size))``, as the seed's NumPy code does.

    Returns
    -------
    ProductGrowth

    Notes
    -----
    The top Lyapunov exponent of products of n x n standard Gaussian matrices
    is (log 2 + ψ(n/2)) / 2 ≈ 0.558 for n = 4, so after 100 factors the norm
    is about e^56 ≈ 1e24, the 1e23–1e25 Zhang et al. print.

    Examples
    --------
    >>> p = gaussian_product(rng=0)
    >>> 1e20 < p.max_abs < 1e28
    True
    """
    count = as_int(count, "count", minimum=0, maximum=10**5)
    size = as_int(size, "size", minimum=1, maximum=512)
    # The factors are drawn, then stacked: twice their size at the peak.
    check_memory(2 * 8.0 * (count + 1) * size * size, f"{count + 1} Gaussian {size} x {size} factors",
                 "use fewer or smaller factors")
    g = as_rng(rng)
    return matrix_product(np.stack([g.normal(0.0, 1.0, (size, size)) for _ in range(count + 1)]))


def orthogonal_product(count=100, size=4, rng=0) -> ProductGrowth:
    """The same product with Haar-orthogonal factors (:func:`rnndyn.init.orthogonal`): its norm stays 1.

    Examples
    --------
    >>> p = orthogonal_product(rng=0)
    >>> bool(abs(p.norms[-1] - 1) < 1e-10)
    True
    """
    count = as_int(count, "count", minimum=0, maximum=10**5)
    size = as_int(size, "size", minimum=1, maximum=512)
    g = as_rng(rng)
    return matrix_product(np.stack([matrices.orthogonal(size, rng=g) for _ in range(count + 1)]))


# --------------------------------------------------------------------------- CSC321: one dimension


@dataclass(frozen=True)
class ScalarProducts:
    """Result of :func:`scalar_products`.

    Attributes
    ----------
    w : ndarray, (k,)
    times : ndarray of int, (T+1,)
    jacobians : ndarray, (k, T+1)
        ∂h_t/∂h_0 = w^t of the 1-D linear RNN h_t = w h_{t-1}.
    """

    w: np.ndarray
    times: np.ndarray
    jacobians: np.ndarray


def scalar_products(ws=(1.1, 0.9), steps=50, backend="auto") -> ScalarProducts:
    """∂h_T/∂h_0 of the univariate linear RNN ``h_t = w h_{t-1}``, through :func:`rnndyn.tangent`.

    Parameters
    ----------
    ws : sequence of float
        Recurrent weights.
    steps : int
        T (CSC321: 50).
    backend : str
        Where the kernels run (:func:`rnndyn.get_backend`; ``"reference"``: their NumPy twins).

    Returns
    -------
    ScalarProducts

    Notes
    -----
    Grosse, CSC321 Lecture 15: with linear activations the Jacobian
    is w^T; w = 1.1, T = 50 gives 117.4 (exploding), w = 0.9 gives 0.00515
    (vanishing).

    Examples
    --------
    >>> p = scalar_products()
    >>> [round(float(v), 5) for v in p.jacobians[:, -1]]
    [117.39085, 0.00515]
    """
    w = np.atleast_1d(as_real_array(ws, "ws", ndim=(0, 1)))
    if w.size == 0:
        raise ValidationError("ws: expected at least one weight, got none")
    T = as_int(steps, "steps", minimum=0, maximum=10**6)
    # The products, and each tangent's norm and vector-norm records.
    check_memory(8.0 * w.size * (T + 1) * 3, f"{w.size} products over {T} steps", "use fewer weights or steps")
    # The (signed) 1x1 Jacobian: tangent's norms are |w^t|, its jacobian only the end.
    jac = np.empty((w.size, T + 1))
    for i, wi in enumerate(w):
        cell = VanillaRNN(np.array([[wi]]), activation="linear")
        jac[i] = (tangent(cell, [0.0], steps=T, vectors=[1.0], backend=backend).vector_norms
                  * np.sign(wi) ** np.arange(T + 1))
    return ScalarProducts(w, np.arange(T + 1), jac)


@dataclass(frozen=True)
class Cliff:
    """Result of :func:`tanh_cliff`.

    Attributes
    ----------
    param : str
        ``"b"`` or ``"w"``: which parameter ``values`` sweeps.
    values : ndarray, (P,)
    steps : ndarray of int, (S,)
        The horizons T.
    final : ndarray, (S, P)
        h_T for each horizon and parameter value.
    loss : ndarray, (S, P)
        ½ (h_T − target)².
    w, b : float or None
        The fixed weight and bias; the swept one is None (it takes every value of ``values``).
    h0, target : float
        The initial state and the loss's target.
    """

    param: str
    values: np.ndarray
    steps: np.ndarray
    final: np.ndarray
    loss: np.ndarray
    w: float | None
    b: float | None
    h0: float
    target: float


def tanh_cliff(values, param="b", steps=(5, 20, 50), *, w=3.0, b=0.0, h0=0.5, target=1.0, backend="auto") -> Cliff:
    """Loss of a 1-D tanh RNN ``h_t = tanh(w h_{t-1} + b)`` after T steps, over a parameter grid.

    The grid runs as one batch through :func:`rnndyn.simulate`: for
    ``param="b"`` the bias enters as a constant input ``x_t = b`` with input
    weight 1 (one trajectory per value); for ``param="w"`` the values sit on
    the diagonal of a P x P recurrent matrix, so each coordinate is its own
    1-D RNN.

    Parameters
    ----------
    values : array_like, shape (P,)
        Values of the swept parameter (P <= 4096 for ``param="w"``).
    param : {"b", "w"}
    steps : sequence of int
        Horizons T at which the loss is read (one run to max T).
    w, b : float
        The fixed weight and bias (the swept one is ignored).
    h0 : float
        Initial state.
    target : float
        Loss ½ (h_T − target)².
    backend : str
        Where the kernels run (:func:`rnndyn.get_backend`; ``"reference"``: their NumPy twins).

    Returns
    -------
    Cliff

    Notes
    -----
    CSC321 Lecture 15, after Pascanu et al. (2013): with w > 1 the
    map has two attractors near ±1, and the parameter value at which h_0
    crosses the unstable fixed point between them flips h_T from one to the
    other. The slope there grows like (w·tanh')^T: a cliff in the loss, whose
    gradient explodes on it and vanishes everywhere else.

    Examples
    --------
    >>> import numpy as np
    >>> c = tanh_cliff(np.linspace(-2, 0, 5), steps=[50])
    >>> np.round(c.final[0], 3).tolist()
    [-1.0, -1.0, -0.999, 0.985, 0.995]
    """
    param = choice(param, "param", {"b", "w"})
    v = as_real_array(values, "values", ndim=1)
    if v.size == 0:
        raise ValidationError("values: expected at least one parameter value, got none")
    Ts = np.atleast_1d(as_real_array(steps, "steps", ndim=(0, 1)))
    if Ts.size == 0 or np.any(Ts < 0) or np.any(Ts != np.round(Ts)):
        raise ValidationError(f"steps: expected non-negative integers, got {_describe(steps)}")
    Ts = Ts.astype(np.int64)
    T = int(Ts.max())
    w = as_float(w, "w")
    b = as_float(b, "b")
    h0 = as_float(h0, "h0")
    target = as_float(target, "target")
    P = v.size
    # The states over max(steps), and the final values gathered from them (one per entry of steps).
    check_memory(8.0 * P * (2 * (T + 1) + Ts.size), f"{P} trajectories over {T} steps, read at {Ts.size} "
                 "horizons", "use a coarser grid or fewer horizons")
    if param == "b":
        cell = VanillaRNN(np.array([[w]]), V=np.ones((1, 1)), activation="tanh")
        inputs = np.broadcast_to(v[:, None, None], (P, T, 1))
        states = simulate(cell, np.full((P, 1), h0), inputs, backend=backend)
        final = states.states[:, Ts, 0].T
        w_out, b_out = w, None
    else:
        if P > 4096:
            raise ValidationError(f"values: at most 4096 values for param='w' (a P x P matrix), got {P}")
        cell = VanillaRNN(np.diag(v), b=np.full(P, b), activation="tanh")
        states = simulate(cell, np.full(P, h0), steps=T, backend=backend)
        final = states.states[Ts, :]
        w_out, b_out = None, b
    final = np.ascontiguousarray(final)
    loss = 0.5 * (final - target) ** 2
    return Cliff(param, v, Ts, final, loss, w_out, b_out, h0, target)


# --------------------------------------------------------------------------- d2l: Xavier variances


@dataclass(frozen=True)
class VarianceCheck:
    """Result of :func:`init_variance`; one entry per (n_in, n_out) pair.

    Attributes
    ----------
    method : str
    n_in, n_out : ndarray of int, (k,)
    weight_var : ndarray, (k,)
        Empirical variance of the weights.
    forward_var : ndarray, (k,)
        Var[o_i] of o = W x with x ~ N(0, I).
    backward_var : ndarray, (k,)
        Var of Wᵀ g with g ~ N(0, I) (the back-propagated gradient).
    predicted_weight_var : ndarray, (k,)
        σ² = 2 / (n_in + n_out).
    predicted_forward_var, predicted_backward_var : ndarray, (k,)
        n_in σ² and n_out σ² (d2l eq. 5.4.5 with γ² = 1).
    """

    method: str
    n_in: np.ndarray
    n_out: np.ndarray
    weight_var: np.ndarray
    forward_var: np.ndarray
    backward_var: np.ndarray
    predicted_weight_var: np.ndarray
    predicted_forward_var: np.ndarray
    predicted_backward_var: np.ndarray


def init_variance(n_in, n_out, method="xavier_normal", samples=256, repeats=4, rng=0) -> VarianceCheck:
    """Empirical variances of a Xavier-initialised linear layer against d2l's formulas.

    Parameters
    ----------
    n_in, n_out : int or array_like of int, shape (k,)
        Layer sizes, paired elementwise (broadcast).
    method : {"xavier_normal", "xavier_uniform"}
        :func:`rnndyn.init.xavier_normal` or :func:`rnndyn.init.xavier_uniform`.
    samples : int
        Input (and output-gradient) vectors per weight draw.
    repeats : int
        Independent weight draws averaged over.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    VarianceCheck

    Notes
    -----
    Dive into Deep Learning §5.4.2.2: Var[o_i] = n_in σ² γ², the
    back-propagated gradient's variance is n_out σ² γ², and Xavier's compromise
    σ² = 2 / (n_in + n_out) (normal, or U(−a, a) with a = sqrt(6/(n_in + n_out))).

    Examples
    --------
    >>> v = init_variance(64, 64, samples=512)
    >>> bool(abs(v.forward_var[0] - 1) < 0.1)
    True
    """
    method = choice(method, "method", {"xavier_normal", "xavier_uniform"})
    a = np.atleast_1d(as_real_array(n_in, "n_in", ndim=(0, 1)))
    o = np.atleast_1d(as_real_array(n_out, "n_out", ndim=(0, 1)))
    try:
        a, o = np.broadcast_arrays(a, o)
    except ValueError:
        raise ValidationError(f"n_in, n_out: shapes {a.shape} and {o.shape} do not broadcast") from None
    if a.size == 0 or np.any(a < 1) or np.any(o < 1) or np.any(a != np.round(a)) or np.any(o != np.round(o)):
        raise ValidationError("n_in, n_out: expected positive integers")
    if np.any(a > 8192) or np.any(o > 8192):
        raise ValidationError("n_in, n_out: expected sizes <= 8192")
    samples = as_int(samples, "samples", minimum=2, maximum=10**6)
    repeats = as_int(repeats, "repeats", minimum=1, maximum=10**4)
    check_memory(8.0 * samples * float(np.max(a) + np.max(o)) * 2, "the variance samples", "use fewer samples")
    g = as_rng(rng)
    draw = matrices.xavier_normal if method == "xavier_normal" else matrices.xavier_uniform
    k = a.size
    wv, fv, bv = np.zeros(k), np.zeros(k), np.zeros(k)
    for i in range(k):
        ni, no = int(a[i]), int(o[i])
        for _ in range(repeats):
            W = draw(ni, no, rng=g)  # (n_out, n_in)
            x = g.standard_normal((samples, ni))
            gr = g.standard_normal((samples, no))
            wv[i] += W.var()
            fv[i] += (x @ W.T).var()
            bv[i] += (gr @ W).var()
    wv, fv, bv = wv / repeats, fv / repeats, bv / repeats
    a = a.astype(np.int64)
    o = o.astype(np.int64)
    s2 = 2.0 / (a + o)
    return VarianceCheck(method, a, o, wv, fv, bv, s2, a * s2, o * s2)
