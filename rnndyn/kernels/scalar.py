"""Scalar math shared by the CPU (``@njit``) and GPU (``@cuda.jit``) kernels.

Each function is a :func:`numba.extending.register_jitable`: plain Python when
called from Python (so the NumPy reference can use the same definitions where it
wants to), inlined into whichever target compiles a caller.

Activations are passed to kernels as small integers (no strings reach a kernel):
``TANH``, ``RELU``, ``LINEAR``, ``SIGMOID``.
"""

from __future__ import annotations

import math

from numba.extending import register_jitable

from rnndyn.kernels import vecmath
from rnndyn.kernels.params import (  # noqa: F401
    ACTIVATION_NAMES,
    ACTIVATIONS,
    LINEAR,
    RELU,
    SIGMOID,
    TANH,
)


@register_jitable(error_model="numpy")
def sigmoid(x):
    """Logistic function, without overflow for large |x| (vectorisable, within 2 ulp)."""
    return vecmath.sigmoid(x)


@register_jitable(error_model="numpy")
def tanh(x):
    """tanh in arithmetic LLVM vectorises (libm's scalar tanh does not), within 3 ulp of np.tanh."""
    return vecmath.tanh(x)


@register_jitable(error_model="numpy")
def phi(act, x):
    """Activation ``act`` at ``x``."""
    if act == TANH:
        return vecmath.tanh(x)
    if act == RELU:
        return x if x > 0.0 else 0.0 * x
    if act == SIGMOID:
        return sigmoid(x)
    return x


@register_jitable(error_model="numpy")
def dtanh(x):
    """tanh'(x) = sech²(x) = 4 e^{-2|x|} / (1 + e^{-2|x|})², accurate to a few ulp.

    1 − tanh(x)² loses relative accuracy as tanh saturates (at x = 10 it keeps
    only about 8 digits), which matters in products of many Jacobians
    (Lyapunov sums, gradients through saturated units).
    """
    return sech2_of_exp(vecmath.exp_neg(-2.0 * abs(x)))


@register_jitable(error_model="numpy")
def sech2_of_exp(e):
    """sech²(x) = 4 e / (1 + e)² from ``e = exp(-2|x|)`` (the second half of :func:`dtanh`)."""
    q = 1.0 + e
    return 4.0 * e / (q * q)


@register_jitable(error_model="numpy")
def dphi(act, x, y):
    """Derivative of activation ``act`` at ``x``, given ``y = phi(act, x)``.

    tanh' is computed from ``x`` (see :func:`dtanh`); σ' = y (1 − y) reuses ``y``.
    ReLU' is taken as 0 at x = 0 (the subgradient PyTorch and JAX use).
    """
    if act == TANH:
        return dtanh(x)
    if act == RELU:
        return 1.0 if x > 0.0 else 0.0
    if act == SIGMOID:
        return y * (1.0 - y)
    return 1.0


# --------------------------------------------------------------------------- scaled norms (CPU and GPU)


@register_jitable(error_model="numpy")
def pow2_scale(x):
    """(e, s1, s2) with 2^(e-1) ≤ x < 2^e and s1·s2 = 2^-e, each factor representable even for a
    subnormal x: multiplying by s1 then s2 scales exactly, where x/m may become x·(1/m) under fast-math."""
    e = math.frexp(x)[1]
    return e, math.ldexp(1.0, -(e // 2)), math.ldexp(1.0, -(e - e // 2))


@register_jitable(error_model="numpy")
def column_norm(A, j, n):
    """‖A[j:n, j]‖, scaled by a power of two so that neither 1e-170 nor 1e170 entries under- or overflow.

    ``n`` is given rather than read from ``A`` because a GPU thread's local arrays are allocated at a
    compile-time maximum of which only the first n rows are used.
    """
    amax = 0.0
    for i in range(j, n):
        v = abs(A[i, j])
        if not v <= amax:
            amax = v
    if amax == 0.0 or not math.isfinite(amax):
        return amax
    if 1e-150 < amax < 1e150:
        s = 0.0
        for i in range(j, n):
            s += A[i, j] * A[i, j]
        return math.sqrt(s)
    e, s1, s2 = pow2_scale(amax)
    s = 0.0
    for i in range(j, n):
        v = (A[i, j] * s1) * s2
        s += v * v
    return math.ldexp(math.sqrt(s), e)
