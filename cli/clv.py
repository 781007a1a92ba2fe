"""``rnndyn clv``: covariant Lyapunov vectors (Ginelli et al. 2007), their angles, and finite-time exponents."""

from __future__ import annotations

import click

from rnndyn.systems.build import CELL_KINDS, SYSTEM_KINDS

from .errors import fail
from .lyapunov import DEFAULT_KIND, build_problem, resolve_model
from .options import (
    MODEL_HELP,
    activation_option,
    backend_option,
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
from .types import POINT, InitSpecType

#: Angles below this many radians count as near-tangencies in the summary.
SMALL_ANGLE = 0.1


def clv_record(clv, desc, ftle=None, out=None) -> dict:
    """The machine-readable form of a CovariantVectors result (and a FiniteTimeLyapunov), for ``--json``."""
    stats = clv.angle_stats(SMALL_ANGLE)
    rec = {
        "system": desc,
        "exponents": clv.exponents,
        "split": clv.split,
        "angle": {"min": stats["min"], "p1": stats["p1"], "median": stats["median"],
                  "fraction_below": stats["fraction_below"], "below": stats["below"]},
        "k": clv.k,
        "steps": clv.steps,
        "transient": clv.transient,
        "transient_backward": clv.transient_backward,
        "every": clv.every,
        "segments": clv.segments,
        "diverged_at": clv.diverged_at,
    }
    if ftle is not None:
        rec["ftle"] = {"window": ftle.window, "windows": ftle.windows, "mean": ftle.mean, "std": ftle.std,
                       "positive_fraction": ftle.positive_fraction}
    rec["out"] = out
    return rec


@click.command("clv")
@click.option("--cell", type=click.Choice(SYSTEM_KINDS), default=None,
              help="An RNN cell (" + ", ".join(CELL_KINDS) + "), an LSTM, or a classic map (henon: a = 1.4, "
                   f"b = 0.3; logistic: r = 4). [default: the cell a weights file holds, else {DEFAULT_KIND}]")
@matrix_option(default=None, labeled=True,
               help="W: a named matrix (W0, Wdiff, ...) or a .npy/.npz[:key]/.csv/.txt file. Default: drawn with "
                    "--size/--init. " + MODEL_HELP)
@layer_option()
@size_option(help="State size n when W is drawn (default 16); hidden size of the LSTM.")
@click.option("--init", "init", type=InitSpecType(), default="normal", show_default=True,
              help="How W is drawn, NAME[:KEY=VALUE] (as in rnndyn lyapunov).")
@eps_option()
@gamma_option()
@activation_option(from_weights=True)
@click.option("--noise", type=click.IntRange(0, 1024), default=0, show_default=True, metavar="D",
              help="Drive the cell with N(0, 1) inputs in D channels; 0: autonomous.")
@steps_option(default=5000, minimum=1, help="Steps over which the vectors, angles and growth rates are reported.")
@click.option("--k", "k", type=click.IntRange(min=1), default=None, help="Number of vectors (default: all).")
@click.option("--transient", type=click.IntRange(min=0), default=100, show_default=True,
              help="Forward transient: steps evolved first and not reported.")
@click.option("--transient-backward", "transient_backward", type=click.IntRange(min=0), default=1000,
              show_default=True, help="Steps past the reported ones that let the backward iteration converge.")
@click.option("--every", type=click.IntRange(min=1), default=1, show_default=True,
              help="Keep the vectors and angles every this many steps.")
@click.option("--split", type=click.IntRange(min=0), default=None,
              help="Vectors spanning the unstable subspace of the angle (default: those with a positive exponent).")
@click.option("--window", type=click.IntRange(min=1), default=None, metavar="TAU",
              help="Also the finite-time exponents over windows of TAU steps (their distribution).")
@click.option("--h0", type=POINT, default=None, help="Initial state x,y,... (default: N(0, 0.5²) from --seed).")
@seed_option()
@backend_option()
@out_option(help="Figure: the angle distribution and the local growth rates (and the FTLE histograms with "
                 "--window); the format follows the suffix.")
@dpi_option()
@json_option()
def clv(cell, matrix, layer, size, init, eps, gamma, activation, noise, steps, k, transient, transient_backward,
        every, split, window, h0, seed, backend, out, dpi, as_json):
    """Covariant Lyapunov vectors: the directions in which perturbations (and gradients) grow or shrink, and
    how close the expanding and the contracting directions come to each other.

    Prints the exponents (means of the vectors' local growth rates), the
    minimal angle between the unstable and the stable subspace (min, 1st
    percentile, median, and the fraction of times below 0.1 rad: the
    near-tangencies), and with --window the spread of the finite-time
    exponents. --out draws the angle distribution and the growth rates.

    \b
    $ rnndyn clv --cell henon --steps 5000
    $ rnndyn clv --cell vanilla --size 32 --init normal:gain=2 --window 20 --out clv.png
    """
    import rnndyn as rd

    if out:
        check_out_suffix(out)
    resolved, cell, matrix, activation = resolve_model(matrix, cell, activation, layer, eps, gamma)
    if window is not None and window > steps:
        fail(f"--window: at most --steps ({steps}), got {window}")
    problem = build_problem(cell, matrix, size, init, eps, gamma, activation, noise, h0=h0, seed=seed,
                            steps=transient + steps + transient_backward, model_cell=resolved)
    system, x0, inputs, desc = problem.system, problem.h0, problem.inputs, problem.description
    dim = x0.shape[0]
    if k is not None and k > dim:
        fail(f"--k: at most the state size {dim}, got {k}")
    kk = dim if k is None else k
    if split is not None and split > kk:
        fail(f"--split: at most the number of vectors {kk}, got {split}")
    ftle = None
    # the bar in thousandths: the CLV passes first, then (with --window) the finite-time run
    share = 1000 if window is None else 800
    with progress_bar("clv", 1000) as bar:
        tick = (lambda done, t: bar.advance_to(share * done // max(t, 1))) if bar.enabled else None
        res = rd.covariant_lyapunov_vectors(system, x0, inputs, steps=steps, transient=transient, k=k, every=every,
                                            transient_backward=transient_backward, split=split, backend=backend,
                                            progress=tick)
        if window is not None:
            tick2 = (lambda done, t: bar.advance_to(share + (1000 - share) * done // max(t, 1))) if bar.enabled \
                else None
            x = None if inputs is None else inputs[:transient + steps]
            ftle = rd.finite_time_lyapunov(system, x0, x, steps=steps, window=window, transient=transient, k=k,
                                           backend=backend, progress=tick2)
    if out:
        from rnndyn.plots.clv import plot_clv

        write_figure(plot_clv(res, ftle, title=desc), out, dpi=dpi)
    if as_json:
        emit_json({**clv_record(res, desc, ftle, out), "model": None if resolved is None else resolved.model})
        return
    stats = res.angle_stats(SMALL_ANGLE)
    click.echo(f"{desc}, {res.steps} steps (transient {res.transient}, backward transient "
               f"{res.transient_backward}), vectors every {'step' if every == 1 else f'{every} steps'}")
    if res.diverged_at >= 0:
        click.echo(f"{'diverged':<10}at step {res.diverged_at}")
    click.echo(f"{'unstable':<10}{res.split} of {res.k} vectors"
               + (" (positive exponents)" if split is None else " (--split)"))
    if res.split in (0, res.k):
        click.echo(f"{'angle':<10}n/a (no {'unstable' if res.split == 0 else 'stable'} direction)")
    else:
        click.echo(f"{'angle':<10}min {stats['min']:.3g}, 1 % {stats['p1']:.3g}, median {stats['median']:.3g} rad; "
                   f"{100 * stats['fraction_below']:.1f} % of times below {SMALL_ANGLE:g} rad")
    if ftle is not None:
        click.echo(f"{'FTLE':<10}{ftle.summary()}")
    click.echo(f"exponents ({res.k}, mean local growth, per step):")
    e = res.exponents
    for i in range(0, e.size, 6):
        click.echo("  " + "  ".join(f"{v:>12.6g}" for v in e[i:i + 6]))
