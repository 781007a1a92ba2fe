"""Benchmark: elementwise tanh / sigmoid in an ``@njit`` loop.

Compares, over contiguous float64 arrays,

* ``math.tanh`` in an ``@njit`` loop (a libm call per element: not vectorised),
* ``np.tanh`` (the NumPy ufunc, called from Python; NumPy's own SIMD code),
* :func:`rnndyn.kernels.vecmath.tanh` in an ``@njit`` loop,

and likewise the old :func:`rnndyn.kernels.scalar.sigmoid` (``math.exp`` with a
branch) against :func:`rnndyn.kernels.vecmath.sigmoid`. Sizes: one pass over
1e6 elements, and 100 passes over a 1e4-element array (L1/L2 resident, the
regime of small-n RNN steps). Prints the minimum and the median wall time of
15 runs (on a shared machine the minimum is the steadier figure; ns/elem and
ratios use it), then
inspects the assembly of the njit loops for SIMD registers (``ymm``/``zmm``)
and packed FMA/divide instructions.

Run::

    python benchmarks/bench_vecmath.py
    NUMBA_CPU_NAME=haswell NUMBA_CPU_FEATURES=+avx2,+fma \
        python benchmarks/bench_vecmath.py                    # AVX2+FMA only

(the second line makes numba generate AVX2+FMA code, no AVX-512, also on an
AVX-512 host; ``NUMBA_CPU_NAME`` alone keeps the host's features.)

``njit vecmath.tanh [contract]`` is the same loop compiled with
``fastmath=rnndyn.config.FASTMATH_FLAGS`` (contract, arcp, nsz), as rnndyn's
kernels are: multiply-adds fuse into FMAs there.
"""

from __future__ import annotations

import math
import os
import re
import statistics
import time

import numpy as np
from numba import njit

from rnndyn.config import FASTMATH_FLAGS
from rnndyn.kernels import scalar, vecmath


@njit(cache=False)
def loop_math_tanh(x, out, reps):
    for _ in range(reps):
        for i in range(x.size):
            out[i] = math.tanh(x[i])


@njit(cache=False)
def loop_vec_tanh(x, out, reps):
    for _ in range(reps):
        for i in range(x.size):
            out[i] = vecmath.tanh(x[i])


@njit(cache=False, fastmath=set(FASTMATH_FLAGS))
def loop_vec_tanh_contract(x, out, reps):
    for _ in range(reps):
        for i in range(x.size):
            out[i] = vecmath.tanh(x[i])


@njit(cache=False)
def loop_scalar_sigmoid(x, out, reps):
    for _ in range(reps):
        for i in range(x.size):
            out[i] = scalar.sigmoid(x[i])


@njit(cache=False)
def loop_vec_sigmoid(x, out, reps):
    for _ in range(reps):
        for i in range(x.size):
            out[i] = vecmath.sigmoid(x[i])


def np_tanh(x, out, reps):
    for _ in range(reps):
        np.tanh(x, out=out)


def min_median_time(fn, x, out, reps, repeat=15):
    """(minimum, median) wall time of ``repeat`` calls, after one warm-up call."""
    fn(x, out, reps)  # compile / warm up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(x, out, reps)
        times.append(time.perf_counter() - t0)
    return min(times), statistics.median(times)


def asm_report(fn):
    """Summarise SIMD usage in the assembly of a compiled njit function.

    Only the compiled function itself is scanned (the first symbol in the
    listing, up to ``.Lfunc_end0``), not the CPython wrapper that follows it.
    """
    asm = fn.inspect_asm(fn.signatures[0])
    end = asm.find(".Lfunc_end0")
    body = asm if end < 0 else asm[:end]
    ymm = len(re.findall(r"%ymm\d+", body))
    zmm = len(re.findall(r"%zmm\d+", body))
    packed_fma = len(re.findall(r"\bvfn?m(?:add|sub)\d{3}pd\b", body))
    packed_div = len(re.findall(r"\bvdivpd\b", body))
    calls = len(re.findall(r"\bcall[ql]?\b", body))
    return ymm, zmm, packed_fma, packed_div, calls


def main():
    rng = np.random.default_rng(0)
    cpu = os.environ.get("NUMBA_CPU_NAME") or "host"
    print(f"numba target CPU: {cpu}")
    print(f"{'case':44s} {'min [ms]':>9s} {'median [ms]':>12s} {'ns/elem':>8s} {'vs math':>8s}")
    for n, reps in ((1_000_000, 1), (10_000, 100)):
        x = rng.uniform(-5.0, 5.0, n)
        out = np.empty_like(x)
        elems = n * reps
        tag = f"n={n:.0e} x{reps}"
        t_math = min_median_time(loop_math_tanh, x, out, reps)
        t_np = min_median_time(np_tanh, x, out, reps)
        t_vec = min_median_time(loop_vec_tanh, x, out, reps)
        t_vecc = min_median_time(loop_vec_tanh_contract, x, out, reps)
        for name, t in (
            ("njit math.tanh", t_math),
            ("np.tanh ufunc", t_np),
            ("njit vecmath.tanh", t_vec),
            ("njit vecmath.tanh [contract]", t_vecc),
        ):
            print(
                f"{name + ' ' + tag:44s} {t[0] * 1e3:9.3f} {t[1] * 1e3:12.3f} {t[0] / elems * 1e9:8.2f} "
                f"{t_math[0] / t[0]:7.2f}x"
            )
        t_ssig = min_median_time(loop_scalar_sigmoid, x, out, reps)
        t_vsig = min_median_time(loop_vec_sigmoid, x, out, reps)
        for name, t in (("njit scalar.sigmoid", t_ssig), ("njit vecmath.sigmoid", t_vsig)):
            print(
                f"{name + ' ' + tag:44s} {t[0] * 1e3:9.3f} {t[1] * 1e3:12.3f} {t[0] / elems * 1e9:8.2f} "
                f"{t_ssig[0] / t[0]:7.2f}x (vs scalar.sigmoid)"
            )

    print()
    print("assembly of the njit loops (counts of register / instruction mentions):")
    print("  (vectorised = packed divide on ymm/zmm registers; calls = call instructions,")
    print("   two of which are NRT incref/decref of the arrays)")
    loops = (loop_math_tanh, loop_vec_tanh, loop_vec_tanh_contract, loop_scalar_sigmoid, loop_vec_sigmoid)
    for fn in loops:
        ymm, zmm, fma, div, calls = asm_report(fn)
        vectorised = (ymm + zmm) > 0 and div > 0
        print(
            f"  {fn.__name__:24s} ymm={ymm:4d} zmm={zmm:4d} packed-FMA={fma:3d} vdivpd={div:2d} "
            f"calls={calls:2d} vectorised={'yes' if vectorised else 'no'}"
        )


if __name__ == "__main__":
    main()
