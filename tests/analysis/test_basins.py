"""rd.basins: analytic basins, cycles, divergence, slices, bad arguments, and the symmetry of odd maps."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq

import rnndyn as rd
from rnndyn.analysis.basins import DIVERGED, NOT_CONVERGED
from rnndyn.errors import ArgumentTypeError, UnsupportedError, ValidationError
from rnndyn.systems.maps import henon

#: The stable fixed point x* = tanh(2 x*) > 0 of h ← tanh(2h), per axis.
X_STAR = brentq(lambda x: np.tanh(2 * x) - x, 0.5, 1.0, xtol=1e-15)


def _quadrant(x, y):
    return (x > 0).astype(int) * 2 + (y > 0).astype(int)


def test_diagonal_tanh_has_four_quadrant_basins():
    bas = rd.basins(rd.VanillaRNN(2 * np.eye(2)), grid=40, steps=100, backend="cpu")
    assert bas.n_attractors == 4 and [a.kind for a in bas.attractors] == ["fixed point"] * 4
    for a in bas.attractors:
        assert a.period == 1 and a.count == 400
        np.testing.assert_allclose(np.abs(a.points), X_STAR, atol=1e-8)
    # labels follow the quadrant of h0 (no grid point lies on an axis)
    U, V = np.meshgrid(bas.u, bas.v)
    quad = _quadrant(U, V)
    for k, a in enumerate(bas.attractors):
        assert np.all(quad[bas.labels == k] == _quadrant(*a.points[0]))
    # the gradient vanishes inside the basins and is largest along their boundaries (the axes)
    inner = bas.log_grad[np.minimum(np.abs(U), np.abs(V)) > 0.5]
    edge = bas.log_grad[np.minimum(np.abs(U), np.abs(V)) < 0.05]
    assert inner.max() < edge.min()
    assert bas.labels.shape == bas.log_grad.shape == (40, 40)


def test_reference_backend_agrees():
    cell = rd.EulerRNN(np.array([[2.0, 0.5], [0.3, 1.5]]), eps=0.5)
    a = rd.basins(cell, grid=16, steps=80, backend="cpu")
    b = rd.basins(cell, grid=16, steps=80, backend="reference")
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_allclose(a.log_grad, b.log_grad, rtol=1e-10)


def test_rotation_gives_one_cycle_of_period_four():
    R = np.array([[0.0, -1.0], [1.0, 0.0]])
    bas = rd.basins(rd.VanillaRNN(2 * R), grid=20, steps=101)
    (a,) = bas.attractors
    assert a.kind == "cycle of period 4" and a.period == 4 and a.count == 400
    assert np.all(bas.labels == 0)
    np.testing.assert_allclose(np.abs(a.points), X_STAR, atol=1e-8)
    assert len({tuple(np.sign(p)) for p in a.points}) == 4  # one point per quadrant


def test_diverging_linear_system_is_labelled_diverged():
    bas = rd.basins(rd.VanillaRNN(1.5 * np.eye(2), activation="linear"), grid=12, steps=100)
    assert np.all(bas.labels == DIVERGED) and np.all(np.isnan(bas.log_grad))
    assert [(a.kind, a.count) for a in bas.attractors] == [("diverged", 144)]
    assert np.all(bas.diverged_at > 0)
    # without an escape radius only overflow counts, which 1.5^100 does not reach
    kept = rd.basins(rd.VanillaRNN(1.5 * np.eye(2), activation="linear"), grid=12, steps=100, escape=np.inf)
    assert np.all(kept.labels == NOT_CONVERGED)


def test_not_converged_points_keep_their_own_label():
    # a rotation by an irrational angle of a neutral linear map never repeats
    th = 1.0
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    bas = rd.basins(rd.VanillaRNN(R, activation="linear"), grid=6, steps=10, bounds=(0.5, 1.0))
    assert np.all(bas.labels == NOT_CONVERGED)
    assert [(a.kind, a.count) for a in bas.attractors] == [("not converged", 36)]


def test_slice_of_a_three_dimensional_cell():
    bas = rd.basins(rd.VanillaRNN(2 * np.eye(3)), grid=10, steps=80, plane=(0, 2), origin=[0.0, 0.5, 0.0])
    assert bas.n_attractors == 4 and bas.axis_names == ("h₁", "h₃")
    for a in bas.attractors:
        np.testing.assert_allclose(np.abs(a.points), X_STAR, atol=1e-8)
        assert a.points[0, 1] > 0  # the slice's origin lies in the upper half of axis 1
    U, V = np.meshgrid(bas.u, bas.v)
    for k, a in enumerate(bas.attractors):
        assert np.all(_quadrant(U, V)[bas.labels == k] == _quadrant(a.points[0, 0], a.points[0, 2]))
    np.testing.assert_allclose(bas.project(bas.attractors[0].points)[0], bas.attractors[0].points[0, [0, 2]])
    # two directions instead of two axes
    d = rd.basins(rd.VanillaRNN(2 * np.eye(3)), grid=10, steps=80, plane=[[1, 0, 0], [0, 0, 1]],
                  origin=[0.0, 0.5, 0.0])
    np.testing.assert_array_equal(d.labels, bas.labels)


def test_progress_reports_rows():
    seen = []
    rd.basins(rd.VanillaRNN(2 * np.eye(2)), grid=32, steps=5, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (32, 32) and len(seen) == 16


@pytest.mark.parametrize("kw, name, err", [
    (dict(grid=1), "grid", ValidationError),
    (dict(grid=2.5), "grid", ArgumentTypeError),
    (dict(steps=-1), "steps", ValidationError),
    (dict(cycle_max=0), "cycle_max", ValidationError),
    (dict(tol=0.0), "tol", ValidationError),
    (dict(escape=-1.0), "escape", ValidationError),
    (dict(bounds=(1.0, -1.0)), "bounds", ValidationError),
    (dict(plane=(0, 0)), "plane", ValidationError),
    (dict(plane=(0, 2)), "plane", ValidationError),
    (dict(origin=[0.0]), "origin", ValidationError),
    (dict(constant_input=[1.0]), "constant_input", ValidationError),
    (dict(progress=3), "progress", ArgumentTypeError),
])
def test_bad_arguments_are_named(kw, name, err):
    with pytest.raises(err, match=f"^{name}: "):
        rd.basins(rd.VanillaRNN(2 * np.eye(2)), **{"steps": 3, "grid": 4, **kw})


def test_maps_and_large_slices_are_refused():
    with pytest.raises(UnsupportedError, match="^system: basins runs cells"):
        rd.basins(henon(), grid=4, steps=3)
    with pytest.raises(ValidationError, match="^plane: required"):
        rd.basins(rd.VanillaRNN(np.eye(3)), grid=4, steps=3)


def test_memory_limit(monkeypatch):
    from rnndyn import config
    from rnndyn.errors import MemoryLimitError

    monkeypatch.setattr(config, "MEMORY_LIMIT_BYTES", 10_000)
    with pytest.raises(MemoryLimitError, match="smaller grid"):
        rd.basins(rd.VanillaRNN(2 * np.eye(2)), grid=64, steps=3)


def test_constant_input_is_folded_into_the_bias():
    cell = rd.VanillaRNN(2 * np.eye(2), V=np.eye(2))
    biased = rd.VanillaRNN(2 * np.eye(2), b=[0.3, -0.2])
    a = rd.basins(cell, grid=8, steps=40, constant_input=[0.3, -0.2])
    b = rd.basins(biased, grid=8, steps=40)
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_allclose(a.log_grad, b.log_grad)


@settings(max_examples=6, deadline=None)
@given(st.floats(-3.0, 3.0), st.floats(-3.0, 3.0), st.floats(-3.0, 3.0), st.floats(-3.0, 3.0))
@example(0.0, 0.0, 0.0, 0.75)
def test_odd_map_has_a_point_symmetric_label_map(a, b, c, d):
    # h ← tanh(W h) is odd, bit for bit (tanh(-x) = -tanh(x), W(-h) = -(W h)): the states from h0 and -h0 are each
    # other's negatives, so the label map is point-symmetric up to a renaming of the labels. The renaming is read
    # off the grid, not matched by distance: after 40 steps a slowly attracting cycle (a multiplier near 1) is not
    # converged, and two mirrored representatives may differ by far more than any fixed tolerance.
    bas = rd.basins(rd.VanillaRNN(np.array([[a, b], [c, d]])), grid=9, steps=40, bounds=(-1.0, 1.0))
    flipped = bas.labels[::-1, ::-1]
    rename = {}
    for lab, mirror in zip(bas.labels.ravel().tolist(), flipped.ravel().tolist()):
        assert rename.setdefault(lab, mirror) == mirror  # one label's basin mirrors into one label's
    assert sorted(rename.values()) == sorted(rename)  # a bijection of the labels onto themselves
    period = {att.label: att.period for att in bas.attractors}
    for lab, mirror in rename.items():
        assert (lab < 0) == (mirror < 0) and period.get(lab) == period.get(mirror)


def test_a_sink_approached_slowly_from_a_coarse_grid_is_one_attractor():
    # h2 <- tanh(0.75 h2): after 40 steps the states sit 1e-6 to 2.4e-6 from 0, farther apart than tol
    bas = rd.basins(rd.VanillaRNN(np.array([[0.0, 0.0], [0.0, 0.75]])), grid=9, steps=40, bounds=(-1.0, 1.0))
    sinks = [a for a in bas.attractors if a.label >= 0]
    assert len(sinks) == 1 and sinks[0].period == 1
    np.testing.assert_allclose(sinks[0].points[0], 0.0, atol=1e-5)


def test_creep_is_the_sum_of_the_remaining_geometric_moves():
    from rnndyn.analysis.basins import _creep

    q, d0 = 0.5, 1e-6
    F = np.zeros((2, 2))  # h_T at the origin
    tail = np.zeros((2, 2, 2))
    tail[:, 0, 0] = d0  # h_{T+1}: a move of d0 along x
    tail[0, 1, 0] = d0 + q * d0  # h_{T+2}: then q d0, so the limit is d0 / (1 - q) away
    tail[1, 1, 0] = d0 + 2 * d0  # growing moves: no geometric convergence, no reach
    reach = _creep(F, tail, np.array([1, 1]), r=1.0)
    np.testing.assert_allclose(reach[0], d0 / (1 - q), rtol=1e-12)
    assert reach[1] == 0.0
    assert _creep(F[:1], tail[:1], np.array([1]), r=1e-9)[0] == 64e-9  # capped at 64 r
    assert _creep(F[:1], tail[:1], np.array([2]), r=1.0)[0] == 0.0  # h_{T+2p} beyond the tail: no estimate
