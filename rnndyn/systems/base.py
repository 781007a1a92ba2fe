"""The System protocol: what every model rnndyn analyses provides.

A system is an iterated map ``h_t = F(h_{t-1}, x_t)`` with state size ``n`` and
input size ``d``. Its *family* says which kernels can run it:

``"cell"``
    the one update form ``h_t = α h_{t-1} + β_t ∘ φ(M h_{t-1} + V x_t + b)`` of
    :class:`~rnndyn.systems.cells.VanillaRNN`, :class:`~rnndyn.systems.cells.EulerRNN`
    and :class:`~rnndyn.systems.cells.AntisymmetricRNN`; kernel arguments are a
    :class:`~rnndyn.kernels.params.CellParams` tuple;
``"map"``
    :class:`~rnndyn.systems.maps.Map`, any map given by a compiled rule and its
    Jacobian; kernel arguments are ``(rule, jacobian, params)``;
``"lstm"``
    :class:`~rnndyn.systems.lstm.LSTM` (state ``(h, c)``, size ``2n``); it runs on
    the map kernels with its own compiled rule.

Algorithms never ask a model what it can do (no ``hasattr``): they take its
family from :func:`family_of` and look the (algorithm, family, backend) triple
up in one table (:func:`rnndyn.backends.kernel_for`).
"""

from __future__ import annotations

import abc

import numpy as np

from rnndyn._validate import _describe
from rnndyn.errors import ArgumentTypeError

FAMILIES = ("cell", "map", "lstm")


class System(abc.ABC):
    """Base class of every model: a map ``h ↦ F(h, x)`` with its Jacobian.

    Subclasses set the class attribute ``family`` and provide

    * ``dim`` — the size of the state the algorithms iterate (the last axis of
      ``h0``): ``n`` for a cell or a Map, ``2n`` for an LSTM (state ``[h; c]``);
    * ``n`` — the model's own size (the state size; an LSTM's hidden size);
    * ``d`` — the input size (0 for none);
    * :meth:`kernel_args`, :meth:`step` and :meth:`jacobian`;
    * optionally :meth:`input_messages`, how :func:`~rnndyn.analysis.trajectories.prepare`
      words a mismatch between the system and the inputs it is given.
    """

    family: str = ""
    #: How error messages name the system ("the cell's state size").
    noun: str = "system"

    @property
    @abc.abstractmethod
    def n(self) -> int:
        """The model's size: its state size (an LSTM: the hidden size)."""

    @property
    @abc.abstractmethod
    def d(self) -> int:
        """Input size (0 when the system takes no inputs)."""

    @abc.abstractmethod
    def kernel_args(self, with_inputs: bool = True) -> tuple:
        """The system unpacked into the plain arrays and scalars its family's kernels take.

        Parameters
        ----------
        with_inputs : bool
            False for a run without inputs: a system whose kernels would
            otherwise expect input weights gets zero-width ones.
        """

    @abc.abstractmethod
    def step(self, h, x=None) -> np.ndarray:
        """One update ``F(h, x)`` for a state (dim,) or a batch (B, dim)."""

    @abc.abstractmethod
    def jacobian(self, h, x=None) -> np.ndarray:
        """The one-step Jacobian ``∂F/∂h`` at ``h``: (dim, dim), or (B, dim, dim) for a batch."""

    def input_messages(self) -> tuple[str, str | None]:
        """Error messages about inputs: given to a system that takes none, and missing where required.

        Returns
        -------
        (str, str or None)
            The first is a template with ``{shape}`` (the shape of the inputs
            given); the second is None when inputs are optional.
        """
        return f"inputs: the {self.noun} takes no inputs, but inputs of shape {{shape}} were given", None


def family_of(system, argname: str = "system") -> str:
    """The family of ``system``, refusing anything that is not a System instance.

    Parameters
    ----------
    system : System
        A cell, an LSTM or a Map.
    argname : str
        The argument's name in the error message.

    Returns
    -------
    str
        One of :data:`FAMILIES`.

    Raises
    ------
    ArgumentTypeError
        For a class instead of an instance, or any other object.

    Examples
    --------
    >>> import rnndyn as rd
    >>> family_of(rd.EulerRNN(rd.named_matrix("W0")))
    'cell'
    """
    if isinstance(system, type) and issubclass(system, System):
        raise ArgumentTypeError(
            f"{argname}: expected a system instance, got the class {system.__name__} itself "
            f"(build one first, e.g. {system.__name__}(W))"
        )
    if not isinstance(system, System):
        raise ArgumentTypeError(
            f"{argname}: expected an rnndyn system (VanillaRNN, EulerRNN, AntisymmetricRNN, LSTM or Map), "
            f"got {_describe(system)}"
        )
    return system.family
