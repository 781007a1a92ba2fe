"""Covariant Lyapunov vectors (rd.covariant_lyapunov_vectors) and finite-time exponents (rd.finite_time_lyapunov)."""

from __future__ import annotations

import numpy as np
import pytest

import rnndyn as rd
from rnndyn import config
from rnndyn.analysis.clv import covariant_lyapunov_vectors, finite_time_lyapunov
from rnndyn.errors import MemoryLimitError, ValidationError


def _random_cell(n=5, d=2, gain=2.0, seed=3, kind="vanilla"):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((n, n)) * gain / np.sqrt(n)
    V = rng.standard_normal((n, d))
    if kind == "vanilla":
        return rd.VanillaRNN(W, V=V)
    return rd.AntisymmetricRNN(W, V=V, eps=0.3, gamma=0.05, gated=True, Vz=rng.standard_normal((n, d)))


def _unit_cos(a, b):
    """|cos| of the angle between the columns of a and b (…, n, k)."""
    return np.abs(np.einsum("...ij,...ij->...j", a, b)) / (np.linalg.norm(a, axis=-2) * np.linalg.norm(b, axis=-2))


def _line_angle(a, b):
    """Angle in [0, π/2] between the lines of the columns of a and b, accurate near 0 (unlike arccos)."""
    a = a / np.linalg.norm(a, axis=-2, keepdims=True)
    b = b / np.linalg.norm(b, axis=-2, keepdims=True)
    b = b * np.where(np.einsum("...ij,...ij->...j", a, b) < 0, -1.0, 1.0)[..., None, :]
    return 2.0 * np.arctan2(np.linalg.norm(a - b, axis=-2), np.linalg.norm(a + b, axis=-2))


# --------------------------------------------------------------------------- kernels against their NumPy twins


@pytest.mark.parametrize("kind", ["vanilla", "gated", "henon", "lstm"])
def test_cpu_kernels_match_the_numpy_twins(kind):
    rng = np.random.default_rng(0)
    if kind == "henon":
        system, h0, x = rd.systems.henon(), np.array([0.1, 0.1]), None
    elif kind == "lstm":
        system = rd.LSTM.init(3, d=2, rng=1)
        h0, x = 0.1 * rng.standard_normal(6), rng.standard_normal((75, 2))
    else:
        # moderate drive: deep in tanh's saturation the compiled sech² and NumPy's differ by more than ulps
        system = _random_cell(kind=kind, gain=1.5)
        h0, x = 0.1 * rng.standard_normal(5), 0.3 * rng.standard_normal((75, 2))
    kw = dict(steps=None if x is not None else 40, transient=5, transient_backward=30, every=3)
    ref = covariant_lyapunov_vectors(system, h0, x, backend="reference", **kw)
    cpu = covariant_lyapunov_vectors(system, h0, x, backend="cpu", **kw)
    for name in ("vectors", "states", "growth", "exponents", "angles", "pair_angles"):
        a, b = getattr(ref, name), getattr(cpu, name)
        assert a.shape == b.shape, name
        np.testing.assert_allclose(b, a, rtol=1e-12, atol=1e-12, err_msg=name)
    assert ref.split == cpu.split


# --------------------------------------------------------------------------- analytic and defining properties


def test_constant_linear_map_gives_its_eigenvectors_and_log_eigenvalues():
    rng = np.random.default_rng(5)
    eig = np.array([1.5, -0.9, 0.6, -0.3])  # distinct |λ|, both signs
    P = rng.standard_normal((4, 4))
    A = P @ np.diag(eig) @ np.linalg.inv(P)
    cell = rd.VanillaRNN(A, activation="linear")
    clv = covariant_lyapunov_vectors(cell, np.ones(4), steps=40, transient=100, transient_backward=100, every=7)
    assert clv.vectors.shape == (6, 4, 4) and list(clv.times) == [100, 107, 114, 121, 128, 135]
    np.testing.assert_allclose(_unit_cos(clv.vectors, P[None]), 1.0, atol=1e-12)
    np.testing.assert_allclose(clv.growth, np.broadcast_to(np.log(np.abs(eig)), (40, 4)), atol=1e-12)
    np.testing.assert_allclose(clv.exponents, np.log(np.abs(eig)), atol=1e-12)
    assert clv.split == 1


def test_vectors_are_covariant_on_a_driven_cell():
    """J_t v_i(t-1) ∥ v_i(t) with ‖J_t v_i(t-1)‖ = exp(growth), and the mean growth is the spectrum."""
    rng = np.random.default_rng(8)
    cell = rd.VanillaRNN(rng.standard_normal((6, 6)) * 2.5 / np.sqrt(6), V=0.2 * rng.standard_normal((6, 2)))
    transient, steps, tb = 200, 4000, 400
    x = rng.standard_normal((transient + steps + tb, 2))
    h0 = 0.1 * np.ones(6)
    clv = covariant_lyapunov_vectors(cell, h0, x, transient=transient, transient_backward=tb)
    H, V = clv.states, clv.vectors
    for t in range(1, 400):
        J = cell.jacobian(H[t - 1], x[transient + t - 1])
        JV = J @ V[t - 1]
        assert _line_angle(JV, V[t]).max() <= 1e-8, t
        np.testing.assert_allclose(np.log(np.linalg.norm(JV, axis=0)), clv.growth[t - 1], atol=1e-10)
    les = rd.lyapunov_spectrum(cell, h0, x[:transient + steps], transient=transient)
    assert clv.split == int((les.exponents > 0).sum())
    # the same forward QR run; the covariant means differ from the QR sums by boundary terms O(1/steps)
    assert np.all(np.abs(clv.exponents - les.exponents) <= np.maximum(les.error, 0.01)), (clv.exponents, les.exponents)


def test_henon_exponents_and_near_tangencies():
    clv = covariant_lyapunov_vectors(rd.systems.henon(), [0.1, 0.1], steps=5000, transient=200)
    les = rd.lyapunov_spectrum(rd.systems.henon(), [0.1, 0.1], steps=5000, transient=200)
    np.testing.assert_allclose(clv.exponents, les.exponents, atol=5e-3)
    assert clv.split == 1
    stats = clv.angle_stats()
    # the Hénon attractor is not hyperbolic: its two directions come close to tangent (homoclinic tangencies)
    assert stats["min"] < 0.01 and stats["median"] > 0.3
    np.testing.assert_allclose(clv.pair_angles[:, 0], clv.angles, atol=1e-12)  # k = 2: the same angle
    # the covariant finite-time exponents average to the exponents
    np.testing.assert_allclose(clv.finite_time(50).mean(axis=0), clv.exponents, atol=1e-12)


def test_batch_equals_single_runs():
    system = rd.systems.henon()
    h0 = np.array([[0.1, 0.1], [0.0, 0.2]])
    both = covariant_lyapunov_vectors(system, h0, steps=60, transient=10, transient_backward=30, every=2)
    for b in range(2):
        one = covariant_lyapunov_vectors(system, h0[b], steps=60, transient=10, transient_backward=30, every=2)
        np.testing.assert_array_equal(both.vectors[b], one.vectors)
        np.testing.assert_array_equal(both.angles[b], one.angles)
        assert both.split[b] == one.split


def test_checkpointed_run_is_bit_identical(monkeypatch):
    system = rd.systems.henon()
    kw = dict(steps=300, transient=10, transient_backward=50, every=4)
    full = covariant_lyapunov_vectors(system, [0.1, 0.1], **kw)
    assert full.segments == 1
    out_bytes = 8 * ((300 // 4 + 1) * (2 * 2 + 2 + 2) + 300 * 2)  # vectors, states, angles; growth
    monkeypatch.setattr(config, "MEMORY_LIMIT_BYTES", out_bytes + 2 * 40 * 32)  # 40 factors of 2 x 2
    seg = covariant_lyapunov_vectors(system, [0.1, 0.1], **kw)
    assert seg.segments == 9
    for name in ("vectors", "states", "growth", "angles", "pair_angles"):
        np.testing.assert_array_equal(getattr(seg, name), getattr(full, name), err_msg=name)


def test_too_large_requests_are_refused_before_allocating(monkeypatch):
    monkeypatch.setattr(config, "MEMORY_LIMIT_BYTES", 10_000)
    with pytest.raises(MemoryLimitError, match="larger every"):
        covariant_lyapunov_vectors(rd.systems.henon(), [0.1, 0.1], steps=10_000)


def test_split_and_missing_subspaces():
    clv = covariant_lyapunov_vectors(rd.systems.henon(), [0.1, 0.1], steps=50, transient=10, split=0)
    assert clv.split == 0 and np.isnan(clv.angles).all() and np.isnan(clv.angle_stats()["min"])


@pytest.mark.parametrize("kwargs, match", [
    (dict(steps=10, every=0), "every"),
    (dict(steps=10, split=3), "split"),
    (dict(steps=10, transient_backward=-1), "transient_backward"),
    (dict(steps=10, k=3), "k"),
    (dict(), "steps"),
])
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(ValidationError, match=match):
        covariant_lyapunov_vectors(rd.systems.henon(), [0.1, 0.1], **kwargs)


def test_inputs_too_short_for_both_transients():
    cell = _random_cell()
    with pytest.raises(ValidationError, match="transient_backward"):
        covariant_lyapunov_vectors(cell, np.zeros(5), np.zeros((100, 2)), transient=50)


# --------------------------------------------------------------------------- finite-time exponents


def test_finite_time_exponents_average_to_the_spectrum():
    cell = _random_cell(n=6, gain=2.5, seed=2)
    x = np.random.default_rng(3).standard_normal((2100, 2))
    ftle = finite_time_lyapunov(cell, np.zeros(6), x, window=25, transient=100)
    les = rd.lyapunov_spectrum(cell, np.zeros(6), x, transient=100)
    assert ftle.exponents.shape == (80, 6) and ftle.steps == 2000
    np.testing.assert_allclose(np.sort(ftle.mean)[::-1], les.exponents, atol=1e-12)
    assert np.all(ftle.std > 0) and ftle.positive_fraction.shape == (6,)
    assert "λ_1(τ = 25)" in ftle.summary()
    ref = finite_time_lyapunov(cell, np.zeros(6), x[:600], window=25, transient=100, backend="reference")
    cpu = finite_time_lyapunov(cell, np.zeros(6), x[:600], window=25, transient=100, backend="cpu")
    np.testing.assert_allclose(cpu.exponents, ref.exponents, rtol=1e-12, atol=1e-12)


def test_finite_time_window_longer_than_the_run():
    with pytest.raises(ValidationError, match="window"):
        finite_time_lyapunov(rd.systems.henon(), [0.1, 0.1], steps=10, window=20)


# --------------------------------------------------------------------------- against lyapynov


def test_against_lyapynov():
    lyapynov = pytest.importorskip("lyapynov")
    henon = rd.systems.henon()
    x0 = np.array([0.1, 0.1])
    n_a, n_b, n_c = 200, 300, 300
    # one trajectory for both: a chaotic orbit computed twice parts after ~100 steps (rounding × e^{0.42 t})
    orbit = rd.simulate(henon, x0, steps=n_a + n_b + n_c + 1).states

    def f(x, t):
        return orbit[int(round(t)) + 1].copy()

    def jac(x, t):
        return np.array([[-2.8 * x[0], 1.0], [0.3, 0.0]])

    np.random.seed(0)  # lyapynov starts its backward iteration from np.random
    theirs = np.array(lyapynov.CLV(lyapynov.DiscreteDS(x0, 0, f, jac), 2, 0, n_a, n_b, n_c, False))
    ours = covariant_lyapunov_vectors(henon, x0, steps=n_b, transient=n_a, transient_backward=n_c)
    assert theirs.shape == ours.vectors.shape
    # the same vectors up to sign, to 1e-10 (the two transients converge like exp(-2.04 t))
    assert _line_angle(ours.vectors, theirs).max() < 1e-10


@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_extreme_contraction_keeps_exact_growth(backend):
    """A contraction of 1e-200 per step: squares of such entries underflow, the scaled norms do not."""
    cell = rd.VanillaRNN(np.diag([2.0, 1e-200]), activation="linear")
    clv = covariant_lyapunov_vectors(cell, np.ones(2), steps=5, transient_backward=3, backend=backend)
    np.testing.assert_allclose(clv.exponents, np.log([2.0, 1e-200]), rtol=1e-14)


# --------------------------------------------------------------------------- angles inside the backward pass


def _unit_upper(k, rng):
    C = np.triu(rng.standard_normal((k, k)))
    return C / np.linalg.norm(C, axis=0)


def test_split_angle_kernel_twin_and_scipy_agree():
    from scipy.linalg import subspace_angles

    from rnndyn.kernels.cpu.clv import _pair_angles, _split_angle
    from rnndyn.kernels.numpy.clv import pair_angles, split_angle

    rng = np.random.default_rng(4)
    for k in (2, 3, 6, 9):
        C = _unit_upper(k, rng)
        for s in range(1, k):
            want = subspace_angles(C[:, :s], C[:, s:]).min()
            got = _split_angle(C, s, np.empty((k, k)))
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-13)
            np.testing.assert_allclose(split_angle(C, s), got, rtol=1e-12, atol=1e-14)
        out = np.empty(k - 1)
        _pair_angles(C, out)
        np.testing.assert_allclose(out, pair_angles(C), rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(out, _line_angle(C[:, :-1], C[:, 1:]), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("phi", [1e-13, 1e-200])
def test_split_angle_keeps_small_angles_relatively_accurate(phi):
    from rnndyn.kernels.cpu.clv import _split_angle
    from rnndyn.kernels.numpy.clv import split_angle

    # v_3 = (cos φ, 0, sin φ): at angle φ from span(v_1, v_2) = span(e_1, e_2), and v_2 ⟂ both
    C = np.array([[1.0, 0.0, np.cos(phi)], [0.0, 1.0, 0.0], [0.0, 0.0, np.sin(phi)]])
    for s in (1, 2):
        np.testing.assert_allclose(_split_angle(C, s, np.empty((3, 3))), phi, rtol=1e-14)
        np.testing.assert_allclose(split_angle(C, s), phi, rtol=1e-14)
    singular = C.copy()
    singular[2, 2] = 0.0
    assert _split_angle(singular, 2, np.empty((3, 3))) == 0.0 == split_angle(singular, 2)
    C[1, 1] = np.nan
    assert np.isnan(_split_angle(C, 1, np.empty((3, 3)))) and np.isnan(split_angle(C, 1))


def test_angles_match_subspace_angles_of_the_returned_vectors():
    from scipy.linalg import subspace_angles

    cell = _random_cell(n=6, gain=2.5, seed=2)
    x = np.random.default_rng(3).standard_normal((700, 2))
    for s in (2, 5):
        clv = covariant_lyapunov_vectors(cell, np.zeros(6), x, transient=100, transient_backward=200, every=5,
                                         split=s)
        want = np.array([subspace_angles(V[:, :s], V[:, s:]).min() for V in clv.vectors])
        np.testing.assert_allclose(clv.angles, want, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(clv.pair_angles, _line_angle(clv.vectors[..., :-1], clv.vectors[..., 1:]),
                               rtol=1e-10, atol=1e-12)


def test_default_split_is_the_covariant_count_even_when_the_qr_count_differs(monkeypatch):
    """The kernels compute the angles with s from the forward pass's QR exponents; a trajectory whose covariant
    count differs runs again with it (forced here by a wrong guess)."""
    from rnndyn.backends import clv as driver

    system = rd.systems.henon()
    h0 = np.array([[0.1, 0.1], [0.0, 0.2]])
    kw = dict(steps=200, transient=10, transient_backward=50, every=3)
    right = covariant_lyapunov_vectors(system, h0, split=1, **kw)
    monkeypatch.setattr(driver, "_qr_split", lambda logr: np.array([1, 0]))
    got = covariant_lyapunov_vectors(system, h0, **kw)
    assert list(got.split) == [1, 1]
    np.testing.assert_array_equal(got.angles, right.angles)
    np.testing.assert_array_equal(got.pair_angles, right.pair_angles)
    np.testing.assert_array_equal(got.vectors, right.vectors)
