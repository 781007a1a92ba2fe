"""LSTM: its Jacobian against finite differences, its kernels against the NumPy twins and PyTorch's formula."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnndyn as rd
from rnndyn.errors import ValidationError
from rnndyn.kernels.cpu import lstm as cpu_discrete
from rnndyn.kernels.numpy import lstm as reference_discrete


def _lstm_and_point(seed, n=3, d=2):
    rng = np.random.default_rng(seed)
    lstm = rd.LSTM(rng.normal(size=(4 * n, d)), rng.normal(scale=0.6, size=(4 * n, n)), rng.normal(size=4 * n))
    return lstm, rng.normal(size=2 * n), rng.normal(size=d)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 4), d=st.integers(0, 2))
def test_lstm_jacobian_matches_finite_differences(seed, n, d):
    lstm, x, u = _lstm_and_point(seed, n, max(d, 1))
    if d == 0:
        lstm, u = lstm.replace(W_ih=None), None
    J = lstm.jacobian(x, u)
    h = 1e-6
    fd = np.empty_like(J)
    for j in range(2 * n):
        e = np.zeros(2 * n)
        e[j] = h
        fd[:, j] = (lstm.step(x + e, u) - lstm.step(x - e, u)) / (2 * h)
    np.testing.assert_allclose(J, fd, rtol=1e-6, atol=1e-8)


def test_lstm_kernels_match_reference_and_torch_formula():
    lstm, x, u = _lstm_and_point(11, n=4, d=2)
    H = np.stack([x, -x, 0.5 * x])
    X = np.stack([u, 2 * u, -u])
    a, b = np.empty_like(H), np.empty_like(H)
    cpu_discrete.lstm_step(H, X, lstm.W_ih, lstm.W_hh, lstm.b, a)
    reference_discrete.lstm_step(H, X, lstm.W_ih, lstm.W_hh, lstm.b, b)
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)
    Ja, Jb = np.empty((3, 8, 8)), np.empty((3, 8, 8))
    cpu_discrete.lstm_jacobian(H, X, lstm.W_ih, lstm.W_hh, lstm.b, Ja)
    reference_discrete.lstm_jacobian(H, X, lstm.W_ih, lstm.W_hh, lstm.b, Jb)
    np.testing.assert_allclose(Ja, Jb, rtol=1e-12, atol=1e-15)
    # PyTorch's LSTMCell written out: gates (i, f, g, o)
    n = 4
    h, c = x[:n], x[n:]
    g = lstm.W_ih @ u + lstm.W_hh @ h + lstm.b
    sig = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    c2 = sig(g[n:2 * n]) * c + sig(g[:n]) * np.tanh(g[2 * n:3 * n])
    np.testing.assert_allclose(lstm.step(x, u), np.concatenate([sig(g[3 * n:]) * np.tanh(c2), c2]), rtol=1e-14)
    # the map form runs the same step
    m = lstm.as_map()
    np.testing.assert_allclose(m.step(x, u), lstm.step(x, u), rtol=1e-14)
    np.testing.assert_allclose(m.jacobian(x, u), lstm.jacobian(x, u), rtol=1e-13, atol=1e-15)


def test_lstm_init_and_validation():
    lstm = rd.LSTM.init(5, d=2, rng=0)
    assert (lstm.n, lstm.dim, lstm.d) == (5, 10, 2)
    np.testing.assert_array_equal(lstm.b[5:10], 1.0)
    for gate in range(4):
        blk = lstm.W_hh[5 * gate:5 * gate + 5]
        np.testing.assert_allclose(blk.T @ blk, np.eye(5), atol=1e-12)
    with pytest.raises(ValidationError, match="W_hh"):
        rd.LSTM(None, np.zeros((5, 2)))
    with pytest.raises(ValidationError, match="W_ih"):
        rd.LSTM(np.zeros((7, 1)), np.zeros((8, 2)))
    with pytest.raises(ValidationError, match="x"):
        lstm.step(np.zeros(5))
    traj = rd.simulate(lstm, np.zeros(10), np.ones((4, 2)))
    x = np.zeros(10)
    for _ in range(4):
        x = lstm.step(x, np.ones(2))
    np.testing.assert_allclose(traj.final, x, rtol=1e-13, atol=1e-15)
