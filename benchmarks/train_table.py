"""Which cells learn long dependencies? A small results table from rnndyn's own training.

Trains each cell of :data:`CELLS` on each task of :data:`TASKS` with the same
budget (Adam, lr 0.01, global clipping at 1, batch 32, seeded) and records the
final test metric, the epoch at which the run first beat its input-blind
baseline by a margin, the wall time, and, at the end, the gradient ratio
log10 ‖∂L/∂h_0‖/‖∂L/∂h_T‖ and the largest Lyapunov exponent of the cell driven
by test inputs. Small sizes on purpose (a laptop's budget): n = 32, 1024
training sequences, a fixed number of epochs; the table says what these runs
show, not what larger, tuned runs would.

Run::

    python benchmarks/train_table.py [--tasks adding100 adding200 pdigits] [--epochs 15] [--size 32]
                                     [--out train_table.json]

Prints one markdown row per run as it finishes; ``--out`` keeps every history.
"""

from __future__ import annotations

import argparse
import json
import math
import time

#: label -> (cell kind, keyword arguments of rd.make_cell)
CELLS = {
    "vanilla tanh, normal init": ("vanilla", {"init": "normal:gain=1"}),
    "vanilla tanh, orthogonal init": ("vanilla", {"init": "orthogonal"}),
    "identity-ReLU (IRNN)": ("vanilla", {"init": "identity", "activation": "relu"}),
    "EulerRNN ε=0.1 γ=0.01": ("euler", {"init": "normal:gain=1", "eps": 0.1, "gamma": 0.01}),
    "AntisymmetricRNN ε=0.1 γ=0.01": ("antisymmetric", {"init": "normal:gain=1", "eps": 0.1, "gamma": 0.01}),
    "gated AntisymmetricRNN ε=0.1 γ=0.01": ("antisymmetric", {"init": "normal:gain=1", "eps": 0.1, "gamma": 0.01,
                                                              "gated": True}),
}

#: label -> keyword arguments of rd.make_task
TASKS = {
    "adding100": {"name": "adding", "length": 100},
    "adding200": {"name": "adding", "length": 200},
    "adding400": {"name": "adding", "length": 400},
    "copy50": {"name": "copy", "length": 50},
    "digits": {"name": "digits"},
    "pdigits": {"name": "pdigits"},
}


def learned_epoch(run, task):
    """First epoch whose test metric beats the baseline clearly (loss < ½ baseline; accuracy > 0.5 for digits)."""
    h = run.history
    if task.name in ("digits", "pdigits"):
        ok = [i for i, a in enumerate(h["test_accuracy"]) if a > 0.5]
    else:
        ok = [i for i, v in enumerate(h["test_loss"]) if v < 0.5 * task.baseline]
    return ok[0] + 1 if ok else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", nargs="+", default=["adding100", "adding200", "pdigits"], choices=list(TASKS))
    ap.add_argument("--cells", nargs="+", default=list(CELLS), choices=list(CELLS))
    ap.add_argument("--epochs", type=int, default=15)
    ap.add_argument("--size", type=int, default=32)
    ap.add_argument("--train-size", type=int, default=1024)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()

    import rnndyn as rd

    rows = []
    print("| task | T | cell | n | epochs | test loss (baseline) | test acc | learned at epoch | wall s | "
          "log10 grad ratio | λ_max |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for tname in args.tasks:
        spec = dict(TASKS[tname])
        task = rd.make_task(spec.pop("name"), n_train=args.train_size, n_test=256, seed=0, **spec)
        for label in args.cells:
            kind, kw = CELLS[label]
            cell = rd.make_cell(kind, args.size, task.d, rng=0, **kw)
            t0 = time.perf_counter()
            run = rd.train(cell, task, epochs=args.epochs, batch=32, lr=0.01, clip=1.0, seed=0,
                           lyapunov_every=args.epochs)
            wall = time.perf_counter() - t0
            f = run.final
            row = {"task": tname, "T": task.length, "cell": label, "n": args.size, "epochs": run.epochs,
                   "test_loss": f["test_loss"], "baseline": task.baseline, "test_accuracy": f["test_accuracy"],
                   "learned_at": learned_epoch(run, task), "wall_s": wall, "grad_ratio": f["grad_ratio"],
                   "max_lyapunov": f["max_lyapunov"], "history": {k: list(v) for k, v in run.history.items()}}
            rows.append(row)
            acc = "-" if not math.isfinite(row["test_accuracy"]) else f"{row['test_accuracy']:.3f}"
            print(f"| {tname} | {task.length} | {label} | {args.size} | {run.epochs} | "
                  f"{row['test_loss']:.4g} ({task.baseline:.3g}) | {acc} | {row['learned_at'] or 'never'} | "
                  f"{wall:.0f} | {row['grad_ratio']:.2f} | {row['max_lyapunov']:+.3f} |", flush=True)
            if args.out:
                with open(args.out, "w") as fh:
                    json.dump(rows, fh)


if __name__ == "__main__":
    main()
