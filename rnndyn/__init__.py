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
from .bptt import GradientNorms, Gradients, bptt, clip_by_global_norm, clip_by_norm, gradient_norms
from .dynamics import Tangent, Trajectory, simulate, tangent
from .errors import (
    ArgumentTypeError,
    DivergenceWarning,
    LoadError,
    MemoryLimitError,
    RnndynError,
    SaveError,
    UnknownNameError,
    ValidationError,
)
from .io import (
    GatedRecurrentWeights,
    load_array,
    load_cell,
    load_matrix,
    load_recurrent_matrix,
    load_result,
    save_result,
)
from .matrices import NAMED_MATRICES, named_matrix
from .phase import PhasePortrait, phase_portrait
from . import spectra  # noqa: E402  (eigen/singular spectra, stability regions, critical γ)
from .spectra import JacobianSpectrum, StabilityReport, jacobian_spectrum, stability
from .fixedpoints import FixedPoint, fixed_points
from . import maps  # noqa: E402  (1-D iterated maps, CSC321 L15)
from . import discrete_maps  # noqa: E402  (general maps: Hénon, logistic, user rules)
from .discrete_maps import Map
from .lstm import LSTM
from .lyapunov import LyapunovSpectrum, lyapunov_spectrum

maps_nd = discrete_maps  # the name used in the issue: rd.maps_nd.henon()

__all__ = [
    "__version__",
    "config",
    "init",
    "maps",
    "named_matrix",
    "load_matrix",
    "load_array",
    "load_cell",
    "load_recurrent_matrix",
    "GatedRecurrentWeights",
    "save_result",
    "load_result",
    "NAMED_MATRICES",
    "VanillaRNN",
    "EulerRNN",
    "AntisymmetricRNN",
    "simulate",
    "tangent",
    "bptt",
    "Gradients",
    "clip_by_norm",
    "clip_by_global_norm",
    "gradient_norms",
    "GradientNorms",
    "phase_portrait",
    "spectra",
    "stability",
    "StabilityReport",
    "jacobian_spectrum",
    "JacobianSpectrum",
    "fixed_points",
    "FixedPoint",
    "PhasePortrait",
    "Trajectory",
    "Tangent",
    "lyapunov_spectrum",
    "LyapunovSpectrum",
    "Map",
    "LSTM",
    "discrete_maps",
    "maps_nd",
    "get_backend",
    "register_backend",
    "available_backends",
    "RnndynError",
    "ValidationError",
    "ArgumentTypeError",
    "UnknownNameError",
    "MemoryLimitError",
    "LoadError",
    "SaveError",
    "DivergenceWarning",
]
