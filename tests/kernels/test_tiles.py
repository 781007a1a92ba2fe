"""The register-tiled products (rnndyn.kernels.cpu.tiles) and the steps that use them: each entry must round
exactly as the plain loop that sums one fused multiply-add at a time from j = 0, wherever the tiles end."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numba import from_dtype, njit, types

from rnndyn.kernels.cpu.clv import _solve_rows
from rnndyn.kernels.cpu.common import (
    _REFLECT_STRIP_MIN,
    _block_step,
    _column_sums,
    _mark_diverged,
    _matmul_small,
    _reflect,
)
from rnndyn.kernels.cpu.intrinsics import fma, wide_vector_bytes
from rnndyn.kernels.cpu.tiles import (
    SUM_VECS,
    TILE_ROWS,
    _lanes,
    _tile_columns,
    _wide_columns,
    column_sums_strip,
    column_sums_strip_wide,
    pack_panels,
    tile_affine_wide,
    tile_product_wide,
    tile_solve_upper,
    tile_solve_upper_wide,
    tiled_affine,
    tiled_column_sums,
    tiled_product,
    tiled_product_panels,
    tiled_reflect,
    tiled_reflect_run,
    tiled_reflect_run_backward,
    tiled_reflect_wide,
    tiled_solve_upper,
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


@njit(fastmath=_FM, error_model="numpy")
def _panels(M, H, out):
    P = pack_panels(H)
    return P, tiled_product_panels(M, P, out)


@settings(max_examples=30, deadline=None)
@given(n_out=st.integers(1, 40), n=st.integers(0, 40), m=st.integers(1, 70),
       dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**32 - 1))
def test_panel_tiles_round_as_the_strips_of_the_matrix(n_out, n, m, dtype, seed):
    rng = np.random.default_rng(seed)
    M = rng.normal(size=(n_out, n)).astype(dtype)
    H = rng.normal(size=(n, m)).astype(dtype)
    w = _wide_columns(from_dtype(np.dtype(dtype))) or _tile_columns(from_dtype(np.dtype(dtype)))
    got = np.full((n_out, m), np.nan, dtype)
    P, nt = _panels(M, H, got)
    k = m // w
    assert P.shape == (k, n, w) and nt == n_out - n_out % TILE_ROWS
    for s in range(k):  # each panel holds its columns of H, row by row
        assert np.array_equal(P[s], H[:, s * w:(s + 1) * w])
    ref = np.empty((n_out, m), dtype)
    _plain_affine(M, H, np.zeros(n_out, dtype), np.zeros((n_out, 0), dtype), np.zeros((0, m), dtype), ref)
    assert np.array_equal(got[:nt, :k * w], ref[:nt, :k * w])
    assert np.isnan(got[nt:]).all() and np.isnan(got[:, k * w:]).all()  # nothing written outside the tiles


@njit(fastmath=_FM, error_model="numpy")
def _tiled_panels(M, P, out):
    return tiled_product_panels(M, P, out)


def test_panels_of_another_shape_are_left_to_the_caller():
    M = np.ones((8, 8))
    w = _wide_columns(types.float64) or _tile_columns(types.float64)
    out = np.zeros((8, 64))
    assert _tiled_panels(M, np.ones((2, 8, w // 2)), out) == 0  # narrower than a tile
    assert _tiled_panels(M, np.ones((2, 7, w)), out) == 0  # not M's inner dimension
    assert _tiled_panels(M, np.ones((64 // w + 1, 8, w)), out) == 0  # more columns than out has
    assert _tiled_panels(np.asfortranarray(M), np.ones((1, 8, w)), out) == 0
    assert not out.any()
    assert _tiled_panels(M, np.ones((1, 8, w)), out) == 8
    assert (out[:, :w] == 8.0).all() and not out[:, w:].any()


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


def test_mark_diverged_marks_columns_with_a_non_finite_entry():
    big = np.finfo(np.float64).max
    H = np.ones((2, 6))
    div = np.full(6, -1, np.int64)
    acc = np.array([1.0, big, -big, 2.0, 0.0, 2.0])
    assert _mark_diverged(H, acc, div, 3) == 0 and (div == -1).all()
    H[0, 1], H[1, 3] = np.inf, np.nan
    H[:, 5] = 0.75 * big  # finite entries whose sum overflows: not diverged (the NumPy twin tests entries)
    acc[[1, 3, 5]] = [np.inf, np.nan, np.inf]
    assert _mark_diverged(H, acc, div, 4) == 2
    assert list(div) == [-1, 4, -1, 4, -1, -1]
    assert np.isnan(H[:, [1, 3]]).all() and (H[:, [0, 2, 4]] == 1.0).all() and (H[:, 5] == 0.75 * big).all()


@njit(fastmath=_FM, error_model="numpy")
def _plain_column_sums(H, acc):
    for k in range(H.shape[1]):
        s = H.dtype.type(0.0)
        for i in range(H.shape[0]):
            s += H[i, k]
        acc[k] = s


@njit(fastmath=_FM, error_model="numpy")
def _tiled_sums(H, acc):
    return tiled_column_sums(H, acc)


@njit(fastmath=_FM, error_model="numpy")
def _strip(H, acc, c, wide):
    if wide:
        column_sums_strip_wide(H, acc, c)
    else:
        column_sums_strip(H, acc, c)


def _sums_problem(n, m, dtype, seed):
    rng = np.random.default_rng(seed)
    H = (rng.normal(size=(n, m)) * 10.0 ** rng.integers(-8, 9, size=(n, m))).astype(dtype)
    H[rng.random((n, m)) < 0.05] = -0.0
    return H


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 40), m=st.integers(1, 100), dtype=st.sampled_from([np.float64, np.float32]),
       seed=st.integers(0, 2**32 - 1))
def test_column_sums_add_the_rows_in_order(n, m, dtype, seed):
    """The strips of column sums round as the plain loop (each column from row 0 down, one addition at a time),
    signed zeros included, and cover whole strips only; _column_sums does the rest with loops."""
    H = _sums_problem(n, m, dtype, seed)
    ref = np.empty(m, dtype)
    _plain_column_sums(H, ref)
    nb = from_dtype(H.dtype)
    lanes = _lanes(nb, wide_vector_bytes()) if wide_vector_bytes() else _lanes(nb)
    got = np.full(m, np.nan, dtype)
    mt = _tiled_sums(H, got)
    assert mt <= m and mt % (SUM_VECS * _lanes(nb)) == 0 and m - mt < SUM_VECS * lanes
    assert np.array_equal(got[:mt], ref[:mt]) and np.array_equal(np.signbit(got[:mt]), np.signbit(ref[:mt]))
    assert np.isnan(got[mt:]).all()  # nothing written past the strips
    full = np.full(m, np.nan, dtype)
    _column_sums(H, full)
    assert np.array_equal(full, ref) and np.array_equal(np.signbit(full), np.signbit(ref))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("wide", [False, True])
def test_a_column_sum_strip_keeps_non_finite_entries_on_any_host(dtype, wide):
    """A strip (512-bit ones too, which LLVM splits where the host has no such vectors) rounds as the loop and
    lets inf and NaN through: the divergence check reads these sums."""
    lanes = _lanes(from_dtype(np.dtype(dtype)), 64 if wide else 32)
    m = SUM_VECS * lanes + 3
    H = _sums_problem(7, m, dtype, 5)
    H[2, 1], H[4, 2], H[5, 2], H[3, 3] = np.inf, np.inf, -np.inf, np.nan
    ref = np.empty(m, dtype)
    _plain_column_sums(H, ref)
    got = np.full(m, 7.0, dtype)
    _strip(H, got, 0, wide)
    w = SUM_VECS * lanes
    assert np.array_equal(got[:w], ref[:w], equal_nan=True) and (got[w:] == 7.0).all()
    assert got[1] == np.inf and np.isnan(got[2]) and np.isnan(got[3])


@njit(fastmath=False, error_model="numpy")
def _plain_reflect(A, Vh, j):
    """H_j applied column by column: w = A[j, c] + sum of v_i A[i, c] (rows in order), then the update."""
    n, k = A.shape
    tau = Vh[j, j]
    for c in range(k):
        w = A[j, c]
        for i in range(j + 1, n):
            w += Vh[i, j] * A[i, c]
        w *= tau
        A[j, c] -= w
        for i in range(j + 1, n):
            A[i, c] -= Vh[i, j] * w


@njit(error_model="numpy")
def _strips(A, Vh, j, wide, c_lo=0, c_hi=-1):
    c_hi = A.shape[1] if c_hi < 0 else c_hi
    return tiled_reflect_wide(A, Vh, j, c_lo, c_hi) if wide else tiled_reflect(A, Vh, j, c_lo, c_hi)


def _reflect_problem(n, k, j, dtype, seed):
    rng = np.random.default_rng(seed)
    A = (rng.normal(size=(n, k)) * 10.0 ** rng.integers(-3, 4, size=(n, k))).astype(dtype)
    A[rng.random((n, k)) < 0.05] = -0.0
    Vh = rng.normal(size=(n, n)).astype(dtype)
    Vh[j, j] = dtype(1.0 + rng.random())  # tau in [1, 2], as a Householder tau
    return A, Vh


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), k=st.integers(1, 70), dtype=st.sampled_from([np.float64, np.float32]),
       wide=st.booleans(), data=st.data())
def test_reflection_strips_round_as_the_plain_loop(n, k, dtype, wide, data):
    """The strips of a Householder reflection (w in registers over all rows) round as the column-by-column
    loop, signed zeros included, leave the rows above j and the columns past them alone, and cover all but
    fewer than one 256-bit vector of columns; 512-bit strips too, on any host."""
    j = data.draw(st.integers(0, n - 1))
    A, Vh = _reflect_problem(n, k, j, dtype, data.draw(st.integers(0, 2**32 - 1)))
    ref = A.copy()
    _plain_reflect(ref, Vh, j)
    got = A.copy()
    ct = _strips(got, Vh, j, wide)
    assert ct <= k and k - ct < _lanes(from_dtype(np.dtype(dtype)))
    assert np.array_equal(got[:, :ct], ref[:, :ct]) and np.array_equal(np.signbit(got), np.signbit(np.where(
        np.arange(k) < ct, ref, A)))
    assert np.array_equal(got[:, ct:], A[:, ct:]) and np.array_equal(got[:j], A[:j])


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 20), k=st.integers(1, 60), pad=st.sampled_from([0, 3, 8]), wide=st.booleans(),
       data=st.data())
def test_reflection_strips_of_a_column_range_and_of_padded_rows(n, k, pad, wide, data):
    """Strips from c_lo to at most c_hi, on views of the first k columns of wider arrays (padded rows): the
    columns outside the range stay as they were, those inside round as the plain loop."""
    j = data.draw(st.integers(0, n - 1))
    c_lo = data.draw(st.integers(0, k))
    c_hi = data.draw(st.integers(c_lo, k))
    A0, V0 = _reflect_problem(n, k + pad, j, np.float64, data.draw(st.integers(0, 2**32 - 1)))
    A, Vh = A0[:, :k], np.concatenate([V0, np.full((n, pad), np.nan)], axis=1)[:, :n]  # v_j: column j < n
    ref = A.copy(order="C")
    _plain_reflect(ref, Vh.copy(order="C"), j)
    got = A.copy(order="C")
    padded = np.concatenate([got, A0[:, k:]], axis=1)
    view = padded[:, :k]
    ct = _strips(view, Vh, j, wide, c_lo, c_hi)
    assert c_lo <= ct <= c_hi and c_hi - ct < 4
    assert np.array_equal(view[:, c_lo:ct], ref[:, c_lo:ct])
    assert np.array_equal(view[:, :c_lo], A[:, :c_lo]) and np.array_equal(view[:, ct:], A[:, ct:])
    assert np.array_equal(padded[:, k:], A0[:, k:])  # the padding is not written


@njit(error_model="numpy")
def _run(A, Vh, j_lo, j_hi, backward, c_lo, c_hi):
    if backward:
        return tiled_reflect_run_backward(A, Vh, j_lo, j_hi, c_lo, c_hi)
    return tiled_reflect_run(A, Vh, j_lo, j_hi, c_lo, c_hi)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), k=st.integers(1, 70), pad=st.sampled_from([0, 8]),
       dtype=st.sampled_from([np.float64, np.float32]), backward=st.booleans(), data=st.data())
def test_a_run_of_reflections_rounds_as_one_after_another(n, k, pad, dtype, backward, data):
    """tiled_reflect_run (each row's update and the next reflector's sum in one pass) gives the bits of the
    plain reflections applied one after another, ascending or descending, signed zeros included; reflectors
    with tau = 0 are skipped (H_j = I); columns outside [c_lo, c_hi) and the padding are not written."""
    j_lo = data.draw(st.integers(0, n - 1))
    j_hi = data.draw(st.integers(j_lo, n))
    c_lo = data.draw(st.integers(0, k))
    c_hi = data.draw(st.integers(c_lo, k))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    A0 = (rng.normal(size=(n, k + pad)) * 10.0 ** rng.integers(-3, 4, size=(n, k + pad))).astype(dtype)
    A0[rng.random(A0.shape) < 0.05] = -0.0
    Vh = np.ascontiguousarray(rng.normal(size=(n, n)).astype(dtype) * dtype(0.3))
    for j in range(n):
        Vh[j, j] = dtype(0.0) if rng.random() < 0.2 else dtype(1.0 + rng.random())
    ref = A0[:, :k].copy(order="C")
    for j in (range(j_hi - 1, j_lo - 1, -1) if backward else range(j_lo, j_hi)):
        if Vh[j, j] != 0.0:
            _plain_reflect(ref, Vh, j)
    padded = A0.copy()
    view = padded[:, :k]
    ct = _run(view, Vh, j_lo, j_hi, backward, c_lo, c_hi)
    assert c_lo <= ct <= c_hi and c_hi - ct < _lanes(from_dtype(np.dtype(dtype)))
    assert np.array_equal(view[:, c_lo:ct], ref[:, c_lo:ct])
    assert np.array_equal(np.signbit(view[:, c_lo:ct]), np.signbit(ref[:, c_lo:ct]))
    assert np.array_equal(view[:, :c_lo], A0[:, :c_lo]) and np.array_equal(view[:, ct:k], A0[:, ct:k])
    assert np.array_equal(padded[:, k:], A0[:, k:])


def test_reflection_strips_leave_rows_with_gaps_to_the_loops():
    """A view whose entries within a row are not adjacent is covered by no strip (the loops take it)."""
    A0, Vh = _reflect_problem(6, 32, 1, np.float64, 4)
    A = A0[:, ::2]
    before = A.copy()
    assert _strips(A, np.ascontiguousarray(Vh[:, :16]), 1, True) == 0
    assert np.array_equal(A, before)


@pytest.mark.parametrize("k", [1, 2, 5, _REFLECT_STRIP_MIN - 1, _REFLECT_STRIP_MIN, 12, 13, 16, 19, 33])
def test_reflect_is_the_plain_reflection_for_any_width(k):
    """common._reflect (strips, then the loops for the columns left) is the plain reflection, below and above
    the width from which it takes the strips."""
    for j in (0, 3):
        A, Vh = _reflect_problem(9, k, j, np.float64, k)
        ref, got = A.copy(), A.copy()
        _plain_reflect(ref, Vh, j)
        _reflect(got, Vh, np.empty(k), j)
        assert np.array_equal(got, ref)


def test_reflection_strips_let_non_finite_entries_through():
    """inf and NaN in A or v reach the columns they touch (the QR reports a diverged basis from them)."""
    A, Vh = _reflect_problem(6, 16, 1, np.float64, 2)
    A[3, 2], A[4, 5], Vh[5, 1] = np.inf, np.nan, 1.0
    A[5, 9] = -np.inf
    ref, got = A.copy(), A.copy()
    _plain_reflect(ref, Vh, 1)
    assert _strips(got, Vh, 1, True) == 16
    assert np.array_equal(got, ref, equal_nan=True)
    assert not np.isfinite(got[1:, [2, 5, 9]]).any()


# --------------------------------------------------------------------------- the triangular solve's tiles


@njit(error_model="numpy")
def _plain_solve_tile(R, C, X, i0, j1, c0, w):
    """The rounding a tile of tile_solve_upper promises, one entry at a time."""
    for c in range(c0, c0 + w):
        acc = np.zeros(TILE_ROWS, R.dtype)
        for r in range(TILE_ROWS):
            for j in range(i0 + TILE_ROWS, j1):
                acc[r] = fma(R[i0 + r, j], X[j, c], acc[r])
        for r in range(TILE_ROWS - 1, -1, -1):
            v = C[i0 + r, c] - acc[r]
            for q in range(r + 1, TILE_ROWS):
                v = fma(-R[i0 + r, i0 + q], X[i0 + q, c], v)
            X[i0 + r, c] = v / R[i0 + r, i0 + r]


@njit(error_model="numpy")
def _solve_tile(R, C, X, i0, j1, c0, wide):
    if wide:
        tile_solve_upper_wide(R, C, X, i0, j1, c0)
    else:
        tile_solve_upper(R, C, X, i0, j1, c0)


@njit(error_model="numpy")
def _tiled_solve(R, C, X):
    """X = R^-1 C as the CLV backward step solves it: bottom rows, tiles, then the columns left."""
    k = R.shape[0]
    kt = k - k % TILE_ROWS
    _solve_rows(R, C, X, k, kt, 0)
    mt = tiled_solve_upper(R, C, X, kt)
    _solve_rows(R, C, X, kt, 0, mt)
    return mt


def _triangular_problem(k, dtype, seed):
    rng = np.random.default_rng(seed)
    R = (np.triu(rng.normal(size=(k, k)) * 0.3) + np.diag(rng.uniform(0.5, 2.0, k))).astype(dtype)
    C = np.triu(rng.normal(size=(k, k))).astype(dtype)
    return R, C


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("wide", [False, True])
def test_a_solve_tile_rounds_as_its_plain_loop_on_any_host(dtype, wide):
    k = 40
    w = 2 * (64 if wide else 32) // np.dtype(dtype).itemsize
    R, C = _triangular_problem(k, dtype, 5)
    below = np.linalg.solve(R.astype(np.float64), C.astype(np.float64)).astype(dtype)  # rows the tile reads
    for i0, j1 in ((0, min(k, w)), (4, min(k, w + 8)), (8, 8 + 4)):
        X = np.where(np.arange(k)[:, None] >= i0 + TILE_ROWS, below, np.nan).astype(dtype)
        X[j1:] = 0.0
        ref = X.copy()
        _plain_solve_tile(R, C, ref, i0, j1, 0, w)
        _solve_tile(R, C, X, i0, j1, 0, wide)
        assert np.array_equal(X[i0:i0 + TILE_ROWS, :w], ref[i0:i0 + TILE_ROWS, :w])
        assert np.isnan(X[:i0]).all() and np.isnan(X[i0:i0 + TILE_ROWS, w:]).all()  # nothing written outside


@settings(max_examples=40, deadline=None)
@given(k=st.integers(1, 140), dtype=st.sampled_from([np.float64, np.float32]), seed=st.integers(0, 2**16))
def test_the_tiled_triangular_solve_solves_and_keeps_the_lower_zeros(k, dtype, seed):
    R, C = _triangular_problem(k, dtype, seed)
    X = np.zeros((k, k), dtype)
    for _ in range(2):  # a second solve into the same X, as the backward steps reuse it
        mt = _tiled_solve(R, C, X)
    assert 0 <= mt <= k
    assert np.all(np.tril(X, -1) == 0)
    ref = np.linalg.solve(R.astype(np.float64), C.astype(np.float64))
    tol = 1e-12 if dtype == np.float64 else 2e-4
    assert np.abs(X - ref).max() <= tol * max(1.0, np.abs(ref).max())


def test_a_solve_that_cannot_be_tiled_is_left_to_the_loops():
    R, C = _triangular_problem(16, np.float64, 1)

    @njit
    def cover(R, C, X):
        return tiled_solve_upper(R, C, X, 16)

    assert cover(np.asfortranarray(R), C, np.zeros((16, 16))) == 0
