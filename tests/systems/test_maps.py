"""Map: the two forms of a user's rule and Jacobian, and what is refused when a map is made."""

from __future__ import annotations

import numpy as np
import pytest

import rnndyn as rd
from rnndyn.errors import ArgumentTypeError, ValidationError


def test_user_maps_in_both_forms():
    def rule(x, u, p, out):
        out[0] = p[0] * x[0] + u[0]
        out[1] = p[1] * x[1]

    def jac(x, u, p, out):
        out[:, :] = 0.0
        out[0, 0] = p[0]
        out[1, 1] = p[1]

    m = rd.Map(rule, jac, dim=2, params=[0.5, 2.0], input_dim=1)
    traj = rd.simulate(m, [1.0, 1.0], np.zeros((3, 1)))
    np.testing.assert_allclose(traj.states[-1], [0.125, 8.0])
    les = rd.lyapunov_spectrum(m, [1.0, 1.0], np.zeros((20, 1)))
    np.testing.assert_allclose(les.exponents, np.log([2.0, 0.5]), atol=1e-12)
    with pytest.raises(ValidationError, match="inputs"):
        rd.simulate(m, [1.0, 1.0], steps=3)

    def simple_rule(x):
        return np.array([np.sin(x[0])])

    def simple_jac(x):
        return np.array([[np.cos(x[0])]])

    s = rd.Map(simple_rule, simple_jac, dim=1, name="sine")
    np.testing.assert_allclose(rd.simulate(s, [1.0], steps=2).final, [np.sin(np.sin(1.0))])
    assert s.jacobian([0.0]) == pytest.approx(np.array([[1.0]]))
    assert "sine" in repr(s)


def test_bad_maps():
    with pytest.raises(ValidationError, match="rule"):
        rd.Map(lambda x, y: x, lambda x: x, dim=1)
    with pytest.raises(ValidationError, match="rule"):
        rd.Map(lambda x: np.zeros(3), lambda x: np.zeros((2, 2)), dim=2)
    with pytest.raises(ArgumentTypeError, match="jacobian"):
        rd.Map(lambda x: x, 3, dim=1)

    def oob(x, u, p, out):
        out[2] = 1.0

    with pytest.raises(ValidationError, match="rule"):
        rd.Map(oob, lambda x: np.eye(2), dim=2)
    with pytest.raises(ValidationError, match="h0"):
        rd.simulate(rd.systems.henon(), [0.1, 0.1, 0.1], steps=3)
