"""Argument checks shared by every public boundary.

Each check names the argument, what was given and what was expected, and raises
one of the :mod:`rnndyn.errors` classes. Kernels never validate: everything is
checked here, once, before a kernel is called.
"""

from __future__ import annotations

import numbers

import numpy as np

from .errors import ArgumentTypeError, UnknownNameError, ValidationError


def _describe(x) -> str:
    if isinstance(x, np.ndarray):
        return f"an array of shape {x.shape} and dtype {x.dtype}"
    return f"{x!r}"[:80]


def as_real_array(x, name: str, *, ndim=None, dtype=np.float64, allow_none=False):
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
    """
    if x is None:
        if allow_none:
            return None
        raise ValidationError(f"{name}: expected an array, got None")
    if isinstance(x, (str, bytes)):
        raise ArgumentTypeError(f"{name}: expected a real array, got the string {_describe(x)}")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # ragged nested lists and the like
        raise ValidationError(f"{name}: could not be read as an array ({exc})") from None
    if arr.dtype == object:
        raise ArgumentTypeError(
            f"{name}: expected a real numeric array, got an object array "
            f"(ragged lists or Python objects) of shape {arr.shape}"
        )
    if np.iscomplexobj(arr):
        raise ArgumentTypeError(f"{name}: expected a real array, got complex dtype {arr.dtype}")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise ArgumentTypeError(f"{name}: expected a real numeric array, got dtype {arr.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            want = " or ".join(f"{k}-D" for k in allowed)
            raise ValidationError(f"{name}: expected a {want} array, got shape {arr.shape}")
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if arr.size and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValidationError(
            f"{name}: expected finite values, found {arr[tuple(bad)]} at index {tuple(int(i) for i in bad)}"
        )
    return arr


def as_float(x, name: str, *, positive=False, nonnegative=False) -> float:
    """A finite real scalar; optionally > 0 or ≥ 0."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Real, np.floating, np.integer)):
        if isinstance(x, np.ndarray) and x.ndim == 0 and np.isrealobj(x):
            x = x.item()
        else:
            raise ArgumentTypeError(f"{name}: expected a real number, got {_describe(x)}")
    v = float(x)
    if not np.isfinite(v):
        raise ValidationError(f"{name}: expected a finite number, got {v}")
    if positive and not v > 0:
        raise ValidationError(f"{name}: expected a number > 0, got {v}")
    if nonnegative and not v >= 0:
        raise ValidationError(f"{name}: expected a number >= 0, got {v}")
    return v


def as_int(x, name: str, *, minimum=None, maximum=None) -> int:
    """An integer (bool refused), within [minimum, maximum] when given."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (numbers.Integral, np.integer)):
        if isinstance(x, (float, np.floating)) and float(x).is_integer():
            x = int(x)
        else:
            raise ArgumentTypeError(f"{name}: expected an integer, got {_describe(x)}")
    v = int(x)
    if minimum is not None and v < minimum:
        raise ValidationError(f"{name}: expected an integer >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ValidationError(f"{name}: expected an integer <= {maximum}, got {v}")
    return v


def choice(x, name: str, options) -> str:
    """One of the string ``options``."""
    if not isinstance(x, str) or x not in options:
        raise UnknownNameError(f"{name}: expected one of {sorted(options)}, got {_describe(x)}")
    return x


def as_rng(rng) -> np.random.Generator:
    """None, an int seed or a Generator -> a Generator."""
    if rng is None or isinstance(rng, (numbers.Integral, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    raise ArgumentTypeError(f"rng: expected None, an int seed or a numpy Generator, got {_describe(rng)}")
