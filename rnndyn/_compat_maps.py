"""The old ``rnndyn.maps`` namespace: 1-D maps (:mod:`rnndyn.systems.map1d`) and
their orbits (:mod:`rnndyn.analysis.orbits1d`) under one name. Deprecated."""

from rnndyn.analysis.orbits1d import (  # noqa: F401
    BifurcationResult,
    FixedPoint,
    bifurcation,
    cobweb,
    fixed_points,
    lyapunov_1d,
    orbit,
)
from rnndyn.systems.map1d import FAMILIES, Map1D, compose, parse_map  # noqa: F401
