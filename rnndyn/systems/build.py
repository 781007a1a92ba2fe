"""Systems built from names: the choices the command line offers, and the random problems of the figures.

A command or a figure names what it wants ("an antisymmetric cell of size 64,
W from ``normal``, driven by noise in 3 channels"); this module turns the
names into systems, so that every random draw happens in the library, in one
documented order, and the command line and the figures cannot drift apart.

Names
-----
CELL_KINDS          the cell kinds of :data:`~rnndyn.systems.cells.CELL_TYPES`
ACTIVATION_CHOICES  the activations the cells accept
CLASSIC_MAPS        the built-in maps by name (henon, logistic), with their classic start points
SYSTEM_KINDS        every kind :func:`random_problem` builds: the cells, ``"lstm"`` and the maps
build_cell          a cell from its kind and parameters
cell_parameters     which of ε, γ a cell kind takes
random_problem      a seeded (system, h0, inputs) triple
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from rnndyn._validate import as_float, as_int, as_real_array, as_rng, choice
from rnndyn.errors import ValidationError
from rnndyn.kernels.params import ACTIVATIONS
from rnndyn.matrices import parse_init_spec
from rnndyn.systems.cells import CELL_TYPES
from rnndyn.systems.lstm import LSTM
from rnndyn.systems.maps import henon, logistic

__all__ = [
    "ACTIVATION_CHOICES",
    "CELL_KINDS",
    "CLASSIC_MAPS",
    "SYSTEM_KINDS",
    "Problem",
    "build_cell",
    "cell_parameters",
    "random_problem",
]

#: The cell kinds, in the order of :data:`~rnndyn.systems.cells.CELL_TYPES`.
CELL_KINDS = tuple(CELL_TYPES)

#: The activations a cell accepts (``identity`` is another name for ``linear``).
ACTIVATION_CHOICES = tuple(ACTIVATIONS)

#: The built-in maps: name -> (factory, classic initial state). The Hénon map at a = 1.4, b = 0.3
#: and the logistic map at r = 4 are the chaotic textbook cases with known Lyapunov exponents.
CLASSIC_MAPS = {
    "henon": (henon, (0.1, 0.1)),
    "logistic": (lambda: logistic(4.0), (0.3,)),
}

#: Every kind :func:`random_problem` builds.
SYSTEM_KINDS = (*CELL_KINDS, "lstm", *CLASSIC_MAPS)


def build_cell(kind, W, *, eps=0.1, gamma=0.0, activation="tanh", V=None, b=None, gated=False):
    """The cell of kind ``kind`` over the recurrent matrix ``W``.

    Parameters
    ----------
    kind : str
        One of :data:`CELL_KINDS` (``"vanilla"``, ``"euler"``, ``"antisymmetric"``).
    W : array_like, shape (n, n)
    eps, gamma : float
        Step size and diffusion; ignored by a cell without them (the vanilla cell).
    activation : str
        One of :data:`ACTIVATION_CHOICES`.
    V : array_like, shape (n, d), optional
    b : array_like, shape (n,), optional
    gated : bool
        The input gate, for cells that have one (the antisymmetric cell).

    Returns
    -------
    VanillaRNN, EulerRNN or AntisymmetricRNN

    Raises
    ------
    UnknownNameError
        For an unknown kind.
    ValidationError
        For ``gated=True`` on a cell without a gate, and whatever the cell refuses.

    Examples
    --------
    >>> import rnndyn as rd
    >>> from rnndyn.systems.build import build_cell
    >>> c = build_cell("antisymmetric", rd.named_matrix("W0"), gamma=0.15)
    >>> type(c).__name__, c.eps, c.gamma
    ('AntisymmetricRNN', 0.1, 0.15)
    >>> type(build_cell("vanilla", rd.named_matrix("rotation"), eps=0.5)).__name__
    'VanillaRNN'
    """
    cls = CELL_TYPES[choice(kind, "cell", CELL_KINDS)]
    fields = _names(cls)
    kw = {"V": V, "b": b, "activation": activation}
    if "eps" in fields:
        kw.update(eps=eps, gamma=gamma)
    if gated:
        if "gated" not in fields:
            raise ValidationError(f"gated: the {kind} cell has no input gate; only "
                                  f"{', '.join(k for k, c in CELL_TYPES.items() if 'gated' in _names(c))} cells do")
        kw["gated"] = True
    return cls(W, **kw)


def _names(cls) -> set:
    return {f.name for f in dataclasses.fields(cls)}


def cell_parameters(kind) -> tuple:
    """The scalar parameters a cell kind takes besides its activation: ``("eps", "gamma")`` or ``()``.

    Examples
    --------
    >>> from rnndyn.systems.build import cell_parameters
    >>> cell_parameters("euler"), cell_parameters("vanilla")
    (('eps', 'gamma'), ())
    """
    names = _names(CELL_TYPES[choice(kind, "cell", CELL_KINDS)])
    return tuple(p for p in ("eps", "gamma") if p in names)


@dataclass(frozen=True)
class Problem:
    """A system with an initial state and inputs, as :func:`random_problem` draws them.

    Attributes
    ----------
    system : System
        A cell, an LSTM or a Map.
    h0 : ndarray, shape (dim,)
        The initial state (an LSTM's is ``[h; c]``, of size 2n).
    inputs : ndarray, shape (T, d), or None
        Standard Gaussian inputs, None for an autonomous system.
    description : str
        One line saying what was built ("antisymmetric cell, n = 16, W from normal, ε = 0.1, γ = 0").
    """

    system: object
    h0: np.ndarray
    inputs: np.ndarray | None
    description: str


def random_problem(kind="antisymmetric", n=None, *, W=None, init="normal", d=0, steps=0, eps=0.1, gamma=0.0,
                   activation="tanh", h0="random", rng=None, cell=None) -> Problem:
    """A seeded system with its initial state and inputs: the random problems of ``rnndyn lyapunov`` and the figures.

    Every draw comes from one generator, in this order: W from ``init``
    (cells, unless ``W`` is given) or the LSTM's weights (:meth:`LSTM.init`);
    the input weights V ~ N(0, 1/d) (cells, when d > 0); the inputs x_t ~
    N(0, 1) of shape (steps, d) (when d > 0); last h0 ~ N(0, 0.5²) (when
    ``h0="random"``). Two calls with the same arguments and seed give the same
    problem, and a problem without a random h0 consumes the generator exactly
    as one with it up to that last draw.

    Parameters
    ----------
    kind : str
        One of :data:`SYSTEM_KINDS`: a cell kind, ``"lstm"`` or a map of
        :data:`CLASSIC_MAPS`.
    n : int, optional
        State size of a cell whose W is drawn, hidden size of the LSTM (default
        16). Not with ``W``, not for maps.
    W : array_like, shape (n, n), optional
        The recurrent matrix of a cell (instead of drawing it).
    init : str
        An init spec (:data:`rnndyn.init.INIT_SPEC_GRAMMAR`) for drawing W;
        the default ``normal`` is N(0, 1/n) entries (spectral radius ≈ 1), the
        initialisation of Chang et al. (2019).
    d : int
        Input channels driven by Gaussian noise; 0 for an autonomous system.
        Not for maps.
    steps : int
        Number of input steps drawn (when d > 0).
    eps, gamma, activation
        Cell parameters (see :func:`build_cell`).
    h0 : {"random", "zeros"} or array_like
        The initial state: N(0, 0.5²) entries, zeros, or the given one. A map
        starts at its classic point (``CLASSIC_MAPS``) unless given one.
    rng : None, int or numpy.random.Generator
    cell : VanillaRNN, EulerRNN or AntisymmetricRNN, optional
        A cell built elsewhere (trained weights read by
        :func:`rnndyn.load_cell`), of kind ``kind``, driven through its own
        input weights V and bias b: nothing but the inputs (``d`` = its input
        size, or 0 for none) and h0 is drawn. Not with ``W`` or ``n``.

    Returns
    -------
    Problem

    Examples
    --------
    >>> from rnndyn.systems.build import random_problem
    >>> p = random_problem("antisymmetric", 8, d=3, steps=20, gamma=0.1, rng=0)
    >>> p.system.n, p.system.d, p.inputs.shape, p.h0.shape
    (8, 3, (20, 3), (8,))
    >>> p.description
    'antisymmetric cell, n = 8, W from normal, ε = 0.1, γ = 0.1, driven by N(0, 1) noise in 3 channels'
    >>> random_problem("henon").h0.tolist()
    [0.1, 0.1]
    """
    kind = choice(kind, "kind", SYSTEM_KINDS)
    d = as_int(d, "d", minimum=0)
    T = as_int(steps, "steps", minimum=0)
    g = as_rng(rng)
    if kind in CLASSIC_MAPS:
        unused = [name for name, given in (("W", W is not None), ("n", n is not None), ("d", d > 0)) if given]
        if unused:
            raise ValidationError(f"{', '.join(unused)}: not used by the {kind} map")
        factory, start = CLASSIC_MAPS[kind]
        system = factory()
        if _is(h0, "random"):
            x0 = np.array(start, dtype=np.float64)
        elif _is(h0, "zeros"):
            x0 = np.zeros(len(start))
        else:
            x0 = _given_h0(h0, len(start))
        return Problem(system, x0, None, system.name)
    if kind == "lstm":
        if W is not None:
            raise ValidationError("W: the LSTM is built by LSTM.init (orthogonal recurrent blocks, forget bias 1); "
                                  "give n instead")
        size = 16 if n is None else as_int(n, "n", minimum=1)
        system = LSTM.init(size, d=d, rng=g)
        desc = f"LSTM, n = {size} (state [h; c] of size {2 * size})"
        dim = 2 * size
    elif cell is not None:
        unused = [name for name, given in (("W", W is not None), ("n", n is not None)) if given]
        if unused:
            raise ValidationError(f"{', '.join(unused)}: not used with cell (the cell has its own W)")
        if type(cell) is not CELL_TYPES[kind]:
            raise ValidationError(f"cell: expected a {CELL_TYPES[kind].__name__} (kind={kind!r}), got "
                                  f"{type(cell).__name__}")
        if d and d != cell.d:
            raise ValidationError(f"d: the cell takes {cell.d} inputs (its V has shape {cell.V.shape}), got {d}")
        system, size, dim = cell, cell.n, cell.n
        desc = f"{kind} cell, n = {size}, W given"
        if cell_parameters(kind):
            desc += f", ε = {cell.eps:g}, γ = {cell.gamma:g}"
    else:
        if W is not None and n is not None:
            raise ValidationError("W, n: give one of them (n draws W from init)")
        if W is None:
            size = 16 if n is None else as_int(n, "n", minimum=1)
            spec = parse_init_spec(init)
            W = spec.matrix(size, g)
            what = f"W from {spec}"
        else:
            W = as_real_array(W, "W", ndim=2)
            size = W.shape[0]
            what = "W given"
        V = g.normal(0.0, 1.0 / math.sqrt(d), (size, d)) if d else None
        system = build_cell(kind, W, eps=eps, gamma=gamma, activation=activation, V=V)
        desc = f"{kind} cell, n = {size}, {what}"
        if cell_parameters(kind):
            desc += f", ε = {as_float(eps, 'eps'):g}, γ = {as_float(gamma, 'gamma'):g}"
        dim = size
    inputs = g.normal(size=(T, d)) if d else None
    if d:
        desc += f", driven by N(0, 1) noise in {d} channels"
    if _is(h0, "random"):
        x0 = g.normal(0.0, 0.5, dim)
    elif _is(h0, "zeros"):
        x0 = np.zeros(dim)
    else:
        x0 = _given_h0(h0, dim)
    return Problem(system, x0, inputs, desc)


def _is(h0, word: str) -> bool:
    return isinstance(h0, str) and h0 == word


def _given_h0(h0, dim: int) -> np.ndarray:
    if isinstance(h0, str):
        raise ValidationError(f"h0: expected 'random', 'zeros' or a state of {dim} numbers, got {h0!r}")
    x0 = as_real_array(h0, "h0", ndim=1)
    if x0.shape != (dim,):
        raise ValidationError(f"h0: expected {dim} numbers (the state size), got {x0.shape[0]}")
    return x0
