"""simulate / tangent: cpu kernels against the NumPy reference, finite differences, invariants."""


import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnndyn as rd
from rnndyn import config
from tests.helpers import fd_jacobian as _fd_jacobian
from tests.strategies import make_cell, problems


def rel_err(a, b):
    a, b = np.asarray(a), np.asarray(b)
    scale = max(np.max(np.abs(b)), 1e-300) if b.size else 1.0
    return np.max(np.abs(a - b)) / scale if a.size else 0.0


# --------------------------------------------------------------------------- cpu == reference


@given(problems(), st.sampled_from(["all", "last", 2, 3]))
def test_simulate_cpu_matches_reference(prob, record):
    cell, h0, inputs, T = prob
    a = rd.simulate(cell, h0, inputs, steps=T, record=record, backend="cpu")
    r = rd.simulate(cell, h0, inputs, steps=T, record=record, backend="reference")
    assert a.states.shape == r.states.shape
    assert rel_err(a.states, r.states) <= 1e-12
    assert np.array_equal(a.times, r.times)
    assert np.array_equal(a.diverged_at, r.diverged_at)


@given(problems(max_n=5, max_b=3, max_t=6), st.sampled_from(["spectral", "fro"]), st.integers(0, 2))
def test_tangent_cpu_matches_reference(prob, norm, kv):
    cell, h0, inputs, T = prob
    rng = np.random.default_rng(0)
    vecs = None if kv == 0 else rng.normal(size=(cell.n,) if kv == 1 else (cell.n, kv))
    a = rd.tangent(cell, h0, inputs, steps=T, vectors=vecs, norm=norm, backend="cpu")
    r = rd.tangent(cell, h0, inputs, steps=T, vectors=vecs, norm=norm, backend="reference")
    assert rel_err(a.jacobian, r.jacobian) <= 1e-12
    assert rel_err(a.norms, r.norms) <= 1e-12
    assert rel_err(a.final, r.final) <= 1e-12
    if vecs is None:
        assert a.vector_norms is None
    else:
        assert a.vector_norms.shape == r.vector_norms.shape
        assert rel_err(a.vector_norms, r.vector_norms) <= 1e-12


@pytest.mark.parametrize("kind", ["vanilla", "euler", "antisymmetric", "gated"])
def test_multi_chunk_and_blas_paths(monkeypatch, kind):
    # Force several batch chunks per thread and the BLAS branch, so both paths are exercised.
    rng = np.random.default_rng(5)
    cell = make_cell(kind, 6, 2, rng)
    h0 = rng.normal(size=(11, 6))
    x = rng.normal(size=(11, 9, 2))
    ref = rd.simulate(cell, h0, x, backend="reference")
    for chunk, blas in [(3, 10**9), (4, 1), (64, 1)]:
        monkeypatch.setattr(config, "BATCH_CHUNK", chunk)
        monkeypatch.setattr(config, "BLAS_MIN_N", blas)
        monkeypatch.setattr(config, "TANGENT_BLAS_MIN_N", blas)
        got = rd.simulate(cell, h0, x, backend="cpu")
        assert rel_err(got.states, ref.states) <= 1e-12
        tg = rd.tangent(cell, h0[:3], x[:3], backend="cpu")
        tr = rd.tangent(cell, h0[:3], x[:3], backend="reference")
        assert rel_err(tg.jacobian, tr.jacobian) <= 1e-12


@pytest.mark.parametrize("kind", ["euler", "gated"])
def test_float32_path_close_to_float64(kind):
    rng = np.random.default_rng(2)
    cell = make_cell(kind, 16, 1, rng)
    h0 = rng.normal(size=(40, 16))
    x = rng.normal(size=(30, 1))
    a = rd.simulate(cell, h0, x, dtype=np.float32)
    b = rd.simulate(cell, h0, x)
    assert a.states.dtype == np.float32
    assert rel_err(a.states, b.states) < 1e-5


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kind,act", [("gated", "tanh"), ("antisymmetric", "tanh"), ("antisymmetric", "sigmoid"),
                                      ("gated", "relu")])
def test_a_trajectory_has_the_same_bits_wherever_it_sits_in_the_batch(kind, act, dtype):
    """A block's entries go through a loop's vectorised body or its scalar remainder depending on where a
    trajectory sits in the batch; both must round alike (n * B = 7 * 33: both paths at every block size)."""
    rng = np.random.default_rng(9)
    n, d, B = 7, 2, 33
    W = rng.normal(size=(n, n)) * 1.5 / np.sqrt(n)
    cell = rd.AntisymmetricRNN(W, V=rng.normal(size=(n, d)), eps=0.2, gamma=0.05, gated=kind == "gated",
                               Vz=rng.normal(size=(n, d)) if kind == "gated" else None, activation=act)
    h0 = rng.normal(size=(B, n))
    x = rng.normal(size=(B, 60, d))
    perm = rng.permutation(B)
    a = rd.simulate(cell, h0, x, backend="cpu", dtype=dtype).states
    b = rd.simulate(cell, h0[perm], x[perm], backend="cpu", dtype=dtype).states
    alone = rd.simulate(cell, h0[perm[0]], x[perm[0]], backend="cpu", dtype=dtype).states
    assert np.array_equal(a[perm], b)
    assert np.array_equal(alone, b[0])


def test_float32_fused_2d_path_close_to_float64():
    """The autonomous 2-D cell (phase portraits, grids of initial states) has a fused step of its own."""
    cell = rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15)
    g = np.linspace(-1.0, 1.0, 33)
    h0 = np.stack(np.meshgrid(g, g), axis=-1).reshape(-1, 2)
    a = rd.simulate(cell, h0, steps=60, dtype=np.float32, backend="cpu")
    b = rd.simulate(cell, h0, steps=60, backend="cpu")
    assert a.states.dtype == np.float32
    assert rel_err(a.states, b.states) < 1e-5


# --------------------------------------------------------------------------- finite differences


@given(problems(max_b=1, acts=("tanh", "linear", "sigmoid")))
def test_one_step_jacobian_matches_finite_differences(prob):
    cell, h0, inputs, T = prob
    h = np.atleast_2d(h0)[0]
    x = None if inputs is None or T == 0 else inputs.reshape(-1, inputs.shape[-1])[0]
    J = cell.jacobian(h, x)
    Jfd = _fd_jacobian(lambda v: cell.step(v, x), h)
    assert np.allclose(J, Jfd, rtol=1e-6, atol=1e-8)


@given(problems(max_b=1, max_t=6, acts=("tanh", "linear", "sigmoid")))
def test_end_to_end_jacobian_matches_finite_differences(prob):
    cell, h0, inputs, T = prob
    h = np.atleast_2d(h0)[0]
    x = None if inputs is None else (inputs if inputs.ndim == 2 else inputs[0])
    A = rd.tangent(cell, h, x, steps=T).jacobian
    Afd = _fd_jacobian(lambda v: rd.simulate(cell, v, x, steps=T, record="last").states, h)
    assert np.allclose(A, Afd, rtol=1e-6, atol=1e-7)


def test_tangent_vector_norms_are_norms_of_A_v():
    rng = np.random.default_rng(4)
    cell = make_cell("gated", 5, 2, rng)
    x = rng.normal(size=(12, 2))
    v = rng.normal(size=(5, 3))
    res = rd.tangent(cell, rng.normal(size=5), x, vectors=v)
    assert np.allclose(res.vector_norms[-1], np.linalg.norm(res.jacobian @ v, axis=0), rtol=1e-12)
    assert np.allclose(res.vector_norms[0], np.linalg.norm(v, axis=0))
    assert np.isclose(res.norms[0], 1.0) and np.isclose(res.norms[-1], np.linalg.norm(res.jacobian, 2))


# --------------------------------------------------------------------------- invariants and seed numbers


def test_issue_done_when():
    cell = rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15)
    assert np.array_equal(cell.recurrent_matrix, rd.named_matrix("Wdiff"))
    traj = rd.simulate(cell, [0, 0.5], steps=50)
    assert traj.states.shape == (51, 2)
    assert np.array_equal(traj.states[0], [0, 0.5])
    assert np.array_equal(traj.times, np.arange(51))


@pytest.mark.parametrize("w, expected", [(1.1, 117.4), (0.9, 0.00515)])
def test_csc321_scalar_products(w, expected):
    # CSC321 L15: the 1-D linear RNN's ∂h_T/∂h_0 = w^T; 1.1^50 ≈ 117.4, 0.9^50 ≈ 0.00515.
    cell = rd.VanillaRNN([[w]], activation="linear")
    tan = rd.tangent(cell, [1.0], steps=50)
    assert np.isclose(tan.norms[-1], expected, rtol=1e-3)  # the seed rounds to 4 and 3 digits
    assert np.allclose(tan.norms, w ** np.arange(51), rtol=1e-13)
    assert np.isclose(rd.simulate(cell, [1.0], steps=50).final[0], w**50, rtol=1e-13)


@given(st.integers(1, 12), st.floats(0, 2), st.floats(0.01, 1), st.integers(0, 2**31))
def test_antisymmetric_cell_max_real_part_is_minus_gamma(n, gamma, eps, seed):
    W = np.random.default_rng(seed).normal(size=(n, n))
    cell = rd.AntisymmetricRNN(W, eps=eps, gamma=gamma)
    lam = np.linalg.eigvals(cell.recurrent_matrix)
    assert np.isclose(lam.real.max(), -gamma, atol=1e-10 * (1 + np.linalg.norm(W)))


@settings(max_examples=20)
@given(st.integers(1, 8), st.floats(0.1, 20), st.integers(0, 2**31))
def test_vanilla_tanh_state_stays_in_unit_box(n, scale, seed):
    rng = np.random.default_rng(seed)
    cell = rd.VanillaRNN(rng.normal(scale=scale, size=(n, n)), V=rng.normal(size=(n, 1)), b=rng.normal(size=n))
    traj = rd.simulate(cell, rng.normal(scale=5, size=(4, n)), rng.normal(size=(30, 1)))
    assert np.all(np.abs(traj.states[:, 1:]) <= 1.0)


def test_fibonacci_linear_cell_gives_fibonacci_numbers():
    cell = rd.VanillaRNN(rd.named_matrix("fibonacci"), activation="linear")
    traj = rd.simulate(cell, [1.0, 0.0], steps=20)
    fib = [1, 1]
    for _ in range(20):
        fib.append(fib[-1] + fib[-2])
    assert np.array_equal(traj.states[:, 0], fib[:21])


# --------------------------------------------------------------------------- shapes, batching, records


def test_shapes_follow_the_callers_batch_axes():
    rng = np.random.default_rng(0)
    cell = make_cell("euler", 3, 2, rng)
    x_shared = rng.normal(size=(7, 2))
    x_batch = rng.normal(size=(4, 7, 2))
    assert rd.simulate(cell, np.zeros(3), x_shared).states.shape == (8, 3)
    assert rd.simulate(cell, np.zeros((4, 3)), x_shared).states.shape == (4, 8, 3)
    assert rd.simulate(cell, np.zeros(3), x_batch).states.shape == (4, 8, 3)
    assert rd.simulate(cell, np.zeros((4, 3)), x_batch, record="last").states.shape == (4, 3)
    tr = rd.simulate(cell, np.zeros((4, 3)), x_batch, record=3)
    assert tr.states.shape == (4, 3, 3) and list(tr.times) == [0, 3, 6]
    assert rd.simulate(cell, np.zeros(3), None, steps=0).states.shape == (1, 3)
    # A shared input sequence drives every trajectory alike.
    h0 = rng.normal(size=3)
    a = rd.simulate(cell, np.stack([h0, h0]), x_shared).states
    assert np.array_equal(a[0], a[1])


def test_divergence_is_reported_not_silent():
    cell = rd.EulerRNN([[400.0]], eps=10.0, activation="linear")
    with pytest.warns(rd.DivergenceWarning, match="non-finite"):
        tr = rd.simulate(cell, [[1.0], [0.0]], steps=200)
    assert tr.diverged_at[0] > 0 and tr.diverged_at[1] == -1
    t = tr.diverged_at[0]
    assert np.all(np.isfinite(tr.states[0, :t])) and np.all(np.isnan(tr.states[0, t:]))
    ref = rd.simulate(cell, [[1.0], [0.0]], steps=200, backend="reference")
    assert np.array_equal(ref.diverged_at, tr.diverged_at)
    with pytest.warns(rd.DivergenceWarning):
        tan = rd.tangent(cell, [1.0], steps=200)
    assert tan.diverged_at > 0


def test_memory_limit_refuses_before_allocating(monkeypatch):
    monkeypatch.setattr(config, "MEMORY_LIMIT_BYTES", 10_000)
    cell = rd.EulerRNN(np.eye(4))
    with pytest.raises(rd.MemoryLimitError, match="record='last'"):
        rd.simulate(cell, np.zeros((100, 4)), steps=100)
    assert rd.simulate(cell, np.zeros((100, 4)), steps=100, record="last").states.shape == (100, 4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(h0=[0.0, 0.0, 0.0], steps=3), "h0"),
        (dict(h0=[[[0.0, 0.0]]], steps=3), "h0"),
        (dict(h0=[0.0, np.nan], steps=3), "h0"),
        (dict(h0=[0.0, 0.0]), "steps"),
        (dict(h0=[0.0, 0.0], steps=-1), "steps"),
        (dict(h0=[0.0, 0.0], steps=2.5), "steps"),
        (dict(h0=[0.0, 0.0], steps=3, record="some"), "record"),
        (dict(h0=[0.0, 0.0], steps=3, record=0), "record"),
        (dict(h0=[0.0, 0.0], steps=3, backend="gpu"), "backend"),
        (dict(h0=[0.0, 0.0], inputs=np.zeros((3, 1))), "inputs"),
        (dict(h0=[0.0, 0.0], steps=3, dtype=np.int32), "dtype"),
    ],
)
def test_simulate_argument_errors(kwargs, match):
    cell = rd.EulerRNN(rd.named_matrix("W0"))
    with pytest.raises(rd.RnndynError, match=match):
        rd.simulate(cell, **kwargs)


def test_input_shape_errors():
    cell = rd.EulerRNN(np.eye(2), V=np.ones((2, 3)))
    with pytest.raises(rd.RnndynError, match="last dimension 3"):
        rd.simulate(cell, np.zeros(2), np.zeros((5, 2)))
    with pytest.raises(rd.RnndynError, match="batch size"):
        rd.simulate(cell, np.zeros((2, 2)), np.zeros((3, 5, 3)))
    with pytest.raises(rd.RnndynError, match="steps"):
        rd.simulate(cell, np.zeros(2), np.zeros((5, 3)), steps=4)
    with pytest.raises(rd.RnndynError, match="cell"):
        rd.simulate("euler", np.zeros(2), steps=3)


