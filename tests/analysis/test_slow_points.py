"""Slow points: the batched Adam kernel against its NumPy twin, known fixed points, a trained flip-flop."""

import itertools

import numpy as np
import pytest
from scipy.optimize import brentq

import rnndyn as rd
from rnndyn.errors import ArgumentTypeError, ValidationError
from rnndyn.kernels.cpu.slow_points import slow_points_adam as cpu_adam
from rnndyn.kernels.numpy.slow_points import slow_points_adam as ref_adam
from rnndyn.kernels.params import ACTIVATIONS


@pytest.mark.parametrize("act,gated,alpha,chunk", [("tanh", False, 0.0, 7), ("relu", False, 1.0, 40),
                                                   ("tanh", True, 1.0, 3), ("sigmoid", False, 1.0, 5)])
def test_kernel_matches_numpy_twin(act, gated, alpha, chunk):
    g = np.random.default_rng(1)
    S, n = 13, 6
    M = g.standard_normal((n, n)) * 0.8
    c, cz = g.standard_normal(n) * 0.3, g.standard_normal(n) * 0.3
    H0 = g.uniform(-1, 1, (S, n))
    out = []
    for fn in (cpu_adam, ref_adam):
        H, q, st = H0.copy(), np.empty(S), np.zeros(S, np.int64)
        fn(H, alpha, 0.3, ACTIVATIONS[act], gated, M, c, cz, 25, 0.05, 0.9, 0.999, 1e-8, 10.0, 1e-300, q, st, chunk)
        out.append((H, q, st))
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(out[0][2], out[1][2])
    if act == "tanh" and not gated and alpha == 0:  # q returned is q of the returned rows
        H = out[0][0]
        r = 0.3 * np.tanh(H @ M.T + c) - H
        np.testing.assert_allclose(out[0][1], 0.5 * np.sum(r * r, axis=1), rtol=1e-12)


def test_adam_lowers_q_and_stops_at_stop_q():
    cell = rd.VanillaRNN(2.0 * np.eye(2))
    g = np.random.default_rng(0)
    H0 = g.uniform(-1, 1, (50, 2))
    H, q, st = H0.copy(), np.empty(50), np.zeros(50, np.int64)
    cpu_adam(H, 0.0, 1.0, 0, False, cell.W.copy(), np.zeros(2), np.zeros(2), 3000, 0.01, 0.9, 0.999, 1e-8, 200.0,
             1e-14, q, st, 50)
    q0 = 0.5 * np.sum((np.tanh(2 * H0) - H0) ** 2, axis=1)
    assert np.all(q < 1e-14) and np.all(st < 3000) and np.all(q <= q0)


def _roots_tanh(w):
    """The roots of tanh(w h) = h, w > 1: 0 and ±h*."""
    h = brentq(lambda v: np.tanh(w * v) - v, 1e-3, 1.0)
    return np.array([-h, 0.0, h])


def test_finds_every_fixed_point_of_a_cell_with_known_fixed_points():
    cell = rd.VanillaRNN(2.0 * np.eye(2))
    sp = rd.slow_points(cell, n_starts=300, rng=0)
    r = _roots_tanh(2.0)
    known = np.array(list(itertools.product(r, r)))
    assert len(sp) == 9
    for k in known:
        assert np.min(np.linalg.norm(sp.states - k, axis=1)) < 1e-12
    assert np.all(sp.q < 1e-25)
    assert sp.counts == {"sink": 4, "saddle": 4, "source": 1}
    # the same points and kinds as the fixed-point solver of rnndyn
    fps = rd.fixed_points(cell)
    for fp in fps:
        i = np.argmin(np.linalg.norm(sp.states - fp.state, axis=1))
        assert np.linalg.norm(sp.states[i] - fp.state) < 1e-10 and sp.kinds[i] == fp.kind
    # eigen-decomposition of the Jacobian
    for h, mu, V in zip(sp.states, sp.eigenvalues, sp.eigenvectors):
        np.testing.assert_allclose(cell.jacobian(h) @ V, V * mu, atol=1e-12)
        assert np.all(np.diff(np.abs(mu)) <= 1e-15)
    assert [p.kind for p in sp.points] == list(sp.kinds)


def test_eight_attractors_of_a_hand_built_three_bit_memory():
    # three self-exciting units, one per bit, with weak cross-talk: 27 fixed points, the 8 corners stable
    W = 2.0 * np.eye(3) + 0.05 * np.array([[0, 1, -1], [1, 0, 1], [-1, 1, 0]])
    cell = rd.VanillaRNN(W, V=np.eye(3))
    sp = rd.slow_points(cell, x=np.zeros(3), n_starts=600, rng=1)
    assert sp.counts == {"sink": 8, "saddle": 18, "source": 1}
    sinks = sp.states[np.array(sp.kinds) == "sink"]
    assert sorted(map(tuple, np.sign(sinks).astype(int))) == sorted(itertools.product((-1, 1), repeat=3))
    assert np.all(sp.q < 1e-25)


@pytest.mark.parametrize("gated", [False, True])
def test_antisymmetric_cell_fixed_points_agree_with_fixed_points(gated):
    g = np.random.default_rng(3)
    n = 3
    W = g.standard_normal((n, n))
    kw = dict(gated=True, Vz=g.standard_normal((n, 1)), bz=g.standard_normal(n)) if gated else {}
    cell = rd.AntisymmetricRNN(W, V=g.standard_normal((n, 1)), b=g.standard_normal(n) * 0.5, eps=0.2,
                               gamma=0.5, **kw)
    x = np.array([0.3])
    sp = rd.slow_points(cell, x=x, n_starts=200, rng=0)
    fps = rd.fixed_points(cell, x=x)
    # every fixed point is found; a gated cell also has points far out where a closed gate stops the state
    # (z = σ(·) ≈ 0), which count as slow points
    assert len(fps) >= 1 and (len(sp) == len(fps) or gated)
    for fp in fps:
        i = np.argmin(np.linalg.norm(sp.states - fp.state, axis=1))
        assert np.linalg.norm(sp.states[i] - fp.state) < 1e-9 and sp.kinds[i] == fp.kind
    q = [0.5 * np.sum((cell.step(h, x) - h) ** 2) for h in sp.states]
    np.testing.assert_allclose(q, sp.q, rtol=1e-6, atol=1e-30)
    assert np.all(sp.q < sp.tol)


def test_starts_from_trajectories_and_reference_backend():
    W = 2.0 * np.eye(3)
    cell = rd.VanillaRNN(W, V=np.eye(3))
    task = rd.make_task("flipflop", length=40, n_train=1, n_test=16, seed=0)
    a = rd.slow_points(cell, inputs=task.X_test, n_starts=100, noise=0.05, rng=0)
    b = rd.slow_points(cell, inputs=task.X_test, n_starts=100, noise=0.05, rng=0, backend="reference")
    assert a.counts == b.counts and a.counts.get("sink", 0) >= 2
    for h in a.states:
        assert np.min(np.linalg.norm(b.states - h, axis=1)) < 1e-10
    assert all(np.all(np.abs(np.abs(h) - _roots_tanh(2.0)[2]) < 1e-10) for h, k in zip(a.states, a.kinds)
               if k == "sink")
    assert a.q_starts.shape == (100,) and a.steps.shape == (100,)


def test_bad_input_names_the_argument():
    cell = rd.VanillaRNN(2.0 * np.eye(2), V=np.ones((2, 1)))
    cases = [
        (lambda: rd.slow_points("cell"), "cell"),
        (lambda: rd.slow_points(cell, x=np.zeros(2)), "x"),
        (lambda: rd.slow_points(cell, starts=np.zeros((3, 5))), "starts"),
        (lambda: rd.slow_points(cell, inputs=np.zeros((2, 3, 4))), "inputs"),
        (lambda: rd.slow_points(cell, n_starts=0), "n_starts"),
        (lambda: rd.slow_points(cell, tol=0), "tol"),
        (lambda: rd.slow_points(cell, iters=-1), "iters"),
        (lambda: rd.slow_points(cell, backend="gpu"), "backend"),
    ]
    for call, name in cases:
        with pytest.raises((ValidationError, ArgumentTypeError)) as info:
            call()
        assert str(info.value).startswith(name), (name, str(info.value))


@pytest.mark.slow
def test_trained_flip_flop_has_eight_stable_memory_states():
    task = rd.make_task("flipflop", length=100, n_train=512, n_test=64, seed=0)
    cell = rd.make_cell("vanilla", 24, 3, rng=0)
    run = rd.train(cell, task, epochs=40, batch=32, lr=0.01, clip=1.0, seed=0, lyapunov_every=0)
    assert run.history["test_accuracy"][-1] > 0.99
    sp = rd.slow_points(run.cell, inputs=task.X_test, n_starts=1024, noise=0.01, rng=0)
    assert sp.counts["sink"] == 8 and sp.counts.get("saddle", 0) >= 6
    sinks = sp.states[np.array(sp.kinds) == "sink"]
    # each stable state holds one of the 8 sign patterns at the readout
    U, c = run.readout
    patterns = {tuple(np.sign(U @ h + c).astype(int)) for h in sinks}
    assert patterns == set(itertools.product((-1, 1), repeat=3))


def test_progress_reports_every_search_and_changes_no_result():
    cell = rd.VanillaRNN(2.0 * np.eye(2))
    calls = []
    with_cb = rd.slow_points(cell, n_starts=100, rng=0, progress=lambda done, total: calls.append((done, total)))
    plain = rd.slow_points(cell, n_starts=100, rng=0)
    np.testing.assert_array_equal(with_cb.q_starts, plain.q_starts)
    np.testing.assert_array_equal(with_cb.states, plain.states)
    searches = [c for c in calls if c[1] == 100]
    assert len(searches) > 1 and searches[-1] == (100, 100)
    assert [d for d, _ in searches] == sorted(d for d, _ in searches)
    assert calls[-1][0] == calls[-1][1] > 100  # then one call per polished candidate
    with pytest.raises(ArgumentTypeError, match="^progress: expected a callable"):
        rd.slow_points(cell, n_starts=4, progress=3)
