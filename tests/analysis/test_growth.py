"""Tests of rnndyn.analysis.growth (norm growth: Smerity, CSC321 L15, d2l §5.4) and rnndyn.plots.growth."""

from __future__ import annotations

import doctest
import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import rnndyn as rd  # noqa: E402
from rnndyn.analysis import growth as norms  # noqa: E402
from rnndyn.errors import (  # noqa: E402
    ArgumentTypeError,
    RnndynError,
    UnknownNameError,
    ValidationError,
)
from rnndyn.plots import growth as plots_norms

SETTINGS = settings(deadline=None, max_examples=20)


# --------------------------------------------------------------------------- init_matrix


def test_init_matrix_gain_is_the_spectral_radius():
    n = 120
    Q = norms.init_matrix("orthogonal:0.9", n, rng=1)
    np.testing.assert_allclose(np.abs(np.linalg.eigvals(Q)), 0.9, atol=1e-10)
    np.testing.assert_allclose(Q.T @ Q, 0.81 * np.eye(n), atol=1e-12)
    for spec, g in [("normal:0.5", 0.5), ("normal:1.5", 1.5), ("uniform:1.2", 1.2), ("xavier:0.8", 0.8),
                    ("xavier_uniform", 1.0), ("normal", 1.0)]:
        rho = np.max(np.abs(np.linalg.eigvals(norms.init_matrix(spec, n, rng=2))))
        assert abs(rho - g) < 0.25 * g, (spec, rho)
    A = norms.init_matrix("antisymmetric:1.0", n, rng=3)
    np.testing.assert_array_equal(A, -A.T)
    ev = np.linalg.eigvals(A)
    assert np.max(np.abs(ev.real)) < 1e-10 and 0.8 < np.max(np.abs(ev)) < 1.2
    np.testing.assert_array_equal(norms.init_matrix("identity:0.3", 3), 0.3 * np.eye(3))


def test_init_matrix_default_normal_matches_from_spec():
    np.testing.assert_array_equal(norms.init_matrix("normal", 16, rng=5), rd.init.from_spec("normal", 16, rng=5))


@pytest.mark.parametrize(
    "spec, err, pattern",
    [
        ("bogus", UnknownNameError, "^init: unknown initialisation 'bogus'"),
        ("normal:abc", ValidationError, "^init: expected a number"),
        ("normal:-1", ValidationError, "^init: expected a finite gain >= 0"),
        ("normal:inf", ValidationError, "^init: expected a finite gain"),
        ("", ValidationError, "^init: expected a spec"),
        (3, ValidationError, "^init: expected a spec"),
    ],
)
def test_init_matrix_errors(spec, err, pattern):
    with pytest.raises(err, match=pattern):
        norms.init_matrix(spec, 4)


# --------------------------------------------------------------------------- norm_growth


def test_norm_growth_linear_equals_matrix_powers():
    g = norms.norm_growth(size=12, steps=40, rng=7)
    gen = np.random.default_rng(7)
    Ws = [norms.init_matrix(s, 12, gen) for s in norms.DEFAULT_INITS]
    for i, W in enumerate(Ws):
        ref = [np.linalg.norm(np.linalg.matrix_power(W, t), 2) for t in range(41)]
        np.testing.assert_allclose(g.matrix_norms[i], ref, rtol=1e-10)
        assert g.spectral_radius[i] == pytest.approx(np.max(np.abs(np.linalg.eigvals(W))))
    assert g.jacobian_norms is None and g.norms is g.matrix_norms
    assert g.inits == norms.DEFAULT_INITS and g.cell == "linear" and g.size == 12
    np.testing.assert_array_equal(g.times, np.arange(41))


def test_norm_growth_vanishes_keeps_explodes():
    g = norms.norm_growth(size=64, steps=64, rng=0)
    vanish, orth, explode = g.matrix_norms[:, -1]
    assert vanish < 1e-10 and explode > 1e10
    np.testing.assert_allclose(g.matrix_norms[1], 1.0, atol=1e-12)


@given(gain=st.floats(0.3, 1.6), n=st.integers(1, 10), seed=st.integers(0, 2**16))
@SETTINGS
def test_orthogonal_gain_powers(gain, n, seed):
    g = norms.norm_growth([f"orthogonal:{gain!r}"], size=n, steps=20, rng=seed)
    np.testing.assert_allclose(g.matrix_norms[0], gain ** np.arange(21), rtol=1e-10)


@pytest.mark.parametrize("cell", ["vanilla", "euler", "antisymmetric"])
def test_norm_growth_nonlinear_is_the_tangent(cell):
    g = norms.norm_growth(["orthogonal", "normal:1.5"], size=6, steps=15, cell=cell, rng=3, eps=0.2, gamma=0.1)
    gen = np.random.default_rng(3)
    Ws = [norms.init_matrix(s, 6, gen) for s in ("orthogonal", "normal:1.5")]
    h0 = gen.standard_normal(6) / math.sqrt(6)
    for i, W in enumerate(Ws):
        c = {"vanilla": rd.VanillaRNN(W), "euler": rd.EulerRNN(W, eps=0.2, gamma=0.1),
             "antisymmetric": rd.AntisymmetricRNN(W, eps=0.2, gamma=0.1)}[cell]
        # finite differences of h_T with respect to h_0, the oracle of the Jacobian
        eps = 1e-6
        J = np.empty((6, 6))
        for j in range(6):
            e = np.zeros(6)
            e[j] = eps
            hp = rd.simulate(c, h0 + e, steps=15, record="last").final
            hm = rd.simulate(c, h0 - e, steps=15, record="last").final
            J[:, j] = (hp - hm) / (2 * eps)
        assert g.jacobian_norms[i, -1] == pytest.approx(np.linalg.norm(J, 2), rel=1e-6)
        assert g.jacobian_norms[i, 0] == pytest.approx(1.0)
    assert g.norms is g.jacobian_norms


def test_norm_growth_linear_activation_matches_matrix_norms():
    g = norms.norm_growth(size=8, steps=20, cell="vanilla", activation="linear", rng=1)
    np.testing.assert_allclose(g.jacobian_norms, g.matrix_norms, rtol=1e-10)
    h = norms.norm_growth(size=8, steps=5, cell="vanilla", h0=np.ones(8), rng=1)
    assert h.jacobian_norms.shape == (3, 6)


@pytest.mark.parametrize(
    "kwargs, err, pattern",
    [
        ({"inits": []}, ValidationError, "^inits: expected at least one"),
        ({"inits": 5}, ArgumentTypeError, "^inits:"),
        ({"size": 0}, ValidationError, "^size:"),
        ({"steps": -1}, ValidationError, "^steps:"),
        ({"cell": "lstm"}, UnknownNameError, "^cell:"),
        ({"cell": "vanilla", "h0": [1.0, 2.0]}, ValidationError, "^h0: expected shape"),
        ({"rng": "x"}, ArgumentTypeError, "^rng:"),
    ],
)
def test_norm_growth_errors(kwargs, err, pattern):
    kw = {"size": 4, "steps": 3}
    kw.update(kwargs)
    with pytest.raises(err, match=pattern):
        norms.norm_growth(**kw)


def test_power_snapshots():
    W = norms.init_matrix("normal:1.2", 5, rng=0)
    s = norms.power_snapshots(W, [0, 1, 3, 7])
    for k, t in enumerate([0, 1, 3, 7]):
        np.testing.assert_allclose(s.states[k], np.linalg.matrix_power(W, t), rtol=1e-12, atol=1e-14)
        assert s.norms[k] == pytest.approx(np.linalg.norm(np.linalg.matrix_power(W, t), 2))
    H = np.arange(10.0).reshape(5, 2)
    s2 = norms.power_snapshots(W, 4, h0=H)
    np.testing.assert_allclose(s2.states[0], np.linalg.matrix_power(W, 4) @ H, rtol=1e-12)
    with pytest.raises(ValidationError, match="^W:"):
        norms.power_snapshots(np.ones((2, 3)))
    with pytest.raises(ValidationError, match="^times:"):
        norms.power_snapshots(W, [-1])
    with pytest.raises(ValidationError, match="^times:"):
        norms.power_snapshots(W, [1.5])
    with pytest.raises(ValidationError, match="^h0:"):
        norms.power_snapshots(W, [1], h0=np.ones((3, 1)))


# --------------------------------------------------------------------------- Fibonacci


def test_fibonacci_both_routes_and_golden_ratio():
    fib = norms.fibonacci(60)
    np.testing.assert_allclose(fib.by_eigendecomposition, fib.by_multiplication, rtol=1e-12, atol=1e-12)
    a, b = 0, 1
    for n in range(61):
        assert fib.numbers[n] == a  # exact in float64 up to n = 78
        np.testing.assert_array_equal(fib.by_multiplication[n], [[b, a], [a, b - a]] if n else np.eye(2))
        a, b = b, a + b
    phi = (1 + math.sqrt(5)) / 2
    assert fib.golden_ratio == pytest.approx(phi, rel=1e-15)
    assert fib.eigenvalues[1] == pytest.approx(1 - phi, rel=1e-14)
    assert fib.golden_check.tolist() == [13, 21, 34, 55, 89]
    assert [round(13 * 1.618**i) for i in range(5)] == fib.golden_check.tolist()  # the seed's own check
    lam = fib.eigenvalue_powers
    assert lam[-1, 0] > 1e12 and abs(lam[-1, 1]) < 1e-12  # one explodes, one vanishes
    np.testing.assert_allclose(fib.eigenvectors @ np.diag(fib.eigenvalues) @ np.linalg.inv(fib.eigenvectors),
                               rd.named_matrix("fibonacci"), atol=1e-14)
    with pytest.raises(ValidationError, match="^n_max:"):
        norms.fibonacci(-1)


# --------------------------------------------------------------------------- products (d2l)


def test_gaussian_product_is_the_d2l_loop():
    p = norms.gaussian_product(100, 4, rng=0)
    g = np.random.default_rng(0)
    M = g.normal(0, 1, (4, 4))
    for _ in range(100):
        M = M @ g.normal(0, 1, (4, 4))
    np.testing.assert_array_equal(p.final, M)
    assert 1e20 < p.max_abs < 1e28
    assert p.max_abs == np.max(np.abs(M)) and p.norms.shape == (101,)
    assert p.norms[-1] == pytest.approx(np.linalg.norm(M, 2))


def test_orthogonal_product_keeps_norm_one():
    p = norms.orthogonal_product(100, 4, rng=0)
    np.testing.assert_allclose(p.norms, 1.0, atol=1e-10)
    np.testing.assert_allclose(p.final.T @ p.final, np.eye(4), atol=1e-10)


def test_matrix_product_errors_and_overflow():
    with pytest.raises(ValidationError, match="^mats:"):
        norms.matrix_product(np.ones((0, 2, 2)))
    with pytest.raises(ValidationError, match="^mats:"):
        norms.matrix_product(np.ones((2, 2, 3)))
    with pytest.warns(rd.DivergenceWarning, match="overflowed at factor 2 of 3"):
        p = norms.matrix_product(np.stack([1e200 * np.eye(2)] * 3))
    assert p.norms[0] == 1e200 and np.isinf(p.norms[-1])


# --------------------------------------------------------------------------- CSC321 in one dimension


def test_scalar_products_seed_numbers():
    p = norms.scalar_products((1.1, 0.9, -0.5), steps=50)
    assert round(p.jacobians[0, -1], 1) == 117.4
    assert round(p.jacobians[1, -1], 5) == 0.00515
    np.testing.assert_allclose(p.jacobians, np.array([1.1, 0.9, -0.5])[:, None] ** np.arange(51), rtol=1e-12)
    with pytest.raises(ValidationError, match="^ws:"):
        norms.scalar_products([])


def _cliff_oracle(w, b, h0, T):
    h = h0
    for _ in range(T):
        h = math.tanh(w * h + b)
    return h


def test_tanh_cliff_matches_scalar_loop_and_theory():
    bs = np.linspace(-1.6, -0.3, 41)
    c = norms.tanh_cliff(bs, steps=(3, 50), w=3.0, h0=0.5, target=1.0)
    for j, T in enumerate((3, 50)):
        ref = [_cliff_oracle(3.0, b, 0.5, T) for b in bs]
        np.testing.assert_allclose(c.final[j], ref, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(c.loss, 0.5 * (c.final - 1.0) ** 2)
    assert (c.param, c.w, c.h0) == ("b", 3.0, 0.5) and c.b is None
    # the cliff sits where h0 is the unstable fixed point: b* = atanh(h0) - w h0
    fine = norms.tanh_cliff(np.linspace(-1.2, -0.7, 2001), steps=(5, 50))
    b_star = math.atanh(0.5) - 1.5
    jumps = np.abs(np.diff(fine.final, axis=1))
    assert abs(fine.values[np.argmax(jumps[1])] - b_star) < 1e-3
    assert jumps[1].max() > 1.0 > jumps[0].max()  # sharper with T: a near-discontinuity
    ws = np.linspace(0.5, 4.0, 15)
    cw = norms.tanh_cliff(ws, param="w", steps=[7], b=-0.5, h0=0.3)
    np.testing.assert_allclose(cw.final[0], [_cliff_oracle(w, -0.5, 0.3, 7) for w in ws], rtol=1e-12)
    assert cw.w is None and cw.b == -0.5


@pytest.mark.parametrize(
    "kwargs, err, pattern",
    [
        ({"values": []}, ValidationError, "^values:"),
        ({"param": "c"}, UnknownNameError, "^param:"),
        ({"steps": [-1]}, ValidationError, "^steps:"),
        ({"w": float("nan")}, ValidationError, "^w:"),
        ({"values": np.zeros(5000), "param": "w"}, ValidationError, "^values: at most 4096"),
    ],
)
def test_tanh_cliff_errors(kwargs, err, pattern):
    kw = {"values": [0.0, 1.0]}
    kw.update(kwargs)
    with pytest.raises(err, match=pattern):
        norms.tanh_cliff(**kw)


# --------------------------------------------------------------------------- Xavier


@pytest.mark.parametrize("method", ["xavier_normal", "xavier_uniform"])
def test_init_variance_matches_d2l(method):
    v = norms.init_variance([16, 256, 64], [256, 16, 64], method=method, samples=512, repeats=2, rng=0)
    s2 = 2.0 / (v.n_in + v.n_out)
    np.testing.assert_allclose(v.predicted_weight_var, s2)
    np.testing.assert_allclose(v.weight_var, s2, rtol=0.12)
    np.testing.assert_allclose(v.forward_var, v.n_in * s2, rtol=0.15)
    np.testing.assert_allclose(v.backward_var, v.n_out * s2, rtol=0.15)
    with pytest.raises(ValidationError, match="^n_in, n_out:"):
        norms.init_variance([0], [4])
    with pytest.raises(UnknownNameError, match="^method:"):
        norms.init_variance(4, 4, method="he")


# --------------------------------------------------------------------------- plots


def _data_lines(ax):
    return [ln for ln in ax.get_lines() if np.size(ln.get_ydata()) > 0]


def test_plots_content():
    lin = norms.norm_growth(size=8, steps=10)
    van = norms.norm_growth(size=8, steps=10, cell="vanilla")
    fig = plots_norms.plot_norm_growth(lin, van)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    assert fig.axes[0].get_yscale() == "log" and len(_data_lines(fig.axes[0])) == 4  # 3 inits + y = 1
    assert len(_data_lines(fig.axes[1])) == 7  # + dotted ‖W^t‖
    snaps = {k: norms.power_snapshots(norms.init_matrix(s, 6, 0), (0, 2, 8))
             for k, s in (("a", "normal:0.5"), ("b", "orthogonal"))}
    fig = plots_norms.plot_power_heatmaps(snaps)
    assert sum(len(ax.get_images()) for ax in fig.axes) == 6
    fig = plots_norms.plot_fibonacci(norms.fibonacci(12), n_show=5)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["8", "5", "5", "3"]
    fig = plots_norms.plot_scalar_products(norms.scalar_products(), norms.tanh_cliff(np.linspace(-2, 0, 21)))
    assert len(fig.axes) == 3
    fig = plots_norms.plot_matrix_products(norms.gaussian_product(5), norms.orthogonal_product(5), rate=0.5)
    assert len(_data_lines(fig.axes[0])) == 3 and len(fig.axes) == 3
    fig = plots_norms.plot_init_variance(norms.init_variance([4, 8], [8, 4], samples=16))
    assert len(fig.axes) == 2
    x = np.linspace(-8, 8, 11)
    fig = plots_norms.plot_activation_gradient(x, np.tanh(x), 1 - np.tanh(x) ** 2, "tanh")
    assert [ln.get_label() for ln in fig.axes[0].get_lines()] == ["tanh", "gradient"]


def test_plot_errors():
    with pytest.raises(ArgumentTypeError, match="^results"):
        plots_norms.plot_norm_growth(np.ones(3))
    with pytest.raises(ValidationError, match="^results"):
        plots_norms.plot_norm_growth()
    with pytest.raises(ArgumentTypeError, match="^snapshots"):
        plots_norms.plot_power_heatmaps([])
    with pytest.raises(ValidationError, match="^n_show"):
        plots_norms.plot_fibonacci(norms.fibonacci(5), n_show=9)
    with pytest.raises(ArgumentTypeError, match="^cliff"):
        plots_norms.plot_scalar_products(norms.scalar_products(), None)
    with pytest.raises(ValidationError, match="^x, y, dy"):
        plots_norms.plot_activation_gradient([1, 2], [1], [1])
    with pytest.raises(RnndynError):
        plots_norms.plot_init_variance()


@pytest.mark.parametrize("module", [norms, plots_norms])
def test_doctests(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0 and result.attempted > 0


# --------------------------------------------------------------------------- verdicts from the measured rate


def test_verdict_overflow_and_underflow_are_named_with_their_step():
    """T = 2000: gain 0.5 underflows and gain 1.5 overflows; neither is called "diverges" or counted once."""
    with pytest.warns(rd.DivergenceWarning) as rec:
        g = norms.norm_growth(size=64, steps=2000)
    msgs = [str(w.message) for w in rec if issubclass(w.category, rd.DivergenceWarning)]
    assert len(msgs) == 1 and "2 of 3" in msgs[0]
    assert g.verdicts == ("underflowed", "keeps its norm", "overflowed")
    # The scaled norm leaves the range where ‖W^t‖ itself does (≈ e^{±708}), not where its square does.
    for i in (0, 2):
        t = int(g.limit_step[i])
        assert abs(t * math.log(g.growth_per_step[i])) == pytest.approx(708.4, abs=3.0)
    assert g.limit_step[1] == -1
    # The rate is measured before the limit and agrees with the short run's.
    short = norms.norm_growth(size=64, steps=200)
    np.testing.assert_allclose(g.growth_per_step, short.growth_per_step, rtol=2e-2)


def test_verdict_uses_the_rate_not_a_loose_band():
    """A 973x growth over 1000 steps is growth (0.69 % per step), not "keeps its norm"."""
    g = norms.norm_growth(size=64, steps=1000, cell="antisymmetric", gamma=0.1)
    assert g.norms[1, -1] > 100
    assert g.verdicts[1] == "explodes"
    lr = np.log(g.growth_per_step)
    expected = tuple("vanishes" if x < -norms.KEEP_BAND else "explodes" if x > norms.KEEP_BAND else "keeps its norm"
                     for x in lr)
    assert g.verdicts == expected


@settings(max_examples=30, deadline=None)
@given(st.floats(0.2, 5.0), st.integers(1, 300))
def test_growth_verdict_of_a_geometric_sequence(r, T):
    rate, verdict, limit = norms.growth_verdict(r ** np.arange(T + 1.0))
    assert limit == -1
    assert rate == pytest.approx(r, rel=1e-9)
    lr = math.log(r)
    assert verdict == ("vanishes" if lr < -norms.KEEP_BAND else "explodes" if lr > norms.KEEP_BAND
                       else "keeps its norm")


def test_jacobian_radius_is_that_of_the_iterated_matrix():
    g = norms.norm_growth(("orthogonal", "normal:gain=1.5"), size=8, steps=3, cell="antisymmetric", eps=0.1,
                          gamma=0.2, rng=1)
    g0 = norms.norm_growth(("orthogonal", "normal:gain=1.5"), size=8, steps=3, rng=1)
    rng = np.random.default_rng(1)
    for i, spec in enumerate(("orthogonal", "normal:gain=1.5")):
        W = norms.init_matrix(spec, 8, rng)
        J = np.eye(8) + 0.1 * (W - W.T - 0.2 * np.eye(8))
        assert g.jacobian_radius[i] == pytest.approx(np.max(np.abs(np.linalg.eigvals(J))), rel=1e-12)
        assert g.spectral_radius[i] == pytest.approx(np.max(np.abs(np.linalg.eigvals(W))), rel=1e-12)
    np.testing.assert_array_equal(g0.jacobian_radius, g0.spectral_radius)
