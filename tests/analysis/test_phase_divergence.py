"""Phase portraits whose trajectories overflow, and of cells whose fixed points form a continuum."""

import warnings

import numpy as np
import pytest
from matplotlib.path import Path

import rnndyn as rd
from rnndyn.analysis.phase import PAPER_INITS, WINDOW_CAP, continuum_region
from rnndyn.errors import DivergenceWarning, ValidationError

FIB = rd.VanillaRNN(rd.named_matrix("fibonacci"), activation="linear")
WPLUS_RELU = rd.EulerRNN(rd.named_matrix("W+"), eps=0.1, activation="relu")


def recording(cell, **kwargs):
    """The portrait and every warning issued while computing it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        p = rd.phase_portrait(cell, **kwargs)
    return p, caught


def test_overflowing_trajectories_give_a_portrait_and_one_warning():
    p, caught = recording(FIB, steps=2000)
    # one warning of rnndyn's own, no numpy RuntimeWarning
    assert [w.category for w in caught] == [DivergenceWarning], [str(w.message) for w in caught]
    msg = str(caught[0].message)
    assert msg.startswith("3 of 3 trajectories diverged")
    for h0, t in zip(["(0, 0.5)", "(-0.5, -0.5)", "(0.5, -0.75)"], p.diverged_at):
        assert f"from h0 = {h0} at step {t}" in msg
    # |h_t| grows by the golden ratio per step: overflow after log(1.8e308 / 0.5) / log(1.618) ≈ 1476 steps
    assert p.diverged.all() and np.all((1470 < p.diverged_at) & (p.diverged_at < 1490))
    rows = np.arange(3)
    assert np.all(np.isfinite(p.trajectories[rows, p.last_finite]))
    assert np.all(np.isnan(p.trajectories[rows, p.diverged_at]))
    assert np.all(p.last_finite == p.diverged_at - 1)


def test_window_fits_the_finite_part_not_1e308():
    p, _ = recording(FIB, steps=2000)
    lims = np.array([p.xlim, p.ylim])
    assert np.all(np.isfinite(lims))
    # finite states within WINDOW_CAP × max(1, ‖h0‖, ‖h*‖) = 10, padded: never the 1e308 the states reach
    assert np.all(np.abs(lims) < 1.5 * WINDOW_CAP)
    assert np.all(np.isfinite(p.field)) and np.all(np.isfinite(p.speed))
    # the marks sit in the window, on states of the trajectory
    for i, mark in enumerate(p.divergence_marks):
        assert p.xlim[0] <= mark[0] <= p.xlim[1] and p.ylim[0] <= mark[1] <= p.ylim[1]
        assert np.any(np.all(p.trajectories[i] == mark, axis=1))
    # the initial states and the saddle at the origin stay in view
    for h in [*PAPER_INITS, (0.0, 0.0)]:
        assert p.xlim[0] < h[0] < p.xlim[1] and p.ylim[0] < h[1] < p.ylim[1]


def test_window_of_trajectories_that_stay_bounded_is_unchanged():
    """The cap only cuts far-away states: Figure 2's W+ (‖h_50‖ ≈ 8) is fully in view."""
    p, caught = recording(rd.EulerRNN(rd.named_matrix("W+"), eps=0.1), fixed_points=False)
    assert not caught
    pts = p.trajectories.reshape(-1, 2)
    assert np.all((p.xlim[0] < pts[:, 0]) & (pts[:, 0] < p.xlim[1]))
    assert np.all((p.ylim[0] < pts[:, 1]) & (pts[:, 1] < p.ylim[1]))


def test_relu_continuum_is_one_region_not_dozens_of_points():
    p, caught = recording(WPLUS_RELU, steps=5000)
    assert [w.category for w in caught] == [DivergenceWarning]
    assert "2 of 3 trajectories diverged" in str(caught[0].message)
    assert list(p.diverged) == [True, False, True]
    assert len(p.fixed_points) == 0  # the origin lies on the region: not an isolated point
    assert p.continuum is not None and p.continuum.dimension == 2
    assert "continuum of fixed points" in p.continuum.description
    # the region drawn is exactly {Mh ≤ 0} in the window: test it on a grid of points off its edges
    M = WPLUS_RELU.recurrent_matrix
    xs = np.linspace(*p.xlim, 41)[1:-1]
    ys = np.linspace(*p.ylim, 43)[1:-1]
    pts = np.array([(x, y) for x in xs for y in ys])
    a = pts @ M.T
    off_edge = np.all(np.abs(a) > 1e-6, axis=1)
    inside = Path(p.continuum_region).contains_points(pts[off_edge])
    np.testing.assert_array_equal(inside, np.all(a[off_edge] <= 0, axis=1))
    assert inside.any()
    # the bounded trajectory starts (and stays) on the region: a fixed point
    np.testing.assert_array_equal(p.trajectories[1, -1], p.inits[1])


def test_continuum_region_in_closed_form():
    box = ((-1.0, 1.0), (-1.0, 1.0))
    # ReLU: {2x − 2y ≤ 0, 2y ≤ 0} is the wedge x ≤ y ≤ 0
    tri = continuum_region(WPLUS_RELU, *box)
    assert sorted(map(tuple, np.round(tri, 12).tolist())) == [(-1.0, -1.0), (-1.0, 0.0), (0.0, 0.0)]
    # tanh with a rank-1 M: the line x + y = −1, cut to the window
    seg = continuum_region(rd.EulerRNN(np.ones((2, 2)), b=[1.0, 1.0]), *box)
    np.testing.assert_allclose(sorted(map(tuple, seg.tolist())), [(-1.0, 0.0), (0.0, -1.0)], atol=1e-12)
    # inconsistent: Mh = −b has no solution
    assert continuum_region(rd.EulerRNN(np.ones((2, 2)), b=[1.0, 2.0]), *box).shape == (0, 2)
    # M = 0: the whole window
    whole = continuum_region(rd.EulerRNN(np.zeros((2, 2))), *box)
    assert sorted(map(tuple, whole.tolist())) == [(-1, -1), (-1, 1), (1, -1), (1, 1)]
    # an isolated equilibrium, a vanilla cell: no closed form here
    assert continuum_region(rd.EulerRNN(rd.named_matrix("W0")), *box) is None
    assert continuum_region(rd.VanillaRNN(np.eye(2), activation="relu"), *box) is None


def test_line_of_equilibria_in_the_portrait():
    cell = rd.EulerRNN(np.ones((2, 2)), b=[1.0, 1.0], eps=0.1)
    p, _ = recording(cell, steps=20)
    assert p.continuum is not None and p.continuum.dimension == 1 and len(p.fixed_points) == 0
    seg = p.continuum_region
    assert seg.shape == (2, 2)
    np.testing.assert_allclose(seg.sum(axis=1), -1.0, atol=1e-12)  # on x + y = −1
    for x, y in seg:  # its ends on the window's edge
        assert np.isclose(x, p.xlim).any() or np.isclose(y, p.ylim).any()


def test_a_window_where_the_field_overflows():
    """A given window far beyond the states: the arrows that overflow are left out, silently."""
    cell = rd.VanillaRNN(1e300 * np.eye(2), activation="linear")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = rd.phase_portrait(cell, steps=1, grid=5, xlim=(-1e10, 1e10), ylim=(-1, 1))
    bad = ~np.isfinite(p.speed)
    assert bad.any() and not bad.all()
    assert np.all(np.isnan(p.field[bad])) and np.all(np.isfinite(p.field[~bad]))


@pytest.mark.parametrize("xlim", [(-1e308, 1e308), (-np.inf, 1.0)])
def test_windows_of_infinite_width_refused(xlim):
    with pytest.raises(ValidationError, match="xlim"):
        rd.phase_portrait(FIB, steps=2, xlim=xlim)


def test_kinds_of_the_map_and_of_the_ode():
    """The map's type is what the trajectories do; the ODE's type is the discretised equation's."""
    cases = [
        (rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15), "source", "sink", 1.0051),   # |1 + ε(−0.15 ± 2i)|
        (rd.EulerRNN(rd.named_matrix("W0"), eps=0.1), "source", "neutral", 1.0198),   # a centre of the ODE
        (rd.EulerRNN(rd.named_matrix("W-"), eps=1.5), "source", "sink", 2.0),   # |1 − 1.5·2| = 2
        (rd.EulerRNN(rd.named_matrix("W-"), eps=0.1), "sink", "sink", 0.8),
        (rd.VanillaRNN(rd.named_matrix("rotation")), "neutral", None, 1.0),
    ]
    for cell, kind, ode_kind, mod in cases:
        p, _ = recording(cell, steps=200, grid=3)
        (origin,) = p.fixed_points
        assert (origin.kind, origin.ode_kind) == (kind, ode_kind)
        assert np.max(np.abs(origin.eigenvalues)) == pytest.approx(mod, abs=1e-4)
        assert p.stability.spectral_radius == pytest.approx(np.max(np.abs(origin.eigenvalues)), rel=1e-12)
        if kind == "sink":  # what the map does is what the trajectories show
            assert np.all(p.final_norms < 1e-3 * p.initial_norms)
