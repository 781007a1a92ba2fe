"""``rnndyn chaos``: Lyapunov spectra of random tanh networks across sizes and gains (the transition to chaos)."""

from __future__ import annotations

import click
import numpy as np

from rnndyn.systems.build import CELL_KINDS, cell_parameters

from .errors import check_cell_options, options_named
from .options import backend_option, dpi_option, eps_option, gamma_option, json_option, out_option
from .output import check_out_suffix, emit_json, progress_bar, write_figure

#: What the command runs by default: the sweep of the registered figure ``transition_to_chaos``.
DEFAULT_SIZES = "64,128,256,512"
DEFAULT_GAINS = "0.5:3:11"


class GainsType(click.ParamType):
    """Gains as a comma list (``0.5,1,2``) or ``START:STOP:NUM`` (NUM evenly spaced values, ends included)."""

    name = "GAINS"

    def convert(self, value, param, ctx):
        if isinstance(value, np.ndarray):
            return value
        text = str(value).strip()
        try:
            if ":" in text:
                parts = text.split(":")
                if len(parts) != 3:
                    raise ValueError
                start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
                if num < 1:
                    self.fail(f"expected NUM >= 1 in START:STOP:NUM, got {text!r}", param, ctx)
                g = np.linspace(start, stop, num)
            else:
                g = np.array([float(x) for x in text.split(",")])
        except ValueError:
            self.fail(f"expected a comma list of gains (0.5,1,2) or START:STOP:NUM (0.5:3:11), got {text!r}",
                      param, ctx)
        if not np.all(np.isfinite(g)) or not np.all(g > 0):
            self.fail(f"expected finite gains > 0, got {text!r}", param, ctx)
        return g


class SizesType(click.ParamType):
    """Network sizes as a comma list of integers (``64,128``)."""

    name = "SIZES"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        text = str(value).strip()
        try:
            sizes = tuple(int(x) for x in text.split(","))
        except ValueError:
            self.fail(f"expected a comma list of integers (64,128,256), got {text!r}", param, ctx)
        bad = [n for n in sizes if not 2 <= n <= 4096]
        if bad:
            self.fail(f"expected sizes from 2 to 4096, got {bad[0]}", param, ctx)
        if len(set(sizes)) != len(sizes):
            self.fail(f"expected distinct sizes, got {text!r}", param, ctx)
        return sizes


def sweep_record(sw, out=None) -> dict:
    """The machine-readable form of a ChaosSweep (what ``--json`` prints)."""
    return {
        "cell": sw.cell,
        "eps": sw.eps,
        "gamma": sw.gamma,
        "sizes": sw.sizes,
        "gains": sw.gains,
        "seeds": sw.seeds,
        "k": list(sw.k),
        "steps": sw.steps,
        "transient": sw.transient,
        "reortho_every": sw.reortho_every,
        "max_exponent": sw.max_exponent,
        "max_exponent_error": sw.max_exponent_error,
        "kaplan_yorke": sw.kaplan_yorke,
        "kaplan_yorke_bounded": sw.kaplan_yorke_bounded,
        "dimension_density": sw.dimension_density,
        "mean_field": sw.mean_field,
        "zero_state": sw.zero_state,
        "critical_gain": sw.critical_gain,
        "spectra": {str(n): sp for n, sp in zip(sw.sizes, sw.spectra)},
        "seconds": sw.seconds,
        "out": out,
    }


@click.command("chaos")
@click.option("--sizes", type=SizesType(), default=DEFAULT_SIZES, show_default=True,
              help="Network sizes N, a comma list.")
@click.option("--gains", type=GainsType(), default=DEFAULT_GAINS, show_default=True,
              help="Gains g (W_ij ~ N(0, g²/N)): a comma list, or START:STOP:NUM evenly spaced.")
@click.option("--cell", type=click.Choice(CELL_KINDS), default="vanilla", show_default=True,
              help="vanilla: tanh(Wh); euler: h+ε·tanh((W−γI)h); antisymmetric: h+ε·tanh((W−Wᵀ−γI)h).")
@eps_option()
@gamma_option()
@click.option("--steps", "-T", type=click.IntRange(min=1), default=200, show_default=True,
              help="Steps accumulated per network.")
@click.option("--transient", type=click.IntRange(min=0), default=50, show_default=True,
              help="Steps evolved first and not accumulated.")
@click.option("--seeds", type=click.IntRange(1, 10_000), default=1, show_default=True,
              help="Networks per size and gain (seeds 0 … SEEDS − 1; the same networks at every gain).")
@click.option("--fraction", type=click.FloatRange(0.0, 1.0, min_open=True), default=0.35, show_default=True,
              help="Share of each spectrum computed, the largest ⌈fraction·N⌉ exponents (the cost grows with it); "
                   "1 for whole spectra.")
@click.option("--reortho", type=click.IntRange(min=1), default=10, show_default=True,
              help="Re-orthonormalise the tangent vectors every this many steps.")
@backend_option()
@out_option()
@dpi_option()
@json_option()
@click.pass_context
def chaos(ctx, sizes, gains, cell, eps, gamma, steps, transient, seeds, fraction, reortho, backend, out, dpi,
          as_json):
    """Lyapunov spectra of random networks h_t = tanh(W h_{t−1}), W_ij ~ N(0, g²/N): the transition to chaos.

    Prints λ_max per gain and size beside the mean-field exponent (vanilla
    cells; for the others, the exponent of the zero state) and D_KY/N of the
    largest size; --out draws λ_max against g with the mean field, the spectra
    against i/N and D_KY/N against g. For g < 1 the zero state attracts and
    λ_max ≈ log g; from g = 1 on the network is chaotic. The default sweep
    (N = 64 … 512, 11 gains) is that of the registered figure
    transition_to_chaos: under a minute on two cores.

    \b
    $ rnndyn chaos --sizes 32,64 --gains 0.5,1,2 --steps 200
    $ rnndyn chaos --cell antisymmetric --gamma 0.15 --sizes 64 --gains 0.5,2 --json
    """
    from rnndyn.analysis.chaos import mean_field_lyapunov, transition_to_chaos

    if out:
        check_out_suffix(out)
    check_cell_options(ctx, cell, cell_parameters(cell), eps=eps, gamma=gamma)
    with progress_bar("chaos", 1) as bar:

        def tick(done, total):
            bar.length = total  # the sweep knows its work only once it starts
            bar.advance_to(done)

        with options_named(sizes="--sizes", gains="--gains", steps="--steps", transient="--transient",
                           eps="--eps", gamma="--gamma", fraction="--fraction", reortho_every="--reortho"):
            sw = transition_to_chaos(sizes=sizes, gains=gains, cell=cell, eps=eps, gamma=gamma, steps=steps,
                                     transient=transient, seeds=seeds, fraction=fraction, reortho_every=reortho,
                                     backend=backend, progress=tick if bar.enabled else None)
    if out:
        from rnndyn.plots.chaos import plot_transition_to_chaos

        mf = None
        if sw.mean_field is not None:
            fine = np.linspace(sw.gains.min(), sw.gains.max(), 201)
            mf = (fine, mean_field_lyapunov(fine))
        show = [g for g in (1.5, 2.0, 3.0) if sw.gains.min() <= g <= sw.gains.max()] or [float(sw.gains.max())]
        write_figure(plot_transition_to_chaos(sw, mean_field=mf, collapse_gains=show,
                                              title=f"Random networks ({sw.label}): the transition to chaos"),
                     out, dpi=dpi)
    if as_json:
        emit_json(sweep_record(sw, out))
        return
    click.echo(sw.summary())
