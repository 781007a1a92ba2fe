"""The block helpers of rnndyn.kernels.cpu.common: the hand-written product, the fused step's column sums
and the float32 tanh and sigmoid."""

import numpy as np
import pytest
from numba import njit

from rnndyn.kernels.cpu.common import (
    _block_step,
    _check_block,
    _matmul_small,
    _relu_of,
    _sigmoid_f32,
    _sigmoid_of,
    _tanh_f32,
    _tanh_of,
)
from rnndyn.kernels.params import FASTMATH, LINEAR, RELU, SIGMOID, TANH

_FM = set(FASTMATH)


@njit(fastmath=_FM, error_model="numpy")
def _plain_product(M, H, out):
    """out = M @ H one product at a time from j = 0 upwards: the rounding _matmul_small must keep."""
    n, m = H.shape
    for i in range(n):
        for k in range(m):
            s = 0.0
            for j in range(n):
                s += M[i, j] * H[j, k]
            out[i, k] = s


@pytest.mark.parametrize("n,m", [(1, 3), (2, 8), (3, 5), (5, 16), (7, 9), (32, 32), (33, 4)])
def test_matmul_small_rounds_as_the_plain_loop(n, m):
    rng = np.random.default_rng(n * 100 + m)
    M, H = rng.normal(size=(n, n)), rng.normal(size=(n, m))
    got, ref = np.empty((n, m)), np.empty((n, m))
    _matmul_small(M, H, got)
    _plain_product(M, H, ref)
    assert np.array_equal(got, ref)


@njit(error_model="numpy", fastmath=_FM)
def _tanh_loop(x, out):
    for i in range(x.shape[0]):
        out[i] = _tanh_of(x[i])


def _ulps32(got, ref64):
    ref = ref64.astype(np.float32)
    return np.abs(got.astype(np.float64) - ref) / np.spacing(np.abs(ref)).astype(np.float64)


def test_tanh_f32_within_two_ulp_of_the_rounded_tanh():
    rng = np.random.default_rng(0)
    x = np.concatenate([np.linspace(-11, 11, 200_001), rng.normal(0, 3, 100_000),
                        2.0 ** rng.uniform(-30, 4, 100_000) * rng.choice([-1, 1], 100_000)]).astype(np.float32)
    out = np.empty_like(x)
    _tanh_loop(x, out)
    assert out.dtype == np.float32
    assert _ulps32(out, np.tanh(x.astype(np.float64))).max() <= 2.0


def test_tanh_f32_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 3e38, -3e38, 2.0 ** -14], np.float32)
    out = np.empty_like(x)
    _tanh_loop(x, out)
    assert np.array_equal(np.signbit(out[:2]), [False, True]) and np.all(out[:2] == 0.0)
    assert list(out[2:4]) == [1.0, -1.0]
    assert np.isnan(out[4])
    assert list(out[5:7]) == list(x[5:7])  # subnormals: tanh(x) = x
    assert list(out[7:9]) == [1.0, -1.0]
    assert out[9] == x[9]
    # the Python fallback (no compilation) is the float64 tanh
    assert _tanh_f32(np.float32(0.5)) == pytest.approx(np.tanh(0.5), rel=1e-6)


def test_tanh_f32_is_monotone():
    # Every float32 in a window around each point where the reduction's k steps (|x| = (j + 1/2) ln2 / 2),
    # around 1 and the clamp at 10, and a sorted sample of the range where tanh saturates.
    centres = [(j + 0.5) * np.log(2.0) / 2 for j in range(30)] + [1.0, 10.0]
    grids = [(np.float32(c).view(np.int32) + np.arange(-20_000, 20_000, dtype=np.int32)).view(np.float32)
             for c in centres]
    grids.append(np.sort(np.random.default_rng(3).uniform(0.0, 11.0, 200_000).astype(np.float32)))
    for x in grids:
        out = np.empty_like(x)
        _tanh_loop(x, out)
        assert np.all(np.diff(out) >= 0), x[1:][np.diff(out) < 0][:5]


def test_tanh_of_float64_is_the_float64_tanh():
    from rnndyn.kernels.scalar import tanh

    @njit(error_model="numpy")
    def one(x):
        return _tanh_of(x), tanh(x)

    for v in (-3.0, -0.1, 1e-12, 0.7, 19.0):
        a, b = one(v)
        assert a == b


@njit(error_model="numpy", fastmath=_FM)
def _sigmoid_loop(x, out):
    for i in range(x.shape[0]):
        out[i] = _sigmoid_of(x[i])


def _sigmoid64(x):
    x = x.astype(np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def test_sigmoid_f32_within_three_ulp_and_monotone():
    rng = np.random.default_rng(1)
    grid = np.linspace(-110, 110, 400_001).astype(np.float32)
    x = np.concatenate([grid, rng.normal(0, 8, 100_000).astype(np.float32)])
    out = np.empty_like(x)
    _sigmoid_loop(x, out)
    ref = _sigmoid64(x)
    normal = ref.astype(np.float32) >= np.finfo(np.float32).tiny
    assert _ulps32(out[normal], ref[normal]).max() <= 3.0
    # results below the float32 normal range: within a float32 subnormal step of the exact value
    assert np.abs(out[~normal].astype(np.float64) - ref[~normal]).max() <= 1.5 * 2.0 ** -149
    assert np.all(np.diff(out[:grid.size]) >= 0)


def test_sigmoid_f32_special_values():
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 200.0, -200.0, -103.0], np.float32)
    out = np.empty_like(x)
    _sigmoid_loop(x, out)
    assert list(out[:4]) == [0.5, 0.5, 1.0, 0.0]
    assert np.isnan(out[4])
    assert list(out[5:7]) == [1.0, 0.0]
    assert 0.0 < out[7] < 1e-44  # e^-103 = 1.4e-45: the least float32 subnormal, not flushed to zero
    assert _sigmoid_f32(np.float32(-3.0)) == pytest.approx(1.0 / (1.0 + np.exp(3.0)), rel=1e-6)


def test_sigmoid_of_float64_is_the_float64_sigmoid():
    from rnndyn.kernels.scalar import sigmoid

    @njit(error_model="numpy")
    def one(x):
        return _sigmoid_of(x), sigmoid(x)

    for v in (-40.0, -3.0, -0.1, 0.0, 0.7, 19.0):
        a, b = one(v)
        assert a == b


def test_relu_of_stays_in_the_argument_precision_and_keeps_nan():
    from rnndyn.kernels.scalar import phi

    @njit(error_model="numpy")
    def both(x, out32, out64):
        for i in range(x.shape[0]):
            out32[i] = _relu_of(x[i])
            out64[i] = phi(RELU, np.float64(x[i]))
        return _relu_of(x[0])

    x = np.array([-2.5, -0.0, 0.0, 1.5, np.inf, -np.inf, np.nan], np.float32)
    out32, out64 = np.empty_like(x), np.empty(x.size)
    both(x, out32, out64)
    assert str(both.nopython_signatures[0].return_type) == "float32"  # no promotion to float64
    assert np.array_equal(out32, out64.astype(np.float32), equal_nan=True)
    assert np.array_equal(np.signbit(out32[:2]), np.signbit(out64[:2]))


@pytest.mark.parametrize("act", [TANH, RELU, SIGMOID, LINEAR])
@pytest.mark.parametrize("gated,d", [(False, 0), (False, 2), (True, 1)])
def test_block_step_column_sums_are_those_of_check_block(act, gated, d):
    rng = np.random.default_rng(act * 10 + d)
    n, m = 5, 12
    H = rng.normal(size=(n, m))
    H[1, 3] = np.inf  # a column that overflows, and one that is NaN
    H[2, 7] = np.nan
    M, V, b = rng.normal(size=(n, n)), rng.normal(size=(n, d)), rng.normal(size=n)
    Vz, bz = (rng.normal(size=(n, d)), rng.normal(size=n)) if gated else (np.empty((n, 0)), np.empty(0))
    X = rng.normal(size=(d, m))
    Hn, A, Z = np.empty((n, m)), np.empty((n, m)), np.empty((n if gated else 0, m))
    acc = np.empty(m)
    _block_step(H, Hn, A, Z, X, 1.0, 0.1, act, gated, M, V, b, Vz, bz, False, acc)
    fused = acc.copy()
    div = np.full(m, -1, np.int64)
    ndiv = _check_block(Hn, acc, div, 4)
    assert np.array_equal(fused, acc, equal_nan=True)
    assert ndiv == np.count_nonzero(~np.isfinite(fused)) > 0
    assert np.all(div[~np.isfinite(fused)] == 4)


def test_fro_scaled_norm_with_nan_inf_and_extremes():
    from rnndyn.kernels.cpu.common import _fro
    from rnndyn.kernels.numpy.trajectories import scaled_norm

    rng = np.random.default_rng(7)
    for shape in [(1, 1), (3, 5), (8, 8), (5, 13)]:
        A = rng.normal(size=shape)
        for scale in (1.0, 1e-200, 1e200, 5e-324):
            B = A * scale
            assert _fro(B) == pytest.approx(scaled_norm(B), rel=1e-14)
        for pos in np.ndindex(shape):  # NaN anywhere, before or after larger entries, gives NaN
            B = np.zeros(shape)
            B[pos] = np.nan
            assert np.isnan(_fro(B))
            B = A.copy()
            B[pos] = np.nan
            assert np.isnan(_fro(B))
            B[pos] = -np.inf
            assert _fro(B) == np.inf
    assert _fro(np.zeros((4, 4))) == 0.0
    assert _fro(np.ones((4, 4))[:, ::2]) == pytest.approx(np.sqrt(8.0), rel=1e-15)  # a strided view


def test_fro_rounds_the_same_whichever_caller_compiles_it_first(tmp_path):
    """A jitted function that leaves fastmath unset takes the flags of the first caller that compiles it
    (numba issue #7168). _fro sets them, so a contracting caller compiling it first changes nothing."""
    import subprocess
    import sys

    code = (
        "import numpy as np\n"
        "from numba import njit\n"
        "from rnndyn.kernels.cpu.common import _fro\n"
        "@njit(fastmath={'contract'})\n"
        "def caller(A):\n"
        "    return _fro(A)\n"
        "rng = np.random.default_rng(0)\n"
        "mats = [rng.normal(size=(7, 9)) for _ in range(300)]\n"
        "first = [caller(A) for A in mats]\n"
        "print(all(a == _fro(A) == _fro.py_func(A) for a, A in zip(first, mats)))\n"
    )
    env = {**__import__("os").environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
