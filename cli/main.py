"""The ``rnndyn`` click group and the console-script entry point; each command lives in its own module."""

from __future__ import annotations

import os
import sys

import click

import rnndyn

from .chaos import chaos
from .clv import clv
from .cobweb import cobweb
from .compare_runs import compare_runs
from .compile import compile_kernels
from .errors import RnndynGroup
from .figures import figures
from .gradients import gradients
from .info import info
from .lyapunov import lyapunov
from .norms import norms
from .phase import phase
from .slowpoints import slowpoints
from .spectrum import spectrum
from .stability import stability
from .sweep import sweep
from .train import train

COMMANDS = (info, figures, norms, cobweb, phase, stability, spectrum, lyapunov, clv, chaos, gradients, sweep,
            train, compare_runs, slowpoints, compile_kernels)


@click.group(cls=RnndynGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(rnndyn.__version__, "--version", "-V", prog_name="rnndyn")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
@click.pass_context
def cli(ctx, debug):
    """rnndyn: recurrent neural networks as discrete dynamical systems.

    Phase portraits, spectra and stability, Jacobians, Lyapunov spectra and
    gradients through time of vanilla, Euler ("RNN with feedback") and
    antisymmetric RNN cells.
    """
    from .compiling import watch

    if "matplotlib" in sys.modules:
        sys.modules["matplotlib"].use("Agg")
    else:  # chosen when a command first draws; importing matplotlib here would slow every command
        os.environ["MPLBACKEND"] = "Agg"
    watch().command = ctx.invoked_subcommand  # a command that must compile says so instead of seeming to hang


for _command in COMMANDS:
    cli.add_command(_command)


def main(argv=None):
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="rnndyn")


if __name__ == "__main__":  # pragma: no cover
    main()
