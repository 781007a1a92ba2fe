"""Timing harness shared by the benchmarks: interleaved timing, machine info, tables.

* :func:`time_interleaved` warms every callable up once (compilation, caches),
  then runs them in rounds A B C A B C ..., so that drift of the machine (thermal,
  other load) hits every contender alike, and reports median and IQR per name.
* :func:`machine_info` describes the machine and the library versions.
* :func:`format_table` turns result rows into a Markdown table.
"""

from __future__ import annotations

import gc
import math
import os
import platform
import sys
import time
from importlib import metadata

import numpy as np


def time_interleaved(callables: dict, repeats: int = 7, min_time: float = 0.05,
                     max_time: float | None = None, min_repeats: int = 3) -> dict:
    """Time zero-argument callables interleaved; returns ``{name: stats}``.

    Each callable is called once untimed first (its duration, compile time
    included, is reported as ``warmup``; callables faster than 2 s get a second
    untimed call to size ``number``). A sample is ``number`` back-to-back calls
    divided by ``number``, where ``number`` is chosen from the warm-up call so a
    sample lasts at least ``min_time`` seconds (1 for anything slower). Then
    ``repeats`` rounds run every callable once each, in turn. With ``max_time``
    (seconds), rounds stop early once that much time has been spent, after at
    least ``min_repeats`` rounds. Names whose callable is ``None`` are skipped.

    ``stats``: ``median``, ``iqr``, ``q1``, ``q3``, ``min`` (seconds per call),
    ``times`` (per-call seconds of every sample), ``repeats``, ``number``, ``warmup``,
    ``load`` (1-minute load average before and after: on a 2-core machine anything
    else running skews the numbers; compare ``min`` with ``median`` then).
    """
    load_before = _loadavg()
    fns = {k: f for k, f in callables.items() if f is not None}
    number = {}
    warm = {}
    for name, fn in fns.items():
        t0 = time.perf_counter()
        fn()
        warm[name] = time.perf_counter() - t0
        dt = warm[name]
        if dt < 2.0:  # a second call sizes ``number`` (the first may include compilation)
            t0 = time.perf_counter()
            fn()
            dt = time.perf_counter() - t0
        number[name] = max(1, math.ceil(min_time / dt)) if dt < min_time else 1

    times = {name: [] for name in fns}
    gc_was_enabled = gc.isenabled()
    start = time.perf_counter()
    try:
        for r in range(repeats):
            for name, fn in fns.items():
                k = number[name]
                gc.collect()
                gc.disable()
                t0 = time.perf_counter()
                for _ in range(k):
                    fn()
                dt = time.perf_counter() - t0
                if gc_was_enabled:
                    gc.enable()
                times[name].append(dt / k)
            if max_time is not None and r + 1 >= min_repeats and time.perf_counter() - start > max_time:
                break
    finally:
        if gc_was_enabled:
            gc.enable()

    load = (load_before, _loadavg())
    out = {}
    for name, ts in times.items():
        a = np.asarray(ts)
        q1, med, q3 = np.percentile(a, [25, 50, 75])
        out[name] = dict(median=float(med), iqr=float(q3 - q1), q1=float(q1), q3=float(q3),
                         min=float(a.min()), times=[float(t) for t in ts], repeats=len(ts),
                         number=number[name], warmup=warm[name], load=load)
    return out


def _loadavg() -> float | None:
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _cpu_model() -> tuple[str | None, list[str]]:
    model, flags = None, []
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, val = line.partition(":")
                key = key.strip()
                if key == "model name" and model is None:
                    model = val.strip()
                elif key == "flags" and not flags:
                    flags = val.split()
                if model and flags:
                    break
    except OSError:
        pass
    return model or platform.processor() or None, flags


def _blas_info() -> dict:
    info = {}
    try:
        cfg = np.show_config(mode="dicts")
        deps = cfg.get("Build Dependencies", {})
        for k in ("blas", "lapack"):
            if k in deps:
                d = deps[k]
                info[k] = {kk: d.get(kk) for kk in ("name", "version", "openblas configuration") if d.get(kk)}
    except Exception as e:  # older numpy: no mode="dicts"
        info["error"] = repr(e)
    try:
        import threadpoolctl

        info["threadpools"] = [
            {k: p.get(k) for k in ("user_api", "internal_api", "version", "num_threads", "architecture")}
            for p in threadpoolctl.threadpool_info()
        ]
    except ImportError:
        pass
    return info


def _numba_threading() -> dict:
    try:
        import numba
    except ImportError:
        return {}
    out = {"num_threads": numba.config.NUMBA_NUM_THREADS,
           "configured_layer": numba.config.THREADING_LAYER}
    try:
        out["threading_layer"] = numba.threading_layer()
    except ValueError:  # no parallel function has run yet: run a tiny one
        try:
            @numba.njit(parallel=True, cache=False)
            def _touch(n):
                s = 0.0
                for i in numba.prange(n):
                    s += i
                return s

            _touch(4)
            out["threading_layer"] = numba.threading_layer()
        except Exception as e:
            out["threading_layer"] = f"unavailable ({e!r})"
    return out


def machine_info() -> dict:
    """CPU, cores, library versions, BLAS and numba threading of this machine."""
    model, flags = _cpu_model()
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = None
    info = {
        "cpu": model,
        "simd": [f for f in ("sse4_2", "avx", "avx2", "fma", "avx512f") if f in flags],
        "cores_logical": os.cpu_count(),
        "cores_usable": affinity,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "loadavg_1min": _loadavg(),
        "versions": {k: _version(k) for k in ("numpy", "numba", "scipy", "llvmlite", "torch",
                                               "jax", "jaxlib", "rnndyn")},
        "blas": _blas_info(),
        "numba": _numba_threading(),
    }
    if "torch" in sys.modules:  # only describe torch if the caller has imported it
        torch = sys.modules["torch"]
        info["torch_threads"] = torch.get_num_threads()
    return info


def _fmt_ms(s: float) -> str:
    ms = 1e3 * s
    if ms >= 100:
        return f"{ms:.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    if ms >= 1:
        return f"{ms:.2f}"
    return f"{ms:.3f}"


def format_table(rows, baseline: str = "numpy") -> str:
    """Markdown table of rows ``{workload, size, backend, median[, iqr, min]}`` (seconds).

    The last column is the speed-up against ``baseline`` on the same workload and
    size: baseline median / this median (> 1: faster than the baseline); blank
    where the baseline was not measured.
    """
    rows = list(rows)
    base = {(r["workload"], r["size"]): r["median"] for r in rows if r["backend"] == baseline}
    lines = [f"| workload | size | backend | median ms | IQR ms | min ms | speed-up vs {baseline} |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for r in rows:
        b = base.get((r["workload"], r["size"]))
        ratio = f"{b / r['median']:.2f}x" if b else ""
        iqr = _fmt_ms(r["iqr"]) if r.get("iqr") is not None else ""
        mn = _fmt_ms(r["min"]) if r.get("min") is not None else ""
        lines.append(f"| {r['workload']} | {r['size']} | {r['backend']} | {_fmt_ms(r['median'])} "
                     f"| {iqr} | {mn} | {ratio} |")
    return "\n".join(lines)


def warn_if_loaded(threshold: float = 0.5) -> None:
    """Warn on stderr when the machine is busy: on 2 cores any other job skews timings."""
    load = _loadavg()
    if load is not None and load > threshold:
        print(f"warning: 1-minute load average is {load:.2f}; timings on this {os.cpu_count()}-core "
              "machine will be skewed", file=sys.stderr)


def add_common_args(ap, workload: str, backends) -> None:
    """The options every per-topic benchmark script takes."""
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--max-time", type=float, default=30.0)
    ap.add_argument("--sizes", type=int, nargs="*", default=None, help=f"indices into peers.SIZES[{workload!r}]")
    ap.add_argument("--backends", nargs="*", default=list(backends))
    ap.add_argument("--json", help="write rows and machine info here")


def selected(args, workload: str, peers):
    """(sizes, available backends) picked by ``add_common_args``'s options; warns when the machine is busy."""
    sizes = peers.SIZES[workload]
    if args.sizes is not None:
        sizes = [sizes[i] for i in args.sizes]
    avail = [bk for bk in args.backends if bk in peers.available_backends()]
    warn_if_loaded()
    return sizes, avail
