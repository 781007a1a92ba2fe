"""Start-up times of every command at its defaults: cold (empty numba cache) and warm (kernels cached).

    python benchmarks/cold_start.py                 # the whole table, markdown on stdout
    python benchmarks/cold_start.py --only phase gradients --repeat 5
    python benchmarks/cold_start.py --only help info      # start-up alone

Each run is a fresh process (``python -m rnndyn_cli.main ...``) in a scratch folder, so
the times include interpreter start, imports, compilation or cache loading, the work
and writing any figure: what a user waits for. "cold" gets a new, empty
NUMBA_CACHE_DIR per command (one run unless --cold-repeat); "warm" reuses that
command's filled cache (median of --repeat runs). The rows marked "(after `CMD`)" are a new option
combination: CMD at its defaults fills the cache first, and "cold" is the new combination's first
run (the target: its warm time + 0.5 s at most). Seconds per kernel: ``rnndyn compile --json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

#: (label, argv, cold): cold True = a first run with an empty cache; False = none (the cache is primed
#: with a tiny run); a list = the command line run first (untimed) to fill the cache, then this one's
#: first run is the "cold" column: the cost of a new option combination once the defaults are cached.
COMMANDS = (
    ("--help", ["--help"], True),
    ("info", ["info"], True),
    ("phase --matrix W0 --gamma 0.15", ["phase", "--matrix", "W0", "--gamma", "0.15"], True),
    ("stability", ["stability"], True),
    ("spectrum", ["spectrum"], True),
    ("gradients", ["gradients"], True),
    ("lyapunov", ["lyapunov"], True),
    ("norms", ["norms"], True),
    ("cobweb --map logistic:3.5", ["cobweb", "--map", "logistic:3.5"], True),
    ("basins", ["basins"], True),
    ("chaos", ["chaos"], True),
    ("clv", ["clv"], True),
    ("train", ["train"], True),
    ("figures --quick", ["figures", "--quick", "--outdir", "figs"], True),
    ("gradients --size 1024 --steps 1000", ["gradients", "--size", "1024", "--steps", "1000"], False),
    ("gradients --activation linear --init normal:3 --steps 2000 (after `gradients`)",
     ["gradients", "--activation", "linear", "--init", "normal:3", "--steps", "2000"], ["gradients"]),
    ("lyapunov --cell vanilla --steps 2000 (after `lyapunov`)",
     ["lyapunov", "--cell", "vanilla", "--steps", "2000"], ["lyapunov"]),
)


def _time(argv, cache, cwd) -> float:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, MPLBACKEND="Agg")
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "rnndyn_cli.main", *argv], env=env, cwd=cwd, capture_output=True,
                       text=True)
    dt = time.perf_counter() - t0
    if p.returncode:
        raise RuntimeError(f"rnndyn {' '.join(argv)} failed:\n{p.stderr[-2000:]}")
    return dt


def machine() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "?")
    except OSError:
        model = platform.processor() or "?"
    import numba
    import numpy

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, numba {numba.__version__}, "
            f"NumPy {numpy.__version__}; load average {load:.1f} at the start")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", nargs="*", default=None, help="commands to run, by name (help, info, phase, ...; default: all)")
    ap.add_argument("--repeat", type=int, default=3, help="warm runs per command (median)")
    ap.add_argument("--cold-repeat", type=int, default=1, help="cold runs per command (median)")
    args = ap.parse_args(argv)
    rows = []
    print(machine(), file=sys.stderr)
    for label, cmd, cold_too in COMMANDS:
        if args.only and cmd[0].lstrip("-") not in args.only and label not in args.only:
            continue
        with tempfile.TemporaryDirectory() as cache, tempfile.TemporaryDirectory() as cwd:
            cold = []
            if isinstance(cold_too, list):  # a new option combination: the defaults' kernels cached first
                for _ in range(args.cold_repeat):
                    for f in os.listdir(cache):
                        subprocess.run(["rm", "-rf", os.path.join(cache, f)], check=True)
                    _time(cold_too, cache, cwd)
                    cold.append(_time(cmd, cache, cwd))
            elif cold_too:
                for _ in range(args.cold_repeat):
                    for f in os.listdir(cache):  # an empty cache for every cold run
                        subprocess.run(["rm", "-rf", os.path.join(cache, f)], check=True)
                    cold.append(_time(cmd, cache, cwd))
            else:
                _time(cmd[:1] + ["--size", "4", "--steps", "3"] if cmd[0] == "gradients" else cmd, cache, cwd)
            warm = [_time(cmd, cache, cwd) for _ in range(args.repeat)]
        row = (label, statistics.median(cold) if cold else None, statistics.median(warm))
        rows.append(row)
        print(f"{label:<38} cold {'-' if row[1] is None else f'{row[1]:.1f} s':>8}  warm {row[2]:.2f} s "
              f"(load {os.getloadavg()[0]:.1f})", file=sys.stderr, flush=True)
    print(f"| command | cold (s, {args.cold_repeat} run) | warm (s, median of {args.repeat}) |")
    print("|---|---:|---:|")
    for label, cold, warm in rows:
        command, _, after = label.partition(" (")
        print(f"| `rnndyn {command}`{' (' + after if after else ''} | {'–' if cold is None else f'{cold:.1f}'} "
              f"| {warm:.2f} |")
    print(f"\n{machine().replace('at the start', 'at the end')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
