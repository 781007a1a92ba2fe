"""Weight initialisers: ``rd.init.orthogonal(n)``, ``rd.init.xavier_normal(n_in, n_out)``, ...

Every initialiser takes ``rng`` as None, an int seed or a numpy Generator.
"""

from .matrices import (  # noqa: F401
    INIT_NAMES,
    antisymmetric,
    from_spec,
    identity,
    normal,
    orthogonal,
    uniform,
    xavier_normal,
    xavier_uniform,
)

__all__ = [
    "orthogonal",
    "identity",
    "normal",
    "uniform",
    "xavier_normal",
    "xavier_uniform",
    "antisymmetric",
    "from_spec",
    "INIT_NAMES",
]
