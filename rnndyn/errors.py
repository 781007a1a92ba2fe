"""The one family of errors rnndyn raises for bad input.

Every error a user can provoke with a wrong argument is an :class:`RnndynError`;
the concrete classes also derive from the builtin exception a Python user would
expect (``ValueError`` for a bad value or shape, ``TypeError`` for a bad type),
so ``except ValueError`` keeps working.
"""

from __future__ import annotations


class RnndynError(Exception):
    """Base class of every error rnndyn raises on bad input."""


class ValidationError(RnndynError, ValueError):
    """An argument has the wrong value, shape or contents."""


class ArgumentTypeError(RnndynError, TypeError):
    """An argument has the wrong type or dtype."""


class UnknownNameError(ValidationError, KeyError):
    """A name (matrix, activation, backend, loss, ...) is not one rnndyn knows."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class MemoryLimitError(ValidationError):
    """A request whose result would exceed ``config.MEMORY_LIMIT_BYTES``."""


class LoadError(ValidationError):
    """A file could not be read as the array or weights it should hold."""


class SaveError(ValidationError):
    """A result could not be written (unknown format, a field that is not data, an unwritable path)."""


class DivergenceWarning(RuntimeWarning):
    """A trajectory became non-finite; the step is in the result's ``diverged_at``."""


class AssumptionWarning(UserWarning):
    """An input left something unsaid and rnndyn assumed it (a state dict's nonlinearity, the layer of a
    multi-layer model); the message says what was assumed and which argument states it."""


class UnsupportedError(ValidationError):
    """An algorithm has no kernel for this kind of system on this backend.

    Raised in one place (:func:`rnndyn.backends.kernel_for`) for every
    (algorithm, family, backend) triple that is not supported.
    """
