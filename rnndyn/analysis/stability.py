"""Eigen- and singular spectra, stability regions and the critical diffusion γ.

The sources' central argument is spectral. For a linear map h ↦ M h, eigenvalues
with |λ| < 1 vanish, |λ| = 1 keep their norm and |λ| > 1 explode (Smerity's post).
For the ODE h' = φ(M h) behind the Euler and antisymmetric cells the solution is
stable when max Re λ(J) ≤ 0 and *critical* when Re λ ≈ 0; its forward-Euler
discretisation h_t = h_{t-1} + ε φ(M h_{t-1}) is stable only when
max_i |1 + ε λ_i(J)| ≤ 1, which purely imaginary eigenvalues always violate —
hence the diffusion γ of the AntisymmetricRNN (Chang et al., ICLR 2019,
"Stability of the forward Euler method").

Conventions used throughout
---------------------------
* ``M`` is a cell's effective recurrent matrix (``cell.recurrent_matrix``):
  W for a vanilla cell, W − γI for an Euler cell, W − Wᵀ − γI for an
  antisymmetric cell.
* The *ODE Jacobian at the origin* of an Euler-type cell is J₀ = g·M with
  g = φ'(0) (times the gate σ(b_z) for a gated cell), the linearisation at zero
  pre-activation. g = 1 for tanh and linear, 1/4 for sigmoid; ReLU is not
  differentiable at 0 and the active side's slope 1 is used (the kernels'
  one-step Jacobian takes φ'(0) = 0 there).
* The *Euler factor* is max_i |1 + ε λ_i(J₀)|: the spectral radius of the
  linearised one-step map I + ε J₀. For tanh and linear cells it is
  max_i |1 + ε λ_i(M)|.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from rnndyn._validate import _describe, as_complex_array, as_float, as_real_array
from rnndyn.backends.blas import factorisation_threads
from rnndyn.errors import ArgumentTypeError, ValidationError
from rnndyn.formatting import format_eigenvalues
from rnndyn.kernels.numpy import cell as _ref
from rnndyn.kernels.params import ACTIVATION_NAMES, LINEAR, RELU
from rnndyn.systems.base import System, family_of

__all__ = [
    "JacobianSpectrum",
    "StabilityReport",
    "critical_gamma",
    "eigenvalues",
    "euler_factor",
    "format_eigenvalues",
    "jacobian_spectrum",
    "singular_values",
    "spectral_radius",
    "stability",
]


# --------------------------------------------------------------------------- basic spectra


def _as_square(M, name: str) -> np.ndarray:
    M = as_real_array(M, name, ndim=2)
    if M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise ValidationError(f"{name}: expected a square (n, n) matrix with n >= 1, got shape {M.shape}")
    return M


def _sorted(lam: np.ndarray) -> np.ndarray:
    # Descending real part, then descending imaginary part: a conjugate pair prints "+" first.
    return lam[np.lexsort((-lam.imag, -lam.real))]


def _eigvals(M: np.ndarray) -> np.ndarray:
    """Eigenvalues of a validated square matrix, exploiting exact structure."""
    with factorisation_threads():  # a busy machine's cores make a threaded eigensolver many times slower
        return _eigvals_lapack(M)


def _eigvals_lapack(M: np.ndarray) -> np.ndarray:
    import scipy.linalg  # on first use: loading SciPy costs commands that never factorise (`--help`) ~0.5 s

    n = M.shape[0]
    with np.errstate(over="ignore", invalid="ignore"):  # entries near 1e308: then simply not antisymmetric
        S = M + M.T
        off = S - np.diag(np.diag(S))
    d = np.diag(M)
    if not off.any() and np.all(d == d[0]):
        # M = cI + A with A exactly antisymmetric: λ = c + iω with ω the (real) eigenvalues of the
        # Hermitian −iA. A general eigensolver would return Re λ = c + O(u‖A‖); this keeps the
        # critical criterion (Re λ = c exactly) exact, e.g. −0.15 ± 2i for Wdiff.
        c = float(d[0])
        A = M - c * np.eye(n)
        w = scipy.linalg.eigvalsh(-1j * A)
        return _sorted(c + 1j * w)
    if np.array_equal(M, M.T):
        return _sorted(scipy.linalg.eigvalsh(M).astype(complex))
    return _sorted(scipy.linalg.eigvals(M, check_finite=False).astype(complex))


def eigenvalues(M) -> np.ndarray:
    """Eigenvalues of a real square matrix, sorted by real part (then imaginary part), descending.

    Parameters
    ----------
    M : array_like, shape (n, n)

    Returns
    -------
    ndarray of complex, shape (n,)

    Notes
    -----
    Structure is used when it is exact: for M = cI + A with A antisymmetric
    (Aᵀ = −A, so M + Mᵀ = 2cI) the eigenvalues are c + iω with ω the real
    eigenvalues of the Hermitian matrix −iA (scipy.linalg.eigvalsh), so their
    real parts are exactly c — the AntisymmetricRNN's critical criterion
    (Chang et al. 2019: eigenvalues of W − Wᵀ are purely imaginary)
    holds to the last bit rather than to O(u‖A‖). Symmetric matrices use
    eigvalsh too; anything else uses scipy.linalg.eigvals (LAPACK geev).

    Examples
    --------
    >>> import rnndyn as rd
    >>> rd.analysis.stability.eigenvalues(rd.named_matrix("Wdiff"))
    array([-0.15+2.j, -0.15-2.j])
    >>> rd.analysis.stability.eigenvalues(rd.named_matrix("fibonacci")).real.round(6)
    array([ 1.618034, -0.618034])
    """
    return _eigvals(_as_square(M, "M"))


def singular_values(M) -> np.ndarray:
    """Singular values of a real matrix (or a stack of matrices), descending.

    Parameters
    ----------
    M : array_like, shape (n, m) or (B, n, m)

    Returns
    -------
    ndarray, shape (min(n, m),) or (B, min(n, m))

    Examples
    --------
    >>> import rnndyn as rd
    >>> rd.analysis.stability.singular_values(rd.named_matrix("W+")).round(4)
    array([3.2361, 1.2361])
    """
    M = as_real_array(M, "M", ndim=(2, 3))
    if M.ndim == 2:
        import scipy.linalg

        return scipy.linalg.svdvals(M, check_finite=False)
    return np.linalg.svd(M, compute_uv=False)


def spectral_radius(M) -> float:
    """max_i |λ_i(M)| of a real square matrix.

    Parameters
    ----------
    M : array_like, shape (n, n)

    Returns
    -------
    float

    Notes
    -----
    For the linear map h ↦ M h this decides vanishing (< 1), norm-keeping (= 1)
    and exploding (> 1) behaviour (Smerity).

    Structure that decides ρ exactly is used before any eigensolver: a triangular
    (or diagonal) M has its diagonal as eigenvalues, and a multiple cQ of an
    orthogonal matrix has every |λ| = |c| (one matrix product checks MᵀM = c²I, and
    only when all columns have the same norm). Other matrices go through
    :func:`eigenvalues`. Krylov methods (ARPACK's ``eigs(k=1, which="LM")``) are not
    used: on random matrices whose largest eigenvalues crowd the edge of the
    circular-law disk they return a converged eigenvalue that is not the largest
    (0.6 % low for n = 1024, std 3/√n) or do not converge at all (orthogonal M).

    Examples
    --------
    >>> import rnndyn as rd
    >>> round(rd.analysis.stability.spectral_radius(rd.named_matrix("fibonacci")), 6)  # the golden ratio
    1.618034
    >>> round(rd.analysis.stability.spectral_radius(rd.init.orthogonal(300, gain=1.5, rng=0)), 12)
    1.5
    """
    M = _as_square(M, "M")
    known = _structured_radius(M)
    if known is not None:
        return known
    return float(np.max(np.abs(_eigvals(M))))


def _structured_radius(M: np.ndarray) -> float | None:
    """ρ(M) where M's structure gives it exactly (triangular, or a multiple of an orthogonal matrix); else None."""
    d = np.abs(np.diag(M))
    if not np.triu(M, 1).any() or not np.tril(M, -1).any():
        return float(d.max())
    col2 = np.einsum("ij,ij->j", M, M)
    c2 = float(col2.max())
    if not np.isfinite(c2) or c2 == 0.0 or float(col2.min()) < c2 * (1 - 1e-12):
        return None
    G = M.T @ M
    G.flat[:: M.shape[0] + 1] -= c2
    if float(np.max(np.abs(G))) <= 1e-12 * c2:
        # every singular value is √c2 and |λ| lies between the smallest and largest of them
        return math.sqrt(c2)
    return None


def euler_factor(eigs, eps) -> float:
    """The forward-Euler amplification max_i |1 + ε λ_i|.

    Parameters
    ----------
    eigs : array_like of complex, shape (n,)
        Eigenvalues λ of the ODE Jacobian.
    eps : float
        Step size ε > 0.

    Returns
    -------
    float
        ≤ 1 exactly when every ελ lies in the closed disk of radius 1 centred
        at −1, i.e. every λ in the disk of radius 1/ε centred at −1/ε.

    Notes
    -----
    Chang et al. 2019 ("Stability of the forward Euler method"):
    forward Euler is stable iff max_i |1 + ε λ_i(J)| ≤ 1; purely imaginary λ
    always give |1 + iεω| = sqrt(1 + ε²ω²) > 1.

    Examples
    --------
    >>> import rnndyn as rd
    >>> round(rd.analysis.stability.euler_factor([2j, -2j], 0.1), 6)  # sqrt(1.04)
    1.019804
    """
    lam = as_complex_array(eigs, "eigs", what="an array of (complex) eigenvalues")
    if lam.size == 0:
        raise ValidationError("eigs: expected at least one eigenvalue, got an empty array")
    if not np.all(np.isfinite(lam)):
        raise ValidationError("eigs: expected finite eigenvalues")
    eps = as_float(eps, "eps", positive=True)
    return float(np.max(np.abs(1.0 + eps * lam)))


# --------------------------------------------------------------------------- critical γ


def _critical_gamma_from_eigs(lam: np.ndarray, eps: float) -> tuple[float, str]:
    """Smallest γ ≥ 0 with max_i |1 + ε(λ_i − γ)| ≤ 1, and a reason when none exists.

    For λ = a + iω the condition is (1 + ε(a − γ))² + ε²ω² ≤ 1, i.e. εω ≤ 1 and
    γ ∈ [a + (1 − s)/ε, a + (1 + s)/ε] with s = sqrt(1 − ε²ω²); γ is the smallest
    point of the intersection of these intervals with [0, ∞).
    """
    a = lam.real
    w = np.abs(lam.imag)
    with np.errstate(over="ignore"):  # a huge ε·|Im λ| is inf: still > 1, and the answer is the same
        x = eps * w
    if np.any(x > 1.0):
        i = int(np.argmax(x))
        return math.nan, (
            f"no γ exists: ε·|Im λ| = {x[i]:.4g} > 1 for λ = {_fmt(lam[i])}, so every shift leaves "
            f"|1 + ε(λ − γ)| > 1; a step ε ≤ {1.0 / w.max():.4g} is needed"
        )
    s = np.sqrt(np.clip(1.0 - x * x, 0.0, None))
    lo = a + eps * w * w / (1.0 + s)  # a + (1 − s)/ε without the cancellation of 1 − s
    with np.errstate(over="ignore"):  # a subnormal ε puts the upper end at +inf, its true limit
        hi = a + (1.0 + s) / eps
    g = max(0.0, float(lo.max()))
    if g > float(hi.min()) * (1 + 1e-12) + 1e-300:
        return math.nan, (
            "no γ exists: the real parts of the eigenvalues spread over more than one Euler disk "
            f"(γ would have to be ≥ {lo.max():.4g} and ≤ {hi.min():.4g})"
        )
    return g, ""


def _is_cell(obj, argname: str) -> bool:
    """True for a cell, False for anything else that is not a system (a matrix); refuses an LSTM or a Map."""
    if isinstance(obj, System) or (isinstance(obj, type) and issubclass(obj, System)):
        if family_of(obj, argname) != "cell":
            raise ArgumentTypeError(
                f"{argname}: expected a cell (VanillaRNN, EulerRNN, AntisymmetricRNN) or a matrix, got "
                f"{_describe(obj)}; the spectra of an LSTM or a Map along a trajectory are in jacobian_spectrum"
            )
        return True
    return False


def _gamma_free_matrix(cell) -> np.ndarray:
    """The matrix the diffusion γ is subtracted from: W (Euler) or W − Wᵀ (antisymmetric)."""
    from rnndyn.systems.cells import AntisymmetricRNN

    if isinstance(cell, AntisymmetricRNN):
        return cell.W - cell.W.T
    return np.array(cell.W)


def _origin_gain(p) -> np.ndarray:
    """Per-unit g with ε·g·M the linearised Euler step at zero pre-activation, (n,).

    Uses the kernels' own derivative formula (so a gate's σ(b_z) and its
    derivative term enter exactly as in the one-step Jacobian), with the ReLU's
    active-side slope 1 in place of the kernels' φ'(0) = 0.
    """
    n = p.M.shape[0]
    q = p._replace(act=LINEAR if p.act == RELU else p.act, b=np.zeros(n))
    H = np.zeros((1, n))
    X = np.zeros((1, p.V.shape[1]))
    return _ref.step_derivative(H, X, *q)[0] / p.eps


def _resolve_cell(cell, eps, name="cell"):
    """A cell with its ε replaced by ``eps`` when given; refuses ε for a vanilla cell."""
    p = cell.kernel_params()
    if eps is None:
        return cell
    if p.alpha != 1.0:
        raise ValidationError(f"eps: a {type(cell).__name__} has no step size ε; leave eps=None (got {eps!r})")
    return cell.replace(eps=as_float(eps, "eps", positive=True))


def critical_gamma(M_or_cell, eps=None) -> float:
    """The smallest diffusion γ ≥ 0 that makes forward Euler stable.

    The smallest γ ≥ 0 for which every eigenvalue of ε_eff (A − γI) lies in the
    forward-Euler stability disk |1 + z| ≤ 1.

    Parameters
    ----------
    M_or_cell : array_like, shape (n, n), or EulerRNN or AntisymmetricRNN
        What A is: for an :class:`~rnndyn.AntisymmetricRNN` the antisymmetric
        matrix W − Wᵀ of its recurrence; for an :class:`~rnndyn.EulerRNN` its W
        (the matrix its γ is subtracted from: for the antisymmetric W0 of the
        seed that *is* its antisymmetric part); for a bare matrix the matrix
        itself, as the W of a linear Euler cell.
    eps : float, optional
        Step size ε > 0; required for a matrix, defaults to the cell's ε.

    Returns
    -------
    float
        γ, or ``nan`` when no γ ≥ 0 works (see Notes; :func:`stability`'s
        summary says why).

    Raises
    ------
    ValidationError
        For a :class:`~rnndyn.VanillaRNN` (no ε, no γ), a matrix without ``eps``,
        or bad values.

    Notes
    -----
    Chang et al. 2019: eigenvalues ±iω of an antisymmetric matrix
    give |1 + iεω| > 1; subtracting γ from the diagonal moves them to −γ ± iω,
    inside the disk once (1 − εγ)² + ε²ω² ≤ 1. Per pair this gives the closed
    form γ = (1 − sqrt(1 − ε²ω²))/ε when εω ≤ 1, and no γ at all when εω > 1
    (the disk is only 2/ε wide and 1/ε tall at its widest). For an eigenvalue
    a + iω with a ≠ 0 the same algebra gives the interval
    [a + (1 − s)/ε, a + (1 + s)/ε], s = sqrt(1 − ε²ω²); γ is the smallest
    point of the intersection of all intervals with [0, ∞) (nan when empty).
    ε_eff = ε·g with g = φ'(0) (1 for tanh; times σ(b_z) for a gated cell, which
    must then be the same for every unit).

    Examples
    --------
    >>> import rnndyn as rd
    >>> round(rd.analysis.stability.critical_gamma(rd.named_matrix("W0"), eps=0.1), 6)
    0.202041
    >>> rd.analysis.stability.critical_gamma(rd.named_matrix("W0"), eps=1.0)  # ε·ω = 2 > 1
    nan
    """
    return _critical_gamma(M_or_cell, eps)[0]


def _critical_gamma(M_or_cell, eps):
    if _is_cell(M_or_cell, "M_or_cell"):
        cell = _resolve_cell(M_or_cell, eps)
        p = cell.kernel_params()
        if p.alpha != 1.0:
            raise ValidationError(
                f"M_or_cell: a {type(cell).__name__} has no step size ε nor diffusion γ; "
                "pass an EulerRNN, an AntisymmetricRNN or a matrix with eps"
            )
        g = _origin_gain(p)
        if not np.allclose(g, g[0], rtol=1e-14, atol=0.0):
            return math.nan, ("no closed form: the gate σ(b_z) differs between units, so γ does not "
                              "shift every eigenvalue of the linearised step alike")
        return _critical_gamma_from_eigs(_eigvals(_gamma_free_matrix(cell)), p.eps * float(g[0]))
    A = _as_square(M_or_cell, "M_or_cell")
    if eps is None:
        raise ValidationError("eps: required when M_or_cell is a matrix (the forward-Euler step size)")
    return _critical_gamma_from_eigs(_eigvals(A), as_float(eps, "eps", positive=True))


# --------------------------------------------------------------------------- the stability report


def _fmt(z, digits=4) -> str:
    z = complex(z)
    if abs(z.imag) <= 1e-12 * max(1.0, abs(z.real)):
        return f"{z.real:.{digits}g}"
    sign = "+" if z.imag >= 0 else "-"
    re = f"{z.real:.{digits}g}"
    return f"{re} {sign} {abs(z.imag):.{digits}g}i"


@dataclass(frozen=True)
class StabilityReport:
    """Result of :func:`stability`: spectra and verdicts of one configuration.

    Attributes
    ----------
    matrix_eigenvalues : ndarray of complex, (n,)
        λ(M) of the effective recurrent matrix M (W, W − γI or W − Wᵀ − γI).
    jacobian_eigenvalues : ndarray of complex, (n,)
        μ of the one-step Jacobian ∂h_t/∂h_{t-1} at ``state`` (default the origin).
    max_real : float
        max Re λ(M).
    spectral_radius : float
        max |μ|.
    euler_factor : float or None
        max |1 + ε λ(J₀)| (= max |1 + ε λ(M)| for tanh); None for a vanilla cell
        or a matrix without ``eps``.
    continuous_stable : bool or None
        max Re λ(M) ≤ tol·max(1, ‖M‖₂); None for a vanilla cell (no ODE).
    critical : bool or None
        Euler-type cells and matrices: every |Re λ(M)| ≤ tol·max(1, ‖M‖₂) (the
        critical criterion). Vanilla cells: every | |μ| − 1 | ≤ tol (the discrete
        analogue: the map keeps norms, Smerity's "|λ| = 1").
    euler_stable : bool or None
        euler_factor ≤ 1 + tol.
    discrete_stable : bool
        spectral_radius ≤ 1 + tol: the one-step map at ``state`` does not expand.
    critical_gamma : float or None
        Smallest γ ≥ 0 making forward Euler stable (:func:`critical_gamma`);
        nan when none exists (``critical_gamma_note`` says why); None when not
        applicable.
    eps : float or None
    kind : str
        "VanillaRNN", "EulerRNN", "AntisymmetricRNN" or "matrix".
    summary : str
        One line for humans.
    ode_eigenvalues : ndarray of complex or None
        λ(J₀), J₀ = g·M the ODE Jacobian at zero pre-activation (module notes);
        equals ``matrix_eigenvalues`` for tanh and linear cells.
    gamma : float or None
        The cell's γ (None for vanilla cells and matrices).
    critical_gamma_note : str
        Why ``critical_gamma`` is nan, else "".
    state : ndarray, (n,)
        Where ``jacobian_eigenvalues`` were taken.
    activation : str or None
    tol : float
    """

    matrix_eigenvalues: np.ndarray
    jacobian_eigenvalues: np.ndarray
    max_real: float
    spectral_radius: float
    euler_factor: float | None
    continuous_stable: bool | None
    critical: bool | None
    euler_stable: bool | None
    discrete_stable: bool | None
    critical_gamma: float | None
    eps: float | None
    kind: str
    summary: str
    ode_eigenvalues: np.ndarray | None = None
    gamma: float | None = None
    critical_gamma_note: str = ""
    state: np.ndarray | None = None
    activation: str | None = None
    tol: float = 1e-8

    @property
    def stable(self) -> bool:
        """The verdict for the system as it runs: forward Euler's when it applies, else the map's."""
        return bool(self.euler_stable if self.euler_stable is not None else self.discrete_stable)

    @property
    def euler_factors(self) -> np.ndarray | None:
        """|1 + ε λ_i(J₀)| for each eigenvalue (None without ε)."""
        if self.eps is None or self.ode_eigenvalues is None:
            return None
        return np.abs(1.0 + self.eps * self.ode_eigenvalues)

    def to_dict(self) -> dict:
        """Plain fields (arrays kept as arrays) for JSON output."""
        return {
            "kind": self.kind,
            "activation": self.activation,
            "eps": self.eps,
            "gamma": self.gamma,
            "matrix_eigenvalues": self.matrix_eigenvalues,
            "ode_eigenvalues": self.ode_eigenvalues,
            "jacobian_eigenvalues": self.jacobian_eigenvalues,
            "state": self.state,
            "max_real": self.max_real,
            "spectral_radius": self.spectral_radius,
            "euler_factor": self.euler_factor,
            "continuous_stable": self.continuous_stable,
            "critical": self.critical,
            "euler_stable": self.euler_stable,
            "discrete_stable": self.discrete_stable,
            "stable": self.stable,
            "critical_gamma": self.critical_gamma,
            "critical_gamma_note": self.critical_gamma_note,
            "tol": self.tol,
            "summary": self.summary,
        }


def stability(cell_or_matrix, eps=None, h=None, tol=1e-8) -> StabilityReport:
    """Spectra and stability verdicts of a cell or a matrix.

    Parameters
    ----------
    cell_or_matrix : VanillaRNN, EulerRNN, AntisymmetricRNN or array_like (n, n)
        A bare matrix M is read as the linear cell h ↦ h + ε M h when ``eps``
        is given (a forward-Euler step of h' = M h), else as the linear map
        h ↦ M h (its continuous verdicts then read M as the Jacobian of h' = M h).
    eps : float, optional
        Step size ε > 0. For an Euler or antisymmetric cell it replaces the
        cell's ε; a vanilla cell has none.
    h : array_like, shape (n,), optional
        State at which the one-step Jacobian is taken (default the origin).
        The cell's bias applies; there is no input.
    tol : float
        Tolerance of the verdicts (relative to max(1, ‖M‖₂) for real parts).

    Returns
    -------
    StabilityReport
        Eigenvalues of M and of the one-step Jacobian, max Re λ, spectral
        radius, Euler factor, verdicts, critical γ and a one-line summary;
        ``report.stable`` is the verdict for the system as it is run.

    Notes
    -----
    Criteria of Chang et al. 2019: the ODE h' = φ(M h) is stable when
    max Re λ(J) ≤ 0 and critical when Re λ(J) ≈ 0; its forward-Euler step is
    stable when max |1 + ε λ(J)| ≤ 1. The ODE Jacobian at the origin is
    J₀ = φ'(0)·M (times σ(b_z) when gated; tanh'(0) = 1) and the Euler factor
    uses ε λ(J₀). A positive gain does not change the sign of Re λ, so the
    continuous verdicts are read off M itself. Vanilla cells are maps: their
    verdict is the one-step Jacobian's spectral radius (Smerity:
    |λ| < 1 vanishes, = 1 keeps the norm, > 1 explodes).

    Examples
    --------
    >>> import rnndyn as rd
    >>> rep = rd.stability(rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15))
    >>> rep.matrix_eigenvalues
    array([-0.15+2.j, -0.15-2.j])
    >>> rep.continuous_stable, rep.euler_stable, round(rep.euler_factor, 4), round(rep.critical_gamma, 4)
    (True, False, 1.0051, 0.202)
    """
    tol = as_float(tol, "tol", nonnegative=True)
    if _is_cell(cell_or_matrix, "cell_or_matrix"):
        cell = _resolve_cell(cell_or_matrix, eps)
        p = cell.kernel_params()
        M = np.array(p.M)
        kind = type(cell).__name__
        euler = p.alpha == 1.0
        eps_v = float(p.eps) if euler else None
        gamma = float(cell.gamma) if euler else None
        activation = ACTIVATION_NAMES[p.act] if p.act in ACTIVATION_NAMES else str(cell.activation)
        n = M.shape[0]
        state = _state(h, n)
        J = cell.jacobian(state)
        gain = _origin_gain(p) if euler else None
        continuous = euler
    else:
        M = _as_square(cell_or_matrix, "cell_or_matrix")
        n = M.shape[0]
        kind = "matrix"
        eps_v = None if eps is None else as_float(eps, "eps", positive=True)
        euler = eps_v is not None
        gamma = None
        activation = None
        state = _state(h, n)
        if euler:
            with np.errstate(over="ignore"):
                J = np.eye(n) + eps_v * M
            if not np.all(np.isfinite(J)):
                raise ValidationError(f"eps, cell_or_matrix: I + ε·M overflows (ε = {eps_v:.3g}, max|M| = "
                                      f"{np.max(np.abs(M)):.3g}); use a smaller eps")
        else:
            J = M.copy()
        gain = np.ones(n) if euler else None
        continuous = True

    lam = _eigvals(M)
    mu = _eigvals(J)
    rho = float(np.max(np.abs(mu)))
    max_real = float(np.max(lam.real))
    scale = max(1.0, float(np.linalg.norm(M, 2)))
    if continuous:
        continuous_stable = bool(max_real <= tol * scale)
        critical = bool(np.max(np.abs(lam.real)) <= tol * scale)
    else:
        continuous_stable = None
        critical = bool(np.all(np.abs(np.abs(mu) - 1.0) <= tol))
    discrete_stable = bool(rho <= 1.0 + tol)

    ode = ef = euler_ok = cg = None
    note = ""
    if euler:
        ode = _eigvals(gain[:, None] * M)
        ef = float(np.max(np.abs(1.0 + eps_v * ode)))
        euler_ok = bool(ef <= 1.0 + tol)
        if kind == "matrix":
            cg, note = _critical_gamma_from_eigs(lam, eps_v)
        else:
            cg, note = _critical_gamma(cell, None)

    rep = dict(
        matrix_eigenvalues=lam, jacobian_eigenvalues=mu, max_real=max_real, spectral_radius=rho,
        euler_factor=ef, continuous_stable=continuous_stable, critical=critical, euler_stable=euler_ok,
        discrete_stable=discrete_stable, critical_gamma=cg, eps=eps_v, kind=kind,
        ode_eigenvalues=ode, gamma=gamma, critical_gamma_note=note, state=state,
        activation=activation, tol=tol,
    )
    return StabilityReport(summary=_summary(rep, h is not None), **rep)


def _state(h, n):
    if h is None:
        return np.zeros(n)
    h = as_real_array(h, "h", ndim=1)
    if h.shape != (n,):
        raise ValidationError(f"h: expected shape ({n},) (the state size), got {h.shape}")
    return h


def _summary(r: dict, at_state: bool) -> str:
    kind = r["kind"]
    lam = format_eigenvalues(r["matrix_eigenvalues"], limit=4)
    where = " at h" if at_state else " at the origin"
    if r["eps"] is None:
        if kind == "matrix":
            ode = "ODE h'=Mh stable" if r["continuous_stable"] else "ODE h'=Mh unstable"
            if r["critical"]:
                ode += " (critical)"
            mp = f"map h↦Mh {'stable' if r['discrete_stable'] else 'unstable'} (ρ = {r['spectral_radius']:.4g})"
            return f"matrix: λ = {lam}; max Re λ = {r['max_real']:.4g}: {ode}; {mp}"
        verdict = "stable" if r["discrete_stable"] else "unstable"
        extra = " (norm-preserving)" if r["critical"] else ""
        return (f"{kind}: λ(W) = {lam}; spectral radius of the one-step Jacobian{where} "
                f"{r['spectral_radius']:.4g} → {verdict}{extra}")
    head = f"{kind}" + (f" γ={r['gamma']:.4g}" if r["gamma"] is not None else "") + f" ε={r['eps']:.4g}"
    cont = "stable" if r["continuous_stable"] else "unstable"
    if r["critical"]:
        cont += ", critical"
    eu = "stable" if r["euler_stable"] else "unstable"
    cmp_ = "≤" if r["euler_stable"] else ">"
    cg = r["critical_gamma"]
    if cg is not None and math.isnan(cg):
        cgs = r["critical_gamma_note"]
    else:
        cgs = f"critical γ = {cg:.4g}"
    return (f"{head}: λ(M) = {lam}; ODE {cont} (max Re λ = {r['max_real']:.4g}); "
            f"forward Euler {eu} (max|1+ελ| = {r['euler_factor']:.5g} {cmp_} 1); {cgs}")


# --------------------------------------------------------------------------- end-to-end Jacobian spectra


@dataclass(frozen=True)
class JacobianSpectrum:
    """Result of :func:`jacobian_spectrum`.

    Attributes
    ----------
    eigenvalues : ndarray of complex, (…, n)
        Eigenvalues of A_T = ∂h_T/∂h_0, by descending modulus.
    singular_values : ndarray, (…, n)
        Singular values of A_T, descending.
    eig_abs_mean, eig_abs_std : float or ndarray (…,)
        Mean and standard deviation of |λ(A_T)|.
    sv_mean, sv_std : float or ndarray (…,)
        Mean and standard deviation of the singular values.
    jacobian : ndarray, (…, n, n)
        A_T itself.
    steps : int
        T.
    diverged_at : int or ndarray of int
        As in :class:`~rnndyn.Trajectory`; spectra of diverged trajectories are NaN.
    """

    eigenvalues: np.ndarray
    singular_values: np.ndarray
    eig_abs_mean: np.ndarray | float
    eig_abs_std: np.ndarray | float
    sv_mean: np.ndarray | float
    sv_std: np.ndarray | float
    jacobian: np.ndarray
    steps: int
    diverged_at: np.ndarray | int


def _scaled_mean_std(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row means and standard deviations of non-negative values computed on x / max(x), so that a
    finite spectrum (moduli up to 1.8e308) has finite statistics: the plain sum of squares overflows
    from ~1e154."""
    s = np.max(x, axis=1, keepdims=True)
    s = np.where(np.isfinite(s) & (s > 0), s, 1.0)
    y = x / s
    return y.mean(axis=1) * s[:, 0], y.std(axis=1) * s[:, 0]


def jacobian_spectrum(cell, h0, inputs=None, steps=None, backend="auto") -> JacobianSpectrum:
    """Eigenvalues and singular values of the end-to-end Jacobian ∂h_T/∂h_0.

    Parameters
    ----------
    cell : VanillaRNN, EulerRNN, AntisymmetricRNN, LSTM or Map
    h0 : array_like, shape (n,) or (B, n)
        Initial state(s); a batch gives a batch of spectra.
    inputs : array_like, shape (T, d) or (B, T, d), optional
    steps : int, optional
        T; required when ``inputs`` is None.
    backend : {"auto", "cpu", "reference", "cuda"}
        Where :func:`rnndyn.tangent` runs.

    Returns
    -------
    JacobianSpectrum
        eigenvalues, singular_values, their summary statistics, the Jacobian.

    Notes
    -----
    Chang et al. 2019 ("mean and standard deviation of eigenvalues of
    the end-to-end Jacobian matrix in AntisymmetricRNNs with different diffusion
    constants"): |λ| concentrated near 1 means the state keeps information over
    T steps; the diffusion γ pulls them below 1. The Jacobian is propagated by
    :func:`rnndyn.tangent`; its spectra are taken with NumPy's LAPACK drivers.

    Examples
    --------
    >>> import rnndyn as rd
    >>> W = rd.init.normal(8, std=0.3, rng=0)
    >>> for gamma in (0.0, 0.5):
    ...     spec = rd.jacobian_spectrum(rd.AntisymmetricRNN(W, eps=0.1, gamma=gamma), [0.0] * 8, steps=100)
    ...     print(gamma, round(spec.eig_abs_mean, 4))
    0.0 2.1074
    0.5 0.0138
    """
    from rnndyn.analysis.trajectories import tangent

    tan = tangent(cell, h0, inputs=inputs, steps=steps, backend=backend)
    A = np.asarray(tan.jacobian)
    batched = A.ndim == 3
    As = A.reshape(-1, A.shape[-2], A.shape[-1])
    B, n = As.shape[0], As.shape[-1]
    eig = np.full((B, n), np.nan + 0j)
    sv = np.full((B, n), np.nan)
    ok = np.all(np.isfinite(As), axis=(1, 2))
    if ok.any():
        lam = np.linalg.eigvals(As[ok])
        order = np.argsort(-np.abs(lam), axis=1, kind="stable")
        eig[ok] = np.take_along_axis(lam, order, axis=1)
        sv[ok] = np.linalg.svd(As[ok], compute_uv=False)
    mods = np.abs(eig)
    stats = [*_scaled_mean_std(mods), *_scaled_mean_std(sv)]
    if not batched:
        eig, sv = eig[0], sv[0]
        stats = [float(s[0]) for s in stats]
    T = int(tan.norms.shape[-1] - 1)
    return JacobianSpectrum(eig, sv, *stats, jacobian=A, steps=T, diverged_at=tan.diverged_at)
