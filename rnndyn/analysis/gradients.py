"""Backpropagation through time, by hand: gradients, their norms over time, clipping.

The backward pass of an RNN is a linear recurrence for δ_t = ∂L/∂h_t,

    δ_{t-1} = J_tᵀ δ_t + ∂ℓ/∂h_{t-1},   J_t = alpha I + diag(D_t) M,

so ‖δ_t‖ far from the loss is governed by the product J_{t+1}ᵀ ⋯ J_Tᵀ: it
explodes or vanishes with the spectrum of the Jacobians (Grosse, CSC321
Lecture 15; Chang et al. 2019, Sec. 3). :func:`bptt`
computes that pass in a numba kernel and returns every gradient together with
‖δ_t‖ for t = 0..T; :func:`gradient_norms` compares those norms across
initialisations; :func:`clip_by_norm` and :func:`clip_by_global_norm` are the
remedy of the lecture.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from rnndyn import config
from rnndyn._validate import _describe, as_float, as_int, as_real_array, as_rng, choice
from rnndyn.analysis.stability import spectral_radius
from rnndyn.analysis.trajectories import check_memory, prepare, warn_divergence
from rnndyn.backends import kernel_for
from rnndyn.errors import ArgumentTypeError, DivergenceWarning, ValidationError
from rnndyn.kernels.numpy.trajectories import scaled_norm
from rnndyn.kernels.params import LOSSES
from rnndyn.matrices import from_spec
from rnndyn.systems.cells import CELL_TYPES, AntisymmetricRNN, EulerRNN, VanillaRNN

__all__ = [
    "PARAMETER_FIELDS",
    "GradientNorms",
    "Gradients",
    "bptt",
    "clip_by_global_norm",
    "clip_by_norm",
    "gradient_norms",
]

#: The gradients of trainable weights: what clipping acts on by default.
PARAMETER_FIELDS = ("dW", "dV", "db", "dVz", "dbz", "dU", "dc")
_CLIPPABLE = PARAMETER_FIELDS + ("dh0", "dgamma", "deps")

_LOSSES = LOSSES  # public loss name -> kernel code


@dataclass(frozen=True)
class Gradients:
    """Result of :func:`bptt`: the loss, every gradient, and ‖∂L/∂h_t‖ over time.

    Attributes
    ----------
    loss : float
        The loss, summed over the batch.
    dW : ndarray, (n, n)
        ∂L/∂W of the cell's own W. With G = ∂L/∂M = Σ_t g_t h_{t-1}ᵀ: G for the
        vanilla and Euler cells, G − Gᵀ for the antisymmetric cell (M = W − Wᵀ − γI).
    dV : ndarray, (n, d)
        ∂L/∂V (zeros when no inputs were given).
    db : ndarray, (n,)
    dh0 : ndarray, (…, n)
        ∂L/∂h_0 of each trajectory.
    dgamma : float or None
        ∂L/∂γ = −trace(G) for the Euler and antisymmetric cells; None for vanilla.
    deps : float or None
        ∂L/∂ε; None for vanilla (no step size).
    dVz, dbz : ndarray or None
        Gate gradients of a gated antisymmetric cell; None otherwise.
    dU, dc : ndarray or None
        Readout gradients, (k, n) and (k,), when a readout was given.
    delta_norms : ndarray, (…, T+1)
        ‖δ_t‖ = ‖∂L/∂h_t‖ for t = 0..T, per trajectory (δ_0 = dh0).
    global_delta_norms : ndarray, (T+1,)
        The same over the whole batch: sqrt(Σ_b ‖δ_t^b‖²).
    losses : ndarray, (…,) or float
        The loss of each trajectory.
    final : ndarray, (…, n)
        h_T.
    diverged_at : int or ndarray of int
        First step at which the forward trajectory became non-finite, −1 if never.
    loss_kind : str
        "last", "sum", "readout" or "upstream".
    checkpoint : int or None
        Segment length used for checkpointing, None when every state was stored.
    """

    loss: float
    dW: np.ndarray
    dV: np.ndarray
    db: np.ndarray
    dh0: np.ndarray
    dgamma: float | None
    deps: float | None
    dVz: np.ndarray | None
    dbz: np.ndarray | None
    dU: np.ndarray | None
    dc: np.ndarray | None
    delta_norms: np.ndarray
    global_delta_norms: np.ndarray
    losses: np.ndarray | float
    final: np.ndarray
    diverged_at: np.ndarray | int
    loss_kind: str
    checkpoint: int | None

    @property
    def parameters(self) -> dict:
        """The gradients of the trainable weights (the :data:`PARAMETER_FIELDS` that are present)."""
        return {f: getattr(self, f) for f in PARAMETER_FIELDS if getattr(self, f) is not None}

    @property
    def global_norm(self) -> float:
        """sqrt(Σ ‖g‖²) over :attr:`parameters`: the norm :func:`clip_by_global_norm` bounds."""
        return _global_norm(self, PARAMETER_FIELDS)


# --------------------------------------------------------------------------- validation helpers


def _resolve_loss(loss, readout, dL_dh, targets):
    choice(loss, "loss", set(_LOSSES))
    if readout is not None and dL_dh is not None:
        raise ValidationError("readout, dL_dh: give one of them (a readout loss or upstream gradients), not both")
    if readout is not None:
        if loss not in ("last", "readout"):
            raise ValidationError(f"loss: {loss!r} cannot be combined with readout (the readout's loss is "
                                  "softmax cross-entropy); leave loss at its default or pass 'readout'")
        return "readout"
    if targets is not None:
        raise ValidationError("targets: given without readout=(U, c); targets are class indices for the readout")
    if dL_dh is not None:
        if loss not in ("last", "upstream"):
            raise ValidationError(f"loss: {loss!r} cannot be combined with dL_dh (the upstream gradients "
                                  "define the loss); leave loss at its default or pass 'upstream'")
        return "upstream"
    if loss == "readout":
        raise ValidationError("loss: 'readout' needs readout=(U, c) and targets")
    if loss == "upstream":
        raise ValidationError("loss: 'upstream' needs dL_dh, an array of shape (…, T+1, n)")
    return loss


def _check_readout(readout, n):
    if isinstance(readout, np.ndarray) or not isinstance(readout, (tuple, list)) or len(readout) != 2:
        raise ValidationError(f"readout: expected a pair (U, c) with U of shape (k, {n}) and c of shape (k,), "
                              f"got {_describe(readout)}")
    U = as_real_array(readout[0], "readout U", ndim=2)
    if U.shape[1] != n or U.shape[0] == 0:
        raise ValidationError(f"readout U: expected shape (k, {n}) with k >= 1, got {U.shape}")
    k = U.shape[0]
    if readout[1] is None:
        c = np.zeros(k)
    else:
        c = as_real_array(readout[1], "readout c", ndim=1)
        if c.shape != (k,):
            raise ValidationError(f"readout c: expected shape ({k},) to match U of shape {U.shape}, got {c.shape}")
    return U, c


def _check_targets(targets, k, B, batched):
    if targets is None:
        raise ValidationError("targets: required with readout (integer class indices in [0, k))")
    if isinstance(targets, (str, bytes)):
        raise ArgumentTypeError(f"targets: expected integer class indices, got {_describe(targets)}")
    try:
        t = np.asarray(targets)
    except ValueError:  # ragged nested lists
        raise ValidationError("targets: expected one class index per trajectory, got nested sequences of "
                              "different lengths") from None
    if t.dtype == np.bool_ or not (np.issubdtype(t.dtype, np.integer)
                                   or (np.issubdtype(t.dtype, np.floating) and np.all(np.mod(t, 1) == 0))):
        raise ArgumentTypeError(f"targets: expected integer class indices, got {_describe(targets)}")
    t = t.astype(np.int64)
    if t.ndim == 0:
        t = np.full(B, int(t))
    elif t.ndim != 1 or t.shape[0] not in (1, B):
        want = f"({B},)" if batched else "a scalar"
        raise ValidationError(f"targets: expected {want} (one class per trajectory), got shape {t.shape}")
    t = np.ascontiguousarray(np.broadcast_to(t, (B,)))
    if t.size and (t.min() < 0 or t.max() >= k):
        raise ValidationError(f"targets: expected class indices in [0, {k}) (U has {k} rows), "
                              f"got values in [{t.min()}, {t.max()}]")
    return t


def _kind(cell) -> str:
    if isinstance(cell, AntisymmetricRNN):
        return "antisymmetric"
    if isinstance(cell, EulerRNN):
        return "euler"
    if isinstance(cell, VanillaRNN):
        return "vanilla"
    raise ArgumentTypeError(f"cell: expected a VanillaRNN, EulerRNN or AntisymmetricRNN, got {type(cell).__name__}")


def _stored_bytes(B, T, n, d, gated):
    # states, activations (later g^a) and inputs; gate values (later g^z) and g when gated
    return 8.0 * B * (T + 1) * (n * (2 + 2 * gated) + d)


# --------------------------------------------------------------------------- bptt


def bptt(cell, h0, inputs=None, steps=None, loss="last", targets=None, readout=None, dL_dh=None,
         checkpoint=None, backend="auto") -> Gradients:
    """Gradients of a loss on a trajectory, by backpropagation through time.

    Parameters
    ----------
    cell : VanillaRNN, EulerRNN or AntisymmetricRNN
        Gated antisymmetric cells included.
    h0 : array_like, shape (n,) or (B, n)
        Initial state(s).
    inputs : array_like, shape (T, d) or (B, T, d), optional
        Input sequence(s); None means no input term.
    steps : int, optional
        T; required when ``inputs`` is None.
    loss : {"last", "sum", "readout", "upstream"}
        ``"last"``: ½‖h_T‖² (default). ``"sum"``: ½ Σ_{t=1..T} ‖h_t‖² (h_0 is
        not included). ``"readout"`` is implied by ``readout``, ``"upstream"``
        by ``dL_dh``. Every loss is summed over the batch.
    targets : int or array_like of int, shape () or (B,)
        Class indices for the readout loss.
    readout : (U, c), optional
        U of shape (k, n), c of shape (k,) or None: the loss is the softmax
        cross-entropy of the logits U h_T + c against ``targets``.
    dL_dh : array_like, shape (T+1, n) or (B, T+1, n), optional
        Arbitrary upstream gradients ∂ℓ/∂h_t for t = 0..T. The loss is then the
        linear functional L = Σ_t ⟨dL_dh_t, h_t⟩ whose gradient they are (so
        ``loss`` is well defined and finite differences apply).
    checkpoint : int, optional
        Keep only every k-th state in the forward pass and recompute each
        segment of k steps during the backward pass (memory O((T/k + k) B n)
        instead of O(T B n), one extra forward pass). None: store every state,
        unless that would exceed ``config.MEMORY_LIMIT_BYTES``, in which case
        k = ⌈√T⌉ is chosen. Results are bit-identical for every choice (None,
        any k, or the automatic one): see Notes.
    backend : {"auto", "cpu", "reference"} or another registered backend

    Returns
    -------
    Gradients
        loss, dW, dV, db, dh0, dgamma, deps, dVz, dbz, dU, dc, delta_norms,
        global_delta_norms, losses, final, diverged_at, loss_kind, checkpoint.

    Raises
    ------
    ValidationError
        Bad shapes or values, or a loss that does not fit the other arguments.
    UnsupportedError
        For a system other than a cell (an LSTM or a Map has no backward
        kernel), or a backend without a bptt kernel.
    MemoryLimitError
        When even the checkpointed pass would not fit in memory.

    Warns
    -----
    DivergenceWarning
        When the forward trajectory or the gradients become non-finite.

    Notes
    -----
    With a_t = M h_{t-1} + V x_t + b, h_t = alpha h_{t-1} + eps [z_t ∘] φ(a_t)
    and δ_t = ∂L/∂h_t (total derivative), the backward recurrence is

        g^a_t = eps z_t ∘ φ'(a_t) ∘ δ_t,   g^z_t = eps φ(a_t) ∘ σ'(a^z_t) ∘ δ_t,
        δ_{t-1} = alpha δ_t + Mᵀ (g^a_t + g^z_t) + ∂ℓ/∂h_{t-1},

    and G = ∂L/∂M = Σ_t (g^a_t + g^z_t) h_{t-1}ᵀ, ∂L/∂V = Σ_t g^a_t x_tᵀ,
    ∂L/∂b = Σ_t g^a_t (V_z, b_z likewise with g^z). The product of the
    transposed Jacobians J_tᵀ = alpha I + Mᵀ diag(D_t) is what vanishes or
    explodes (Grosse, CSC321 Lecture 15; the AntisymmetricRNN of
    Chang et al. 2019, keeps it near norm 1). The kernel stores the
    pre-activation adjoints and forms the weight gradients as matrix products
    over blocks of consecutive steps.

    Reproducibility: a recomputed segment repeats the arithmetic of the stored
    run, and the weight-gradient sums run over fixed blocks of steps (the same
    blocks, added from the last to the first, whatever the segment length), so
    every field of the result has the same bits with or without
    checkpointing, and the same bits run to run. On the ``"cpu"`` backend the
    batch is split into one block of trajectories per core of the machine (its
    CPU set, whatever ``numba.set_num_threads`` or ``NUMBA_NUM_THREADS`` say, so
    that the same call gives the same bits in a one-thread worker) and the
    blocks' sums are added in batch order; on a machine with another number of
    cores a batch (B > 1) is grouped differently, which may change the last
    bits (relative differences of order 1e-15) of the batch sums dW, dV, db,
    dVz, dbz, dgamma and deps, and for large n also of dh0 and
    ``delta_norms``. A single trajectory gives the same bits on any machine. The ``"reference"``
    backend sums step by step, in another order than ``"cpu"``: the two agree
    to rounding, not bit for bit.

    Examples
    --------
    >>> import numpy as np, rnndyn as rd
    >>> cell = rd.VanillaRNN(np.array([[1.1]]), activation="linear")
    >>> g = rd.bptt(cell, [1.0], steps=50, dL_dh=np.r_[np.zeros(50), 1.0][:, None])
    >>> round(float(g.delta_norms[0]), 1), round(float(g.dh0[0]), 1)
    (117.4, 117.4)
    >>> cell = rd.AntisymmetricRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15)
    >>> g = rd.bptt(cell, [0.0, 0.5], steps=50)
    >>> g.dW.shape, g.delta_norms.shape
    ((2, 2), (51,))
    """
    prep = prepare(cell, h0, inputs, steps)
    B0, T0, n0 = prep.h0.shape[0], prep.steps, prep.h0.shape[1]
    run = kernel_for("bptt", prep.family, backend, work=float(B0) * T0 * n0 * (3 * n0 + prep.inputs.shape[2]),
                     argname="cell", steps=T0, batch=B0)
    kind = _kind(cell)
    loss_name = _resolve_loss(loss, readout, dL_dh, targets)
    p = prep.args
    H0 = prep.h0
    X = prep.inputs
    batched = prep.batched
    T = prep.steps
    n = cell.n
    if dL_dh is not None:
        g = as_real_array(dL_dh, "dL_dh", ndim=(2, 3))
        if g.shape[-2:] != (T + 1, n):
            raise ValidationError(f"dL_dh: expected shape (…, {T + 1}, {n}) (one gradient per state h_0..h_T), "
                                  f"got {g.shape}")
        if g.ndim == 3:
            if g.shape[0] == 0:
                raise ValidationError("dL_dh: expected at least one trajectory, got an empty batch")
            if g.shape[0] not in (1, H0.shape[0]):
                if H0.shape[0] != 1:
                    raise ValidationError(f"dL_dh: batch size {g.shape[0]} does not match the batch size "
                                          f"{H0.shape[0]} of h0/inputs")
                H0 = np.ascontiguousarray(np.broadcast_to(H0, (g.shape[0], n)))
            batched = True
        upstream = np.ascontiguousarray(g.reshape(-1, T + 1, n))
    else:
        upstream = np.zeros((1, 1, n))
    B = H0.shape[0]
    if loss_name == "readout":
        U, c = _check_readout(readout, n)
        tg = _check_targets(targets, U.shape[0], B, batched)
    else:
        U, c, tg = np.zeros((0, n)), np.zeros(0), np.zeros(B, np.int64)
    d = X.shape[2]
    norms_bytes = 8.0 * B * (T + 1)  # delta_norms, returned whatever the checkpointing
    if checkpoint is None:
        if _stored_bytes(B, T, n, d, p.gated) + norms_bytes > config.MEMORY_LIMIT_BYTES and T > 1:
            checkpoint = max(1, math.isqrt(T - 1) + 1)
    else:
        checkpoint = as_int(checkpoint, "checkpoint", minimum=1)
        if checkpoint >= T:
            checkpoint = None
    if checkpoint is None:
        check_memory(_stored_bytes(B, T, n, d, p.gated) + norms_bytes,
                     f"backprop through {T} steps of {B} trajectories",
                     "pass checkpoint=k to keep only every k-th state, or split the batch")
    else:
        kk = checkpoint
        check_memory(8.0 * B * n * (T // kk + 1) + _stored_bytes(B, kk, n, d, p.gated) + norms_bytes,
                     f"backprop through {T} steps of {B} trajectories with checkpoint={kk}",
                     "split the batch")
    out = run(p, H0, X, _LOSSES[loss_name], upstream, U, c, tg, 0 if checkpoint is None else checkpoint)
    dM, dV, db, dVz, dbz, dU, dc, deps, dh0, dnorms, losses, final, div = out
    warn_divergence(div)
    with np.errstate(over="ignore", invalid="ignore"):  # every overflow is reported below, never silent
        dW = dM - dM.T if kind == "antisymmetric" else dM
        total = float(np.sum(losses))
        trace = float(np.trace(dM))
        dgamma = None if kind == "vanilla" else -trace  # tr(-dM), exactly: negation does not round
    forward_ok = div < 0
    # A trajectory can stay finite forward and still overflow backward (exploding gradients): said per
    # trajectory, whatever the others did.
    back = np.flatnonzero(forward_ok & ~np.isfinite(dnorms).all(axis=1)) if not np.isfinite(dnorms).all() else ()
    if len(back):
        last = [int(np.flatnonzero(~np.isfinite(dnorms[i]))[-1]) for i in back]
        which = ", ".join(f"trajectory {i} from t = {t}" for i, t in zip(back[:3], last[:3]))
        more = f" and {len(back) - 3} more" if len(back) > 3 else ""
        warnings.warn(f"the gradients overflowed (exploding gradients) although the forward pass stayed finite: "
                      f"∂L/∂h_t is not finite for {which}{more} (backwards in time); the summed weight "
                      "gradients are then not finite either", DivergenceWarning, stacklevel=2)
    # States near the float64 limit can leave the forward pass finite and still overflow the loss, or the sums of
    # finite per-step terms over time and the batch: said too, never a silent inf.
    losses_1d = np.atleast_1d(losses)
    lost = np.flatnonzero(forward_ok & ~np.isfinite(losses_1d)) if not np.isfinite(losses_1d).all() else ()
    if len(lost):
        which = ", ".join(str(i) for i in lost[:3]) + (f" and {len(lost) - 3} more" if len(lost) > 3 else "")
        warnings.warn(f"the loss overflowed although the states stayed finite (trajectory {which}): the states are "
                      "near the float64 limit, and the gradients are not finite either", DivergenceWarning,
                      stacklevel=2)
    if not len(lost) and not len(back) and forward_ok.all():
        # one test over all the sums; the names only when it fails
        scalars = (total, deps, trace) if kind != "vanilla" else (total,)
        if not (all(map(math.isfinite, scalars))
                and np.isfinite(np.concatenate((dW.ravel(), dV.ravel(), db, dVz.ravel(), dbz, dU.ravel(), dc))).all()):
            sums = {"loss": total, "dW": dW, "dV": dV, "db": db, "dVz": dVz, "dbz": dbz, "dU": dU, "dc": dc}
            if kind != "vanilla":
                sums.update(deps=deps, dgamma=trace)
            bad = [name for name, v in sums.items() if not np.all(np.isfinite(v))]
            warnings.warn(f"{', '.join(bad)} overflowed when summed over time and the batch, although every "
                          "∂L/∂h_t is finite: the weights or states are near the float64 limit", DivergenceWarning,
                          stacklevel=2)

    if inputs is None:  # the input term was dropped: the input weights get no gradient
        dV = np.zeros(cell.V.shape)
        dVz = np.zeros(cell.Vz.shape) if p.gated else dVz
    gated = kind == "antisymmetric" and cell.gated

    def ub(x):
        return x if batched else x[0]

    return Gradients(
        loss=total,
        dW=dW,
        dV=dV,
        db=db,
        dh0=ub(dh0),
        dgamma=dgamma,
        deps=None if kind == "vanilla" else float(deps),
        dVz=dVz if gated else None,
        dbz=dbz if gated else None,
        dU=dU if loss_name == "readout" else None,
        dc=dc if loss_name == "readout" else None,
        delta_norms=ub(dnorms),
        global_delta_norms=scaled_norm(dnorms, axis=0),  # scaled: finite while the result is
        losses=losses if batched else float(losses[0]),
        final=ub(final),
        diverged_at=div if batched else int(div[0]),
        loss_kind=loss_name,
        checkpoint=checkpoint,
    )


# --------------------------------------------------------------------------- clipping


def _check_grads(grads, fields):
    if not isinstance(grads, Gradients):
        raise ArgumentTypeError(f"grads: expected a Gradients (the result of rd.bptt), got {type(grads).__name__}")
    if fields is None:
        return PARAMETER_FIELDS
    if isinstance(fields, str):
        fields = (fields,)
    try:
        fields = tuple(fields)
    except TypeError:
        raise ArgumentTypeError(f"fields: expected a sequence of gradient names such as ('dW', 'db'), "
                                f"got {_describe(fields)}") from None
    for f in fields:
        choice(f, "fields", set(_CLIPPABLE))
    return fields


def _norm(g) -> float:
    # scaled: a finite gradient of 1e160 has a finite norm (its plain sum of squares overflows, and
    # clipping by that would zero exactly the gradients that exploded)
    return float(scaled_norm(g))


def _scaled(g, s):
    return float(g) * s if isinstance(g, numbers.Real) else np.asarray(g) * s


def _global_norm(grads, fields) -> float:
    # math.hypot scales internally: no overflow while the result is representable
    return math.hypot(*(_norm(getattr(grads, f)) for f in fields if getattr(grads, f) is not None))


def clip_by_norm(grads: Gradients, max_norm, fields=None) -> Gradients:
    """Clip each gradient separately: g ← η g / ‖g‖ when ‖g‖ > η.

    Parameters
    ----------
    grads : Gradients
    max_norm : float
        η > 0.
    fields : sequence of str, optional
        Which gradients to clip; default :data:`PARAMETER_FIELDS` (dW, dV, db,
        dVz, dbz, dU, dc). ``"dh0"``, ``"dgamma"``, ``"deps"`` may be added.

    Returns
    -------
    Gradients
        A new result (the input is unchanged); the norms over time and the loss
        are kept as they were.

    Notes
    -----
    The rule of Grosse, CSC321 Lecture 15, after Goodfellow et al.,
    applied per parameter: "the gradients are biased, but at least they don't
    blow up". Norms are Frobenius norms.

    Examples
    --------
    >>> import numpy as np, rnndyn as rd
    >>> g = rd.bptt(rd.VanillaRNN(np.array([[1.1]]), activation="linear"), [1.0], steps=50)
    >>> float(np.abs(rd.clip_by_norm(g, 1.0).dW).max())
    1.0
    """
    fields = _check_grads(grads, fields)
    eta = as_float(max_norm, "max_norm", positive=True)
    changes = {}
    for f in fields:
        g = getattr(grads, f)
        if g is None:
            continue
        nrm = _norm(g)
        if not math.isfinite(nrm):
            _warn_unclippable(f)
        elif nrm > eta:
            changes[f] = _scaled(g, eta / nrm)
    return dataclasses.replace(grads, **changes)


def _warn_unclippable(what: str) -> None:
    warnings.warn(f"{what} holds inf or NaN (the backward pass overflowed; see the result's diverged_at): "
                  "no finite rescaling bounds it, so it is left unclipped", DivergenceWarning, stacklevel=3)


def clip_by_global_norm(grads: Gradients, max_norm, fields=None) -> Gradients:
    """Scale all gradients together so that their joint norm is at most η.

    Parameters
    ----------
    grads : Gradients
    max_norm : float
        η > 0.
    fields : sequence of str, optional
        As in :func:`clip_by_norm`.

    Returns
    -------
    Gradients
        g ← η g / ‖(g_1, …, g_k)‖ for every field when the joint norm
        sqrt(Σ ‖g_i‖²) exceeds η; otherwise the same values. The direction of
        the whole update is kept (unlike per-parameter clipping).

    Notes
    -----
    Grosse, CSC321 Lecture 15: clip the gradient g so that it has
    norm at most η; here g is all trainable gradients concatenated.

    Examples
    --------
    >>> import numpy as np, rnndyn as rd
    >>> g = rd.bptt(rd.VanillaRNN(np.array([[1.1]]), activation="linear"), [1.0], steps=50)
    >>> round(rd.clip_by_global_norm(g, 1.0).global_norm, 12)
    1.0
    """
    fields = _check_grads(grads, fields)
    eta = as_float(max_norm, "max_norm", positive=True)
    total = _global_norm(grads, fields)
    if not math.isfinite(total):
        _warn_unclippable(", ".join(f for f in fields if getattr(grads, f) is not None))
        return dataclasses.replace(grads)
    if not total > eta:
        return dataclasses.replace(grads)
    s = eta / total
    changes = {f: _scaled(getattr(grads, f), s) for f in fields if getattr(grads, f) is not None}
    return dataclasses.replace(grads, **changes)


# --------------------------------------------------------------------------- gradient norms over time


def default_inits(size: int) -> tuple[str, ...]:
    """The initialisations :func:`gradient_norms` compares by default, scaled to ``size``.

    Orthogonal (norm-preserving), N(0, (0.5/√n)²) (spectral radius ≈ 0.5:
    vanishing), N(0, (3/√n)²) (radius ≈ 3: exploding) and the identity. (Le
    et al. 2015 pair the identity with ReLU: ``"identity,activation=relu"``,
    with a positive initial state.)

    Examples
    --------
    >>> from rnndyn.analysis.gradients import default_inits
    >>> default_inits(64)
    ('orthogonal', 'normal:gain=0.5', 'normal:gain=3', 'identity')
    """
    # gain G is N(0, (G/√n)²): the same matrices at every size, named by their radius
    return ("orthogonal", "normal:gain=0.5", "normal:gain=3", "identity")


_ENTRY_KEYS = {"init", "cell", "gamma", "eps", "activation", "label"}


def parse_init_entry(entry) -> dict:
    """One line of :func:`gradient_norms`: ``"SPEC[,key=value...]"`` or a mapping -> dict.

    ``SPEC`` is an :func:`rnndyn.init.from_spec` spec; the keys ``cell``,
    ``gamma``, ``eps``, ``activation``, ``label`` override the defaults for
    that line, e.g. ``"identity,activation=relu"`` or
    ``"antisymmetric:1,cell=antisymmetric,gamma=0.1"``. ``label=`` must come
    last and takes the rest of the text (commas included); without it the
    label is the entry itself.

    Examples
    --------
    >>> from rnndyn.analysis.gradients import parse_init_entry
    >>> parse_init_entry("normal:0.1,gamma=0.5,label=small, damped")
    {'init': 'normal:0.1', 'label': 'small, damped', 'gamma': 0.5}
    """
    if isinstance(entry, Mapping):
        d = dict(entry)
        bad = set(d) - _ENTRY_KEYS
        if bad or "init" not in d:
            raise ValidationError(f"inits: expected a mapping with 'init' and optional keys "
                                  f"{sorted(_ENTRY_KEYS - {'init'})}, got keys {sorted(d)}")
        d.setdefault("label", str(d["init"]))
        return d
    if not isinstance(entry, str) or not entry.strip():
        raise ValidationError(f"inits: expected specs such as 'orthogonal' or 'normal:0.5,gamma=0.1', "
                              f"got {_describe(entry)}")
    text, sep, label = entry.partition(",label=")  # a label may itself contain commas: it comes last
    head, *rest = [s.strip() for s in text.split(",")]
    d = {"init": head, "label": label.strip() if sep else entry.strip()}
    for item in rest:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in _ENTRY_KEYS - {"init"}:
            raise ValidationError(f"inits: in {entry!r}, expected key=value with key one of "
                                  f"{sorted(_ENTRY_KEYS - {'init'})}, got {item!r}")
        if key in ("gamma", "eps"):
            try:
                d[key] = float(value)
            except ValueError:
                raise ValidationError(f"inits: in {entry!r}, expected a number for {key}, got {value!r}") from None
        else:
            d[key] = value.strip()
    return d


@dataclass(frozen=True)
class GradientNorms:
    """Result of :func:`gradient_norms`: ‖∂L/∂h_t‖ over t for several initialisations.

    Attributes
    ----------
    labels : tuple of str
        One per line (the init entries as given).
    norms : ndarray, (n_inits, T+1)
        ‖δ_t‖ for t = 0..T (root mean square over the batch when batch > 1).
    times : ndarray of int, (T+1,)
    cells : tuple of str
        The cell kind of each line.
    activations : tuple of str
    gammas : tuple of float or None
        γ of each line (None for vanilla cells).
    matrix_radii : ndarray, (n_inits,)
        Spectral radius of each line's recurrent matrix M.
    size, steps : int
    loss : str
        "unit" (a unit upstream gradient at T), "last" or "sum".
    """

    labels: tuple
    norms: np.ndarray
    times: np.ndarray
    cells: tuple
    activations: tuple
    gammas: tuple
    matrix_radii: np.ndarray
    size: int
    steps: int
    loss: str

    @property
    def ratios(self) -> np.ndarray:
        """‖δ_0‖ / ‖δ_T‖ per line: the gain of the gradient from the loss back to the first state."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return self.norms[:, 0] / self.norms[:, -1]


def _build_cell(kind, W, V, eps, gamma, activation):
    if kind == "vanilla":
        return VanillaRNN(W, V=V, activation=activation)
    if kind == "euler":
        return EulerRNN(W, V=V, eps=eps, gamma=gamma, activation=activation)
    return AntisymmetricRNN(W, V=V, eps=eps, gamma=gamma, activation=activation)


def gradient_norms(cell="vanilla", inits=None, size=64, steps=100, eps=0.1, gamma=0.0, activation="tanh",
                   input_size=1, input_scale=0.03, h0=None, batch=1, loss="unit", rng=0, backend="auto",
                   progress=None) -> GradientNorms:
    """‖∂L/∂h_t‖ for t = 0..T under several initialisations of the recurrent matrix.

    Every line runs the same seeded inputs, input weights, initial state and
    upstream gradient; only the recurrent matrix (and what an entry overrides)
    changes, so the curves differ by the backward dynamics alone.

    Parameters
    ----------
    cell : {"vanilla", "euler", "antisymmetric"} or callable
        The cell kind, or a factory ``cell(W) -> cell`` (its own V decides
        whether inputs are drawn).
    inits : sequence of str or mapping, optional
        Initialisations, each ``"SPEC[,key=value...]"`` (see
        :func:`parse_init_entry`; SPEC as in :func:`rnndyn.init.from_spec`).
        Default: :func:`default_inits` ``(size)``.
    size : int
        State size n.
    steps : int
        T.
    eps, gamma : float
        Step size and diffusion of Euler/antisymmetric cells.
    activation : {"tanh", "relu", "linear", "sigmoid"}
    input_size : int
        d; 0 runs without inputs. Inputs x_t ~ N(0, 1), input weights
        V ~ N(0, input_scale²/d).
    input_scale : float
        Small by default (0.03) so that the driven state stays where tanh is
        nearly linear: the curves then show the recurrent matrix, not
        saturation.
    h0 : array_like, shape (n,) or (batch, n), optional
        Initial state(s); zeros by default. (An identity-ReLU network needs a
        positive state to pass gradients: a unit at 0 blocks them.)
    batch : int
        Trajectories per line; the norms are the RMS over the batch.
    loss : {"unit", "last", "sum"}
        ``"unit"`` (default): a random unit vector as ∂L/∂h_T (so ‖δ_T‖ = 1 and
        ‖δ_t‖ is the gain of the backward pass from T to t); ``"last"``/``"sum"``
        as in :func:`bptt`.
    rng : None, int or numpy.random.Generator
    backend : {"auto", "cpu", "reference"}
    progress : callable, optional
        Called with each label after its line is done (for progress bars).

    Returns
    -------
    GradientNorms

    Notes
    -----
    The scalar case of Grosse, CSC321 Lecture 15 is n = 1, a linear
    vanilla cell and W = w: ‖δ_0‖ = w^T, 1.1⁵⁰ ≈ 117.4 and 0.9⁵⁰ ≈ 0.00515.
    Orthogonal matrices keep the norm (Smerity); the antisymmetric
    cell with small γ keeps it near 1 (Chang et al. 2019).

    Examples
    --------
    >>> import rnndyn as rd
    >>> r = rd.gradient_norms("vanilla", ["identity:gain=1.1", "identity:gain=0.9"], size=1, steps=50,
    ...                       activation="linear", input_size=0)
    >>> [round(float(v), 5) for v in r.norms[:, 0]]
    [117.39085, 0.00515]
    """
    n = as_int(size, "size", minimum=1)
    T = as_int(steps, "steps", minimum=0)
    d = as_int(input_size, "input_size", minimum=0)
    nb = as_int(batch, "batch", minimum=1)
    choice(loss, "loss", {"unit", "last", "sum"})
    scale = as_float(input_scale, "input_scale", nonnegative=True)
    eps = as_float(eps, "eps", positive=True)
    gamma = as_float(gamma, "gamma", nonnegative=True)
    if callable(cell):
        factory, kind0 = cell, None
    else:
        choice(cell, "cell", set(CELL_TYPES))
        factory, kind0 = None, cell
    if inits is None:
        inits = default_inits(n)
    if isinstance(inits, (str, Mapping)):
        inits = [inits]
    if not isinstance(inits, (list, tuple)):
        raise ArgumentTypeError(
            f"inits: expected a spec string such as 'orthogonal', a mapping, or a list of them, "
            f"got {type(inits).__name__}"
        )
    entries = [parse_init_entry(e) for e in inits]
    if not entries:
        raise ValidationError("inits: expected at least one initialisation, got none")
    g = as_rng(rng)
    # Before any draw: the inputs (B, T, d), the upstream gradient (B, T+1, n) of the "unit" loss and
    # the norms over time of every line; bptt then checks its own pass.
    check_memory(8.0 * nb * (T + 1) * (d + (n if loss == "unit" else 0) + len(entries) + 1),
                 f"the inputs and gradients of {len(entries)} runs of {T} steps", "use fewer steps or a smaller batch")
    # shared draws first, so that every line sees the same inputs and upstream gradient
    V = g.standard_normal((n, d)) * (scale / math.sqrt(d)) if d else None
    X = g.standard_normal((nb, T, d)) if d else None
    if h0 is None:
        h0 = np.zeros((nb, n))
    else:
        h0 = as_real_array(h0, "h0", ndim=(1, 2))
        if h0.shape[-1] != n or (h0.ndim == 2 and h0.shape[0] not in (1, nb)):
            raise ValidationError(f"h0: expected shape ({n},) or ({nb}, {n}) (size, batch), got {h0.shape}")
        h0 = np.ascontiguousarray(np.broadcast_to(h0.reshape(-1, n), (nb, n)))
    u = g.standard_normal((nb, n))
    u /= np.linalg.norm(u, axis=1, keepdims=True)
    labels, rows, kinds, acts, gammas, radii = [], [], [], [], [], []
    for e in entries:
        W = from_spec(e["init"], n, g)
        if factory is not None:
            c = factory(W)
            kind = _kind(c)
        else:
            kind = e.get("cell", kind0)
            choice(kind, "cell", set(CELL_TYPES))
            c = _build_cell(kind, W, V, e.get("eps", eps), e.get("gamma", gamma), e.get("activation", activation))
        x = X if c.d else None
        if x is not None and x.shape[2] != c.d:
            x = g.standard_normal((nb, T, c.d))
        if loss == "unit":
            up = np.zeros((nb, T + 1, n))
            up[:, T] = u
            res = bptt(c, h0, x, steps=T, dL_dh=up, backend=backend)
        else:
            res = bptt(c, h0, x, steps=T, loss=loss, backend=backend)
        rows.append(res.global_delta_norms / math.sqrt(nb))
        labels.append(e["label"])
        kinds.append(kind)
        acts.append(c.activation)
        gammas.append(None if kind == "vanilla" else float(c.gamma))
        radii.append(spectral_radius(c.recurrent_matrix))
        if progress is not None:
            progress(e["label"])
    return GradientNorms(tuple(labels), np.array(rows), np.arange(T + 1), tuple(kinds), tuple(acts),
                         tuple(gammas), np.array(radii), n, T, loss)
