"""``rnndyn sweep``: measure a grid of cells over several seeds, on worker processes or an existing Dask cluster."""

from __future__ import annotations

import math

import click

from rnndyn.analysis.sweep import AXIS_GRAMMAR, CELLS, MEASURES, parse_axis, parse_measure
from rnndyn.errors import RnndynError

from .errors import fail
from .options import backend_option, dpi_option, json_option
from .output import check_out_suffix, emit_json, progress_enabled, write_figure


class AxisType(click.ParamType):
    """One value of a grid axis option: ``a,b,c``, ``start:stop:num`` or ``log:start:stop:num``, read by
    :func:`rnndyn.analysis.sweep.parse_axis`; converts to the tuple of its values."""

    name = "SPEC"

    def __init__(self, axis: str):
        self.axis = axis

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            return parse_axis(self.axis, value, argname=param.opts[0] if param is not None else self.axis)
        except RnndynError as exc:
            raise click.UsageError(str(exc), ctx) from None


class MeasureType(click.ParamType):
    """A measure of :data:`rnndyn.analysis.sweep.MEASURES` (``lyapunov_top:K``), read by ``parse_measure``."""

    name = "MEASURE"

    def convert(self, value, param, ctx):
        try:
            name, k = parse_measure(value, argname="--measure")
        except RnndynError as exc:
            raise click.UsageError(str(exc), ctx) from None
        return f"{name}:{k}" if k else name


def _axis_option(axis, *names, help):
    return click.option(*names, axis, type=AxisType(axis), multiple=True, help=help)


def _flat(groups):
    out = []
    for g in groups:
        out += [v for v in g if v not in out]
    return tuple(out)


@click.command("sweep")
@_axis_option("cell", "--cell", help=f"Cell kinds, comma list of {', '.join(CELLS)}. [default: antisymmetric]")
@_axis_option("size", "--size", "-n", help="State sizes n. [default: 16]")
@_axis_option("eps", "--eps", help=f"Step sizes ε > 0: {AXIS_GRAMMAR}. [default: 0.1]")
@_axis_option("gamma", "--gamma", help="Diffusions γ ≥ 0, as --eps. [default: 0]")
@_axis_option("init", "--init", help="How W is drawn: init specs NAME[:KEY=VALUE] (orthogonal, identity, "
              "normal:std=S, xavier, antisymmetric, ...), comma list. [default: normal]")
@_axis_option("activation", "--activation", help="Activations, comma list of tanh, relu, linear, sigmoid. "
              "[default: tanh]")
@click.option("--seeds", type=click.IntRange(min=1), default=1, show_default=True,
              help="Seeds 0 .. N−1 per configuration (W, inputs and h0 drawn from each).")
@click.option("--measure", "measures", type=MeasureType(), multiple=True,
              help="What to measure, repeatable: " + ", ".join(m if m != "lyapunov_top" else "lyapunov_top:K"
                                                              for m in MEASURES) + ". [default: lyapunov_max]")
@click.option("--steps", "-T", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Steps measured (after the transient).")
@click.option("--transient", type=click.IntRange(min=0), default=0, show_default=True,
              help="Steps run first and not measured.")
@click.option("--inputs", default="none", show_default=True, metavar="none|noise:STD",
              help="Autonomous, or driven by seeded Gaussian inputs of standard deviation STD (one channel).")
@click.option("--out", "out", type=click.Path(file_okay=False), default=None,
              help="Folder of the sweep: manifest.json, parts/ (each chunk as it finishes) and sweep.csv.")
@click.option("--workers", type=click.IntRange(min=0), default=None,
              help="Worker processes of a local Dask cluster; 0 runs in this process. [default: the CPUs]")
@click.option("--scheduler", default=None, metavar="tcp://HOST:PORT",
              help="The address of an existing Dask scheduler: its workers run the sweep.")
@click.option("--chunk", type=click.IntRange(min=1), default=None,
              help="Rows per task. [default: from a cost estimate, about a second of work each]")
@click.option("--resume", is_flag=True, help="Continue the sweep in --out, skipping the chunks already written.")
@click.option("--plot", "plot", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Draw the first measure (or --plot-measure) over the axes that vary: a heatmap over two "
                   "(seed mean, with the forward-Euler boundary and critical γ(ε) over an (ε, γ) grid), lines "
                   "with a seed band over one.")
@click.option("--plot-measure", default=None, help="The measured column --plot draws (e.g. lyapunov_top_2).")
@backend_option()
@dpi_option()
@json_option()
def sweep(cell, size, eps, gamma, init, activation, seeds, measures, steps, transient, inputs, out, workers,
          scheduler, chunk, resume, plot, plot_measure, backend, dpi, as_json):
    """Sweep a grid of cells (the product of the axes) over seeds, and measure each.

    Every axis option takes comma lists, start:stop:num (linspace) or
    log:start:stop:num, and may be repeated. The rows run in chunks on a
    local Dask cluster (--workers), an existing one (--scheduler), or here
    (--workers 0, or when dask is not installed). With --out every finished
    chunk is kept, and --resume continues an interrupted sweep. Prints the
    mean ± std over the seeds of each configuration (--json: also min and max).

    The sweep of the figure antisymmetric_stability_sweep (20 ε × 21 γ × 4
    seeds of n = 32 antisymmetric cells, a few minutes on a laptop) is
    ``rnndyn sweep --size 32 --eps log:0.01:0.5:20 --gamma 0:1.5:21 --seeds 4
    --steps 2000 --transient 200 --measure lyapunov_max --measure euler_factor
    --out sweep --plot sweep.png``; on a cluster add ``--scheduler
    tcp://HOST:8786``.

    \b
    $ rnndyn sweep --size 4 --gamma 0,0.5 --seeds 2 --measure euler_factor --steps 10 --workers 0
    gamma  euler_factor mean ± std
    ...
    """
    import rnndyn as rd
    from rnndyn.analysis.sweep import stability_overlay

    if workers is not None and scheduler is not None:
        fail("--workers, --scheduler: give one of them (a local cluster of N workers, or an existing one)")
    if resume and out is None:
        fail("--resume: needs --out, the folder of the sweep to continue")
    if plot:
        check_out_suffix(plot)
    grid = {a: _flat(v) for a, v in (("cell", cell), ("size", size), ("eps", eps), ("gamma", gamma),
                                      ("init", init), ("activation", activation)) if v}
    client = None
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError:
            fail("--scheduler: needs dask.distributed (pip install 'rnndyn[sweep]')")
        try:
            client = Client(scheduler, timeout=20)
        except (OSError, TimeoutError, ValueError) as exc:
            fail(f"--scheduler: cannot connect to {scheduler}: {exc}")
    bar = _ChunkBar()
    try:
        try:
            result = rd.sweep(grid, list(measures) or ["lyapunov_max"], steps=steps, transient=transient,
                              inputs=inputs, seeds=seeds, client=client, chunk=chunk, out=out, resume=resume,
                              progress=bar, backend=backend, workers=workers)
        except RnndynError as exc:
            _fail_named(exc)
    finally:
        bar.close()
        if client is not None:
            client.close()
    if plot:
        from rnndyn.plots.sweep import plot_sweep

        if plot_measure is not None and plot_measure not in result.value_columns:
            fail(f"--plot-measure: expected one of {', '.join(result.value_columns)}, got {plot_measure!r}")
        try:
            varying = result.varying
            axes = [a for a in varying]
            x, y = (axes + [None, None])[:2]
            if {x, y} == {"eps", "gamma"}:
                x, y = "eps", "gamma"
            overlay = stability_overlay(result, x, y) if y is not None else None
            fig = plot_sweep(result, plot_measure, x=x, y=y, overlay=overlay)
        except RnndynError as exc:
            fail(f"--plot: {exc}")
        write_figure(fig, plot, dpi=dpi)
    summary = result.summary()
    failed = int(sum(1 for e in result["error"] if e))
    if as_json:
        emit_json({"engine": result.engine, "rows": len(result), "failed": failed, "out": out, "plot": plot,
                   "summary": summary.to_dict()})
        return
    _print_summary(result, summary)
    click.echo(f"{len(result)} rows ({len(summary)} configurations × {len(result.seeds)} seeds), "
               f"{failed} with errors; engine: {result.engine}" + (f"; table in {out}/sweep.csv" if out else ""))


def _fail_named(exc):
    names = {"steps": "--steps", "transient": "--transient", "inputs": "--inputs", "seeds": "--seeds",
             "measures": "--measure", "out": "--out", "resume": "--resume", "chunk": "--chunk", "workers": "--workers"}
    head, sep, rest = str(exc).partition(": ")
    if sep and head in names:
        fail(f"{names[head]}: {rest}")
    if sep and head.startswith("grid["):
        fail(f"--{head[6:-2]}: {rest}")
    raise exc


def _print_summary(result, summary):
    shown = [a for a in result.varying] or ["cell"]
    cols = list(result.value_columns)
    head = [*shown, *(f"{c} mean ± std" for c in cols)]
    rows = []
    for i in range(len(summary)):
        cells = [str(summary[a][i]) if not isinstance(summary[a][i], float) else f"{summary[a][i]:.6g}"
                 for a in shown]
        for c in cols:
            m, s = summary[f"{c}_mean"][i], summary[f"{c}_std"][i]
            cells.append("nan" if math.isnan(m) else f"{m:.6g} ± {s:.2g}")
        if summary["errors"][i]:
            cells[-1] += f"  ({summary['errors'][i]} failed)"
        rows.append(cells)
    widths = [max(len(h), *(len(r[j]) for r in rows)) for j, h in enumerate(head)]
    click.echo("  ".join(h.ljust(w) for h, w in zip(head, widths)).rstrip())
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())


class _ChunkBar:
    """The progress bar over chunks, drawn when :func:`~.output.progress_enabled`; made at the first report,
    when the number of chunks is known."""

    def __init__(self):
        self.enabled = progress_enabled()
        self.bar = None

    def __call__(self, done, total):
        if not self.enabled:
            return
        from .output import ProgressBar

        if self.bar is None:
            self.bar = ProgressBar("sweep", total, True)
        self.bar.advance_to(done)

    def close(self):
        if self.bar is not None:
            self.bar.close()
