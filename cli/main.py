"""The ``rnndyn`` click group and the console-script entry point; each command lives in its own module.

A command's module is imported only when that command runs or shows its help (click's "lazily loading
subcommands" pattern): ``rnndyn --help`` lists every command with its one-line help read from the
modules' source, without importing numba, SciPy, matplotlib or any kernel.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import os
import sys
from collections.abc import MutableMapping
from pathlib import Path

import click

from rnndyn._version import __version__

from .errors import RnndynGroup

#: Command name -> "module.attribute" of its click command. A new command is one more line here.
LAZY_COMMANDS = {
    "basins": "rnndyn_cli.basins.basins",
    "chaos": "rnndyn_cli.chaos.chaos",
    "clv": "rnndyn_cli.clv.clv",
    "cobweb": "rnndyn_cli.cobweb.cobweb",
    "compare-runs": "rnndyn_cli.compare_runs.compare_runs",
    "compile": "rnndyn_cli.compile.compile_kernels",
    "figures": "rnndyn_cli.figures.figures",
    "gradients": "rnndyn_cli.gradients.gradients",
    "info": "rnndyn_cli.info.info",
    "lyapunov": "rnndyn_cli.lyapunov.lyapunov",
    "norms": "rnndyn_cli.norms.norms",
    "phase": "rnndyn_cli.phase.phase",
    "slowpoints": "rnndyn_cli.slowpoints.slowpoints",
    "spectrum": "rnndyn_cli.spectrum.spectrum",
    "stability": "rnndyn_cli.stability.stability",
    "sweep": "rnndyn_cli.sweep.sweep",
    "train": "rnndyn_cli.train.train",
}


#: Commands that run one analysis and exit. Their ``backend="auto"`` runs a cell's NumPy twins where those are
#: estimated to finish within this many seconds (``rnndyn.config.AUTO_REFERENCE_SECONDS``): about what loading the
#: cached compiled kernels into a fresh process costs, while compiling them costs 10-50 s. Commands that call the
#: kernels many times (train, sweep, chaos, figures) keep the compiled kernels.
ONE_SHOT_COMMANDS = frozenset({"gradients", "lyapunov", "norms", "phase"})
ONE_SHOT_REFERENCE_SECONDS = 1.5


def _load(target: str) -> click.Command:
    module, _, attr = target.rpartition(".")
    return getattr(importlib.import_module(module), attr)


class LazyCommands(MutableMapping):
    """A group's ``commands``: names known up front, each command imported on first access.

    Iterating, ``len`` and ``in`` import nothing; ``commands[name]`` (and ``.get``,
    ``.items()``, ``.values()``) import the command's module. Commands added with
    ``add_command`` are stored as they are.
    """

    def __init__(self, lazy: dict[str, str]):
        self._lazy = dict(lazy)
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name):
        if name not in self._loaded:
            if name not in self._lazy:
                raise KeyError(name)
            self._loaded[name] = _load(self._lazy[name])
        return self._loaded[name]

    def __setitem__(self, name, command):
        self._loaded[name] = command

    def __delitem__(self, name):
        if name not in self:
            raise KeyError(name)
        self._lazy.pop(name, None)
        self._loaded.pop(name, None)

    def __iter__(self):
        return iter(dict.fromkeys([*self._lazy, *self._loaded]))

    def __len__(self):
        return len(self._lazy.keys() | self._loaded.keys())

    def __contains__(self, name):
        return name in self._lazy or name in self._loaded

    def target(self, name: str) -> str | None:
        """The "module.attribute" of a command not imported yet, else None."""
        return None if name in self._loaded else self._lazy.get(name)


class LazyGroup(RnndynGroup):
    """A :class:`~.errors.RnndynGroup` whose subcommands (``lazy_subcommands``: name -> "module.attribute")
    are imported when they run or show their help, not when the group is built or lists them."""

    def __init__(self, *args, lazy_subcommands: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        commands, self.commands = self.commands, LazyCommands(lazy_subcommands or {})
        self.commands.update(commands)

    def format_commands(self, ctx, formatter):
        """The command list of ``--help``, each command's one-line help read from its module's source."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            text = _short_help_from_source(self.commands.target(name), limit)
            if text is None:  # not a plain decorated function with a docstring: ask the command itself
                cmd = self.get_command(ctx, name)
                if cmd is None or cmd.hidden:
                    continue
                text = cmd.get_short_help_str(limit)
            rows.append((name, text))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def resolve_command(self, ctx, args):
        name, cmd, rest = super().resolve_command(ctx, args)
        # ``rnndyn CMD --help`` only prints: the group's callback then skips what a run needs (the compile watch)
        before_dashes = rest[: rest.index("--")] if "--" in rest else rest
        ctx.meta["rnndyn.help_only"] = any(a in ctx.help_option_names for a in before_dashes)
        return name, cmd, rest


def _short_help_from_source(target: str | None, limit: int) -> str | None:
    """The short help click would show for ``target`` ("module.attribute"), from its source; None if not found."""
    if target is None:
        return None
    module, _, attr = target.rpartition(".")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not spec.origin.endswith(".py"):
        return None
    tree = ast.parse(Path(spec.origin).read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == attr:
            for dec in node.decorator_list:  # short_help=/help=/hidden= given to @click.command win: import then
                func = dec.func if isinstance(dec, ast.Call) else dec
                if isinstance(dec, ast.Call) and getattr(func, "attr", getattr(func, "id", None)) == "command" and any(
                        k.arg in ("short_help", "help", "hidden", "deprecated", "cls") for k in dec.keywords):
                    return None
            doc = ast.get_docstring(node)
            if not doc:
                return None
            return click.Command(attr, help=doc).get_short_help_str(limit)  # click's own shortening
    return None


@click.group(cls=LazyGroup, lazy_subcommands=LAZY_COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="rnndyn")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx, debug):
    """rnndyn: recurrent neural networks as discrete dynamical systems.

    Phase portraits, spectra and stability, Jacobians, Lyapunov spectra and
    gradients through time of vanilla, Euler ("RNN with feedback") and
    antisymmetric RNN cells.
    """
    if "matplotlib" in sys.modules:
        sys.modules["matplotlib"].use("Agg")
    else:  # chosen when a command first draws; importing matplotlib here would slow every command
        os.environ["MPLBACKEND"] = "Agg"
    if not ctx.meta.get("rnndyn.help_only"):
        from .compiling import watch_for

        watch_for(ctx.invoked_subcommand)  # a command that must compile says so instead of seeming to hang
        if ctx.invoked_subcommand in ONE_SHOT_COMMANDS:
            from rnndyn import config

            before = config.AUTO_REFERENCE_SECONDS
            config.AUTO_REFERENCE_SECONDS = ONE_SHOT_REFERENCE_SECONDS
            ctx.call_on_close(lambda: setattr(config, "AUTO_REFERENCE_SECONDS", before))


def main(argv=None):
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="rnndyn")


if __name__ == "__main__":  # pragma: no cover
    main()
