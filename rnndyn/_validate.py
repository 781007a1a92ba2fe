"""Argument checks shared by every public boundary.

Each check names the argument, what was given and what was expected, and raises
one of the :mod:`rnndyn.errors` classes. Kernels never validate: everything is
checked here, once, before a kernel is called.
"""

from __future__ import annotations

import difflib
import numbers
import warnings

import numpy as np

from rnndyn import config
from rnndyn.errors import (
    ArgumentTypeError,
    MemoryLimitError,
    UnknownNameError,
    ValidationError,
)

#: dtype kinds accepted as real numbers: bool, signed/unsigned int, float.
#: (timedelta64 counts as a number to NumPy but is not one here.)
_REAL_KINDS = "biuf"


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    try:
        r = repr(x)
    except Exception:  # a broken __repr__ (or one too deeply nested) must not hide the real error
        r = f"<{type(x).__name__}>"
    r = " ".join(r.split())  # one line, whatever the repr
    return r if len(r) <= 80 else r[:77] + "..."


def _from_tensor(x):
    """A torch tensor (any device, with grad, bfloat16) -> ndarray; other objects unchanged."""
    mod = type(x).__module__ or ""
    if mod.startswith("torch") and hasattr(x, "detach"):
        t = x.detach().cpu()
        if t.is_complex():
            return t.numpy()
        return t.double().numpy() if t.is_floating_point() else t.numpy()
    return x


def _unreadable(name: str, exc: Exception) -> ValidationError:
    msg = " ".join(str(exc).split())
    if "inhomogeneous" in msg:
        return ValidationError(f"{name}: expected a rectangular array, got nested sequences of different lengths")
    return ValidationError(f"{name}: could not be read as an array ({type(exc).__name__}: {msg[:160]})")


def as_real_array(x, name: str, *, ndim=None, dtype=np.float64, allow_none=False, allow_nonfinite=False):
    """``x`` as a finite real float array with one of the allowed ``ndim``.

    Parameters
    ----------
    x : array_like
    name : str
        Argument name used in error messages.
    ndim : int or tuple of int, optional
        Allowed numbers of dimensions.
    dtype : numpy dtype
        Floating dtype of the result.
    allow_none : bool
        Return None for None instead of raising.
    allow_nonfinite : bool
        Keep inf and NaN (data that records an overflow, such as a series of norms).
    """
    if type(x) is np.ndarray and x.dtype == dtype:  # the common call: nothing to convert, only to check
        _check_ndim(x, name, ndim)
        arr = np.ascontiguousarray(x)
        if not allow_nonfinite:
            _check_finite(arr, name)
        return arr
    if x is None:
        if allow_none:
            return None
        raise ValidationError(f"{name}: expected an array, got None")
    if isinstance(x, (str, bytes)):
        raise ArgumentTypeError(f"{name}: expected a real array, got the string {_describe(x)}")
    if isinstance(x, (dict, set, frozenset)):
        raise ArgumentTypeError(f"{name}: expected a real array, got a {type(x).__name__}")
    try:
        arr = np.asarray(_from_tensor(x))
    except Exception as exc:  # ragged nested lists, tensors that refuse, and the like
        raise _unreadable(name, exc) from None
    if arr.dtype == object:
        raise ArgumentTypeError(
            f"{name}: expected a real numeric array, got an object array "
            f"(ragged lists, huge integers or Python objects) of shape {arr.shape}"
        )
    if np.iscomplexobj(arr):
        raise ArgumentTypeError(f"{name}: expected a real array, got complex dtype {arr.dtype}")
    if arr.dtype.kind not in _REAL_KINDS:
        raise ArgumentTypeError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
    _check_ndim(arr, name, ndim)
    with np.errstate(over="ignore", invalid="ignore"):  # long double -> float64 overflow is caught below
        arr = np.ascontiguousarray(arr, dtype=dtype)
    if not allow_nonfinite:
        _check_finite(arr, name)
    return arr


def _check_ndim(arr: np.ndarray, name: str, ndim) -> None:
    if ndim is None or arr.ndim == ndim:
        return
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if arr.ndim not in allowed:
        want = " or ".join(f"{k}-D" for k in allowed)
        raise ValidationError(f"{name}: expected a {want} array, got shape {arr.shape}")


def _check_finite(arr: np.ndarray, name: str) -> None:
    if arr.size and not np.isfinite(arr).all():
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValidationError(
            f"{name}: expected finite values, found {arr[tuple(bad)]} at index {tuple(int(i) for i in bad)}"
        )


def as_complex_array(x, name: str, *, what: str = "an array of (complex) numbers", allow_nonfinite: bool = False):
    """``x`` as a 1-D complex128 array (eigenvalues, say), refusing strings, None, ragged and object input.

    Parameters
    ----------
    x : array_like
    name : str
        Argument name used in error messages.
    what : str
        What was expected, for the messages.
    allow_nonfinite : bool
        Let inf and NaN through (a diverged estimate that is to be shown as such).
    """
    if x is None or isinstance(x, (str, bytes, dict, set, frozenset)):
        raise ArgumentTypeError(f"{name}: expected {what}, got {_describe(x)}")
    try:
        arr = np.asarray(_from_tensor(x))
    except Exception as exc:  # ragged nested lists and the like
        raise _unreadable(name, exc) from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ArgumentTypeError(f"{name}: expected {what}, got {_describe(x)}")
    with np.errstate(over="ignore", invalid="ignore"):
        arr = arr.astype(np.complex128).ravel()
    if not allow_nonfinite and arr.size and not np.all(np.isfinite(arr)):
        raise ValidationError(f"{name}: expected finite values, found {arr[~np.isfinite(arr)][0]}")
    return arr


def as_float(x, name: str, *, positive=False, nonnegative=False) -> float:
    """A finite real scalar; optionally > 0 or ≥ 0."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.floating, np.integer)):
        if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
            x = x.item()
        else:
            raise ArgumentTypeError(f"{name}: expected a real number, got {_describe(x)}")
    try:
        v = float(x)
    except (OverflowError, ValueError, TypeError):  # ints beyond float range, odd Real subclasses
        raise ValidationError(f"{name}: expected a finite number, got {_describe(x)}") from None
    if not np.isfinite(v):
        raise ValidationError(f"{name}: expected a finite number, got {v}")
    if positive and not v > 0:
        raise ValidationError(f"{name}: expected a number > 0, got {v}")
    if nonnegative and not v >= 0:
        raise ValidationError(f"{name}: expected a number >= 0, got {v}")
    return v


def as_int(x, name: str, *, minimum=None, maximum=None) -> int:
    """An integer (bool refused), within [minimum, maximum] when given."""
    if isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf":
        x = x.item()
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Integral, np.integer)):
        if isinstance(x, (float, np.floating)) and float(x).is_integer():
            x = int(x)
        else:
            raise ArgumentTypeError(f"{name}: expected an integer, got {_describe(x)}")
    v = int(x)
    if abs(v) >= 2**63:  # every count ends up in an int64 (shapes, kernel loops)
        raise ValidationError(f"{name}: expected an integer of magnitude below 2**63, got one of {v.bit_length()} bits")
    if minimum is not None and v < minimum:
        raise ValidationError(f"{name}: expected an integer >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValidationError(f"{name}: expected an integer <= {maximum}, got {v}")
    return v


def did_you_mean(x, options) -> str:
    """`` (did you mean 'W0'?)`` for the option closest to the string ``x``, else ``""``."""
    if not isinstance(x, str):
        return ""
    opts = {str(o).lower(): str(o) for o in options}
    close = difflib.get_close_matches(x.lower(), list(opts), n=1, cutoff=0.5)
    return f" (did you mean {opts[close[0]]!r}?)" if close else ""


def choice(x, name: str, options) -> str:
    """One of the string ``options``."""
    if not isinstance(x, str) or x not in options:
        raise UnknownNameError(f"{name}: expected one of {sorted(options)}, got {_describe(x)}{did_you_mean(x, options)}")
    return x


def as_rng(rng) -> np.random.Generator:
    """None, an int seed (>= 0), a SeedSequence/BitGenerator or a Generator -> a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (np.random.SeedSequence, np.random.BitGenerator)):
        return np.random.default_rng(rng)
    if rng is None or isinstance(rng, (numbers.Integral, np.integer)) and not isinstance(rng, (bool, np.bool_)):
        if rng is not None and int(rng) < 0:
            raise ValidationError(f"rng: expected a seed >= 0, got {int(rng)}")
        return np.random.default_rng(rng)
    raise ArgumentTypeError(f"rng: expected None, an int seed or a numpy Generator, got {_describe(rng)}")


def check_memory(nbytes: float, what: str, suggestion: str) -> None:
    """Refuse a request whose result would exceed ``config.MEMORY_LIMIT_BYTES``, before allocating it.

    Parameters
    ----------
    nbytes : float
        The size the result would take.
    what : str
        What would be allocated, for the message ("recording 10 states of ...").
    suggestion : str
        What to ask for instead ("use record='last'").

    Raises
    ------
    MemoryLimitError
        ``"<what> would need X GiB, more than the limit of Y GiB
        (rnndyn.config.MEMORY_LIMIT_BYTES); <suggestion>"``.
    """
    if config.MEMORY_LIMIT_PROBLEM is not None:
        # Said here rather than at import, so that it reaches the user through the caller's warning
        # display (the command line's one "Warning:" line).
        problem, config.MEMORY_LIMIT_PROBLEM = config.MEMORY_LIMIT_PROBLEM, None
        warnings.warn(problem, RuntimeWarning, stacklevel=3)
    if nbytes > config.MEMORY_LIMIT_BYTES:
        raise MemoryLimitError(
            f"{what} would need {nbytes / 2**30:.2f} GiB, more than the limit of "
            f"{config.MEMORY_LIMIT_BYTES / 2**30:.2f} GiB (rnndyn.config.MEMORY_LIMIT_BYTES); {suggestion}"
        )
