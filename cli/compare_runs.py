"""``rnndyn compare-runs``: learning curves of saved training runs, with the tasks' baselines."""

from __future__ import annotations

import math
from pathlib import Path

import click

from .options import dpi_option, json_option, out_option
from .output import check_out_suffix, emit_json, write_figure


@click.command("compare-runs")
@click.argument("runs", nargs=-1, type=click.Path(dir_okay=False))
@click.option("--label", "labels", multiple=True, help="A label per run (repeatable, in order). [default: file names]")
@out_option(help="Output figure (.png, .svg, .pdf): losses, gradient ratio, Lyapunov exponent, accuracy per epoch.")
@dpi_option()
@json_option()
def compare_runs(runs, labels, out, dpi, as_json):
    """Compare saved runs of rnndyn train: final metrics, and learning curves with --out.

    Prints one line per run (cell, task, epochs, final test loss against the
    task's input-blind baseline, accuracy, log10 ‖∂L/∂h_0‖/‖∂L/∂h_T‖, largest
    Lyapunov exponent); --out draws the curves per epoch. After two runs of
    rnndyn train --out:

    \b
      rnndyn compare-runs run1.json run2.json --out curves.png
    """
    import rnndyn as rd

    from .errors import fail

    if labels and len(labels) != len(runs):
        fail(f"--label: expected {len(runs)} labels (one per run), got {len(labels)}")
    if out:
        check_out_suffix(out)
    if not runs:  # checked here, after the options, so that a bad option is the error reported
        fail("RUNS: expected at least one saved run (a .json or .npz file written by rnndyn train --out)")
    loaded = [rd.load_run(p) for p in runs]
    names = list(labels) if labels else [Path(p).stem for p in runs]
    rows = []
    for name, path, run in zip(names, runs, loaded):
        cfg = run.config
        f = run.final
        rows.append({"label": name, "path": str(path), "cell": cfg["cell"], "gated": cfg["gated"],
                     "size": cfg["size"], "task": cfg["task"]["name"], "length": cfg["task"]["length"],
                     "epochs": run.epochs, "baseline": cfg["baseline"], **{k: f.get(k) for k in
                     ("loss", "test_loss", "test_accuracy", "grad_ratio", "radius", "max_lyapunov")},
                     "time": float(sum(run.history.get("time", [])))})
    if out:
        from rnndyn.plots.train import plot_learning_curves

        fig = plot_learning_curves(loaded, labels=names, baselines=[r.config["baseline"] for r in loaded])
        write_figure(fig, out, dpi=dpi)
    if as_json:
        emit_json({"runs": rows, "out": out})
        return

    def fmt(v):
        return "-" if v is None or not math.isfinite(v) else f"{v:.4g}"

    width = max(8, max(len(n) for n in names) + 2)
    click.echo(f"{'run':<{width}}{'cell':<16}{'task':<12}{'epochs':>7}{'test loss':>11}{'baseline':>10}"
               f"{'accuracy':>10}{'grad ratio':>12}{'λ1':>9}")
    for r in rows:
        cell = r["cell"] + ("+gate" if r["gated"] else "")
        click.echo(f"{r['label']:<{width}}{cell:<16}{r['task'] + str(r['length']):<12}{r['epochs']:>7}"
                   f"{fmt(r['test_loss']):>11}{fmt(r['baseline']):>10}{fmt(r['test_accuracy']):>10}"
                   f"{fmt(r['grad_ratio']):>12}{fmt(r['max_lyapunov']):>9}")
