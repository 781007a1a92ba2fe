"""Benchmark: one training epoch with rnndyn's BPTT against the same model and optimiser in PyTorch.

Problem: the adding problem, T = 200, n = 128, batch 64, 1024 training
sequences (16 Adam steps), float64, a linear readout on h_T with squared error,
global gradient clipping at 1. Two models:

* ``vanilla``: h_t = tanh(W h_{t-1} + V x_t + b); PyTorch runs it as
  ``nn.RNN`` (its fused C++ loop), rnndyn as a :class:`~rnndyn.VanillaRNN`;
* ``antisymmetric``: h_t = h_{t-1} + ε tanh((W − Wᵀ − γI) h_{t-1} + V x_t + b)
  with γ trained too; PyTorch runs it as the Python loop a user writes (no
  built-in cell exists), rnndyn as an :class:`~rnndyn.AntisymmetricRNN`.

Each contender runs in its own subprocess with 2 threads (numba's and torch's),
one warm-up epoch (compilation, allocation) and then the min of ``--repeats``
epochs. The epoch includes the test-set evaluation for neither.

Run::

    python benchmarks/bench_train.py [--repeats 3] [--only rnndyn torch] [--models vanilla antisymmetric]

Prints seconds per epoch and the ratio torch / rnndyn (> 1: rnndyn is faster).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

T, N, BATCH, N_TRAIN, THREADS = 200, 128, 64, 1024, 2


def _rnndyn(model, repeats):
    os.environ["NUMBA_NUM_THREADS"] = str(THREADS)
    import rnndyn as rd

    task = rd.make_task("adding", length=T, n_train=N_TRAIN, n_test=64, seed=0)
    if model == "vanilla":
        cell = rd.make_cell("vanilla", N, task.d, init="orthogonal", rng=0)
    else:
        cell = rd.make_cell("antisymmetric", N, task.d, eps=0.1, gamma=0.01, init="normal:gain=1", rng=0)
    times = []
    run = rd.train(cell, task, epochs=1, batch=BATCH, lr=1e-3, clip=1.0, seed=0, lyapunov_every=0)  # warm-up
    from rnndyn.analysis import train as tr

    for _ in range(repeats):
        # the epoch alone: the same minibatch loop train runs, without the test evaluation
        opt = tr.Adam(1e-3)
        params = tr._cell_params(run.cell, tr._trainable(run.cell, True, False))
        params["U"], params["c"] = run.readout[0].copy(), run.readout[1].copy()
        c = run.cell
        t0 = time.perf_counter()
        for s in range(0, N_TRAIN, BATCH):
            _, _, grads, g, _ = tr._gradients(c, params["U"], params["c"], task, task.X_train[s:s + BATCH],
                                              task.Y_train[s:s + BATCH], "cpu")
            grads = tr._clip(g, {k: grads[k] for k in params}, 1.0, "global")
            opt.step(params, grads)
            tr._project(params)
            c = tr._with_params(c, params)
        times.append(time.perf_counter() - t0)
    return min(times)


def _torch(model, repeats):
    import numpy as np
    import torch

    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    import rnndyn as rd

    task = rd.make_task("adding", length=T, n_train=N_TRAIN, n_test=64, seed=0)
    X = torch.tensor(task.X_train)
    Y = torch.tensor(task.Y_train)
    if model == "vanilla":
        rnn = torch.nn.RNN(2, N, batch_first=True, dtype=torch.float64)
        head = torch.nn.Linear(N, 1, dtype=torch.float64)
        params = list(rnn.parameters()) + list(head.parameters())

        def forward(x):
            out, h = rnn(x)
            return head(h[0])
    else:
        g = np.random.default_rng(0)
        W = torch.tensor(g.standard_normal((N, N)) / np.sqrt(N), requires_grad=True)
        V = torch.tensor(g.standard_normal((N, 2)) / np.sqrt(2), requires_grad=True)
        b = torch.zeros(N, dtype=torch.float64, requires_grad=True)
        gamma = torch.tensor(0.01, dtype=torch.float64, requires_grad=True)
        head = torch.nn.Linear(N, 1, dtype=torch.float64)
        eye = torch.eye(N, dtype=torch.float64)
        params = [W, V, b, gamma] + list(head.parameters())

        def forward(x):
            M = W - W.T - gamma * eye
            h = torch.zeros(x.shape[0], N, dtype=torch.float64)
            xv = x @ V.T + b
            for t in range(x.shape[1]):
                h = h + 0.1 * torch.tanh(h @ M.T + xv[:, t])
            return head(h)

    opt = torch.optim.Adam(params, lr=1e-3)

    def epoch():
        for s in range(0, N_TRAIN, BATCH):
            opt.zero_grad()
            loss = torch.mean((forward(X[s:s + BATCH]) - Y[s:s + BATCH]) ** 2)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()

    epoch()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        epoch()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", nargs="+", default=["rnndyn", "torch"])
    ap.add_argument("--models", nargs="+", default=["vanilla", "antisymmetric"])
    ap.add_argument("--worker", nargs=2, metavar=("CONTENDER", "MODEL"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        who, model = args.worker
        fn = _rnndyn if who == "rnndyn" else _torch
        print(json.dumps({"seconds": fn(model, args.repeats)}))
        return
    print(f"adding problem, T = {T}, n = {N}, batch {BATCH}, {N_TRAIN // BATCH} Adam steps per epoch, float64, "
          f"{THREADS} threads; min of {args.repeats} epochs after a warm-up")
    for model in args.models:
        res = {}
        for who in args.only:
            out = subprocess.run([sys.executable, __file__, "--repeats", str(args.repeats), "--worker", who, model],
                                 capture_output=True, text=True, check=True, env={**os.environ,
                                                                                  "OMP_NUM_THREADS": str(THREADS)})
            res[who] = json.loads(out.stdout.strip().splitlines()[-1])["seconds"]
            print(f"{model:<14}{who:<8}{res[who]:8.3f} s/epoch", flush=True)
        if "rnndyn" in res and "torch" in res:
            print(f"{model:<14}torch / rnndyn = {res['torch'] / res['rnndyn']:.2f}")


if __name__ == "__main__":
    main()
