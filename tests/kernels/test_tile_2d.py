"""The autonomous 2-D tanh cell's tiled path (rnndyn.kernels.cpu.common._tile_2d): the same bits as the
step-by-step path, and divergence found at the same step wherever the state sits in the batch (the other
activations, which run step by step, are checked alongside)."""

import numpy as np
import pytest

import rnndyn as rd
from rnndyn.kernels.cpu.common import TILE_2D


def _grid(side):
    lin = np.linspace(-3.0, 3.0, side)
    X, Y = np.meshgrid(lin, lin)
    return np.stack([X.ravel(), Y.ravel()], axis=1)


def _cells():
    W = np.array([[0.3, -2.0], [2.0, 0.1]])
    return [rd.AntisymmetricRNN(W, gamma=0.15, eps=0.1), rd.EulerRNN(W, b=[0.2, -0.1], eps=0.3),
            rd.VanillaRNN(W, b=[0.1, 0.0]), rd.EulerRNN(W, eps=0.2, activation="relu"),
            rd.VanillaRNN(0.5 * W, activation="sigmoid")]


@pytest.mark.parametrize("cell", _cells(), ids=lambda c: type(c).__name__ + "-" + c.activation)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("record", ["last", "all", 3])
def test_tiles_give_the_bits_of_the_step_by_step_path(cell, dtype, record):
    # B = 2 tiles + 5: two tiled runs and a remainder that goes step by step; each state alone (B = 1,
    # no tile) is the step-by-step path's answer for that state.
    h0 = _grid(12)[: 2 * TILE_2D + 5]
    both = rd.simulate(cell, h0, steps=20, record=record, backend="cpu", dtype=dtype)
    rows = [0, 1, TILE_2D - 1, TILE_2D, 2 * TILE_2D - 1, 2 * TILE_2D + 4]
    for r in rows:
        alone = rd.simulate(cell, h0[r], steps=20, record=record, backend="cpu", dtype=dtype)
        assert np.array_equal(both.states[r], alone.states), r
    ref = rd.simulate(cell, h0, steps=20, record=record, backend="reference", dtype=dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(both.states, ref.states, rtol=tol, atol=tol)
    assert (both.diverged_at == -1).all()


@pytest.mark.parametrize("record", ["last", "all"])
def test_a_state_that_diverges_inside_a_tile_is_found_at_its_step(record):
    # A tanh cell with ε = 1e307: every state with a nonzero coordinate grows by about 1e307 a step and
    # overflows some twenty steps on; the zero states of the same tiles stay finite and must come out as
    # they would alone.
    cell = rd.EulerRNN(np.eye(2), eps=1e307)
    h0 = np.zeros((3 * TILE_2D, 2))
    bad = [5, TILE_2D + 7]
    h0[bad] = [[1.0, 1.0], [0.5, -0.25]]
    with pytest.warns(rd.DivergenceWarning, match="2 trajectories of 192"):
        traj = rd.simulate(cell, h0, steps=30, record=record, backend="cpu")
    ref = rd.simulate(cell, h0[bad], steps=30, record=record, backend="reference")
    assert (traj.diverged_at[bad] == ref.diverged_at).all() and (ref.diverged_at > 10).all()
    mask = np.ones(3 * TILE_2D, bool)
    mask[bad] = False
    assert (traj.diverged_at[mask] == -1).all()
    np.testing.assert_allclose(traj.states[bad], ref.states, rtol=1e-12)  # NaN where the reference has NaN
    others = rd.simulate(cell, h0[mask], steps=30, record=record, backend="cpu")
    assert np.array_equal(traj.states[mask], others.states)


def test_a_state_whose_sum_overflows_but_whose_coordinates_stay_finite_is_not_diverged():
    # x + y overflows while x and y stay finite: the running sum sends the tile step by step, where the
    # entries decide, as in the reference (and nothing is lost to NaN).
    big = np.finfo(np.float64).max / 1.5
    cell = rd.EulerRNN(np.eye(2), eps=0.1)
    h0 = np.zeros((TILE_2D, 2))
    h0[3] = [big, big]
    h0[4] = [big, 0.5]
    traj = rd.simulate(cell, h0, steps=4, record="all", backend="cpu")
    ref = rd.simulate(cell, h0, steps=4, record="all", backend="reference")
    assert (traj.diverged_at == -1).all() and (ref.diverged_at == -1).all()
    assert np.isfinite(traj.states).all()
    np.testing.assert_allclose(traj.states, ref.states, rtol=1e-12, atol=1e-12)
