"""``rnndyn spectrum``: eigenvalues against the stability regions (imaginary axis, Euler disk, unit circle)."""

from __future__ import annotations

import math

import click

import rnndyn as rd
from rnndyn.systems.build import cell_parameters

from .errors import fail
from .model import model_line, option_given, resolve_cell
from .options import (
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
)
from .output import check_out_suffix, emit_json, progress_bar, write_figure
from .types import InitSpecType, LabeledMatrix

#: Above this much eigenvalue work (configurations x n³) a progress bar is worth drawing (about 2 s).
_PROGRESS_WORK = 1e8


@click.command()
@matrix_option(labeled=True)
@click.option("--random", "random_n", type=click.IntRange(min=1), default=None,
              help="Use a random N×N matrix (see --init) instead of --matrix.")
@click.option("--init", "init_spec", type=InitSpecType(), default="orthogonal", show_default=True,
              help="Initialiser for --random, NAME[:KEY=VALUE]: orthogonal[:gain=G], identity[:gain=G], "
                   "normal:std=S or normal:gain=G, uniform:scale=A or uniform:gain=G, xavier_normal[:gain=G], "
                   "xavier_uniform[:gain=G], antisymmetric:std=S or antisymmetric:gain=G (gain: spectral radius).")
@cell_option(from_weights=True)
@layer_option()
@eps_option()
@gamma_option()
@activation_option(from_weights=True)
@click.option("--compare", "compare", type=click.FloatRange(min=0.0), multiple=True,
              help="Also draw the same cell with this γ (repeatable).")
@click.option("--critical", is_flag=True, help="Also draw the same cell at its critical γ.")
@seed_option()
@out_option(default="spectrum.png")
@dpi_option()
@json_option()
@click.pass_context
def spectrum(ctx, matrix, random_n, init_spec, cell, layer, eps, gamma, activation, compare, critical, seed, out,
             dpi, as_json):
    """Plot eigenvalues against the stability regions (imaginary axis, Euler disk, unit circle).

    Left: the eigenvalues λ of the ODE Jacobian with the forward-Euler disk
    |1 + ελ| ≤ 1 (centre −1/ε, radius 1/ε) and the imaginary axis — or, for a
    vanilla cell, the one-step Jacobian's eigenvalues μ with the unit circle.
    Right: |1 + ελ| (or |μ|) per eigenvalue against 1. Prints one summary line
    per configuration.

    \b
    $ rnndyn spectrum --matrix W0 --gamma 0.15 --compare 0 --critical --out w0.png
    $ rnndyn spectrum --random 64 --init antisymmetric:std=0.5 --cell euler --gamma 0.1 --out a.png
    """
    from rnndyn.plots.stability import plot_stability

    check_out_suffix(out)  # refuse a bad --out before any work
    if random_n is not None:
        if option_given(ctx, "matrix"):
            fail("--matrix, --random: give one of them, not both")
        W = LabeledMatrix(f"random {random_n}×{random_n} ({init_spec})",
                          rd.init.from_spec(init_spec, random_n, rng=seed))
    else:
        if option_given(ctx, "init_spec"):
            fail("--init: only used with --random N")
        W = matrix
    res = resolve_cell(W, cell, activation, layer, eps, gamma, extra={"compare": bool(compare), "critical": critical})
    res.echo_notices()
    base, cell, activation, name = res.cell, res.kind, res.activation, res.label
    gammas = [gamma] + [g for g in compare if g != gamma]
    cells = [base] + [base.replace(gamma=g) for g in gammas[1:]]
    stepped = bool(cell_parameters(cell))
    labels = [f"γ = {g:.4g}" for g in gammas] if stepped else [f"{cell} ({activation})"]
    if critical:
        gc = rd.analysis.stability.critical_gamma(base)
        if math.isnan(gc):
            click.echo(f"Warning: --critical: {rd.stability(base).critical_gamma_note}", err=True)
        else:
            cells.append(base.replace(gamma=gc))
            labels.append(f"γ = γ_c = {gc:.4g}")
    reports = []
    with progress_bar("spectra", len(cells), enabled=None if len(cells) * base.n ** 3 > _PROGRESS_WORK else False) as bar:
        for c in cells:
            reports.append(rd.stability(c))
            bar.update(1)
    title = f"{name}: {type(base).__name__} ({activation})" + (f", ε = {base.eps:.4g}" if stepped else "")
    fig = plot_stability(reports, labels, title=title)
    write_figure(fig, out, dpi)
    if as_json:
        emit_json([{"label": lab, **r.to_dict(), "model": res.model} for lab, r in zip(labels, reports)])
    else:
        if res.model:
            click.echo(model_line(res.model))
        for r in reports:
            click.echo(r.summary)
