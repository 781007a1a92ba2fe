"""Training small RNNs with rnndyn's own backpropagation through time.

A run is: a seeded task (:func:`make_task`: the adding problem, copy memory,
the 3-bit flip-flop, pixel-by-pixel digits), a cell (:func:`make_cell`), a
linear readout y_t = U h_t + c with squared error or softmax cross-entropy,
and an optimiser (:class:`SGD` with momentum or :class:`Adam`) over every
trainable array. Gradients come from :func:`rnndyn.bptt` (its ``readout``
loss for a classification of the last state, its ``upstream`` loss for
everything else), clipped with :func:`rnndyn.clip_by_global_norm` or
:func:`rnndyn.clip_by_norm`. Every epoch records what explains the outcome:
the loss, the accuracy, the gradient norm, how much ‖∂L/∂h_t‖ shrinks or grows
from the end of the sequence to its start, the spectral radius or Euler factor
of the recurrent matrix and the largest Lyapunov exponent of the driven cell.

The tasks are those of the long-memory literature: the adding problem and
copy memory (Hochreiter & Schmidhuber 1997; Arjovsky et al. 2016), the 3-bit
flip-flop (Sussillo & Barak 2013), pixel-by-pixel classification (Le et al.
2015; Chang et al. 2019 use MNIST, here scikit-learn's 8 × 8 digits).
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from rnndyn._validate import _describe, as_float, as_int, as_real_array, as_rng, choice
from rnndyn.analysis.gradients import bptt, clip_by_global_norm, clip_by_norm
from rnndyn.analysis.lyapunov import lyapunov_spectrum
from rnndyn.analysis.stability import euler_factor, spectral_radius
from rnndyn.analysis.trajectories import simulate
from rnndyn.errors import ArgumentTypeError, LoadError, ValidationError
from rnndyn.io.results import load_result, save_result
from rnndyn.matrices import from_spec
from rnndyn.systems.cells import AntisymmetricRNN, EulerRNN, VanillaRNN

__all__ = [
    "Adam",
    "SGD",
    "TASKS",
    "Task",
    "TrainResult",
    "load_run",
    "make_cell",
    "make_task",
    "save_run",
    "train",
]

#: Task name -> (output kind, default length T).
TASKS = {
    "adding": ("last_mse", 100),
    "copy": ("seq_ce", 50),
    "flipflop": ("seq_mse", 100),
    "digits": ("last_ce", 64),
    "pdigits": ("last_ce", 64),
}

_CELLS = ("vanilla", "euler", "antisymmetric")
_HISTORY = ("loss", "accuracy", "test_loss", "test_accuracy", "grad_norm", "grad_ratio", "radius",
            "max_lyapunov", "time")


# --------------------------------------------------------------------------- tasks


@dataclass(frozen=True, eq=False)
class Task:
    """A generated task: training and test sequences and how outputs are scored.

    Attributes
    ----------
    name : str
        One of :data:`TASKS`.
    X_train, X_test : ndarray, (N, T, d)
        Input sequences.
    Y_train, Y_test : ndarray
        Targets: (N, k) floats for ``"last_mse"``, (N,) class indices for
        ``"last_ce"``, (N, T) class indices for ``"seq_ce"``, (N, T, k) floats
        for ``"seq_mse"``.
    output : {"last_mse", "last_ce", "seq_ce", "seq_mse"}
        Whether the readout is scored on the last state or on every state
        h_1..h_T, with squared error or softmax cross-entropy.
    n_out : int
        k, the number of outputs (classes for cross-entropy).
    baseline : float
        The loss of the best input-blind predictor (adding: Var(sum) = 1/6;
        copy memory: 10 log 8 / (T + 20); flip-flop: the mean squared target;
        digits: log 10): a learning curve below it has learned something.
    spec : dict
        What regenerates the task with :func:`make_task` (name, length,
        n_train, n_test, seed, ...).
    """

    name: str
    X_train: np.ndarray
    Y_train: np.ndarray
    X_test: np.ndarray
    Y_test: np.ndarray
    output: str
    n_out: int
    baseline: float
    spec: dict = field(default_factory=dict)

    @property
    def length(self) -> int:
        """T, the number of steps of a sequence."""
        return int(self.X_train.shape[1])

    @property
    def d(self) -> int:
        """The input size."""
        return int(self.X_train.shape[2])


def _adding(T, N, g):
    X = np.zeros((N, T, 2))
    X[:, :, 0] = g.random((N, T))
    half = max(T // 2, 1)
    i = g.integers(0, half, N)
    j = g.integers(half, T, N) if T > 1 else np.zeros(N, np.int64)
    rows = np.arange(N)
    X[rows, i, 1] = 1.0
    X[rows, j, 1] = 1.0
    Y = (X[rows, i, 0] + X[rows, j, 0] * (i != j))[:, None]
    return X, Y


def _copy(T, N, g):
    # Arjovsky et al. 2016: 10 symbols from {1..8}, T − 1 blanks, the delimiter 9, 10 blanks; the target is
    # blank (0) until the delimiter's echo and then the 10 symbols.
    L = T + 20
    seq = g.integers(1, 9, (N, 10))
    idx = np.zeros((N, L), np.int64)
    idx[:, :10] = seq
    idx[:, T + 9] = 9
    X = np.zeros((N, L, 10))
    np.put_along_axis(X, idx[:, :, None], 1.0, axis=2)
    Y = np.zeros((N, L), np.int64)
    Y[:, T + 10:] = seq
    return X, Y


def _flipflop(T, N, g, p=0.05):
    # Sussillo & Barak 2013: sparse ±1 pulses on 3 channels; each output holds the sign of its last pulse
    pulses = (g.random((N, T, 3)) < p) * np.where(g.random((N, T, 3)) < 0.5, -1.0, 1.0)
    Y = np.zeros((N, T, 3))
    last = np.zeros((N, 3))
    for t in range(T):
        last = np.where(pulses[:, t] != 0, pulses[:, t], last)
        Y[:, t] = last
    return pulses, Y


def _digits(permute, g):
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ValidationError("task: 'digits' and 'pdigits' need scikit-learn (pip install scikit-learn) for its "
                              "8x8 digits") from None
    data = load_digits()
    X = data.images.reshape(-1, 64) / 16.0
    Y = data.target.astype(np.int64)
    order = g.permutation(len(Y))  # drawn first: digits and pdigits of one seed share the split
    if permute:
        X = X[:, g.permutation(64)]
    return X[order][:, :, None], Y[order]


def make_task(name, length=None, n_train=1000, n_test=200, seed=0) -> Task:
    """Generate a task from a seed.

    Parameters
    ----------
    name : {"adding", "copy", "flipflop", "digits", "pdigits"}
        The adding problem (two marked numbers among T; predict their sum),
        copy memory (recall 10 symbols after a delay of T), the 3-bit
        flip-flop (T steps), pixel-by-pixel 8 × 8 digits (64 steps), and the
        same with a fixed random permutation of the pixels (as pMNIST).
    length : int, optional
        T (the delay for copy memory, whose sequences have T + 20 steps);
        ignored by the digit tasks. Default from :data:`TASKS`.
    n_train, n_test : int
        Sequences generated (the digit tasks split scikit-learn's 1797 images
        into 1797 − n_test for training and n_test for testing).
    seed : int
        Everything random (values, positions, pulses, the split, the
        permutation) is drawn from it: the same seed gives the same task.

    Returns
    -------
    Task

    Examples
    --------
    >>> import rnndyn as rd
    >>> task = rd.make_task("adding", length=50, n_train=4000, seed=1)
    >>> task.X_train.shape, round(float(task.Y_train.var()), 1), round(task.baseline, 3)
    ((4000, 50, 2), 0.2, 0.167)
    """
    choice(name, "task", set(TASKS))
    output, default_T = TASKS[name]
    T = default_T if length is None else as_int(length, "length", minimum=1)
    n_train = as_int(n_train, "n_train", minimum=1)
    n_test = as_int(n_test, "n_test", minimum=1)
    seed = as_int(seed, "seed", minimum=0)
    g = np.random.default_rng(seed)
    spec = {"name": name, "length": T, "n_train": n_train, "n_test": n_test, "seed": seed}
    if name in ("digits", "pdigits"):
        X, Y = _digits(name == "pdigits", g)
        if n_test >= len(Y):
            raise ValidationError(f"n_test: expected fewer than the {len(Y)} digit images, got {n_test}")
        spec["length"] = 64
        spec["n_train"] = len(Y) - n_test
        return Task(name, X[n_test:], Y[n_test:], X[:n_test], Y[:n_test], output, 10, math.log(10), spec)
    N = n_train + n_test
    if name == "adding":
        X, Y = _adding(T, N, g)
        k, base = 1, 1.0 / 6.0
    elif name == "copy":
        X, Y = _copy(T, N, g)
        k, base = 10, 10 * math.log(8) / (T + 20)
    else:
        X, Y = _flipflop(T, N, g)
        k, base = 3, float(np.mean(Y[:n_train] ** 2))
    return Task(name, X[:n_train], Y[:n_train], X[n_train:], Y[n_train:], output, k, base, spec)


# --------------------------------------------------------------------------- cells and parameters


def make_cell(kind, n, d, eps=0.1, gamma=0.0, init="orthogonal", activation="tanh", gated=False,
              input_scale=1.0, rng=0):
    """A fresh cell for training: recurrent matrix from an init spec, V ~ N(0, input_scale²/d), b = 0.

    Parameters
    ----------
    kind : {"vanilla", "euler", "antisymmetric"}
    n, d : int
        State and input sizes.
    eps, gamma : float
        Step size and diffusion (Euler-type cells).
    init : str
        An init spec (:func:`rnndyn.init.from_spec`): ``"orthogonal"``,
        ``"identity"`` (with ``activation="relu"``: the IRNN of Le et al.
        2015), ``"normal:gain=1"``, ``"antisymmetric:gain=1"`` ...
    activation : {"tanh", "relu", "linear", "sigmoid"}
    gated : bool
        Gated antisymmetric cell.
    input_scale : float
    rng : None, int or numpy.random.Generator

    Returns
    -------
    VanillaRNN, EulerRNN or AntisymmetricRNN

    Examples
    --------
    >>> import rnndyn as rd
    >>> cell = rd.make_cell("antisymmetric", 8, 2, eps=0.1, gamma=0.01, gated=True)
    >>> cell.W.shape, cell.Vz.shape, cell.gated
    ((8, 8), (8, 2), True)
    """
    choice(kind, "cell", set(_CELLS))
    n = as_int(n, "size", minimum=1)
    d = as_int(d, "d", minimum=1)
    scale = as_float(input_scale, "input_scale", nonnegative=True)
    g = as_rng(rng)
    W = from_spec(init, n, g)
    V = g.standard_normal((n, d)) * (scale / math.sqrt(d))
    b = np.zeros(n)
    if gated and kind != "antisymmetric":
        raise ValidationError(f"gated: only the antisymmetric cell has a gate, got cell={kind!r}")
    if kind == "vanilla":
        return VanillaRNN(W, V=V, b=b, activation=activation)
    if kind == "euler":
        return EulerRNN(W, V=V, b=b, eps=eps, gamma=gamma, activation=activation)
    if gated:
        Vz = g.standard_normal((n, d)) * (scale / math.sqrt(d))
        return AntisymmetricRNN(W, V=V, b=b, eps=eps, gamma=gamma, gated=True, Vz=Vz, bz=np.zeros(n),
                                activation=activation)
    return AntisymmetricRNN(W, V=V, b=b, eps=eps, gamma=gamma, activation=activation)


def _cell_kind(cell) -> str:
    if isinstance(cell, AntisymmetricRNN):
        return "antisymmetric"
    if isinstance(cell, EulerRNN):
        return "euler"
    if isinstance(cell, VanillaRNN):
        return "vanilla"
    raise ArgumentTypeError(f"cell: expected a VanillaRNN, EulerRNN or AntisymmetricRNN, got {_describe(cell)}")


def _trainable(cell, train_gamma, train_eps) -> tuple:
    names = ["W", "V", "b"]
    kind = _cell_kind(cell)
    if kind != "vanilla":
        if train_gamma:
            names.append("gamma")
        if train_eps:
            names.append("eps")
    if kind == "antisymmetric" and cell.gated:
        names += ["Vz", "bz"]
    return tuple(names)


def _cell_params(cell, names) -> dict:
    return {k: np.array(getattr(cell, k), dtype=np.float64) for k in names}


def _with_params(cell, params):
    changes = {k: (float(v) if k in ("gamma", "eps") else v) for k, v in params.items() if k not in ("U", "c")}
    return cell.replace(**changes)


def _project(params):
    # γ ≥ 0 and ε > 0 are what the cells accept; a step past the boundary is moved back onto it
    if "gamma" in params:
        params["gamma"] = np.maximum(params["gamma"], 0.0)
    if "eps" in params:
        params["eps"] = np.maximum(params["eps"], 1e-6)


# --------------------------------------------------------------------------- optimisers


class SGD:
    """Stochastic gradient descent with (heavy-ball) momentum.

    v ← μ v + g,  θ ← θ − η v  (the PyTorch convention, dampening 0).

    Parameters
    ----------
    lr : float
        η > 0.
    momentum : float
        μ in [0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> opt = SGD(lr=0.1, momentum=0.9)
    >>> p = {"w": np.array([1.0, 2.0])}
    >>> opt.step(p, {"w": np.array([1.0, 1.0])}); opt.step(p, {"w": np.array([1.0, 1.0])})
    >>> p["w"]  # 1 − 0.1·1 − 0.1·(0.9 + 1)
    array([0.71, 1.71])
    """

    name = "sgd"

    def __init__(self, lr=0.01, momentum=0.9):
        self.lr = as_float(lr, "lr", positive=True)
        self.momentum = as_float(momentum, "momentum", nonnegative=True)
        if self.momentum >= 1:
            raise ValidationError(f"momentum: expected a value in [0, 1), got {self.momentum}")
        self.t = 0
        self.state = {}

    def step(self, params: dict, grads: dict) -> None:
        """Update ``params`` in place from ``grads`` (dicts of arrays with the same keys)."""
        self.t += 1
        for k, gk in grads.items():
            v = self.state.get("v." + k)
            v = np.array(gk, dtype=np.float64) if v is None else self.momentum * v + gk
            self.state["v." + k] = v
            params[k] = params[k] - self.lr * v

    def config(self) -> dict:
        """The hyperparameters (to rebuild the optimiser)."""
        return {"optimizer": self.name, "lr": self.lr, "momentum": self.momentum}


class Adam:
    """Adam (Kingma & Ba 2015).

    m ← β₁ m + (1 − β₁) g,  v ← β₂ v + (1 − β₂) g²,
    θ ← θ − η m̂ / (√v̂ + ε̂) with m̂ = m / (1 − β₁ᵗ), v̂ = v / (1 − β₂ᵗ).

    Parameters
    ----------
    lr : float
        η > 0.
    beta1, beta2 : float
        In [0, 1).
    eps : float
        ε̂ > 0.

    Examples
    --------
    >>> import numpy as np
    >>> opt = Adam(lr=0.1)
    >>> p = {"w": np.array([1.0, -1.0])}
    >>> opt.step(p, {"w": np.array([3.0, -0.5])})
    >>> p["w"].round(6)  # the first step moves every coordinate by about lr against its sign
    array([ 0.9, -0.9])
    """

    name = "adam"

    def __init__(self, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
        self.lr = as_float(lr, "lr", positive=True)
        self.beta1 = as_float(beta1, "beta1", nonnegative=True)
        self.beta2 = as_float(beta2, "beta2", nonnegative=True)
        self.eps = as_float(eps, "eps", positive=True)
        for name, b in (("beta1", self.beta1), ("beta2", self.beta2)):
            if b >= 1:
                raise ValidationError(f"{name}: expected a value in [0, 1), got {b}")
        self.t = 0
        self.state = {}

    def step(self, params: dict, grads: dict) -> None:
        """Update ``params`` in place from ``grads`` (dicts of arrays with the same keys)."""
        self.t += 1
        b1, b2 = self.beta1, self.beta2
        c1, c2 = 1.0 - b1 ** self.t, 1.0 - b2 ** self.t
        for k, gk in grads.items():
            gk = np.asarray(gk, dtype=np.float64)
            m = self.state.get("m." + k, np.zeros_like(gk))
            v = self.state.get("v." + k, np.zeros_like(gk))
            m = b1 * m + (1.0 - b1) * gk
            v = b2 * v + (1.0 - b2) * gk * gk
            self.state["m." + k], self.state["v." + k] = m, v
            params[k] = params[k] - self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)

    def config(self) -> dict:
        """The hyperparameters (to rebuild the optimiser)."""
        return {"optimizer": self.name, "lr": self.lr, "beta1": self.beta1, "beta2": self.beta2, "eps": self.eps}


def _make_optimizer(optimizer, lr):
    if isinstance(optimizer, (SGD, Adam)):
        return optimizer
    choice(optimizer, "optimizer", {"sgd", "adam"})
    return SGD(lr) if optimizer == "sgd" else Adam(lr)


# --------------------------------------------------------------------------- loss and gradients


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def _scores(task, H, U, c, Y):
    """Loss, accuracy and ∂loss/∂y of the readout on states H ((B, n) last or (B, T, n) sequence)."""
    y = H @ U.T + c
    B = H.shape[0]
    if task.output.endswith("mse"):
        r = y - Y
        loss = float(np.mean(r * r))
        dy = 2.0 * r / r.size
        if task.name == "flipflop":
            on = Y != 0
            acc = float(np.mean(np.sign(y[on]) == Y[on])) if on.any() else math.nan
        else:
            acc = math.nan
        return loss, acc, dy
    lp = _log_softmax(y)
    idx = Y[..., None]
    loss = -float(np.mean(np.take_along_axis(lp, idx, axis=-1)))
    p = np.exp(lp)
    np.put_along_axis(p, idx, np.take_along_axis(p, idx, axis=-1) - 1.0, axis=-1)
    dy = p / (B if task.output == "last_ce" else B * Y.shape[1])
    acc = float(np.mean(np.argmax(y, axis=-1) == Y))
    return loss, acc, dy


def _gradients(cell, U, c, task, X, Y, backend):
    B, T = X.shape[0], X.shape[1]
    n = cell.n
    h0 = np.zeros((B, n))
    if task.output == "last_ce":
        g = bptt(cell, h0, X, readout=(U, c), targets=Y, backend=backend)
        loss, acc, _ = _scores(task, g.final, U, c, Y)
        scale = 1.0 / B
        grads = {k: v * scale for k, v in (("W", g.dW), ("V", g.dV), ("b", g.db), ("U", g.dU), ("c", g.dc))}
    else:
        traj = simulate(cell, h0, X, record="all" if task.output.startswith("seq") else "last", backend=backend)
        if task.output.startswith("seq"):
            Hs = traj.states[:, 1:]
            loss, acc, dy = _scores(task, Hs, U, c, Y)
            up = np.zeros((B, T + 1, n))
            up[:, 1:] = dy @ U
            dU = np.einsum("btk,btn->kn", dy, Hs)
            dc = dy.sum(axis=(0, 1))
        else:
            loss, acc, dy = _scores(task, traj.final, U, c, Y)
            up = np.zeros((B, T + 1, n))
            up[:, T] = dy @ U
            dU = dy.T @ traj.final
            dc = dy.sum(axis=0)
        g = bptt(cell, h0, X, dL_dh=up, backend=backend)
        grads = {"W": g.dW, "V": g.dV, "b": g.db, "U": dU, "c": dc}
        scale = 1.0
    if g.dgamma is not None:
        grads["gamma"] = np.array(g.dgamma * scale)
        grads["eps"] = np.array(g.deps * scale)
    if g.dVz is not None:
        grads["Vz"] = g.dVz * scale
        grads["bz"] = g.dbz * scale
    if not np.isfinite(loss):
        warnings.warn("the training loss is not finite: the network diverged (try a smaller lr, clip, or eps)",
                      RuntimeWarning, stacklevel=3)
    dn = g.global_delta_norms
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = float(np.log10(dn[0] / dn[-1])) if dn[-1] > 0 else math.nan
    return loss, acc, grads, g, ratio


def _clip(g, grads, clip, clip_mode):
    # the clip functions of rnndyn.analysis.gradients act on a Gradients: carry the dict through its fields
    mapping = {"W": "dW", "V": "dV", "b": "db", "Vz": "dVz", "bz": "dbz", "U": "dU", "c": "dc", "gamma": "dgamma",
               "eps": "deps"}
    present = [k for k in grads if k in mapping]
    fields = {mapping[k]: (float(grads[k]) if k in ("gamma", "eps") else grads[k]) for k in present}
    blank = {f: None for f in ("dVz", "dbz", "dU", "dc", "dgamma", "deps")}
    full = dataclasses.replace(g, **{**blank, **fields})
    fn = clip_by_global_norm if clip_mode == "global" else clip_by_norm
    out = fn(full, clip, fields=tuple(fields))
    return {k: np.asarray(getattr(out, mapping[k]), dtype=np.float64) for k in present}


def _global_norm(grads) -> float:
    return math.sqrt(sum(float(np.sum(np.square(v))) for v in grads.values()))


def _radius(cell) -> float:
    M = cell.recurrent_matrix
    if _cell_kind(cell) == "vanilla":
        return spectral_radius(M)
    return euler_factor(np.linalg.eigvals(M), cell.eps)


def _max_lyapunov(cell, X) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        les = lyapunov_spectrum(cell, np.zeros((X.shape[0], cell.n)), X, k=1)
    e = np.asarray(les.exponents)[:, 0]
    return float(np.mean(e)) if np.all(np.isfinite(e)) else math.nan


def _evaluate(cell, U, c, task, X, Y, backend):
    h0 = np.zeros((X.shape[0], cell.n))
    seq = task.output.startswith("seq")
    traj = simulate(cell, h0, X, record="all" if seq else "last", backend=backend)
    H = traj.states[:, 1:] if seq else traj.final
    loss, acc, _ = _scores(task, H, U, c, Y)
    return loss, acc


# --------------------------------------------------------------------------- the run


@dataclass(frozen=True, eq=False)
class TrainResult:
    """Result of :func:`train`: the trained network, its per-epoch history, and what resumes the run.

    Attributes
    ----------
    cell : VanillaRNN, EulerRNN or AntisymmetricRNN
        The trained cell; every analysis of rnndyn takes it.
    readout : (U, c)
        U of shape (k, n), c of shape (k,): y = U h + c.
    history : dict of str -> ndarray, (epochs,)
        Per epoch: ``loss`` and ``accuracy`` (training, mean over the epoch's
        batches), ``test_loss``, ``test_accuracy``, ``grad_norm`` (mean global
        norm of the unclipped gradients), ``grad_ratio`` (mean log10
        ‖∂L/∂h_0‖/‖∂L/∂h_T‖ over the batch), ``radius`` (spectral radius of W
        for vanilla cells, the Euler factor max|1 + ελ(M)| otherwise),
        ``max_lyapunov`` (largest exponent of the cell driven by test inputs,
        every ``lyapunov_every`` epochs, NaN between), ``time`` (seconds).
        Accuracy is NaN for the adding problem; for the flip-flop it is the
        fraction of held outputs with the right sign.
    config : dict
        Cell, task, optimiser and training settings (JSON-serialisable).
    optimizer_state : dict of str -> ndarray
        Momentum / moment estimates, with ``"t"`` the number of steps taken.
    epochs : int
        Epochs run so far (over every resumption).
    stopped_early : bool
        True when ``early_stop`` was met.
    """

    cell: object
    readout: tuple
    history: dict
    config: dict
    optimizer_state: dict
    epochs: int
    stopped_early: bool

    @property
    def final(self) -> dict:
        """The last epoch's history entries."""
        return {k: float(v[-1]) for k, v in self.history.items() if len(v)}


def _check_early_stop(early_stop):
    if early_stop is None:
        return None
    if not (isinstance(early_stop, (tuple, list)) and len(early_stop) == 2):
        raise ValidationError(f"early_stop: expected (metric, value) such as ('test_accuracy', 0.95), "
                              f"got {_describe(early_stop)}")
    choice(early_stop[0], "early_stop", {"loss", "accuracy", "test_loss", "test_accuracy"})
    return str(early_stop[0]), as_float(early_stop[1], "early_stop value")


def _met(early_stop, row) -> bool:
    if early_stop is None:
        return False
    name, value = early_stop
    x = row[name]
    return bool(x >= value) if name.endswith("accuracy") else bool(x <= value)


def train(cell, task, epochs=10, batch=32, lr=1e-3, optimizer="adam", clip=None, clip_mode="global", seed=0,
          early_stop=None, readout=None, train_gamma=True, train_eps=False, lyapunov_every=1, checkpoint=None,
          resume=None, progress=None, backend="auto") -> TrainResult:
    """Train a cell and a linear readout on a task with rnndyn's BPTT.

    Parameters
    ----------
    cell : VanillaRNN, EulerRNN or AntisymmetricRNN
        The initial network; its input size must be the task's. (Ignored
        when ``resume`` is given: the checkpoint's network continues.)
    task : Task
        From :func:`make_task`.
    epochs : int
        Total epochs (a resumed run continues up to this count).
    batch : int
        Minibatch size; each epoch visits the training set once in a
        seeded random order.
    lr : float
        Learning rate (when ``optimizer`` is a name).
    optimizer : {"adam", "sgd"} or Adam or SGD
        A name (SGD with momentum 0.9), or a configured optimiser.
    clip : float, optional
        Clip the gradients to this norm before each step.
    clip_mode : {"global", "each"}
        :func:`rnndyn.clip_by_global_norm` (all together) or
        :func:`rnndyn.clip_by_norm` (each array separately).
    seed : int
        Seeds the readout initialisation and the batch order (epoch e shuffles
        with ``default_rng([seed, e])``, so a resumed run draws what the
        uninterrupted run draws).
    early_stop : (metric, value), optional
        Stop after the epoch at which ``metric`` (``"loss"``,
        ``"test_loss"``: at most ``value``; ``"accuracy"``,
        ``"test_accuracy"``: at least) is reached.
    readout : (U, c), optional
        Initial readout; default U ~ N(0, 1/n), c = 0.
    train_gamma : bool
        Train γ of Euler-type cells (kept ≥ 0 by projection).
    train_eps : bool
        Train ε too (kept > 0). Off by default: Chang et al. 2019 treat ε as
        a hyperparameter, the step size of the discretisation.
    lyapunov_every : int
        Compute the largest Lyapunov exponent every this many epochs (0:
        never). It costs about as much as a forward pass over 8 test sequences.
    checkpoint : str or os.PathLike, optional
        Save the run (.json or .npz, :func:`save_run`) after every epoch.
    resume : str, os.PathLike or TrainResult, optional
        Continue a saved run: its network, optimiser state, history and
        settings; the result equals the uninterrupted run's bit for bit.
    progress : callable, optional
        Called as ``progress(epoch, row)`` after each epoch with that epoch's
        history row (a dict).
    backend : {"auto", "cpu", "reference"}

    Returns
    -------
    TrainResult

    Notes
    -----
    The gradients of the cell are those of :func:`rnndyn.bptt`: ∂L/∂W (of the
    cell's own W, so W − Wᵀ for the antisymmetric cell), ∂L/∂V, ∂L/∂b, ∂L/∂γ,
    ∂L/∂ε and the gate's ∂L/∂V_z, ∂L/∂b_z. Losses are means over the batch
    (and over time and outputs for sequence outputs). Same seed, same task
    and same backend give the same weights bit for bit (numba's thread count
    fixed: see the Notes of :func:`rnndyn.bptt`).

    Examples
    --------
    >>> import rnndyn as rd
    >>> task = rd.make_task("adding", length=10, n_train=256, n_test=64, seed=0)
    >>> cell = rd.make_cell("antisymmetric", 16, task.d, eps=0.2, gamma=0.01, rng=0)
    >>> run = rd.train(cell, task, epochs=8, batch=32, lr=0.01, seed=0, lyapunov_every=0)
    >>> bool(run.history["test_loss"][-1] < task.baseline)
    True
    """
    epochs = as_int(epochs, "epochs", minimum=0)
    if not isinstance(task, Task):
        raise ArgumentTypeError(f"task: expected a Task (from rd.make_task), got {_describe(task)}")
    if resume is not None:
        prev = resume if isinstance(resume, TrainResult) else load_run(resume)
        cfg = prev.config
        cell = prev.cell
        U, c = (np.array(a, dtype=np.float64) for a in prev.readout)
        if cfg["task"] != task.spec:
            raise ValidationError(f"resume: the saved run trained on {cfg['task']}, not on {task.spec}")
        batch, seed, clip, clip_mode = cfg["batch"], cfg["seed"], cfg["clip"], cfg["clip_mode"]
        train_gamma, train_eps, lyapunov_every = cfg["train_gamma"], cfg["train_eps"], cfg["lyapunov_every"]
        oc = dict(cfg["optimizer"])
        name = oc.pop("optimizer")
        opt = SGD(**oc) if name == "sgd" else Adam(**oc)
        st = dict(prev.optimizer_state)
        opt.t = int(st.pop("t"))
        opt.state = {k: np.array(v, dtype=np.float64) for k, v in st.items()}
        history = {k: list(np.asarray(v, dtype=np.float64)) for k, v in prev.history.items()}
        start = prev.epochs
        early = _check_early_stop(cfg["early_stop"]) if early_stop is None else _check_early_stop(early_stop)
        if prev.stopped_early:
            return prev
    else:
        _cell_kind(cell)
        if cell.d != task.d:
            raise ValidationError(f"cell: its input size is {cell.d}, the task {task.name!r} has inputs of size "
                                  f"{task.d}")
        batch = as_int(batch, "batch", minimum=1)
        seed = as_int(seed, "seed", minimum=0)
        if clip is not None:
            clip = as_float(clip, "clip", positive=True)
        choice(clip_mode, "clip_mode", {"global", "each"})
        lyapunov_every = as_int(lyapunov_every, "lyapunov_every", minimum=0)
        early = _check_early_stop(early_stop)
        opt = _make_optimizer(optimizer, lr)
        n = cell.n
        if readout is None:
            g0 = np.random.default_rng([seed, 2**31])
            U, c = g0.standard_normal((task.n_out, n)) / math.sqrt(n), np.zeros(task.n_out)
        else:
            U = as_real_array(readout[0], "readout U", ndim=2)
            c = as_real_array(readout[1], "readout c", ndim=1)
            if U.shape != (task.n_out, n) or c.shape != (task.n_out,):
                raise ValidationError(f"readout: expected U of shape ({task.n_out}, {n}) and c of shape "
                                      f"({task.n_out},), got {U.shape} and {c.shape}")
        history = {k: [] for k in _HISTORY}
        start = 0
        cfg = {"cell": _cell_kind(cell), "activation": cell.activation, "size": cell.n, "d": cell.d,
               "gated": bool(getattr(cell, "gated", False)), "task": dict(task.spec), "output": task.output,
               "baseline": task.baseline, "batch": batch, "seed": seed, "clip": clip, "clip_mode": clip_mode,
               "train_gamma": bool(train_gamma), "train_eps": bool(train_eps), "lyapunov_every": lyapunov_every,
               "optimizer": opt.config(), "early_stop": list(early) if early else None}
    names = _trainable(cell, train_gamma, train_eps)
    params = _cell_params(cell, names)
    params["U"], params["c"] = U, c
    N = task.X_train.shape[0]
    stopped = False
    probe = task.X_test[:8]
    for epoch in range(start, epochs):
        t0 = time.perf_counter()
        order = np.random.default_rng([seed, epoch]).permutation(N)
        losses, accs, norms, ratios, sizes = [], [], [], [], []
        for s in range(0, N, batch):
            idx = order[s:s + batch]
            loss, acc, grads, g, ratio = _gradients(cell, params["U"], params["c"], task, task.X_train[idx],
                                                    task.Y_train[idx], backend)
            grads = {k: grads[k] for k in params}
            norms.append(_global_norm(grads))
            if clip is not None:
                grads = _clip(g, grads, clip, clip_mode)
            opt.step(params, grads)
            _project(params)
            cell = _with_params(cell, params)
            losses.append(loss)
            accs.append(acc)
            ratios.append(ratio)
            sizes.append(len(idx))
        w = np.asarray(sizes, dtype=np.float64) / N
        test_loss, test_acc = _evaluate(cell, params["U"], params["c"], task, task.X_test, task.Y_test, backend)
        lyap = (_max_lyapunov(cell, probe) if lyapunov_every and (epoch + 1) % lyapunov_every == 0 else math.nan)
        row = {"loss": float(np.dot(w, losses)), "accuracy": float(np.dot(w, accs)), "test_loss": test_loss,
               "test_accuracy": test_acc, "grad_norm": float(np.mean(norms)),
               "grad_ratio": float(np.nanmean(ratios)) if np.isfinite(ratios).any() else math.nan,
               "radius": _radius(cell), "max_lyapunov": lyap, "time": time.perf_counter() - t0}
        for k in _HISTORY:
            history[k].append(row[k])
        stopped = _met(early, row)
        result = _result(cell, params, history, cfg, opt, epoch + 1, stopped)
        if checkpoint is not None:
            save_run(result, checkpoint)
        if progress is not None:
            progress(epoch + 1, row)
        if stopped:
            return result
    return _result(cell, params, history, cfg, opt, max(start, epochs), stopped)


def _result(cell, params, history, cfg, opt, epochs, stopped) -> TrainResult:
    state = {k: np.array(v) for k, v in opt.state.items()}
    state["t"] = opt.t
    hist = {k: np.asarray(v, dtype=np.float64) for k, v in history.items()}
    return TrainResult(cell, (params["U"].copy(), params["c"].copy()), hist, cfg, state, int(epochs), bool(stopped))


# --------------------------------------------------------------------------- saving and loading


_CELL_FIELDS = ("W", "V", "b", "Vz", "bz")


def save_run(result: TrainResult, path):
    """Write a :class:`TrainResult` to .json or .npz (no pickle), atomically.

    Parameters
    ----------
    result : TrainResult
    path : str or os.PathLike
        Ending in .json or .npz; float64 values round-trip bit for bit.

    Returns
    -------
    pathlib.Path
    """
    if not isinstance(result, TrainResult):
        raise ArgumentTypeError(f"result: expected a TrainResult (from rd.train), got {_describe(result)}")
    cell = result.cell
    net = {k: getattr(cell, k) for k in _CELL_FIELDS if getattr(cell, k, None) is not None}
    if _cell_kind(cell) != "vanilla":
        net["eps"], net["gamma"] = float(cell.eps), float(cell.gamma)
    net["U"], net["c"] = result.readout
    doc = {"network": net, "history": result.history, "optimizer_state": result.optimizer_state,
           "epochs": result.epochs, "stopped_early": result.stopped_early}
    return save_result(doc, path, params={"train": result.config, "kind": "rnndyn-train-run"})


def load_run(path) -> TrainResult:
    """Read a run written by :func:`save_run` (or by ``train(checkpoint=...)``).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    TrainResult
        With the trained cell rebuilt: every analysis takes ``load_run(p).cell``.

    Examples
    --------
    >>> import rnndyn as rd, tempfile, os
    >>> task = rd.make_task("adding", length=5, n_train=32, n_test=8)
    >>> run = rd.train(rd.make_cell("vanilla", 4, 2), task, epochs=1, lyapunov_every=0)
    >>> p = rd.save_run(run, os.path.join(tempfile.mkdtemp(), "run.json"))
    >>> bool((rd.load_run(p).cell.W == run.cell.W).all())
    True
    """
    r = load_result(path)
    params = r.metadata.get("params") or {}
    if params.get("kind") != "rnndyn-train-run":
        raise LoadError(f"path: {str(path)!r} is an rnndyn result but not a training run (save_run writes those)")
    cfg = params["train"]
    net = {k[len("network."):]: v for k, v in r.items() if k.startswith("network.")}
    kind = cfg["cell"]
    W, V, b = (np.asarray(net[k], dtype=np.float64) for k in ("W", "V", "b"))
    if kind == "vanilla":
        cell = VanillaRNN(W, V=V, b=b, activation=cfg["activation"])
    elif kind == "euler":
        cell = EulerRNN(W, V=V, b=b, eps=net["eps"], gamma=net["gamma"], activation=cfg["activation"])
    else:
        extra = {"gated": True, "Vz": net["Vz"], "bz": net["bz"]} if cfg["gated"] else {}
        cell = AntisymmetricRNN(W, V=V, b=b, eps=net["eps"], gamma=net["gamma"], activation=cfg["activation"],
                                **extra)
    history = {k[len("history."):]: np.atleast_1d(np.asarray(v, dtype=np.float64))
               for k, v in r.items() if k.startswith("history.")}
    state = {k[len("optimizer_state."):]: v for k, v in r.items() if k.startswith("optimizer_state.")}
    readout = (np.atleast_2d(np.asarray(net["U"], dtype=np.float64)), np.atleast_1d(np.asarray(net["c"], float)))
    return TrainResult(cell, readout, history, cfg, state, int(r["epochs"]), bool(r["stopped_early"]))


def task_of(result: TrainResult) -> Task:
    """Regenerate the task a run trained on (from the seed stored in its config)."""
    return make_task(**result.config["task"])
