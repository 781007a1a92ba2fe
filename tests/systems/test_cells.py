"""The three cells: validation on construction, frozen copies, step and Jacobian against a simulated step."""

from __future__ import annotations

import numpy as np
import pytest

import rnndyn as rd
from tests.strategies import make_cell


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: rd.EulerRNN(np.ones((2, 3))), "W"),
        (lambda: rd.EulerRNN([[np.inf, 0], [0, 1]]), "W"),
        (lambda: rd.EulerRNN(np.eye(2), eps=0), "eps"),
        (lambda: rd.EulerRNN(np.eye(2), eps=-0.1), "eps"),
        (lambda: rd.EulerRNN(np.eye(2), gamma=-1), "gamma"),
        (lambda: rd.EulerRNN(np.eye(2), activation="softplus"), "activation"),
        (lambda: rd.EulerRNN(np.eye(2), V=np.ones((3, 1))), "V"),
        (lambda: rd.EulerRNN(np.eye(2), b=np.ones(3)), "b"),
        (lambda: rd.EulerRNN(np.eye(2) * 1j), "W"),
        (lambda: rd.VanillaRNN(np.array([["a", "b"], ["c", "d"]])), "W"),
        (lambda: rd.AntisymmetricRNN(np.eye(2), Vz=np.ones((2, 1))), "gated"),
        (lambda: rd.AntisymmetricRNN(np.eye(2), V=np.ones((2, 2)), gated=True, Vz=np.ones((2, 1))), "Vz"),
        (lambda: rd.AntisymmetricRNN(np.eye(2), eps="0.1"), "eps"),
    ],
)
def test_cell_construction_errors(make, match):
    with pytest.raises(rd.RnndynError, match=match):
        make()


def test_cells_are_frozen_and_copy_their_arrays():
    W = np.eye(2)
    cell = rd.EulerRNN(W, eps=0.1)
    W[0, 0] = 5
    assert cell.W[0, 0] == 1
    with pytest.raises(Exception):
        cell.eps = 0.2
    with pytest.raises(ValueError):
        cell.W[0, 0] = 3
    assert cell.replace(gamma=0.5).gamma == 0.5


def test_step_matches_one_simulated_step():
    rng = np.random.default_rng(9)
    for kind in ("vanilla", "euler", "antisymmetric", "gated"):
        cell = make_cell(kind, 4, 2, rng)
        h, x = rng.normal(size=4), rng.normal(size=2)
        assert np.allclose(cell.step(h, x), rd.simulate(cell, h, x[None]).final, rtol=1e-14)
        assert cell.step(np.stack([h, h]), x).shape == (2, 4)
        assert cell.jacobian(np.stack([h, h]), x).shape == (2, 4, 4)
