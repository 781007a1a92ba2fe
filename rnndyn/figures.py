"""The registry of the source material's figures, each rebuilt from rnndyn's own computations.

A figure is a function ``build(quick=False) -> matplotlib.figure.Figure``
registered with :func:`register` under a name, with the seed it comes from and a
one-line description. ``rnndyn figures`` (and :func:`build_all`) rebuild every
registered figure into ``figures/``; ``quick=True`` asks for small sizes (the
test-suite uses it). The modules that define figures are imported by
:func:`_load_all`, so registering a new one is one decorator.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

from .errors import UnknownNameError


@dataclass(frozen=True)
class FigureSpec:
    """A registered figure."""

    name: str
    build: Callable  # build(quick: bool = False) -> matplotlib.figure.Figure
    source: str  # seed file and section, e.g. "001 (Chang et al. 2019), Figure 2"
    description: str
    command: str = ""  # the rnndyn command that draws the same picture, if any


_REGISTRY: dict[str, FigureSpec] = {}

# Modules whose import registers figures (kept explicit: no import-time magic scanning).
FIGURE_MODULES = [
    "rnndyn.figures_phase",
    "rnndyn.figures_norms",
    "rnndyn.figures_stability",
    "rnndyn.figures_gradients",
    "rnndyn.figures_lyapunov",
    "rnndyn.figures_maps",
]


def register(name: str, source: str, description: str, command: str = ""):
    """Decorator registering ``build(quick=False) -> Figure`` as figure ``name``."""

    def deco(fn):
        _REGISTRY[name] = FigureSpec(name, fn, source, description, command)
        return fn

    return deco


def _load_all() -> None:
    for mod in FIGURE_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:  # a real missing dependency inside the module
                raise


def registry() -> dict[str, FigureSpec]:
    """All registered figures, by name (in registration order)."""
    _load_all()
    return dict(_REGISTRY)


def get(name: str) -> FigureSpec:
    """The registered figure ``name``."""
    reg = registry()
    if name not in reg:
        raise UnknownNameError(f"figure: unknown figure {name!r}; expected one of {', '.join(reg)}")
    return reg[name]
