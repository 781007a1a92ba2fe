"""Parameter types shared by the commands: matrices, points, init specs, the registered backends.

Every choice comes from the library's registries (named matrices, init specs,
backends), and every value is read by a library function, so the command line
and the library accept the same things and refuse them with the same words.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import NamedTuple

import click
import numpy as np

import rnndyn as rd
from rnndyn.errors import RnndynError
from rnndyn.io.weights import WEIGHT_SUFFIXES, WeightsInfo, inspect_weights
from rnndyn.matrices import parse_init_spec


class LabeledMatrix(NamedTuple):
    """A matrix with the name it was given by (``--matrix W0`` → "W0", ``w.npz:rec`` → "w_rec").

    For a file of trained RNN weights (an ``nn.RNN`` state dict in a .pt/.pth,
    the same keys, Keras or Flax weights in an .npz) ``weights`` says what the
    file holds (:class:`rnndyn.io.weights.WeightsInfo`) and ``source`` is the
    path: the commands then analyse the cell the file holds, input weights and
    biases included (:func:`~.model.resolve_cell`); ``array`` is its layer-0
    recurrent matrix.
    """

    label: str
    array: np.ndarray
    weights: WeightsInfo | None = None
    source: str | None = None


def matrix_label(spec: str) -> str:
    """Short name of a ``--matrix`` value: the name itself, or a file's stem (and .npz key)."""
    if spec in rd.NAMED_MATRICES:
        return spec
    path, sep, key = str(spec).rpartition(":")
    if sep and path.lower().endswith((".npz", ".pt", ".pth")) and key:
        return f"{Path(path).stem}_{key}"
    return Path(str(spec)).stem


def _trained_weights(value):
    """What a weights file (.pt/.pth, or an .npz of RNN weights, without ``:KEY``) holds, else None."""
    if not isinstance(value, str) or value in rd.NAMED_MATRICES:
        return None
    path, sep, key = value.rpartition(":")
    if sep and path.lower().endswith(WEIGHT_SUFFIXES) and key:
        return None  # one tensor picked by its key: a plain matrix
    if not value.lower().endswith(WEIGHT_SUFFIXES) or not Path(value).is_file():
        return None
    try:
        return inspect_weights(value)
    except RnndynError:  # one array, or no recurrent weights: read (or refused) as a matrix
        return None


class MatrixType(click.ParamType):
    """A named matrix (W+, W-, W0, Wdiff, identity, ...), a .npy/.npz[:key]/.csv/.txt file, or trained
    RNN weights: a PyTorch state dict (.pt/.pth, or its keys in an .npz), Keras or Flax weights in an .npz.

    ``MatrixType(labeled=True)`` converts to a :class:`LabeledMatrix`, for
    commands that name their output or titles after the matrix as it was given.
    """

    name = "MATRIX"

    def __init__(self, labeled: bool = False):
        self.labeled = labeled

    def convert(self, value, param, ctx):
        if isinstance(value, (np.ndarray, LabeledMatrix)):
            return value
        try:
            weights = _trained_weights(value)
            arr = rd.load_recurrent_matrix(value)
        except RnndynError as exc:
            # the library names its argument ("spec: ..."); the option's name is already in click's message
            self.fail(re.sub(r"^(spec|source): ", "", str(exc)), param, ctx)
        if not self.labeled:
            return arr
        return LabeledMatrix(matrix_label(value), arr, weights, value if weights is not None else None)

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        items = [CompletionItem(n) for n in rd.NAMED_MATRICES if n.startswith(incomplete)]
        return items + [CompletionItem(incomplete, type="file")]


class PointType(click.ParamType):
    """A point written ``x,y[,...]``; ``PointType(dim=2)`` insists on exactly two numbers."""

    name = "X,Y"

    def __init__(self, dim: int | None = None):
        self.dim = dim

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            pts = tuple(float(v) for v in str(value).split(","))
        except ValueError:
            self.fail(f"expected comma-separated numbers such as 0.5,-0.75, got {value!r}", param, ctx)
        if not all(math.isfinite(v) for v in pts):
            self.fail(f"expected finite numbers, got {value!r}", param, ctx)
        if self.dim is not None and len(pts) != self.dim:
            self.fail(f"expected {self.dim} comma-separated numbers such as 0.5,-0.75, got {value!r}", param, ctx)
        return pts


class InitSpecType(click.ParamType):
    """An init spec ``NAME[:KEY=VALUE]`` (:data:`rnndyn.init.INIT_SPEC_GRAMMAR`), read by the library.

    Converts to the canonical spec text (``normal:std=0.1``). ``bare_number``
    is how the deprecated ``NAME:NUMBER`` is read in this command, as the
    library's function behind it always read it (see
    :func:`rnndyn.init.parse_init_spec`); the deprecation warning says which.
    """

    name = "SPEC"

    def __init__(self, bare_number: str = "param"):
        self.bare_number = bare_number

    def convert(self, value, param, ctx):
        try:
            return str(parse_init_spec(value, bare_number=self.bare_number, argname=_argname(param)))
        except RnndynError as exc:  # the library's message already names the option and the grammar
            raise click.UsageError(str(exc), ctx) from None

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        return [CompletionItem(n) for n in rd.init.INIT_NAMES if n.startswith(incomplete)]


class InitEntryType(click.ParamType):
    """One line of ``rnndyn gradients``: ``SPEC[,key=value...][,label=TEXT]``, read by
    :func:`rnndyn.analysis.gradients.parse_init_entry`; converts to its mapping, SPEC made canonical."""

    name = "SPEC"

    def convert(self, value, param, ctx):
        from rnndyn.analysis.gradients import parse_init_entry

        if isinstance(value, dict):
            return value
        try:
            entry = parse_init_entry(value)
            entry["init"] = str(parse_init_spec(entry["init"], argname=_argname(param)))
        except RnndynError as exc:
            self.fail(str(exc), param, ctx)
        return entry


class BackendChoice(click.Choice):
    """``auto`` or a backend registered in :func:`rnndyn.available_backends`, looked up when used, so that a
    backend registered after import (a GPU plugin) is offered too."""

    def __init__(self):
        super().__init__(("auto",))

    @property
    def choices(self):
        return ("auto", *rd.available_backends())

    @choices.setter
    def choices(self, value):  # click.Choice.__init__ assigns; the registry decides
        pass


def _argname(param) -> str:
    return param.opts[0] if param is not None and param.opts else "init"


MATRIX = MatrixType()
LABELED_MATRIX = MatrixType(labeled=True)
POINT = PointType()
POINT2 = PointType(dim=2)
