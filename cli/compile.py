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
#: argument types the commands pass (stability and spectrum use no compiled kernel).
#: The run the train workload saves and the slowpoints workload reads (in the workloads' temporary folder).
_RUN = "run.json"

WORKLOADS = (
    ("phase", ["phase", "--matrix", "W0", "--gamma", "0.15", "--json"]),
    ("basins", ["basins", "--grid", "4", "--steps", "3", "--json"]),
    ("gradients", ["gradients", "--size", "4", "--steps", "3", "--json"]),
    ("lyapunov", ["lyapunov", "--size", "4", "--steps", "5", "--transient", "1", "--json"]),
    ("lyapunov --cell henon", ["lyapunov", "--cell", "henon", "--steps", "5", "--transient", "1", "--json"]),
    ("lyapunov --cell logistic", ["lyapunov", "--cell", "logistic", "--steps", "5", "--transient", "1", "--json"]),
    ("lyapunov --cell lstm", ["lyapunov", "--cell", "lstm", "--size", "3", "--steps", "5", "--transient", "1",
                              "--json"]),
    ("clv", ["clv", "--size", "4", "--steps", "5", "--transient", "1", "--transient-backward", "2", "--json"]),
    ("clv --cell henon", ["clv", "--cell", "henon", "--steps", "5", "--transient", "1", "--transient-backward",
                          "2", "--json"]),
    ("norms", ["norms", "--size", "4", "--steps", "3", "--json"]),
    ("cobweb", ["cobweb", "--map", "logistic:3.5", "--steps", "3", "--json"]),
    ("figures --only logistic_bifurcation", ["figures", "--only", "logistic_bifurcation", "--quick", "--json"]),
    ("sweep", ["sweep", "--size", "2", "--steps", "3", "--transient", "1", "--inputs", "noise:1", "--workers", "0",
               *[a for m in ("lyapunov_max", "lyapunov_sum", "jacobian_sv", "grad_ratio", "diverged_at")
                 for a in ("--measure", m)], "--json"]),
    ("train", ["train", "--task", "flipflop", "--length", "4", "--size", "3", "--train-size", "4", "--test-size", "2",
               "--epochs", "1", "--out", _RUN, "--json"]),
    ("slowpoints", ["slowpoints", _RUN, "--starts", "4", "--iters", "3", "--json"]),
)


@click.command("compile")
@json_option()
@click.pass_context
def compile_kernels(ctx, as_json):
    """Compile every kernel the commands use now, so that no later command waits for it.

    numba compiles a kernel the first time it is called and keeps the result in
    its cache (NUMBA_CACHE_DIR, or the package's __pycache__ folders, or the
    user's cache folder when those are read-only); later runs load it in a
    fraction of a second. Running this once after installing (or upgrading)
    pays that cost up front. Prints the kernels compiled and the time taken;
    kernels already cached are loaded, not compiled again.

    \b
    $ rnndyn compile
    $ rnndyn compile --json      # seconds per kernel
    """
    from .compiling import watch

    cli = ctx.find_root().command  # the rnndyn group, whose commands are run
    w = watch()
    saved = (w.notice, w.stream, w.bars, w.on_kernel)
    w.notice, w.stream, w.bars = False, sys.stderr, progress_enabled()
    if not w.bars and not as_json:
        w.on_kernel = lambda name, s: click.echo(f"compiled {name} ({s:.1f} s)", err=True)
    start = len(w.compiled)
    rows = []
    t0 = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory() as tmp, _cwd(tmp):
            for label, argv in WORKLOADS:
                t = time.perf_counter()
                sink = io.StringIO()
                with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                    try:
                        cli.main(args=argv, prog_name="rnndyn", standalone_mode=False)
                    except (click.ClickException, click.exceptions.Exit, SystemExit) as e:
                        raise click.ClickException(f"{label}: {e}; its output:\n{sink.getvalue()}") from e
                rows.append({"command": label, "seconds": time.perf_counter() - t})
    finally:
        w.notice, w.stream, w.bars, w.on_kernel = saved
    total = time.perf_counter() - t0
    kernels = [{"kernel": name, "seconds": s} for name, s in w.compiled[start:]]
    if as_json:
        emit_json({"kernels": kernels, "commands": rows, "seconds": total, "cache_dir": cache_dir()})
        return
    compiled = sum(k["seconds"] for k in kernels)
    what = (f"compiled {len(kernels)} kernel{'s' if len(kernels) != 1 else ''} in {compiled:.1f} s" if kernels
            else "every kernel was already compiled")
    click.echo(f"{what}; {len(WORKLOADS)} commands checked in {total:.1f} s (cache: {cache_dir()})")


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
