"""Writing results and reading them back: .npz or .json, atomically.

:func:`save_result` flattens any result of rnndyn (a frozen dataclass, possibly
nested, or a dict) to named arrays plus JSON metadata, and writes the file next
to its destination before moving it into place with :func:`os.replace`, so a
saved file is complete or absent, never partial. :func:`load_result` reads one
back as a :class:`ResultDict` (numeric data only: ``allow_pickle=False``).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import numbers
import os
import platform
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from rnndyn._validate import _describe, _from_tensor, check_memory
from rnndyn._version import __version__
from rnndyn.errors import ArgumentTypeError, LoadError, SaveError, ValidationError
from rnndyn.io.arrays import _npz_keys, _one_line, _open_npz, _read_npz_member, check_npz_total, check_regular_file

__all__ = ["MAX_NESTING", "RESULT_SUFFIXES", "ResultDict", "load_result", "save_result"]

#: Suffixes :func:`save_result` writes and :func:`load_result` reads.
RESULT_SUFFIXES = (".npz", ".json")

#: Key of the JSON metadata inside a result .npz.
_META_KEY = "__rnndyn__"
_RESULT_FORMAT = "rnndyn-result"
_RESULT_FORMAT_VERSION = 1


class ResultDict(dict):
    """What :func:`load_result` returns: {dotted field name: value}, plus ``.metadata``."""

    def __init__(self, fields, metadata):
        super().__init__(fields)
        self.metadata = metadata


#: Deepest nesting of dataclasses, dicts and sequences a result or its params may have.
MAX_NESTING = 64


def _flatten_result(obj, key: str, out: dict, none: list, _path: tuple = ()) -> None:
    if key == _META_KEY:
        raise SaveError(f"result: the field name {_META_KEY!r} is reserved")
    join = (lambda k: f"{key}.{k}") if key else (lambda k: str(k))
    obj = _from_tensor(obj)
    container = (dataclasses.is_dataclass(obj) and not isinstance(obj, type)) or isinstance(obj, (Mapping, list, tuple))
    if container:
        if any(obj is o for o in _path):
            raise SaveError(f"result: field {key or '(the result)'!r} contains itself; a result must be a tree")
        if len(_path) >= MAX_NESTING:
            raise SaveError(f"result: field {key!r} is nested deeper than {MAX_NESTING} levels")
        _path = _path + (obj,)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        for f in dataclasses.fields(obj):
            _flatten_result(getattr(obj, f.name), join(f.name), out, none, _path)
        return
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            if not isinstance(k, (str, int, np.integer)):
                raise SaveError(f"result: field {key or '(the result)'!r} has a key {_describe(k)} that is not a "
                                "string or an integer")
            _flatten_result(v, join(k), out, none, _path)
        return
    if isinstance(obj, (list, tuple)):
        simple = all(isinstance(v, (numbers.Number, np.number, np.bool_)) for v in obj) or (
            len(obj) > 0 and all(isinstance(v, str) for v in obj))
        if simple or (len(obj) and all(isinstance(v, np.ndarray) and v.dtype.kind in "biufc"
                                       and v.shape == obj[0].shape for v in obj)):
            a = np.asarray(obj) if len(obj) else np.zeros(0)
            if a.dtype.kind not in "biufcU":  # e.g. integers beyond int64
                raise SaveError(f"result: field {key!r} cannot be stored as a numeric array")
            _put(out, key, a)
        else:
            for i, v in enumerate(obj):
                _flatten_result(v, join(i), out, none, _path)
        # A tuple of results that carries more (FixedPoints: complete, n_starts, continuum) says so.
        extra = getattr(obj, "extra_fields", None)
        if callable(extra):
            for k, v in extra().items():
                _flatten_result(v, join(k), out, none, _path)
        return
    if obj is None:
        _put(out, key, None)  # keeps the field order; stored as a name in the metadata
    elif isinstance(obj, np.ndarray):
        if obj.dtype.kind not in "biufcU":
            raise SaveError(f"result: field {key!r} is an array of dtype {obj.dtype}, which cannot be saved as data")
        _put(out, key, obj)
    elif isinstance(obj, (bool, np.bool_, numbers.Number, np.number, str)):
        _put(out, key, obj)
    else:
        raise SaveError(f"result: field {key!r} holds a {type(obj).__name__}, which is not data "
                        "(arrays, numbers, strings, None, dataclasses, tuples, dicts)")


def _put(out: dict, key: str, value) -> None:
    if key in out:  # {"a.b": 1, "a": {"b": 2}}: two fields, one dotted name
        raise SaveError(f"result: two fields are both named {key!r} once nested names are joined with dots; "
                        "rename one of them")
    out[key] = value


def _metadata(result, fields, none, params) -> dict:
    meta = {
        "format": _RESULT_FORMAT,
        "format_version": _RESULT_FORMAT_VERSION,
        "type": _type_name(result),
        "rnndyn_version": __version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "fields": list(fields),
        "none": list(none),
    }
    if params:
        meta["params"] = _json_value(params, "params")
    return meta


def _type_name(result) -> str:
    if isinstance(result, (list, tuple)):
        inner = sorted({_type_name(r) for r in result})
        return f"tuple[{', '.join(inner)}]"
    t = type(result)
    return f"{t.__module__}.{t.__qualname__}"


def _json_value(x, where, _path: tuple = ()):
    """Parameters (numbers, strings, arrays, nested containers) -> JSON-ready values."""
    x = _from_tensor(x)
    if isinstance(x, (Mapping, list, tuple)):
        if any(x is o for o in _path):
            raise SaveError(f"{where}: contains itself; parameters must be a tree")
        if len(_path) >= MAX_NESTING:
            raise SaveError(f"{where}: nested deeper than {MAX_NESTING} levels")
        _path = _path + (x,)
    if isinstance(x, Mapping):
        return {str(k): _json_value(v, where, _path) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_value(v, where, _path) for v in x]
    if isinstance(x, np.ndarray):
        return _encode(x, where)
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (numbers.Integral, np.integer)):
        return int(x)
    if isinstance(x, (numbers.Real, np.floating)):
        v = float(x)
        return v if math.isfinite(v) else _encode(np.float64(v), where)
    if isinstance(x, (numbers.Complex, np.complexfloating)):
        return _encode(np.complex128(x), where)
    if x is None or isinstance(x, str):
        return x
    if isinstance(x, os.PathLike):
        return os.fspath(x)
    return str(x)


def _num(v: float):
    return v if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))


def _encode(v, key):
    """One field value -> JSON: plain for finite scalars and strings, else an array envelope."""
    if isinstance(v, str) or v is None:
        return v
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (numbers.Integral, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)) and math.isfinite(float(v)) and np.asarray(v).dtype == np.float64:
        return float(v)
    a = np.asarray(v)
    if a.dtype.kind == "c":
        data = [[_num(float(z.real)), _num(float(z.imag))] for z in a.ravel()]
    elif a.dtype.kind == "f":
        data = [_num(float(z)) for z in a.ravel()]
    elif a.dtype.kind in "biuU":
        data = a.ravel().tolist()
    else:
        raise SaveError(f"result: field {key!r} of dtype {a.dtype} cannot be written as JSON")
    return {"dtype": a.dtype.str, "shape": list(a.shape), "data": data}


def _decode(v, key):
    if not (isinstance(v, dict) and set(v) == {"dtype", "shape", "data"}):
        return v
    try:
        dt = np.dtype(v["dtype"])
        shape = tuple(int(s) for s in v["shape"])
        if dt.kind not in "biufcU":
            raise ValueError(f"dtype {dt} is not data")
        data = v["data"]
        count = math.prod(shape)
        if not isinstance(data, list) or len(data) != count or min(shape, default=0) < 0:
            raise ValueError(f"shape {list(shape)} does not match {len(data) if isinstance(data, list) else 'no'} "
                             "data values")
        if dt.kind == "U":
            # The width the strings need, not the one declared: "<U200000000" for one short string
            # would otherwise allocate hundreds of MB.
            flat = np.array([str(z) for z in data], dtype=str) if data else np.zeros(0, dtype="<U1")
            if flat.dtype.itemsize > dt.itemsize:
                raise ValueError(f"strings longer than the declared dtype {dt}")
        else:
            check_memory(count * dt.itemsize, f"field {key!r} (shape {list(shape)}, dtype {dt})",
                         "is this the right file?")
            if dt.kind == "c":
                flat = np.array([complex(float(re), float(im)) for re, im in data], dtype=dt)
            elif dt.kind == "f":
                flat = np.array([float(z) for z in data], dtype=dt)
            else:
                flat = np.array(data, dtype=dt)
        a = flat.reshape(shape)
    except ValidationError:  # MemoryLimitError
        raise
    except Exception as exc:
        raise LoadError(f"result: field {key!r} is not a valid encoded array ({type(exc).__name__}: "
                        f"{_one_line(exc)})") from None
    return a.item() if a.ndim == 0 else a


def _atomic_write(path: Path, write) -> None:
    """Write via a temporary file in the same folder and os.replace: complete or absent, never partial."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise SaveError(f"path: cannot write to {str(path)!r} ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp's 0600 would make results private by accident
        os.replace(tmp, path)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(exc, OSError):
            raise SaveError(f"path: could not write {str(path)!r} ({exc.strerror or exc})") from None
        raise


def _as_path(path) -> Path:
    if not isinstance(path, (str, os.PathLike)):
        raise ArgumentTypeError(f"path: expected a file path, got {_describe(path)}")
    text = os.fspath(path)
    if isinstance(text, bytes):
        raise ArgumentTypeError(f"path: expected a str path, got bytes {_describe(text)}")
    if "\x00" in text:
        raise ValidationError(f"path: a file name cannot contain a NUL character, got {text!r}")
    return Path(text)


def save_result(result, path, params=None) -> Path:
    """Write a result (a frozen dataclass of rnndyn, or several) to .npz or .json, atomically.

    Parameters
    ----------
    result : dataclass instance, tuple of them, or mapping
        :class:`~rnndyn.Trajectory`, :class:`~rnndyn.Tangent`, a
        ``StabilityReport``, the tuple of ``FixedPoint`` of
        :func:`~rnndyn.fixed_points` (with its ``complete``, ``n_starts`` and
        ``continuum``: a tuple with an ``extra_fields()`` method stores those
        too), ... Fields may be arrays, numbers,
        strings, None, nested dataclasses, tuples and dicts; nested ones are
        flattened with dotted keys (``"0.state"``, ``"report.eigenvalues"``).
    path : str or os.PathLike
        Ending in ``.npz`` (arrays stored as such) or ``.json`` (readable; NaN
        and ±inf as strings, complex numbers as [re, im] pairs). Missing folders
        are created.
    params : dict, optional
        The parameters that produced the result (eps, gamma, steps, ...),
        stored in the metadata.

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    SaveError
        Unknown suffix, a field that is not data, an unwritable path.

    Notes
    -----
    The metadata (rnndyn, NumPy and Python versions, ISO 8601 UTC date, result
    type, field names, ``params``) goes into the file too: a JSON object under
    ``"metadata"``, or an .npz entry ``"__rnndyn__"``. The file is written to a
    temporary file in the same folder and moved into place with
    :func:`os.replace`, which is atomic: a reader or a crash never sees a
    partial file.

    Examples
    --------
    >>> import rnndyn as rd, tempfile, os
    >>> traj = rd.simulate(rd.EulerRNN(rd.named_matrix("W0"), eps=0.1), [0.0, 0.5], steps=5)
    >>> path = rd.save_result(traj, os.path.join(tempfile.mkdtemp(), "traj.json"), params={"steps": 5})
    >>> back = rd.load_result(path)
    >>> back["states"].shape, back.metadata["params"]
    ((6, 2), {'steps': 5})
    """
    p = _as_path(path)
    suffix = p.suffix.lower()
    if suffix not in RESULT_SUFFIXES:
        raise SaveError(f"path: expected a file ending in {' or '.join(RESULT_SUFFIXES)}, got {str(p)!r}")
    if p.is_dir():
        raise SaveError(f"path: {str(p)!r} is a folder; expected a file name")
    is_result = (dataclasses.is_dataclass(result) and not isinstance(result, type)) or isinstance(result, Mapping) \
        or (isinstance(result, (list, tuple)) and (len(result) > 0 or callable(getattr(result, "extra_fields", None)))
            and all(dataclasses.is_dataclass(r) and not isinstance(r, type) for r in result))
    if not is_result:
        raise ArgumentTypeError(f"result: expected an rnndyn result (a dataclass), a tuple of them or a dict, "
                                f"got {_describe(result)}")
    if params is not None and not isinstance(params, Mapping):
        raise ArgumentTypeError(f"params: expected a dict, got {_describe(params)}")
    fields: dict = {}
    _flatten_result(result, "", fields, [])
    none = [k for k, v in fields.items() if v is None]
    meta = _metadata(result, list(fields), none, params)
    if suffix == ".json":
        doc = {"metadata": meta, "fields": {k: _encode(v, k) for k, v in fields.items()}}
        text = json.dumps(doc, indent=1, allow_nan=False)
        _atomic_write(p, lambda f: f.write(text.encode("utf-8")))
    else:
        arrays = {}
        # strings live in the JSON metadata: a NumPy unicode array would drop trailing NUL characters
        meta["strings"] = {k: str(v) for k, v in fields.items() if isinstance(v, str)}
        for k, v in fields.items():
            if v is None or isinstance(v, str):
                continue
            a = np.asarray(v)
            if a.dtype.kind not in "biufcU":  # np.asarray(10**30) is an object array: never pickle
                raise SaveError(f"result: field {k!r} ({_describe(v)}) cannot be stored as a numeric array")
            arrays[k] = a
        arrays[_META_KEY] = np.array(json.dumps(meta, allow_nan=False))
        _atomic_write(p, lambda f: _write_npz(f, arrays))
    return p


def _write_npz(f, arrays: dict) -> None:
    # np.savez(f, **arrays) would mistake fields named "file" or "allow_pickle" for its own arguments
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for k, a in arrays.items():
            with zf.open(k + ".npy", "w", force_zip64=True) as m:
                np.lib.format.write_array(m, np.asanyarray(a), allow_pickle=False)


def _check_metadata(meta, where: str) -> None:
    """The parts of the metadata that shape the result must have their documented types."""
    if not isinstance(meta, dict):
        raise LoadError(f"{where}: its metadata entry is not a JSON object")
    for key, ok in (("none", lambda v: isinstance(v, list) and all(isinstance(k, str) for k in v)),
                    ("fields", lambda v: isinstance(v, list) and all(isinstance(k, str) for k in v)),
                    ("strings", lambda v: isinstance(v, dict) and all(isinstance(k, str) for k in v.values()))):
        if key in meta and not ok(meta[key]):
            raise LoadError(f"{where}: its metadata entry {key!r} is malformed (expected "
                            f"{'a list of field names' if key != 'strings' else 'an object of strings'})")


def load_result(path) -> ResultDict:
    """Read a file written by :func:`save_result` back into a dict.

    Parameters
    ----------
    path : str or os.PathLike
        An .npz or .json file.

    Returns
    -------
    ResultDict
        A dict {dotted field name: ndarray, number, string or None}, with the
        file's metadata as its ``.metadata`` attribute. 0-d arrays come back as
        Python scalars.

    Raises
    ------
    LoadError
        Missing, truncated or foreign files.

    Examples
    --------
    See :func:`save_result`.
    """
    p = _as_path(path)
    suffix = p.suffix.lower()
    if suffix not in RESULT_SUFFIXES:
        raise LoadError(f"path: expected a file ending in {' or '.join(RESULT_SUFFIXES)}, got {str(p)!r}")
    check_regular_file(p, "path")
    where = f"result ({p.name})"
    if suffix == ".json":
        try:
            doc = json.loads(p.read_text(encoding="utf-8"))
        except RecursionError:
            raise LoadError(f"{where}: its JSON is nested too deeply to be an rnndyn result") from None
        except (ValueError, OSError) as exc:
            raise LoadError(f"{where}: not valid JSON: truncated or corrupted ({_one_line(exc)})") from None
        if not (isinstance(doc, dict) and isinstance(doc.get("metadata"), dict)
                and doc["metadata"].get("format") == _RESULT_FORMAT and isinstance(doc.get("fields"), dict)):
            raise LoadError(f"{where}: not an rnndyn result file (no rnndyn metadata)")
        _check_metadata(doc["metadata"], where)
        fields = {k: _decode(v, k) for k, v in doc["fields"].items()}
        return ResultDict(fields, doc["metadata"])
    fields = {}
    meta: dict = {}
    with _open_npz(p, where) as zf:
        try:
            check_npz_total(zf, p, where)
        except ValidationError:  # MemoryLimitError
            raise
        except Exception as exc:
            raise LoadError(f"{where}: truncated or corrupted ({type(exc).__name__}: {_one_line(exc)})") from None
        for key in _npz_keys(zf):
            try:
                a = _read_npz_member(zf, p, key, where)
            except ValidationError:
                raise
            except Exception as exc:
                raise LoadError(f"{where}: could not read entry {key!r}: truncated or corrupted "
                                f"({type(exc).__name__}: {_one_line(exc)})") from None
            if key == _META_KEY:
                try:
                    meta = json.loads(str(a))
                except (ValueError, RecursionError):
                    raise LoadError(f"{where}: its metadata entry is corrupted") from None
                continue
            fields[key] = a.item() if a.ndim == 0 else a
    _check_metadata(meta, where)
    for k in meta.get("none", []):
        fields[k] = None
    fields.update(meta.get("strings", {}))
    order = meta.get("fields")
    if isinstance(order, list) and set(order) == set(fields):
        fields = {k: fields[k] for k in order}
    return ResultDict(fields, meta)
