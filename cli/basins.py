"""``rnndyn basins``: basins of attraction and the gradient field of a cell over a plane of initial states."""

from __future__ import annotations

import click
import numpy as np

from rnndyn.systems.build import build_cell

from .errors import check_cell_options, fail, options_named
from .options import (
    activation_option,
    backend_option,
    cell_option,
    dpi_option,
    eps_option,
    gamma_option,
    json_option,
    matrix_option,
    out_option,
    steps_option,
)
from .output import check_out_suffix, emit_json, progress_bar, write_figure


def _pt(p) -> str:
    return "(" + ", ".join(f"{float(v):.4g}" for v in p) + ")"


def basins_record(bas, out=None) -> dict:
    """The machine-readable summary of a Basins result (what ``--json`` prints)."""
    lg = bas.log_grad[np.isfinite(bas.log_grad)]
    return {
        "grid": len(bas.u),
        "steps": bas.steps,
        "cycle_max": bas.cycle_max,
        "tol": bas.tol,
        "escape": bas.escape,
        "bounds": [[float(bas.u[0]), float(bas.u[-1])], [float(bas.v[0]), float(bas.v[-1])]],
        "origin": bas.origin,
        "directions": bas.directions,
        "attractors": [{"label": a.label, "kind": a.kind, "period": a.period, "points": a.points, "count": a.count}
                       for a in bas.attractors],
        "log10_grad": {"min": float(lg.min()) if lg.size else None,
                       "median": float(np.median(lg)) if lg.size else None,
                       "max": float(lg.max()) if lg.size else None},
        "out": out,
    }


@click.command()
@matrix_option(labeled=True, default="identity")
@cell_option(default="vanilla")
@gamma_option()
@eps_option()
@activation_option()
@click.option("--scale", type=float, default=2.0, show_default=True,
              help="Multiply the matrix by this gain (the default 2·identity has four stable fixed points).")
@click.option("--rotate", type=float, default=0.0, show_default=True, metavar="RAD",
              help="2-D matrices: rotate by this angle (radians) first, W = scale·R(RAD)·matrix.")
@steps_option(default=200)
@click.option("--grid", type=click.IntRange(min=2, max=8192), default=256, show_default=True,
              help="Initial states per axis.")
@click.option("--bounds", type=float, nargs=2, default=(-1.5, 1.5), show_default=True, metavar="LO HI",
              help="Range of both axes of the plane.")
@click.option("--plane", type=click.IntRange(min=0), nargs=2, default=None, metavar="I J",
              help="The state axes of the plane (required for n > 2; the other coordinates are 0).")
@click.option("--cycle-max", type=click.IntRange(min=1, max=64), default=8, show_default=True,
              help="Longest period of a cycle looked for.")
@click.option("--tol", type=float, default=1e-6, show_default=True,
              help="Relative tolerance of a period and of two cycles being one attractor.")
@backend_option()
@out_option(help="Output figure (.png, .svg, .pdf); default basins_<matrix>_<cell>.png.")
@dpi_option()
@json_option()
def basins(matrix, cell, gamma, eps, activation, scale, rotate, steps, grid, bounds, plane, cycle_max, tol, backend, out,
           dpi, as_json):
    """Basins of attraction and the gradient field ‖∂h_T/∂h_0‖ of a cell.

    Runs every initial state of a grid in a plane for T steps, finds the
    attractors reached (fixed points, cycles, divergence) without being told
    them, and draws the basins side by side with log10 ‖∂h_T/∂h_0‖: dark
    inside a basin, where the gradient vanishes, bright along the boundaries,
    where it blows up (Grosse, CSC321 Lecture 15). Prints each attractor and
    the size of its basin (--json: all of it as JSON).

    \b
    $ rnndyn basins --cell vanilla --matrix identity --scale 2 --grid 512
    attractor 0   fixed point (-0.9575, -0.9575)          65536 points
    ...
    wrote basins_identity_vanilla.png
    \b
    $ rnndyn basins --matrix identity --scale 3 --rotate 0.3 --steps 30 --out twisted.png
    """
    import rnndyn as rd
    from rnndyn.plots.basins import plot_basins
    from rnndyn.systems.build import cell_parameters

    check_cell_options(click.get_current_context(), cell, cell_parameters(cell), eps=eps, gamma=gamma)
    W = scale * matrix.array
    if rotate:
        if W.shape != (2, 2):
            fail(f"--rotate: rotates 2x2 matrices only, got shape {W.shape} from {matrix.label!r}")
        c, s = np.cos(rotate), np.sin(rotate)
        W = np.array([[c, -s], [s, c]]) @ W
    c = build_cell(cell, W, eps=eps, gamma=gamma, activation=activation)
    if out is None:
        out = f"basins_{matrix.label}_{cell}.png"
    check_out_suffix(out)
    with options_named(grid="--grid", steps="--steps", bounds="--bounds", plane="--plane", cycle_max="--cycle-max",
                       tol="--tol", backend="--backend", system="--matrix"):
        with progress_bar("basins", grid) as bar:
            tick = (lambda done, total: bar.advance_to(done)) if bar.enabled else None
            bas = rd.basins(c, grid=grid, steps=steps, bounds=bounds, plane=tuple(plane) if plane else None,
                            cycle_max=cycle_max, tol=tol, backend=backend, progress=tick)
    path = write_figure(plot_basins(bas), out, dpi=dpi)
    if as_json:
        emit_json(basins_record(bas, out=str(path)))
        return
    for a in bas.attractors:
        where = _pt(a.points[0]) if a.period == 1 else (f"through {_pt(a.points[0])}" if a.period else "")
        name = f"attractor {a.label}" if a.label >= 0 else a.kind
        click.echo(f"{name:<14}{a.kind + ' ' + where if a.label >= 0 else '':<40}{a.count} points")
    lg = bas.log_grad[np.isfinite(bas.log_grad)]
    if lg.size:
        click.echo(f"log10 ‖∂h_T/∂h_0‖: median {np.median(lg):.3g}, max {lg.max():.3g} (T = {bas.steps})")
