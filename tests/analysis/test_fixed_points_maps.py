"""fixed_points on general maps (rd.Map) and the LSTM's map form."""

import numpy as np
import pytest

import rnndyn as rd


def test_henon_fixed_points_are_the_analytic_saddles():
    a, b = 1.4, 0.3
    fps = rd.fixed_points(rd.systems.henon(a, b))
    xs = sorted(fp.state[0] for fp in fps)
    r = np.sqrt((1 - b) ** 2 + 4 * a)
    assert np.allclose(xs, sorted([(-(1 - b) + r) / (2 * a), (-(1 - b) - r) / (2 * a)]), atol=1e-12)
    for fp in fps:
        assert fp.kind == "saddle"
        assert np.allclose(fp.state[1], b * fp.state[0])
        assert fp.residual <= 1e-10


def test_logistic_map_fixed_points_and_types():
    fps = rd.fixed_points(rd.systems.logistic(2.5), bounds=(-0.5, 1.5))
    got = {round(float(fp.state[0]), 12): fp.kind for fp in fps}
    assert got == {0.0: "source", 0.6: "sink"}  # f'(0) = 2.5, f'(1 - 1/r) = 2 - r = -0.5


def test_lstm_origin_is_a_fixed_point_without_bias():
    rng = np.random.default_rng(0)
    n = 3
    lstm = rd.LSTM(rng.normal(scale=0.3, size=(4 * n, 1)), rng.normal(scale=0.3, size=(4 * n, n)), np.zeros(4 * n))
    fps = rd.fixed_points(lstm, n_starts=8)
    assert any(np.allclose(fp.state, 0) for fp in fps)
    for fp in fps:
        assert np.linalg.norm(lstm.step(fp.state) - fp.state) <= 1e-10


def test_map_fixed_points_validate_arguments():
    with pytest.raises(rd.RnndynError, match="n_starts"):
        rd.fixed_points(rd.systems.henon(), n_starts=-1)
