"""Benchmark: gradients of an antisymmetric RNN by backprop through time.

Times ``rd.bptt`` (cpu kernel, and the NumPy reference twin) against the peer
implementations of ``benchmarks/peers.py`` (a NumPy loop, PyTorch autograd,
``jax.value_and_grad`` over ``lax.scan``) on the same problem: loss
½ Σ_batch ‖h_T‖², gradients with respect to W, V, b and h0, float64.

Sizes (``peers.SIZES["bptt"]``): n = 8 and n = 32 with B = 1, T = 1000, d = 1;
n = 128, B = 64, T = 784, d = 1 (pixel-MNIST sized). Before timing, every
contender's gradients are checked against rnndyn's.

Run::

    python benchmarks/bench_bptt.py [--repeats 7] [--max-time 30] [--json out.json]
                                    [--sizes 0 1 2] [--backends numpy torch jax]

The table's last column is the ratio rnndyn-cpu time / contender time
(< 1: rnndyn is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness
import peers

import rnndyn as rd


def make_rnndyn(backend, *, W, V, b, h0, x, gamma, eps, cell="antisymmetric", T=None, checkpoint=None, **_):
    """rd.bptt on the peers' problem; returns the peers' dict of gradients."""
    kinds = {"antisymmetric": rd.AntisymmetricRNN, "euler": rd.EulerRNN}
    c = kinds[cell](W, V=V, b=b, eps=eps, gamma=gamma)

    def run():
        g = rd.bptt(c, h0, x, steps=None if x is not None else T, backend=backend, checkpoint=checkpoint)
        return {"loss": g.loss, "W": g.dW, "V": g.dV, "b": g.db, "h0": g.dh0}

    return run


def check(ref: dict, other: dict, name: str, tol=1e-9) -> float:
    err = 0.0
    for k in ("W", "V", "b", "h0"):
        a, r = np.asarray(other[k]), np.asarray(ref[k])
        err = max(err, float(np.linalg.norm(a - r) / max(np.linalg.norm(r), 1e-300)))
    if err > tol:
        print(f"warning: {name} differs from rnndyn by {err:.2e} (relative)", file=sys.stderr)
    return err


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    harness.add_common_args(ap, "bptt", peers.BACKENDS)
    args = ap.parse_args(argv)

    sizes, avail = harness.selected(args, "bptt", peers)
    rows = []
    for size in sizes:
        p = peers.problem("bptt", n=size["n"], B=size["B"], T=size["T"], d=size["d"])
        label = peers.size_label("bptt", size)
        fns = {"rnndyn-cpu": make_rnndyn("cpu", **p)}
        if size["n"] * size["B"] <= 64:
            fns["rnndyn-reference"] = make_rnndyn("reference", **p)
        for bk in avail:
            fns[bk] = peers.make_bptt(bk, **p)
        ref = fns["rnndyn-cpu"]()
        for name, fn in fns.items():
            if name != "rnndyn-cpu":
                err = check(ref, fn(), name)
                print(f"{label}: {name} agrees with rnndyn-cpu to {err:.1e}", file=sys.stderr)
        res = harness.time_interleaved(fns, repeats=args.repeats, max_time=args.max_time)
        ours = res["rnndyn-cpu"]["median"]
        for name, r in res.items():
            rows.append(dict(workload="bptt", size=label, backend=name, median=r["median"], iqr=r["iqr"],
                             min=r["min"], ratio=ours / r["median"]))
    lines = ["| size | backend | median ms | IQR ms | rnndyn-cpu / backend |", "| --- | --- | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['size']} | {r['backend']} | {1e3 * r['median']:.3f} | {1e3 * r['iqr']:.3f} "
                     f"| {r['ratio']:.3f} |")
    print("\n".join(lines))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": harness.machine_info(), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
