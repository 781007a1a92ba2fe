"""General discrete maps x_t = F(x_{t-1}; u_t, p), given by a rule and its Jacobian.

A :class:`Map` is a model in the sense of DynamicalSystems.jl: a rule plus a
Jacobian with the same signature. It is a :class:`~rnndyn.systems.base.System`
of the family ``"map"``, run by :func:`rnndyn.simulate`, :func:`rnndyn.tangent`
and :func:`rnndyn.lyapunov_spectrum` on the map kernels. The classic test cases come ready-made:
:func:`henon` and :func:`logistic`. (The 1-D maps of the cobweb and orbit
diagrams live in :mod:`rnndyn.systems.map1d`.)

Writing a map
-------------
The allocation-free form, which the kernels call through a pointer::

    def rule(x, u, p, out):        # out[:] = F(x; u, p)
    def jacobian(x, u, p, out):    # out[:, :] = ∂F/∂x (dim, dim)

with x the state (dim,), u this step's input ((input_dim,), empty for an
autonomous map) and p the parameter vector given to :class:`Map` (all float64,
contiguous). Or the simple form ``rule(x) -> ndarray (dim,)`` and
``jacobian(x) -> ndarray (dim, dim)`` (it allocates once per step). Both may be
plain Python functions or ``numba.njit`` functions; they are compiled with the
fixed signature when the Map is made.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from rnndyn._validate import as_float, as_int, as_real_array
from rnndyn.errors import ArgumentTypeError, ValidationError
from rnndyn.systems.base import System


class MapArgs(NamedTuple):
    """A map unpacked for the map kernels (``map_simulate`` takes rule and params, the others all three)."""

    rule: object  # compiled rule(x, u, p, out)
    jacobian: object  # compiled jacobian(x, u, p, out)
    params: np.ndarray  # (P,)


def _kernels():
    from rnndyn.kernels.cpu import maps as cpu_discrete

    return cpu_discrete


def _py_func(f):
    return getattr(f, "py_func", f)


def _arity(f, name):
    try:
        params = inspect.signature(_py_func(f)).parameters.values()
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name}: expected a Python or numba.njit function, got {f!r}") from None
    if any(p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params):
        raise ValidationError(f"{name}: expected a fixed number of arguments, 1 (x) or 4 (x, u, p, out)")
    return len(list(params))


def _compile(f, kind, name):
    """Compile ``f`` (rule or jacobian, simple or full form) with the kernels' fixed signature."""
    from numba import njit
    from numba.core.registry import CPUDispatcher

    K = _kernels()
    sig = K.RULE_SIG if kind == "rule" else K.JAC_SIG
    nargs = _arity(f, name)  # checked by _probe
    try:
        if nargs == 4:
            return njit(sig)(_py_func(f))
        inner = f if isinstance(f, CPUDispatcher) else njit(f)
        if kind == "rule":
            def full(x, u, p, out):
                y = inner(x)
                for i in range(out.shape[0]):
                    out[i] = y[i]
        else:
            def full(x, u, p, out):
                y = inner(x)
                for i in range(out.shape[0]):
                    for j in range(out.shape[1]):
                        out[i, j] = y[i, j]
        return njit(sig)(full)
    except Exception as exc:  # numba's typing errors are long; keep the gist
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ValidationError(f"{name}: numba could not compile it with the map signature ({first})") from None


def _probe_states(dim: int) -> list:
    """The states a pure-Python rule and Jacobian are tried on before compilation: a few fixed ones and
    one seeded random one, small and large, of both signs, so that an out-of-range index only some
    states reach surfaces as a Python IndexError instead of a write outside ``out`` later."""
    g = np.random.default_rng(0)
    return [np.full(dim, 0.1), np.full(dim, -0.7), np.zeros(dim), np.linspace(-3.0, 3.0, dim),
            g.standard_normal(dim)]


def _probe(f, kind, name, dim, d, p):
    """Run the pure-Python function on a few states so that shape and index mistakes surface as errors.

    What cannot be checked: states the probes do not visit (a rule indexing ``out`` by a computed
    value), and compiled behaviour that differs from Python's (numba does not bounds-check: an index
    error there writes outside the array). A rule that raises while the kernels run is reported by
    the driver as a ValidationError naming the rule.
    """
    if not callable(f):
        raise ArgumentTypeError(f"{name}: expected a function, got {type(f).__name__}")
    nargs = _arity(f, name)
    if nargs not in (1, 4):
        raise ValidationError(
            f"{name}: expected a function of 1 argument (x) -> array, or of 4 (x, u, p, out) "
            f"writing into out; got {nargs} arguments"
        )
    u = np.zeros(d)
    shape = (dim,) if kind == "rule" else (dim, dim)
    pf = _py_func(f)
    for x in _probe_states(dim):
        out = np.zeros(shape)
        try:
            with np.errstate(all="ignore"):
                if nargs == 4:
                    pf(x.copy(), u, np.array(p), out)
                    continue
                y = np.asarray(pf(x.copy()))
        except (IndexError, ValueError) as exc:
            raise ValidationError(f"{name}: failed on the test state x = {np.round(x, 3).tolist()} of size "
                                  f"{dim}: {exc}") from None
        except Exception:  # noqa: BLE001 - a domain error at a probe point is the user's business
            continue
        if y.shape != out.shape:
            raise ValidationError(f"{name}: expected it to return shape {out.shape} for a state of size {dim}, "
                                  f"got shape {y.shape}")


@dataclass(frozen=True, eq=False, repr=False)
class Map(System):
    """A discrete dynamical system x_t = F(x_{t-1}; u_t, p) with its Jacobian ∂F/∂x.

    Parameters
    ----------
    rule : function
        ``rule(x, u, p, out)`` writing F into ``out`` (dim,), or ``rule(x) ->
        array (dim,)`` (see the module docstring). Python or ``numba.njit``.
    jacobian : function
        ``jacobian(x, u, p, out)`` writing ∂F/∂x into ``out`` (dim, dim), or
        ``jacobian(x) -> array (dim, dim)``.
    dim : int
        State size.
    params : array_like, shape (P,), optional
        The parameter vector p handed to the rule (lets one compiled rule serve
        every parameter value).
    input_dim : int
        Size d of the input u_t; 0 for an autonomous map.
    name : str
        Shown in reprs and plots.
    inputs_optional : bool
        Whether the rule also accepts an empty u when ``input_dim`` > 0 (a
        driven map without inputs); otherwise inputs are required.

    Attributes
    ----------
    rule, jacobian_kernel
        The compiled functions (the kernels' first-class function arguments).
    n, d
        State and input sizes (``dim``, ``input_dim``).

    Notes
    -----
    What other algorithms can use: :meth:`step` (F, from Python), :meth:`jacobian`
    (∂F/∂x, from Python), ``n``, and ``rule``/``jacobian_kernel``/``params`` for
    compiled code. DynamicalSystems.jl's ``DeterministicIteratedMap`` is the model.

    Examples
    --------
    >>> import numpy as np, rnndyn as rd
    >>> def rule(x, u, p, out):
    ...     out[0] = p[0] * x[0]
    >>> def jac(x, u, p, out):
    ...     out[0, 0] = p[0]
    >>> m = rd.Map(rule, jac, dim=1, params=[0.5])
    >>> m.step([2.0])
    array([1.])
    >>> round(rd.lyapunov_spectrum(m, [1.0], steps=10).max_exponent, 6)   # log 0.5
    -0.693147
    """

    rule: object
    jacobian_kernel: object
    dim: int
    params: np.ndarray
    input_dim: int = 0
    name: str = "map"
    inputs_optional: bool = False

    family = "map"
    noun = "map"

    def __init__(self, rule, jacobian, dim, params=None, input_dim=0, name="map", inputs_optional=False):
        dim = as_int(dim, "dim", minimum=1)
        input_dim = as_int(input_dim, "input_dim", minimum=0)
        p = np.zeros(0) if params is None else as_real_array(params, "params", ndim=(0, 1)).reshape(-1)
        p = np.ascontiguousarray(p)
        if not isinstance(name, str):
            raise ArgumentTypeError(f"name: expected a string, got {name!r}")
        compiled = []
        for f, kind in ((rule, "rule"), (jacobian, "jacobian")):
            _probe(f, kind, kind, dim, input_dim, p)
            compiled.append(_compile(f, kind, kind))
        r, j = compiled
        p.flags.writeable = False
        object.__setattr__(self, "rule", r)
        object.__setattr__(self, "jacobian_kernel", j)
        object.__setattr__(self, "dim", dim)
        object.__setattr__(self, "params", p)
        object.__setattr__(self, "input_dim", input_dim)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "inputs_optional", bool(inputs_optional))

    @classmethod
    def _from_compiled(cls, rule, jac, dim, params, input_dim=0, name="map", inputs_optional=False):
        """A Map over functions already compiled with the kernels' signature (no probing)."""
        self = object.__new__(cls)
        p = np.ascontiguousarray(np.asarray(params, dtype=np.float64).reshape(-1))
        p.flags.writeable = False
        for k, v in dict(rule=rule, jacobian_kernel=jac, dim=int(dim), params=p, input_dim=int(input_dim),
                         name=name, inputs_optional=bool(inputs_optional)).items():
            object.__setattr__(self, k, v)
        return self

    @property
    def n(self) -> int:
        """State size."""
        return self.dim

    @property
    def d(self) -> int:
        """Input size (0 for an autonomous map)."""
        return self.input_dim

    def as_map(self) -> Map:
        """The map itself (the :class:`~rnndyn.LSTM` returns its map form)."""
        return self

    def kernel_args(self, with_inputs: bool = True) -> MapArgs:
        """The compiled rule and Jacobian and the parameter vector: the map kernels' arguments.

        Parameters
        ----------
        with_inputs : bool
            Ignored: the rule takes whatever input the step has (empty without inputs).

        Returns
        -------
        MapArgs
            (rule, jacobian, params).
        """
        return MapArgs(self.rule, self.jacobian_kernel, self.params)

    def input_messages(self) -> tuple[str, str | None]:
        """An autonomous map refuses inputs; a driven one requires them unless ``inputs_optional``."""
        required = None
        if self.input_dim and not self.inputs_optional:
            required = (f"inputs: {self.name} takes an input of size {self.input_dim} at every step; "
                        f"pass inputs of shape (T, {self.input_dim})")
        return f"inputs: {self.name} is autonomous (input_dim=0), but inputs of shape {{shape}} were given", required

    def _point(self, x, u):
        x = as_real_array(x, "x", ndim=(1, 2))
        if x.shape[-1] != self.dim:
            raise ValidationError(f"x: expected last dimension {self.dim} (the map's state size), got shape {x.shape}")
        X = x.reshape(-1, self.dim)
        if u is None:
            if self.input_dim and not self.inputs_optional:
                raise ValidationError(f"u: this map takes an input of size {self.input_dim}; pass u")
            U = np.zeros((X.shape[0], 0))
        else:
            u = as_real_array(u, "u", ndim=(1, 2))
            if u.shape[-1] != self.input_dim:
                raise ValidationError(f"u: expected last dimension {self.input_dim}, got shape {u.shape}")
            # (not reshape(-1, d): ambiguous when d == 0)
            U2 = u[None, :] if u.ndim == 1 else u
            if U2.shape[0] not in (1, X.shape[0]):
                raise ValidationError(f"u: expected {X.shape[0]} rows (one per state) or one, got shape {u.shape}")
            U = np.broadcast_to(U2, (X.shape[0], self.input_dim))
        return X, U, x.ndim == 2

    def step(self, x, u=None) -> np.ndarray:
        """F(x; u, p): one step, from Python.

        Parameters
        ----------
        x : array_like, shape (dim,) or (B, dim)
        u : array_like, shape (input_dim,), optional

        Returns
        -------
        ndarray, shape of ``x``
        """
        X, U, batched = self._point(x, u)
        out = np.empty_like(X)
        p = np.array(self.params)  # the compiled signature takes writable arrays
        for i in range(X.shape[0]):
            self.rule(np.array(X[i]), np.array(U[i]), p, out[i])
        return out if batched else out[0]

    def __call__(self, x, u=None) -> np.ndarray:
        """Same as :meth:`step`."""
        return self.step(x, u)

    def jacobian(self, x, u=None) -> np.ndarray:
        """∂F/∂x at ``x``, from Python: (dim, dim), or (B, dim, dim) for a batch."""
        X, U, batched = self._point(x, u)
        out = np.empty((X.shape[0], self.dim, self.dim))
        p = np.array(self.params)
        for i in range(X.shape[0]):
            self.jacobian_kernel(np.array(X[i]), np.array(U[i]), p, out[i])
        return out if batched else out[0]

    def __repr__(self) -> str:
        p = ", ".join(f"{v:g}" for v in self.params[:6]) + (", …" if self.params.size > 6 else "")
        return f"Map({self.name!r}, dim={self.dim}, input_dim={self.input_dim}, params=[{p}])"


# --------------------------------------------------------------------------- ready-made maps

_COMPILED: dict = {}


def _henon_rule(x, u, p, out):
    out[0] = 1.0 - p[0] * x[0] * x[0] + x[1]
    out[1] = p[1] * x[0]


def _henon_jac(x, u, p, out):
    out[0, 0] = -2.0 * p[0] * x[0]
    out[0, 1] = 1.0
    out[1, 0] = p[1]
    out[1, 1] = 0.0


def _logistic_rule(x, u, p, out):
    out[0] = p[0] * x[0] * (1.0 - x[0])


def _logistic_jac(x, u, p, out):
    out[0, 0] = p[0] * (1.0 - 2.0 * x[0])


def _builtin(name, rule, jac):
    """Compile a ready-made map's functions once per process (and on disk)."""
    if name not in _COMPILED:
        from numba import njit

        K = _kernels()
        _COMPILED[name] = (njit(K.RULE_SIG, cache=True)(rule), njit(K.JAC_SIG, cache=True)(jac))
    return _COMPILED[name]


def henon(a=1.4, b=0.3) -> Map:
    """The Hénon map (x, y) ↦ (1 − a x² + y, b x).

    Parameters
    ----------
    a, b : float
        The classic chaotic attractor is a = 1.4, b = 0.3, with Lyapunov
        exponents 0.41922 and −1.62319 (Sprott, *Chaos and Time-Series
        Analysis*, Oxford University Press, 2003), which
        :func:`rnndyn.lyapunov_spectrum` reproduces (0.41918 ± 0.00008 over
        eight orbits of 10⁶ steps). Their sum is log|det J| = log b exactly,
        on every orbit.

    Returns
    -------
    Map

    Examples
    --------
    >>> import rnndyn as rd
    >>> rd.systems.henon().step([0.0, 0.0])
    array([1., 0.])
    """
    a = as_float(a, "a")
    b = as_float(b, "b")
    r, j = _builtin("henon", _henon_rule, _henon_jac)
    return Map._from_compiled(r, j, 2, [a, b], name=f"Hénon (a={a:g}, b={b:g})")


def logistic(r=4.0) -> Map:
    """The logistic map x ↦ r x (1 − x) as a 1-D :class:`Map` (Lyapunov exponent ln 2 at r = 4).

    Examples
    --------
    >>> import rnndyn as rd
    >>> rd.systems.logistic(4.0).step([0.25])
    array([0.75])
    """
    r = as_float(r, "r")
    rr, j = _builtin("logistic", _logistic_rule, _logistic_jac)
    return Map._from_compiled(rr, j, 1, [r], name=f"logistic (r={r:g})")


__all__ = ["Map", "MapArgs", "henon", "logistic"]
