"""Reading matrices and trained weights, writing results.

What a user brings: a named matrix of the sources, a matrix saved by NumPy
(.npy, .npz), a CSV/text table from a paper, or the weights of a trained
network — a PyTorch ``state_dict`` (.pt/.pth, or the same keys in an .npz), a
Keras ``SimpleRNN`` or a Flax ``SimpleCell`` saved to .npz. What rnndyn gives
back: validated float64 arrays and cells, or one clear :class:`LoadError`.

Every file is read as data only: NumPy files with ``allow_pickle=False`` and
PyTorch files with ``torch.load(..., weights_only=True)``. A weight file is
data, never code. Array sizes are checked against the file size and against
``config.MEMORY_LIMIT_BYTES`` *before* anything is allocated, so a truncated
or corrupted file is refused rather than half-read.

Results are written with :func:`save_result` to .npz or .json atomically: the
file is written next to its destination and moved into place with
:func:`os.replace`, so a saved file is complete or absent, never partial.

Modules: :mod:`~rnndyn.io.arrays` (plain arrays: :func:`load_array`),
:mod:`~rnndyn.io.weights` (trained weights and the recurrent matrix they hold:
:func:`load_cell`, :func:`load_recurrent_matrix`, :func:`load_matrix`,
:class:`GatedRecurrentWeights`) and :mod:`~rnndyn.io.results`
(:func:`save_result`, :func:`load_result`); their public names are re-exported here.
"""

from rnndyn.errors import LoadError, SaveError  # noqa: F401 (named in the docstrings of this package)
from rnndyn.io.arrays import MATRIX_SUFFIXES, TORCH_SUFFIXES, load_array
from rnndyn.io.results import RESULT_SUFFIXES, ResultDict, load_result, save_result
from rnndyn.io.weights import (
    GATES,
    LOAD_KINDS,
    WEIGHT_SUFFIXES,
    GatedRecurrentWeights,
    load_cell,
    load_matrix,
    load_recurrent_matrix,
)

__all__ = [
    "GATES",
    "LOAD_KINDS",
    "MATRIX_SUFFIXES",
    "RESULT_SUFFIXES",
    "TORCH_SUFFIXES",
    "WEIGHT_SUFFIXES",
    "GatedRecurrentWeights",
    "ResultDict",
    "load_array",
    "load_cell",
    "load_matrix",
    "load_recurrent_matrix",
    "load_result",
    "save_result",
]
