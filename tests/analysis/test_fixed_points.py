"""Tests of rnndyn.analysis.fixed_points: roots of F(h) = h, deduplication and the sink/source/saddle/neutral rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import rnndyn as rd
from rnndyn.analysis.fixed_points import NEUTRAL_TOL, classify
from rnndyn.errors import ArgumentTypeError, RnndynError, ValidationError
from tests.strategies import make_cell

SETTINGS = settings(deadline=None, max_examples=30)
W0 = rd.named_matrix("W0")


def kinds(fps):
    return [fp.kind for fp in fps]


# --------------------------------------------------------------------------- the seed's cases


def test_seed_cases_at_the_origin():
    # Chang et al. 2019 Fig. 2, RNN with feedback at ε = 0.1
    cases = {
        "Wdiff": (rd.EulerRNN(W0, eps=0.1, gamma=0.15), "sink"),
        "Wdiff matrix": (rd.EulerRNN(rd.named_matrix("Wdiff"), eps=0.1), "sink"),
        "W+": (rd.EulerRNN(rd.named_matrix("W+"), eps=0.1), "source"),
        "W-": (rd.EulerRNN(rd.named_matrix("W-"), eps=0.1), "sink"),
        "W0": (rd.EulerRNN(W0, eps=0.1, gamma=0.0), "neutral"),
    }
    for name, (cell, kind) in cases.items():
        fps = rd.fixed_points(cell)
        assert len(fps) == 1, name  # tanh(M h) = 0 ⇔ M h = 0, M invertible: the origin only
        fp = fps[0]
        assert fp.is_origin and fp.state.tolist() == [0.0, 0.0] and fp.residual == 0.0
        assert fp.kind == kind, name
        J = np.eye(2) + 0.1 * cell.recurrent_matrix
        np.testing.assert_allclose(np.sort_complex(fp.eigenvalues), np.sort_complex(np.linalg.eigvals(J)),
                                   atol=1e-14)
    # the attached μ keep the discrete fact: forward Euler at ε = 0.1 expands even Wdiff's sink slightly
    wdiff = rd.fixed_points(cases["Wdiff"][0])[0]
    np.testing.assert_allclose(np.abs(wdiff.eigenvalues), abs(1 + 0.1 * (-0.15 + 2j)), rtol=1e-14)
    w0 = rd.fixed_points(cases["W0"][0])[0]
    np.testing.assert_allclose(np.abs(w0.eigenvalues), np.sqrt(1.04), rtol=1e-14)


def test_vanilla_seed_cases():
    for name in ("identity", "reflection", "rotation"):
        fps = rd.fixed_points(rd.VanillaRNN(rd.named_matrix(name)))
        # degenerate at 0 (tanh(h) = h has a triple root): the near-roots collapse onto the origin
        assert kinds(fps) == ["neutral"] and fps[0].is_origin, name
    fps = rd.fixed_points(rd.VanillaRNN(2 * np.eye(2)))
    # tanh(2x) = x per coordinate: x ∈ {0, ±0.9575}: 9 points
    assert len(fps) == 9
    assert fps[0].is_origin and fps[0].kind == "source"
    assert sorted(kinds(fps[1:])) == ["saddle"] * 4 + ["sink"] * 4
    x = [abs(v) for fp in fps for v in fp.state if abs(v) > 0.5]
    np.testing.assert_allclose(np.tanh(2 * np.array(x)), x, rtol=1e-12)


# --------------------------------------------------------------------------- invariants (hypothesis)


@st.composite
def cells(draw, kinds=("vanilla", "euler", "antisymmetric", "gated"), bias=True):
    kind = draw(st.sampled_from(kinds))
    n = draw(st.integers(1, 4))
    d = draw(st.integers(0, 2))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    scale = draw(st.floats(0.5, 3.0))
    cell = make_cell(kind, n, d, rng, act="tanh", eps=draw(st.floats(0.01, 0.5)),
                     gamma=draw(st.sampled_from([0.0, 0.05, 0.15, 0.5])), scale=scale)
    if not bias:
        cell = cell.replace(b=None) if kind != "gated" else cell.replace(b=None, bz=None)
    x = rng.normal(size=d) if (d and bias) else None
    return cell, x, seed


@SETTINGS
@given(cells())
def test_found_points_are_fixed_points(case):
    cell, x, seed = case
    fps = rd.fixed_points(cell, x=x, n_starts=16, rng=seed)
    for fp in fps:
        r = np.linalg.norm(cell.step(fp.state, x) - fp.state)
        assert r <= 1e-10 and fp.residual == pytest.approx(r, abs=1e-15)
        J = cell.jacobian(fp.state, x)
        # eigenpairs of the map's Jacobian
        np.testing.assert_allclose(J @ fp.eigenvectors, fp.eigenvectors * fp.eigenvalues, atol=1e-10)
        assert fp.kind in ("sink", "source", "saddle", "neutral")
        assert not fp.state.flags.writeable
    states = np.array([fp.state for fp in fps]).reshape(len(fps), cell.n)
    for i in range(len(fps)):  # deduplicated
        for j in range(i):
            assert np.linalg.norm(states[i] - states[j]) > 1e-6
    norms = np.linalg.norm(states, axis=1)
    assert np.all(np.diff(norms) >= 0)  # sorted by distance from the origin


@SETTINGS
@given(cells(bias=False))
def test_origin_of_bias_free_tanh_cells(case):
    cell, _, seed = case
    p = cell.kernel_params()
    M = p.M
    # the expected type, computed independently of the module
    if p.alpha == 0.0:
        mods = np.abs(np.linalg.eigvals(M)) - 1.0
        assume(np.all(np.abs(mods) > 1e-3))
        expected = "sink" if np.all(mods < 0) else "source" if np.all(mods > 0) else "saddle"
    else:
        gate = 0.5 if p.gated else 1.0  # σ(0) with b_z = 0; tanh'(0) = 1
        re = np.linalg.eigvals(gate * M).real
        assume(np.all(np.abs(re) > 1e-3))
        expected = "sink" if np.all(re < 0) else "source" if np.all(re > 0) else "saddle"
    fps = rd.fixed_points(cell, n_starts=8, rng=seed)
    assert fps and fps[0].is_origin
    assert fps[0].kind == expected


def test_continuum_of_equilibria():
    # linear activation, singular M: every h with h_0 = 0 is an equilibrium
    cell = rd.EulerRNN(np.diag([1.0, 0.0]), eps=0.1, activation="linear")
    fps = rd.fixed_points(cell, n_starts=20, rng=1)
    assert 2 <= len(fps) <= 21
    for fp in fps:
        assert abs(fp.state[0]) <= 1e-12 and fp.kind == "neutral" and fp.residual <= 1e-10
    # ReLU: the whole region M h + b ≤ 0
    cell = rd.EulerRNN(np.eye(2), b=[0.3, -0.2], eps=0.1, activation="relu")
    for fp in rd.fixed_points(cell, n_starts=20, rng=2):
        assert np.all(fp.state + [0.3, -0.2] <= 1e-12) and fp.kind == "neutral"
    # an odd-dimensional antisymmetric matrix is singular: a line of equilibria
    fps = rd.fixed_points(rd.AntisymmetricRNN(rd.init.normal(3, rng=1), eps=0.1), n_starts=10)
    assert len(fps) > 1 and all(fp.kind == "neutral" for fp in fps)


def test_other_cases():
    assert rd.fixed_points(rd.EulerRNN(W0, activation="sigmoid")) == ()  # σ > 0: no equilibrium
    fps = rd.fixed_points(rd.VanillaRNN(np.eye(2), activation="sigmoid"))
    assert len(fps) == 1 and fps[0].kind == "sink"
    np.testing.assert_allclose(fps[0].state, 1 / (1 + np.exp(-fps[0].state)), atol=1e-12)
    # a bias moves the equilibrium: tanh(M h + b) = 0 ⇔ h = −M⁻¹ b
    b = np.array([0.3, -0.1])
    fps = rd.fixed_points(rd.EulerRNN(W0, b=b, eps=0.1, gamma=0.15))
    assert len(fps) == 1
    np.testing.assert_allclose(fps[0].state, -np.linalg.solve(rd.named_matrix("Wdiff"), b), atol=1e-12)
    # a constant input acts like a bias
    cell = rd.EulerRNN(W0, V=np.eye(2), eps=0.1, gamma=0.15)
    np.testing.assert_allclose(rd.fixed_points(cell, x=b)[0].state, fps[0].state, atol=1e-12)
    # larger n and explicit bounds
    cell = rd.VanillaRNN(rd.init.normal(12, std=0.1, rng=3), b=np.full(12, 0.1))
    fps = rd.fixed_points(cell, n_starts=8, bounds=(-0.5, 0.5))
    assert len(fps) == 1 and fps[0].kind == "sink"
    fps2 = rd.fixed_points(cell, n_starts=4, bounds=np.tile([-1.0, 1.0], (12, 1)), rng=np.random.default_rng(0))
    np.testing.assert_allclose(fps2[0].state, fps[0].state, atol=1e-10)


def test_classify_rule():
    assert classify([0.5, 0.2]) == "sink" and classify([1.5, 2]) == "source"
    assert classify([0.5, 2.0]) == "saddle" and classify([1.0, 0.3]) == "neutral"
    assert classify([1 + 1e-9]) == "neutral" and classify([1 + 10 * NEUTRAL_TOL]) == "source"
    # Euler-type: the sign of Re ν, ν = (μ − 1)/ε
    assert classify([0.985 + 0.2j, 0.985 - 0.2j], alpha=1.0, eps=0.1) == "sink"
    assert classify([1.2, 1.2], alpha=1.0, eps=0.1) == "source"
    assert classify([1.2, 0.9], alpha=1.0, eps=0.1) == "saddle"
    assert classify([1.0, 0.9], alpha=1.0, eps=0.1, nu=[0.0, -1.0]) == "neutral"
    assert classify([1 + 0.2j, 1 - 0.2j], alpha=1.0, eps=0.1, neutral_tol=0.0) == "neutral"


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(cell=W0), ArgumentTypeError,
     r"^cell: expected an rnndyn system \(VanillaRNN, EulerRNN, AntisymmetricRNN, LSTM or Map\), got an array"),
    (dict(x=[1.0, 2.0]), ValidationError, r"x: expected shape \(0,\)"),
    (dict(n_starts=-1), ValidationError, "n_starts"),
    (dict(tol=0), ValidationError, "tol"),
    (dict(bounds=(1.0, -1.0)), ValidationError, "bounds: expected lo <= hi"),
    (dict(bounds=np.zeros((3, 2))), ValidationError, r"bounds: expected \(lo, hi\) or an \(2, 2\)"),
    (dict(bounds="box"), ArgumentTypeError, "bounds"),
    (dict(rng="x"), ArgumentTypeError, "rng"),
])
def test_bad_input(kwargs, exc, match):
    args = dict(cell=rd.EulerRNN(W0))
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        rd.fixed_points(**args)
    assert issubclass(exc, RnndynError)


def test_n_starts_zero_tries_the_origin():
    fps = rd.fixed_points(rd.EulerRNN(W0, eps=0.1, gamma=0.15), n_starts=0)
    assert kinds(fps) == ["sink"]
