"""Kernels: arrays and scalars in, arrays out; no Python objects.

:mod:`~rnndyn.kernels.cpu` holds the numba ``@njit`` kernels and
:mod:`~rnndyn.kernels.numpy` their plain NumPy twins (the oracle of the tests and
the ``"reference"`` backend), module for module and name for name;
:mod:`~rnndyn.kernels.params` the argument tuple and every integer code;
:mod:`~rnndyn.kernels.scalar` and :mod:`~rnndyn.kernels.vecmath` the scalar math
shared by CPU and GPU code. ``cuda`` (the ``@cuda.jit`` twins) is imported
lazily: ``import rnndyn`` never needs a GPU. Nothing here imports from the rest
of rnndyn. numba's on-disk cache of the compiled kernels is keyed on the sources
of this whole package, not only on each kernel's own file (``_cache``).
"""
