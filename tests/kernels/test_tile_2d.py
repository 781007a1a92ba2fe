"""The autonomous 2-D cell's tiled path (rnndyn.kernels.cpu.common._tile_2d): the same bits as the
step-by-step path, and divergence found at the same step wherever the state sits in the batch."""

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
    # Linear growth by 1e100 a step: the state [1, 1] overflows at step 4, [1e-300, 0] at step 7; the
    # zero states of their tiles stay finite and must come out as they would alone.
    cell = rd.VanillaRNN(np.eye(2) * 1e100, activation="linear")
    h0 = np.zeros((3 * TILE_2D, 2))
    h0[5] = [1.0, 1.0]
    h0[TILE_2D + 7] = [1e-300, 0.0]
    with pytest.warns(rd.DivergenceWarning, match="2 trajectories of 192"):
        traj = rd.simulate(cell, h0, steps=10, record=record, backend="cpu")
    ref = rd.simulate(cell, h0[[5, TILE_2D + 7]], steps=10, record=record, backend="reference")
    assert traj.diverged_at[5] == 4 and traj.diverged_at[TILE_2D + 7] == ref.diverged_at[1] > 4
    mask = np.ones(3 * TILE_2D, bool)
    mask[[5, TILE_2D + 7]] = False
    assert (traj.diverged_at[mask] == -1).all()
    assert np.array_equal(traj.states[[5, TILE_2D + 7]], ref.states, equal_nan=True)
    others = rd.simulate(cell, h0[mask], steps=10, record=record, backend="cpu")
    assert np.array_equal(traj.states[mask], others.states)


def test_a_sum_that_overflows_is_divergence_even_where_each_coordinate_is_finite():
    # x + y overflows at step 1 while x and y are finite: the column-sum rule marks it, as the
    # step-by-step path does, and the state is poisoned from that step on.
    big = np.finfo(np.float64).max / 1.5
    cell = rd.VanillaRNN(np.eye(2), activation="linear")
    h0 = np.zeros((TILE_2D, 2))
    h0[3] = [big, big]
    with pytest.warns(rd.DivergenceWarning):
        traj = rd.simulate(cell, h0, steps=4, record="all", backend="cpu")
    ref = rd.simulate(cell, h0[3], steps=4, record="all", backend="cpu")
    assert traj.diverged_at[3] == ref.diverged_at == 1
    assert np.array_equal(traj.states[3], ref.states, equal_nan=True)
