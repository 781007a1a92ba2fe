"""The bptt kernel at batch sizes that fill a BLAS block: divergence of huge states, checkpoints across blocks."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import rnndyn as rd
from rnndyn.analysis.trajectories import prepare
from tests.kernels.test_gradients import OUTPUTS, _bits, _run_kernel
from tests.strategies import make_cell


def _first_nonfinite_row_sum(h0, gain, T):
    """Per row, the first t at which the sum of h_t = gain^t h_0 (computed step by step) is not finite, or -1."""
    out = np.full(h0.shape[0], -1)
    h = h0.copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, T + 1):
            h = gain * h
            bad = ~np.isfinite(h.sum(axis=1)) & (out < 0)
            out[bad] = t
    return out


@pytest.mark.parametrize("n", [2, 9])
def test_divergence_is_the_first_step_whose_state_sum_is_not_finite(n):
    """Rows whose entries stay finite while their sum overflows (0.9e308 + 0.9e308), rows of ±1e308 whose sum
    cancels until inf - inf, and a row that overflows entry by entry: each diverges where its sum first does."""
    T = 320
    h0 = np.zeros((3, n))
    h0[0, :2] = [0.9, 0.9]
    h0[1, :2] = [1.0, -1.0]
    h0[2, 0] = 1e-3
    cell = rd.VanillaRNN(10.0 * np.eye(n), activation="linear")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        g = rd.bptt(cell, h0, steps=T, backend="cpu")
    expected = _first_nonfinite_row_sum(h0, 10.0, T)
    assert list(expected) == [308, 309, 312]
    np.testing.assert_array_equal(g.diverged_at, expected)


@pytest.mark.parametrize("n", [12, 16])  # 16: the step products run on register tiles (m % 4 == n % 8 == 0)
@pytest.mark.parametrize("kind", ["antisymmetric", "gated"])
def test_checkpoints_keep_the_bits_when_a_chunk_fills_a_blas_block(kind, n):
    """B = 64 split in chunks of 32 trajectories (the n = 128, B = 64 benchmark's split): accumulation blocks of
    8 steps, segments shorter than, equal to and longer than a block; every output bit for bit, and the result
    agrees with the NumPy twin."""
    rng = np.random.default_rng(3)
    B, d, T = 64, 1, 41
    cell = make_cell(kind, n, d, rng, act="tanh", eps=0.2, gamma=0.1, scale=0.9)
    h0 = rng.normal(scale=0.7, size=(B, n))
    x = rng.normal(size=(B, T, d))
    prep = prepare(cell, h0, x, None)

    def w(a, dtype=np.float64):
        return np.require(a, dtype=dtype, requirements=["C", "W"])

    p = prep.args
    p = p._replace(M=w(p.M), V=w(p.V), b=w(p.b), Vz=w(p.Vz), bz=w(p.bz), alpha=float(p.alpha), eps=float(p.eps),
                   act=int(p.act), gated=bool(p.gated))
    args = (p, w(prep.h0), w(prep.inputs), 0, np.zeros((1, 1, n)), np.zeros((0, n)), np.zeros(0),
            np.zeros(B, np.int64))
    stored = _run_kernel(*args, 0, 32, 0)
    for k in (3, 7, 8, 9, 16, 40):
        cp = _run_kernel(*args, k, 32, 0)
        for f in OUTPUTS:
            assert np.array_equal(_bits(cp[f]), _bits(stored[f])), (k, f)
    ref = rd.bptt(cell, h0, x, backend="reference")
    got = rd.bptt(cell, h0, x, backend="cpu")
    for name in ("dW", "dV", "db", "dh0", "delta_norms", "losses"):
        a, r = np.asarray(getattr(got, name)), np.asarray(getattr(ref, name))
        assert np.linalg.norm(a - r) <= 1e-12 * np.linalg.norm(r), name
