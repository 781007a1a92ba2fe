"""The bptt kernel: checkpointing and the batch split do not change a bit of the result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import rnndyn as rd
from rnndyn.analysis.trajectories import prepare
from rnndyn.kernels.cpu import gradients as cpu_gradients
from tests.strategies import make_cell

OUTPUTS = ("dM", "dV", "db", "dVz", "dbz", "dU", "dc", "deps", "dh0", "delta_norms", "loss", "final", "diverged_at")


def _bits(a):
    """The array's raw bits: equal exactly when every entry is the same number (NaN payload and -0.0 included)."""
    a = np.ascontiguousarray(a)
    return a.view(np.int64) if a.dtype == np.float64 else a


def _run_kernel(p, h0, X, loss_kind, up, U, c, tg, checkpoint, chunk, blas_min_n):
    """Call the compiled kernel as the driver does, with a chosen batch chunk and BLAS cut-over."""
    B, n = h0.shape
    T, d = X.shape[1], X.shape[2]
    k = U.shape[0]
    out = dict(dM=np.empty((n, n)), dV=np.empty((n, d)), db=np.empty(n), dVz=np.empty((n, d if p.gated else 0)),
               dbz=np.empty(n if p.gated else 0), dU=np.empty((k, n)), dc=np.empty(k), deps=np.empty(1),
               dh0=np.empty((B, n)), delta_norms=np.empty((B, T + 1)), loss=np.empty(B), final=np.empty((B, n)),
               diverged_at=np.empty(B, np.int64))
    cpu_gradients.bptt(h0, X, *p, loss_kind, up, U, c, tg, checkpoint, *(out[f] for f in OUTPUTS),
                       np.empty(0), chunk, blas_min_n)
    return out


@st.composite
def kernel_problems(draw):
    kind = draw(st.sampled_from(("vanilla", "euler", "antisymmetric", "gated")))
    act = draw(st.sampled_from(("tanh", "relu", "linear", "sigmoid")))
    n = draw(st.integers(1, 5))
    d = draw(st.integers(0, 2))
    B = draw(st.integers(1, 5))
    # long enough to span several of the kernel's accumulation blocks (256 GEMM rows)
    T = draw(st.integers(2, 300))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    cell = make_cell(kind, n, d, rng, act=act, eps=0.2, gamma=0.1, scale=0.9)
    prep = prepare(cell, rng.normal(scale=0.7, size=(B, n)), rng.normal(size=(B, T, d)) if d else None,
                   None if d else T)

    def w(a, dtype=np.float64):  # the driver's single compiled signature: C-contiguous, writable
        return np.require(a, dtype=dtype, requirements=["C", "W"])

    p = prep.args
    p = p._replace(M=w(p.M), V=w(p.V), b=w(p.b), Vz=w(p.Vz), bz=w(p.bz), alpha=float(p.alpha), eps=float(p.eps),
                   act=int(p.act), gated=bool(p.gated))
    loss_kind = draw(st.integers(0, 3))
    up = w(rng.normal(size=(B, T + 1, n))) if loss_kind == 3 else np.zeros((1, 1, n))
    U, c = (w(rng.normal(size=(3, n))), w(rng.normal(size=3))) if loss_kind == 2 else (np.zeros((0, n)), np.zeros(0))
    tg = w(rng.integers(0, 3, size=B), np.int64) if loss_kind == 2 else np.zeros(B, np.int64)
    chunk = draw(st.integers(1, B))
    blas_min_n = draw(st.sampled_from((0, 48)))  # BLAS for the per-step products, or the hand loops
    block = -(-256 // chunk)  # steps per accumulation block; segments shorter, equal and longer than it
    ks = draw(st.lists(st.sampled_from([1, 2, 3, 7, block - 1, block, block + 1, T - 1]) | st.integers(1, T - 1),
                       min_size=2, max_size=4))
    return (p, w(prep.h0), w(prep.inputs), loss_kind, up, U, c, tg), chunk, blas_min_n, ks


@settings(max_examples=20, deadline=None)
@given(kernel_problems())
def test_every_checkpoint_gives_the_bits_of_the_stored_run(problem):
    args, chunk, blas_min_n, ks = problem
    stored = _run_kernel(*args, 0, chunk, blas_min_n)
    for k in ks:
        cp = _run_kernel(*args, k, chunk, blas_min_n)
        for f in OUTPUTS:
            assert np.array_equal(_bits(cp[f]), _bits(stored[f])), (k, f)


_THREADS_SCRIPT = """
import hashlib, json, math
import numpy as np
import numba
import rnndyn as rd
from rnndyn import config
from rnndyn.analysis.gradients import _stored_bytes

def bits(g):
    h = hashlib.sha256()
    for name in ("loss", "dW", "dV", "db", "dh0", "dgamma", "deps", "dVz", "dbz", "dU", "dc", "delta_norms",
                 "losses", "final"):
        v = getattr(g, name)
        if v is not None:
            h.update(np.ascontiguousarray(np.asarray(v, dtype=np.float64)).tobytes())
    return h.hexdigest()

out = {"threads": numba.get_num_threads()}
rng = np.random.default_rng(5)
for B, n, d, T in ((1, 3, 2, 400), (5, 3, 2, 400), (5, 50, 1, 60)):
    W = rng.normal(size=(n, n)) / math.sqrt(n)
    cell = rd.AntisymmetricRNN(W, rng.normal(size=(n, d)), eps=0.2, gamma=0.1, gated=True,
                               Vz=rng.normal(size=(n, d)))
    h0, x = rng.normal(size=(B, n)), rng.normal(size=(B, T, d))
    runs = [rd.bptt(cell, h0, x, loss="sum", checkpoint=k, backend="cpu") for k in (None, None, 7, 30)]
    k_auto = math.isqrt(T - 1) + 1
    limit = config.MEMORY_LIMIT_BYTES
    # the checkpoints, one segment's stored states, and delta_norms (kept whatever the checkpointing)
    config.MEMORY_LIMIT_BYTES = int(8 * B * n * (T // k_auto + 1) + _stored_bytes(B, k_auto, n, d, True)
                                    + 8 * B * (T + 1))
    try:
        auto = rd.bptt(cell, h0, x, loss="sum", backend="cpu")
    finally:
        config.MEMORY_LIMIT_BYTES = limit
    assert auto.checkpoint == k_auto, auto.checkpoint
    digests = {bits(g) for g in runs + [auto]}
    assert len(digests) == 1, (B, n)  # in one process: every checkpoint, twice the same call
    out[f"{B},{n}"] = digests.pop()
print(json.dumps(out))
"""


def _digests(threads):
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_THREADS_SCRIPT)], env=env, capture_output=True,
                          text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out.pop("threads") == threads
    return out


def test_results_are_the_same_run_to_run_and_for_any_thread_count():
    one, two, two_again = _digests(1), _digests(2), _digests(2)
    assert two == two_again  # run to run
    # The batch is split by the machine's cores, not by numba's threads: a one-thread process (a figure
    # worker, a Dask task) gets the bits of the main process, batches included.
    assert one == two


def test_the_reference_twin_ignores_checkpoint():
    rng = np.random.default_rng(3)
    cell = make_cell("gated", 4, 2, rng)
    h0, x = rng.normal(size=(3, 4)), rng.normal(size=(3, 40, 2))
    a = rd.bptt(cell, h0, x, loss="sum", backend="reference")
    b = rd.bptt(cell, h0, x, loss="sum", checkpoint=6, backend="reference")
    for f in ("dW", "dV", "dVz", "db", "dbz", "dh0", "delta_norms"):
        assert np.array_equal(_bits(getattr(a, f)), _bits(getattr(b, f))), f
