"""Trajectories and tangent dynamics of any system (cells, LSTM, maps).

:func:`simulate` integrates a batch of trajectories; :func:`tangent` propagates
the end-to-end Jacobian A_t = ∂h_t/∂h_0 = J_t ⋯ J_1 alongside the state — the
product whose growth or decay *is* the exploding or vanishing gradient
(Chang et al. 2019, Sec. 3: dA/dt = J A; Grosse, CSC321 L15).

Shapes follow one rule: ``h0`` is (n,) or (B, n), ``inputs`` (T, d) or (B, T, d)
or None, and a result carries a batch axis exactly when the caller gave one.

Every algorithm that runs a system along a trajectory (these two,
:func:`~rnndyn.analysis.gradients.bptt`, :func:`~rnndyn.analysis.lyapunov.lyapunov_spectrum`)
takes the same path: :func:`prepare` checks the request and unpacks the system
into its family's kernel arguments, :func:`rnndyn.backends.kernel_for` returns
the driver (or refuses the triple), and the driver's arrays are wrapped in a
result.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from rnndyn._validate import _describe, as_int, as_real_array, check_memory, choice
from rnndyn.backends import kernel_for
from rnndyn.errors import ArgumentTypeError, DivergenceWarning, ValidationError
from rnndyn.systems.base import family_of


@dataclass(frozen=True)
class Prepared:
    """Validated, kernel-ready arguments of a trajectory computation (internal)."""

    family: str  # the system's family: which kernels run it
    args: tuple  # its kernel arguments (CellParams, or MapArgs), writable; no input weights without inputs
    h0: np.ndarray  # (B, n)
    inputs: np.ndarray  # (Bi, T, d), Bi in {1, B}
    batched: bool
    steps: int


def layout(h0, inputs, steps, n: int, d: int, what: str = "cell", no_inputs: str | None = None,
           inputs_required: str | None = None):
    """Check ``h0``/``inputs``/``steps`` against sizes (n, d) and bring them to kernel layout.

    Returns ``(H0 (B, n), X (Bi, T, d) with Bi in {1, B}, batched, steps)``; used by
    :func:`prepare` for every system, so all accept and refuse the same things
    with the same messages. ``no_inputs`` / ``inputs_required`` are the
    messages for inputs given to a system without input weights (a template
    with ``{shape}``), and for a system that needs inputs but got none.
    """
    h0 = as_real_array(h0, "h0", ndim=(1, 2))
    if h0.shape[-1] != n:
        raise ValidationError(f"h0: expected last dimension {n} (the {what}'s state size), got shape {h0.shape}")
    if h0.ndim == 2 and h0.shape[0] == 0:
        raise ValidationError("h0: expected at least one initial state, got an empty batch")
    H0 = h0.reshape(-1, n)
    if steps is not None:
        steps = as_int(steps, "steps", minimum=0)
    if inputs is None:
        if steps is None:
            raise ValidationError("steps: required when inputs is None (the number of steps to run)")
        if inputs_required:
            raise ValidationError(inputs_required)
        return np.ascontiguousarray(H0), np.zeros((1, steps, 0)), h0.ndim == 2, steps
    x = as_real_array(inputs, "inputs", ndim=(2, 3))
    if d == 0:
        msg = no_inputs or "inputs: the {what} takes no inputs, but inputs of shape {shape} were given"
        raise ValidationError(msg.format(what=what, shape=x.shape))
    if x.shape[-1] != d:
        raise ValidationError(f"inputs: expected last dimension {d} (the {what}'s input size), got shape {x.shape}")
    if steps is not None and steps != x.shape[-2]:
        raise ValidationError(f"steps: {steps} does not match the {x.shape[-2]} time steps of inputs {x.shape}")
    steps = x.shape[-2]
    X = x if x.ndim == 3 else x[None]
    if X.shape[0] == 0:
        raise ValidationError("inputs: expected at least one input sequence, got an empty batch")
    if X.shape[0] != 1 and H0.shape[0] != 1 and X.shape[0] != H0.shape[0]:
        raise ValidationError(f"inputs: batch size {X.shape[0]} does not match h0's batch size {H0.shape[0]}")
    if X.shape[0] > H0.shape[0]:
        H0 = np.broadcast_to(H0, (X.shape[0], n))
    return np.ascontiguousarray(H0), np.ascontiguousarray(X), h0.ndim == 2 or x.ndim == 3, steps


def prepare(system, h0, inputs=None, steps=None, argname: str = "cell") -> Prepared:
    """Check a (system, h0, inputs, steps) request and bring it to kernel layout.

    Shared by every algorithm that runs a system along a trajectory (simulate,
    tangent, bptt, lyapunov_spectrum) so that they accept and refuse the same
    things.

    Parameters
    ----------
    system : System
        A cell, an LSTM or a Map.
    h0 : array_like, shape (dim,) or (B, dim)
    inputs : array_like, shape (T, d) or (B, T, d), optional
    steps : int, optional
        Required when ``inputs`` is None.
    argname : str
        How the caller names ``system`` in error messages.

    Returns
    -------
    Prepared
        family, kernel args, h0 (B, dim), inputs (Bi, T, d), batched, steps.

    Raises
    ------
    ArgumentTypeError
        When ``system`` is not a system instance.
    ValidationError
        Bad shapes or values.
    """
    family = family_of(system, argname)
    no_inputs, inputs_required = system.input_messages()
    H0, X, batched, steps = layout(h0, inputs, steps, system.dim, system.d, system.noun,
                                   no_inputs=no_inputs, inputs_required=inputs_required)
    args = system.kernel_args(with_inputs=inputs is not None)
    # Systems keep read-only arrays; numba types read-only and writable arrays
    # differently, so kernels would be compiled once per mix. Writable copies
    # (n² at most, negligible next to a run) keep one compiled signature.
    args = type(args)(*(np.array(a) if isinstance(a, np.ndarray) else a for a in args))
    return Prepared(family, args, H0, X, batched, steps)


def _plural(word: str) -> str:
    return word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"


def warn_divergence(diverged_at: np.ndarray, what: str = "trajectory") -> None:
    """Warn (DivergenceWarning) when any trajectory became non-finite."""
    if not diverged_at.size or diverged_at.max() < 0:  # one pass without a temporary: a grid has 1e5-1e6 entries
        return
    bad = diverged_at >= 0
    k = int(bad.sum())
    warnings.warn(
        f"{k} {what if k == 1 else _plural(what)} of {diverged_at.size} became non-finite "
        f"(first at step {int(diverged_at[bad].min())}); see the result's diverged_at",
        DivergenceWarning,
        stacklevel=3,
    )


def _unbatch(x, batched):
    if batched or x is None:
        return x
    return x[0]


def _diverged(div, batched):
    return div if batched else int(div[0])


@dataclass(frozen=True)
class Trajectory:
    """Result of :func:`simulate`.

    Attributes
    ----------
    states : ndarray
        (…, R, n) recorded states h_t at ``times`` (h_0 included), or (…, n)
        when ``record="last"``.
    times : ndarray of int, (R,)
        The step index of each recorded state.
    final : ndarray, (…, n)
        h_T.
    diverged_at : int or ndarray of int, (…,)
        First step at which a trajectory became non-finite, -1 if never. From
        that step on its states are NaN.
    """

    states: np.ndarray
    times: np.ndarray
    final: np.ndarray
    diverged_at: np.ndarray | int

    @property
    def diverged(self):
        """True where a trajectory became non-finite."""
        return np.asarray(self.diverged_at) >= 0


def _stride(record, steps):
    if isinstance(record, str):
        choice(record, "record", {"all", "last"})
        return 1 if record == "all" else 0
    return as_int(record, "record", minimum=1)


def simulate(cell, h0, inputs=None, steps=None, record="all", backend="auto", dtype=np.float64) -> Trajectory:
    """Integrate trajectories of a system from initial states ``h0``.

    Parameters
    ----------
    cell : VanillaRNN, EulerRNN, AntisymmetricRNN, LSTM or Map
        The system.
    h0 : array_like, shape (n,) or (B, n)
        Initial state(s) (for an LSTM the state [h; c], size 2n).
    inputs : array_like, shape (T, d) or (B, T, d), optional
        Input sequence(s); a (T, d) sequence drives every trajectory. None means
        no input term (the bias still applies).
    steps : int, optional
        Number of steps T; required when ``inputs`` is None, else taken from it.
    record : {"all", "last"} or int
        ``"all"``: every state h_0..h_T, shape (…, T+1, n); ``"last"``: only h_T,
        shape (…, n); an integer k: every k-th state h_0, h_k, h_2k, ….
    backend : {"auto", "cpu", "reference", "cuda"}
        Where to run (see :func:`rnndyn.backends.get_backend`).
    dtype : numpy float dtype
        float64 (default) or float32 (twice the SIMD width; about 1e-6 relative;
        cells only).

    Returns
    -------
    Trajectory
        states, times, final, diverged_at.

    Raises
    ------
    ValidationError
        Bad shapes or values (the message names the argument).
    UnsupportedError
        When ``backend`` cannot run this kind of system.
    MemoryLimitError
        When the recorded states would exceed ``config.MEMORY_LIMIT_BYTES``.

    Warns
    -----
    DivergenceWarning
        When a trajectory becomes non-finite (the step is in ``diverged_at``).

    Examples
    --------
    >>> import rnndyn as rd
    >>> cell = rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15)
    >>> traj = rd.simulate(cell, [0.0, 0.5], steps=50)
    >>> traj.states.shape
    (51, 2)
    """
    prep = prepare(cell, h0, inputs, steps)
    stride = _stride(record, prep.steps)
    try:
        dt = np.dtype(dtype)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"dtype: expected float64 or float32, got {_describe(dtype)}") from None
    if dt not in (np.float64, np.float32):
        raise ArgumentTypeError(f"dtype: expected float64 or float32, got {dt}")
    if dt != np.float64 and prep.family != "cell":
        # a user's rule is compiled for float64 arrays
        raise ArgumentTypeError(f"dtype: {prep.family} systems run in float64 only, got {dt}")
    B, n = prep.h0.shape
    T = prep.steps
    R = T // stride + 1 if stride else 0
    what = "trajectories" if prep.family == "cell" else "orbits"
    check_memory(B * R * n * dt.itemsize, f"recording {R} states of {B} {what} of size {n}",
                 "pass record='last' or an integer stride, or split the batch")
    run = kernel_for("simulate", prep.family, backend, work=float(B) * T * n * (n + prep.inputs.shape[2]), n=n,
                     steps=T, batch=B)
    out, final, div = run(prep.args, prep.h0, prep.inputs, stride, dt)
    return trajectory_result(prep, stride, out, final, div)


@dataclass(frozen=True)
class Tangent:
    """Result of :func:`tangent`.

    Attributes
    ----------
    jacobian : ndarray, (…, n, n)
        The end-to-end Jacobian A_T = ∂h_T/∂h_0.
    norms : ndarray, (…, T+1)
        ‖A_t‖ for t = 0..T (spectral or Frobenius, see ``norm``); ‖A_0‖ = ‖I‖.
    vector_norms : ndarray or None
        ‖A_t v‖ for each given tangent vector: (…, T+1) for one vector,
        (…, T+1, k) for k vectors; None when no vectors were given.
    final : ndarray, (…, n)
        h_T.
    diverged_at : int or ndarray of int
        As in :class:`Trajectory`.
    norm : str
        "spectral" or "fro".
    """

    jacobian: np.ndarray
    norms: np.ndarray
    vector_norms: np.ndarray | None
    final: np.ndarray
    diverged_at: np.ndarray | int
    norm: str


def tangent(cell, h0, inputs=None, steps=None, vectors=None, norm="spectral", backend="auto") -> Tangent:
    """End-to-end Jacobian ∂h_T/∂h_0 and the growth of ‖∂h_t/∂h_0‖ over time.

    Propagates A_t = J_t A_{t-1}, A_0 = I, with the one-step Jacobian
    J_t = alpha I + diag(D_t) M evaluated along the trajectory (the discrete
    form of dA/dt = J(t) A in Chang et al. 2019, Sec. 3.1).

    Parameters
    ----------
    cell : VanillaRNN, EulerRNN, AntisymmetricRNN, LSTM or Map
        The system (a Map or an LSTM uses its Jacobian function).
    h0 : array_like, shape (n,) or (B, n)
    inputs : array_like, shape (T, d) or (B, T, d), optional
    steps : int, optional
        Required when ``inputs`` is None.
    vectors : array_like, shape (n,) or (n, k), optional
        Tangent vectors v whose norms ‖A_t v‖ are recorded.
    norm : {"spectral", "fro"}
        Matrix norm of A_t recorded at each step.
    backend : {"auto", "cpu", "reference", "cuda"}

    Returns
    -------
    Tangent
        jacobian, norms, vector_norms, final, diverged_at, norm.

    Examples
    --------
    >>> import numpy as np, rnndyn as rd
    >>> cell = rd.VanillaRNN(np.array([[1.1]]), activation="linear")
    >>> round(float(rd.tangent(cell, [1.0], steps=50).norms[-1]), 1)
    117.4
    """
    prep = prepare(cell, h0, inputs, steps)
    n = prep.h0.shape[1]
    vecs, single, norm_kind = tangent_request(prep, n, vectors, norm)
    B, T = prep.h0.shape[0], prep.steps
    run = kernel_for("tangent", prep.family, backend, work=float(B) * T * n * n * n, n=n, steps=T, batch=B)
    out = run(prep.args, prep.h0, prep.inputs, vecs, norm_kind)
    return tangent_result(prep, out, single, norm)


def trajectory_result(prep: Prepared, stride: int, out, final, div) -> Trajectory:
    """Wrap a backend's simulate output in a :class:`Trajectory` with the caller's batch axes;
    warns on divergence."""
    warn_divergence(div)
    T = prep.steps
    if stride:
        states = _unbatch(out, prep.batched)
        times = np.arange(0, T + 1, stride)
    else:
        states = _unbatch(final, prep.batched)
        times = np.array([T])
    return Trajectory(states, times, _unbatch(final, prep.batched), _diverged(div, prep.batched))


def tangent_request(prep: Prepared, n: int, vectors, norm: str):
    """Check ``vectors``/``norm`` of a tangent request and its memory; returns
    ``(vecs (n, k), single, norm_kind)``."""
    choice(norm, "norm", {"spectral", "fro"})
    single = False
    if vectors is None:
        vecs = np.zeros((n, 0))
    else:
        v = as_real_array(vectors, "vectors", ndim=(1, 2))
        if v.shape[0] != n:
            raise ValidationError(f"vectors: expected shape ({n},) or ({n}, k), got {v.shape}")
        single = v.ndim == 1
        vecs = np.ascontiguousarray(v.reshape(n, -1))
    B, T = prep.h0.shape[0], prep.steps
    check_memory(8.0 * B * (n * n + (T + 1) * (1 + vecs.shape[1])),
                 f"the tangent of {B} trajectories of size {n} over {T} steps",
                 "use fewer trajectories or steps per call")
    return vecs, single, 0 if norm == "spectral" else 1


def tangent_result(prep: Prepared, out, single: bool, norm: str) -> Tangent:
    """Wrap a backend's tangent output ``(final, jac, norms, vec_norms, diverged_at)`` in a
    :class:`Tangent` with the caller's batch axes; warns on divergence."""
    final, jac, norms, vec_norms, div = out
    warn_divergence(div)
    b = prep.batched
    vn = None
    if vec_norms.shape[-1]:
        vn = _unbatch(vec_norms[..., 0] if single else vec_norms, b)
    return Tangent(_unbatch(jac, b), _unbatch(norms, b), vn, _unbatch(final, b), _diverged(div, b), norm)
