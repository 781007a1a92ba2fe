"""The basins kernel: CPU and CUDA against the NumPy twin, and its log-gradient against finite differences."""

import numpy as np
import pytest

import rnndyn as rd
import rnndyn.kernels.cpu as kcpu
import rnndyn.kernels.numpy as knp
from rnndyn.backends.drivers import cell_args
from tests.helpers import fd_jacobian


def _cells():
    rng = np.random.default_rng(3)
    return [
        rd.VanillaRNN(2 * np.eye(2)),  # the fused 2-D path
        rd.EulerRNN(rng.normal(size=(2, 2)), eps=0.3, gamma=0.1, activation="relu", b=rng.normal(size=2)),
        rd.EulerRNN(rng.normal(size=(3, 3)), eps=0.2, gamma=0.1, b=rng.normal(size=3)),
        rd.AntisymmetricRNN(rng.normal(size=(3, 3)), eps=0.3, gamma=0.1, gated=True, b=rng.normal(size=3),
                            bz=rng.normal(size=3)),
        rd.VanillaRNN(1.5 * np.eye(2), activation="linear"),  # escapes
    ]


def _run(kernels, cell, h0, steps, P=4, escape=1e3, **kw):
    p = cell_args(cell.kernel_args(with_inputs=False))
    G, n = h0.shape
    out = [np.empty((G, n)), np.empty((G, P, n)), np.empty(G), np.empty(G, np.int64)]
    kernels.basin_trajectories(np.ascontiguousarray(h0), steps, escape, *p, *out, 5, **kw) if kernels is kcpu else \
        kernels.basin_trajectories(np.ascontiguousarray(h0), steps, escape, *p, *out, **kw)
    return out


def _assert_twins(a, b):
    for x, y in zip(a[:3], b[:3]):
        assert np.array_equal(np.isnan(x), np.isnan(y))
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(a[3], b[3])


@pytest.mark.parametrize("k", range(5))
def test_cpu_matches_numpy_twin(k):
    cell = _cells()[k]
    h0 = np.random.default_rng(k).uniform(-1, 1, (23, cell.n))  # 23 points: chunks of 5 and a remainder
    for steps in (0, 1, 25):
        _assert_twins(_run(kcpu, cell, h0, steps), _run(knp, cell, h0, steps))
    if k == 4:
        assert (_run(kcpu, cell, h0, 25)[3] > 0).all()


def test_log_gradient_stays_finite_over_thousands_of_steps():
    # ‖∂h_T/∂h_0‖ of h ← tanh(2h) is about 0.166^T: 1e-3900 at T = 5000, far below the float64 range
    cell = rd.VanillaRNN(2 * np.eye(2))
    h0 = np.array([[0.3, -0.7], [1.2, 0.4]])
    a, b = _run(kcpu, cell, h0, 5000), _run(knp, cell, h0, 5000)
    _assert_twins(a, b)
    assert np.all(np.isfinite(a[2])) and np.all(a[2] / np.log(10) < -3000)
    grow = rd.VanillaRNN(1.001 * np.eye(2), activation="linear")  # 1.001^T exactly: no overflow at T = 800000
    g = _run(kcpu, grow, np.array([[1e-300, 0.0]]), 800_000, escape=np.inf)
    assert g[3][0] == -1 and g[2][0] == pytest.approx(800_000 * np.log(1.001) + 0.5 * np.log(2), rel=1e-9)


@pytest.mark.parametrize("k", [0, 2, 3])
def test_log_gradient_equals_finite_differences(k):
    cell = _cells()[k]
    T = 6
    rng = np.random.default_rng(10 + k)
    for h0 in rng.uniform(-0.8, 0.8, (3, cell.n)):
        def end(h):
            return rd.simulate(cell, h, steps=T, record="last", backend="reference").final

        J = fd_jacobian(end, h0)
        out = _run(kcpu, cell, h0[None], T)
        assert out[2][0] == pytest.approx(np.log(np.linalg.norm(J)), abs=1e-7)


def test_cuda_matches_cpu_under_the_simulator(monkeypatch):
    kcuda = pytest.importorskip("rnndyn.kernels.cuda")
    try:
        kcuda.basins  # noqa: B018 - imports numba.cuda
    except Exception as exc:  # noqa: BLE001 - no CUDA stack of any kind
        pytest.skip(f"no CUDA kernels: {exc}")
    from rnndyn import config

    monkeypatch.setattr(config, "CUDA_THREADS_PER_BLOCK", 4)
    for k in (0, 3, 4):
        cell = _cells()[k]
        h0 = np.random.default_rng(k).uniform(-1, 1, (11, cell.n))  # three blocks of 4 threads
        _assert_twins(_run(kcuda, cell, h0, 12, threads_per_block=config.CUDA_THREADS_PER_BLOCK),
                      _run(kcpu, cell, h0, 12))
