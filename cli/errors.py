"""The error path every command shares: one line on stderr, exit 2, no traceback.

Numbers go to stdout, pictures to ``--out``, messages and warnings to stderr.
"""

from __future__ import annotations

import sys
import warnings
from contextlib import contextmanager

import click

from rnndyn.errors import RnndynError

#: click ≥ 8.2 raises this for a group called without a command; older versions print the help themselves.
_NO_ARGS_IS_HELP = getattr(click.exceptions, "NoArgsIsHelpError", ())


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
        except _NO_ARGS_IS_HELP as exc:  # bare ``rnndyn``: the help, as with --help
            if not standalone_mode:
                raise
            click.echo(exc.format_message())
            code = 0
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


@contextmanager
def options_named(**options):
    """Say a library error in the command's words: ``h0: expected 16 numbers`` -> ``--h0: expected 16 numbers``.

    ``options`` maps the library's argument names to the options that set them;
    an error whose message starts with names that are all mapped (``W, n: ...``)
    stops the command with the option names instead, others pass unchanged.
    """
    try:
        yield
    except RnndynError as exc:
        head, sep, rest = str(exc).partition(": ")
        names = head.split(", ")
        if sep and all(n in options for n in names):
            fail(f"{', '.join(options[n] for n in names)}: {rest}")
        raise


#: The ranges of the cell options, checked whether or not the chosen cell uses them.
_CELL_OPTION_RANGES = {"eps": {"positive": True}, "gamma": {"nonnegative": True}}


def check_cell_options(ctx, cell: str, takes, **values) -> None:
    """The one rule for cell options (``--eps``, ``--gamma``, ``--activation``) a chosen cell may ignore.

    Every value is validated for its range whatever the cell (``--eps -1`` is an error with any cell, so
    a command line that works with one cell does not start failing, or mean something else, with
    another); an option given explicitly to a cell that ignores it (``--eps`` with a vanilla or linear
    cell) is not an error but prints one line on stderr, ``notice: a vanilla cell ignores --eps``, so a
    typo in ``--cell`` does not pass silently. ``takes`` is what the cell uses (``("eps", "gamma")``).
    """
    from click.core import ParameterSource

    from rnndyn._validate import as_float

    for name, value in values.items():
        if name in _CELL_OPTION_RANGES:
            try:
                as_float(value, f"--{name}", **_CELL_OPTION_RANGES[name])
            except RnndynError as exc:
                fail(str(exc))
    ignored = [f"--{name}" for name in values if name not in takes
               and ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)]
    if ignored:
        click.echo(f"notice: a {cell} cell ignores {' and '.join(ignored)}", err=True)
