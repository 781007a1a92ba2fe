"""Passing a cell to a kernel: nine arguments, or the CellParams tuple whole?

    python benchmarks/bench_kernel_args.py

The same small kernel body is compiled twice, once taking ``alpha, eps, act,
gated, M, V, b, Vz, bz`` as separate arguments and once taking the
:class:`rnndyn.kernels.params.CellParams` named tuple (unpacked in the first
line of the body, which costs nothing once compiled). What differs is the
compile time and the dispatcher's per-call unboxing of the arguments, which is
what a small-n kernel called many times pays.
"""

from __future__ import annotations

import time

import numpy as np
from numba import njit

from rnndyn.kernels.params import CellParams


def _best_call_time(f, args, calls=20000, rounds=5):
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(calls):
            f(*args)
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


def main():
    n = 8
    p = CellParams(1.0, 0.1, 0, False, np.eye(n), np.zeros((n, 3)), np.zeros(n), np.zeros((n, 0)), np.zeros(0))
    out, h = np.empty(n), np.ones(n)

    @njit
    def _warm(x):  # numba's one-off initialisation is not charged to either variant
        return x + 1

    _warm(1.0)

    def separate(h, alpha, eps, act, gated, M, V, b, Vz, bz, out):
        for i in range(h.shape[0]):
            out[i] = alpha * h[i] + eps * (M[i, 0] * h[0] + b[i])

    def whole(h, p, out):
        alpha, eps, act, gated, M, V, b, Vz, bz = p
        for i in range(h.shape[0]):
            out[i] = alpha * h[i] + eps * (M[i, 0] * h[0] + b[i])

    t0 = time.perf_counter()
    f_sep = njit(separate)
    f_sep(h, *p, out)
    c_sep = time.perf_counter() - t0
    t0 = time.perf_counter()
    f_tup = njit(whole)
    f_tup(h, p, out)
    c_tup = time.perf_counter() - t0
    r_sep = _best_call_time(f_sep, (h, *p, out))
    r_tup = _best_call_time(f_tup, (h, p, out))
    print(f"compile   separate {c_sep:.3f} s   tuple {c_tup:.3f} s")
    print(f"per call  separate {r_sep * 1e6:.2f} us  tuple {r_tup * 1e6:.2f} us  (ratio {r_tup / r_sep:.2f})")


if __name__ == "__main__":
    main()
