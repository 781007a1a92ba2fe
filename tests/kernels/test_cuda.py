"""The CUDA kernels of simulate, tangent and lyapunov against their CPU twins, and the "cuda" backend.

Runs on a GPU, or in numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), where the
sizes are kept small and the blocks have a few threads so that several blocks run.
Float64 results agree with the CPU kernels to 1e-12 relative (to the array's scale);
float32 trajectories to 2e-5 (a few float32 ulp per step, over at most 12 steps).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("numba.cuda")

import rnndyn as rd  # noqa: E402
from rnndyn import config  # noqa: E402
from rnndyn.analysis.trajectories import prepare  # noqa: E402
from rnndyn.backends import registry  # noqa: E402
from rnndyn.backends.drivers import cell_args  # noqa: E402
from rnndyn.errors import UnsupportedError  # noqa: E402
from tests.strategies import make_cell  # noqa: E402

pytestmark = [
    pytest.mark.cuda,
    # The simulator runs each GPU thread's arithmetic in NumPy scalars, which warn where a GPU overflows
    # silently (the divergence cases), in threads of its own that np.errstate does not reach.
    pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
]

needs_cuda = pytest.mark.skipif(not registry.cuda_available(),
                                reason="no GPU and no CUDA simulator (set NUMBA_ENABLE_CUDASIM=1)")

#: Few threads per block, so that B ≤ 9 trajectories run on several blocks.
TPB = 4
RTOL = 1e-12
RTOL32 = 2e-5
KINDS = ("vanilla", "euler", "antisymmetric", "gated")
ACTS = ("tanh", "relu", "linear", "sigmoid")


@pytest.fixture(autouse=True)
def _small_blocks(monkeypatch):
    monkeypatch.setattr(config, "CUDA_THREADS_PER_BLOCK", TPB)


def _close(got, want, rtol=RTOL):
    """Equal NaN (and ±inf) positions; elsewhere |got - want| ≤ rtol · the array's largest finite |want|."""
    got, want = np.asarray(got, float), np.asarray(want, float)
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    fin = np.isfinite(want)
    np.testing.assert_array_equal(got[~fin & ~np.isnan(want)], want[~fin & ~np.isnan(want)])
    scale = np.max(np.abs(want[fin]), initial=0.0)
    np.testing.assert_allclose(got[fin], want[fin], rtol=rtol, atol=rtol * scale)


def _case(kind, act, inputs, n=3, B=7, T=9, d=2, seed=0, scale=1.0):
    """(kernel args, h0 (B, n), inputs (Bi, T, d)) as the drivers receive them; inputs: "none", "shared", "batch"."""
    rng = np.random.default_rng(seed)
    d = 0 if inputs == "none" else d
    cell = make_cell(kind, n, d, rng, act=act, eps=0.3, gamma=0.1, scale=scale)
    X = None if inputs == "none" else rng.normal(size=(T, d) if inputs == "shared" else (B, T, d))
    prep = prepare(cell, rng.normal(scale=0.7, size=(B, n)), X, T if X is None else None)
    return cell_args(prep.args), prep.h0, prep.inputs


def _both(method, *args, **kw):
    """The same driver call on the cpu and the cuda backend."""
    return [getattr(rd.get_backend(name), method)("cell", *args, **kw) for name in ("cpu", "cuda")]


# --------------------------------------------------------------------------- simulate


@needs_cuda
@pytest.mark.parametrize("act", ACTS)
@pytest.mark.parametrize("kind", KINDS)
def test_simulate_equals_cpu(kind, act):
    for inputs in ("none", "shared", "batch"):
        p, h0, X = _case(kind, act, inputs)
        for stride in (0, 1, 4):
            (o1, f1, d1), (o2, f2, d2) = _both("simulate", p, h0, X, stride)
            _close(o2, o1)
            _close(f2, f1)
            np.testing.assert_array_equal(d2, d1)


@needs_cuda
def test_simulate_float32_within_stated_tolerance():
    worst = 0.0
    for kind in KINDS:
        p, h0, X = _case(kind, "tanh", "batch")
        (o1, f1, _), (o2, f2, _) = _both("simulate", p, h0, X, 1, dtype=np.float32)
        assert o2.dtype == np.float32 and f2.dtype == np.float32
        ref, _, _ = rd.get_backend("cpu").simulate("cell", p, h0, X, 1)  # float64
        _close(o2, o1, rtol=RTOL32)
        _close(o2, ref, rtol=RTOL32)
        worst = max(worst, float(np.max(np.abs(o2 - ref)) / np.max(np.abs(ref))))
    assert worst > 0.0  # float32 really ran


@needs_cuda
def test_simulate_divergence_rows_equal_cpu():
    """Rows that overflow become NaN from the step they do, with that step in diverged_at."""
    cell = rd.VanillaRNN(np.diag([1e150, 1e150]), activation="linear")
    h0 = np.array([[0.0, 0.0], [1.0, 0.0], [1e-300, 0.0], [0.0, 1e10], [0.0, 0.0]])
    prep = prepare(cell, h0, None, 5)
    for stride in (0, 1, 2):
        (o1, f1, d1), (o2, f2, d2) = _both("simulate", cell_args(prep.args), prep.h0, prep.inputs, stride)
        np.testing.assert_array_equal(d2, d1)
        _close(o2, o1)
        _close(f2, f1)
    assert list(d1) == [-1, 3, 5, 2, -1]


# --------------------------------------------------------------------------- tangent


@needs_cuda
@pytest.mark.parametrize("kind", KINDS)
def test_tangent_equals_cpu(kind):
    rng = np.random.default_rng(1)
    for act, inputs in zip(ACTS, ("none", "shared", "batch", "batch")):
        p, h0, X = _case(kind, act, inputs, n=4, B=5, T=7)
        vecs = rng.normal(size=(4, 2))
        for norm_kind in (0, 1):
            r1, r2 = _both("tangent", p, h0, X, vecs, norm_kind)
            for a, b in zip(r1[:4], r2[:4]):
                _close(b, a)
            np.testing.assert_array_equal(r2[4], r1[4])


@needs_cuda
def test_tangent_divergence_rows_equal_cpu():
    cell = rd.VanillaRNN(np.diag([1e120, 2.0]), activation="tanh")
    h0 = np.array([[0.0, 0.0], [5.0, 1.0], [0.0, 0.3]])
    prep = prepare(cell, h0, None, 6)
    r1, r2 = _both("tangent", cell_args(prep.args), prep.h0, prep.inputs, np.eye(2), 0)
    for a, b in zip(r1[:4], r2[:4]):
        _close(b, a)
    np.testing.assert_array_equal(r2[4], r1[4])
    assert (r1[4] >= 0).any() and (r1[4] < 0).any()


@needs_cuda
@pytest.mark.parametrize("scale", [1e200, 1e-200])
def test_tangent_norms_are_scaled_not_squared(scale):
    """‖A‖ of 1e±200 is representable; its sum of squares is not (as tests/kernels/test_twins.py for the CPU)."""
    cell = rd.VanillaRNN([[scale, 0.0], [0.0, scale / 2]], activation="linear")
    for norm, want in (("fro", scale * np.sqrt(1.25)), ("spectral", scale)):
        t = rd.tangent(cell, [0.0, 0.0], steps=1, norm=norm, vectors=np.eye(2), backend="cuda")
        assert int(t.diverged_at) == -1
        assert t.norms[-1] == pytest.approx(want, rel=1e-14)
        np.testing.assert_allclose(t.vector_norms[-1], [scale, scale / 2], rtol=1e-14)


@needs_cuda
def test_spectral_norm_with_close_singular_values():
    """Jacobi's accuracy does not depend on the gap between the two largest singular values."""
    rng = np.random.default_rng(2)
    Q1, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    Q2, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    for s in ([1.0, 1.0 - 1e-10, 0.5, 0.2, 0.1], [3.0, 3.0, 3.0, 1.0, 0.0], [1.0, 0.0, 0.0, 0.0, 0.0]):
        W = Q1 @ np.diag(s) @ Q2.T
        t = rd.tangent(rd.VanillaRNN(W, activation="linear"), np.zeros(5), steps=1, norm="spectral",
                       backend="cuda")
        assert t.norms[-1] == pytest.approx(np.linalg.norm(W, 2), rel=1e-13)


# --------------------------------------------------------------------------- lyapunov


def _lyap_kernels(p, h0, X, k, transient, every, nblocks, edges):
    from rnndyn.kernels import cpu
    from rnndyn.kernels import cuda as ck

    out = []
    for mod, extra in ((cpu, (int(config.BLAS_MIN_N), int(config.QR_LAPACK_MIN_N))), (ck, ())):
        B, n = h0.shape
        T = X.shape[1]
        h = h0.copy()
        Q = np.ascontiguousarray(np.broadcast_to(np.eye(n)[:, :k], (B, n, k)))
        S = np.zeros((B, k))
        blocks = np.zeros((B, nblocks, k))
        hist = np.full((B, -(-(T - transient) // every), k), np.nan)
        dv = np.full(B, -1, np.int64)
        kw = {} if mod is cpu else {"threads_per_block": TPB}
        t0 = 0
        for t1 in edges:
            mod.lyapunov(h, np.ascontiguousarray(X[:, t0:t1]), *p, Q, S, t0, transient, T, every, blocks, hist, dv,
                         *extra, **kw)
            t0 = t1
        out.append((h, Q, S, blocks, hist, dv))
    return out


@needs_cuda
@pytest.mark.parametrize("kind", KINDS)
def test_lyapunov_equals_cpu_across_chunks(kind):
    """The kernels themselves, the carried arrays cut into chunks at the same steps."""
    for act, inputs in zip(ACTS, ("none", "shared", "batch", "none")):
        p, h0, X = _case(kind, act, inputs, n=4, B=5, T=12)
        for k, every in ((4, 1), (2, 3)):
            r1, r2 = _lyap_kernels(p, h0, X, k, transient=2, every=every, nblocks=3, edges=(5, 12))
            for a, b in zip(r1[:5], r2[:5]):
                _close(b, a)
            np.testing.assert_array_equal(r2[5], r1[5])


@needs_cuda
def test_lyapunov_divergence_rows_equal_cpu():
    """A state that overflows (row 1), tangent vectors that overflow between two QRs (row 2), and a tangent
    space that collapses (row 0: ReLU' = 0, log R_jj = -inf), which is not a divergence."""
    cell = rd.VanillaRNN(np.diag([1e160, 0.5]), activation="relu")
    h0 = np.array([[-1.0, -1.0], [1.0, 0.0], [1e-300, 0.3]])
    prep = prepare(cell, h0, None, 8)
    r1, r2 = _lyap_kernels(cell_args(prep.args), prep.h0, prep.inputs, 2, 0, 3, 2, (3, 8))
    for a, b in zip(r1[:5], r2[:5]):
        _close(b, a)
    np.testing.assert_array_equal(r2[5], r1[5])
    assert list(r1[5]) == [-1, 2, 3] and np.isneginf(r1[2][0]).all()


# --------------------------------------------------------------------------- the public API and the backend


@needs_cuda
def test_public_api_equals_cpu():
    rng = np.random.default_rng(3)
    cell = rd.AntisymmetricRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15)
    h0 = rng.normal(size=(9, 2))
    a, b = (rd.simulate(cell, h0, steps=12, record=5, backend=be) for be in ("cpu", "cuda"))
    _close(b.states, a.states)
    np.testing.assert_array_equal(b.times, a.times)
    gated = make_cell("gated", 3, 2, rng)
    X = rng.normal(size=(10, 2))
    a, b = (rd.tangent(gated, [0.1, -0.2, 0.3], X, backend=be) for be in ("cpu", "cuda"))
    _close(b.jacobian, a.jacobian)
    _close(b.norms, a.norms)
    h0 = rng.normal(size=(3, 3))
    a, b = (rd.lyapunov_spectrum(gated, h0, X, transient=2, backend=be) for be in ("cpu", "cuda"))
    _close(b.exponents, a.exponents)
    np.testing.assert_array_equal(b.diverged_at, a.diverged_at)


@needs_cuda
def test_host_functions_take_the_cpu_arguments():
    """Called positionally as the CPU kernels are (tuning arguments included), they fill the same arrays."""
    from rnndyn.kernels import cpu
    from rnndyn.kernels import cuda as ck

    p, h0, X = _case("euler", "tanh", "batch", B=2, T=3)
    outs = []
    for mod in (cpu, ck):
        out, final, dv = np.empty((2, 4, 3)), np.empty((2, 3)), np.empty(2, np.int64)
        mod.simulate(h0, X, *p, 1, out, final, dv, 8, int(config.BLAS_MIN_N))
        outs.append(out)
    _close(outs[1], outs[0])


@needs_cuda
def test_too_large_a_state_is_refused_naming_the_limit():
    from rnndyn.kernels.cuda import common

    limit = common.MAX_N["tangent"]
    cell = rd.VanillaRNN(0.5 * np.eye(limit + 1))
    with pytest.raises(UnsupportedError, match=rf"n ≤ {limit}.*got n = {limit + 1}; use backend='cpu'"):
        rd.tangent(cell, np.zeros(limit + 1), steps=1, backend="cuda")
    with pytest.raises(ValueError, match=f"n ≤ {limit}"):
        common.check_size("tangent", limit + 1)


@needs_cuda
def test_a_map_is_refused_by_the_single_rule():
    with pytest.raises(UnsupportedError, match=r"^backend: 'cuda' has no simulate kernel for maps \(Map\); use 'cpu'"):
        rd.simulate(rd.systems.henon(), [0.1, 0.1], steps=3, backend="cuda")
    # "auto" runs it on the CPU
    assert rd.simulate(rd.systems.henon(), [0.1, 0.1], steps=3).states.shape == (4, 2)


def test_cuda_without_gpu_or_simulator_is_one_clear_error(monkeypatch):
    monkeypatch.setattr(registry, "cuda_available", lambda: False)
    monkeypatch.setattr(registry, "_INSTANCES", {k: v for k, v in registry._INSTANCES.items() if k != "cuda"})
    cell = rd.VanillaRNN(0.5 * np.eye(2))
    with pytest.raises(UnsupportedError) as err:
        rd.simulate(cell, [0.1, 0.2], steps=3, backend="cuda")
    msg = str(err.value)
    assert msg.startswith("backend: 'cuda' needs an NVIDIA GPU and numba-cuda (")
    assert "NUMBA_ENABLE_CUDASIM=1" in msg and "\n" not in msg
    # "auto" does not need it
    assert rd.simulate(cell, [0.1, 0.2], steps=3).states.shape == (4, 2)


def test_refusals_elsewhere_do_not_need_a_gpu(monkeypatch):
    """Another backend's refusal lists the backends that run the pair, skipping a "cuda" that cannot start."""
    from rnndyn.backends.drivers import KernelBackend

    monkeypatch.setattr(registry, "cuda_available", lambda: False)
    monkeypatch.setattr(registry, "_INSTANCES", {k: v for k, v in registry._INSTANCES.items() if k != "cuda"})
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
    registry.register_backend("cells-only", lambda: KernelBackend("cells-only", "rnndyn.kernels.numpy",
                                                                  supports={("simulate", "cell")}))
    with pytest.raises(UnsupportedError, match=r"has no simulate kernel for maps \(Map\); use 'cpu' or 'reference'$"):
        rd.simulate(rd.systems.henon(), [0.1, 0.1], steps=2, backend="cells-only")


@needs_cuda
def test_auto_picks_cuda_only_for_states_its_kernels_hold(monkeypatch):
    monkeypatch.setattr(config, "CUDA_MIN_WORK", 0.0)
    chosen = lambda algorithm, n: registry.kernel_for(algorithm, "cell", "auto", work=1.0, n=n).func.__self__.name
    assert chosen("tangent", 32) == chosen("lyapunov", 32) == chosen("basins", 32) == "cuda"
    assert chosen("tangent", 33) == chosen("lyapunov", 33) == chosen("basins", 33) == "cpu"
    assert chosen("bptt", 600) == "cuda"  # a block per sequence: no fixed-size per-thread state


@needs_cuda
def test_basins_on_cuda_equal_the_cpu():
    cell = rd.VanillaRNN(2.2 * np.array([[np.cos(0.3), -np.sin(0.3)], [np.sin(0.3), np.cos(0.3)]]))
    a = rd.basins(cell, grid=6, steps=20, backend="cuda")
    b = rd.basins(cell, grid=6, steps=20, backend="cpu")
    np.testing.assert_array_equal(a.labels, b.labels)
    _close(a.log_grad, b.log_grad)


def test_no_device_file_means_no_gpu_without_importing_numba_cuda():
    import subprocess
    import sys

    code = ("import sys, rnndyn.backends.registry as r; r._no_cuda_driver = lambda: True; "
            "print(r.cuda_available(), 'numba.cuda' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]
