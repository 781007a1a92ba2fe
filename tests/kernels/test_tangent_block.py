"""The small-n tangent kernel, which runs a block of trajectories with the batch innermost: its Frobenius
norms are _fro's bit for bit, a trajectory's result does not depend on the block it ran in, and a
trajectory that diverges is marked at its own step without touching the others."""

import numpy as np
import pytest

import rnndyn as rd
from rnndyn.analysis.trajectories import prepare
from rnndyn.backends.drivers import cell_args
from rnndyn.kernels.cpu.common import _fro
from rnndyn.kernels.cpu.trajectories import _fro_columns, tangent


def _run(cell, h0, x, chunk, norm_kind=1, vecs=None, steps=None):
    prep = prepare(cell, h0, x, steps)
    B, n = prep.h0.shape
    T = prep.steps
    vecs = np.empty((n, 0)) if vecs is None else vecs
    out = dict(final=np.empty((B, n)), jac=np.empty((B, n, n)), norms=np.empty((B, T + 1)),
               vec_norms=np.empty((B, T + 1, vecs.shape[1])), div=np.empty(B, np.int64))
    tangent(prep.h0, prep.inputs, *cell_args(prep.args), vecs, norm_kind, out["final"], out["jac"], out["norms"],
            out["vec_norms"], out["div"], 10**6, chunk)
    return out


def _cell(n, d, seed, gain=1.0, **kw):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n)) * gain / np.sqrt(n)
    V = rng.normal(size=(n, d)) if d else None
    return rd.EulerRNN(W, V, rng.normal(size=n) * 0.1, eps=0.2, gamma=0.1, **kw), rng


def test_fro_columns_are_fro_bit_for_bit():
    rng = np.random.default_rng(0)
    for n, m in [(1, 1), (5, 3), (8, 16), (13, 9), (16, 24)]:
        mats = rng.normal(size=(m, n, n)) * 10.0 ** rng.uniform(-300, 300, size=(m, 1, 1))
        mats[0, 0, 0] = np.nan if m > 1 else mats[0, 0, 0]
        if m > 2:
            mats[1] = 0.0
            mats[2, -1, -1] = np.inf
        A2 = np.ascontiguousarray(mats.transpose(1, 2, 0).reshape(n, n * m))  # A2[i, j*m + k] = A_k[i, j]
        out = np.empty(m)
        _fro_columns(A2, n, m, np.empty(m), np.empty(m), np.empty(m), np.empty(m, np.int64), np.empty((4, m)), out)
        want = np.array([_fro(a) for a in mats])
        assert np.array_equal(out, want, equal_nan=True)


@pytest.mark.parametrize("n,d,act", [(8, 1, "tanh"), (5, 2, "tanh"), (16, 0, "relu"), (3, 1, "sigmoid")])
def test_a_trajectory_does_not_depend_on_its_block(n, d, act):
    cell, rng = _cell(n, d, n + d, activation=act)
    B, T = 21, 40
    h0 = rng.normal(size=(B, n))
    x = rng.normal(size=(B, T, d)) if d else None
    runs = [_run(cell, h0, x, chunk, steps=T) for chunk in (1, 8, 16, 64)]
    for other in runs[1:]:
        for key in ("final", "jac", "norms"):
            assert np.array_equal(runs[0][key], other[key]), key
    ref = rd.tangent(cell, h0, x, steps=T, norm="fro", backend="reference")
    assert np.allclose(runs[0]["jac"], ref.jacobian, rtol=1e-12, atol=1e-13)
    assert np.allclose(runs[0]["norms"], ref.norms, rtol=1e-12)


def test_spectral_norms_and_vectors_in_a_block_match_the_reference():
    n = 6
    cell, rng = _cell(n, 1, 3)
    h0, x = rng.normal(size=(10, n)), rng.normal(size=(10, 30, 1))
    vecs = rng.normal(size=(n, 2))
    got = _run(cell, h0, x, 8, norm_kind=0, vecs=vecs)
    ref = rd.tangent(cell, h0, x, norm="spectral", vectors=vecs, backend="reference")
    assert np.allclose(got["norms"], ref.norms, rtol=1e-12)
    assert np.allclose(got["vec_norms"], ref.vector_norms, rtol=1e-12)


def test_a_diverging_trajectory_is_marked_alone():
    n = 4
    cell, rng = _cell(n, 0, 5, gain=3.0, activation="linear")
    h0 = rng.normal(size=(9, n)) * 1e-3
    h0[4] = 1e306  # overflows within a few steps of a linear cell with eps = 0.2
    got = _run(cell, h0, None, 8, steps=200)
    alone = _run(cell, h0[4:5], None, 8, steps=200)
    assert got["div"][4] == alone["div"][0] > 0
    assert (np.delete(got["div"], 4) == -1).all()
    assert np.isnan(got["norms"][4, got["div"][4]:]).all() and np.isfinite(got["norms"][4, :got["div"][4]]).all()
    assert np.isnan(got["jac"][4]).all() and np.isnan(got["final"][4]).all()
    others = _run(cell, np.delete(h0, 4, axis=0), None, 8, steps=200)
    assert np.array_equal(others["jac"], np.delete(got["jac"], 4, axis=0))

