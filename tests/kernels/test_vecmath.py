"""Tests of rnndyn.kernels.vecmath: accuracy, special values, njit and CUDA use.

Accuracy is measured in ulp (units in the last place) through the ordered
integer image of the doubles, so that it is meaningful across zero and for
subnormals. References: ``np.tanh`` (the requirement: within 4 ulp) and, where
``np.longdouble`` is x87 extended (64-bit mantissa), tanh / sigmoid evaluated in
extended precision and rounded once, which is all but correctly rounded.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numba import njit

from rnndyn.config import FASTMATH_FLAGS
from rnndyn.kernels import vecmath
from tests.helpers import host_has_avx2

MAX_ULP = 4
TINY = np.finfo(np.float64).tiny  # smallest normal
EXTENDED = np.finfo(np.longdouble).nmant >= 63

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------------------
# helpers


def ordered(a):
    """Map float64 bit patterns to int64 monotonically (sign-magnitude -> 2's)."""
    i = np.ascontiguousarray(a, dtype=np.float64).view(np.int64)
    return np.where(i < 0, np.int64(-(2**63)) - i, i)


def ulp_dist(a, b):
    """Elementwise ulp distance between float64 arrays (NaN must not occur)."""
    # Both images lie in [-2**63 + 1, 2**63 - 1] and the results here are
    # close, so the int64 difference does not overflow.
    return np.abs(ordered(a) - ordered(b))


@njit(cache=False)
def tanh_loop(x, out):
    for i in range(x.size):
        out[i] = vecmath.tanh(x[i])


@njit(cache=False)
def sigmoid_loop(x, out):
    for i in range(x.size):
        out[i] = vecmath.sigmoid(x[i])


@njit(cache=False, fastmath=set(FASTMATH_FLAGS))
def tanh_loop_fastmath(x, out):
    # rnndyn's kernels compile with these flags (contract, arcp, nsz); the
    # inlined tanh must stay within bounds under them.
    for i in range(x.size):
        out[i] = vecmath.tanh(x[i])


@njit(cache=False)
def tanh32_loop(x, out):
    for i in range(x.size):
        out[i] = vecmath.tanh32(x[i])


def vtanh(x, loop=tanh_loop):
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    loop(x, out)
    return out


def vsigmoid(x):
    x = np.ascontiguousarray(x, dtype=np.float64)
    out = np.empty_like(x)
    sigmoid_loop(x, out)
    return out


def sigmoid_reference(x):
    """Stable sigmoid in the widest float available, rounded once to float64."""
    xl = np.asarray(x, dtype=np.longdouble)
    e = np.exp(-np.abs(xl))  # in (0, 1]: no overflow
    return np.where(xl >= 0, 1 / (1 + e), e / (1 + e)).astype(np.float64)


def random_bit_patterns(n, seed):
    """Finite doubles drawn uniformly over bit patterns: all binades equally."""
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 0x7FF0000000000000, n, dtype=np.int64)
    x = bits.view(np.float64)
    return np.where(rng.random(n) < 0.5, -x, x)


whole_range = st.floats(allow_nan=False, allow_infinity=False)
finite_values = st.one_of(
    whole_range,
    st.floats(-25.0, 25.0),
    st.floats(-1.0, 1.0),
    st.floats(-1e-3, 1e-3),
    st.floats(-TINY, TINY),  # zeros and subnormals
    st.floats(-20.5, -18.5) | st.floats(18.5, 20.5),  # where tanh reaches ±1
)
batches = st.lists(finite_values, min_size=1, max_size=64)


# ---------------------------------------------------------------------------
# tanh accuracy


@SETTINGS
@given(batches)
def test_tanh_within_4_ulp_of_numpy(xs):
    x = np.array(xs)
    assert ulp_dist(vtanh(x), np.tanh(x)).max() <= MAX_ULP


@SETTINGS
@given(batches)
def test_tanh_within_4_ulp_under_rnndyn_fastmath_flags(xs):
    x = np.array(xs)
    y = vtanh(x, tanh_loop_fastmath)
    assert ulp_dist(y, np.tanh(x)).max() <= MAX_ULP
    # Sign of zero survives nsz because tanh returns x itself for tiny |x|.
    assert np.array_equal(np.signbit(y), np.signbit(x))


@pytest.mark.parametrize(
    "lo, hi",
    [(-25.0, 25.0), (-1.0, 1.0), (-0.4, 0.4), (-1e-3, 1e-3), (-1e-7, 1e-7), (18.0, 21.0)],
)
def test_tanh_dense_ranges(lo, hi):
    x = np.random.default_rng(7).uniform(lo, hi, 200_000)
    assert ulp_dist(vtanh(x), np.tanh(x)).max() <= MAX_ULP


def test_tanh_all_binades():
    x = random_bit_patterns(400_000, seed=3)
    assert ulp_dist(vtanh(x), np.tanh(x)).max() <= MAX_ULP


@pytest.mark.skipif(not EXTENDED, reason="np.longdouble is not x87 extended precision")
def test_tanh_against_extended_precision():
    # A tighter, reference-independent check: measured maximum is 2 ulp from
    # the (almost) correctly rounded value.
    rng = np.random.default_rng(11)
    x = np.concatenate([rng.uniform(-20.0, 20.0, 100_000), random_bit_patterns(100_000, seed=5)])
    ref = np.tanh(x.astype(np.longdouble)).astype(np.float64)
    assert ulp_dist(vtanh(x), ref).max() <= 2


# ---------------------------------------------------------------------------
# tanh special values


def test_tanh_signed_zero():
    y = vtanh(np.array([0.0, -0.0]))
    assert y[0] == 0.0 and not np.signbit(y[0])
    assert y[1] == 0.0 and np.signbit(y[1])
    assert math.copysign(1.0, vecmath.tanh(-0.0)) == -1.0


def test_tanh_infinities_and_nan():
    y = vtanh(np.array([np.inf, -np.inf, np.nan, -np.nan]))
    assert y[0] == 1.0 and y[1] == -1.0
    assert np.isnan(y[2]) and np.isnan(y[3])


def test_tanh_huge_is_exactly_one_without_warnings():
    x = np.array([20.0, 19.5, 1e10, 1e300, np.finfo(np.float64).max])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = vtanh(np.concatenate([x, -x]))
        ypy = [vecmath.tanh(v) for v in np.concatenate([x, -x])]  # Python mode
    np.testing.assert_array_equal(y, [1.0] * 5 + [-1.0] * 5)
    np.testing.assert_array_equal(ypy, y)


def test_tanh_subnormals_are_identity():
    x = np.array([5e-324, -5e-324, 1e-310, -1e-310, TINY, -TINY, 2.0**-30, -(2.0**-30)])
    np.testing.assert_array_equal(vtanh(x).view(np.int64), x.view(np.int64))


@SETTINGS
@given(batches)
def test_tanh_is_odd(xs):
    x = np.array(xs)
    np.testing.assert_array_equal(vtanh(-x).view(np.int64), (-vtanh(x)).view(np.int64))


def _consecutive_doubles(x0, n):
    """The 2n doubles nearest x0 (x0 > 0), in increasing order."""
    return (np.float64(x0).view(np.int64) + np.arange(-n, n, dtype=np.int64)).view(np.float64)


@pytest.mark.parametrize("loop", [tanh_loop, tanh_loop_fastmath], ids=["plain", "fastmath"])
def test_tanh_is_monotone(loop):
    # Every double in a window around each point where the formula changes
    # (the reduction's k steps at |x| = (j + 1/2) ln2 / 2, the clamp at 20),
    # around 2**-28 (below it tanh(x) rounds to x) and 1, plus a sorted sample
    # of the range where tanh saturates. Errors of a few ulp that differ between N and D of the
    # quotient show up here as backward steps although each value is within
    # the ulp bound (a one-division Pade form of exp measured thousands).
    ln2 = math.log(2.0)
    grids = [_consecutive_doubles((j + 0.5) * ln2 / 2, 20_000) for j in range(4)]
    grids += [_consecutive_doubles(x0, 20_000) for x0 in (2.0**-28, 1.0, 20.0)]
    grids.append(np.sort(np.random.default_rng(12).uniform(0.0, 20.0, 400_000)))
    for x in grids:
        assert np.all(np.diff(np.tanh(x)) >= 0)  # the reference is monotone here
        y = vtanh(x, loop)
        assert np.all(np.diff(y) >= 0), x[1:][np.diff(y) < 0][:5]


# ---------------------------------------------------------------------------
# sigmoid


sigmoid_values = st.one_of(
    whole_range,
    st.floats(-40.0, 40.0),
    st.floats(-1e-3, 1e-3),
    st.floats(-746.0, -700.0),  # gradual underflow of the result
)


@SETTINGS
@given(st.lists(sigmoid_values, min_size=1, max_size=64))
def test_sigmoid_against_stable_reference(xs):
    x = np.array(xs)
    y = vsigmoid(x)
    ref = sigmoid_reference(x)
    if EXTENDED:
        # The extended-precision reference is good to ~0.5 ulp everywhere,
        # subnormal results included.
        assert ulp_dist(y, ref).max() <= MAX_ULP
    else:
        # Double-precision reference: itself a few ulp off; compare relatively
        # where the result is normal.
        normal = ref >= TINY
        np.testing.assert_allclose(y[normal], ref[normal], rtol=1e-15, atol=0)
        np.testing.assert_allclose(y[~normal], ref[~normal], rtol=0, atol=4 * 5e-324)


def test_sigmoid_special_values():
    y = vsigmoid(np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 800.0, -800.0, 5e-324]))
    np.testing.assert_array_equal(y[[0, 1, 2, 3, 5, 6, 7]], [0.5, 0.5, 1.0, 0.0, 1.0, 0.0, 0.5])
    assert np.isnan(y[4])


def test_sigmoid_symmetry():
    x = np.random.default_rng(2).uniform(-30.0, 30.0, 100_000)
    # sigmoid(x) + sigmoid(-x) = 1, up to the rounding of the larger term.
    np.testing.assert_allclose(vsigmoid(x) + vsigmoid(-x), 1.0, rtol=0, atol=4e-16)


def test_sigmoid_matches_scalar_module():
    from rnndyn.kernels import scalar

    x = np.random.default_rng(4).uniform(-40.0, 40.0, 2000)
    ref = np.array([scalar.sigmoid(v) for v in x])
    np.testing.assert_allclose(vsigmoid(x), ref, rtol=1e-15, atol=0)


# ---------------------------------------------------------------------------
# exp cores, float32 variants, Python mode


def test_exp_cores():
    rng = np.random.default_rng(9)
    u = -np.abs(rng.uniform(-40.0, 40.0, 5000))
    assert ulp_dist(np.array([vecmath.expm1_core(v) for v in u]), np.expm1(u)).max() <= 2
    u = rng.uniform(-745.0, 0.0, 5000)
    assert ulp_dist(np.array([vecmath.exp_neg(v) for v in u]), np.exp(u)).max() <= 2
    assert vecmath.expm1_core(-np.inf) == -1.0 and vecmath.exp_neg(-np.inf) == 0.0
    assert math.isnan(vecmath.expm1_core(np.nan)) and math.isnan(vecmath.exp_neg(np.nan))


def test_tanh32():
    x = np.random.default_rng(6).uniform(-12.0, 12.0, 100_000).astype(np.float32)
    out = np.empty_like(x)
    tanh32_loop(x, out)
    assert out.dtype == np.float32
    ref = np.tanh(x.astype(np.float64)).astype(np.float32)
    diff = np.abs(out.view(np.int32).astype(np.int64) - ref.view(np.int32).astype(np.int64))
    assert diff.max() <= 1
    assert vecmath.sigmoid32(np.float32(0.0)) == np.float32(0.5)


def test_python_mode_matches_njit_bitwise():
    # register_jitable functions are plain Python when called from Python (and
    # under the CUDA simulator); without FMA contraction the same IEEE
    # operations run, so the results agree bit for bit.
    rng = np.random.default_rng(8)
    x = np.concatenate([random_bit_patterns(300, seed=8), rng.uniform(-30, 30, 300)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        py_t = np.array([vecmath.tanh(float(v)) for v in x])
        py_s = np.array([vecmath.sigmoid(v) for v in x])
    np.testing.assert_array_equal(py_t.view(np.int64), vtanh(x).view(np.int64))
    np.testing.assert_array_equal(py_s.view(np.int64), vsigmoid(x).view(np.int64))


# ---------------------------------------------------------------------------
# njit loop: works on strided input, and vectorises


def test_njit_loop_on_strided_and_scalar_use():
    @njit(cache=False)
    def strided(x):
        s = 0.0
        for i in range(0, x.size, 3):
            s += vecmath.tanh(x[i]) - vecmath.sigmoid(x[i])
        return s

    x = np.linspace(-5.0, 5.0, 301)
    ref = sum(math.tanh(v) - 1.0 / (1.0 + math.exp(-v)) for v in x[::3])
    assert strided(x) == pytest.approx(ref, rel=1e-13)


@pytest.mark.skipif(not host_has_avx2(), reason="needs an x86-64 host with AVX2")
@pytest.mark.parametrize("loop", [tanh_loop, sigmoid_loop])
def test_njit_loop_vectorises(loop):
    # A packed divide on ymm/zmm registers and no call in the loop function:
    # the loop body is SIMD. (A ZeroDivisionError check from numba's default
    # error model, for one, would silently prevent this.)
    x = np.ones(8)
    loop(x, np.empty_like(x))
    asm = loop.inspect_asm(loop.signatures[0])
    body = asm[: asm.find(".Lfunc_end0")]
    assert "vdivpd" in body
    assert "%ymm" in body or "%zmm" in body
    # Only NRT incref/decref calls remain (no libm call per element).
    assert body.count("call") <= 4


# ---------------------------------------------------------------------------
# CUDA: simulator, and real device when present

_CUDA_SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    try:
        from numba import cuda
    except Exception:
        sys.exit(77)
    from rnndyn.kernels import vecmath

    @cuda.jit
    def kernel(x, t, s, t32, x32):
        i = cuda.grid(1)
        if i < x.size:
            t[i] = vecmath.tanh(x[i])
            s[i] = vecmath.sigmoid(x[i])
            t32[i] = vecmath.tanh32(x32[i])

    x = np.load(sys.argv[1])
    t = np.empty_like(x); s = np.empty_like(x)
    x32 = np.clip(x, -3e38, 3e38).astype(np.float32); t32 = np.empty_like(x32)
    kernel[(x.size + 31) // 32, 32](x, t, s, t32, x32)
    np.save(sys.argv[2], np.stack([t, s, t32.astype(np.float64)]))
    """
)

_CUDA_X = np.array(
    [0.0, -0.0, 5e-324, -1e-310, 1e-5, -0.3, 0.7, -2.5, 19.9, 25.0, -1e300]
    + [np.inf, -np.inf, np.nan, -720.0, 3.0]
)


def _run_cuda_script(tmp_path, env):
    np.save(tmp_path / "x.npy", _CUDA_X)
    script = tmp_path / "k.py"
    script.write_text(_CUDA_SCRIPT)
    proc = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", str(script), str(tmp_path / "x.npy"),
         str(tmp_path / "y.npy")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode == 77:
        pytest.skip("numba.cuda is not importable")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return np.load(tmp_path / "y.npy")


def _cpu_expected():
    x32 = np.clip(_CUDA_X, -3e38, 3e38).astype(np.float32)  # no overflow warning
    out32 = np.empty_like(x32)
    tanh32_loop(x32, out32)
    return vtanh(_CUDA_X), vsigmoid(_CUDA_X), out32.astype(np.float64)


def test_cuda_simulator(tmp_path):
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    t, s, t32 = _run_cuda_script(tmp_path, env)
    et, es, et32 = _cpu_expected()
    # The simulator runs the Python definitions: bitwise equal to njit.
    np.testing.assert_array_equal(t.view(np.int64), et.view(np.int64))
    np.testing.assert_array_equal(s.view(np.int64), es.view(np.int64))
    np.testing.assert_array_equal(t32, et32)


def _cuda_available():
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return False
    try:
        from numba import cuda

        return cuda.is_available()
    except Exception:  # noqa: BLE001 - no driver, no toolkit: no GPU test
        return False


@pytest.mark.skipif(not _cuda_available(), reason="no CUDA GPU")
def test_cuda_device(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    t, s, t32 = _run_cuda_script(tmp_path, env)
    et, es, et32 = _cpu_expected()
    # NVVM contracts a*b+c into FMA by default: not bitwise, but as accurate.
    finite = np.isfinite(_CUDA_X)
    assert ulp_dist(t[finite], np.tanh(_CUDA_X[finite])).max() <= MAX_ULP
    assert ulp_dist(s[finite], es[finite]).max() <= MAX_ULP
    assert np.array_equal(np.signbit(t), np.signbit(et))
    assert np.isnan(t[~np.isfinite(_CUDA_X) & np.isnan(_CUDA_X)]).all()
    np.testing.assert_array_equal(t[np.isinf(_CUDA_X)], et[np.isinf(_CUDA_X)])
    np.testing.assert_allclose(t32, et32, rtol=2e-7)


_CUDA_LOWER_SCRIPT = textwrap.dedent(
    """
    import sys, types
    try:
        from numba import float32, float64
        import numba.cuda.dispatcher as dispatcher
        from numba.cuda.compiler import compile_cuda
    except Exception:
        sys.exit(77)
    # No GPU: device functions ask the current device for its compute
    # capability while typing; answer for it. NVVM (PTX generation) is not
    # needed to type and lower to NVVM IR.
    dispatcher.get_current_device = lambda: types.SimpleNamespace(compute_capability=(8, 0))
    from rnndyn.kernels import vecmath

    def f64(x):
        return vecmath.tanh(x) + vecmath.sigmoid(x) + vecmath.expm1_core(-x) + vecmath.exp_neg(-x)

    def f32(x):
        return vecmath.tanh32(x) + vecmath.sigmoid32(x)

    for fn, sig in ((f64, (float64,)), (f32, (float32,))):
        cres = compile_cuda(fn, None, sig, cc=(8, 0))
        ir = cres.library.get_llvm_str()
        assert "bitcast double" in ir, "expected the 2**k bit assembly"
    print("ok")
    """
)


def test_cuda_target_types_and_lowers(tmp_path):
    """The CUDA target (not only the simulator) compiles the functions to NVVM IR.

    Runs without a GPU by faking the device query numba-cuda makes; skipped if
    numba-cuda's internals differ from what this relies on.
    """
    script = tmp_path / "lower.py"
    script.write_text(_CUDA_LOWER_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_ENABLE_CUDASIM"}
    proc = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=300
    )
    if proc.returncode == 77 or "AttributeError" in proc.stderr or "ImportError" in proc.stderr:
        pytest.skip("numba-cuda internals not as expected: " + proc.stderr[-300:])
    assert proc.returncode == 0 and "ok" in proc.stdout, proc.stderr[-3000:]
