"""The ``rnndyn`` click group; each command family lives in its own module."""

from __future__ import annotations

import click

import rnndyn

from .common import RnndynGroup


@click.group(cls=RnndynGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(rnndyn.__version__, "--version", "-V", prog_name="rnndyn")
@click.option("--debug", is_flag=True, help="Show full tracebacks instead of one-line errors.")
def cli(debug):
    """rnndyn: recurrent neural networks as discrete dynamical systems.

    Phase portraits, spectra and stability, Jacobians, Lyapunov spectra and
    gradients through time of vanilla, Euler ("RNN with feedback") and
    antisymmetric RNN cells.
    """
    import matplotlib

    matplotlib.use("Agg")


def _register():
    from .info import info
    from .phase import phase
    from .stability import spectrum, stability

    cli.add_command(info)
    from .cobweb import cobweb
    from .figures import figures
    from .norms import norms

    cli.add_command(figures)
    cli.add_command(norms)
    cli.add_command(cobweb)
    cli.add_command(phase)
    cli.add_command(stability)
    cli.add_command(spectrum)
    from .lyapunov import lyapunov

    cli.add_command(lyapunov)
    from .gradients import gradients

    cli.add_command(gradients)


_register()


def main(argv=None):
    """Console-script entry point."""
    return cli.main(args=argv, prog_name="rnndyn")


if __name__ == "__main__":  # pragma: no cover
    main()
