"""rnndyn: recurrent neural networks as discrete dynamical systems.

The package is layered (checked by import-linter in the tests)::

    rnndyn.figures                      the source documents' figures
    rnndyn.analysis | rnndyn.plots      what is measured | how it is drawn
    rnndyn.io                           arrays, trained weights, results
    rnndyn.systems                      what is iterated (cells, LSTM, maps)
    rnndyn.matrices                     named matrices, initialisers, init specs
    rnndyn.backends                     where a kernel runs
    rnndyn.kernels                      the kernels (cpu/, numpy/, cuda/)

The names below are the public API. Sources are cited as listed in
:mod:`rnndyn.references`.

>>> import rnndyn as rd
>>> cell = rd.AntisymmetricRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15)
>>> rd.simulate(cell, [0.0, 0.5], steps=50).states.shape
(51, 2)
"""

import importlib as _importlib
import warnings as _warnings

from rnndyn import config, init
from rnndyn._version import __version__
from rnndyn.backends import available_backends, get_backend, register_backend
from rnndyn.errors import (
    ArgumentTypeError,
    DivergenceWarning,
    LoadError,
    MemoryLimitError,
    RnndynError,
    SaveError,
    UnknownNameError,
    UnsupportedError,
    ValidationError,
)
from rnndyn.matrices import NAMED_MATRICES, named_matrix
from rnndyn.systems import LSTM, AntisymmetricRNN, EulerRNN, Map, Map1D, VanillaRNN
from rnndyn.io import (
    GatedRecurrentWeights,
    load_array,
    load_cell,
    load_matrix,
    load_recurrent_matrix,
    load_result,
    save_result,
)
from rnndyn.analysis.trajectories import Tangent, Trajectory, simulate, tangent
from rnndyn.analysis.gradients import (
    GradientNorms,
    Gradients,
    bptt,
    clip_by_global_norm,
    clip_by_norm,
    gradient_norms,
)
from rnndyn.analysis.lyapunov import LyapunovSpectrum, lyapunov_spectrum
from rnndyn.analysis.stability import JacobianSpectrum, StabilityReport, jacobian_spectrum, stability
from rnndyn.analysis.fixed_points import Continuum, FixedPoint, FixedPoints, fixed_points
from rnndyn.analysis.phase import PhasePortrait, phase_portrait
from rnndyn import analysis, systems  # noqa: E402  (the namespaces rd.analysis.*, rd.systems.*)

# Old module names, kept importable: ``rd.spectra`` (now rnndyn.analysis.stability),
# ``rd.discrete_maps`` / ``rd.maps_nd`` (now rnndyn.systems.maps), ``rd.maps`` (1-D
# maps, now rnndyn.systems.map1d and rnndyn.analysis.orbits1d).
_MOVED = {
    "spectra": ("rnndyn.analysis.stability", "rnndyn.analysis.stability"),
    "discrete_maps": ("rnndyn.systems.maps", "rnndyn.systems (rd.systems.henon, rd.systems.Map, ...)"),
    "maps_nd": ("rnndyn.systems.maps", "rnndyn.systems (rd.systems.henon, rd.systems.Map, ...)"),
    "maps": ("rnndyn._compat_maps", "rnndyn.systems.map1d and rnndyn.analysis.orbits1d"),
}


def __getattr__(name):
    if name in _MOVED:
        module, new = _MOVED[name]
        _warnings.warn(f"rnndyn.{name} is deprecated; use {new}", DeprecationWarning, stacklevel=2)
        return _importlib.import_module(module)
    raise AttributeError(f"module 'rnndyn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_MOVED))


__all__ = [
    "__version__",
    "config",
    "init",
    "analysis",
    "systems",
    "named_matrix",
    "NAMED_MATRICES",
    "load_matrix",
    "load_array",
    "load_cell",
    "load_recurrent_matrix",
    "GatedRecurrentWeights",
    "save_result",
    "load_result",
    "VanillaRNN",
    "EulerRNN",
    "AntisymmetricRNN",
    "LSTM",
    "Map",
    "Map1D",
    "simulate",
    "tangent",
    "Trajectory",
    "Tangent",
    "bptt",
    "Gradients",
    "clip_by_norm",
    "clip_by_global_norm",
    "gradient_norms",
    "GradientNorms",
    "lyapunov_spectrum",
    "LyapunovSpectrum",
    "stability",
    "StabilityReport",
    "jacobian_spectrum",
    "JacobianSpectrum",
    "fixed_points",
    "FixedPoint",
    "FixedPoints",
    "Continuum",
    "phase_portrait",
    "PhasePortrait",
    "get_backend",
    "register_backend",
    "available_backends",
    "RnndynError",
    "ValidationError",
    "ArgumentTypeError",
    "UnknownNameError",
    "UnsupportedError",
    "MemoryLimitError",
    "LoadError",
    "SaveError",
    "DivergenceWarning",
]
