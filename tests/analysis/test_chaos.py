"""Random tanh networks and the transition to chaos: the mean-field exponent and the size/gain sweep."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.optimize import brentq

import rnndyn as rd
from rnndyn.analysis.chaos import (
    critical_gain,
    mean_field_lyapunov,
    mean_field_variance,
    network,
    transition_to_chaos,
    zero_state_lyapunov,
)
from rnndyn.errors import ArgumentTypeError, UnknownNameError, ValidationError

# ----------------------------------------------------------------------------- the mean field


def test_mean_field_below_one_is_log_g_exactly():
    g = np.array([0.05, 0.3, 0.5, 0.8, 0.999999, 1.0])
    np.testing.assert_array_equal(mean_field_lyapunov(g), np.log(g))
    np.testing.assert_array_equal(mean_field_variance(g), np.zeros_like(g))
    assert mean_field_lyapunov(1.0) == 0.0


def test_mean_field_crosses_zero_at_one_and_rises():
    assert mean_field_lyapunov(1 - 1e-6) < 0 < mean_field_lyapunov(1 + 1e-6)
    g = np.linspace(0.5, 6.0, 56)
    lam = mean_field_lyapunov(g)
    assert np.all(np.diff(lam) > 0)
    assert np.all(lam[g > 1] > 0) and np.all(lam[g < 1] < 0)


def _quad_mean(f, q):
    return quad(lambda z: f(np.sqrt(q) * z) * np.exp(-z * z / 2) / np.sqrt(2 * np.pi), -40, 40, points=[0.0],
                epsabs=0, epsrel=1e-13, limit=1000)[0]


@pytest.mark.parametrize("g", [1.05, 2.0, 3.0, 8.0])
def test_mean_field_equals_adaptive_quadrature(g):
    # an independent computation: scipy's adaptive quadrature and root finder
    q = brentq(lambda q: g * g * _quad_mean(lambda u: np.tanh(u) ** 2, q) - q, 1e-8, g * g, xtol=1e-15)
    lam = 0.5 * np.log(g * g * _quad_mean(lambda u: np.cosh(u) ** -4.0, q))
    assert mean_field_variance(g) == pytest.approx(q, rel=1e-10)
    assert mean_field_lyapunov(g) == pytest.approx(lam, rel=1e-10, abs=1e-14)


def test_mean_field_linear_network_is_log_g():
    g = [0.5, 1.0, 2.0]
    np.testing.assert_array_equal(mean_field_lyapunov(g, activation="linear"), np.log(g))
    assert np.isinf(mean_field_variance(2.0, activation="linear"))


def test_mean_field_refuses_bad_input():
    with pytest.raises(ValidationError, match="gains"):
        mean_field_lyapunov([1.0, -2.0])
    with pytest.raises(ValidationError, match="gains"):
        mean_field_lyapunov([])
    with pytest.raises(UnknownNameError, match="activation"):
        mean_field_lyapunov(2.0, activation="relu")


# ----------------------------------------------------------------------------- simulated networks


def test_simulated_below_one_is_log_g_at_n256():
    # The zero state attracts: λ_max = log ρ(W) exactly, and ρ(W) ≈ g by the circular law. At N = 256 a
    # real Ginibre matrix's spectral radius exceeds g by about 3 % (the edge's finite-size excess), so
    # λ_max − log g ≈ +0.03: 4.4 % of log g at g = 0.5.
    for g in (0.5, 0.8):
        cell, h0 = network(256, g, 0)
        les = rd.lyapunov_spectrum(cell, h0, steps=1500, transient=200, k=1)
        rho = np.abs(np.linalg.eigvals(cell.W)).max()
        assert les.max_exponent == pytest.approx(np.log(rho), abs=2e-3)
        assert les.max_exponent == pytest.approx(np.log(g), abs=0.05)
    sw = transition_to_chaos(sizes=[256], gains=[0.5], seeds=3, k=1, steps=600, transient=100)
    assert sw.max_exponent.mean() == pytest.approx(np.log(0.5), rel=0.06)


def test_simulated_g2_agrees_with_mean_field_at_n512():
    # finite networks fall short of the mean field by about 1/N (2.4 % at N = 512 over 4 networks)
    cell, h0 = network(512, 2.0, 0)
    les = rd.lyapunov_spectrum(cell, h0, steps=3000, transient=300, k=1)
    mf = mean_field_lyapunov(2.0)
    assert les.max_exponent == pytest.approx(mf, rel=0.04)


@pytest.mark.slow
def test_mean_field_deficit_shrinks_with_n():
    mf = mean_field_lyapunov(2.0)
    deficit = []
    for n in (128, 512):
        lam = [rd.lyapunov_spectrum(*network(n, 2.0, s), steps=10_000, transient=500, k=1).max_exponent
               for s in range(4)]
        deficit.append(mf - np.mean(lam))
    assert 0 < deficit[1] < 0.6 * deficit[0]
    assert deficit[1] / mf < 0.035


def test_zero_state_and_critical_gain_agree_with_sampled_matrices():
    n, g, eps, gamma = 256, 0.8, 0.1, 0.15
    W = rd.init.normal(n, std=g / np.sqrt(n), rng=3)
    omega = np.linalg.eigvalsh(1j * (W - W.T))  # W − Wᵀ has eigenvalues iω, ω real
    assert np.log(np.abs(1 + eps * (1j * omega - gamma)).max()) == pytest.approx(
        zero_state_lyapunov(g, "antisymmetric", eps, gamma), abs=2e-3)
    eig_e = np.linalg.eigvals(W) - gamma
    assert np.log(np.abs(1 + eps * eig_e).max()) == pytest.approx(zero_state_lyapunov(g, "euler", eps, gamma),
                                                                 abs=4e-3)
    for cell in ("vanilla", "euler", "antisymmetric"):
        assert zero_state_lyapunov(critical_gain(cell, eps, gamma), cell, eps, gamma) == pytest.approx(0, abs=1e-14)
    assert critical_gain("antisymmetric", eps, 0.0) == 0.0
    assert np.isnan(critical_gain("euler", 1.0, 2.5))


# ----------------------------------------------------------------------------- the sweep


def test_sweep_shapes_and_fields():
    sw = transition_to_chaos(sizes=[8, 12], gains=[0.5, 2.0, 2.5], seeds=2, fraction=0.5, steps=60, transient=20)
    assert sw.sizes.tolist() == [8, 12] and sw.gains.tolist() == [0.5, 2.0, 2.5] and sw.seeds.tolist() == [0, 1]
    assert sw.k == (4, 6)
    assert [sp.shape for sp in sw.spectra] == [(3, 2, 4), (3, 2, 6)]
    for name in ("max_exponent", "max_exponent_error", "kaplan_yorke", "kaplan_yorke_bounded", "dimension_density"):
        assert getattr(sw, name).shape == (2, 3, 2), name
    assert sw.kaplan_yorke_bounded.dtype == bool
    np.testing.assert_array_equal(sw.max_exponent[1], sw.spectra[1][..., 0])
    np.testing.assert_array_equal(sw.mean_field, mean_field_lyapunov([0.5, 2.0, 2.5]))
    np.testing.assert_array_equal(sw.mean_spectrum(12), sw.spectra[1].mean(axis=1))
    assert (sw.cell, sw.eps, sw.gamma, sw.critical_gain) == ("vanilla", None, None, 1.0)
    assert np.all(np.diff(sw.spectra[0], axis=-1) <= 0)
    assert "λ_max" in sw.summary() and "mean field" in sw.summary()
    with pytest.raises(ValidationError, match="size"):
        sw.mean_spectrum(16)


def test_sweep_entry_is_the_networks_spectrum():
    sw = transition_to_chaos(sizes=[10], gains=[1.5, 2.5], seeds=[3], steps=80, transient=10, reortho_every=1)
    cell, h0 = network(10, 2.5, 3)
    les = rd.lyapunov_spectrum(cell, h0, steps=80, transient=10)
    np.testing.assert_array_equal(sw.spectra[0][1, 0], les.exponents)
    assert sw.kaplan_yorke[0, 1, 0] == les.kaplan_yorke
    # one network for every gain: W scales with g
    np.testing.assert_allclose(network(10, 1.5, 3)[0].W * (2.5 / 1.5), cell.W, rtol=1e-14)


def test_default_qr_interval_keeps_lambda_max_and_dimension():
    a = transition_to_chaos(sizes=[48], gains=[0.5, 2.0, 3.0], steps=300, transient=50)
    b = transition_to_chaos(sizes=[48], gains=[0.5, 2.0, 3.0], steps=300, transient=50, reortho_every=1)
    assert a.reortho_every == 5
    np.testing.assert_allclose(a.max_exponent, b.max_exponent, rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(a.kaplan_yorke, b.kaplan_yorke, rtol=1e-10)


def test_antisymmetric_sweep_sits_near_zero():
    sw = transition_to_chaos(sizes=[32], gains=[0.5, 2.0], cell="antisymmetric", eps=0.1, gamma=0.15, k=1,
                             steps=400, transient=100)
    assert sw.mean_field is None and (sw.eps, sw.gamma) == (0.1, 0.15)
    assert sw.k == (1,) and sw.critical_gain == pytest.approx(0.6101, abs=1e-4)
    assert np.all(np.abs(sw.max_exponent) < 0.05)
    assert sw.max_exponent[0, 0, 0] < 0  # below the critical gain the zero state attracts
    np.testing.assert_array_equal(sw.zero_state, zero_state_lyapunov([0.5, 2.0], "antisymmetric", 0.1, 0.15))


def test_kaplan_yorke_marked_as_bound_when_too_few_exponents():
    sw = transition_to_chaos(sizes=[32], gains=[3.0], k=2, steps=100, transient=20)
    assert sw.kaplan_yorke[0, 0, 0] == 2.0 and sw.kaplan_yorke_bounded[0, 0, 0]
    full = transition_to_chaos(sizes=[32], gains=[3.0], steps=100, transient=20)
    assert not full.kaplan_yorke_bounded.any()


def test_progress_reaches_the_total():
    calls = []
    transition_to_chaos(sizes=[6, 8], gains=[0.5, 2.0], steps=40, transient=5,
                        progress=lambda d, t: calls.append((d, t)))
    done = [d for d, _ in calls]
    total = {t for _, t in calls}
    assert len(total) == 1 and done[-1] == total.pop()
    assert all(b >= a for a, b in zip(done, done[1:]))


@pytest.mark.parametrize("kw, err, match", [
    ({"gains": [0.0]}, ValidationError, "gains"),
    ({"sizes": [8, 8]}, ValidationError, "sizes"),
    ({"sizes": []}, ValidationError, "sizes"),
    ({"sizes": [1]}, ValidationError, "sizes"),
    ({"k": 2, "fraction": 0.5}, ValidationError, "k, fraction"),
    ({"fraction": 1.5}, ValidationError, "fraction"),
    ({"seeds": 0}, ValidationError, "seeds"),
    ({"seeds": [1, 1]}, ValidationError, "seeds"),
    ({"cell": "lstm"}, UnknownNameError, "cell"),
    ({"eps": -1.0, "cell": "antisymmetric"}, ValidationError, "eps"),
    ({"steps": 0}, ValidationError, "steps"),
    ({"progress": 3}, ArgumentTypeError, "progress"),
])
def test_sweep_refuses_bad_input(kw, err, match):
    args = {"sizes": [8], "gains": [2.0], "steps": 5, **kw}
    with pytest.raises(err, match=match):
        transition_to_chaos(**args)
