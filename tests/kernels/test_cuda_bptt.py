"""The CUDA bptt kernel against its CPU twin: both paths, every cell and loss, checkpoints, divergence.

Runs on a GPU, or in numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), where the
sizes are kept small and the blocks have a few threads so that several blocks, and
several state entries per thread, run.
"""

from __future__ import annotations

import numpy as np
import pytest

import rnndyn as rd
from rnndyn import config
from rnndyn.analysis.trajectories import prepare
from rnndyn.backends.registry import available_backends, cuda_available
from rnndyn.kernels.cpu import gradients as cpu_gradients
from rnndyn.kernels.numpy.cell import phi, preactivations, sigmoid
from tests.strategies import make_cell

if not cuda_available():
    pytest.skip("numba.cuda: no GPU and no simulator (set NUMBA_ENABLE_CUDASIM=1)", allow_module_level=True)

from rnndyn.kernels.cuda import gradients as cuda_gradients  # noqa: E402

OUTPUTS = ("dM", "dV", "db", "dVz", "dbz", "dU", "dc", "deps", "dh0", "delta_norms", "loss", "final", "diverged_at")
#: Few threads per block: several blocks per launch, several state entries per thread on the block path.
TPB = 4
RTOL = 1e-12


def _w(a, dtype=np.float64):
    return np.require(a, dtype=dtype, requirements=["C", "W"])


def _problem(kind, act, n, d, B, T, loss_kind, seed, shared_inputs=False):
    """Kernel arguments (cell params, h0, inputs, loss_kind, dL_dh, U, c, targets) as the driver passes them."""
    rng = np.random.default_rng(seed)
    cell = make_cell(kind, n, d, rng, act=act, eps=0.2, gamma=0.1, scale=0.9)
    X = None
    if d:
        X = rng.normal(size=(T, d) if shared_inputs else (B, T, d))
    prep = prepare(cell, rng.normal(scale=0.7, size=(B, n)), X, None if d else T)
    p = prep.args
    p = p._replace(M=_w(p.M), V=_w(p.V), b=_w(p.b), Vz=_w(p.Vz), bz=_w(p.bz), alpha=float(p.alpha),
                   eps=float(p.eps), act=int(p.act), gated=bool(p.gated))
    up = _w(rng.normal(size=(B, T + 1, n))) if loss_kind == 3 else np.zeros((1, 1, n))
    if loss_kind == 2:
        U, c = _w(rng.normal(size=(3, n))), _w(rng.normal(size=3))
        tg = _w(rng.integers(0, 3, size=B), np.int64)
    else:
        U, c, tg = np.zeros((0, n)), np.zeros(0), np.zeros(B, np.int64)
    return p, _w(prep.h0), _w(prep.inputs), loss_kind, up, U, c, tg


def _run(module, args, checkpoint, **kw):
    p, h0, X, loss_kind, up, U, c, tg = args
    B, n = h0.shape
    T, d = X.shape[1], X.shape[2]
    k = U.shape[0]
    out = dict(dM=np.empty((n, n)), dV=np.empty((n, d)), db=np.empty(n), dVz=np.empty((n, d if p.gated else 0)),
               dbz=np.empty(n if p.gated else 0), dU=np.empty((k, n)), dc=np.empty(k), deps=np.empty(1),
               dh0=np.empty((B, n)), delta_norms=np.empty((B, T + 1)), loss=np.empty(B), final=np.empty((B, n)),
               diverged_at=np.empty(B, np.int64))
    with np.errstate(all="ignore"):
        module.bptt(h0, X, *p, loss_kind, up, U, c, tg, checkpoint, *(out[f] for f in OUTPUTS),
                    np.empty(0), 1, 48, **kw)
    return out


def _cuda(args, checkpoint, block=False, tpb=TPB):
    return _run(cuda_gradients, args, checkpoint, threads_per_block=tpb, block_min_n=1 if block else 10**9)


def _cancellation_scales(args, ref):
    """Bounds on Σ|terms| of the two scalar sums that may cancel: ∂L/∂ε = Σ_t δ_t·(z_t ∘ φ(a_t)) ≤ Σ_t ‖δ_t‖‖φ(a_t)‖
    and the upstream loss Σ_t ⟨dL_dh_t, h_t⟩ ≤ Σ_t ‖dL_dh_t‖‖h_t‖ (per sequence), from a NumPy forward pass."""
    p, h0, X, loss_kind, up, U, c, tg = args
    H = h0.copy()
    eps_scale = 0.0
    loss_scale = np.abs(ref["loss"])
    if loss_kind == 3:
        loss_scale = loss_scale + np.linalg.norm(up[:, 0], axis=-1) * np.linalg.norm(H, axis=1)
    for t in range(1, X.shape[1] + 1):
        x = X[:, t - 1] if X.shape[0] > 1 else np.broadcast_to(X[0, t - 1], (H.shape[0], X.shape[2]))
        A, Az = preactivations(H, x, p.alpha, p.eps, p.act, p.gated, p.M, p.V, p.b, p.Vz, p.bz)
        Y = phi(p.act, A)
        H = p.alpha * H + p.eps * (sigmoid(Az) * Y if p.gated else Y)
        eps_scale += np.sum(ref["delta_norms"][:, t] * np.linalg.norm(Y, axis=1))
        if loss_kind == 3:
            loss_scale = loss_scale + np.linalg.norm(up[:, t], axis=-1) * np.linalg.norm(H, axis=1)
    return eps_scale, loss_scale


def _assert_close(got, ref, args):
    """Every output within RTOL of the CPU's, relative to the array's largest entry (sums that may cancel:
    relative to the sum of their terms' magnitudes); divergence steps and non-finite entries equal."""
    with np.errstate(all="ignore"):  # a diverging sequence overflows here; its non-finite outputs compare exactly
        eps_scale, loss_scale = _cancellation_scales(args, ref)
    worst = 0.0
    for f in OUTPUTS:
        a, b = got[f], ref[f]
        assert a.shape == b.shape, f
        if f == "diverged_at":
            assert np.array_equal(a, b), (f, a, b)
            continue
        fin = np.isfinite(b)
        assert np.array_equal(a[~fin], b[~fin], equal_nan=True), f
        if not fin.any():
            continue
        diff = np.abs(a[fin] - b[fin])
        if f == "deps":
            scale = abs(b[0]) + eps_scale
        elif f == "loss":
            scale = np.broadcast_to(loss_scale, b.shape)[fin]
        else:
            scale = np.max(np.abs(b[fin]))
        rel = np.max(diff / np.maximum(scale, 1e-300))
        assert rel <= RTOL, (f, rel)
        worst = max(worst, float(rel))
    return worst


CELLS = ("vanilla", "euler", "antisymmetric", "gated")
ACTS = ("tanh", "relu", "sigmoid", "linear")


@pytest.mark.parametrize("loss_kind", range(4))
@pytest.mark.parametrize("kind", CELLS)
def test_thread_per_sequence_matches_the_cpu(kind, loss_kind):
    i = CELLS.index(kind) * 4 + loss_kind
    d = (0, 2, 1)[i % 3]  # without inputs, inputs per sequence, and (below) one input sequence shared by all
    args = _problem(kind, ACTS[i % 4], n=5, d=d, B=5, T=6, loss_kind=loss_kind, seed=i, shared_inputs=i % 3 == 2)
    checkpoint = (0, 2, 4)[i % 3]  # stored; segments dividing T; a shorter last segment
    _assert_close(_cuda(args, checkpoint), _run(cpu_gradients, args, checkpoint), args)


@pytest.mark.parametrize("kind, loss_kind, d, checkpoint, tpb", [("gated", 2, 2, 2, 3), ("vanilla", 3, 0, 0, 4),
                                                                ("euler", 1, 1, 3, 4)])
def test_block_per_sequence_matches_the_cpu(kind, loss_kind, d, checkpoint, tpb):
    # n = 6 > threads per block: threads own several state entries; 3 threads make a ragged reduction tree
    args = _problem(kind, "tanh", n=6, d=d, B=2, T=4, loss_kind=loss_kind, seed=40 + loss_kind)
    _assert_close(_cuda(args, checkpoint, block=True, tpb=tpb), _run(cpu_gradients, args, checkpoint), args)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")  # the plain sum, before the fallback
@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_delta_norms_beyond_the_range_of_a_plain_sum_of_squares(scale):
    # ‖δ_t‖² over- or underflows: the norms take the scaled fallback, as on the CPU
    p, h0, X, loss_kind, up, U, c, tg = _problem("euler", "tanh", n=3, d=0, B=2, T=3, loss_kind=3, seed=5)
    args = (p, h0, X, loss_kind, _w(up * scale), U, c, tg)
    ref = _run(cpu_gradients, args, 0)
    assert np.all(np.isfinite(ref["delta_norms"])) and np.all(ref["delta_norms"] > 0)
    assert np.all(np.abs(np.log10(ref["delta_norms"]) - np.log10(scale)) < 3)
    _assert_close(_cuda(args, 0), ref, args)


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")  # the simulator's NumPy scalars
@pytest.mark.parametrize("block", [False, True])
def test_a_diverging_sequence_is_reported_and_propagates_as_on_the_cpu(block):
    p, h0, X, loss_kind, up, U, c, tg = _problem("vanilla", "linear", n=3, d=1, B=3, T=5, loss_kind=1, seed=7)
    p = p._replace(M=_w(4.0 * np.eye(3) + 0.1 * p.M))
    h0[1] = 1e306
    args = (p, h0, X, loss_kind, up, U, c, tg)
    ref = _run(cpu_gradients, args, 0)
    assert ref["diverged_at"][1] > 0 and ref["diverged_at"][0] == ref["diverged_at"][2] == -1
    assert not np.isfinite(ref["dM"]).all()  # the batch sums carry the overflow, as on the CPU
    _assert_close(_cuda(args, 2, block=block), _run(cpu_gradients, args, 2), args)


def test_edge_sizes_one_sequence_one_unit_no_steps():
    for n, B, T in ((1, 1, 3), (2, 1, 0), (1, 2, 1)):
        args = _problem("antisymmetric", "tanh", n=n, d=1, B=B, T=T, loss_kind=3, seed=n + B + T)
        _assert_close(_cuda(args, 0), _run(cpu_gradients, args, 0), args)


def test_results_are_the_same_bits_for_any_threads_per_block():
    args = _problem("gated", "tanh", n=4, d=2, B=5, T=5, loss_kind=3, seed=3)
    a, b = _cuda(args, 2, tpb=2), _cuda(args, 2, tpb=3)
    for f in OUTPUTS:
        assert np.array_equal(a[f], b[f]), f


class _LaunchSpy:
    """Counts the launches of a CUDA kernel (``kernel[grid, block, ...]``) and forwards them."""

    def __init__(self, kernel):
        self.kernel, self.launches = kernel, 0

    def __getitem__(self, config):
        self.launches += 1
        return self.kernel[config]


def test_rd_bptt_on_the_cuda_backend_equals_the_cpu_backend(monkeypatch):
    if "cuda" not in available_backends():
        pytest.skip("the cuda backend is not registered")
    monkeypatch.setattr(config, "CUDA_THREADS_PER_BLOCK", TPB)
    rng = np.random.default_rng(11)
    cell = make_cell("gated", 4, 2, rng, eps=0.2, gamma=0.1)
    h0, X = rng.normal(size=(2, 4)), rng.normal(size=(2, 4, 2))
    for block_min_n in (33, 1):
        monkeypatch.setattr(config, "CUDA_BPTT_BLOCK_MIN_N", block_min_n)
        spy = _LaunchSpy(cuda_gradients._backward_block)
        monkeypatch.setattr(cuda_gradients, "_backward_block", spy)
        g = rd.bptt(cell, h0, X, loss="sum", checkpoint=2, backend="cuda")
        assert (spy.launches > 0) == (block_min_n <= 4)  # the config knob picks the path
        ref = rd.bptt(cell, h0, X, loss="sum", checkpoint=2, backend="cpu")
        for f in ("dW", "dV", "db", "dVz", "dbz", "deps", "dgamma", "dh0", "delta_norms", "losses", "final"):
            np.testing.assert_allclose(getattr(g, f), getattr(ref, f), rtol=1e-12, atol=1e-13, err_msg=f)
