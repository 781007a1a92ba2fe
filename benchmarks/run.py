"""Time rnndyn against the NumPy reference, PyTorch and JAX, workload by workload.

    python benchmarks/run.py                      # everything, writes benchmarks/RESULTS.md
    python benchmarks/run.py --workloads simulate --no-write

Every contender computes the same thing from the same problem
(``peers.problem``); results are checked against each other to 1e-10 relative
before any timing counts, then timed interleaved (``harness.time_interleaved``).
Baseline of the ratio column: JAX where installed (the bar the project sets), else
NumPy.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys

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


def check_agreement(fns, tol=1e-10):
    """Max relative difference of every contender against the first one."""
    out = {}
    ref_name, ref = None, None
    for name, fn in fns.items():
        if fn is None:
            continue
        v = _flat(fn())
        if ref is None:
            ref_name, ref = name, v
            continue
        out[name] = float(np.max(np.abs(v - ref)) / max(np.max(np.abs(ref)), 1e-300))
    bad = {k: e for k, e in out.items() if not e <= tol}
    if bad:
        raise AssertionError(f"results differ from {ref_name} beyond {tol}: {bad}")
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workloads", nargs="*", default=list(peers.WORKLOADS))
    ap.add_argument("--peers", nargs="*", default=["numpy", "torch", "jax"])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--max-time", type=float, default=30.0)
    ap.add_argument("--skip-numpy-above", type=float, default=20.0,
                    help="drop the NumPy contender when one of its calls takes longer (seconds)")
    ap.add_argument("--no-write", action="store_true", help="do not rewrite RESULTS.md")
    ap.add_argument("--json", default=os.path.join(HERE, "results.json"))
    args = ap.parse_args(argv)

    avail = [b for b in args.peers if b in peers.available_backends()]
    baseline = "jax" if "jax" in avail else "numpy"
    rows = []
    for w in args.workloads:
        for size in peers.SIZES[w]:
            p = peers.problem(w, n=size.get("n"), B=size.get("B"), T=size.get("T"), d=size.get("d"))
            opts = {k: v for k, v in size.items() if k == "record"}
            fns = {"rnndyn": make_rnndyn(w, p, **opts)}
            if fns["rnndyn"] is None:
                print(f"skip {w}: not implemented in rnndyn yet", file=sys.stderr)
                continue
            for bk in avail:
                fns[bk] = peers.make(w, bk, **p, **opts)
            errs = check_agreement(fns)
            res = harness.time_interleaved(fns, repeats=args.repeats, max_time=args.max_time)
            label = peers.size_label(w, size)
            for bk, r in res.items():
                rows.append(dict(workload=w, size=label, backend=bk, agree=errs.get(bk, 0.0),
                                 **{k: r[k] for k in ("median", "iqr", "min", "repeats", "number", "warmup", "load")}))
            print(harness.format_table([r for r in rows if r["workload"] == w and r["size"] == label],
                                       baseline=baseline), flush=True)
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
