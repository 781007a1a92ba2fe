"""The slow points of a trained 3-bit flip-flop, after Sussillo & Barak (2013), Fig. 2.

A vanilla tanh RNN (n = 24) is trained with rnndyn's own backpropagation through
time (:func:`rnndyn.train`) to hold the sign of the last pulse on each of three
input channels; :func:`rnndyn.slow_points` then minimises q(h) = ½‖F(h, 0) − h‖²
from states of its own trajectories. The network stores its 2³ = 8 memories as
stable fixed points at the corners of a cube, with saddles between them, drawn in
the first three principal components of the trajectories. ``quick=True`` trains
for fewer epochs and searches from fewer starts (the test-suite's budget; the
memories are then not all formed).
"""

from __future__ import annotations

import numpy as np

from rnndyn.analysis.slow_points import slow_points
from rnndyn.analysis.train import make_cell, make_task, train
from rnndyn.analysis.trajectories import simulate
from rnndyn.figures import compute_backend, register
from rnndyn.plots.train import plot_slow_points

__all__ = ["flipflop_slow_points"]

#: The training run (the README's ``rnndyn train --task flipflop ...`` example) and the search.
FULL = {"epochs": 30, "n_train": 256, "n_starts": 1024}
QUICK = {"epochs": 2, "n_train": 64, "n_starts": 128}


@register(
    "flipflop_slow_points",
    "Sussillo & Barak, 'Opening the black box', Neural Computation 25(3), 2013, Fig. 2",
    "A vanilla tanh RNN (n = 24) trained by rnndyn's BPTT on the 3-bit flip-flop: its 8 stable memory states "
    "(sinks) at the corners of a cube and the saddles between them, found as slow points q(h) ≈ 0 under zero "
    "input, in the first three principal components of its trajectories",
    "rnndyn train --task flipflop --cell vanilla --size 24 --length 60 --train-size 256 --epochs 30 --lr 0.01 "
    "--out ff.json && rnndyn slowpoints ff.json --out ff_slow.png",
)
def flipflop_slow_points(quick=False):
    run = QUICK if quick else FULL
    task = make_task("flipflop", length=60, n_train=run["n_train"], n_test=200, seed=0)
    cell = make_cell("vanilla", 24, task.d, init="orthogonal", rng=0)
    trained = train(cell, task, epochs=run["epochs"], batch=32, lr=0.01, clip=1.0, seed=0, lyapunov_every=0,
                    backend=compute_backend(quick)).cell
    X = task.X_test[:16]
    sp = slow_points(trained, x=np.zeros(task.d), inputs=X, n_starts=run["n_starts"], noise=0.01, tol=1e-10,
                     iters=2000, rng=0, backend=compute_backend(quick, "cpu"))
    traj = simulate(trained, np.zeros((X.shape[0], trained.n)), X, backend=compute_backend(quick)).states
    counts = ", ".join(f"{v} {k}" for k, v in sorted(sp.counts.items()))
    return plot_slow_points(sp, traj, title=f"Trained 3-bit flip-flop (vanilla tanh, n = 24): {counts}")
