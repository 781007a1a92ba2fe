"""The register-tiled products (rnndyn.kernels.cpu.tiles) and the steps that use them: each entry must round
exactly as the plain loop that sums one fused multiply-add at a time from j = 0, wherever the tiles end."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import njit, types

from rnndyn.kernels.cpu.common import _block_step, _mark_diverged, _matmul_small
from rnndyn.kernels.cpu.tiles import (
    TILE_ROWS,
    _wide_columns,
    tile_affine_wide,
    tile_product_wide,
    tiled_affine,
    tiled_product,
)
from rnndyn.kernels.params import FASTMATH, TANH

_FM = set(FASTMATH)


@njit(fastmath=_FM, error_model="numpy")
def _plain_affine(M, H, b, V, X, out):
    """out = M @ H + b + V @ X entry by entry: the product from j = 0, then the bias, then each input in order."""
    n, m = H.shape
    for i in range(M.shape[0]):
        for k in range(m):
            s = out.dtype.type(0.0)
            for j in range(n):
                s += M[i, j] * H[j, k]
            s += b[i]
            for j in range(V.shape[1]):
                s += V[i, j] * X[j, k]
            out[i, k] = s


@njit(fastmath=_FM, error_model="numpy")
def _tiled(M, H, out):
    return tiled_product(M, H, out)


@njit(fastmath=_FM, error_model="numpy")
def _tiled_aff(M, H, b, V, X, out):
    return tiled_affine(M, H, b, V, X, out)


@njit(fastmath=_FM, error_model="numpy")
def _wide(M, H, b, V, X, out, i, c, affine):
    if affine:
        tile_affine_wide(M, H, b, V, X, out, i, c)
    else:
        tile_product_wide(M, H, out, i, c)


def _problem(n, m, d, dtype, seed):
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n, n)).astype(dtype)
    H = rng.normal(size=(n, m)).astype(dtype)
    b = rng.normal(size=n).astype(dtype)
    V = rng.normal(size=(n, d)).astype(dtype)
    X = rng.normal(size=(d, m)).astype(dtype)
    return M, H, b, V, X


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), m=st.integers(1, 70), d=st.integers(0, 3),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**32 - 1))
def test_tiles_round_as_the_plain_loop(n, m, d, dtype, seed):
    M, H, b, V, X = _problem(n, m, d, dtype, seed)
    w = 32 // np.dtype(dtype).itemsize * 2
    ref = np.empty((n, m), dtype)
    _plain_affine(M, H, np.zeros_like(b), V[:, :0], X[:0], ref)

    got = np.full((n, m), np.nan, dtype)
    nt, mt = _tiled(M, H, got)
    assert (nt, mt) == (n - n % TILE_ROWS, m - m % w)
    assert np.array_equal(got[:nt, :mt], ref[:nt, :mt])
    assert np.isnan(got[nt:]).all() and np.isnan(got[:, mt:]).all()  # nothing written outside the tiles

    _matmul_small(M, H, got)  # tiles and the loops around them
    assert np.array_equal(got, ref)

    ref_aff = np.empty((n, m), dtype)
    _plain_affine(M, H, b, V, X, ref_aff)
    got = np.full((n, m), np.nan, dtype)
    nt, mt = _tiled_aff(M, H, b, V, X, got)
    assert np.array_equal(got[:nt, :mt], ref_aff[:nt, :mt])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("affine", [False, True])
def test_a_wide_tile_rounds_as_the_plain_loop_on_any_host(dtype, affine):
    # The 512-bit tile is used only on AVX-512 targets, but its code is valid anywhere (LLVM splits the
    # vectors where they are wider than the registers), so its rounding is checked on every host.
    n, d = 9, 2
    w = 2 * 64 // np.dtype(dtype).itemsize
    M, H, b, V, X = _problem(n, 2 * w + 3, d, dtype, 11)
    ref = np.empty(H.shape, dtype)
    _plain_affine(M, H, b if affine else np.zeros_like(b), V if affine else V[:, :0], X if affine else X[:0], ref)
    got = np.full(H.shape, np.nan, dtype)
    _wide(M, H, b, V, X, got, 4, w, affine)
    assert np.array_equal(got[4:8, w:2 * w], ref[4:8, w:2 * w])
    got[4:8, w:2 * w] = np.nan
    assert np.isnan(got).all()  # nothing written outside the tile


def test_wide_tiles_only_where_the_target_has_them():
    from tests.helpers import host_has_avx512

    assert (_wide_columns(types.float64), _wide_columns(types.float32)) == ((16, 32) if host_has_avx512() else (0, 0))


def test_arrays_that_cannot_be_tiled_are_left_to_the_loops():
    M, H, b, V, X = _problem(8, 16, 1, np.float64, 3)
    out = np.zeros((8, 16))
    assert _tiled(np.asfortranarray(M), H, out) == (0, 0)  # not C-contiguous
    assert _tiled(M, H[:, ::2].copy(order="F"), out[:, :8]) == (0, 0)
    assert not out.any()
    Mt = np.asfortranarray(M)
    got, ref = np.empty((8, 16)), np.empty((8, 16))
    _matmul_small(Mt, H, got)
    _plain_affine(M, H, np.zeros(8), V[:, :0], X[:0], ref)
    assert np.array_equal(got, ref)


@pytest.mark.parametrize("n,m,d", [(32, 32, 1), (13, 21, 2), (4, 8, 0), (3, 5, 1)])
def test_block_step_with_tiles_is_the_plain_step(n, m, d):
    M, H, b, V, X = _problem(n, m, d, np.float64, n + m)
    A, Hn, acc = np.empty((n, m)), np.empty((n, m)), np.empty(m)
    empty = np.empty((0, m))
    _block_step(H, Hn, A, empty, X, 0.9, 0.1, TANH, False, M, V, b, V, b, False, acc)
    ref = np.empty((n, m))
    _plain_affine(M, H, b, V, X, ref)
    assert np.array_equal(A, ref)
    Hb = np.empty((n, m))
    _block_step(H, Hb, ref, empty, X, 0.9, 0.1, TANH, False, M, V, b, V, b, True, acc)  # the BLAS product
    assert np.allclose(Hb, Hn, rtol=1e-14, atol=1e-15)


def test_mark_diverged_counts_non_finite_sums_only():
    H = np.ones((2, 5))
    div = np.full(5, -1, np.int64)
    acc = np.array([1.0, np.finfo(np.float64).max, -np.finfo(np.float64).max, 2.0, 0.0])
    assert _mark_diverged(H, acc, div, 3) == 0 and (div == -1).all()
    acc[[1, 3]] = [np.inf, np.nan]
    assert _mark_diverged(H, acc, div, 4) == 2
    assert list(div) == [-1, 4, -1, 4, -1]
    assert np.isnan(H[:, [1, 3]]).all() and (H[:, [0, 2, 4]] == 1.0).all()
