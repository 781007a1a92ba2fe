"""What is iterated: every model rnndyn analyses is a :class:`~rnndyn.systems.base.System`.

* :mod:`~rnndyn.systems.cells` — the three cells of one update form,
  :class:`VanillaRNN`, :class:`EulerRNN`, :class:`AntisymmetricRNN`;
* :mod:`~rnndyn.systems.lstm` — :class:`LSTM`, for comparing Jacobian spectra;
* :mod:`~rnndyn.systems.maps` — :class:`Map`, any n-D map given by a rule and its
  Jacobian, with :func:`henon` and :func:`logistic` built in;
* :mod:`~rnndyn.systems.map1d` — :class:`Map1D`, scalar maps from expressions.
"""

from rnndyn.systems.base import FAMILIES, System, family_of
from rnndyn.systems.cells import CELL_TYPES, AntisymmetricRNN, EulerRNN, VanillaRNN
from rnndyn.systems.lstm import LSTM
from rnndyn.systems.map1d import Map1D, compose, parse_map
from rnndyn.systems.maps import Map, henon, logistic

__all__ = [
    "System",
    "FAMILIES",
    "family_of",
    "CELL_TYPES",
    "VanillaRNN",
    "EulerRNN",
    "AntisymmetricRNN",
    "LSTM",
    "Map",
    "henon",
    "logistic",
    "Map1D",
    "parse_map",
    "compose",
]
