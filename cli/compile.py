"""``rnndyn compile``: compile every kernel the commands use, ahead of time, into numba's on-disk cache."""

from __future__ import annotations

import contextlib
import io
import os
import sys
import tempfile
import time

import click

from .options import json_option
from .output import emit_json, progress_enabled

#: What is run to compile: each command on a tiny problem, so the kernels compile at exactly the
#: argument types the commands pass (stability and spectrum use no compiled kernel, and the commands that
#: compute small problems on the NumPy twins compile nothing). The run the train workload saves and the
#: slowpoints workload reads (in the workloads' temporary folder).
_RUN = "run.json"

_SWEEP = ["sweep", "--size", "2", "--steps", "3", "--inputs", "noise:1", "--workers", "0", "--json"]

#: Groups of workloads, each run in order in one process. With several processes (``--jobs``) each takes the
#: next group when it is free, so the groups are listed longest first (compile seconds on an idle core:
#: bptt 55, tangent 51, clv 50, simulate 28, basins 23, lyapunov 22, the Hénon map 21, ...) and the sweep,
#: which alone compiles four kernels, runs once per measure, a kernel each (with no transient where the
#: transient would be integrated by simulate, which another group compiles).
GROUPS = (
    (("sweep --measure grad_ratio", [*_SWEEP, "--transient", "0", "--measure", "grad_ratio"]),),
    (("sweep --measure jacobian_sv", [*_SWEEP, "--transient", "0", "--measure", "jacobian_sv"]),),
    (("clv", ["clv", "--size", "4", "--steps", "5", "--transient", "1", "--transient-backward", "2", "--json"]),),
    (("sweep --measure diverged_at", [*_SWEEP, "--transient", "1", "--measure", "diverged_at"]),),
    (("basins", ["basins", "--grid", "4", "--steps", "3", "--json"]),),
    (("sweep --measure lyapunov_max", [*_SWEEP, "--transient", "1", *[a for m in ("lyapunov_max", "lyapunov_sum")
                                                   for a in ("--measure", m)]]),),
    (("lyapunov --cell henon", ["lyapunov", "--cell", "henon", "--steps", "5", "--transient", "1", "--json"]),
     ("clv --cell henon", ["clv", "--cell", "henon", "--steps", "5", "--transient", "1", "--transient-backward",
                           "2", "--json"])),
    (("train", ["train", "--task", "flipflop", "--length", "4", "--size", "3", "--train-size", "4", "--test-size",
                "2", "--epochs", "1", "--out", _RUN, "--json"]),
     ("slowpoints", ["slowpoints", _RUN, "--starts", "4", "--iters", "3", "--json"])),
    (("lyapunov --cell lstm", ["lyapunov", "--cell", "lstm", "--size", "3", "--steps", "5", "--transient", "1",
                               "--json"]),
     ("phase", ["phase", "--matrix", "W0", "--gamma", "0.15", "--json"]),
     ("gradients", ["gradients", "--size", "4", "--steps", "3", "--json"]),
     ("lyapunov", ["lyapunov", "--size", "4", "--steps", "5", "--transient", "1", "--json"]),
     ("lyapunov --cell logistic", ["lyapunov", "--cell", "logistic", "--steps", "5", "--transient", "1", "--json"]),
     ("norms", ["norms", "--size", "4", "--steps", "3", "--json"]),
     ("cobweb", ["cobweb", "--map", "logistic:3.5", "--steps", "3", "--json"]),
     ("figures --only logistic_bifurcation", ["figures", "--only", "logistic_bifurcation", "--quick", "--json"])),
)

WORKLOADS = tuple(w for group in GROUPS for w in group)


@click.command("compile")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, metavar="N",
              help="Processes that compile at once (default: one per usable core). numba compiles a kernel on "
                   "one core and the kernels are independent, so N processes take about 1/N of the time, down "
                   "to the longest kernel's (about 1 min).")
@json_option()
@click.pass_context
def compile_kernels(ctx, jobs, as_json):
    """Compile every kernel the commands use now, so that no later command waits for it.

    numba compiles a kernel the first time it is called and keeps the result in
    its cache (NUMBA_CACHE_DIR, or the package's __pycache__ folders, or the
    user's cache folder when those are read-only); later runs load it in a
    fraction of a second. Running this once after installing (or upgrading)
    pays that cost up front, on every core. Prints the kernels compiled and the
    time taken; kernels already cached are loaded, not compiled again.

    \b
    $ rnndyn compile
    $ rnndyn compile --jobs 1    # one process
    $ rnndyn compile --json      # seconds per kernel
    """
    from rnndyn.backends.blas import usable_cores

    jobs = min(jobs or usable_cores(), len(GROUPS))
    bars = progress_enabled()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        if jobs == 1:
            rows, kernels = _compile_here(ctx.find_root().command, GROUPS, tmp, bars, as_json)
        else:
            rows, kernels = _compile_in_processes(GROUPS, tmp, jobs, bars, as_json)
    total = time.perf_counter() - t0
    if as_json:
        emit_json({"kernels": kernels, "commands": rows, "seconds": total, "jobs": jobs, "cache_dir": cache_dir()})
        return
    compiled = sum(k["seconds"] for k in kernels)
    what = (f"compiled {len(kernels)} kernel{'s' if len(kernels) != 1 else ''} ({compiled:.1f} s of compiling"
            f"{f' in {jobs} processes' if jobs > 1 else ''})" if kernels else "every kernel was already compiled")
    click.echo(f"{what}; {len(WORKLOADS)} commands checked in {total:.1f} s (cache: {cache_dir()})")


def _compile_here(cli, groups, tmp, bars, as_json):
    """Run the groups' workloads in this process, a bar per kernel (or a line per kernel) on stderr."""
    from .compiling import watch

    w = watch()
    saved = (w.notice, w.stream, w.bars, w.on_kernel)
    w.notice, w.stream, w.bars = False, sys.stderr, bars
    if not bars and not as_json:
        w.on_kernel = _say_compiled
    try:
        rows, kernels = run_groups(cli, groups, tmp)
    finally:
        w.notice, w.stream, w.bars, w.on_kernel = saved
    return rows, kernels


def _compile_in_processes(groups, tmp, jobs, bars, as_json):
    """Run each group in a worker process of a pool of ``jobs``; a bar over the groups (or a line per kernel)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from .output import _drawn

    rows, kernels = [], []
    # spawn: a fresh interpreter per worker, never a fork of a process whose numba or BLAS threads may run
    with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        futures = [pool.submit(_worker, group, tmp) for group in groups]
        bar = (click.progressbar(length=len(groups), label=f"compiling kernels ({jobs} processes)", file=sys.stderr,
                                 show_eta=False) if bars else None)
        with _drawn(bar) if bar is not None else contextlib.nullcontext():
            for future in as_completed(futures):
                group_rows, group_kernels = future.result()
                rows += group_rows
                kernels += group_kernels
                if bar is not None:
                    bar.update(1)
                elif not as_json:
                    for k in group_kernels:
                        _say_compiled(k["kernel"], k["seconds"])
    order = {label: i for i, (label, _) in enumerate(WORKLOADS)}
    rows.sort(key=lambda r: order[r["command"]])
    return rows, kernels


def _worker(group, tmp):
    """Pool task: run one group of workloads in this worker process, with no notice or bar of its own."""
    from .compiling import watch
    from .main import cli

    w = watch()
    w.notice, w.bars = False, False
    return run_groups(cli, (group,), tmp)


def run_groups(cli, groups, tmp):
    """Run the workloads of ``groups`` through the ``cli`` group in folder ``tmp``, their output discarded.

    Returns the rows ``{"command", "seconds"}`` and the kernels compiled meanwhile ``{"kernel", "seconds"}``.
    """
    from .compiling import watch

    w = watch()
    start = len(w.compiled)
    rows = []
    with _cwd(tmp):
        for group in groups:
            for label, argv in group:
                t = time.perf_counter()
                sink = io.StringIO()
                with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                    try:
                        cli.main(args=argv, prog_name="rnndyn", standalone_mode=False)
                    except (click.ClickException, click.exceptions.Exit, SystemExit) as e:
                        raise click.ClickException(f"{label}: {e}; its output:\n{sink.getvalue()}") from e
                rows.append({"command": label, "seconds": time.perf_counter() - t})
    return rows, [{"kernel": name, "seconds": s} for name, s in w.compiled[start:]]


def _say_compiled(name, seconds):
    click.echo(f"compiled {name} ({seconds:.1f} s)", err=True)


def cache_dir() -> str:
    """Where numba keeps compiled kernels for this installation (the first writable place it tries)."""
    from numba.core import config
    from numba.core.caching import InTreeCacheLocator, UserWideCacheLocator

    if config.CACHE_DIR:
        return str(config.CACHE_DIR)
    import rnndyn.kernels.cpu.common as probe

    py_file = probe.__file__
    for locator in (InTreeCacheLocator, UserWideCacheLocator):
        found = locator.from_function(probe._fro.py_func, py_file)
        if found is not None:
            return found.get_cache_path()
    return "none (no writable cache folder: kernels compile on every run)"


@contextlib.contextmanager
def _cwd(path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)
