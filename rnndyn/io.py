"""Reading matrices and weights, writing results.

Every file is read with ``allow_pickle=False``: a weight file is data, never
code.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._validate import as_real_array
from .errors import LoadError
from .matrices import NAMED_MATRICES, named_matrix

MATRIX_SUFFIXES = (".npy", ".npz", ".csv", ".txt")


def _split_key(spec: str):
    # "file.npz:key" — but keep Windows drive letters ("C:\\...") intact
    head, sep, key = spec.rpartition(":")
    if sep and head.lower().endswith(".npz") and key:
        return head, key
    return spec, None


def load_array(spec) -> np.ndarray:
    """Read one real array from a .npy, .npz (``file.npz:key``), .csv or .txt file.

    Parameters
    ----------
    spec : str or os.PathLike
        Path, optionally ``path.npz:key``. An .npz holding a single array needs
        no key.

    Returns
    -------
    ndarray of float64

    Raises
    ------
    LoadError
        Missing file, unknown suffix, unreadable or non-numeric contents, a
        missing or ambiguous .npz key, or pickled objects.
    """
    path, key = _split_key(os.fspath(spec))
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in MATRIX_SUFFIXES:
        raise LoadError(f"matrix: {spec!r} is neither a named matrix ({', '.join(NAMED_MATRICES)}) "
                        f"nor a file with suffix {', '.join(MATRIX_SUFFIXES)}")
    if not p.is_file():
        raise LoadError(f"matrix: no such file {path!r}")
    try:
        if suffix == ".npy":
            arr = np.load(p, allow_pickle=False)
        elif suffix == ".npz":
            with np.load(p, allow_pickle=False) as z:
                names = list(z.files)
                if key is None:
                    if len(names) != 1:
                        raise LoadError(f"matrix: {path!r} holds {len(names)} arrays {names}; "
                                        f"pick one with {path}:KEY")
                    key = names[0]
                if key not in names:
                    raise LoadError(f"matrix: {path!r} has no array {key!r}; it holds {names}")
                arr = z[key]
        else:
            text = p.read_text()
            delim = "," if "," in text else None
            arr = np.loadtxt(p, delimiter=delim, ndmin=2, dtype=np.float64)
    except LoadError:
        raise
    except ValueError as exc:
        raise LoadError(f"matrix: could not read {path!r}: {exc}") from None
    except Exception as exc:  # zip/format errors of truncated files, OSError, ...
        raise LoadError(f"matrix: could not read {path!r} ({type(exc).__name__}: {exc})") from None
    try:
        return as_real_array(arr, f"matrix ({path})")
    except Exception as exc:
        raise LoadError(str(exc)) from None


def load_matrix(spec) -> np.ndarray:
    """A square matrix from a named matrix or a file.

    Parameters
    ----------
    spec : str, os.PathLike or array_like
        A name of :func:`rnndyn.named_matrix`, a path (see :func:`load_array`),
        or an array (returned as a validated float64 copy).

    Returns
    -------
    ndarray, shape (n, n)

    Examples
    --------
    >>> import rnndyn as rd
    >>> rd.load_matrix("W0")
    array([[ 0., -2.],
           [ 2.,  0.]])
    """
    if isinstance(spec, str) and spec in NAMED_MATRICES:
        return named_matrix(spec)
    if isinstance(spec, (str, os.PathLike)):
        arr = load_array(spec)
    else:
        arr = as_real_array(spec, "matrix")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1] or arr.shape[0] == 0:
        raise LoadError(f"matrix: expected a square (n, n) matrix, got shape {arr.shape} from {spec!r}")
    return arr
