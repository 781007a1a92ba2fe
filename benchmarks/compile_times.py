"""Cold compile time and warm run time of every kernel, through the public API.

    python benchmarks/compile_times.py                     # this checkout
    python benchmarks/compile_times.py --tree /path/to/other/checkout --label before

Each workload runs in a fresh process with an empty numba cache directory, so
"cold" is the first call (import, type inference, LLVM, cache write) and "warm"
the median of five later calls in the same process. A second process on the same
(now filled) cache gives "cached", the cost a user pays on the second run of a
command. Workloads are small: they measure compilation, not throughput (that is
benchmarks/run.py's job).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

WORKLOADS = {
    "simulate": "rd.simulate(cell, h0, X, record='all')",
    "simulate_last": "rd.simulate(cell, h0, X, record='last')",
    "tangent": "rd.tangent(cell, h0[0], X[0])",
    "bptt": "rd.bptt(cell, h0, X, loss='sum')",
    "lyapunov": "rd.lyapunov_spectrum(cell, h0[0], X[0])",
    "map_lyapunov": "rd.lyapunov_spectrum(henon, [0.1, 0.1], steps=200)",
    "map_tangent": "rd.tangent(henon, [0.1, 0.1], steps=20)",
    "bifurcation": "__import__('rnndyn.analysis.orbits1d', fromlist=['_']).bifurcation([2.5, 3.5], keep=4)",
}

_SETUP = """
import time, statistics, warnings
warnings.simplefilter('ignore')
t_import = time.perf_counter()
import numpy as np
import rnndyn as rd
t_import = time.perf_counter() - t_import
rng = np.random.default_rng(0)
n, d, B, T = 8, 3, 4, 50
cell = rd.EulerRNN(rng.normal(0, 0.3, (n, n)), rng.normal(0, 0.3, (n, d)), np.zeros(n), eps=0.1, gamma=0.05)
h0 = rng.normal(size=(B, n)); X = rng.normal(size=(B, T, d))
henon = (rd.systems if hasattr(rd, 'systems') else rd.discrete_maps).henon()  # the layout before 0.2 had no rd.systems
from numba.core import event as _ev
class _Compiles(_ev.Listener):  # seconds of every compiled function, helpers nested in kernels included
    def __init__(self):
        self.stack, self.done = [], {{}}
    def on_start(self, e):
        self.stack.append(time.perf_counter())
    def on_end(self, e):
        f = getattr(e.data["dispatcher"], "py_func", None)
        name = getattr(f, "__name__", "?")
        self.done[name] = self.done.get(name, 0.0) + time.perf_counter() - self.stack.pop()
_compiles = _Compiles()
_ev.register("numba:compile", _compiles)
t0 = time.perf_counter(); {expr}; first = time.perf_counter() - t0
runs = []
for _ in range(5):
    t0 = time.perf_counter(); {expr}; runs.append(time.perf_counter() - t0)
print(__import__('json').dumps({{'import': t_import, 'first': first, 'warm': statistics.median(runs),
                                 'functions': _compiles.done}}))
"""


def _run(tree: str, expr: str, cache: str) -> dict:
    env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=tree, MPLBACKEND="Agg")
    out = subprocess.run([sys.executable, "-c", _SETUP.format(expr=expr)], env=env, cwd=tree,
                         capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{expr!r} failed in {tree}:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tree", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                    help="checkout whose rnndyn is measured (default: this one)")
    ap.add_argument("--label", default="this checkout")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON")
    ap.add_argument("--functions", action="store_true",
                    help="also list the compile seconds of every compiled function (numba:compile events)")
    ap.add_argument("--workloads", nargs="*", default=list(WORKLOADS), choices=list(WORKLOADS))
    args = ap.parse_args(argv)
    rows = []
    for name in args.workloads:
        expr = WORKLOADS[name]
        with tempfile.TemporaryDirectory() as cache:
            cold = _run(args.tree, expr, cache)
            cached = _run(args.tree, expr, cache)
        rows.append({"workload": name, "cold_s": cold["first"], "cached_s": cached["first"],
                     "warm_ms": 1e3 * cold["warm"], "import_s": cached["import"],
                     "compiled_s": cold.get("functions", {})})
        print(f"{args.label:>14}  {name:<14} cold {cold['first']:6.2f} s  cached {cached['first']:6.3f} s  "
              f"warm {1e3 * cold['warm']:8.3f} ms  import {cached['import']:.2f} s", file=sys.stderr, flush=True)
        if args.functions:  # inclusive seconds: a kernel's time contains its helpers'
            for fname, sec in sorted(cold.get("functions", {}).items(), key=lambda kv: -kv[1]):
                print(f"{'':>16}{fname:<28} {sec:6.2f} s", file=sys.stderr)
    if args.json:
        print(json.dumps({"label": args.label, "rows": rows}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
