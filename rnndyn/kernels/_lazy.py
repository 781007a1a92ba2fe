"""By-name, lazily imported kernel namespaces for the ``cpu`` and ``numpy`` packages."""

from __future__ import annotations

import importlib


def lazy_namespace(package: str, kernels: dict, namespace: dict):
    """Module ``__getattr__`` and ``__dir__`` resolving ``kernels[name]`` (a submodule) on first use.

    Importing a kernel module compiles nothing, but importing all of them costs
    time a command that needs one kernel should not pay.
    """

    def __getattr__(name):
        if name not in kernels:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{kernels[name]}"), name)
        namespace[name] = value
        return value

    def __dir__():
        return sorted(set(namespace) | set(kernels))

    return __getattr__, __dir__
