"""Kernels: arrays and scalars in, arrays out; no Python objects.

``cpu`` holds the numba ``@njit`` kernels, ``reference`` their plain NumPy twins
(the oracle of the tests), ``scalar`` the scalar math shared by CPU and GPU code.
``cuda`` (the ``@cuda.jit`` twins) is imported lazily: ``import rnndyn`` never
needs a GPU.
"""
