"""Output every command shares: JSON on stdout, figures to ``--out``, progress bars on stderr."""

from __future__ import annotations

import json
import math
import os
import re
import sys
from contextlib import contextmanager
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


#: How many progress bars are drawn right now (a message printed meanwhile must first end their line).
_open_bars = 0


def break_line(stream=None) -> None:
    """End the line a progress bar is being drawn on, so that a message printed next starts on its own line."""
    if _open_bars:
        stream = sys.stderr if stream is None else stream
        stream.write("\n")
        stream.flush()


def note(message: str) -> None:
    """Print ``message`` on stderr on a line of its own, over a progress bar's line if one is drawn (it redraws)."""
    click.echo(("\r\x1b[2K" if _open_bars else "") + message, err=True)


@contextmanager
def _drawn(bar):
    global _open_bars
    _open_bars += 1
    try:
        with bar as b:
            yield b
    finally:
        _open_bars -= 1


class ProgressBar:
    """A click progress bar on stderr fed by a library's ``progress=`` callback; see :func:`progress_bar`."""

    def __init__(self, label: str, length: int, enabled: bool):
        self.label, self.length, self.enabled = label, int(length), enabled
        self.done = 0
        self._bar = None
        self._ctx = None

    def update(self, n: int = 1) -> None:
        """Advance by ``n`` steps (the bar is drawn from the first update on)."""
        self.advance_to(self.done + n)

    def advance_to(self, done: int) -> None:
        """Advance to ``done`` steps of ``length``."""
        done = min(int(done), self.length)
        if not self.enabled or done <= self.done:
            self.done = max(self.done, done)
            return
        if self._bar is None:
            self._ctx = _drawn(click.progressbar(length=self.length, label=self.label, file=sys.stderr,
                                                 show_eta=True, show_percent=True))
            self._bar = self._ctx.__enter__()
        self._bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.__exit__(None, None, None)
            self._ctx = self._bar = None


@contextmanager
def progress_bar(label: str, length: int, enabled: bool | None = None):
    """A :class:`ProgressBar` of ``length`` steps, drawn on stderr when :func:`progress_enabled` (or ``enabled``).

    The bar appears at its first update, not before: the first chunk of work is where
    kernels compile, and the compile notice then gets a line of its own.

    >>> with progress_bar("work", 3) as bar:  # not a terminal here: draws nothing
    ...     bar.update(); bar.advance_to(3)
    >>> bar.done
    3
    """
    bar = ProgressBar(label, length, progress_enabled() if enabled is None else enabled)
    try:
        yield bar
    finally:
        bar.close()


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
    with _drawn(click.progressbar(iterable, label=label, length=length, file=sys.stderr,
                                  show_eta=True, show_percent=True)) as bar:
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
    _probe_folder(p, out)
    return p


def _probe_folder(p: Path, out: str) -> None:
    """Create and remove a file beside ``--out``: permission bits do not tell whether a folder takes new files
    (/proc, a read-only mount, a full disk, root's os.access), and the figure is written there atomically."""
    import tempfile

    try:
        fd, probe = tempfile.mkstemp(prefix=".rnndyn-", suffix=p.suffix, dir=p.absolute().parent)
    except OSError as exc:
        fail(f"--out: cannot write {out!r}: {exc.strerror or exc}")
    os.close(fd)
    os.unlink(probe)


def write_figure(fig, out: str, dpi: int = 150) -> Path:
    """Save ``fig`` to ``--out`` with :func:`rnndyn.figures.save_figure` (format from the suffix); say so on stderr."""
    p = check_out_suffix(out)
    try:
        # A figure laid out by a layout engine (constrained) already fits its canvas; "tight" would draw it a
        # second time only to measure it (0.5-1 s of a command).
        tight = None if fig.get_layout_engine() is not None else "tight"
        save_figure(fig, p, fmt=p.suffix.lower()[1:], dpi=dpi, bbox_inches=tight)
    except OSError as exc:  # the folder changed since the check: name the user's path, not a temporary one
        fail(f"--out: cannot write {out!r}: {exc.strerror or exc}")
    click.echo(f"wrote {p}", err=True)
    return p
