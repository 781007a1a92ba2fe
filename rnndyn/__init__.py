"""rnndyn: recurrent neural networks as discrete dynamical systems.

>>> import rnndyn as rd
>>> cell = rd.AntisymmetricRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15)
>>> rd.simulate(cell, [0.0, 0.5], steps=50).states.shape
(51, 2)
"""

from . import config, init
from ._version import __version__
from .backends import available_backends, get_backend, register_backend
from .cells import AntisymmetricRNN, EulerRNN, VanillaRNN
from .dynamics import Tangent, Trajectory, simulate, tangent
from .errors import (
    ArgumentTypeError,
    DivergenceWarning,
    LoadError,
    MemoryLimitError,
    RnndynError,
    UnknownNameError,
    ValidationError,
)
from .io import load_array, load_matrix
from .matrices import NAMED_MATRICES, named_matrix

__all__ = [
    "__version__",
    "config",
    "init",
    "named_matrix",
    "load_matrix",
    "load_array",
    "NAMED_MATRICES",
    "VanillaRNN",
    "EulerRNN",
    "AntisymmetricRNN",
    "simulate",
    "tangent",
    "Trajectory",
    "Tangent",
    "get_backend",
    "register_backend",
    "available_backends",
    "RnndynError",
    "ValidationError",
    "ArgumentTypeError",
    "UnknownNameError",
    "MemoryLimitError",
    "LoadError",
    "DivergenceWarning",
]
