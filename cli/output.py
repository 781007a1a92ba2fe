"""Output every command shares: JSON on stdout, figures to ``--out``, progress bars on stderr."""

from __future__ import annotations

import json
import math
import os
import re
import sys
from pathlib import Path

import click
import numpy as np

from rnndyn.figures import FORMATS, save_figure

from .errors import fail

FIGURE_SUFFIXES = tuple(f".{f}" for f in FORMATS)


# --------------------------------------------------------------------------- progress


def progress_enabled() -> bool:
    """Whether a progress bar may be drawn: stderr is a terminal and the command is not in ``--json`` mode."""
    ctx = click.get_current_context(silent=True)
    while ctx is not None:
        if ctx.params.get("as_json"):
            return False
        ctx = ctx.parent
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


def progress(iterable, label: str = "", length: int | None = None):
    """Iterate over ``iterable`` with a click progress bar on stderr, when one is wanted.

    Silent (a plain pass-through) when stderr is not a terminal (pipes, CI,
    CliRunner) or the command runs with ``--json``, so machine-readable output
    and logs stay clean. ``length`` is needed for iterables without ``len``.

    >>> list(progress(range(3), "work"))  # not a terminal here: silent
    [0, 1, 2]
    """
    if not progress_enabled():
        yield from iterable
        return
    with click.progressbar(iterable, label=label, length=length, file=sys.stderr,
                           show_eta=True, show_percent=True) as bar:
        yield from bar


# --------------------------------------------------------------------------- JSON


def to_jsonable(x):
    """Numbers, arrays (complex as [re, im]) and nested containers -> JSON-ready values.

    >>> to_jsonable({"z": 1 + 2j, "a": np.arange(2), "x": float("inf")})
    {'z': [1.0, 2.0], 'a': [0, 1], 'x': 'inf'}
    """
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, (complex, np.complexfloating)):
        return [to_jsonable(float(x.real)), to_jsonable(float(x.imag))]
    if isinstance(x, (np.floating, float)):
        v = float(x)
        return v if math.isfinite(v) else str(v)
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (np.bool_,)):
        return bool(x)
    return x


#: A JSON list whose items are all scalars (numbers, null, true, false), as ``json.dumps(indent=2)`` lays it out.
_SCALAR_LIST = re.compile(r"\[\n\s*(?:-?(?:\d[\d.eE+-]*|Infinity)|NaN|null|true|false)"
                          r"(?:,\n\s*(?:-?(?:\d[\d.eE+-]*|Infinity)|NaN|null|true|false))*\n\s*\]")


def _one_line(match: re.Match) -> str:
    return "[" + ", ".join(item.strip() for item in match.group(0)[1:-1].split(",")) + "]"


def emit_json(data) -> None:
    """Print ``data`` as indented JSON on stdout, each list of numbers on one line (a matrix: one row per line)."""
    click.echo(_SCALAR_LIST.sub(_one_line, json.dumps(to_jsonable(data), indent=2)))


# --------------------------------------------------------------------------- figures


def check_out_suffix(out: str) -> Path:
    """Refuse an unusable ``--out`` (suffix, a missing folder, a file where a folder should be, no write permission)
    before any work."""
    p = Path(out)
    if p.suffix.lower() not in FIGURE_SUFFIXES:
        fail(f"--out: expected a file ending in {', '.join(FIGURE_SUFFIXES)}, got {out!r}")
    if p.is_dir():
        fail(f"--out: {out!r} is a folder; expected a file name")
    for parent in p.absolute().parents:  # the nearest existing ancestor decides
        if parent.exists():
            if not parent.is_dir():
                fail(f"--out: cannot create {out!r}: {str(parent)!r} is a file, not a folder")
            if not os.access(parent, os.W_OK | os.X_OK):
                fail(f"--out: cannot write in {str(parent)!r} (permission denied)")
            break
    if not p.absolute().parent.is_dir():  # a typo in a path should not silently become new folders
        fail(f"--out: the folder {str(p.parent)!r} does not exist; create it first")
    return p


def write_figure(fig, out: str, dpi: int = 150) -> Path:
    """Save ``fig`` to ``--out`` with :func:`rnndyn.figures.save_figure` (format from the suffix); say so on stderr."""
    p = check_out_suffix(out)
    save_figure(fig, p, fmt=p.suffix.lower()[1:], dpi=dpi, bbox_inches="tight")
    click.echo(f"wrote {p}", err=True)
    return p
