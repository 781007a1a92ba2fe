"""rnndyn.kernels.cpu.intrinsics.opaque: the values unchanged, the kernels' activations unchanged bit for bit,
and the loops still vectorised with the constants no longer re-broadcast in every iteration."""

import numpy as np
import pytest
from llvmlite import binding as ll
from numba import njit
from numba.core import config as numba_config

from rnndyn.kernels import scalar, vecmath
from rnndyn.kernels.cpu.common import (
    _CONSTANTS32,
    _FASTMATH,
    _dtanh_f64,
    _sigmoid_f64,
    _tanh_f64,
)
from rnndyn.kernels.cpu.intrinsics import flat_view, opaque, prefer_wide_vectors, rounded_product, target_features
from tests.helpers import host_has_avx2, host_has_avx512

_X = np.concatenate([
    np.random.default_rng(3).standard_normal(200_000) * scale for scale in (1e-9, 0.05, 0.5, 2.0, 8.0, 300.0)
] + [np.array([0.0, -0.0, 5e-324, -5e-324, 1e-310, np.inf, -np.inf, 19.9, 20.1, -745.5, 710.0])])


@njit(cache=False)
def _values64():
    return opaque(vecmath.CONSTANTS)


@njit(cache=False)
def _values32():
    return opaque(_CONSTANTS32)


def test_values_unchanged():
    assert opaque(vecmath.CONSTANTS) is vecmath.CONSTANTS  # Python: the argument itself
    assert _values64() == vecmath.CONSTANTS
    got32 = _values32()
    assert all(isinstance(v, float) for v in got32)
    np.testing.assert_array_equal(np.array(got32, np.float32), np.array(_CONSTANTS32, np.float32))
    # z + v is v only for v != -0.0: no constant may be a negative zero.
    assert not any(v == 0.0 and np.signbit(v) for v in vecmath.CONSTANTS + _CONSTANTS32)


def test_rejects_other_arguments():
    @njit(cache=False)
    def mixed():
        return opaque((1.0, 2))

    with pytest.raises(Exception, match="opaque"):
        mixed()


@njit(fastmath=_FASTMATH, error_model="numpy", cache=False)
def _activations(x, out):
    for i in range(x.size):
        out[0, i] = _tanh_f64(x[i])
        out[1, i] = vecmath.tanh(x[i])
    for i in range(x.size):
        out[2, i] = _sigmoid_f64(x[i])
        out[3, i] = vecmath.sigmoid(x[i])
    for i in range(x.size):
        out[4, i] = _dtanh_f64(x[i])
        out[5, i] = scalar.dtanh(x[i])


def test_activations_bit_for_bit():
    out = np.empty((6, _X.size))
    _activations(_X, out)
    for k in (0, 2, 4):
        np.testing.assert_array_equal(out[k].view(np.int64), out[k + 1].view(np.int64))
    nan = np.array([np.nan])
    got = np.empty((6, 1))
    _activations(nan, got)
    assert np.isnan(got).all()


# Nested as in the kernels (a row loop or a time loop around the activation loop, not unrolled): in a loop nest LLVM
# prefers re-broadcasting a known constant to keeping it in a spill slot across the outer loop.
@njit(fastmath=_FASTMATH, error_model="numpy", cache=False)
def _tanh_loop(x, out, reps):
    for _ in range(reps):
        for i in range(x.size):
            out[i] = _tanh_f64(x[i])


@njit(fastmath=_FASTMATH, error_model="numpy", cache=False)
def _plain_tanh_loop(x, out, reps):
    for _ in range(reps):
        for i in range(x.size):
            out[i] = vecmath.tanh(x[i])


def _loop_body(fn):
    x = np.ones(64)
    fn(x, np.empty_like(x), 2)
    asm = fn.inspect_asm(fn.signatures[0])
    asm = asm[: asm.find(".Lfunc_end0")]
    # The vectorised loop is the block that holds the packed divide, from its label to its backward jump: 256
    # bits wide, or 512 where LLVM's tuning for the host prefers them (AMD Zen 4 does, Intel's AVX-512 parts
    # do not).
    lines = asm.splitlines()
    at = next(i for i, line in enumerate(lines) if "vdivpd" in line and ("%ymm" in line or "%zmm" in line))
    start = max(i for i in range(at) if lines[i].startswith(".LBB"))
    end = next(i for i in range(at, len(lines)) if lines[i].lstrip().startswith("j"))
    return lines[start:end + 1]


@pytest.mark.skipif(not host_has_avx2(), reason="needs an x86-64 host with AVX2")
def test_loop_vectorised_without_per_iteration_broadcasts():
    body = _loop_body(_tanh_loop)
    plain = _loop_body(_plain_tanh_loop)
    broadcasts = sum("broadcast" in line for line in body)
    # The asm statement is hoisted out of the loop (a call inside would also stop the vectoriser).
    assert not any("call" in line for line in body)
    # With opaque constants only those outside the tuple are broadcast in the loop (the sign mask of
    # copysign, the exponent bias of 2**k).
    assert broadcasts <= 4
    if not host_has_avx512():
        # 16 vector registers cannot hold tanh's ~20 constants: the plain loop re-broadcasts most of them in
        # every iteration (with AVX-512's 32 registers LLVM keeps them in registers either way).
        assert sum("broadcast" in line for line in plain) >= 15


def test_fma_rounds_once():
    from rnndyn.kernels.cpu.intrinsics import fma

    @njit(cache=False)
    def fused(a, b, c):
        return fma(a, b, c)

    e = 2.0 ** -30
    # (1 + e)(1 - e) = 1 - 2**-60: rounded to 1 before the addition, kept by one rounding.
    assert fused(1.0 + e, 1.0 - e, -1.0) == -(2.0 ** -60)
    assert fma(1.0 + e, 1.0 - e, -1.0) == 0.0  # Python: two roundings
    f32 = np.float32
    got = fused(f32(1.0 + 2.0 ** -12), f32(1.0 - 2.0 ** -12), f32(-1.0))
    assert isinstance(got, float) and got == -(2.0 ** -24)


@njit(fastmath=_FASTMATH, error_model="numpy", cache=False)
def _sum_of_products(a, b, c, out):
    for i in range(a.size):
        out[i] = c[i] + rounded_product(a[i], b[i])


@njit(fastmath=_FASTMATH, error_model="numpy", cache=False)
def _contracted(a, b, c, out):
    for i in range(a.size):
        out[i] = c[i] + a[i] * b[i]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rounded_product_is_never_fused_into_a_sum(dtype):
    """Under FMA contraction c + a b becomes fma(a, b, c) (one rounding); c + rounded_product(a, b) keeps the
    product's own rounding, in the loop's vectorised body and its scalar remainder alike (a size of 37)."""
    bits = np.finfo(dtype).nmant + 1
    e = dtype(2.0 ** -(bits // 2 + 1))
    a = np.full(37, 1 + e, dtype)
    b = np.full(37, 1 - e, dtype)
    c = np.full(37, -1, dtype)
    two, one = np.empty_like(a), np.empty_like(a)
    _sum_of_products(a, b, c, two)
    _contracted(a, b, c, one)
    # (1 + e)(1 - e) = 1 - e² rounds to 1 on its own, so the sum is 0; fused, the sum is -e² exactly.
    assert np.all(two == 0)
    if "+fma" in target_features():  # the contrast: the plain expression is fused where the target can
        assert np.all(one == -(e * e))
    assert rounded_product(2.0, 3.0) == 6.0  # Python: a plain product


@njit(fastmath=_FASTMATH, error_model="numpy", cache=False)
def _wide_tanh_loop(x, out, reps):
    prefer_wide_vectors()
    for _ in range(reps):
        for i in range(x.size):
            out[i] = _tanh_f64(x[i])


def test_prefer_wide_vectors_widens_the_loops_of_its_caller_only():
    x = np.linspace(-3.0, 3.0, 64)
    wide, narrow = np.empty_like(x), np.empty_like(x)
    _wide_tanh_loop(x, wide, 1)
    _tanh_loop(x, narrow, 1)
    assert np.array_equal(wide, narrow)  # the lane width changes no result
    prefer_wide_vectors()  # from Python: nothing
    if not host_has_avx512():
        return
    assert "%zmm" in _wide_tanh_loop.inspect_asm(_wide_tanh_loop.signatures[0])
    if not (numba_config.CPU_NAME or ll.get_host_cpu_name()).startswith("znver"):
        # Intel's tuning stops at 256 bits unless asked; AMD's (Zen 4) goes to 512 bits by itself
        assert "%zmm" not in _tanh_loop.inspect_asm(_tanh_loop.signatures[0])


@njit
def _through_flat(a):
    f = flat_view(a)
    total = f.dtype.type(0)
    for i in range(f.size):
        total += f[i]
        f[i] = f[i] * 2
    return f.shape[0], total


@pytest.mark.parametrize("shape,dtype", [((5,), np.float64), ((3, 7), np.float64), ((2, 3, 4), np.float32),
                                         ((0, 4), np.float64)])
def test_flat_view_reads_and_writes_every_entry_in_order(shape, dtype):
    """flat_view sees the C-contiguous array's entries in order and writes into them (no copy)."""
    a = np.arange(np.prod(shape), dtype=dtype).reshape(shape)
    size, total = _through_flat(a)
    assert size == a.size and total == dtype(np.arange(a.size).sum())
    np.testing.assert_array_equal(a, 2 * np.arange(a.size, dtype=dtype).reshape(shape))


def test_flat_view_refuses_arrays_that_are_not_c_contiguous():
    with pytest.raises(Exception, match="flat_view"):
        _through_flat(np.zeros((4, 4))[:, ::2])
