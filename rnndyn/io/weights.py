"""Reading trained weights: PyTorch state dicts (.pt/.pth, or the same keys in an .npz), Keras
``SimpleRNN`` and Flax ``SimpleCell`` weights saved to .npz, torch modules; and the recurrent
matrix any of them (or a named matrix, a file, an array) describes.

PyTorch files are read with ``torch.load(..., weights_only=True)`` and NumPy
files with ``allow_pickle=False``: a weight file is data, never code. What comes
back: validated float64 arrays and cells (:func:`load_cell`), per-gate blocks of
a GRU (:class:`GatedRecurrentWeights`), or one clear :class:`~rnndyn.errors.LoadError`.
"""

from __future__ import annotations

import dataclasses
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from rnndyn._validate import _describe, as_int, as_real_array, choice, did_you_mean
from rnndyn.errors import ArgumentTypeError, AssumptionWarning, LoadError, UnknownNameError, ValidationError
from rnndyn.io.arrays import (
    MATRIX_SUFFIXES,
    TORCH_SUFFIXES,
    _npz_keys,
    _one_line,
    _open_npz,
    _read_npz_member,
    _split_key,
    check_regular_file,
    load_array,
)
from rnndyn.io.results import MAX_NESTING
from rnndyn.matrices import NAMED_MATRICES, named_matrix

__all__ = [
    "GATES",
    "GatedRecurrentWeights",
    "LOAD_KINDS",
    "WEIGHT_SUFFIXES",
    "WeightsInfo",
    "inspect_weights",
    "load_cell",
    "load_matrix",
    "load_recurrent_matrix",
]

#: Suffixes of files holding trained weights.
WEIGHT_SUFFIXES = TORCH_SUFFIXES + (".npz",)

#: Gate order of the stacked weights of PyTorch's recurrent layers.
GATES = {"vanilla": ("h",), "lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


def _torch_load(p: Path, where: str):
    try:
        import torch
    except ImportError:
        raise LoadError(
            f"{where}: reading {p.name!r} needs PyTorch, which is not installed: pip install torch "
            "(or save the state dict as .npz: np.savez('w.npz', **{k: v.numpy() for k, v in sd.items()}))"
        ) from None
    import pickle

    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:  # (torch's own text suggests turning the safety off: not repeated)
        raise LoadError(
            f"{where}: {p.name!r} holds more than tensors (a pickled model or custom objects), which "
            "torch.load(weights_only=True) refuses to execute; save model.state_dict() instead"
        ) from None
    except Exception as exc:
        raise LoadError(f"{where}: could not read {p.name!r} as a PyTorch file: truncated or corrupted "
                        f"({type(exc).__name__}: {_one_line(exc)[:120]})") from None


def _flatten_weights(obj, key: str, arrays: dict, strings: dict, _seen=(), where: str = "source") -> None:
    """Nested dicts/lists of tensors or arrays -> flat {dotted key: array}; strings aside."""
    if isinstance(obj, (Mapping, list, tuple)):
        # a checkpoint is a few levels deep; a cycle or a runaway nesting is refused before Python's recursion
        # limit is
        if any(obj is s for s in _seen):
            raise LoadError(f"{where}: the weights contain themselves (at {key!r}): a cyclic structure")
        if len(_seen) >= MAX_NESTING:
            raise LoadError(f"{where}: the weights are nested deeper than {MAX_NESTING} levels (at {key[:60]!r}...)")
        _seen = (*_seen, obj)
    if isinstance(obj, Mapping):
        items = obj.items()
    elif isinstance(obj, (list, tuple)):
        items = enumerate(obj)
    else:
        if isinstance(obj, str):
            strings[key] = obj
        elif isinstance(obj, np.ndarray) or (type(obj).__module__ or "").startswith("torch"):
            arrays[key] = obj
        # numbers (an epoch, a loss) and None are not weights: ignored
        return
    for k, v in items:
        _flatten_weights(v, f"{key}.{k}" if key else str(k), arrays, strings, _seen, where)


def _read_weights(source, where: str = "source"):
    """(arrays, strings, module_info) from a path (.pt/.pth/.npz), a mapping or a torch module."""
    arrays: dict = {}
    strings: dict = {}
    module_info: dict = {}
    if hasattr(source, "state_dict") and callable(source.state_dict):  # a torch.nn.Module
        acts = {getattr(m, "nonlinearity", None) for m in (source.modules() if hasattr(source, "modules") else ())
                if type(m).__name__ == "RNN"}
        if len(acts) == 1:  # the module knows its nonlinearity; a state dict does not
            module_info["nonlinearity"] = acts.pop()
        _flatten_weights(source.state_dict(), "", arrays, strings, where=where)
    elif isinstance(source, Mapping):
        _flatten_weights(source, "", arrays, strings, where=where)
    elif isinstance(source, (str, os.PathLike)):
        p = Path(os.fspath(source))
        suffix = p.suffix.lower()
        if suffix not in WEIGHT_SUFFIXES:
            raise LoadError(f"{where}: expected a .pt/.pth (PyTorch state dict) or .npz file, got {str(p)!r}")
        check_regular_file(p, where)
        if suffix == ".npz":
            with _open_npz(p, where) as zf:
                for key in _npz_keys(zf):
                    try:
                        a = _read_npz_member(zf, p, key, where)
                    except ValidationError:  # LoadError, MemoryLimitError: already clear
                        raise
                    except Exception as exc:
                        raise LoadError(f"{where}: could not read entry {key!r} of {p.name!r} "
                                        f"({type(exc).__name__}: {_one_line(exc)})") from None
                    if a.dtype.kind == "U" and a.ndim == 0:
                        strings[key] = str(a)
                    else:
                        arrays[key] = a
        else:
            _flatten_weights(_torch_load(p, where), "", arrays, strings, where=where)  # torch.save(tensor) gives key ""
    else:
        raise ArgumentTypeError(f"{where}: expected a path, a state dict or a torch module, got {_describe(source)}")
    if not arrays:
        raise LoadError(f"{where}: {_name(source)} holds no arrays")
    return arrays, strings, module_info


def _name(source) -> str:
    if isinstance(source, (str, os.PathLike)):
        return repr(Path(os.fspath(source)).name)
    return f"the given {type(source).__name__}"


def _as_weight(a, key: str, where: str) -> np.ndarray:
    try:
        return as_real_array(a, f"{where} {key}")
    except Exception as exc:
        raise LoadError(str(exc)) from None


@dataclasses.dataclass(frozen=True)
class _RawRNN:
    """Recurrent weights in PyTorch's layout: W_hh (g*n, n), W_ih (g*n, d) or None, biases (g*n,)."""

    convention: str  # "pytorch" | "keras" | "flax"
    prefix: str
    W_hh: np.ndarray
    W_ih: np.ndarray | None
    b_ih: np.ndarray | None
    b_hh: np.ndarray | None


def _pick(prefixes, prefix, where, what, source):
    if prefix is not None:
        if prefix not in prefixes:
            raise LoadError(f"{where}: no {what} under prefix {prefix!r} in {_name(source)}; "
                            f"found prefixes {sorted(prefixes)}")
        return prefix
    if len(prefixes) > 1:
        raise LoadError(f"{where}: {_name(source)} holds {len(prefixes)} recurrent layers with prefixes "
                        f"{sorted(prefixes)}; pick one with prefix=...")
    return next(iter(prefixes))


def _find_rnn(arrays: dict, source, layer: int, prefix, where: str, missing_ok=False) -> _RawRNN | None:
    get = lambda k: _as_weight(arrays[k], k, where) if k in arrays else None  # noqa: E731
    # PyTorch nn.RNN/LSTM/GRU: [prefix]weight_hh_l{layer}, weight_ih_l{layer}, bias_ih_l{layer}, bias_hh_l{layer}
    pat = re.compile(rf"^(.*)weight_hh_l{layer}$")
    found = {m.group(1) for k in arrays if (m := pat.match(k))}
    if found:
        pre = _pick(found, prefix, where, f"weight_hh_l{layer}", source)
        if f"{pre}weight_hr_l{layer}" in arrays:
            raise LoadError(f"{where}: {_name(source)} is an LSTM with proj_size (weight_hr_l{layer}); "
                            "its recurrent blocks are not square and rnndyn does not support it")
        return _RawRNN("pytorch", pre, get(f"{pre}weight_hh_l{layer}"), get(f"{pre}weight_ih_l{layer}"),
                       get(f"{pre}bias_ih_l{layer}"), get(f"{pre}bias_hh_l{layer}"))
    if layer:
        layers = sorted({int(m.group(1)) for k in arrays if (m := re.search(r"weight_hh_l(\d+)$", k))})
        raise LoadError(f"{where}: {_name(source)} has no layer {layer} (weight_hh_l{layer}); layers found: {layers}")
    # Keras SimpleRNN/LSTM: h_t = φ(x K + h U + b), K (d, g*n), U (n, g*n) -> transposed into our layout
    pat = re.compile(r"^(.*?)recurrent_kernel(:0)?$")
    found = {m.group(1) for k in arrays if (m := pat.match(k))}
    if found:
        pre = _pick(found, prefix, where, "recurrent_kernel", source)
        suf = ":0" if f"{pre}recurrent_kernel:0" in arrays else ""
        U = get(f"{pre}recurrent_kernel{suf}")
        K = get(f"{pre}kernel{suf}")
        b = get(f"{pre}bias{suf}")
        if U.ndim != 2 or (K is not None and K.ndim != 2):
            raise LoadError(f"{where}: Keras recurrent_kernel and kernel must be 2-D, got shapes "
                            f"{U.shape} and {None if K is None else K.shape}")
        if b is not None and b.ndim != 1:
            raise LoadError(f"{where}: Keras bias of shape {b.shape} is not supported (GRU with reset_after?); "
                            "expected a 1-D bias")
        return _RawRNN("keras", pre, U.T.copy(), None if K is None else K.T.copy(), b, None)
    # Flax linen SimpleCell: h_t = φ(Dense_i(x) + Dense_h(h)), kernels (in, out)
    pat = re.compile(r"^(.*?)h[./]kernel$")
    found = {m.group(1) for k in arrays if (m := pat.match(k))}
    if found:
        pre = _pick(found, prefix, where, "h/kernel", source)
        sep = "/" if f"{pre}h/kernel" in arrays else "."
        Wh = get(f"{pre}h{sep}kernel")
        Wi = get(f"{pre}i{sep}kernel")
        if Wh.ndim != 2 or (Wi is not None and Wi.ndim != 2):
            raise LoadError(f"{where}: Flax h/kernel and i/kernel must be 2-D")
        return _RawRNN("flax", pre, Wh.T.copy(), None if Wi is None else Wi.T.copy(),
                       get(f"{pre}i{sep}bias"), get(f"{pre}h{sep}bias"))
    if missing_ok:
        return None
    shown = sorted(arrays)[:8]
    raise LoadError(
        f"{where}: found no recurrent weights in {_name(source)}: expected PyTorch keys weight_hh_l0 "
        f"[weight_ih_l0, bias_ih_l0, bias_hh_l0], Keras recurrent_kernel [kernel, bias] or Flax "
        f"h/kernel [i/kernel, h/bias]; it holds {shown}{' ...' if len(arrays) > 8 else ''}"
    )


def _gate_count(raw: _RawRNN, kind: str, where: str, source) -> tuple[str, int]:
    """Infer or check the kind from the stacking of W_hh: (g*n, n) with g = 1, 4 or 3."""
    W = raw.W_hh
    name = "weight_hh" if raw.convention == "pytorch" else "the recurrent matrix"
    if W.ndim != 2 or W.shape[1] == 0 or W.shape[0] % W.shape[1]:
        raise LoadError(f"{where}: {name} must have shape (g*n, n) with g = 1 (RNN), 4 (LSTM) or 3 (GRU), "
                        f"got {W.shape}")
    g = W.shape[0] // W.shape[1]
    inferred = {1: "vanilla", 4: "lstm", 3: "gru"}.get(g)
    if inferred is None:
        raise LoadError(f"{where}: {name} of shape {W.shape} stacks {g} blocks; expected 1 (RNN), 4 (LSTM) or 3 (GRU)")
    if kind == "auto":
        return inferred, g
    want = "lstm" if kind == "lstm" else "gru" if kind == "gru" else "vanilla"
    if want != inferred:
        n = W.shape[1]
        shape = {"vanilla": f"({n}, {n})", "lstm": f"({4 * n}, {n})", "gru": f"({3 * n}, {n})"}[want]
        what = inferred.upper() if inferred != "vanilla" else "plain RNN"
        raise LoadError(f"{where}: kind={kind!r} expects {name} of shape {shape}, got {W.shape}, "
                        f"which is {'an' if inferred == 'lstm' else 'a'} {what}; "
                        f"pass kind={inferred!r} (or kind='auto')")
    return inferred, g


def _check_stack(a, name, rows, where, matrix=False):
    """``a`` is None, a (rows,) vector, or (rows, d) when ``matrix``."""
    if a is None:
        return None
    if a.ndim != (2 if matrix else 1) or a.shape[0] != rows:
        want = f"({rows}, d)" if matrix else f"({rows},)"
        raise LoadError(f"{where}: {name} must have shape {want} to match the recurrent weights, got {a.shape}")
    return a


@dataclasses.dataclass(frozen=True, eq=False)
class GatedRecurrentWeights:
    """The weights of a PyTorch ``nn.GRU`` layer, split per gate (what :func:`load_cell` returns for a GRU).

    Attributes
    ----------
    kind : {"lstm", "gru"}
    gates : tuple of str
        Gate names in PyTorch's stacking order: ("i", "f", "g", "o") for an
        LSTM, ("r", "z", "n") for a GRU.
    W_hh : ndarray, (k, n, n)
        Recurrent weight block of each gate.
    W_ih : ndarray, (k, n, d)
        Input weight block of each gate (d = 0 when absent).
    b_ih, b_hh : ndarray, (k, n)
        The two biases, kept apart (a GRU's candidate gate uses b_hn inside the
        reset product, so they cannot be summed).
    """

    kind: str
    gates: tuple
    W_hh: np.ndarray
    W_ih: np.ndarray
    b_ih: np.ndarray
    b_hh: np.ndarray

    @property
    def n(self) -> int:
        """Hidden size."""
        return self.W_hh.shape[1]

    @property
    def d(self) -> int:
        """Input size."""
        return self.W_ih.shape[2]

    @property
    def blocks(self) -> dict:
        """{gate name: its (n, n) recurrent block}."""
        return {g: self.W_hh[i] for i, g in enumerate(self.gates)}

    def __repr__(self) -> str:
        return f"GatedRecurrentWeights(kind={self.kind!r}, n={self.n}, d={self.d}, gates={self.gates})"


def _frozen(a):
    a = np.array(a, dtype=np.float64, copy=True)
    a.flags.writeable = False
    return a


LOAD_KINDS = ("auto", "vanilla", "euler", "antisymmetric", "lstm", "gru")

#: How each layout's own constructor is told the nonlinearity (for the words of :class:`AssumptionWarning`).
_NONLINEARITY_HINT = {
    "pytorch": "nn.RNN(nonlinearity='relu')",
    "keras": "SimpleRNN(activation='relu')",
    "flax": "SimpleCell(activation_fn=nn.relu)",
}


def _layers(arrays: dict, raw: _RawRNN) -> tuple:
    """Layer indices of the recurrent weights under ``raw``'s prefix (PyTorch numbers them; others have one)."""
    if raw.convention != "pytorch":
        return (0,)
    pat = re.compile(rf"^{re.escape(raw.prefix)}weight_hh_l(\d+)$")
    return tuple(sorted(int(m.group(1)) for k in arrays if (m := pat.match(k))))


def _recorded_nonlinearity(raw: _RawRNN, strings: dict, module_info: dict):
    """The nonlinearity the source itself states (a module's ``nonlinearity``, a string entry), else None."""
    for value in (module_info.get("nonlinearity"), strings.get(f"{raw.prefix}nonlinearity"),
                  strings.get("nonlinearity"), strings.get(f"{raw.prefix}activation"), strings.get("activation")):
        if value:
            return value
    return None


@dataclasses.dataclass(frozen=True)
class WeightsInfo:
    """What a weights source says about the model it holds (:func:`inspect_weights`).

    Attributes
    ----------
    name : str
        The file's name, or "the given dict" for an in-memory source.
    convention : {"pytorch", "keras", "flax"}
        The layout the keys follow.
    kind : {"vanilla", "lstm", "gru"}
        The cell the stacking of the recurrent weights identifies: (n, n) is a
        plain RNN (``nn.RNN``, Keras ``SimpleRNN``, Flax ``SimpleCell``),
        (4n, n) an LSTM, (3n, n) a GRU.
    layers : tuple of int
        The layers present (``weight_hh_l0``, ``weight_hh_l1``, ...); ``(0,)``
        for the one-layer Keras and Flax layouts.
    nonlinearity : str or None
        The nonlinearity the source records (a module's ``nonlinearity``, a
        string entry ``"nonlinearity"`` or ``"activation"``), None when it does
        not say: a state dict never does.
    n, d : int
        Hidden and input size (d = 0 without input weights).
    prefix : str
        The key prefix of the recurrent layer (``"rnn."`` in a whole model's
        state dict).
    """

    name: str
    convention: str
    kind: str
    layers: tuple
    nonlinearity: str | None
    n: int
    d: int
    prefix: str = ""

    @property
    def nonlinearity_hint(self) -> str:
        """How the layout's own constructor states a ReLU, e.g. ``nn.RNN(nonlinearity='relu')``."""
        return _NONLINEARITY_HINT[self.convention]


def inspect_weights(source, *, prefix: str | None = None) -> WeightsInfo:
    """Which cell, how many layers and which nonlinearity a weights source identifies, without building a cell.

    Parameters
    ----------
    source : str, os.PathLike, mapping or torch.nn.Module
        As in :func:`load_cell`.
    prefix : str, optional
        Key prefix selecting one of several recurrent layers in one file.

    Returns
    -------
    WeightsInfo

    Raises
    ------
    LoadError
        As :func:`load_cell`: unreadable file, no recurrent weights, a stacking
        that is neither 1, 4 nor 3 blocks.

    Examples
    --------
    >>> import numpy as np
    >>> from rnndyn.io.weights import inspect_weights
    >>> sd = {"weight_hh_l0": np.eye(3), "weight_ih_l0": np.ones((3, 2)), "weight_hh_l1": np.eye(3)}
    >>> info = inspect_weights(sd)
    >>> info.kind, info.layers, info.nonlinearity, (info.n, info.d)
    ('vanilla', (0, 1), None, (3, 2))
    """
    if prefix is not None and not isinstance(prefix, str):
        raise ArgumentTypeError(f"prefix: expected a string, got {_describe(prefix)}")
    where = "source"
    arrays, strings, module_info = _read_weights(source, where)
    raw = _find_rnn(arrays, source, 0, prefix, where)
    kind, g = _gate_count(raw, "auto", where, source)
    d = 0 if raw.W_ih is None or raw.W_ih.ndim != 2 else raw.W_ih.shape[1]
    name = Path(os.fspath(source)).name if isinstance(source, (str, os.PathLike)) else _name(source)
    return WeightsInfo(name, raw.convention, kind, _layers(arrays, raw),
                       _recorded_nonlinearity(raw, strings, module_info), raw.W_hh.shape[1], d, raw.prefix)


def load_cell(source, kind: str = "auto", *, eps=None, gamma=None, activation=None, layer: int | None = None,
              prefix: str | None = None):
    """A cell from trained weights: a PyTorch state dict, an .npz of the same keys, a module.

    Parameters
    ----------
    source : str, os.PathLike, mapping or torch.nn.Module
        A .pt/.pth file saved with ``torch.save(rnn.state_dict(), path)`` (read
        with ``torch.load(..., weights_only=True)``; a checkpoint dict nesting the
        state dict works too), an .npz with the same keys, an in-memory state
        dict, or the module itself. Keys may carry a prefix (``"rnn.weight_hh_l0"``
        in a whole model's state dict). Besides PyTorch's names, an .npz may hold
        a Keras ``SimpleRNN`` (``recurrent_kernel``, ``kernel``, ``bias``) or a Flax
        ``SimpleCell`` (``h/kernel``, ``i/kernel``, ``h/bias``); their (in, out)
        kernels are transposed into rnndyn's h ↦ W h layout.
    kind : {"auto", "vanilla", "euler", "antisymmetric", "lstm", "gru"}
        ``"auto"`` reads the kind from the stacking of ``weight_hh_l0``: (n, n)
        → ``"vanilla"``, (4n, n) → ``"lstm"``, (3n, n) → ``"gru"``. ``"euler"`` and
        ``"antisymmetric"`` read W, V, b into an :class:`~rnndyn.EulerRNN` or
        :class:`~rnndyn.AntisymmetricRNN` with the given ``eps`` and ``gamma``.
    eps, gamma : float, optional
        Step size ε > 0 (default 0.1) and diffusion γ ≥ 0 (default 0); only for
        ``kind="euler"`` or ``"antisymmetric"``.
    activation : {"tanh", "relu", "linear", "sigmoid"}, optional
        The nonlinearity. A state dict does not record it: when not given it is
        taken from the module (``rnn.nonlinearity``) or a string entry
        ``"nonlinearity"`` (or ``"activation"``) in the file when there is one;
        otherwise ``"tanh"`` is assumed (the default of ``nn.RNN``, Keras
        ``SimpleRNN`` and Flax ``SimpleCell``) and an
        :class:`~rnndyn.errors.AssumptionWarning` says so. Pass it to analyse
        an ``nn.RNN(nonlinearity='relu')``.
    layer : int, optional
        Which layer of a multi-layer RNN (``weight_hh_l{layer}``); layer k is
        driven by the hidden states of layer k − 1 through its
        ``weight_ih_l{k}``. Default 0, with an
        :class:`~rnndyn.errors.AssumptionWarning` when the source holds more
        than one layer. Of a bidirectional layer, the forward direction is read
        (``*_reverse`` weights are another cell).
    prefix : str, optional
        Key prefix selecting one of several recurrent layers in one file.

    Returns
    -------
    VanillaRNN, EulerRNN, AntisymmetricRNN, LSTM or GatedRecurrentWeights
        For ``nn.RNN`` weights a cell with W = weight_hh, V = weight_ih and
        b = bias_ih + bias_hh; for ``nn.LSTM`` weights an :class:`~rnndyn.LSTM`
        (W_ih, W_hh, b = bias_ih + bias_hh); for ``nn.GRU`` weights their
        per-gate blocks (:class:`GatedRecurrentWeights`).

    Raises
    ------
    LoadError
        Unreadable file, no recurrent weights, mismatched shapes, a kind that
        contradicts the weights, a layer the source does not have, torch
        missing for a .pt file.
    ValidationError, UnknownNameError
        Bad ``eps``, ``gamma``, ``activation``, ``kind`` or ``layer``.

    Warns
    -----
    AssumptionWarning
        When ``activation`` is not given and the source does not record it
        (tanh is assumed), and when ``layer`` is not given and the source holds
        several layers (layer 0 is read).

    See Also
    --------
    inspect_weights : the kind, layers and recorded nonlinearity, without building the cell.

    Notes
    -----
    PyTorch's ``nn.RNN`` computes h_t = φ(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    — exactly :class:`~rnndyn.VanillaRNN` with b = b_ih + b_hh, so every
    analysis of the returned cell (``rd.stability``, ``rd.fixed_points``,
    ``rd.lyapunov_spectrum``, ``rd.bptt``) includes the biases, as the command
    line's ``--matrix model.pt`` does.

    Examples
    --------
    >>> import numpy as np, rnndyn as rd, tempfile, os
    >>> rng = np.random.default_rng(0)
    >>> sd = {"weight_hh_l0": rng.normal(size=(3, 3)), "weight_ih_l0": rng.normal(size=(3, 2)),
    ...       "bias_ih_l0": np.ones(3), "bias_hh_l0": np.ones(3)}
    >>> path = os.path.join(tempfile.mkdtemp(), "rnn.npz")
    >>> np.savez(path, **sd)
    >>> cell = rd.load_cell(path, activation="tanh")
    >>> cell.b
    array([2., 2., 2.])
    """
    choice(kind, "kind", LOAD_KINDS)
    layer_given = layer is not None
    layer = as_int(layer, "layer", minimum=0) if layer_given else 0
    if prefix is not None and not isinstance(prefix, str):
        raise ArgumentTypeError(f"prefix: expected a string, got {_describe(prefix)}")
    for name, val in (("eps", eps), ("gamma", gamma)):
        if val is not None and kind not in ("euler", "antisymmetric"):
            raise ValidationError(f"{name}: only used with kind='euler' or 'antisymmetric', got kind={kind!r}")
    where = "source"
    arrays, strings, module_info = _read_weights(source, where)
    raw = _find_rnn(arrays, source, layer, prefix, where)
    inferred, g = _gate_count(raw, kind, where, source)
    layers = _layers(arrays, raw)
    if not layer_given and len(layers) > 1:
        warnings.warn(f"{_name(source)} has {len(layers)} layers; analysing layer 0 "
                      f"(pass layer=K, 0 ≤ K ≤ {max(layers)})", AssumptionWarning, stacklevel=2)
    n = raw.W_hh.shape[1]
    W_ih = _check_stack(raw.W_ih, "weight_ih", g * n, where, matrix=True)
    b_ih = _check_stack(raw.b_ih, "bias_ih", g * n, where)
    b_hh = _check_stack(raw.b_hh, "bias_hh", g * n, where)
    if W_ih is None:
        W_ih = np.zeros((g * n, 0))
    zeros = np.zeros(g * n)
    if inferred in ("lstm", "gru"):
        if activation is not None:
            raise ValidationError(f"activation: not used for {inferred.upper()} weights, got {activation!r}")
        if inferred == "lstm":
            from rnndyn.systems.lstm import LSTM

            # PyTorch's LSTM adds both biases inside every gate: b = b_ih + b_hh is exact
            return LSTM(W_ih if W_ih.shape[1] else None, raw.W_hh,
                        (zeros if b_ih is None else b_ih) + (zeros if b_hh is None else b_hh))
        return GatedRecurrentWeights(
            inferred, GATES[inferred], _frozen(raw.W_hh.reshape(g, n, n)), _frozen(W_ih.reshape(g, n, -1)),
            _frozen((zeros if b_ih is None else b_ih).reshape(g, n)),
            _frozen((zeros if b_hh is None else b_hh).reshape(g, n)))
    if activation is None:
        activation = _recorded_nonlinearity(raw, strings, module_info)
        if activation is None:
            activation = "tanh"
            warnings.warn(f"{_name(source)} does not record its nonlinearity; assuming tanh (pass activation='relu' "
                          f"for {_NONLINEARITY_HINT[raw.convention]})", AssumptionWarning, stacklevel=2)
    b = (zeros if b_ih is None else b_ih) + (zeros if b_hh is None else b_hh)
    V = W_ih if W_ih.shape[1] else None
    from rnndyn.systems.cells import AntisymmetricRNN, EulerRNN, VanillaRNN

    if kind in ("auto", "vanilla"):
        return VanillaRNN(raw.W_hh, V, b, activation=activation)
    cls = EulerRNN if kind == "euler" else AntisymmetricRNN
    return cls(raw.W_hh, V, b, eps=0.1 if eps is None else eps, gamma=0.0 if gamma is None else gamma,
               activation=activation)


def _square(arr: np.ndarray, what) -> np.ndarray:
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise LoadError(f"spec: expected a square (n, n) matrix, got shape {arr.shape} from {what}")
    return arr


def load_recurrent_matrix(spec, *, layer: int = 0) -> np.ndarray:
    """The recurrent matrix W a name, a file, an array or trained weights describe.

    What every CLI ``--matrix`` accepts. Of trained weights this is only the
    recurrent matrix; the command line, like :func:`load_cell`, analyses such a
    file as the whole cell it holds (input weights and biases included).

    Parameters
    ----------
    spec : str, os.PathLike, array_like, mapping or torch.nn.Module
        A named matrix (:data:`rnndyn.NAMED_MATRICES`); a .npy, .csv or .txt
        file; an .npz holding one array, or ``file.npz:KEY``, or RNN weights; a
        .pt/.pth PyTorch state dict (its ``weight_hh_l{layer}``; ``file.pt:KEY``
        picks another tensor); an array; a state dict or a torch module.
    layer : int
        Layer of a multi-layer RNN's weights.

    Returns
    -------
    ndarray, shape (n, n)

    Raises
    ------
    LoadError
        Unreadable input, or a matrix that is not square (an LSTM's stacked
        (4n, n) ``weight_hh_l0`` included: use :func:`load_cell` for those).

    Examples
    --------
    >>> import rnndyn as rd
    >>> rd.load_recurrent_matrix("fibonacci")
    array([[1., 1.],
           [1., 0.]])
    """
    if isinstance(spec, str) and spec in NAMED_MATRICES:
        return named_matrix(spec)
    if isinstance(spec, (str, os.PathLike)):
        s = os.fspath(spec)
        path, key = _split_key(s)
        suffix = Path(path).suffix.lower()
        if suffix in TORCH_SUFFIXES or suffix == ".npz":
            if suffix == ".npz" and key is not None:
                return _square(load_array(s), repr(s))
            if suffix == ".npz":
                with _open_npz(Path(path), "spec") as zf:
                    if len(_npz_keys(zf)) == 1:
                        return _square(load_array(s), repr(s))
            arrays, _, _ = _read_weights(path, "spec")
            if key is not None:
                if key not in arrays:
                    raise LoadError(f"spec: {Path(path).name!r} has no tensor {key!r}; it holds "
                                    f"{sorted(arrays)[:12]}")
                return _square(_as_weight(arrays[key], key, "spec"), repr(s))
            if list(arrays) == [""]:
                return _square(_as_weight(arrays[""], "tensor", "spec"), repr(s))
            return _recurrent_from(arrays, spec, layer)
        if not isinstance(spec, str) or suffix in MATRIX_SUFFIXES or Path(path).suffix or Path(path).exists():
            return _square(load_array(spec), repr(s))
        raise UnknownNameError(
            f"spec: {spec!r} is neither a named matrix ({', '.join(NAMED_MATRICES)}) nor a file with suffix "
            f"{', '.join(MATRIX_SUFFIXES + TORCH_SUFFIXES)}{did_you_mean(spec, NAMED_MATRICES)}")
    if isinstance(spec, Mapping) or (hasattr(spec, "state_dict") and callable(spec.state_dict)):
        arrays, _, _ = _read_weights(spec, "spec")
        return _recurrent_from(arrays, spec, layer)
    return _square(as_real_array(spec, "spec"), f"an array of shape {np.shape(spec)}")


def _recurrent_from(arrays, source, layer) -> np.ndarray:
    raw = _find_rnn(arrays, source, as_int(layer, "layer", minimum=0), None, "spec",
                    missing_ok=isinstance(source, (str, os.PathLike)) and str(source).lower().endswith(".npz"))
    if raw is None:  # an .npz of several arrays that are not RNN weights
        path = os.fspath(source)
        raise LoadError(f"spec: {path!r} holds {len(arrays)} arrays {sorted(arrays)[:12]} and no recognised "
                        f"RNN weights; pick one with {path}:KEY")
    W = raw.W_hh
    if W.ndim == 2 and W.shape[1] and W.shape[0] in (3 * W.shape[1], 4 * W.shape[1]) and W.shape[0] != W.shape[1]:
        kind = "LSTM" if W.shape[0] == 4 * W.shape[1] else "GRU"
        raise LoadError(f"spec: {_name(source)} holds {kind} weights (weight_hh of shape {W.shape}, "
                        f"stacked gate blocks), not one square recurrent matrix; in Python, rd.load_cell(path) "
                        f"reads them ({'an rd.LSTM' if kind == 'LSTM' else 'per-gate blocks'})")
    return _square(W, _name(source))


def load_matrix(spec) -> np.ndarray:
    """A square matrix from a named matrix, a file, an array or RNN weights.

    Parameters
    ----------
    spec : str, os.PathLike or array_like
        A name of :func:`rnndyn.named_matrix`, a path (see :func:`load_array`;
        .pt/.pth and weight .npz files as in :func:`load_recurrent_matrix`), or
        an array (returned as a validated float64 copy).

    Returns
    -------
    ndarray, shape (n, n)

    Raises
    ------
    LoadError
        Unreadable file or a matrix that is not square and non-empty.
    UnknownNameError
        A bare word that is not a named matrix.

    Examples
    --------
    >>> import rnndyn as rd
    >>> rd.load_matrix("W0")
    array([[ 0., -2.],
           [ 2.,  0.]])
    """
    return load_recurrent_matrix(spec)
