"""Reading plain arrays: .npy, .npz, CSV and text tables, as validated float64 arrays.

Every file is read as data only (``allow_pickle=False``). Array sizes are
checked against the file size and against ``config.MEMORY_LIMIT_BYTES`` from
the header alone, *before* anything is allocated, so a truncated or corrupted
file is refused with one :class:`~rnndyn.errors.LoadError` rather than half-read.
The readers here (npz members, npy headers, text tables) are shared by
:mod:`rnndyn.io.weights` and :mod:`rnndyn.io.results`.
"""

from __future__ import annotations

import io as _io
import math
import os
import re
import stat
import zipfile
from pathlib import Path

import numpy as np

from rnndyn._validate import _describe, as_real_array, check_memory
from rnndyn.errors import ArgumentTypeError, LoadError, ValidationError
from rnndyn.matrices import NAMED_MATRICES

__all__ = ["MATRIX_SUFFIXES", "TORCH_SUFFIXES", "load_array"]

#: Suffixes of files holding one plain array.
MATRIX_SUFFIXES = (".npy", ".npz", ".csv", ".txt")
#: Suffixes of PyTorch files (read by :mod:`rnndyn.io.weights`).
TORCH_SUFFIXES = (".pt", ".pth")


def _split_key(spec: str, suffixes=(".npz",) + TORCH_SUFFIXES):
    # "file.npz:key" — but keep Windows drive letters ("C:\\...") intact
    head, sep, key = spec.rpartition(":")
    if sep and head.lower().endswith(suffixes) and key:
        return head, key
    return spec, None


def _npy_header(fp, where: str) -> tuple[tuple, np.dtype]:
    """(shape, dtype) from a .npy header, the file positioned at its start."""
    version = np.lib.format.read_magic(fp)
    if version == (1, 0):
        shape, _, dtype = np.lib.format.read_array_header_1_0(fp)
    elif version in ((2, 0), (3, 0)):
        # Version 3 differs from 2 only in the header's text encoding (UTF-8 for structured dtypes
        # with non-ASCII names), which does not change the shape or the item size read here.
        shape, _, dtype = np.lib.format.read_array_header_2_0(fp)
    else:
        raise LoadError(f"{where}: unknown .npy format version {version[0]}.{version[1]}")
    return shape, dtype


def _check_npy_header(fp, available: int, where: str) -> None:
    """Refuse object dtypes, truncation and oversized arrays from the header alone."""
    shape, dtype = _npy_header(fp, where)
    if dtype.hasobject:
        raise LoadError(f"{where}: holds Python objects (dtype {dtype}); rnndyn reads numeric data only "
                        "and never unpickles (allow_pickle=False)")
    nbytes = math.prod(shape) * dtype.itemsize
    check_memory(nbytes, f"reading {where} (shape {shape}, dtype {dtype})", "is this the right file?")
    rest = available - fp.tell()
    if rest < nbytes:
        raise LoadError(f"{where}: truncated: the header declares shape {shape} of {dtype} "
                        f"({nbytes} bytes) but only {max(rest, 0)} bytes follow")


def _read_text_table(p: Path) -> np.ndarray:
    # Every number takes at least two characters ("1,") and becomes 8 bytes, and the text itself is
    # held while parsing: 5x the file size bounds what reading it allocates.
    check_memory(5.0 * p.stat().st_size, f"reading the text table {p.name}", "is this the right file?")
    raw = p.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LoadError(f"spec: {str(p)!r} is not a text file (it is not valid UTF-8)") from None
    if "\x00" in text:
        raise LoadError(f"spec: {str(p)!r} is not a text file (it holds NUL bytes)")
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise LoadError(f"spec: {str(p)!r} holds no numbers")
    body = "\n".join(lines)  # (a comma in a comment line must not pick the delimiter)
    delim = "," if "," in body else (";" if ";" in body else None)

    def numeric(field):
        try:
            float(field)
            return True
        except ValueError:
            return False

    # A header row of column names (common in CSVs from papers) is skipped, but
    # only when none of its fields is a number: a malformed data row still fails.
    first = [f.strip() for f in (lines[0].split(delim) if delim else lines[0].split())]
    if not any(numeric(f) for f in first):
        lines = lines[1:]
        if not lines:
            raise LoadError(f"spec: {str(p)!r} holds a header row but no numbers")
    return np.loadtxt(_io.StringIO("\n".join(lines)), delimiter=delim, ndmin=2, dtype=np.float64,
                      comments=None)


def check_regular_file(p: Path, where: str) -> None:
    """Refuse a missing path, and anything that is not a regular file, before it is opened: a FIFO
    would block the reader forever and a device such as /dev/zero never ends."""
    try:
        st = p.stat()
    except FileNotFoundError:
        raise LoadError(f"{where}: no such file {str(p)!r}") from None
    except ValueError:  # "embedded null byte"
        raise ValidationError(f"{where}: a file name cannot contain a NUL character, got {str(p)!r}") from None
    except OSError as exc:
        raise LoadError(f"{where}: cannot read {str(p)!r} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(st.st_mode):
        kind = ("a folder" if stat.S_ISDIR(st.st_mode) else "a FIFO (named pipe)" if stat.S_ISFIFO(st.st_mode)
                else "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else "not a regular file")
        raise LoadError(f"{where}: {str(p)!r} is {kind}; expected a regular file")


def _open_npz(p: Path, where: str) -> zipfile.ZipFile:
    check_regular_file(p, where)
    try:
        return zipfile.ZipFile(p)
    except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError, OSError) as exc:
        # A damaged header can claim an unsupported zip version or compression
        # (NotImplementedError) as easily as it can fail the magic check.
        raise LoadError(f"{where}: {str(p)!r} is not a valid .npz (zip) file: truncated or corrupted "
                        f"({type(exc).__name__})") from None


def _read_npz_member(zf: zipfile.ZipFile, p: Path, key: str, where: str) -> np.ndarray:
    member = key if key in zf.namelist() else key + ".npy"
    info = zf.getinfo(member)
    try:
        fp = zf.open(info)
    except (zipfile.BadZipFile, NotImplementedError, ValueError, EOFError, OSError) as exc:
        raise LoadError(f"{where}: entry {key!r} of {str(p)!r} cannot be read: truncated or corrupted "
                        f"({type(exc).__name__})") from None
    with fp:
        head = fp.read(6)
        if head != b"\x93NUMPY":
            raise LoadError(f"{where}: entry {key!r} of {str(p)!r} is not a NumPy array")
    with zf.open(info) as fp:
        _check_npy_header(fp, info.file_size, f"{where} ({p.name}:{key})")
    # Read from the archive already open: np.load(p)[key] would reopen and re-index the whole
    # archive for every member (quadratic in the number of members).
    with zf.open(info) as fp:
        return np.lib.format.read_array(fp, allow_pickle=False)


def check_npz_total(zf: zipfile.ZipFile, p: Path, where: str) -> None:
    """Refuse an archive whose members together exceed the memory limit, from their headers alone
    (each member may pass on its own)."""
    total = 0
    for info in zf.infolist():
        with zf.open(info) as fp:
            if fp.read(6) != b"\x93NUMPY":
                continue  # reported by the reader of that member
        with zf.open(info) as fp:
            shape, dtype = _npy_header(fp, f"{where} ({p.name}:{info.filename})")
        total += math.prod(shape) * dtype.itemsize
    check_memory(total, f"reading {where} ({len(zf.infolist())} arrays in {p.name})", "is this the right file?")


def _npz_keys(zf: zipfile.ZipFile) -> list[str]:
    return [n[:-4] if n.endswith(".npy") else n for n in zf.namelist()]


def load_array(spec) -> np.ndarray:
    """Read one real array from a .npy, .npz (``file.npz:key``), .csv or .txt file.

    Parameters
    ----------
    spec : str or os.PathLike
        Path, optionally ``path.npz:key``. An .npz holding a single array needs
        no key. Text files are whitespace-, comma- or semicolon-separated;
        ``#`` comment lines and a header row of column names are skipped.

    Returns
    -------
    ndarray of float64

    Raises
    ------
    LoadError
        Missing file, unknown suffix, unreadable or non-numeric contents, a
        missing or ambiguous .npz key, pickled objects, or a truncated file.
    MemoryLimitError
        An array whose header declares more than ``config.MEMORY_LIMIT_BYTES``.

    Examples
    --------
    >>> import numpy as np, rnndyn as rd, tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "w.csv")
    >>> _ = open(path, "w").write("a,b\\n1,2\\n3,4\\n")
    >>> rd.load_array(path)
    array([[1., 2.],
           [3., 4.]])
    """
    if not isinstance(spec, (str, os.PathLike)):
        raise ArgumentTypeError(f"spec: expected a path, got {_describe(spec)}")
    path, key = _split_key(os.fspath(spec), (".npz",))
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in MATRIX_SUFFIXES:
        raise LoadError(f"spec: {os.fspath(spec)!r} is neither a named matrix ({', '.join(NAMED_MATRICES)}) "
                        f"nor a file with suffix {', '.join(MATRIX_SUFFIXES + TORCH_SUFFIXES)}")
    check_regular_file(p, "spec")
    where = f"spec ({p.name})"
    try:
        if suffix == ".npy":
            with open(p, "rb") as fp:
                _check_npy_header(fp, p.stat().st_size, where)
            arr = np.load(p, allow_pickle=False)
        elif suffix == ".npz":
            with _open_npz(p, "spec") as zf:
                names = _npz_keys(zf)
                if key is None:
                    if len(names) != 1:
                        raise LoadError(f"spec: {path!r} holds {len(names)} arrays {names}; "
                                        f"pick one with {path}:KEY")
                    key = names[0]
                if key not in names:
                    raise LoadError(f"spec: {path!r} has no array {key!r}; it holds {names}")
                arr = _read_npz_member(zf, p, key, "spec")
        else:
            arr = _read_text_table(p)
    except LoadError:
        raise
    except ValidationError:  # MemoryLimitError
        raise
    except ValueError as exc:
        raise LoadError(f"spec: could not read {path!r}: {_one_line(exc)}") from None
    except Exception as exc:  # zip/format errors of truncated files, OSError, ...
        raise LoadError(f"spec: could not read {path!r} ({type(exc).__name__}: {_one_line(exc)})") from None
    try:
        return as_real_array(arr, where)
    except Exception as exc:
        raise LoadError(str(exc)) from None


def _one_line(exc) -> str:
    # foreign messages may carry ANSI colour codes and control characters: keep one plain line
    text = re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(exc))
    text = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(text.split())[:200]
