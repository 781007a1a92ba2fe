"""``rnndyn slowpoints``: fixed and slow points of a trained network (Sussillo & Barak 2013)."""

from __future__ import annotations

import click

from .options import dpi_option, json_option, out_option, seed_option


@click.command()
@click.argument("run", required=False, type=click.Path(dir_okay=False))
@click.option("--starts", "n_starts", type=click.IntRange(min=1), default=1024, show_default=True,
              help="Searches, started from states of the network's test trajectories.")
@click.option("--noise", type=click.FloatRange(min=0.0), default=0.01, show_default=True,
              help="Standard deviation of the noise added to the starts.")
@click.option("--tol", type=click.FloatRange(min=0.0, min_open=True), default=1e-10, show_default=True,
              help="Keep points with q = ½‖F(h) − h‖² below this.")
@click.option("--iters", type=click.IntRange(min=0), default=2000, show_default=True, help="Adam steps at most.")
@click.option("--trajectories", type=click.IntRange(min=0), default=16, show_default=True,
              help="Test sequences whose trajectories give the starts and are drawn.")
@seed_option()
@out_option(help="Output figure (.png, .svg, .pdf): trajectories and points in the first 3 principal components.")
@dpi_option()
@json_option()
def slowpoints(run, n_starts, noise, tol, iters, trajectories, seed, out, dpi, as_json):
    """Slow points of a saved run under zero input: q(h) = ½‖F(h, 0) − h‖² minimised from many starts.

    Prints each point with its q, its kind (sink, saddle, source, neutral, from
    the eigenvalues of the one-step Jacobian) and its largest |μ|; --out draws
    the network's trajectories and the points in the first three principal
    components, coloured by kind (Sussillo & Barak 2013, Fig. 2).

    \b
      rnndyn train --task flipflop --cell vanilla --size 24 --epochs 40 --lr 0.01 --out ff.json
      rnndyn slowpoints ff.json --out ff_slow.png
    """
    import numpy as np

    import rnndyn as rd

    from .errors import fail
    from .output import check_out_suffix, emit_json, progress_bar, write_figure

    if out:
        check_out_suffix(out)
    if run is None:  # checked here, after the options, so that a bad option is the error reported
        fail("RUN: expected a saved run (a .json or .npz file written by rnndyn train --out)")
    r = rd.load_run(run)
    task = rd.analysis.train.task_of(r)
    X = task.X_test[:max(trajectories, 1)]
    with progress_bar("slow points", 1000) as bar:
        # the total grows once the candidates to polish are known: the bar shows the fraction done
        sp = rd.slow_points(r.cell, x=np.zeros(task.d), inputs=X, n_starts=n_starts, noise=noise, tol=tol,
                            iters=iters, rng=seed, progress=lambda done, total: bar.advance_to(1000 * done // total))
    if out:
        from rnndyn.plots.train import plot_slow_points

        traj = rd.simulate(r.cell, np.zeros((X.shape[0], r.cell.n)), X).states if trajectories else None
        fig = plot_slow_points(sp, traj, title=f"{task.name}: {r.config['cell']} n = {r.cell.n}, "
                                               f"{', '.join(f'{v} {k}' for k, v in sorted(sp.counts.items()))}")
        write_figure(fig, out, dpi=dpi)
    if as_json:
        emit_json({"run": str(run), "counts": sp.counts, "n_starts": int(sp.q_starts.size), "tol": tol,
                   "points": [{"state": h, "q": q, "kind": k, "max_abs_eigenvalue": float(np.abs(mu).max())}
                              for h, q, k, mu in zip(sp.states, sp.q, sp.kinds, sp.eigenvalues)],
                   "out": out})
        return
    counts = ", ".join(f"{v} {k}" for k, v in sorted(sp.counts.items())) or "none"
    click.echo(f"{len(sp)} points with q < {tol:g} from {sp.q_starts.size} starts: {counts}")
    click.echo(f"{'#':>3}  {'kind':<8}{'q':>11}{'max|μ|':>9}{'‖h‖':>8}")
    for i, (h, q, k, mu) in enumerate(zip(sp.states, sp.q, sp.kinds, sp.eigenvalues)):
        click.echo(f"{i:>3}  {k:<8}{q:>11.2e}{np.abs(mu).max():>9.4f}{np.linalg.norm(h):>8.3f}")
