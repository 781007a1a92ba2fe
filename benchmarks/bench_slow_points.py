"""Benchmark: the slow-point search (Adam on q(h) = ½‖F(h) − h‖²) in rnndyn against PyTorch.

Problem: a vanilla tanh cell h ← tanh(W h + b), W ~ N(0, 1.5²/n), n = 128,
4096 starts uniform in [−1, 1]ⁿ, 500 Adam steps (lr 0.01) on every start
(the stopping tolerance is set below reach so both do the same work), float64.

* ``rnndyn``: ``rd.slow_points(..., polish=False)`` (the batched numba kernel,
  then deduplication and the eigen-decompositions of the points kept);
* ``torch``: what FixedPointFinder's PyTorch version does, written out: the
  starts as one (S, n) tensor with ``requires_grad``, q summed over starts,
  ``backward`` and ``torch.optim.Adam`` for 500 steps.

Each runs in its own subprocess with 2 threads; min of ``--repeats`` runs after
a warm-up.

Run::

    python benchmarks/bench_slow_points.py [--repeats 3] [--n 128] [--starts 4096] [--iters 500]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

THREADS = 2


def _problem(n, S):
    import numpy as np

    g = np.random.default_rng(0)
    return g.standard_normal((n, n)) * (1.5 / np.sqrt(n)), g.standard_normal(n) * 0.1, g.uniform(-1, 1, (S, n))


def _rnndyn(n, S, iters, repeats):
    os.environ["NUMBA_NUM_THREADS"] = str(THREADS)
    import rnndyn as rd

    W, b, H = _problem(n, S)
    cell = rd.VanillaRNN(W, b=b)

    def once():
        return rd.slow_points(cell, starts=H, iters=iters, lr=0.01, decay=1e12, tol=1e-30, polish=False)

    once()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    return min(times)


def _torch(n, S, iters, repeats):
    import torch

    torch.set_num_threads(THREADS)
    W, b, H = _problem(n, S)
    Wt, bt = torch.tensor(W), torch.tensor(b)

    def once():
        h = torch.tensor(H, requires_grad=True)
        opt = torch.optim.Adam([h], lr=0.01)
        for _ in range(iters):
            opt.zero_grad()
            r = torch.tanh(h @ Wt.T + bt) - h
            q = 0.5 * (r * r).sum()
            q.backward()
            opt.step()
        return h.detach()

    once()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n", type=int, default=128)
    ap.add_argument("--starts", type=int, default=4096)
    ap.add_argument("--iters", type=int, default=500)
    ap.add_argument("--only", nargs="+", default=["rnndyn", "torch"])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        fn = _rnndyn if args.worker == "rnndyn" else _torch
        print(json.dumps({"seconds": fn(args.n, args.starts, args.iters, args.repeats)}))
        return
    print(f"slow points: n = {args.n}, {args.starts} starts, {args.iters} Adam steps, float64, {THREADS} threads")
    res = {}
    for who in args.only:
        out = subprocess.run([sys.executable, __file__, "--repeats", str(args.repeats), "--n", str(args.n),
                              "--starts", str(args.starts), "--iters", str(args.iters), "--worker", who],
                             capture_output=True, text=True, check=True,
                             env={**os.environ, "OMP_NUM_THREADS": str(THREADS)})
        res[who] = json.loads(out.stdout.strip().splitlines()[-1])["seconds"]
        print(f"{who:<8}{res[who]:8.3f} s", flush=True)
    if "rnndyn" in res and "torch" in res:
        print(f"torch / rnndyn = {res['torch'] / res['rnndyn']:.2f}")


if __name__ == "__main__":
    main()
