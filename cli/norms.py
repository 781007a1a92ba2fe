"""``rnndyn norms``: how ‖W^t‖ (or ‖∂h_t/∂h_0‖) grows or decays, one line per initialisation."""

from __future__ import annotations

import click

from rnndyn.analysis.growth import CELLS, DEFAULT_INITS, KEEP_BAND

from .errors import check_cell_options
from .options import (
    activation_option,
    cell_option,
    dpi_option,
    eps_option,
    gamma_option,
    json_option,
    out_option,
    seed_option,
    size_option,
    steps_option,
)
from .output import check_out_suffix, emit_json, progress_bar, write_figure
from .types import InitSpecType


def growth_record(g, out=None) -> dict:
    """The machine-readable form of a NormGrowth (what ``--json`` prints)."""
    rows = []
    T = int(g.times[-1])
    for i, spec in enumerate(g.inits):
        rows.append({
            "init": spec,
            "spectral_radius": float(g.spectral_radius[i]),
            "jacobian_spectral_radius": float(g.jacobian_radius[i]),
            "final_norm": float(g.norms[i, -1]),
            "growth_per_step": float(g.growth_per_step[i]),
            "verdict": g.verdicts[i],
            "limit_step": None if g.limit_step[i] < 0 else int(g.limit_step[i]),
            "matrix_norms": g.matrix_norms[i],
            "jacobian_norms": None if g.jacobian_norms is None else g.jacobian_norms[i],
        })
    return {"cell": g.cell, "size": g.size, "steps": T, "keep_band": KEEP_BAND, "times": g.times, "inits": rows,
            "out": out}


def _final(g, i) -> str:
    t = int(g.limit_step[i])
    if t >= 0:
        return "inf" if g.verdicts[i] == "overflowed" else "0"
    return f"{float(g.norms[i, -1]):.4g}"


def _verdict(g, i) -> str:
    t = int(g.limit_step[i])
    return g.verdicts[i] + (f" at t = {t}" if t >= 0 else "")


#: Multiply-adds (initialisations × steps × n²) from which norms shows a progress bar.
_PROGRESS_WORK = 5e6


@click.command("norms")
@click.option("--init", "inits", type=InitSpecType(bare_number="gain"), multiple=True,
              help="Initialisation NAME[:KEY=VALUE] (repeatable): orthogonal, identity, normal, uniform, "
                   "xavier_normal, xavier_uniform, antisymmetric, each with gain=G (the spectral radius: "
                   "normal:gain=G has entries N(0, G²/n)) or its own std=S / scale=A. Default: "
                   + ", ".join(DEFAULT_INITS) + " (vanishes, keeps, explodes).")
@size_option(default=64)
@steps_option(default=64, maximum=100_000)
@cell_option(default="linear", kinds=CELLS,
             help="linear: ‖W^t‖; otherwise ‖∂h_t/∂h_0‖ of that cell (from a random h0 with ‖h0‖ ≈ 1).")
@eps_option()
@gamma_option()
@activation_option()
@seed_option()
@out_option()
@dpi_option()
@json_option()
def norms(inits, size, steps, cell, eps, gamma, activation, seed, out, dpi, as_json):
    """Norm of repeated products against t, one line per initialisation (Smerity).

    Prints, per initialisation, the spectral radius of the one-step Jacobian the
    cell iterates at h = 0 (ρ(W) for the linear cell), the norm after T steps,
    the mean growth factor per step and the verdict it gives: "keeps its norm"
    when log(per step) is within ±0.001, else "vanishes" or "explodes";
    "overflowed"/"underflowed" with the step where the norm left the
    floating-point range (per step is then measured before it). --out draws the
    curves on a log axis.

    \b
    $ rnndyn norms
    linear cell, n = 64, ‖W^t‖
    init             ρ(W)       norm at T=64    per step  verdict
    normal:gain=0.5  0.5101     5.208e-19       0.5180    vanishes
    orthogonal       1.0000     1               1.0000    keeps its norm
    normal:gain=1.5  1.7741     1.386e+16       1.7874    explodes
    ...
    \b
    $ rnndyn norms --cell antisymmetric --gamma 0.1 --steps 1000 --out norms.png
    """
    from rnndyn.analysis.growth import norm_growth
    from rnndyn.systems.build import cell_parameters

    takes = () if cell == "linear" else cell_parameters(cell) + ("activation",)
    check_cell_options(click.get_current_context(), cell, takes, eps=eps, gamma=gamma, activation=activation)
    if out:
        check_out_suffix(out)
    entries = inits or DEFAULT_INITS
    # A bar where the work can take seconds: T products of n x n matrices per initialisation.
    big = len(entries) * steps * size * size > _PROGRESS_WORK
    with progress_bar("norms", len(entries), enabled=None if big else False) as bar:
        g = norm_growth(entries, size=size, steps=steps, cell=cell, rng=seed, eps=eps, gamma=gamma,
                        activation=activation, progress=lambda spec: bar.update(1))
    if out:
        from rnndyn.plots.growth import plot_norm_growth

        write_figure(plot_norm_growth(g), out, dpi=dpi)
    rec = growth_record(g, out)
    if as_json:
        emit_json(rec)
        return
    what = "‖W^t‖" if cell == "linear" else "‖∂h_t/∂h_0‖"
    rho = "ρ(W)" if cell == "linear" else "ρ(J at 0)"
    width = max(len(r["init"]) for r in rec["inits"]) + 2
    click.echo(f"{cell} cell, n = {size}, {what}")
    click.echo(f"{'init':<{width}}{rho:<11}{f'norm at T={steps}':<16}{'per step':<10}verdict")
    for i, r in enumerate(rec["inits"]):
        click.echo(f"{r['init']:<{width}}{r['jacobian_spectral_radius']:<11.4f}{_final(g, i):<16}"
                   f"{r['growth_per_step']:<10.4f}{_verdict(g, i)}")
    click.echo(f"verdict: log(per step) below, within or above ±{KEEP_BAND:g}: vanishes, keeps its norm, explodes;"
               " per step is measured before an overflow or underflow")
