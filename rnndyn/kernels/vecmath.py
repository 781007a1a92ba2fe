"""Vectorisable tanh, sigmoid and exp/expm1 for CPU (``@njit``) and GPU code.

Why
---
``math.tanh`` lowers to a call into libm. LLVM cannot vectorise a loop that
contains an opaque scalar call, so an elementwise activation loop over a
contiguous ``float64`` array runs one element at a time and dominates small-n
RNN steps. The functions here are plain arithmetic, comparisons and selects;
after inlining, LLVM's loop vectoriser turns such a loop into SIMD code (4
doubles per ``ymm`` register on AVX2) with no call in the body.

Like :mod:`rnndyn.kernels.scalar` every public function is a
:func:`numba.extending.register_jitable`: inlined into ``@njit`` and
``@cuda.jit`` callers, plain Python when called from Python (the CUDA
simulator runs it that way). Hence only scalar operations: no arrays, no lookup
tables, no calls into libm.

Method
------
``exp`` core. For ``u`` the reduction is ``u = k ln2 + r`` with ``k`` the
integer nearest ``u/ln2`` and ``|r| <= ln2/2``:

* ``k`` is rounded by the "shifter" trick: adding ``1.5 * 2**52`` to
  ``u/ln2`` rounds it to an integer (round-to-nearest), and that integer sits in
  the low bits of the sum's bit pattern. No float -> int conversion is needed
  (AVX2 has no packed double -> int64 conversion; a conversion would be
  scalarised).
* ``r = (u - k ln2_hi) - k ln2_lo`` (Cody-Waite): ``ln2_hi`` has 32 significant
  bits, so ``k ln2_hi`` is exact for ``|k| < 2**20`` and so is the first
  subtraction (Sterbenz); only the second rounds, relative ``2**-53``. The
  result stays exact if the caller compiles with FMA contraction.
* ``expm1(r) = r + r**2 (1/2 + r P(r))`` with ``P`` a degree-9 polynomial
  fitted near-minimax (Chebyshev, 50 digits) to ``(expm1(r) - r - r**2/2)/r**3``
  on ``|r| <= 1.0005 ln2/2``; its relative truncation error is below
  ``2**-55.9`` (0.02 ulp from the approximation, the rest is the rounding of
  the coefficients), so ``expm1(r)`` is within about 1 ulp.
* ``2**k`` is built in the integer domain: ``(k + 1023) << 52`` reinterpreted
  as a double (``np.float64(x).view(np.int64)``: a bitcast in numba's CPU and
  CUDA targets, a NumPy scalar view in Python). Integer add and shift vectorise
  on AVX2.
* ``exp(u) = s (1 + q)`` and ``expm1(u) = (s - 1) + s q`` with ``s = 2**k`` and
  ``q = expm1(r)``. ``s - 1`` is exact for ``-53 <= k <= 53``, so there is no
  cancellation: ``expm1`` is within about 1.5 ulp, ``exp`` within about 1 ulp.

``tanh``. With ``a = |x|`` and ``t = expm1(-2a)`` (in ``(-1, 0]``),
``tanh(a) = -t / (t + 2)``. ``t`` has no cancellation for small ``a`` (that is
why ``expm1``, not ``exp``), ``t + 2`` is in ``[1, 2]`` and rounds relatively
by ``2**-53``, the division by another ``2**-53``. For ``a >= 0.35`` the
propagated error of ``t`` is damped (``d tanh / tanh = 2 e^{-2a} / (1 -
e^{-4a}) * dE/E <= 1.33 dE/E``). A priori bound: about 3 ulp; measured against
``np.tanh``: at most 2 ulp (see ``tests/test_vecmath.py``). The sign is put back
with ``copysign``, so ``tanh(-0.0) = -0.0``. ``|x| < 2**-28`` returns ``x``
(``tanh x = x (1 - x**2/3 + ...)`` rounds to ``x`` there; this also covers
zeros and subnormals). ``|x|`` is clamped to 20 inside ``expm1_core``'s range
(``tanh(20) = 1 - 8.5e-18`` rounds to 1), so ``±inf -> ±1`` and nothing
overflows; NaN passes through every operation and comes out NaN.

``sigmoid``. With ``E = exp(-|x|)`` in ``(0, 1]``: ``1/(1 + E)`` for
``x >= 0`` and ``E/(1 + E)`` for ``x < 0``; both evaluated, one selected. No
overflow anywhere; for ``x < 0`` the result underflows gradually (``exp_neg``
scales by ``2**(k+64)`` then ``2**-64``, so a subnormal result is rounded once).
Error: ``exp`` 1 ulp, ``1 + E`` and the division 0.5 ulp each: within 3 ulp of
the correctly rounded value for normal results.

All branches are written as conditional expressions on already computed values
(``b if c else a``), which LLVM if-converts into ``select``/``blend`` so the
vectoriser sees straight-line code.

Float32 variants (``tanh32``, ``sigmoid32``) evaluate in float64 with these
cores and round once to float32. That is below 1 ulp in float32 (the float64
error is 2**-29 float32 ulp) but keeps 4 lanes per ``ymm`` register instead of
8: correct and vectorised, not the fastest possible float32 code.
"""

from __future__ import annotations

import math

import numpy as np
from numba.extending import register_jitable

# ---------------------------------------------------------------------------
# Constants (module globals are frozen into compiled code as constants)

#: 1.5 * 2**52: ``z + _SHIFTER`` rounds ``z`` (|z| < 2**51) to an integer k and
#: leaves k in the low bits of the result's bit pattern.
_SHIFTER = 6755399441055744.0
#: Bit pattern of _SHIFTER; subtracting it from the sum's bits gives k exactly.
_SHIFTER_BITS = 0x4338000000000000
_INV_LN2 = 1.4426950408889634
#: ln 2 split (fdlibm): _LN2_HI has 32 significant bits, so k * _LN2_HI is
#: exact for |k| < 2**20; _LN2_HI + _LN2_LO = ln 2 to about 2**-85.
_LN2_HI = 6.93147180369123816490e-01
_LN2_LO = 1.90821492927058770002e-10

#: expm1(r) = r + r**2 * (1/2 + r * P(r)), P(r) = sum _Pi r**i, fitted on
#: |r| <= 1.0005 * ln2 / 2 (the slack covers a k rounded differently under FMA
#: contraction). Relative error of the resulting expm1 < 2**-55.9.
_P0 = 0.16666666666666669
_P1 = 0.041666666666666664
_P2 = 0.008333333333330051
_P3 = 0.0013888888888886545
_P4 = 0.00019841269863105968
_P5 = 2.4801587317181886e-05
_P6 = 2.7557268378684192e-06
_P7 = 2.755728291148268e-07
_P8 = 2.5100424157005067e-08
_P9 = 2.0911264239196083e-09

#: expm1(u) = -1 exactly (rounded) for u <= -40 (e**-40 < 2**-57); clamping
#: there keeps 2**k normal and avoids any underflow.
_EXPM1_LO = -40.0
#: exp(u) for u < -746 rounds to 0 (e**-746 < 2**-1076, half the least
#: subnormal); clamping keeps k + 64 >= -1013, so 2**(k+64) is normal.
_EXP_LO = -746.0
#: 2**-64, the second half of the scaling in exp_neg.
_TWO_M64 = 5.421010862427522e-20
#: Below this |x|, tanh(x) rounds to x (x**2/3 < 2**-57).
_TANH_TINY = 3.725290298461914e-09  # 2**-28


# ---------------------------------------------------------------------------
# Cores


@register_jitable(error_model="numpy")
def _pow2(k):
    """2.0**k for integer-valued float ``k`` in [-1022, 1023], by bit assembly.

    ``k`` must come from the shifter trick: its bits are needed, and taking
    them from the shifted sum avoids a float -> int conversion.
    """
    # k is integral and |k| < 2**51, so kd = k + _SHIFTER is exact and its bit
    # pattern is _SHIFTER_BITS + k.
    ki = np.float64(k + _SHIFTER).view(np.int64) - _SHIFTER_BITS
    return np.int64((ki + 1023) << 52).view(np.float64)


@register_jitable(error_model="numpy")
def _expm1_reduced(r):
    """expm1(r) for |r| <= 1.0005 ln2/2, relative error about 1 ulp."""
    # Horner: the vectorised loop already has 4 independent lanes per
    # register and out-of-order overlap between iterations, so the longer
    # dependency chain of Horner costs little and it rounds best.
    p = _P9
    p = p * r + _P8
    p = p * r + _P7
    p = p * r + _P6
    p = p * r + _P5
    p = p * r + _P4
    p = p * r + _P3
    p = p * r + _P2
    p = p * r + _P1
    p = p * r + _P0
    # r is exact and largest; add the small correction last so it rounds once.
    return r + (r * r) * (0.5 + r * p)


@register_jitable(error_model="numpy")
def _reduce(u):
    """Return (k, r): k integral float nearest u/ln2, r = u - k ln2."""
    # Round u/ln2 to nearest integer with the shifter (no int conversion);
    # (z + S) - S is not simplified by LLVM without reassociation flags.
    k = (u * _INV_LN2 + _SHIFTER) - _SHIFTER
    # Cody-Waite: first product and difference exact, one rounding in total.
    r = (u - k * _LN2_HI) - k * _LN2_LO
    return k, r


@register_jitable(error_model="numpy")
def expm1_core(u):
    """``exp(u) - 1`` in plain, vectorisable arithmetic.

    Parameters
    ----------
    u : float
        Argument, ``u <= 709`` (not checked: above, ``2**k`` overflows).
        ``u < -40`` returns ``-1.0`` (the correctly rounded value); NaN gives NaN.

    Returns
    -------
    float
        ``expm1(u)``, within about 1.5 ulp (no cancellation near 0).

    Notes
    -----
    ``u = k ln2 + r``; ``expm1(u) = (2**k - 1) + 2**k expm1(r)`` where
    ``2**k - 1`` is exact for ``|k| <= 53``. See the module docstring.
    """
    # NaN fails the comparison and is kept, so it propagates.
    u = _EXPM1_LO if u < _EXPM1_LO else u
    k, r = _reduce(u)
    q = _expm1_reduced(r)
    s = _pow2(k)
    return (s - 1.0) + s * q


@register_jitable(error_model="numpy")
def exp_neg(u):
    """``exp(u)`` for ``u <= 0``, with gradual underflow, vectorisable.

    Parameters
    ----------
    u : float
        Argument, ``u <= 0`` (for ``u > 0`` it is still correct up to
        ``u = 664``). ``-inf`` and ``u < -746`` give ``0.0``; NaN gives NaN.

    Returns
    -------
    float
        ``exp(u)``, within about 1 ulp for normal results; subnormal results are
        rounded once (within 1 subnormal ulp).
    """
    u = _EXP_LO if u < _EXP_LO else u
    k, r = _reduce(u)
    q = _expm1_reduced(r)
    # 2**k is not representable (as a normal) for k < -1022: scale by
    # 2**(k + 64) (normal for k >= -1086) and then by 2**-64. The first product
    # is exact-scale (normal), the second rounds only if the result is
    # subnormal: one rounding, as gradual underflow should be.
    s = _pow2(k + 64.0)
    return (s + s * q) * _TWO_M64


@register_jitable(error_model="numpy")
def tanh(x):
    """Hyperbolic tangent in plain arithmetic that LLVM vectorises.

    Parameters
    ----------
    x : float
        Argument (float64).

    Returns
    -------
    float
        ``tanh(x)``, within 4 ulp of ``np.tanh`` over the whole double range
        (measured: at most 2 ulp). ``tanh(±0) = ±0``, subnormal ``x`` returns
        ``x``, ``tanh(±inf) = ±1``, NaN gives NaN. No overflow, no warnings.

    Notes
    -----
    ``tanh(|x|) = -t / (t + 2)`` with ``t = expm1(-2|x|)``; the sign is
    restored with ``copysign``. See the module docstring for the error bound.
    """
    a = abs(x)
    # expm1_core clamps -2a at -40 (tanh(20) rounds to 1), so inf gives 1
    # and nothing overflows; NaN propagates.
    u = -2.0 * a
    u = _EXPM1_LO if u < _EXPM1_LO else u
    k, r = _reduce(u)
    q = _expm1_reduced(r)
    s = _pow2(k)
    # t = expm1(u) = (s - 1) + s q; tanh = -t / (t + 2). Numerator and
    # denominator are formed from the exact s - 1, s + 1 instead of a rounded
    # t: for k = 0 (|x| < 0.17) the numerator -q is then exact.
    y = ((1.0 - s) - s * q) / ((1.0 + s) + s * q)
    y = math.copysign(y, x)
    # Tiny |x| (zeros, subnormals included): tanh(x) rounds to x. NaN also
    # takes this branch (the comparison is false) and is returned as is.
    return y if a >= _TANH_TINY else x


@register_jitable(error_model="numpy")
def sigmoid(x):
    """Logistic function ``1 / (1 + exp(-x))``, vectorisable, no overflow.

    Parameters
    ----------
    x : float
        Argument (float64).

    Returns
    -------
    float
        ``sigmoid(x)``, within about 3 ulp (normal results); underflows
        gradually for ``x < -708`` and is ``0.0`` below ``-745.2``;
        ``sigmoid(+inf) = 1``, ``sigmoid(-inf) = 0``, NaN gives NaN.

    Notes
    -----
    With ``E = exp(-|x|)`` in ``(0, 1]``: ``1 / (1 + E)`` for ``x >= 0`` and
    ``E / (1 + E)`` for ``x < 0``; both numerators are at hand, one is
    selected, so there is no branch and no cancellation.
    """
    e = exp_neg(-abs(x))
    num = 1.0 if x >= 0.0 else e
    # NaN: x >= 0 is false, num = e = NaN, result NaN.
    return num / (1.0 + e)


@register_jitable(error_model="numpy")
def tanh32(x):
    """``tanh`` of a float32, correctly rounded to within 1 float32 ulp.

    Parameters
    ----------
    x : float32
        Argument.

    Returns
    -------
    float32
        ``tanh(x)``: the float64 :func:`tanh` rounded once to float32.
    """
    return np.float32(tanh(np.float64(x)))


@register_jitable(error_model="numpy")
def sigmoid32(x):
    """``sigmoid`` of a float32: the float64 :func:`sigmoid` rounded to float32.

    Parameters
    ----------
    x : float32
        Argument.

    Returns
    -------
    float32
        ``sigmoid(x)``, within 1 float32 ulp.
    """
    return np.float32(sigmoid(np.float64(x)))
