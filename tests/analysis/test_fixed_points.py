"""Tests of rnndyn.analysis.fixed_points: roots of F(h) = h, deduplication and the sink/source/saddle/neutral rule."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import rnndyn as rd
from rnndyn.analysis.fixed_points import NEUTRAL_TOL, Continuum, FixedPoints, classify, classify_map, classify_ode
from rnndyn.errors import ArgumentTypeError, RnndynError, ValidationError
from tests.strategies import make_cell

SETTINGS = settings(deadline=None, max_examples=30)
W0 = rd.named_matrix("W0")


def kinds(fps):
    return [fp.kind for fp in fps]


def map_rule(mu, tol=NEUTRAL_TOL):
    """The map rule written out independently of the module: |μ| against the unit circle."""
    r = np.abs(mu) - 1.0
    if np.any(np.abs(r) <= tol):
        return "neutral"
    return "sink" if np.all(r < 0) else "source" if np.all(r > 0) else "saddle"


# --------------------------------------------------------------------------- the seed's cases


def test_seed_cases_at_the_origin():
    # Chang et al. 2019 Fig. 2, RNN with feedback: (ε, kind of the map, kind of the ODE, |μ|)
    cases = {
        "Wdiff": (rd.EulerRNN(W0, eps=0.1, gamma=0.15), "source", "sink", abs(1 + 0.1 * (-0.15 + 2j))),
        "Wdiff matrix": (rd.EulerRNN(rd.named_matrix("Wdiff"), eps=0.1), "source", "sink", abs(1 + 0.1 * (-0.15 + 2j))),
        "W+": (rd.EulerRNN(rd.named_matrix("W+"), eps=0.1), "source", "source", 1.2),
        "W-": (rd.EulerRNN(rd.named_matrix("W-"), eps=0.1), "sink", "sink", 0.8),
        "W- at eps 1.5": (rd.EulerRNN(rd.named_matrix("W-"), eps=1.5), "source", "sink", 2.0),
        "W0": (rd.EulerRNN(W0, eps=0.1, gamma=0.0), "source", "neutral", np.sqrt(1.04)),
    }
    for name, (cell, kind, ode_kind, modulus) in cases.items():
        fps = rd.fixed_points(cell)
        assert len(fps) == 1 and fps.complete and fps.continuum is None, name  # M invertible: the origin only
        fp = fps[0]
        assert fp.is_origin and fp.state.tolist() == [0.0, 0.0] and fp.residual == 0.0
        assert (fp.kind, fp.ode_kind) == (kind, ode_kind), name
        J = np.eye(2) + cell.eps * cell.recurrent_matrix
        np.testing.assert_allclose(np.sort_complex(fp.eigenvalues), np.sort_complex(np.linalg.eigvals(J)),
                                   atol=1e-14)
        np.testing.assert_allclose(np.abs(fp.eigenvalues), modulus, rtol=1e-7)  # W−'s μ = −2 is defective
        assert fp.kind == map_rule(fp.eigenvalues)
        # ν: eigenvalues of the ODE's Jacobian tanh'(0)·M = M
        np.testing.assert_allclose(np.sort_complex(fp.ode_eigenvalues),
                                   np.sort_complex(np.linalg.eigvals(cell.recurrent_matrix)), atol=1e-12)
    # the README's headline: ρ(J at 0) = 1.0051, so the map spirals out while the ODE spirals in
    head = rd.fixed_points(cases["Wdiff"][0])[0]
    assert round(float(np.abs(head.eigenvalues).max()), 4) == 1.0051
    np.testing.assert_array_equal(head.ode_eigenvalues, [-0.15 + 2j, -0.15 - 2j])


def test_vanilla_seed_cases():
    for name in ("identity", "reflection", "rotation"):
        fps = rd.fixed_points(rd.VanillaRNN(rd.named_matrix(name)))
        # degenerate at 0 (tanh(h) = h has a triple root): the near-roots collapse onto the origin
        assert kinds(fps) == ["neutral"] and fps[0].is_origin, name
        # J − I = 0 there, but the root is isolated: Newton contracts back onto it
        assert fps.continuum is None and fps.complete and fps[0].ode_kind is None, name
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
        if isinstance(cell, rd.VanillaRNN):
            assert fp.ode_kind is None and fp.ode_eigenvalues is None
        else:
            # ν are the eigenvalues of (J − I)/ε
            expected = np.linalg.eigvals((J - np.eye(cell.n)) / cell.eps)
            for nu in fp.ode_eigenvalues:
                assert np.min(np.abs(expected - nu)) <= 1e-8
            assert fp.ode_kind in ("sink", "source", "saddle", "neutral")
    states = np.array([fp.state for fp in fps]).reshape(len(fps), cell.n)
    for i in range(len(fps)):  # deduplicated
        for j in range(i):
            assert np.linalg.norm(states[i] - states[j]) > 1e-6
    norms = np.linalg.norm(states, axis=1)
    assert np.all(np.diff(norms) >= 0)  # sorted by distance from the origin


@SETTINGS
@given(cells())
def test_kind_is_the_map_rule(case):
    # kind follows |μ| of the map's one-step Jacobian, for every cell type, not the ODE's Re ν
    cell, x, seed = case
    fps = rd.fixed_points(cell, x=x, n_starts=8, rng=seed)
    for fp in fps:
        mods = np.abs(np.linalg.eigvals(cell.jacobian(fp.state, x)))
        assume(np.all(np.abs(np.abs(mods - 1.0) - NEUTRAL_TOL) > 1e-8))  # not on the band's edge
        assert fp.kind == map_rule(mods)


@SETTINGS
@given(cells(bias=False))
def test_origin_of_bias_free_tanh_cells(case):
    cell, _, seed = case
    p = cell.kernel_params()
    M = p.M
    # the expected types, computed independently of the module
    gate = 0.5 if p.gated else 1.0  # σ(0) with b_z = 0; tanh'(0) = 1
    mu = np.linalg.eigvals(p.alpha * np.eye(cell.n) + p.eps * gate * M)
    mods = np.abs(mu) - 1.0
    assume(np.all(np.abs(mods) > 1e-3))
    expected = "sink" if np.all(mods < 0) else "source" if np.all(mods > 0) else "saddle"
    if p.alpha == 1.0:
        re = np.linalg.eigvals(gate * M).real
        assume(np.all(np.abs(re) > 1e-3))
        expected_ode = "sink" if np.all(re < 0) else "source" if np.all(re > 0) else "saddle"
    else:
        expected_ode = None
    fps = rd.fixed_points(cell, n_starts=8, rng=seed)
    assert fps and fps[0].is_origin
    assert (fps[0].kind, fps[0].ode_kind) == (expected, expected_ode)


def test_continuum_of_equilibria():
    # linear activation, singular M: every h with h_0 = 0 is an equilibrium — one line, not samples of it
    cell = rd.EulerRNN(np.diag([1.0, 0.0]), eps=0.1, activation="linear")
    fps = rd.fixed_points(cell, n_starts=20, rng=1)
    assert fps == () and fps.complete and isinstance(fps.continuum, Continuum)
    con = fps.continuum
    assert con.dimension == 1 and "line" in con.description and "{h : Wh = 0}" in con.description
    assert 2 <= con.samples.shape[0] <= 8 and con.samples.shape[1] == 2
    assert np.all(con.samples[:, 0] == 0) and (con.kind, con.ode_kind) == ("neutral", "neutral")
    # the same M with a bias out of its range: no equilibrium at all
    fps = rd.fixed_points(rd.EulerRNN(np.diag([1.0, 0.0]), b=[0.0, 0.3], activation="linear"))
    assert fps == () and fps.continuum is None and fps.complete
    # ReLU: the whole region M h + b ≤ 0
    cell = rd.EulerRNN(np.eye(2), b=[0.3, -0.2], eps=0.1, activation="relu")
    fps = rd.fixed_points(cell, n_starts=20, rng=2)
    con = fps.continuum
    assert fps == () and con.dimension == 2 and "Wh + b ≤ 0" in con.description and "2-D region" in con.description
    assert np.all(con.samples + [0.3, -0.2] <= 1e-12) and con.kind == "neutral"
    for h in con.samples:
        assert np.linalg.norm(cell.step(h) - h) <= 1e-10
    # ReLU with M h + b ≤ 0 forcing h_0 = −0.5: a line; and an empty set
    M = np.array([[1.0, 0.0], [-1.0, 0.0]])
    fps = rd.fixed_points(rd.EulerRNN(M, b=[0.5, -0.5], activation="relu"))
    assert fps == () and fps.continuum.dimension == 1 and "1-D" in fps.continuum.description
    np.testing.assert_allclose(fps.continuum.samples[:, 0], -0.5, atol=1e-9)
    fps = rd.fixed_points(rd.EulerRNN(M, b=[0.5, 0.5], activation="relu"))
    assert fps == () and fps.continuum is None and fps.complete
    # an odd-dimensional antisymmetric matrix is singular: a line of equilibria
    cell = rd.AntisymmetricRNN(rd.init.normal(3, rng=1), eps=0.1)
    fps = rd.fixed_points(cell, n_starts=10)
    assert fps == () and fps.continuum.dimension == 1 and "(W − Wᵀ)h = 0" in fps.continuum.description
    np.testing.assert_allclose(fps.continuum.samples @ (cell.W - cell.W.T).T, 0, atol=1e-12)
    # a vanilla linear cell with W = I: every state is fixed
    fps = rd.fixed_points(rd.VanillaRNN(np.eye(2), activation="linear"))
    assert fps == () and fps.continuum.dimension == 2 and fps.continuum.ode_kind is None


@SETTINGS
@given(st.integers(2, 4), st.integers(0, 3), st.booleans(), st.integers(0, 2**32 - 1),
       st.sampled_from(["tanh", "linear", "relu"]))
def test_singular_euler_cells(n, rank, consistent, seed, act):
    # M = A Bᵀ of rank r < n: for tanh/linear an (n − r)-D affine subspace when −b is in M's range, else
    # nothing; for ReLU a region of dimension ≥ n − r (it contains h + null(M) with h), n when M h + b < 0
    # somewhere
    rank = min(rank, n - 1)
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, rank)) @ rng.normal(size=(rank, n))
    b = M @ rng.normal(size=n) if consistent else rng.normal(size=n)
    cell = rd.EulerRNN(M, b=b, eps=0.1, activation=act)
    fps = rd.fixed_points(cell, n_starts=16, rng=seed)
    assert fps == () and fps.complete
    con = fps.continuum
    if act != "relu":
        if not consistent and rank < n:
            assert con is None  # a generic b is not in the range of a singular M
            return
        assert con.dimension == n - rank
        assert {1: "line", 2: "plane"}.get(n - rank, f"{n - rank}-D affine subspace") in con.description
        np.testing.assert_allclose(con.samples @ M.T + b, 0, atol=1e-9)
    else:
        if con is None:  # {M h + b ≤ 0} can be empty only when b is not in M's range (else h = −z is fixed)
            assert not consistent
            return
        assert n - rank <= con.dimension <= n
        assert np.all(con.samples @ M.T + b <= 1e-9)
        # the representative is in the relative interior: strict wherever the inequality can be strict
        slack = con.samples[0] @ M.T + b
        zero_rows = np.all(M == 0, axis=1)
        if con.dimension == n:
            assert np.all((slack < 0) | zero_rows)
    for h in con.samples:
        assert np.linalg.norm(cell.step(h) - h) <= 1e-10
    assert con.kind == "neutral" and con.ode_kind == "neutral"


def test_relu_region_is_one_continuum_not_dozens_of_points():
    # `rnndyn phase --matrix W+ --activation relu`: every h with W+ h ≤ 0 is fixed
    cell = rd.EulerRNN(rd.named_matrix("W+"), eps=0.1, activation="relu")
    fps = rd.fixed_points(cell)
    assert len(fps) == 0 and fps.complete
    con = fps.continuum
    assert con.description == "a continuum of fixed points: every h with Wh ≤ 0 componentwise (ReLU), a 2-D region"
    assert con.dimension == 2 and (con.kind, con.ode_kind) == ("neutral", "neutral")
    assert 2 <= len(con.samples) <= 8
    assert np.all(con.samples @ rd.named_matrix("W+").T <= 1e-12)
    assert not con.samples.flags.writeable


def test_numerical_continuum_of_a_vanilla_relu_cell():
    # relu(h) = h for every h ≥ 0: a quadrant of fixed points, found by the search
    fps = rd.fixed_points(rd.VanillaRNN(np.eye(2), activation="relu"))
    con = fps.continuum
    assert fps == () and fps.complete and con.dimension == 2 and "2-D" in con.description
    assert np.all(con.samples >= 0) and con.kind == "neutral" and con.ode_kind is None
    # a contraction has one isolated fixed point, even though ReLU's Jacobian jumps there
    fps = rd.fixed_points(rd.VanillaRNN(0.5 * np.eye(2), activation="relu"))
    assert kinds(fps) == ["sink"] and fps.continuum is None


def test_numerical_continuum_of_a_map():
    # (x, y) ↦ (x, y/2): the x-axis is a line of fixed points; (x, y) ↦ (x − x³, y/2) has the origin only
    def line(x, u, p, out):
        out[0] = x[0]
        out[1] = 0.5 * x[1]

    def line_jac(x, u, p, out):
        out[0, 0], out[0, 1], out[1, 0], out[1, 1] = 1.0, 0.0, 0.0, 0.5

    def cubic(x, u, p, out):
        out[0] = x[0] - x[0] ** 3
        out[1] = 0.5 * x[1]

    def cubic_jac(x, u, p, out):
        out[0, 0], out[0, 1], out[1, 0], out[1, 1] = 1.0 - 3 * x[0] ** 2, 0.0, 0.0, 0.5

    fps = rd.fixed_points(rd.Map(line, line_jac, dim=2))
    assert fps == () and fps.continuum.dimension == 1 and fps.complete
    np.testing.assert_allclose(fps.continuum.samples[:, 1], 0, atol=1e-10)
    assert fps.continuum.kind == "neutral" and fps.continuum.ode_kind is None
    fps = rd.fixed_points(rd.Map(cubic, cubic_jac, dim=2))
    assert len(fps) == 1 and fps[0].kind == "neutral" and fps.continuum is None
    assert np.linalg.norm(fps[0].state) <= 1e-6


# --------------------------------------------------------------------------- completeness


def _tanh_27():
    # tanh(2x) = x has three roots, so W = 2I plus a weak coupling has 3³ = 27 isolated fixed points
    S = np.array([[0.0, 1.0, -1.0], [1.0, 0.0, 1.0], [-1.0, 1.0, 0.0]])
    return rd.VanillaRNN(2.0 * np.eye(3) + 0.05 * S)


def _brute_force_roots(W):
    """Every root of tanh(W h) = h from a dense grid of Newton starts, independently of rnndyn."""
    g = np.linspace(-1.0, 1.0, 17)
    H = np.stack(np.meshgrid(g, g, g, indexing="ij"), -1).reshape(-1, 3)
    for _ in range(60):
        A = H @ W.T
        R = np.tanh(A) - H
        J = (1.0 / np.cosh(A) ** 2)[:, :, None] * W[None] - np.eye(3)
        H = H - np.linalg.solve(J, R[..., None])[..., 0]
    ok = np.linalg.norm(np.tanh(H @ W.T) - H, axis=1) <= 1e-12
    roots = []
    for h in H[ok]:
        if all(np.linalg.norm(h - r) > 1e-8 for r in roots):
            roots.append(h)
    return np.array(roots)


def test_default_search_finds_all_27_fixed_points():
    cell = _tanh_27()
    truth = _brute_force_roots(cell.W)
    assert truth.shape == (27, 3)
    # isolated: J − I is nonsingular at each; one root per sign pattern in {−, 0, +}³
    for h in truth:
        assert np.min(np.linalg.svd(cell.jacobian(h) - np.eye(3), compute_uv=False)) > 0.1
    assert len({tuple(np.where(np.abs(h) < 0.5, 0, np.sign(h))) for h in truth}) == 27
    fps = rd.fixed_points(cell)
    assert len(fps) == 27 and fps.complete and fps.continuum is None
    got = np.array([fp.state for fp in fps])
    for h in truth:
        assert np.min(np.linalg.norm(got - h, axis=1)) <= 1e-10
    # one unstable direction per zero coordinate
    assert sorted(kinds(fps)).count("sink") == 8 and kinds(fps).count("source") == 1
    assert kinds(fps).count("saddle") == 18
    for seed in (1, 2, 3):
        assert len(rd.fixed_points(cell, rng=seed)) == 27


def test_complete_semantics():
    cell = _tanh_27()
    fps = rd.fixed_points(cell)
    # the origin, the first batch of 64, then batches of max(64, 16·3) = 64 until two in a row add nothing
    assert fps.n_starts >= 1 + 64 + 2 * 64 and (fps.n_starts - 65) % 64 == 0
    # capped before the criterion is met: incomplete, and only the first batch was solved
    capped = rd.fixed_points(cell, max_starts=64)
    assert not capped.complete and capped.n_starts == 65 and len(capped) <= 27
    only_origin = rd.fixed_points(cell, n_starts=0, max_starts=0)
    assert not only_origin.complete and only_origin.n_starts == 1 and kinds(only_origin) == ["source"]
    # decided exactly: complete, no starts needed
    exact = rd.fixed_points(rd.EulerRNN(W0, eps=0.1))
    assert exact.complete and exact.n_starts == 0
    # maps are searched the same way
    henon = rd.fixed_points(rd.systems.henon())
    assert henon.complete and len(henon) == 2 and henon.n_starts >= 65 + 128


def test_fixed_points_result_is_a_tuple():
    import pickle

    fps = rd.fixed_points(rd.VanillaRNN(2 * np.eye(2)))
    assert isinstance(fps, tuple) and isinstance(fps, FixedPoints) and len(fps) == 9
    assert fps[0].is_origin and [fp.kind for fp in fps] == kinds(tuple(fps)) and fps[1:] == tuple(fps)[1:]
    assert fps == tuple(fps) and rd.fixed_points(rd.EulerRNN(W0, activation="sigmoid")) == ()
    back = pickle.loads(pickle.dumps(fps))
    assert type(back) is FixedPoints and back.complete == fps.complete and back.n_starts == fps.n_starts
    assert "complete=True" in repr(fps) and "continuum=None" in repr(fps)
    with pytest.raises(AttributeError):
        fps.complete = False
    assert rd.FixedPoints is FixedPoints and rd.Continuum is Continuum
    # positional construction keeps working; the ODE fields default to None
    fp = rd.FixedPoint(np.zeros(1), "sink", np.zeros(1), np.eye(1), 0.0)
    assert fp.ode_kind is None and fp.ode_eigenvalues is None


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
    # alpha = 1: the ODE rule, the sign of Re ν, ν = (μ − 1)/ε
    assert classify([0.985 + 0.2j, 0.985 - 0.2j], alpha=1.0, eps=0.1) == "sink"
    assert classify([1.2, 1.2], alpha=1.0, eps=0.1) == "source"
    assert classify([1.2, 0.9], alpha=1.0, eps=0.1) == "saddle"
    assert classify([1.0, 0.9], alpha=1.0, eps=0.1, nu=[0.0, -1.0]) == "neutral"
    assert classify([1 + 0.2j, 1 - 0.2j], alpha=1.0, eps=0.1, neutral_tol=0.0) == "neutral"
    # the two rules on their own, and where they disagree
    assert classify_map([0.985 + 0.2j, 0.985 - 0.2j]) == "source" == classify([0.985 + 0.2j, 0.985 - 0.2j])
    assert classify_ode([-0.15 + 2j, -0.15 - 2j]) == "sink" and classify_ode([2j, -2j]) == "neutral"
    assert classify_map([-2.0, -2.0]) == "source" and classify_ode([-2.0, -2.0]) == "sink"  # W− at ε = 1.5
    assert classify_map([1 + 0.9e-6, 0.5]) == "neutral" and classify_map([1 + 1.1e-6, 0.5]) == "saddle"
    assert classify_map([1.0 + 1e-3], 1e-2) == "neutral" and classify_ode([1e-3 + 5j], 1e-3) == "neutral"


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(cell=W0), ArgumentTypeError,
     r"^cell: expected an rnndyn system \(VanillaRNN, EulerRNN, AntisymmetricRNN, LSTM or Map\), got an array"),
    (dict(x=[1.0, 2.0]), ValidationError, r"x: expected shape \(0,\)"),
    (dict(n_starts=-1), ValidationError, "n_starts"),
    (dict(max_starts=-1), ValidationError, "max_starts"),
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
    assert kinds(fps) == ["source"]
    fps = rd.fixed_points(rd.VanillaRNN(2 * np.eye(2)), n_starts=0, max_starts=0)
    assert kinds(fps) == ["source"] and fps.n_starts == 1
