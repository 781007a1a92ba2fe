"""rnndyn: recurrent neural networks as discrete dynamical systems.

The package is layered (checked by import-linter in the tests)::

    rnndyn.figures                      the source documents' figures
    rnndyn.analysis | rnndyn.plots      what is measured | how it is drawn
    rnndyn.io                           arrays, trained weights, results
    rnndyn.systems                      what is iterated (cells, LSTM, maps)
    rnndyn.matrices                     named matrices, initialisers, init specs
    rnndyn.backends                     where a kernel runs
    rnndyn.kernels                      the kernels (cpu/, numpy/, cuda/)

The names of ``__all__`` are the public API; each is imported from its module on
first use, so ``import rnndyn`` stays cheap. Sources are cited as listed in
:mod:`rnndyn.references`.

>>> import rnndyn as rd
>>> cell = rd.AntisymmetricRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15)
>>> rd.simulate(cell, [0.0, 0.5], steps=50).states.shape
(51, 2)
"""

import importlib as _importlib
import warnings as _warnings

from rnndyn import config
from rnndyn._version import __version__
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

#: Module -> the public names it defines. They are imported on first use (``rd.simulate`` imports
#: rnndyn.analysis.trajectories then), so ``import rnndyn`` loads neither SciPy's solvers, nor
#: matplotlib, nor any compiled kernel. A new public name is one more entry here.
_EXPORTS = {
    "rnndyn.init": [],
    "rnndyn.analysis": [],
    "rnndyn.systems": [],
    "rnndyn.backends": ["available_backends", "get_backend", "register_backend"],
    "rnndyn.matrices": ["NAMED_MATRICES", "named_matrix"],
    "rnndyn.systems.cells": ["VanillaRNN", "EulerRNN", "AntisymmetricRNN"],
    "rnndyn.systems.lstm": ["LSTM"],
    "rnndyn.systems.maps": ["Map"],
    "rnndyn.systems.map1d": ["Map1D"],
    "rnndyn.io": ["GatedRecurrentWeights", "load_array", "load_cell", "load_matrix", "load_recurrent_matrix",
                  "load_result", "save_result"],
    "rnndyn.analysis.trajectories": ["Tangent", "Trajectory", "simulate", "tangent"],
    "rnndyn.analysis.gradients": ["GradientNorms", "Gradients", "bptt", "clip_by_global_norm", "clip_by_norm",
                                  "gradient_norms"],
    "rnndyn.analysis.lyapunov": ["LyapunovSpectrum", "lyapunov_spectrum"],
    "rnndyn.analysis.clv": ["CovariantVectors", "FiniteTimeLyapunov", "covariant_lyapunov_vectors",
                            "finite_time_lyapunov"],
    "rnndyn.analysis.stability": ["JacobianSpectrum", "StabilityReport", "jacobian_spectrum", "stability"],
    "rnndyn.analysis.fixed_points": ["Continuum", "FixedPoint", "FixedPoints", "fixed_points"],
    "rnndyn.analysis.phase": ["PhasePortrait", "phase_portrait"],
    "rnndyn.analysis.basins": ["Basins", "basins"],
    "rnndyn.analysis.sweep": ["SweepResult", "sweep"],
    "rnndyn.analysis.chaos": ["ChaosSweep", "mean_field_lyapunov", "transition_to_chaos"],
    "rnndyn.analysis.train": ["Task", "TrainResult", "load_run", "make_cell", "make_task", "save_run", "train"],
    "rnndyn.analysis.slow_points": ["SlowPoints", "slow_points"],
}

#: Public name -> its module. The subpackages named in ``_EXPORTS`` are attributes too (``rd.analysis``, ``rd.io``).
_WHERE = {name: module for module, names in _EXPORTS.items() for name in names}
_WHERE.update({module[7:]: module for module in _EXPORTS if module.count(".") == 1})
_PUBLIC_MODULES = tuple(module[7:] for module, names in _EXPORTS.items() if not names)

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
    module = _WHERE.get(name)
    if module is not None:
        mod = _importlib.import_module(module)
        value = mod if module == "rnndyn." + name else getattr(mod, name)
        globals()[name] = value  # looked up once
        return value
    if name in _MOVED:
        module, new = _MOVED[name]
        _warnings.warn(f"rnndyn.{name} is deprecated; use {new}", DeprecationWarning, stacklevel=2)
        return _importlib.import_module(module)
    raise AttributeError(f"module 'rnndyn' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_WHERE) | set(_MOVED))


__all__ = [
    "__version__",
    "config",
    *_PUBLIC_MODULES,
    *(name for names in _EXPORTS.values() for name in names),
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
