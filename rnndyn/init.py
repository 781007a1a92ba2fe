"""Weight initialisers: ``rd.init.orthogonal(n)``, ``rd.init.xavier_normal(n_in, n_out)``, ...

Every initialiser takes ``rng`` as None, an int seed or a numpy Generator.
:func:`from_spec` draws a matrix from a text spec ``NAME[:KEY=VALUE]``
(:data:`INIT_SPEC_GRAMMAR`), the one grammar every function and command reads.
"""

from rnndyn.matrices import (
    INIT_KEYS,
    INIT_NAMES,
    INIT_SPEC_GRAMMAR,
    InitSpec,
    antisymmetric,
    from_spec,
    identity,
    normal,
    orthogonal,
    parse_init_spec,
    uniform,
    xavier_normal,
    xavier_uniform,
)

__all__ = [
    "INIT_KEYS",
    "INIT_NAMES",
    "INIT_SPEC_GRAMMAR",
    "InitSpec",
    "antisymmetric",
    "from_spec",
    "identity",
    "normal",
    "orthogonal",
    "parse_init_spec",
    "uniform",
    "xavier_normal",
    "xavier_uniform",
]
