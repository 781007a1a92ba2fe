"""The LSTM cell, as the iterated map (h, c) ↦ (h', c').

Only needed to compare Jacobian spectra with the AntisymmetricRNN paper (Chang
et al., ICLR 2019, the end-to-end Jacobian figure), so it is not a
fourth form of the one-update cells of :mod:`rnndyn.systems.cells` but a small map with
its own step and Jacobian kernels (:mod:`rnndyn.kernels.cpu.lstm`): a
:class:`~rnndyn.systems.base.System` of the family ``"lstm"``, which
:func:`rnndyn.simulate`, :func:`rnndyn.tangent` and
:func:`rnndyn.lyapunov_spectrum` run on the map kernels with its compiled rule.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from rnndyn._validate import as_float, as_int, as_real_array, as_rng
from rnndyn.errors import ValidationError
from rnndyn.kernels.numpy import lstm as _ref
from rnndyn.systems.base import System


def _frozen(a):
    a = np.array(a, dtype=np.float64, copy=True)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, eq=False, repr=False)
class LSTM(System):
    """LSTM cell with PyTorch's gate order (i, f, g, o) and state x = [h; c] of size 2n.

        gates = W_hh h + W_ih u + b;  i, f, o = σ(·), g = tanh(·)
        c' = f ∘ c + i ∘ g;           h' = o ∘ tanh(c')

    Parameters
    ----------
    W_ih : array_like, shape (4n, d), optional
        Input weights (PyTorch ``weight_ih``); None: no input term.
    W_hh : array_like, shape (4n, n)
        Recurrent weights (``weight_hh``), blocks [W_i; W_f; W_g; W_o].
    b : array_like, shape (4n,), optional
        Bias (PyTorch's ``bias_ih + bias_hh``); zeros when omitted.

    Notes
    -----
    Every algorithm sees the full state x = [h; c] (2n,): ``h0`` of
    :func:`rnndyn.simulate` is (…, 2n) and Jacobians are (2n, 2n),
    ∂(h', c')/∂(h, c). :meth:`init` draws the weights as the paper's LSTM
    baseline would be initialised.

    Examples
    --------
    >>> import numpy as np, rnndyn as rd
    >>> cell = rd.LSTM.init(3, d=1, rng=0)
    >>> cell.n, cell.dim, cell.d
    (3, 6, 1)
    >>> rd.simulate(cell, np.zeros(6), np.ones((5, 1))).states.shape
    (6, 6)
    """

    W_ih: np.ndarray | None
    W_hh: np.ndarray
    b: np.ndarray | None = None

    family = "lstm"
    noun = "map"

    def __post_init__(self):
        W_hh = as_real_array(self.W_hh, "W_hh", ndim=2)
        m, n = W_hh.shape
        if n == 0 or m != 4 * n:
            raise ValidationError(f"W_hh: expected shape (4n, n) with n >= 1 (gates i, f, g, o), got {W_hh.shape}")
        if self.W_ih is None:
            W_ih = np.zeros((m, 0))
        else:
            W_ih = as_real_array(self.W_ih, "W_ih", ndim=2)
            if W_ih.shape[0] != m:
                raise ValidationError(f"W_ih: expected shape ({m}, d) to match W_hh {W_hh.shape}, got {W_ih.shape}")
        if self.b is None:
            b = np.zeros(m)
        else:
            b = as_real_array(self.b, "b", ndim=1)
            if b.shape != (m,):
                raise ValidationError(f"b: expected shape ({m},) to match W_hh {W_hh.shape}, got {b.shape}")
        object.__setattr__(self, "W_ih", _frozen(W_ih))
        object.__setattr__(self, "W_hh", _frozen(W_hh))
        object.__setattr__(self, "b", _frozen(b))
        object.__setattr__(self, "_map", None)

    @classmethod
    def init(cls, n, d=0, rng=None, forget_bias=1.0, recurrent="orthogonal") -> LSTM:
        """An LSTM initialised the usual way (Keras/TensorFlow defaults, the paper's framework).

        W_hh: each gate's (n, n) block orthogonal (``recurrent="orthogonal"``)
        or Xavier-normal (``"xavier"``); W_ih: Xavier-uniform with fan-in d and
        fan-out 4n; b: zeros except the forget gate's, ``forget_bias`` (1, the
        "unit forget bias" of Jozefowicz et al. 2015 that Keras uses).

        Parameters
        ----------
        n : int
            Hidden size (the state has size 2n).
        d : int
            Input size (0: no inputs).
        rng : None, int or numpy.random.Generator
        forget_bias : float
        recurrent : {"orthogonal", "xavier"}
        """
        from rnndyn import matrices

        n = as_int(n, "n", minimum=1)
        d = as_int(d, "d", minimum=0)
        forget_bias = as_float(forget_bias, "forget_bias")
        g = as_rng(rng)
        if recurrent == "orthogonal":
            W_hh = np.vstack([matrices.orthogonal(n, rng=g) for _ in range(4)])
        elif recurrent == "xavier":
            W_hh = np.vstack([matrices.xavier_normal(n, n, rng=g) for _ in range(4)])
        else:
            raise ValidationError(f"recurrent: expected 'orthogonal' or 'xavier', got {recurrent!r}")
        W_ih = None
        if d:
            a = np.sqrt(6.0 / (d + 4 * n))
            W_ih = g.uniform(-a, a, size=(4 * n, d))
        b = np.zeros(4 * n)
        b[n:2 * n] = forget_bias
        return cls(W_ih, W_hh, b)

    @property
    def n(self) -> int:
        """Hidden size (h and c each have n entries)."""
        return self.W_hh.shape[1]

    @property
    def dim(self) -> int:
        """Size of the state [h; c]: 2n."""
        return 2 * self.n

    @property
    def d(self) -> int:
        """Input size."""
        return self.W_ih.shape[1]

    def replace(self, **changes) -> LSTM:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def as_map(self):
        """The cell as a :class:`~rnndyn.Map` over x = [h; c] (built once, then cached)."""
        if self._map is None:
            from rnndyn.kernels.cpu import lstm as K
            from rnndyn.systems.maps import Map

            p = np.concatenate([self.W_hh.ravel(), self.b, self.W_ih.ravel()])
            m = Map._from_compiled(K.lstm_rule, K.lstm_jac, self.dim, p, input_dim=self.d,
                                   name=f"LSTM (n={self.n})", inputs_optional=True)
            object.__setattr__(self, "_map", m)
        return self._map

    def kernel_args(self, with_inputs: bool = True):
        """The compiled rule, Jacobian and flat parameter vector of :meth:`as_map` (the map kernels' arguments).

        Returns
        -------
        MapArgs
            (rule, jacobian, params); ``with_inputs`` changes nothing (the rule
            also takes an empty input).
        """
        return self.as_map().kernel_args(with_inputs)

    def input_messages(self) -> tuple[str, str | None]:
        """As its map form's: inputs are optional."""
        return self.as_map().input_messages()

    def _prepare(self, x, u):
        x = as_real_array(x, "x", ndim=(1, 2))
        if x.shape[-1] != self.dim:
            raise ValidationError(f"x: expected last dimension {self.dim} (the state [h; c]), got shape {x.shape}")
        X = x.reshape(-1, self.dim)
        if u is None:
            U = np.zeros((X.shape[0], 0))
            W_ih = np.zeros((4 * self.n, 0))
        else:
            u = as_real_array(u, "u", ndim=(1, 2))
            if u.shape[-1] != self.d:
                raise ValidationError(f"u: expected last dimension {self.d} (the input size), got shape {u.shape}")
            U = np.broadcast_to(u.reshape(-1, self.d), (X.shape[0], self.d))
            W_ih = self.W_ih
        return X, U, W_ih, x.ndim == 2

    def step(self, x, u=None) -> np.ndarray:
        """One step (h, c) ↦ (h', c') from x = [h; c], shape (2n,) or (B, 2n)."""
        X, U, W_ih, batched = self._prepare(x, u)
        out = np.empty_like(X)
        _ref.lstm_step(X, U, W_ih, self.W_hh, self.b, out)
        return out if batched else out[0]

    def jacobian(self, x, u=None) -> np.ndarray:
        """∂(h', c')/∂(h, c) at x = [h; c]: (2n, 2n), or (B, 2n, 2n)."""
        X, U, W_ih, batched = self._prepare(x, u)
        out = np.empty((X.shape[0], self.dim, self.dim))
        _ref.lstm_jacobian(X, U, W_ih, self.W_hh, self.b, out)
        return out if batched else out[0]

    def __repr__(self) -> str:
        return f"LSTM(n={self.n}, d={self.d})"
