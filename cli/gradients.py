"""``rnndyn gradients``: ‖∂L/∂h_t‖ over time for several initialisations (vanishing / exploding)."""

from __future__ import annotations

import math

import click

from .errors import fail
from .model import check_unused_cell_options, model_line, option_given, resolve_cell
from .options import (
    MODEL_HELP,
    activation_option,
    cell_option,
    dpi_option,
    eps_option,
    gamma_option,
    json_option,
    layer_option,
    matrix_option,
    out_option,
    seed_option,
    size_option,
    steps_option,
)
from .output import check_out_suffix, emit_json, progress_bar, write_figure
from .types import InitEntryType

#: Above this many multiply-adds (lines x T x n²) a progress bar is worth drawing.
_PROGRESS_WORK = 5e6


def _verdict(ratio: float) -> str:
    if math.isnan(ratio) or ratio > 1e2:  # an overflowed (NaN) gradient counts as exploding
        return "exploding"
    if ratio < 1e-2:
        return "vanishing"
    return "kept"


def record(res, out=None, model=None) -> dict:
    """The machine-readable result (what ``--json`` prints); ``model`` describes trained weights given by --matrix."""
    return {
        "model": model,
        "size": res.size,
        "steps": res.steps,
        "loss": res.loss,
        "times": res.times,
        "lines": [
            {"label": label, "cell": kind, "activation": act, "gamma": g, "matrix_spectral_radius": rho,
             "norm_at_T": row[-1], "norm_at_0": row[0], "ratio": ratio, "verdict": _verdict(ratio),
             "norms": row}
            for label, kind, act, g, rho, row, ratio in zip(res.labels, res.cells, res.activations, res.gammas,
                                                            res.matrix_radii, res.norms, res.ratios)
        ],
        "out": out,
    }


def print_summary(res, model=None) -> None:
    """One line per initialisation: ‖δ_T‖, ‖δ_0‖, their ratio and a verdict (after a line naming the model)."""
    T = res.steps
    width = max(12, max(len(lb) for lb in res.labels) + 2)
    if model:
        click.echo(model_line(model))
    click.echo(f"‖∂L/∂h_t‖ through T = {T} steps, n = {res.size} (loss: {res.loss})")
    click.echo(f"{'init':<{width}}{'cell':<15}{'ρ(M)':>9}  {'at t=T':>10}  {'at t=0':>10}  {'0/T':>10}  verdict")
    for label, kind, rho, row, ratio in zip(res.labels, res.cells, res.matrix_radii, res.norms, res.ratios):
        click.echo(f"{label:<{width}}{kind:<15}{rho:>9.4g}  {row[-1]:>10.4g}  {row[0]:>10.4g}  {ratio:>10.4g}  "
                   f"{_verdict(ratio)}")


@click.command()
@matrix_option(default=None, labeled=True,
               help="Instead of --init: one line for this recurrent matrix, a named matrix or a "
                    ".npy/.npz[:key]/.csv/.txt file (run without inputs). " + MODEL_HELP + " It runs on N(0, 1) "
                    "inputs through its own weight_ih, plus its bias.")
@layer_option()
@cell_option(default="vanilla", from_weights=True)
@click.option("--init", "inits", type=InitEntryType(), multiple=True,
              help="Initialisation of the recurrent matrix (repeatable), NAME[:KEY=VALUE]: orthogonal[:gain=G], "
                   "identity[:gain=G], normal:std=S or normal:gain=G, uniform:scale=A, xavier_normal, "
                   "xavier_uniform, antisymmetric:std=S (gain: spectral radius); optionally followed by "
                   ",cell=K ,gamma=G ,eps=E ,activation=A and a final ,label=TEXT. Default: orthogonal, "
                   "normal:std=0.5/√n, normal:std=3/√n, identity.")
@size_option(default=64)
@steps_option(default=100)
@eps_option()
@gamma_option()
@activation_option(from_weights=True)
@click.option("--input-scale", type=click.FloatRange(min=0.0), default=0.03, show_default=True,
              help="Scale of the random input weights (inputs x_t ~ N(0, 1), seeded); small keeps tanh near linear.")
@click.option("--h0", "h0_value", type=float, default=0.0, show_default=True,
              help="Every component of the initial state (identity + ReLU needs a positive state).")
@seed_option()
@out_option(help="Output figure (.png, .svg, .pdf); without it only the numbers are printed.")
@dpi_option()
@json_option()
@click.pass_context
def gradients(ctx, matrix, layer, cell, inits, size, steps, eps, gamma, activation, input_scale, h0_value, seed, out,
              dpi, as_json):
    """Gradient norm ‖∂L/∂h_t‖ over t, one line per initialisation.

    Runs rnndyn's own backprop through time from a unit gradient at t = T
    back to t = 0 on a randomly driven cell, and draws log‖∂L/∂h_t‖ against t:
    a curve falling toward t = 0 (far from the loss) is a vanishing gradient,
    a rising one an exploding gradient, a flat one a kept gradient (Grosse,
    CSC321 Lecture 15). Prints ‖∂L/∂h_T‖, ‖∂L/∂h_0‖ and their ratio per line.

    \b
    $ rnndyn gradients --out gradients.png
    ‖∂L/∂h_t‖ through T = 100 steps, n = 64 (loss: unit)
    init             cell                ρ(M)      at t=T      at t=0         0/T  verdict
    orthogonal       vanilla                1           1      0.2089      0.2089  kept
    normal:gain=0.5  vanilla           0.5344           1   2.011e-28   2.011e-28  vanishing
    ...
    \b
    $ rnndyn gradients --activation linear --size 1 --steps 50 --init identity:gain=1.1 --init identity:gain=0.9
    $ rnndyn gradients --matrix model.pt --activation tanh
    """
    import numpy as np

    import rnndyn as rd
    from rnndyn.analysis.gradients import default_inits

    if out:
        check_out_suffix(out)
    model = None
    if matrix is None:
        if layer is not None:
            fail("--layer: picks a layer of trained RNN weights given by --matrix (.pt/.pth, or an .npz of them)")
        cell = cell or "vanilla"
        check_unused_cell_options(click.get_current_context(), cell)
        entries = list(inits) if inits else list(default_inits(size))
        kw = {"size": size, "steps": steps, "eps": eps, "gamma": gamma, "activation": activation or "tanh",
              "input_scale": input_scale, "h0": np.full(size, h0_value), "rng": seed}
    else:
        for name, opt in (("inits", "--init"), ("size", "--size"), ("input_scale", "--input-scale")):
            if option_given(ctx, name):
                fail(f"{opt}, --matrix: give one of them (--matrix is the one recurrent matrix, its size and "
                     "input weights its own)")
        resolved = resolve_cell(matrix, cell, activation, layer, eps, gamma, default_cell="vanilla")
        resolved.echo_notices()
        model, the_cell = resolved.model, resolved.cell
        entries = [{"init": "identity", "label": resolved.label}]  # the factory below ignores the drawn W
        cell = lambda _W: the_cell  # noqa: E731
        kw = {"size": the_cell.n, "steps": steps, "input_size": the_cell.d, "h0": np.full(the_cell.n, h0_value),
              "rng": seed}
        size = the_cell.n
    big = len(entries) * steps * size * size > _PROGRESS_WORK
    with progress_bar("gradients", len(entries), enabled=None if big else False) as bar:
        res = rd.gradient_norms(cell, entries, progress=lambda label: bar.update(1), **kw)
    if out:
        from rnndyn.plots.gradients import plot_gradient_norms

        fig = plot_gradient_norms(res)
        write_figure(fig, out, dpi=dpi)
    if as_json:
        emit_json(record(res, out, model))
    else:
        print_summary(res, model)
