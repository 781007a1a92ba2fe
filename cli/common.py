"""What every command shares: option types, the error path, output.

Commands stay thin: parse, call the library, print or save. Numbers go to
stdout (``--json`` for machine-readable output), pictures to ``--out``,
messages and warnings to stderr.
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path
from typing import NamedTuple

import click
import numpy as np

import rnndyn as rd
from rnndyn.errors import RnndynError

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


# --------------------------------------------------------------------------- errors


class RnndynGroup(click.Group):
    """A click group whose errors are one line on stderr and exit code 2.

    User errors (click's usage errors, every :class:`RnndynError`, and OS
    errors such as an unwritable ``--out``) print ``Error: <message>`` and exit
    2, with no usage block and no traceback. Anything else is a bug in rnndyn:
    one line naming it, exit 1. Warnings (a diverged trajectory, say) print as
    one ``Warning: ...`` line each on stderr. ``--debug`` (before the command
    name) re-raises so the full traceback shows.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        debug = "--debug" in (sys.argv[1:] if args is None else list(args))
        code, message = 0, None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default")
                warnings.showwarning = _show_warning
                rv = super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                  standalone_mode=False, **extra)
            if not standalone_mode:
                return rv
            # non-standalone click returns ctx.exit(code)'s code (0 after --help);
            # commands print their results and return None
            code = rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
        except click.exceptions.Exit as exc:
            if not standalone_mode:
                return exc.exit_code
            code = exc.exit_code
        except click.exceptions.Abort:
            if debug or not standalone_mode:
                raise
            code, message = 1, "Aborted!"
        except click.ClickException as exc:
            if debug or not standalone_mode:
                raise
            code, message = exc.exit_code, f"Error: {_one_line(exc.format_message())}"
        except RnndynError as exc:
            if debug or not standalone_mode:
                raise
            code, message = 2, f"Error: {_one_line(str(exc))}"
        except OSError as exc:  # unwritable --out, a full disk, a vanished folder: the user's to fix
            if debug or not standalone_mode:
                raise
            what = f"{exc.strerror}: {exc.filename!r}" if exc.strerror and exc.filename else str(exc)
            code, message = 2, f"Error: {_one_line(what)}"
        except Exception as exc:  # a bug in rnndyn: say so in one line, --debug shows where
            if debug or not standalone_mode:
                raise
            code = 1
            message = (f"Error: internal error ({type(exc).__name__}: {_one_line(str(exc))[:300]}); "
                       "rerun with --debug for the traceback and please report it")
        if message is not None:
            click.echo(message, err=True)
        sys.exit(code)


def _one_line(msg: str) -> str:
    return " ".join(str(msg).split())


def _show_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"Warning: {_one_line(str(message))}", err=True)


def fail(message: str):
    """Stop the command with a user error (exit 2, one line on stderr)."""
    raise click.UsageError(message)


# --------------------------------------------------------------------------- parameter types


class LabeledMatrix(NamedTuple):
    """A matrix with the name it was given by (``--matrix W0`` → "W0", ``w.npz:rec`` → "w_rec")."""

    label: str
    array: np.ndarray


def matrix_label(spec: str) -> str:
    """Short name of a ``--matrix`` value: the name itself, or a file's stem (and .npz key)."""
    if spec in rd.NAMED_MATRICES:
        return spec
    path, sep, key = str(spec).rpartition(":")
    if sep and path.lower().endswith((".npz", ".pt", ".pth")) and key:
        return f"{Path(path).stem}_{key}"
    return Path(str(spec)).stem


class MatrixType(click.ParamType):
    """A named matrix (W+, W-, W0, Wdiff, identity, ...), a .npy/.npz[:key]/.csv/.txt file, or a
    PyTorch state dict (.pt/.pth, or its keys in an .npz): its recurrent matrix ``weight_hh_l0``.

    ``MatrixType(labeled=True)`` converts to a :class:`LabeledMatrix` (for
    commands that name their output after the matrix).
    """

    name = "MATRIX"

    def __init__(self, labeled: bool = False):
        self.labeled = labeled

    def convert(self, value, param, ctx):
        if isinstance(value, (np.ndarray, LabeledMatrix)):
            return value
        try:
            arr = rd.load_recurrent_matrix(value)
        except RnndynError as exc:
            self.fail(str(exc), param, ctx)
        return LabeledMatrix(matrix_label(value), arr) if self.labeled else arr

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        items = [CompletionItem(n) for n in rd.NAMED_MATRICES if n.startswith(incomplete)]
        return items + [CompletionItem(incomplete, type="file")]


class PointType(click.ParamType):
    """A point written ``x,y[,...]``; ``PointType(dim=2)`` insists on exactly two numbers."""

    name = "X,Y"

    def __init__(self, dim: int | None = None):
        self.dim = dim

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            pts = tuple(float(v) for v in str(value).split(","))
        except ValueError:
            self.fail(f"expected comma-separated numbers such as 0.5,-0.75, got {value!r}", param, ctx)
        if not all(math.isfinite(v) for v in pts):
            self.fail(f"expected finite numbers, got {value!r}", param, ctx)
        if self.dim is not None and len(pts) != self.dim:
            self.fail(f"expected {self.dim} comma-separated numbers such as 0.5,-0.75, got {value!r}", param, ctx)
        return pts


MATRIX = MatrixType()
LABELED_MATRIX = MatrixType(labeled=True)
POINT = PointType()
POINT2 = PointType(dim=2)


# --------------------------------------------------------------------------- shared options


def _opt(*names, **kw):
    return click.option(*names, show_default=True, **kw)


def matrix_option(default="W0", labeled: bool = False):
    """``--matrix/-m``; ``labeled=True`` gives a :class:`LabeledMatrix` (label, array)."""
    return _opt("--matrix", "-m", type=LABELED_MATRIX if labeled else MATRIX, default=default,
                help="Named matrix (W+, W-, W0, Wdiff, identity, reflection, rotation, fibonacci) "
                     "or a .npy/.npz[:key]/.csv/.txt file, or a PyTorch state dict .pt/.pth "
                     "(its weight_hh_l0).")


def cell_option(default="euler"):
    return _opt("--cell", type=click.Choice(["euler", "vanilla", "antisymmetric"]), default=default,
                help="euler: h+ε·φ((W−γI)h); vanilla: φ(Wh); antisymmetric: h+ε·φ((W−Wᵀ−γI)h).")


def eps_option(default=0.1):
    return _opt("--eps", type=float, default=default, help="Step size ε > 0 (euler and antisymmetric cells).")


def gamma_option(default=0.0):
    return _opt("--gamma", type=float, default=default, help="Diffusion γ ≥ 0 subtracted from the diagonal.")


def activation_option(default="tanh"):
    return _opt("--activation", type=click.Choice(["tanh", "relu", "linear", "sigmoid"]), default=default,
                help="Activation φ.")


def steps_option(default=50):
    return _opt("--steps", "-T", type=click.IntRange(min=0), default=default, help="Number of time steps T.")


def seed_option():
    return _opt("--seed", type=int, default=0, help="Seed of every random draw.")


def backend_option():
    return _opt("--backend", type=click.Choice(["auto", "cpu", "reference", "cuda"]), default="auto",
                help="Where the kernels run.")


def out_option(default=None, help="Output figure; the format follows the suffix (.png, .svg, .pdf)."):
    return _opt("--out", "-o", type=click.Path(dir_okay=False, writable=True), default=default, help=help)


def json_option():
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")


def dpi_option(default=150):
    return _opt("--dpi", type=click.IntRange(min=10, max=2400), default=default, help="Resolution of raster output.")


def build_cell(kind: str, W, eps: float = 0.1, gamma: float = 0.0, activation: str = "tanh"):
    """The cell a command's ``--cell/--eps/--gamma/--activation`` describe."""
    if kind == "vanilla":
        return rd.VanillaRNN(W, activation=activation)
    if kind == "antisymmetric":
        return rd.AntisymmetricRNN(W, eps=eps, gamma=gamma, activation=activation)
    return rd.EulerRNN(W, eps=eps, gamma=gamma, activation=activation)


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


# --------------------------------------------------------------------------- output


def to_jsonable(x):
    """Numbers, arrays (complex as [re, im]) and nested containers -> JSON-ready values."""
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


def emit_json(data) -> None:
    click.echo(json.dumps(to_jsonable(data), indent=2))


def check_out_suffix(out: str) -> Path:
    """Refuse an unusable ``--out`` (suffix, a file where a folder should be, no write permission) before any work."""
    import os

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
    return p


def save_figure(fig, out: str, dpi: int = 150) -> Path:
    """Save a matplotlib Figure to ``out`` atomically (format from the suffix); report on stderr."""
    import os
    import tempfile

    p = check_out_suffix(out)
    if p.parent and not p.parent.exists():
        p.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=p.suffix, dir=p.parent if str(p.parent) else ".")
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
        # mkstemp makes the file private (0600); give it the permissions a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, p)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    click.echo(f"wrote {p}", err=True)
    return p


def fmt_complex(z, digits=4) -> str:
    z = complex(z)
    if abs(z.imag) < 10 ** (-digits - 2):
        return f"{z.real:.{digits}g}"
    sign = "+" if z.imag >= 0 else "-"
    return f"{z.real:.{digits}g} {sign} {abs(z.imag):.{digits}g}i"
