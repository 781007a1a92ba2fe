"""Helpers shared by several CPU kernel modules: block steps, tangent norms, the QR step of the Lyapunov kernels.

Everything here is ``@njit`` and inlined into the kernels that call it; nothing
here is a kernel of its own (no NumPy twin).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, types
from numba.extending import overload, register_jitable
from numba.np.linalg import _LAPACK, _dummy_liveness_func, ensure_lapack

from rnndyn.kernels import vecmath
from rnndyn.kernels.cpu.intrinsics import flat_view, fma, opaque, prefer_wide_vectors, rounded_product
from rnndyn.kernels.cpu.tiles import (
    tiled_affine,
    tiled_column_sums,
    tiled_product,
    tiled_reflect,
    tiled_reflect_run,
    tiled_reflect_run_backward,
)
from rnndyn.kernels.params import FASTMATH, RELU, SIGMOID, TANH
from rnndyn.kernels.scalar import column_norm as _column_norm
from rnndyn.kernels.scalar import dphi, phi, sech2_of_exp, sigmoid, tanh
from rnndyn.kernels.scalar import pow2_scale as _pow2_scale

_FASTMATH = set(FASTMATH)  # numba takes a set, not a frozenset
_FLOAT_MAX = float(np.finfo(np.float64).max)  # |x| <= _FLOAT_MAX: x is finite (False for inf and NaN)


# --------------------------------------------------------------------------- block helpers


# tanh in float32 arithmetic (8 lanes per ymm register where the float64 tanh has 4), the method of
# rnndyn.kernels.vecmath.tanh at float32 precision: -2a = k ln2 - 2 rho, w = -expm1(-2 rho)/2 =
# rho - rho^2 (1 + rho H(rho)) with H of degree 4 (near-minimax, relative error of w below 2^-31.2
# on |rho| <= 1.0005 ln2/4), tanh(a) = ((1 - s) + 2s w) / ((1 + s) - 2s w), s = 2^k assembled from bits.
# The sigmoid keeps its own reduction (-a = k ln2 + r, expm1(r) by its Taylor polynomial to r^8:
# truncation < 2^-28 relative on |r| <= ln2/2 + slack).
_F32 = np.float32
_SHIFTER32 = _F32(12582912.0)  # 1.5 * 2**23: z + it rounds z (|z| < 2**22) to an integer k in the low bits
_SHIFTER32_BITS = 0x4B400000
_INV_LN2_32 = _F32(1.4426950408889634)
_LN2_HI32 = _F32(0.693145751953125)  # 16 significant bits: k * _LN2_HI32 exact for |k| < 2**8
_LN2_LO32 = _F32(1.4286068203094173e-06)
_TANH_CLAMP32 = _F32(10.0)  # tanh(10) = 1 - 4e-9 rounds to 1 in float32
_C3, _C4, _C5 = _F32(1.0 / 6.0), _F32(1.0 / 24.0), _F32(1.0 / 120.0)
_C6, _C7, _C8 = _F32(1.0 / 720.0), _F32(1.0 / 5040.0), _F32(1.0 / 40320.0)
_HALF32, _ONE32 = _F32(0.5), _F32(1.0)
_M2_INV_LN2_32 = _F32(-2.8853900817779268)  # -2/ln2
_LN2_HI32_2 = _F32(0.3465728759765625)  # halves of the split above: still exact products
_LN2_LO32_2 = _F32(7.1430341015470865e-07)
_H32 = tuple(_F32(v) for v in (-0.6666666519266023, 0.3333318586710347, -0.1333347167714018,
                               0.04458652705460694, -0.012687426613545808))


_SIGMOID_CLAMP32 = _F32(104.0)  # e^-104 < half the least float32 subnormal: sigmoid(-104) rounds to 0
_ZERO32 = _F32(0.0)
#: The float32 constants in one tuple, as vecmath.CONSTANTS for float64 (see rnndyn.kernels.cpu.intrinsics).
_CONSTANTS32 = (_INV_LN2_32, _SHIFTER32, _LN2_HI32, _LN2_LO32, _C3, _C4, _C5, _C6, _C7, _C8, _HALF32, _ONE32,
                _TANH_CLAMP32, _M2_INV_LN2_32, _SIGMOID_CLAMP32, _LN2_HI32_2, _LN2_LO32_2) + _H32


@register_jitable(error_model="numpy")
def _expm1_reduced_f32(u, c):
    """(k, q) with u = k ln2 + r, |r| <= ln2/2, q = expm1(r), for a float32 -150 <= u <= 0 (k as int32)."""
    inv_ln2, shifter, ln2_hi, ln2_lo, c3, c4, c5, c6, c7, c8, half = c[0], c[1], c[2], c[3], c[4], c[5], c[6], \
        c[7], c[8], c[9], c[10]
    sh = u * inv_ln2 + shifter
    k = sh - shifter
    r = (u - k * ln2_hi) - k * ln2_lo
    r2 = r * r
    p = (c3 + c4 * r) + r2 * ((c5 + c6 * r) + r2 * (c7 + c8 * r))
    q = r + r2 * (half + r * p)
    return np.float32(sh).view(np.int32) - _SHIFTER32_BITS, q


@register_jitable(error_model="numpy")
def _pow2_f32(k):
    """2**k as a float32, from its bits (-126 <= k <= 127)."""
    return np.int32((k + 127) << 23).view(np.float32)


@register_jitable(error_model="numpy")
def _tanh_f32(x):
    """tanh of a float32 in float32 arithmetic, within a few float32 ulp, monotone; ±0, ±inf, NaN and
    subnormals as np.tanh."""
    c = opaque(_CONSTANTS32)
    shifter, one, clamp, m2_inv_ln2, ln2_hi_2, ln2_lo_2 = c[1], c[11], c[12], c[13], c[15], c[16]
    h0, h1, h2, h3, h4 = c[17], c[18], c[19], c[20], c[21]
    a = abs(x)
    a = clamp if a > clamp else a  # NaN fails the comparison and is kept
    sh = a * m2_inv_ln2 + shifter
    k = sh - shifter
    rho = (a + k * ln2_hi_2) + k * ln2_lo_2
    r2 = rho * rho
    g = (one + rho * h0) + r2 * ((h1 + rho * h2) + r2 * (h3 + rho * h4))
    w = rho - r2 * g
    ki = np.float32(sh).view(np.int32) - _SHIFTER32_BITS
    s2w = _pow2_f32(ki + 1) * w  # exact, as in the float64 tanh
    s = _pow2_f32(ki)
    t = ((one - s) + s2w) / ((one + s) - s2w)
    return math.copysign(t, x)


@register_jitable(error_model="numpy")
def _sigmoid_f32(x):
    """The logistic function of a float32 in float32 arithmetic: within 3 float32 ulp, results below the
    normal range within a subnormal step; NaN is kept, ±inf give 1 and 0.

    As :func:`rnndyn.kernels.vecmath.sigmoid`: E = exp(-|x|), 1/(1 + E) for x >= 0, E/(1 + E) below, with
    E = 2^k (1 + q) scaled by two powers of two so that k down to -150 (|x| up to 104) stays representable.
    """
    c = opaque(_CONSTANTS32)
    one, clamp = c[11], c[14]
    a = abs(x)
    a = clamp if a > clamp else a  # NaN fails the comparison and is kept
    ki, q = _expm1_reduced_f32(-a, c)
    k1 = ki >> 1
    s1 = _pow2_f32(k1)
    e = (s1 + s1 * q) * _pow2_f32(ki - k1)
    d = one + e
    return one / d if x >= _ZERO32 else e / d


@register_jitable(error_model="numpy")
def _tanh_f64(x):
    """:func:`rnndyn.kernels.vecmath.tanh`, bit for bit, with its constants held in spilled vectors rather
    than re-broadcast in every iteration of a vectorised loop (see :mod:`rnndyn.kernels.cpu.intrinsics`)."""
    return vecmath._tanh(x, opaque(vecmath.CONSTANTS))


@register_jitable(error_model="numpy")
def _sigmoid_f64(x):
    """:func:`rnndyn.kernels.vecmath.sigmoid`, bit for bit, its constants as :func:`_tanh_f64`'s."""
    return vecmath._sigmoid(x, opaque(vecmath.CONSTANTS))


@register_jitable(error_model="numpy")
def _dtanh_f64(x):
    """:func:`rnndyn.kernels.scalar.dtanh`, bit for bit, its constants as :func:`_tanh_f64`'s."""
    return sech2_of_exp(vecmath._exp_neg(-2.0 * abs(x), opaque(vecmath.CONSTANTS)))


@register_jitable(error_model="numpy")
def _relu_f32(x):
    """ReLU of a float32, 0·x below zero (which keeps NaN) with a float32 zero: phi's float64 zero would
    promote the product to float64 and halve the SIMD lanes."""
    return x if x > _ZERO32 else _ZERO32 * x


@register_jitable(error_model="numpy")
def _relu_f64(x):
    return phi(RELU, x)


def _by_precision(f64, f32, name, python):
    """A function of one float that numba compiles as ``f32`` for a float32 argument and ``f64`` otherwise
    (called from Python, it is ``python``): the float32 kernels then stay in float32 arithmetic."""

    def fn(x):
        return python(x)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = f"{f64.__name__} or, for a float32 argument, {f32.__name__} (in the argument's precision)."

    @overload(fn, jit_options={"error_model": "numpy"})
    def _impl(x):
        if isinstance(x, types.Float) and x.bitwidth == 32:
            return lambda x: f32(x)
        return lambda x: f64(x)

    return fn


_tanh_of = _by_precision(_tanh_f64, _tanh_f32, "_tanh_of", tanh)
_sigmoid_of = _by_precision(_sigmoid_f64, _sigmoid_f32, "_sigmoid_of", sigmoid)
_relu_of = _by_precision(_relu_f64, _relu_f32, "_relu_of", _relu_f64)


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _matmul_small(M, H, out):
    """out = M @ H by hand (n, n) x (n, m), batch innermost: faster than a BLAS call for small n.

    Register tiles (:mod:`rnndyn.kernels.cpu.tiles`) cover the whole 4 x 8 blocks
    (4 x 16 in float32), plain loops the rows and columns left over; both sum each
    entry from j = 0 upwards, one fused multiply-add at a time, so the result does
    not depend on where the tiles end.
    """
    n, m = H.shape
    nt, mt = tiled_product(M, H, out)
    if mt < m:
        _matmul_loops(M, H, out, 0, nt, mt, m)
    if nt < n:
        _matmul_loops(M, H, out, nt, n, 0, m)


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _matmul_loops(M, H, out, i_lo, i_hi, c_lo, c_hi):
    """out[i_lo:i_hi, c_lo:c_hi] = M[i_lo:i_hi] @ H[:, c_lo:c_hi] with loops LLVM vectorises over the batch.

    Two output rows and four rows of H per pass over the batch: each loaded
    vector of H feeds eight multiply-adds and each output vector is loaded and
    stored once per four of them. Each entry is still summed from j = 0
    upwards, one product at a time, so the rounding is that of the plain loop.
    """
    n = H.shape[0]
    i = i_lo
    while i + 1 < i_hi:
        o0 = out[i]
        o1 = out[i + 1]
        for c in range(c_lo, c_hi):
            o0[c] = 0.0
            o1[c] = 0.0
        j = 0
        while j + 3 < n:
            a0, a1, a2, a3 = M[i, j], M[i, j + 1], M[i, j + 2], M[i, j + 3]
            b0, b1, b2, b3 = M[i + 1, j], M[i + 1, j + 1], M[i + 1, j + 2], M[i + 1, j + 3]
            h0, h1, h2, h3 = H[j], H[j + 1], H[j + 2], H[j + 3]
            for c in range(c_lo, c_hi):
                x0, x1, x2, x3 = h0[c], h1[c], h2[c], h3[c]
                o0[c] = (((o0[c] + a0 * x0) + a1 * x1) + a2 * x2) + a3 * x3
                o1[c] = (((o1[c] + b0 * x0) + b1 * x1) + b2 * x2) + b3 * x3
            j += 4
        while j < n:
            a0, b0 = M[i, j], M[i + 1, j]
            h0 = H[j]
            for c in range(c_lo, c_hi):
                o0[c] += a0 * h0[c]
                o1[c] += b0 * h0[c]
            j += 1
        i += 2
    if i < i_hi:
        o0 = out[i]
        for c in range(c_lo, c_hi):
            o0[c] = 0.0
        for j in range(n):
            a0 = M[i, j]
            h0 = H[j]
            for c in range(c_lo, c_hi):
                o0[c] += a0 * h0[c]


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _affine_loops(A, b, V, X, i_lo, i_hi, c_lo, c_hi):
    """A[i, c] += b[i], then += V[i, j] X[j, c] for j in order, over rows [i_lo, i_hi) and columns [c_lo, c_hi)."""
    for i in range(i_lo, i_hi):
        ai = A[i]
        bi = b[i]
        for k in range(c_lo, c_hi):
            ai[k] += bi
        for j in range(V.shape[1]):
            vij = V[i, j]
            xj = X[j]
            for k in range(c_lo, c_hi):
                ai[k] += vij * xj[k]


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _affine_product(M, H, b, V, X, A):
    """A = M @ H + b[:, None] + V @ X for a block (n, m): register tiles where they fit, the plain loops
    around them (the same rounding, see :func:`_matmul_small`)."""
    n, m = H.shape
    nt, mt = tiled_affine(M, H, b, V, X, A)
    if mt < m:
        _matmul_loops(M, H, A, 0, nt, mt, m)
        _affine_loops(A, b, V, X, 0, nt, mt, m)
    if nt < n:
        _matmul_loops(M, H, A, nt, n, 0, m)
        _affine_loops(A, b, V, X, nt, n, 0, m)


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _preactivations(M, H, X, V, b, Vz, bz, gated, use_blas, A, Z):
    """A = M H + b + V X and, for a gated cell, Z = M H + bz + Vz X, for a block (n, m), batch innermost.

    The gate needs M H before the bias is added, so a gated cell (or a BLAS product) adds the bias and
    inputs in passes of their own; otherwise register tiles take them in their epilogue."""
    n, m = H.shape
    d = V.shape[1]
    if not (use_blas or gated):
        _affine_product(M, H, b, V, X, A)
        return
    if use_blas:
        np.dot(M, H, A)
    else:
        _matmul_small(M, H, A)
    if gated:
        for i in range(n):
            zi = Z[i]
            ai = A[i]
            for k in range(m):
                zi[k] = ai[k] + bz[i]
            for j in range(d):
                vz = Vz[i, j]
                xj = X[j]
                for k in range(m):
                    zi[k] += vz * xj[k]
    _affine_loops(A, b, V, X, 0, n, 0, m)


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _gather_inputs(inputs, X, b0, s):
    """X[j, k] = x_s of trajectory b0 + k (inputs (Bi, T, d); Bi = 1 is shared by the batch), batch innermost."""
    Bi = inputs.shape[0]
    for k in range(X.shape[1]):
        bi = b0 + k if Bi > 1 else 0
        for j in range(X.shape[0]):
            X[j, k] = inputs[bi, s, j]


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _block_step(H, Hn, A, Z, X, alpha, eps, act, gated, M, V, b, Vz, bz, use_blas, acc):
    """Hn = alpha H + eps [σ(Z)] ∘ φ(A) for a block H of shape (n, m), batch innermost.

    Also leaves acc[k] = Σ_i Hn[i, k] (rows in order, as :func:`_check_block` sums them) for
    :func:`_mark_diverged`. H, Hn, A and Z are C-contiguous (the caller allocates them).
    """
    prefer_wide_vectors()  # its loops run over the block (n·m entries) or the batch
    n, m = H.shape
    _preactivations(M, H, X, V, b, Vz, bz, gated, use_blas, A, Z)
    if act == TANH or (act == SIGMOID and not gated):
        # The costly activations run as one loop over the whole block: in short rows (m = 32) each entry
        # into a vectorised loop pays its overlap checks and the set-up of the activation's constants
        # (4-9 % of the step at n = 32, measured). The column sums then take a pass of their own, in the
        # same order, so the same bits.
        h = flat_view(H)
        hn = flat_view(Hn)
        a = flat_view(A)
        if gated:
            z = flat_view(Z)
            for j in range(n * m):
                # which product contraction fuses is fixed: otherwise float32 rounds differently in the
                # loop's vectorised body and its scalar remainder (see rnndyn.kernels.cpu.intrinsics)
                hn[j] = fma(alpha, h[j], eps * (_sigmoid_of(z[j]) * _tanh_of(a[j])))
        elif act == TANH:
            for j in range(n * m):
                hn[j] = alpha * h[j] + eps * _tanh_of(a[j])
        else:
            for j in range(n * m):
                hn[j] = alpha * h[j] + eps * _sigmoid_of(a[j])
        _column_sums(Hn, acc)
        return
    for k in range(m):
        acc[k] = 0.0
    # The cheap activations: one loop each, fused with the update and the column sums (a branch inside the
    # innermost loop would stop LLVM from vectorising it, and a separate update pass over A cost 10-20 %
    # of the step at n = 32, measured, one thread).
    for i in range(n):
        ai = A[i]
        hi = H[i]
        hni = Hn[i]
        if gated:
            zi = Z[i]
            for k in range(m):
                v = alpha * hi[k] + eps * (sigmoid(zi[k]) * phi(act, ai[k]))
                hni[k] = v
                acc[k] += v
        elif act == RELU:
            for k in range(m):
                v = alpha * hi[k] + eps * _relu_of(ai[k])  # keeps NaN, which max(a, 0) would drop
                hni[k] = v
                acc[k] += v
        else:
            for k in range(m):
                v = alpha * hi[k] + eps * ai[k]
                hni[k] = v
                acc[k] += v


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _mark_diverged(H, acc, div, t):
    """Mark the columns of H that hold a non-finite entry (at step t), and poison them with NaN.

    A sum is non-finite as soon as one term is (inf - inf and NaN give NaN), so the column sums
    acc[k] = Σ_i H[i, k] screen the whole block; the per-column branches run only when one of them is not
    finite (rare), and there the entries decide: a column of finite entries whose sum overflows (entries
    near the largest double) is not diverged, as in the NumPy twin. A diverged trajectory is set to NaN so
    that a bounded activation cannot turn inf back into a number. Returns the number of diverged columns.
    """
    n, m = H.shape
    # A count of non-finite sums, not their total: an integer reduction vectorises, while a float
    # sum is one dependent add per column (2 us per step for a 2048-column block of the 2-D grid).
    nbad = 0
    for k in range(m):
        nbad += 0 if abs(acc[k]) <= _FLOAT_MAX else 1  # NaN fails the comparison
    if nbad == 0:
        return 0
    ndiv = 0
    for k in range(m):
        if not math.isfinite(acc[k]) and div[k] < 0:
            for i in range(n):
                if not math.isfinite(H[i, k]):
                    div[k] = t
                    break
        if div[k] >= 0:
            ndiv += 1
            for i in range(n):
                H[i, k] = np.nan
    return ndiv


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _column_sums(H, acc):
    """acc[k] = Σ_i H[i, k], the rows added in order."""
    n, m = H.shape
    mt = tiled_column_sums(H, acc)
    if mt == m:
        return
    for k in range(mt, m):
        acc[k] = 0.0
    for i in range(n):
        hi = H[i]
        for k in range(mt, m):
            acc[k] += hi[k]


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _check_block(H, acc, div, t):
    """:func:`_mark_diverged` for a block whose column sums are not at hand: sums them into acc first."""
    _column_sums(H, acc)
    return _mark_diverged(H, acc, div, t)


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _block_step_2d(H, Hn, alpha, eps, act, M, b, acc):
    """The autonomous 2-D step fused in one pass (phase portraits, grids of initial states):
    both coordinates stay in registers, and the loop over the batch vectorises. Leaves the
    column sums in acc, as :func:`_block_step`."""
    prefer_wide_vectors()
    m = H.shape[1]
    m00, m01, m10, m11 = M[0, 0], M[0, 1], M[1, 0], M[1, 1]
    b0, b1 = b[0], b[1]
    x, y = H[0], H[1]
    xn, yn = Hn[0], Hn[1]
    if act == TANH:
        for k in range(m):
            a0 = m00 * x[k] + m01 * y[k] + b0
            a1 = m10 * x[k] + m11 * y[k] + b1
            u = alpha * x[k] + eps * _tanh_of(a0)  # float32 in float32: 8 lanes, no conversions
            v = alpha * y[k] + eps * _tanh_of(a1)
            xn[k] = u
            yn[k] = v
            acc[k] = u + v
    else:
        for k in range(m):
            a0 = m00 * x[k] + m01 * y[k] + b0
            a1 = m10 * x[k] + m11 * y[k] + b1
            u = alpha * x[k] + eps * phi(act, a0)
            v = alpha * y[k] + eps * phi(act, a1)
            xn[k] = u
            yn[k] = v
            acc[k] = u + v


#: States per tile of :func:`_tile_2d`: 8 vectors of 8 lanes, so a tile's loop is whole vectors with no
#: remainder, and a tile's scratch (1.5 KB in float64: the states and their check sums) stays in L1 through all
#: its steps.
TILE_2D = 64
_HALF_2D = TILE_2D // 2


@njit(cache=True, fastmath=_FASTMATH, error_model="numpy")
def _tile_2d(k0, h0, T, alpha, eps, M, b, stride, out, final, diverged_at, H):
    """States k0 .. k0 + TILE_2D - 1 of the autonomous 2-D tanh cell through all T steps, a tile at a time.

    The step is :func:`_block_step_2d`'s, with the same operations (so the same bits), but the tile runs
    every step before the next tile starts: its states stay in L1 and the loop over steps costs nothing
    per state, where the step-by-step pass over a whole block streams the block through L2 every step
    (10-20 % of the grid's time, measured). The divergence check is amortised: each state's column sums
    are added into a running sum (non-finite once any one of them is: inf and NaN absorb every finite
    term, inf - inf is NaN), and only at the end is the tile tested. Returns False, having stored nothing
    but records that the caller will overwrite, when a sum was not finite or the running sum overflowed:
    the caller then runs the tile step by step with its per-step check (:func:`_block_step_2d`,
    :func:`_mark_diverged`), which finds the step and poisons the state as usual. ``H`` (3, TILE_2D) is
    scratch of the states' dtype: the two coordinates and, in the first half of the third row, the running
    sums, one for state k and state k + TILE_2D/2 together (the tile is accepted or run again as a whole
    either way). One running sum per state cost the two-vector loop below all its gain, and sums in an
    array of their own ran it 31 % slower than sums in the third row (measured in one process).
    """
    prefer_wide_vectors()
    m00, m01, m10, m11 = M[0, 0], M[0, 1], M[1, 0], M[1, 1]
    b0, b1 = b[0], b[1]
    x, y, chk = H[0], H[1], H[2]
    zero = H.dtype.type(0.0)
    for k in range(TILE_2D):
        x[k] = h0[k0 + k, 0]
        y[k] = h0[k0 + k, 1]
    for k in range(_HALF_2D):
        chk[k] = zero
    if stride > 0:
        for k in range(TILE_2D):
            out[k0 + k, 0, 0] = x[k]
            out[k0 + k, 0, 1] = y[k]
    euler = alpha == 1.0
    for t in range(1, T + 1):
        # Two halves of the tile in one loop body: each state's step is a chain of about 70 cycles of
        # latency (the tanh's reduction, polynomial and division), and with one vector of states per
        # iteration the out-of-order window holds too little independent work to keep the multiply-add
        # pipes busy; two vectors per iteration ran the bare loop 8-16 % faster (three or four spill
        # registers and run slower). Each state sees the same operations, so the same bits. The steps are
        # written out: behind a helper that returns the pair of coordinates, LLVM left the loop scalar.
        if euler:
            # α h + ε t contracts to fma(α, h, ε t): with α = 1 that is h + ε t with ε t rounded first, one
            # multiplication fewer on the pipes a tanh-bound loop needs (the same bits, see rounded_product)
            for k in range(_HALF_2D):
                j = k + _HALF_2D
                xk = x[k]
                yk = y[k]
                xj = x[j]
                yj = y[j]
                u = xk + rounded_product(eps, _tanh_of(m00 * xk + m01 * yk + b0))
                v = yk + rounded_product(eps, _tanh_of(m10 * xk + m11 * yk + b1))
                p = xj + rounded_product(eps, _tanh_of(m00 * xj + m01 * yj + b0))
                q = yj + rounded_product(eps, _tanh_of(m10 * xj + m11 * yj + b1))
                x[k] = u
                y[k] = v
                x[j] = p
                y[j] = q
                chk[k] += (u + v) + (p + q)
        else:
            for k in range(_HALF_2D):
                j = k + _HALF_2D
                xk = x[k]
                yk = y[k]
                xj = x[j]
                yj = y[j]
                u = alpha * xk + eps * _tanh_of(m00 * xk + m01 * yk + b0)
                v = alpha * yk + eps * _tanh_of(m10 * xk + m11 * yk + b1)
                p = alpha * xj + eps * _tanh_of(m00 * xj + m01 * yj + b0)
                q = alpha * yj + eps * _tanh_of(m10 * xj + m11 * yj + b1)
                x[k] = u
                y[k] = v
                x[j] = p
                y[j] = q
                chk[k] += (u + v) + (p + q)
        if stride > 0 and t % stride == 0:
            r = t // stride
            for k in range(TILE_2D):
                out[k0 + k, r, 0] = x[k]
                out[k0 + k, r, 1] = y[k]
    nbad = 0
    for k in range(_HALF_2D):
        nbad += 0 if abs(chk[k]) <= _FLOAT_MAX else 1  # NaN fails the comparison
    if nbad > 0:
        return False
    for k in range(TILE_2D):
        final[k0 + k, 0] = x[k]
        final[k0 + k, 1] = y[k]
        diverged_at[k0 + k] = -1
    return True


@register_jitable(error_model="numpy", fastmath=False)
def _max_nan(a, v):
    """max(a, v) that keeps a NaN from either side (a plain ``v > a`` test would drop one in ``a``)."""
    return v if (v > a or v != v) else a


# fastmath=False is explicit: a jitted function that leaves it unset takes the flags of whichever caller
# compiles it first (numba issue #7168), so its rounding (FMA contraction) would depend on compile order.
@njit(cache=True, fastmath=False, error_model="numpy")
def _fro(A):
    """‖A‖_F scaled by a power of two near max|a_ij| first, so that it overflows only when the result does
    (‖A‖ above ~1e154 or below ~1e-154 would otherwise square out of range). NaN anywhere gives NaN.

    The scaling multiplies by exact powers of two (two factors, each representable even when max|a_ij| is
    subnormal) instead of dividing by max|a_ij|: a caller compiled with fast-math may turn x / m into
    x · (1/m), and 1/m overflows for a subnormal m.

    Both passes keep four partial results (entries j mod 4 of each row): one running maximum or sum
    would be a chain of dependent operations, one entry per latency of an add (a third of the tangent
    kernel's step at n = 32)."""
    n, k = A.shape
    m0 = m1 = m2 = m3 = 0.0
    for i in range(n):
        j = 0
        while j + 3 < k:
            m0 = _max_nan(m0, abs(A[i, j]))
            m1 = _max_nan(m1, abs(A[i, j + 1]))
            m2 = _max_nan(m2, abs(A[i, j + 2]))
            m3 = _max_nan(m3, abs(A[i, j + 3]))
            j += 4
        while j < k:
            m0 = _max_nan(m0, abs(A[i, j]))
            j += 1
    amax = _max_nan(_max_nan(m0, m1), _max_nan(m2, m3))
    if amax == 0.0 or not math.isfinite(amax):
        return amax
    e, f1, f2 = _pow2_scale(amax)
    s0 = s1 = s2 = s3 = 0.0
    for i in range(n):
        j = 0
        while j + 3 < k:
            v0 = (A[i, j] * f1) * f2
            v1 = (A[i, j + 1] * f1) * f2
            v2 = (A[i, j + 2] * f1) * f2
            v3 = (A[i, j + 3] * f1) * f2
            s0 += v0 * v0
            s1 += v1 * v1
            s2 += v2 * v2
            s3 += v3 * v3
            j += 4
        while j < k:
            v0 = (A[i, j] * f1) * f2
            s0 += v0 * v0
            j += 1
    return math.ldexp(math.sqrt((s0 + s1) + (s2 + s3)), e)


@njit(cache=True, error_model="numpy")
def _norm_of_sum_of_squares(v, q):
    """‖v‖ of a contiguous vector given q = Σ v_i² summed plainly: sqrt(q) while q is in range, else
    :func:`_fro`'s scaled sum (q overflows from ‖v‖ ~ 1e154 and underflows below ~1e-154)."""
    if 1e-300 < q < 1e300:
        return math.sqrt(q)
    return _fro(v.reshape((1, v.shape[0])))


# LAPACK's dsyevd through numba's own wrapper, as np.linalg.eigvalsh calls it (jobz "N", lower triangle,
# a Fortran-ordered copy), without that function's checks: its finiteness check iterates with np.nditer
# and its error paths format strings, which together took longer to compile than the rest of the tangent
# kernels. The matrix here is always finite (a scaled BᵀB).
ensure_lapack()
_XXXEVD = _LAPACK().numba_ez_xxxevd(types.float64)
_JOBZ_N, _UPLO_L, _KIND_D = ord("N"), ord("L"), ord("d")


@njit(cache=True)
def _eigvalsh(S):
    """Eigenvalues of the symmetric float64 matrix S (its lower triangle), ascending, as np.linalg.eigvalsh."""
    n = S.shape[0]
    a = np.ascontiguousarray(S.T)  # read by LAPACK in Fortran order: S itself
    w = np.empty(n)
    r = _XXXEVD(_KIND_D, _JOBZ_N, _UPLO_L, n, a.ctypes, n, w.ctypes)
    _dummy_liveness_func([a.size, w.size])  # .ctypes alone does not keep the arrays alive during the call
    if r != 0:
        w[:] = np.nan  # no convergence
    return w


@njit(cache=True, fastmath=False)
def _spectral_norm(A, At, S):
    """‖A‖₂ as 2^e · sqrt(λ_max(BᵀB)) with B = A · 2^-e, 2^e ≈ ‖A‖_F (scaled so BᵀB cannot overflow)."""
    fro = _fro(A)
    if fro == 0.0 or not math.isfinite(fro):
        return fro
    n, k = A.shape
    # B = A · 2^-e with 2^e ≈ ‖A‖_F, by exact powers of two (see _fro: no reciprocal of a subnormal)
    e, s1, s2 = _pow2_scale(fro)
    for i in range(n):
        for j in range(k):
            At[j, i] = (A[i, j] * s1) * s2
    for i in range(k):
        for j in range(k):
            s = 0.0
            for r in range(n):
                s += At[i, r] * At[j, r]
            S[i, j] = s
    ev = _eigvalsh(S)
    return math.ldexp(math.sqrt(max(ev[k - 1], 0.0)), e)


@njit(cache=True, fastmath=False)
def _record_tangent_norms(A, vecs, norm_kind, norms_b, vec_norms_b, t, At, S, AV):
    if norm_kind == 0:
        norms_b[t] = _spectral_norm(A, At, S)
    else:
        norms_b[t] = _fro(A)
    kv = vecs.shape[1]
    if kv > 0:
        n = A.shape[0]
        for i in range(n):
            for c in range(kv):
                AV[i, c] = 0.0
            for j in range(n):
                aij = A[i, j]
                for c in range(kv):
                    AV[i, c] += aij * vecs[j, c]
        for c in range(kv):
            vec_norms_b[t, c] = _fro(AV[:, c:c + 1])


# fastmath=False is explicit, as _fro's: its callers include kernels with and without FMA contraction, and an
# unset flag would make its rounding depend on which of them compiled it first.
@njit(cache=True, fastmath=False, error_model="numpy")
def _state_and_derivative(a, az, h, hn, D, alpha, eps, act, gated):
    """One trajectory's next state hn = alpha h + eps [z] φ(a) and the diagonal D of
    J = alpha I + diag(D) M, from the pre-activations a (and the gate's az).

    The tanh cells (gated or not) have loops of their own: without the per-entry dispatch on ``act``
    LLVM vectorises tanh and tanh' (the same arithmetic, so the same results)."""
    if act == TANH and not gated:
        for i in range(h.shape[0]):
            ai = a[i]
            D[i] = eps * _dtanh_f64(ai)
            hn[i] = alpha * h[i] + eps * _tanh_f64(ai)
        return
    if act == TANH:  # the gated tanh cell, likewise (phi(TANH, a) is tanh(a), dphi(TANH, a, y) is dtanh(a))
        for i in range(h.shape[0]):
            ai = a[i]
            y = _tanh_f64(ai)
            dy = _dtanh_f64(ai)
            z = _sigmoid_f64(az[i])
            D[i] = eps * (z * dy + y * z * (1.0 - z))
            hn[i] = alpha * h[i] + eps * z * y
        return
    for i in range(h.shape[0]):
        y = phi(act, a[i])
        dy = dphi(act, a[i], y)
        if gated:
            z = sigmoid(az[i])
            D[i] = eps * (z * dy + y * z * (1.0 - z))
            hn[i] = alpha * h[i] + eps * z * y
        else:
            D[i] = eps * dy
            hn[i] = alpha * h[i] + eps * y


#: Fewest columns for which :func:`_reflect` takes the register strips of tiles.tiled_reflect (its narrowest
#: strip, 2 x 4 doubles): below, the plain loops alone, with no strip set-up around them.
_REFLECT_STRIP_MIN = 8


@njit(error_model="numpy", inline="always")
def _reflect_columns(A, Vh, w, j, c0, k):
    """:func:`_reflect_by` on columns c0..k-1 of A in plain loops."""
    n = A.shape[0]
    tau = Vh[j, j]
    for c in range(c0, k):
        w[c] = A[j, c]
    i = j + 1
    while i + 3 < n:
        v0 = Vh[i, j]
        v1 = Vh[i + 1, j]
        v2 = Vh[i + 2, j]
        v3 = Vh[i + 3, j]
        for c in range(c0, k):
            w[c] = (((w[c] + v0 * A[i, c]) + v1 * A[i + 1, c]) + v2 * A[i + 2, c]) + v3 * A[i + 3, c]
        i += 4
    while i < n:
        vi = Vh[i, j]
        for c in range(c0, k):
            w[c] += vi * A[i, c]
        i += 1
    for c in range(c0, k):
        wc = w[c] * tau
        w[c] = wc
        A[j, c] -= wc
    for i in range(j + 1, n):
        vi = Vh[i, j]
        for c in range(c0, k):
            A[i, c] -= vi * w[c]


@njit(error_model="numpy", inline="always")
def _reflect_by(A, Vh, w, j, strips, c_lo, c_hi):
    """Apply H_j = I - tau_j v_j v_jᵀ to columns c_lo..c_hi-1 of A (rows j..), as w = Aᵀv; A -= tau v wᵀ.

    The QR passes whole strips of columns, from column 0 where k ≤ _QR_BLOCK,
    rather than the columns that matter only: the loops then keep one trip
    count that vectorises without remainders (faster at small n than skipping
    columns). This is exact for the columns that matter: each column is
    updated independently of the others, the columns c < j of the accumulation
    of Q are still e_c, so their w is exactly 0, and in the factorisation the
    columns c ≤ j are dead (their reflectors are already in Vh and Q is rebuilt
    from scratch). The plain loops' w accumulation takes four rows per pass,
    written as the same left-to-right sum (identical rounding), to keep w in
    registers across them.

    With ``strips``, the whole strips of vectors go to
    :func:`rnndyn.kernels.cpu.tiles.tiled_reflect` first, which keeps a strip's
    w in vector registers over all rows and rounds as these loops; the loops
    take the columns left over.
    """
    # strips is a constant where the caller is compiled for one case (the QR below): the plain loops of
    # small k are then compiled without the strips' code around them, which otherwise costs them ~50 %
    c0 = tiled_reflect(A, Vh, j, c_lo, c_hi) if strips else c_lo
    if c0 < c_hi:
        _reflect_columns(A, Vh, w, j, c0, c_hi)


@njit(error_model="numpy", inline="always")
def _reflect_run(A, Vh, w, j_lo, j_hi, backward, strips, c_lo, c_hi):
    """:func:`_reflect_by` for j = j_lo .. j_hi - 1 (descending if ``backward``), skipping tau_j = 0: the
    whole strips as one :func:`rnndyn.kernels.cpu.tiles.tiled_reflect_run` (a pass over the rows per
    reflection instead of two, the same bits), the columns left over reflection by reflection."""
    if strips:
        c0 = tiled_reflect_run_backward(A, Vh, j_lo, j_hi, c_lo, c_hi) if backward else \
            tiled_reflect_run(A, Vh, j_lo, j_hi, c_lo, c_hi)
    else:
        c0 = c_lo
    if c0 < c_hi:
        for r in range(j_hi - j_lo):
            j = j_hi - 1 - r if backward else j_lo + r
            if Vh[j, j] != 0.0:
                _reflect_columns(A, Vh, w, j, c0, c_hi)


@njit(cache=True, error_model="numpy")
def _reflect(A, Vh, w, j):
    """:func:`_reflect_by` on every column, the strips taken from :data:`_REFLECT_STRIP_MIN` columns on."""
    k = A.shape[1]
    _reflect_by(A, Vh, w, j, k >= _REFLECT_STRIP_MIN, 0, k)


#: Columns of a panel of _qr_cols, and of the strips its reflectors are applied to one after another (from
#: k > _QR_BLOCK on): a strip of A (n x 32 doubles, 32 KB at n = 128) stays in L1 while they pass.
_QR_BLOCK = 32

#: Bounds on a column's sum of squares inside which _qr_cols computes its norm unscaled.
_QR_SAFE_LO = 2.0 ** -960
_QR_SAFE_HI = 2.0 ** 960


@njit(cache=True, error_model="numpy")
def _qr_cols(A, Vh, w, rdiag):
    """Householder QR of A (n, k), in place: A <- Q with diag(R) ≥ 0 returned in ``rdiag``.

    Householder (the arithmetic of LAPACK's unblocked dgeqr2 + dorg2r, each
    column meeting the reflections in the same order; for k > _QR_BLOCK they are
    applied a strip of columns at a time) rather than Gram-Schmidt:
    with ``reortho_every`` > 1 the columns can be badly conditioned, and
    Householder stays orthogonal to machine precision whatever the condition
    number. Each reflector H_j = I - tau_j v_j v_jᵀ (v_j[j] = 1) is applied as
    w = Aᵀv (accumulated row by row) and A -= tau v wᵀ, both axpys along the
    contiguous rows. The sign of each R_jj is moved into Q so that diag(R) ≥ 0,
    which makes the factorisation unique and equal to the reference's.
    ``Vh`` (n, k) is scratch for the reflectors (below the diagonal of column j:
    v_j, whose leading 1 is implicit; on the diagonal: tau_j), ``w`` (k,) too.
    A and Vh may be views of the first k columns of wider arrays (see
    :func:`_qr_scratch`).
    """
    # two copies of the small QR, each with its reflections inlined (numba IR inlining: LLVM then sees j ≥ 0 and
    # the loop bounds, which drops index wraparound and part of the set-up of the ~30 short loops of each QR);
    # the blocked QR of larger k is called (in the same function, its code made the small QR up to 2x slower)
    k = A.shape[1]
    if k > _QR_BLOCK:
        _qr_cols_blocked(A, Vh, w, rdiag, A, False)
    elif k >= _REFLECT_STRIP_MIN:
        _qr_cols_by(A, Vh, w, rdiag, True, False, A, False)
    else:
        _qr_cols_by(A, Vh, w, rdiag, False, False, A, False)


@njit(cache=True, error_model="numpy")
def _qr_cols_r(A, Vh, w, rdiag, R):
    """:func:`_qr_cols` that also writes R (k, k): upper triangular, its diagonal ``rdiag`` (≥ 0), zeros
    below, the signs of its rows as those of Q's columns (A = QR). The covariant vectors keep it."""
    k = A.shape[1]
    if k > _QR_BLOCK:
        _qr_cols_blocked(A, Vh, w, rdiag, R, True)
    elif k >= _REFLECT_STRIP_MIN:
        _qr_cols_by(A, Vh, w, rdiag, True, False, R, True)
    else:
        _qr_cols_by(A, Vh, w, rdiag, False, False, R, True)


@njit(cache=True, error_model="numpy")
def _qr_cols_blocked(A, Vh, w, rdiag, R, keep_r):
    """:func:`_qr_cols` (and :func:`_qr_cols_r`, with ``keep_r``) for k > _QR_BLOCK (a function of its own: its
    code inlined into _qr_cols made the QR of small k up to 2x slower)."""
    _qr_cols_by(A, Vh, w, rdiag, True, True, R, keep_r)


@njit(error_model="numpy", inline="always")
def _qr_cols_by(A, Vh, w, rdiag, strips, blocked, R, keep_r):
    """:func:`_qr_cols`, its reflections as :func:`_reflect_by` (``strips``), a panel of _QR_BLOCK columns at
    a time (``blocked``; else one panel of all k columns); R into ``R`` with ``keep_r`` (else R is not touched).

    Each panel is factored on its own; its reflectors then pass over each strip of _QR_BLOCK columns right of
    it in turn, and Q is accumulated a strip at a time: a strip stays in L1 while they pass, where whole rows
    (1 KB at n = 128) would stream from L2 for every reflection. Each column meets the same reflections in the
    same order as with whole rows, so the bits are those of the unblocked dgeqr2 + dorg2r order. For
    k ≤ _QR_BLOCK there is one panel and one strip, the rows whole, and ``blocked`` False (a constant after
    inlining) compiles that case without the panels' loop bookkeeping (about 10 ns of a 2 x 2 QR).

    The code of a reflector is written out here rather than called or inlined: numba's inlining of a function
    taking arrays kept reference counting (three atomic increments and decrements) in this loop.
    """
    n, k = A.shape
    block = _QR_BLOCK if blocked else max(k, 1)
    for p0 in range(0, k, block):
        p1 = min(p0 + block, k)
        for j in range(p0, p1):
            a0 = A[j, j]
            sigma = 0.0
            for i in range(j + 1, n):
                sigma += A[i, j] * A[i, j]
            ss = a0 * a0 + sigma
            if not (_QR_SAFE_LO < ss < _QR_SAFE_HI):
                # squares near the ends of the float64 range (entries below ~1e-145 or above ~1e145) lose the norm
                # to underflow or overflow: a scaled norm, and the reflector by division, not by a reciprocal
                norm = _column_norm(A, j, n)
                if norm == abs(a0):  # nothing below the diagonal counts: H_j = I
                    tau = 0.0
                    rdiag[j] = a0
                else:
                    beta = -norm if a0 >= 0.0 else norm
                    tau = (beta - a0) / beta
                    den = a0 - beta
                    for i in range(j + 1, n):
                        Vh[i, j] = A[i, j] / den
                    rdiag[j] = beta
            elif sigma == 0.0:
                tau = 0.0  # column already triangular: H_j = I
                rdiag[j] = a0
            else:
                norm = math.sqrt(a0 * a0 + sigma)
                beta = -norm if a0 >= 0.0 else norm
                tau = (beta - a0) / beta
                scale = 1.0 / (a0 - beta)
                for i in range(j + 1, n):
                    Vh[i, j] = A[i, j] * scale
                rdiag[j] = beta
            Vh[j, j] = tau
            if tau != 0.0 and j + 1 < p1:
                # unblocked, whole rows from a literal 0: LLVM then knows where the plain loops start
                _reflect_by(A, Vh, w, j, strips, p0 if blocked else 0, p1 if blocked else k)
        for q0 in range(p1, k, block):
            _reflect_run(A, Vh, w, p0, p1, False, strips, q0, min(q0 + block, k))
    if keep_r:
        # row j of A right of the diagonal is R's: the reflectors after j act on rows below it. Its sign is
        # that of R_jj, as for Q's column j below (negation is exact).
        for j in range(k):
            neg = rdiag[j] < 0.0
            for c in range(j):
                R[j, c] = 0.0
            R[j, j] = -rdiag[j] if neg else rdiag[j]
            for c in range(j + 1, k):
                R[j, c] = -A[j, c] if neg else A[j, c]
    # Q S = H_0 ⋯ H_{k-1} [S; 0] with S = diag(sign R_jj), accumulated backwards (columns c < j are still
    # ±e_c). Starting from ±e_c negates every value column c goes through, exactly (rounding is symmetric),
    # so this is Q with its columns negated where R_jj < 0, without a strided pass to negate them.
    for i in range(n):
        for c in range(k):
            A[i, c] = 0.0
        if i < k:
            A[i, i] = 1.0
            if rdiag[i] < 0.0:
                A[i, i] = -1.0
                rdiag[i] = -rdiag[i]
    # a strip at a time; H_j for j ≥ q1 leaves the columns c < q1 as they are (still ±e_c, their w exactly 0)
    for q0 in range(0, k, block):
        q1 = min(q0 + block, k)
        _reflect_run(A, Vh, w, 0, q1, True, strips, q0 if blocked else 0, q1 if blocked else k)


@njit(cache=True)
def _qr_lapack(A, rdiag, R, keep_r):
    """As :func:`_qr_cols` (``keep_r``: :func:`_qr_cols_r`) through LAPACK (dgeqrf + dorgqr, blocked), the
    signs of R's rows moved into Q's columns so that diag(R) ≥ 0."""
    q, r = np.linalg.qr(A)
    n, k = A.shape
    for j in range(k):
        rdiag[j] = abs(r[j, j])
        if keep_r:
            for c in range(k):
                R[j, c] = -r[j, c] if r[j, j] < 0.0 else r[j, c]
    for i in range(n):
        for j in range(k):
            A[i, j] = -q[i, j] if r[j, j] < 0.0 else q[i, j]


@njit(cache=True)
def _qr_scratch(n, k):
    """Scratch of :func:`_lyap_reortho` for an (n, k) basis: ``(Qs, Vh, w, rdiag)``.

    ``Vh`` and, where the rows are padded, ``Qs`` are views of the first k columns of (n, k + 8) arrays when
    a row of k doubles is a multiple of 512 bytes (k = 64, 128, ...) and the QR is blocked: rows 1 KB apart
    map a strip of columns onto a quarter of L1's sets, which then evicts the strip while the reflectors pass
    (the 128 x 128 QR: 445 against 210 µs padded). ``Qs`` has no rows where there is no padding.
    """
    pad = 8 if k > _QR_BLOCK and k % 64 == 0 else 0
    Vh = np.empty((n, k + pad))[:, :k]
    Qs = np.empty((n if pad > 0 else 0, k + pad))[:, :k]
    return Qs, Vh, np.empty(k), np.empty(k)


@njit(error_model="numpy", inline="always")
def _reortho_by(Q, Qs, Vh, w, rdiag, use_lapack, R, keep_r):
    """Q <- its orthonormal factor (diag R, made positive, into rdiag; all of R into ``R`` with ``keep_r``):
    LAPACK's QR, or the kernel's in the padded rows of ``Qs`` where it has any (see :func:`_qr_scratch`), or in
    place. Inlined, so that ``keep_r`` is a constant and each caller compiles one of the two QRs."""
    if use_lapack:
        _qr_lapack(Q, rdiag, R, keep_r)
    elif Qs.shape[0] > 0:
        _copy_mat(Qs, Q)
        if keep_r:
            _qr_cols_r(Qs, Vh, w, rdiag, R)
        else:
            _qr_cols(Qs, Vh, w, rdiag)
        _copy_mat(Q, Qs)
    elif keep_r:
        _qr_cols_r(Q, Vh, w, rdiag, R)
    else:
        _qr_cols(Q, Vh, w, rdiag)


@njit(cache=True, error_model="numpy")
def _lyap_reortho(Q, Qs, Vh, w, rdiag, use_lapack):
    """Re-orthonormalise Q in place (R's diagonal, made positive, into rdiag); the scratch from
    :func:`_qr_scratch` (Q is copied into the padded rows of ``Qs`` where it has any).

    Returns True when R's diagonal is NaN or infinite: the tangent vectors have
    diverged, and the trajectory is reported as such.
    """
    _reortho_by(Q, Qs, Vh, w, rdiag, use_lapack, Q, False)
    for j in range(rdiag.shape[0]):
        if math.isnan(rdiag[j]) or rdiag[j] == math.inf:
            return True
    return False


@njit(cache=True, error_model="numpy")
def _lyap_is_qr_time(t, transient, total, every):
    """Whether the tangent basis is re-orthonormalised after global step t."""
    if t == total or t == transient:
        return True
    if t < transient:
        return t % every == 0
    return (t - transient) % every == 0


@njit(cache=True, fastmath=False)
def _copy_vec(dst, src):
    """dst[:] = src, entry by entry. numba's array-to-array slice assignment builds a shape-mismatch message
    whose string code compiles for seconds in every kernel that uses it; these loops compile in milliseconds."""
    for i in range(src.shape[0]):
        dst[i] = src[i]


@njit(cache=True, fastmath=False)
def _copy_mat(dst, src):
    """dst[:, :] = src, entry by entry (see :func:`_copy_vec`)."""
    for i in range(src.shape[0]):
        for j in range(src.shape[1]):
            dst[i, j] = src[i, j]


@njit(cache=True)
def _lyap_store(bb, dv, x, Qb, Sb, h, Q, S, diverged_at):
    """Write trajectory bb's carried state back (NaN from the step it diverged at)."""
    if dv >= 0:
        diverged_at[bb] = dv
        x[:] = np.nan
        Qb[:, :] = np.nan
        Sb[:] = np.nan
    _copy_vec(h[bb], x)
    _copy_mat(Q[bb], Qb)
    _copy_vec(S[bb], Sb)


@njit(cache=True, error_model="numpy")
def _lyap_after_qr(t, transient, total, every, S, rdiag, blocks_b, hist_b):
    """Accumulate log R_jj after a QR at global step t into S and its block of ``blocks_b``; update the history.

    QR number r (0-based, counted after the transient) of W = ceil((total - transient)/every)
    falls in block ceil((r + 1) nb / W) - 1 of nb: block j holds QRs j W // nb … (j + 1) W // nb - 1.
    """
    k = S.shape[0]
    if t <= transient:
        return
    done = t - transient
    r = (done + every - 1) // every - 1
    nb = blocks_b.shape[0]
    if nb > 0:
        windows = (total - transient + every - 1) // every
        jb = ((r + 1) * nb + windows - 1) // windows - 1
        for j in range(k):
            lr = math.log(rdiag[j])
            S[j] += lr
            blocks_b[jb, j] += lr
    else:
        for j in range(k):
            S[j] += math.log(rdiag[j])
    if hist_b.shape[0] > 0:
        for j in range(k):
            hist_b[r, j] = S[j] / done


@njit(cache=True)
def _all_finite(x):
    """Whether every entry is finite: one vectorisable sum (inf - inf and NaN stay non-finite)."""
    s = 0.0
    for i in range(x.shape[0]):
        s += x[i] * 0.0
    return s == 0.0
