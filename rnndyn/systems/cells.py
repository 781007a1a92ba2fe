"""The three RNN cells, as data: one update form serves them all.

Every cell is an instance of

    a_t = M h_{t-1} + V x_t + b
    h_t = alpha h_{t-1} + beta_t ∘ phi(a_t)

with (alpha, beta_t, M) = (0, 1, W) for :class:`VanillaRNN`, (1, eps, W − γI) for
:class:`EulerRNN` and (1, eps or eps·z_t, W − Wᵀ − γI) for
:class:`AntisymmetricRNN`, where the gate is z_t = σ(M h_{t-1} + V_z x_t + b_z)
(Chang et al., ICLR 2019, eq. 13). The one-step Jacobian is always

    J_t = alpha I + diag(D_t) M,   D_t = beta_t ∘ phi'(a_t)  [+ eps φ(a_t) ∘ σ'(a^z_t) when gated]

because the gate's pre-activation uses the same M. Cells are frozen dataclasses
and systems (:class:`~rnndyn.systems.base.System`) of the family ``"cell"``: algorithms
unpack them with :meth:`kernel_args` into the
:class:`~rnndyn.kernels.params.CellParams` the kernels see.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from rnndyn._validate import as_float, as_real_array
from rnndyn.errors import UnknownNameError, ValidationError
from rnndyn.kernels.numpy.cell import jacobian as _jacobian_kernel
from rnndyn.kernels.numpy.cell import step as _step_kernel
from rnndyn.kernels.params import ACTIVATIONS, CellParams
from rnndyn.systems.base import System

__all__ = ["CELL_TYPES", "AntisymmetricRNN", "CellParams", "EulerRNN", "VanillaRNN"]


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=np.float64, copy=True)
    a.flags.writeable = False
    return a


def _check_W(W) -> np.ndarray:
    W = as_real_array(W, "W", ndim=2)
    if W.shape[0] != W.shape[1] or W.shape[0] == 0:
        raise ValidationError(f"W: expected a square (n, n) matrix with n >= 1, got shape {W.shape}")
    return W


def _check_input_weights(V, name: str, n: int) -> np.ndarray:
    if V is None:
        return np.zeros((n, 0))
    V = as_real_array(V, name, ndim=(1, 2))
    if V.ndim == 1:  # a single input channel given as a vector
        V = V.reshape(n if V.size == n else -1, 1)
    if V.shape[0] != n:
        raise ValidationError(f"{name}: expected shape ({n}, d) to match W of shape ({n}, {n}), got {V.shape}")
    return V


def _check_bias(b, name: str, n: int) -> np.ndarray:
    if b is None:
        return np.zeros(n)
    b = as_real_array(b, name, ndim=1)
    if b.shape != (n,):
        raise ValidationError(f"{name}: expected shape ({n},) to match W of shape ({n}, {n}), got {b.shape}")
    return b


def _check_activation(activation) -> str:
    if not isinstance(activation, str) or activation not in ACTIVATIONS:
        raise UnknownNameError(
            f"activation: expected one of {', '.join(sorted(ACTIVATIONS))}, got {activation!r}"
        )
    return activation


class _Cell(System):
    """Methods shared by every cell (the base of the frozen dataclasses below)."""

    family = "cell"
    noun = "cell"

    W: np.ndarray
    V: np.ndarray
    b: np.ndarray

    @property
    def n(self) -> int:
        """State size."""
        return self.W.shape[0]

    @property
    def dim(self) -> int:
        """Size of the state the algorithms iterate: n."""
        return self.W.shape[0]

    @property
    def d(self) -> int:
        """Input size (0 when the cell has no input weights)."""
        return self.V.shape[1]

    def _check_common(self, euler: bool) -> None:
        """Validate and freeze W, V, b, the activation and (Euler-type cells) eps > 0, γ ≥ 0."""
        W = _check_W(self.W)
        n = W.shape[0]
        object.__setattr__(self, "W", _frozen(W))
        object.__setattr__(self, "V", _frozen(_check_input_weights(self.V, "V", n)))
        object.__setattr__(self, "b", _frozen(_check_bias(self.b, "b", n)))
        if euler:
            object.__setattr__(self, "eps", as_float(self.eps, "eps", positive=True))
            object.__setattr__(self, "gamma", as_float(self.gamma, "gamma", nonnegative=True))
        object.__setattr__(self, "activation", _check_activation(self.activation))

    def _check_formed(self, formula: str) -> None:
        """Refuse weights whose effective matrix M is not representable (W − γI overflowing, say),
        here rather than as a LAPACK failure deep inside an analysis."""
        with np.errstate(over="ignore", invalid="ignore"):
            p = self.kernel_params()
        M = p.M
        names = "W, gamma" if self.gamma else "W"
        if not np.all(np.isfinite(M)):
            raise ValidationError(f"{names}: the cell's matrix {formula} overflows (entries beyond "
                                  f"{np.finfo(float).max:.3g}); scale the weights down")
        # The one-step Jacobian I + ε·φ'(a)·M (plus a gate term of the same size) must be representable too,
        # or every analysis of the cell meets inf; φ' ≤ 1 bounds it by ε·max|M|, and a gate's σ' ≤ 1/4 adds a
        # quarter.
        with np.errstate(over="ignore"):
            scale = float(p.eps) * float(np.max(np.abs(M), initial=0.0))
        if not scale * (1.25 if p.gated else 1.0) < np.finfo(float).max:
            raise ValidationError(f"eps, {names}: the one-step Jacobian I + ε·φ'(a)·M overflows (ε·max|M| = "
                                  f"{scale:.3g}); use a smaller eps or scale the weights down")

    @property
    def recurrent_matrix(self) -> np.ndarray:
        """The effective matrix M of the update a_t = M h_{t-1} + V x_t + b."""
        return self.kernel_params().M

    def kernel_params(self) -> CellParams:  # pragma: no cover - overridden
        raise NotImplementedError

    def kernel_args(self, with_inputs: bool = True) -> CellParams:
        """The cell unpacked for the kernels: :meth:`kernel_params`, input weights dropped without inputs.

        Parameters
        ----------
        with_inputs : bool
            False for a run without inputs: V (and V_z) become (n, 0), so the
            kernels skip the input term.

        Returns
        -------
        CellParams
        """
        p = self.kernel_params()
        if not with_inputs:
            zero_in = np.zeros((self.n, 0))
            p = p._replace(V=zero_in, Vz=zero_in if p.gated else p.Vz)
        return p

    def input_messages(self) -> tuple[str, str | None]:
        """A cell without input weights refuses inputs; inputs are always optional."""
        return "inputs: the cell has no input weights (V is None), but inputs of shape {shape} were given", None

    def replace(self, **changes):
        """A copy with some fields changed (validated again)."""
        fields = [f.name for f in dataclasses.fields(self)]
        unknown = [k for k in changes if k not in fields]
        if unknown:
            raise ValidationError(f"{', '.join(unknown)}: not a field of {type(self).__name__}; "
                                  f"expected one of {', '.join(fields)}")
        return dataclasses.replace(self, **changes)

    def _prepare(self, h, x):
        h = as_real_array(h, "h", ndim=(1, 2))
        if h.shape[-1] != self.n:
            raise ValidationError(f"h: expected last dimension {self.n} (the state size), got shape {h.shape}")
        batched = h.ndim == 2
        H = h.reshape(-1, self.n)
        if x is None:
            X = np.zeros((H.shape[0], self.d))
        else:
            x = as_real_array(x, "x", ndim=(1, 2))
            if x.shape[-1] != self.d:
                if self.d == 0:
                    raise ValidationError(f"x: the cell has no input weights (V is None), but x of shape {x.shape} "
                                          "was given")
                raise ValidationError(f"x: expected last dimension {self.d} (the input size), got shape {x.shape}")
            batched = batched or x.ndim == 2
            X = x[None, :] if x.ndim == 1 else x  # (not reshape(-1, d): ambiguous when d == 0)
            if X.shape[0] != H.shape[0]:
                if H.shape[0] == 1:
                    H = np.broadcast_to(H, (X.shape[0], self.n))
                elif X.shape[0] == 1:
                    X = np.broadcast_to(X, (H.shape[0], self.d))
                else:
                    raise ValidationError(f"x: batch size {X.shape[0]} does not match h's batch size {H.shape[0]}")
        return H, X, batched

    def step(self, h, x=None) -> np.ndarray:
        """One update h_t = F(h_{t-1}, x_t).

        Parameters
        ----------
        h : array_like, shape (n,) or (B, n)
        x : array_like, shape (d,) or (B, d), optional

        Returns
        -------
        ndarray, shape of ``h`` (or (B, n) when ``x`` is batched)
        """
        H, X, batched = self._prepare(h, x)
        out = _step_kernel(H, X, *self.kernel_params())
        return out if batched else out[0]

    def jacobian(self, h, x=None) -> np.ndarray:
        """One-step Jacobian ∂h_t/∂h_{t-1} = alpha I + diag(D_t) M at state ``h``.

        Parameters
        ----------
        h : array_like, shape (n,) or (B, n)
        x : array_like, shape (d,) or (B, d), optional

        Returns
        -------
        ndarray, shape (n, n) or (B, n, n)
        """
        H, X, batched = self._prepare(h, x)
        out = _jacobian_kernel(H, X, *self.kernel_params())
        return out if batched else out[0]

    def __repr__(self) -> str:
        extra = ", ".join(
            f"{f.name}={getattr(self, f.name)!r}"
            for f in dataclasses.fields(self)
            if not isinstance(getattr(self, f.name), np.ndarray) and getattr(self, f.name) is not None
        )
        return f"{type(self).__name__}(n={self.n}, d={self.d}{', ' if extra else ''}{extra})"


@dataclass(frozen=True, eq=False, repr=False)
class VanillaRNN(_Cell):
    """h_t = φ(W h_{t-1} + V x_t + b).

    Parameters
    ----------
    W : array_like, shape (n, n)
    V : array_like, shape (n, d), optional
        Input weights; None means no input term.
    b : array_like, shape (n,), optional
    activation : {"tanh", "relu", "linear", "sigmoid"}

    Examples
    --------
    >>> import rnndyn as rd
    >>> cell = rd.VanillaRNN(rd.named_matrix("rotation"))
    >>> cell.step([0.0, 0.5]).round(4) + 0.0  # (+ 0.0 folds a signed zero)
    array([0.4621, 0.    ])
    """

    W: np.ndarray
    V: np.ndarray | None = None
    b: np.ndarray | None = None
    activation: str = "tanh"

    def __post_init__(self):
        self._check_common(euler=False)

    def kernel_params(self) -> CellParams:
        """The cell unpacked for the kernels (alpha = 0, eps = 1, M = W)."""
        n = self.n
        return CellParams(0.0, 1.0, ACTIVATIONS[self.activation], False, self.W, self.V, self.b,
                          np.zeros((n, 0)), np.zeros(0))


@dataclass(frozen=True, eq=False, repr=False)
class EulerRNN(_Cell):
    """The "RNN with feedback": h_t = h_{t-1} + ε φ((W − γI) h_{t-1} + V x_t + b).

    The forward-Euler discretisation of h' = φ((W − γI) h + V x + b) with step ε
    (Chang et al., ICLR 2019, Sec. 3).

    Parameters
    ----------
    W : array_like, shape (n, n)
    V : array_like, shape (n, d), optional
    b : array_like, shape (n,), optional
    eps : float
        Step size ε > 0.
    gamma : float
        Diffusion γ ≥ 0, subtracted from the diagonal.
    activation : {"tanh", "relu", "linear", "sigmoid"}

    Examples
    --------
    >>> import rnndyn as rd
    >>> cell = rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15)
    >>> cell.recurrent_matrix
    array([[-0.15, -2.  ],
           [ 2.  , -0.15]])
    """

    W: np.ndarray
    V: np.ndarray | None = None
    b: np.ndarray | None = None
    eps: float = 0.1
    gamma: float = 0.0
    activation: str = "tanh"

    def __post_init__(self):
        self._check_common(euler=True)
        self._check_formed("W − γI")

    def kernel_params(self) -> CellParams:
        """The cell unpacked for the kernels (alpha = 1, M = W − γI)."""
        n = self.n
        M = self.W - self.gamma * np.eye(n)
        return CellParams(1.0, self.eps, ACTIVATIONS[self.activation], False, M, self.V, self.b,
                          np.zeros((n, 0)), np.zeros(0))


@dataclass(frozen=True, eq=False, repr=False)
class AntisymmetricRNN(_Cell):
    """h_t = h_{t-1} + ε [z_t ∘] φ((W − Wᵀ − γI) h_{t-1} + V x_t + b).

    Chang, Chen, Haber, Chi, "AntisymmetricRNN: A Dynamical System View on
    Recurrent Neural Networks", ICLR 2019, eqs. 11-13. W − Wᵀ has
    purely imaginary eigenvalues (the critical criterion), γ moves them into the
    left half-plane so that forward Euler is stable.

    Parameters
    ----------
    W : array_like, shape (n, n)
        The free matrix; only W − Wᵀ enters the dynamics.
    V : array_like, shape (n, d), optional
    b : array_like, shape (n,), optional
    eps : float
        Step size ε > 0.
    gamma : float
        Diffusion γ ≥ 0.
    gated : bool
        Use the input gate z_t = σ((W − Wᵀ − γI) h_{t-1} + V_z x_t + b_z).
    Vz : array_like, shape (n, d), optional
        Gate input weights (zeros when omitted); only with ``gated=True``.
    bz : array_like, shape (n,), optional
        Gate bias (zeros when omitted); only with ``gated=True``.
    activation : {"tanh", "relu", "linear", "sigmoid"}

    Examples
    --------
    >>> import numpy as np, rnndyn as rd
    >>> cell = rd.AntisymmetricRNN(rd.named_matrix("fibonacci"), eps=0.1, gamma=0.15)
    >>> np.linalg.eigvals(cell.recurrent_matrix)  # W − Wᵀ = 0 for a symmetric W
    array([-0.15, -0.15])
    """

    W: np.ndarray
    V: np.ndarray | None = None
    b: np.ndarray | None = None
    eps: float = 0.1
    gamma: float = 0.0
    gated: bool = False
    Vz: np.ndarray | None = None
    bz: np.ndarray | None = None
    activation: str = "tanh"

    def __post_init__(self):
        self._check_common(euler=True)
        n, V = self.n, self.V
        if not isinstance(self.gated, (bool, np.bool_)):
            raise ValidationError(f"gated: expected True or False, got {self.gated!r}")
        object.__setattr__(self, "gated", bool(self.gated))
        if not self.gated and (self.Vz is not None or self.bz is not None):
            raise ValidationError("Vz, bz: gate weights were given but gated=False; pass gated=True")
        if self.gated:
            Vz = np.zeros_like(V) if self.Vz is None else _check_input_weights(self.Vz, "Vz", n)
            if Vz.shape != V.shape:
                raise ValidationError(f"Vz: expected shape {V.shape} (the shape of V), got {Vz.shape}")
            object.__setattr__(self, "Vz", _frozen(Vz))
            object.__setattr__(self, "bz", _frozen(_check_bias(self.bz, "bz", n)))
        self._check_formed("W − Wᵀ − γI")

    def kernel_params(self) -> CellParams:
        """The cell unpacked for the kernels (alpha = 1, M = W − Wᵀ − γI)."""
        n = self.n
        M = (self.W - self.W.T) - self.gamma * np.eye(n)
        if self.gated:
            return CellParams(1.0, self.eps, ACTIVATIONS[self.activation], True, M, self.V, self.b,
                              self.Vz, self.bz)
        return CellParams(1.0, self.eps, ACTIVATIONS[self.activation], False, M, self.V, self.b,
                          np.zeros((n, 0)), np.zeros(0))


CELL_TYPES = {"vanilla": VanillaRNN, "euler": EulerRNN, "antisymmetric": AntisymmetricRNN}
