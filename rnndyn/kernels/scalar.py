"""Scalar math shared by the CPU (``@njit``) and GPU (``@cuda.jit``) kernels.

Each function is a :func:`numba.extending.register_jitable`: plain Python when
called from Python (so the NumPy reference can use the same definitions where it
wants to), inlined into whichever target compiles a caller.

Activations are passed to kernels as small integers (no strings reach a kernel):
``TANH``, ``RELU``, ``LINEAR``, ``SIGMOID``.
"""

from __future__ import annotations

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
    e = vecmath.exp_neg(-2.0 * abs(x))
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
