"""``rnndyn norms``: how ‖W^t‖ (or ‖∂h_t/∂h_0‖) grows or decays, one line per initialisation."""

from __future__ import annotations

import math

import click

from rnndyn.analysis.growth import CELLS, DEFAULT_INITS

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
from .output import check_out_suffix, emit_json, write_figure
from .types import InitSpecType


def _verdict(rate: float) -> str:
    if not math.isfinite(rate):
        return "diverges"
    if rate < 0.99:
        return "vanishes"
    if rate > 1.01:
        return "explodes"
    return "keeps its norm"


def growth_record(g, out=None) -> dict:
    """The machine-readable form of a NormGrowth (what ``--json`` prints)."""
    rows = []
    T = int(g.times[-1])
    for i, spec in enumerate(g.inits):
        final = float(g.norms[i, -1])
        rate = final ** (1.0 / T) if T > 0 and final > 0 and math.isfinite(final) else float("nan")
        rows.append({
            "init": spec,
            "spectral_radius": float(g.spectral_radius[i]),
            "final_norm": final,
            "growth_per_step": rate,
            "verdict": _verdict(rate) if T > 0 else "n/a",
            "matrix_norms": g.matrix_norms[i],
            "jacobian_norms": None if g.jacobian_norms is None else g.jacobian_norms[i],
        })
    return {"cell": g.cell, "size": g.size, "steps": T, "times": g.times, "inits": rows, "out": out}


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

    Prints, per initialisation, the spectral radius of W, the norm after T steps
    and the mean growth factor per step; --out draws the curves on a log axis.

    \b
    $ rnndyn norms --out norms.png
    linear cell, n = 64, ‖W^t‖
    init             rho(W)   norm at T=64   per step   verdict
    normal:gain=0.5  0.5101   5.208e-19      0.5180     vanishes
    orthogonal       1.0000   1              1.0000     keeps its norm
    normal:gain=1.5  1.7741   1.386e+16      1.7874     explodes
    """
    from rnndyn.analysis.growth import norm_growth

    if out:
        check_out_suffix(out)
    g = norm_growth(inits or DEFAULT_INITS, size=size, steps=steps, cell=cell, rng=seed, eps=eps, gamma=gamma,
                    activation=activation)
    if out:
        from rnndyn.plots.growth import plot_norm_growth

        write_figure(plot_norm_growth(g), out, dpi=dpi)
    rec = growth_record(g, out)
    if as_json:
        emit_json(rec)
        return
    what = "‖W^t‖" if cell == "linear" else "‖dh_t/dh_0‖"
    width = max(len(r["init"]) for r in rec["inits"]) + 2
    click.echo(f"{cell} cell, n = {size}, {what}")
    click.echo(f"{'init':<{width}}{'rho(W)':<9}{f'norm at T={steps}':<15}{'per step':<11}verdict")
    for r in rec["inits"]:
        click.echo(f"{r['init']:<{width}}{r['spectral_radius']:<9.4f}{r['final_norm']:<15.4g}"
                   f"{r['growth_per_step']:<11.4f}{r['verdict']}")
