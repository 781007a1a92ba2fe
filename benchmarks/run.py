"""Time rnndyn against the NumPy reference, PyTorch and JAX, workload by workload.

    python benchmarks/run.py                      # everything, writes benchmarks/RESULTS.md
    python benchmarks/run.py --workloads simulate --no-write

Every contender computes the same thing from the same problem
(``peers.problem``); results are checked against each other to 1e-10 relative
before any timing counts. Each framework runs in a process of its own (a
worker that imports only that framework, so that no other library's thread pool
is alive while it is timed); the parent sets every worker up (the first,
compiling call is not timed), then asks them in turn, round after round, for a
sample of a few calls, and reports the median and the minimum over the rounds.
Baseline of the ratio column: JAX where installed (the bar the project sets),
else NumPy.
"""

from __future__ import annotations

import argparse
import datetime
import importlib.util
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402
import peers  # noqa: E402

import rnndyn as rd  # noqa: E402


def _cell(p):
    W, V, b = p["W"], p["V"], p["b"]
    V = V if (V is not None and V.shape[1] > 0) else None
    if p["cell"] == "vanilla":
        return rd.VanillaRNN(W, V, b)
    if p["cell"] == "antisymmetric":
        return rd.AntisymmetricRNN(W, V, b, eps=p["eps"], gamma=p["gamma"])
    return rd.EulerRNN(W, V, b, eps=p["eps"], gamma=p["gamma"])


def make_rnndyn(workload, p, backend="cpu", **opts):
    """Zero-argument callable running the workload with rnndyn, returning what the peers return."""
    cell = _cell(p)
    h0, x, T = p["h0"], p["x"], p["T"]
    if workload in ("euler2d_grid", "simulate"):
        record = opts.get("record", "last" if workload == "euler2d_grid" else "all")
        return lambda: rd.simulate(cell, h0, x, steps=T, record=record, backend=backend).states
    if workload == "tangent":
        return lambda: rd.tangent(cell, h0, x, steps=T, norm="fro", backend=backend).jacobian
    if workload == "bptt":
        if not hasattr(rd, "bptt"):
            return None

        def run():
            g = rd.bptt(cell, h0, x, steps=T, backend=backend)
            return {"W": g.dW, "V": g.dV, "b": g.db, "h0": g.dh0, "loss": g.loss}

        return run
    if workload == "lyapunov":
        if not hasattr(rd, "lyapunov_spectrum"):
            return None
        return lambda: rd.lyapunov_spectrum(cell, h0, steps=T, backend=backend).exponents
    raise ValueError(workload)


def _flat(r):
    if isinstance(r, dict):
        return np.concatenate([np.ravel(r[k]) for k in sorted(r)])
    return np.ravel(np.asarray(r))


#: Prefix of the worker's replies on stdout (libraries may print there too).
_REPLY = "@@reply "


def _worker(backend):
    """Serve one framework over stdin/stdout: ``setup``, ``time`` and ``quit`` commands, one JSON per line."""
    fn = None

    def reply(**kw):
        sys.stdout.write(_REPLY + json.dumps(kw) + "\n")
        sys.stdout.flush()

    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "quit":
            return
        if cmd["cmd"] == "setup":
            size = cmd["size"]
            w = cmd["workload"]
            p = peers.problem(w, n=size.get("n"), B=size.get("B"), T=size.get("T"), d=size.get("d"))
            opts = {k: v for k, v in size.items() if k == "record"}
            fn = make_rnndyn(w, p, **opts) if backend == "rnndyn" else peers.make(w, backend, **p, **opts)
            if fn is None:
                reply(ok=False)
                continue
            t0 = time.perf_counter()
            r = fn()
            warm = time.perf_counter() - t0
            t0 = time.perf_counter()
            fn()
            second = time.perf_counter() - t0
            np.save(cmd["result"], _flat(r))
            reply(ok=True, warmup=warm, second=second)
        elif cmd["cmd"] == "time":
            times = []
            for _ in range(cmd["samples"]):
                k = cmd["number"]
                t0 = time.perf_counter()
                for _ in range(k):
                    fn()
                times.append((time.perf_counter() - t0) / k)
            reply(times=times)


class Worker:
    """A child process timing one framework (see :func:`_worker`)."""

    def __init__(self, backend):
        self.backend = backend
        env = dict(os.environ)
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", backend],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)

    def ask(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.backend} worker died")
            if line.startswith(_REPLY):
                return json.loads(line[len(_REPLY):])

    def close(self):
        try:
            self.ask(cmd="quit")
        except (RuntimeError, BrokenPipeError, OSError):
            pass
        self.proc.wait(timeout=30)


def _available(backends):
    """The frameworks importable here, found without importing them (the parent keeps no thread pool)."""
    mods = {"numpy": "numpy", "torch": "torch", "jax": "jax"}
    return [b for b in backends if importlib.util.find_spec(mods[b]) is not None]


def time_separately(workers, workload, size, rounds, min_time=0.05, max_time=None, pause=0.2,
                    skip_above=None, tol=1e-10):
    """Set every worker up for (workload, size), check their results agree, then time them in alternating rounds.

    Each round asks each worker, in turn, for one sample (``number`` back-to-back calls lasting at
    least ``min_time``, divided by ``number``); ``pause`` seconds between workers let the previous
    one's spinning threads go to sleep. Returns ({name: stats}, {name: relative difference}).
    """
    load_before = harness._loadavg()
    active, warm, number, results = {}, {}, {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, wk in workers.items():
            path = os.path.join(tmp, f"{name}.npy")
            r = wk.ask(cmd="setup", workload=workload, size=size, result=path)
            if not r["ok"]:
                continue
            if skip_above is not None and name == "numpy" and r["second"] > skip_above:
                print(f"  numpy: {r['second']:.1f} s per call, dropped", file=sys.stderr)
                continue
            active[name] = wk
            warm[name] = r["warmup"]
            number[name] = max(1, math.ceil(min_time / r["second"])) if r["second"] < min_time else 1
            results[name] = np.load(path)
    ref_name = "rnndyn" if "rnndyn" in results else next(iter(results))
    ref = results[ref_name]
    errs = {}
    for name, v in results.items():
        if name != ref_name:
            errs[name] = float(np.max(np.abs(v - ref)) / max(np.max(np.abs(ref)), 1e-300)) \
                if v.shape == ref.shape else math.inf
    bad = {k: e for k, e in errs.items() if not e <= tol}
    if bad:
        raise AssertionError(f"{workload} {size}: results differ from {ref_name} beyond {tol}: {bad}")
    times = {name: [] for name in active}
    start = time.perf_counter()
    for r in range(rounds):
        for name, wk in active.items():
            time.sleep(pause)
            times[name] += wk.ask(cmd="time", samples=1, number=number[name])["times"]
        if max_time is not None and r >= 2 and time.perf_counter() - start > max_time:
            break
    load = (load_before, harness._loadavg())
    out = {}
    for name, ts in times.items():
        a = np.asarray(ts)
        q1, med, q3 = np.percentile(a, [25, 50, 75])
        out[name] = dict(median=float(med), iqr=float(q3 - q1), min=float(a.min()), times=ts, repeats=len(ts),
                         number=number[name], warmup=warm[name], load=load)
    return out, errs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", nargs="*", default=list(peers.WORKLOADS))
    ap.add_argument("--sizes", nargs="*", default=None,
                    help="only the sizes whose label contains one of these strings (e.g. 'n=32 B=64')")
    ap.add_argument("--peers", nargs="*", default=["numpy", "torch", "jax"])
    ap.add_argument("--repeats", type=int, default=7, help="rounds (one sample per framework each)")
    ap.add_argument("--max-time", type=float, default=30.0)
    ap.add_argument("--skip-numpy-above", type=float, default=20.0,
                    help="drop the NumPy contender when one of its calls takes longer (seconds)")
    ap.add_argument("--no-write", action="store_true", help="do not rewrite RESULTS.md")
    ap.add_argument("--json", default=os.path.join(HERE, "results.json"))
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return _worker(args.worker)

    avail = _available(args.peers)
    baseline = "jax" if "jax" in avail else "numpy"
    harness.warn_if_loaded()
    workers = {name: Worker(name) for name in ["rnndyn", *avail]}
    rows = []
    try:
        for w in args.workloads:
            for size in peers.SIZES[w]:
                label = peers.size_label(w, size)
                if args.sizes and not any(s in label for s in args.sizes):
                    continue
                res, errs = time_separately(workers, w, size, args.repeats, max_time=args.max_time,
                                            skip_above=args.skip_numpy_above)
                for bk, r in res.items():
                    rows.append(dict(workload=w, size=label, backend=bk, agree=errs.get(bk, 0.0),
                                     **{k: r[k] for k in ("median", "iqr", "min", "times", "repeats", "number",
                                                          "warmup", "load")}))
                print(harness.format_table([r for r in rows if r["workload"] == w and r["size"] == label],
                                           baseline=baseline), flush=True)
    finally:
        for wk in workers.values():
            wk.close()
    info = harness.machine_info()
    with open(args.json, "w") as f:
        json.dump({"date": datetime.date.today().isoformat(), "machine": info, "rows": rows}, f, indent=1)
    if not args.no_write:
        write_results(rows, info, baseline)


def write_results(rows, info, baseline):
    path = os.path.join(HERE, "RESULTS.md")
    head = [
        "# Benchmark results",
        "",
        f"Measured {datetime.date.today().isoformat()} with `python benchmarks/run.py` "
        "(median of interleaved runs, float64, results cross-checked to 1e-10 before timing).",
        "",
        "## Machine",
        "",
        "```",
        json.dumps(info, indent=1),
        "```",
        "",
        f"## Times (speed-up = {baseline} time / this time; above 1 means faster than {baseline})",
        "",
        harness.format_table(rows, baseline=baseline),
        "",
    ]
    # Keep the hand-written notes (profile, levers tried) that follow the generated part.
    notes = ""
    if os.path.exists(path):
        text = open(path).read()
        marker = "<!-- notes -->"
        if marker in text:
            notes = text[text.index(marker):]
    with open(path, "w") as f:
        f.write("\n".join(head) + "\n" + (notes or "<!-- notes -->\n"))


if __name__ == "__main__":
    main()
