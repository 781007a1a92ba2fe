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

import click
import numpy as np

import rnndyn as rd
from rnndyn.errors import RnndynError

FIGURE_SUFFIXES = (".png", ".svg", ".pdf")


# --------------------------------------------------------------------------- errors


class RnndynGroup(click.Group):
    """A click group whose errors are one line on stderr and exit code 2.

    User errors (click's usage errors and every :class:`RnndynError`) print
    ``Error: <message>`` and exit 2, with no usage block and no traceback;
    ``--debug`` re-raises so the traceback shows.
    """

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        debug = "--debug" in (sys.argv[1:] if args is None else list(args))
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default")
                warnings.showwarning = _show_warning
                return super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                    standalone_mode=False, **extra)
        except click.exceptions.Exit as exc:
            if standalone_mode:
                sys.exit(exc.exit_code)
            return exc.exit_code
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            if standalone_mode:
                sys.exit(1)
            raise
        except click.ClickException as exc:
            if debug:
                raise
            click.echo(f"Error: {_one_line(exc.format_message())}", err=True)
            if standalone_mode:
                sys.exit(exc.exit_code)
            raise
        except RnndynError as exc:
            if debug:
                raise
            click.echo(f"Error: {_one_line(str(exc))}", err=True)
            if standalone_mode:
                sys.exit(2)
            raise


def _one_line(msg: str) -> str:
    return " ".join(str(msg).split())


def _show_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"Warning: {_one_line(str(message))}", err=True)


def fail(message: str):
    """Stop the command with a user error (exit 2, one line on stderr)."""
    raise click.UsageError(message)


# --------------------------------------------------------------------------- parameter types


class MatrixType(click.ParamType):
    """A named matrix (W+, W-, W0, Wdiff, identity, ...) or a .npy/.npz[:key]/.csv/.txt file."""

    name = "MATRIX"

    def convert(self, value, param, ctx):
        if isinstance(value, np.ndarray):
            return value
        try:
            return rd.load_matrix(value)
        except RnndynError as exc:
            self.fail(str(exc), param, ctx)

    def shell_complete(self, ctx, param, incomplete):
        from click.shell_completion import CompletionItem

        items = [CompletionItem(n) for n in rd.NAMED_MATRICES if n.startswith(incomplete)]
        return items + [CompletionItem(incomplete, type="file")]


class PointType(click.ParamType):
    """A point written ``x,y[,...]``."""

    name = "X,Y"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            pts = tuple(float(v) for v in str(value).split(","))
        except ValueError:
            self.fail(f"expected comma-separated numbers such as 0.5,-0.75, got {value!r}", param, ctx)
        if not all(math.isfinite(v) for v in pts):
            self.fail(f"expected finite numbers, got {value!r}", param, ctx)
        return pts


MATRIX = MatrixType()
POINT = PointType()


# --------------------------------------------------------------------------- shared options


def _opt(*names, **kw):
    return click.option(*names, show_default=True, **kw)


def matrix_option(default="W0"):
    return _opt("--matrix", "-m", type=MATRIX, default=default,
                help="Named matrix (W+, W-, W0, Wdiff, identity, reflection, rotation, fibonacci) "
                     "or a .npy/.npz[:key]/.csv/.txt file.")


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
    p = Path(out)
    if p.suffix.lower() not in FIGURE_SUFFIXES:
        fail(f"--out: expected a file ending in {', '.join(FIGURE_SUFFIXES)}, got {out!r}")
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
