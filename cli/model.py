"""From ``--matrix`` and the cell options to the cell a command analyses; trained weights as the model they are.

A named matrix or a plain array gives the recurrent matrix W of a cell whose
kind, ε, γ and activation come from the options (their command's defaults
when not given). A file of trained weights identifies its own cell (an
``nn.RNN`` state dict is a vanilla cell h ↦ φ(W_hh h + W_ih x + b_ih + b_hh))
and is read by :func:`rnndyn.load_cell`, as in Python, so that the command
line and the library give the same numbers for the same file; ``--cell``
overrides the kind, ``--layer`` picks the layer, and what the file does not
say (its nonlinearity, which of several layers) is assumed with a one-line
notice on stderr.
"""

from __future__ import annotations

from dataclasses import dataclass

import click
import numpy as np
from click.core import ParameterSource

import rnndyn as rd
from rnndyn.systems.build import CELL_KINDS, build_cell, cell_parameters

from .errors import check_cell_options, fail, options_named
from .types import LabeledMatrix

__all__ = ["ResolvedCell", "option_given", "check_unused_cell_options", "resolve_cell"]


def option_given(ctx, name: str) -> bool:
    """Whether the option ``name`` was given (on the command line or in the environment), not defaulted."""
    return ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)


_WHAT = {"eps": "step size ε", "gamma": "diffusion γ"}


def check_unused_cell_options(ctx, cell: str, extra: dict | None = None) -> None:
    """Apply the command line's one rule for cell options (:func:`~.errors.check_cell_options`): --eps and
    --gamma are validated whatever the cell, and given to a cell that ignores them (a vanilla cell) they
    print one notice; options that only make sense with ε and γ (``extra``: option name -> given) stop
    the command with one line when the cell has none.
    """
    takes = cell_parameters(cell)
    values = {name: ctx.params[name] for name in _WHAT if ctx.params.get(name) is not None}
    check_cell_options(ctx, cell, takes, **values)
    if takes:
        return
    with_them = ", ".join(k for k in CELL_KINDS if cell_parameters(k)) or "none"
    for name, was_given in (extra or {}).items():
        if was_given:
            fail(f"--{name}: a {cell} cell has no step size ε nor diffusion γ; "
                 f"use --cell {with_them.replace(', ', ' or ')}")


@dataclass(frozen=True)
class ResolvedCell:
    """The cell a command analyses, and what it had to assume to build it.

    Attributes
    ----------
    cell : VanillaRNN, EulerRNN or AntisymmetricRNN
    kind : str
        Its kind (``"vanilla"``, ``"euler"``, ``"antisymmetric"``).
    activation : str
    label : str
        How the output names it: the matrix's name (``W0``), a file's stem, or
        ``model.pt, layer 0`` for trained weights.
    model : dict or None
        For trained weights: ``file``, ``layer``, ``layers`` (how many the file
        holds), ``convention`` (pytorch, keras, flax), ``cell`` (the kind the
        file identifies), ``activation``, ``activation_recorded`` (whether the
        file said so), ``activation_assumed`` (neither the file nor
        ``--activation`` said so), ``n``, ``d``; None for a named matrix or an array. What
        ``--json`` prints under ``"model"``.
    notices : tuple of str
        One line each (``notice: ...``) for what was assumed.
    """

    cell: object
    kind: str
    activation: str
    label: str
    model: dict | None = None
    notices: tuple = ()

    def echo_notices(self) -> None:
        """Print the notices on stderr, one line each."""
        for line in self.notices:
            click.echo(line, err=True)


def resolve_cell(matrix, cell, activation, layer, eps, gamma, *, default_cell="euler", default_activation="tanh",
                 extra=None) -> ResolvedCell:
    """The cell ``--matrix`` with ``--cell``, ``--activation``, ``--layer``, ``--eps`` and ``--gamma`` describe.

    Parameters
    ----------
    matrix : LabeledMatrix or ndarray
        The ``--matrix`` value (``matrix_option(labeled=True)`` keeps what a
        weights file holds; a bare array is a plain matrix).
    cell : str or None
        ``--cell`` as given, None when not given: then a weights file's own
        cell (vanilla for ``nn.RNN`` weights), else ``default_cell``.
    activation : str or None
        ``--activation`` as given, None when not given: then the nonlinearity
        a weights file records, else ``default_activation`` (for a weights
        file that does not record it, with a notice).
    layer : int or None
        ``--layer`` as given; None reads layer 0 (with a notice when a weights
        file holds several). Only for weights files.
    eps, gamma : float
        ``--eps``, ``--gamma``; used by euler and antisymmetric cells (given to
        a vanilla cell: a one-line error, as ``extra``'s options).
    default_cell, default_activation : str
        The command's defaults for a named matrix or a plain array.
    extra : dict, optional
        Further options that need ε and γ, mapped to whether they were given
        (``rnndyn spectrum``'s ``--compare``).

    Returns
    -------
    ResolvedCell
        The cell, its kind, activation and label, the model's description and
        the notices (print them with :meth:`ResolvedCell.echo_notices`).
    """
    ctx = click.get_current_context(silent=True)
    weights = getattr(matrix, "weights", None)
    if weights is None:
        label = matrix.label if isinstance(matrix, LabeledMatrix) else "W"
        if layer is not None:
            fail(f"--layer: picks a layer of trained RNN weights (.pt/.pth, or an .npz of them); {label} is a "
                 f"single matrix")
        kind = cell or default_cell
        act = activation or default_activation
        if ctx is not None:
            check_unused_cell_options(ctx, kind, extra)
        W = matrix.array if isinstance(matrix, LabeledMatrix) else matrix
        return ResolvedCell(build_cell(kind, W, eps=eps, gamma=gamma, activation=act), kind, act, label)

    info = weights
    notices = []
    if layer is None:
        layer = info.layers[0]
        if len(info.layers) > 1:
            notices.append(f"notice: {info.name} has {len(info.layers)} layers; analysing layer {layer} "
                           f"(pass --layer)")
    elif layer not in info.layers:
        has = f"layers {', '.join(map(str, info.layers))}" if len(info.layers) > 1 else f"layer {info.layers[0]} only"
        fail(f"--layer: {info.name} has {has}, got {layer}")
    kind = cell or info.kind
    act = activation
    if act is None:
        act = info.nonlinearity
        if act is None:
            act = default_activation
            notices.append(f"notice: {info.name} does not record its nonlinearity; assuming {act} "
                           f"(pass --activation relu for {info.nonlinearity_hint})")
    if ctx is not None:
        check_unused_cell_options(ctx, kind, extra)
    stepped = bool(cell_parameters(kind))
    with options_named(kind="--cell", eps="--eps", gamma="--gamma", activation="--activation", layer="--layer",
                       source="--matrix"):
        c = rd.load_cell(matrix.source, kind=kind, eps=eps if stepped else None, gamma=gamma if stepped else None,
                         activation=act, layer=layer)
    model = {"file": info.name, "layer": layer, "layers": len(info.layers), "convention": info.convention,
             "cell": info.kind, "activation": act, "activation_recorded": info.nonlinearity is not None,
             "activation_assumed": activation is None and info.nonlinearity is None, "n": c.n, "d": c.d}
    return ResolvedCell(c, kind, act, f"{info.name}, layer {layer}", model, tuple(notices))


def model_line(model: dict) -> str:
    """One line naming the model a command analyses: file, layer, what W, V and b are."""
    k = model["layer"]
    if model["convention"] == "pytorch":
        parts = f"W = weight_hh_l{k}, V = weight_ih_l{k} (d = {model['d']}), b = bias_ih_l{k} + bias_hh_l{k}"
    else:
        parts = f"W, V (d = {model['d']}) and b of its {model['convention'].capitalize()} layout"
    return (f"model: {model['file']}, layer {k} of {model['layers']} ({parts}; "
            f"{model['activation']}{' assumed' if model['activation_assumed'] else ''})")


def origin_is_fixed(cell) -> bool:
    """Whether h = 0 is a fixed point of the autonomous cell (not when a bias moves it: φ(b) ≠ 0)."""
    h = np.zeros(cell.n)
    return bool(np.array_equal(cell.step(h), h))
