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

TANH = 0
RELU = 1
LINEAR = 2
SIGMOID = 3

#: Public name -> id. "identity" is an alias of "linear".
ACTIVATIONS = {"tanh": TANH, "relu": RELU, "linear": LINEAR, "identity": LINEAR, "sigmoid": SIGMOID}
ACTIVATION_NAMES = {TANH: "tanh", RELU: "relu", LINEAR: "linear", SIGMOID: "sigmoid"}


@register_jitable
def sigmoid(x):
    """Logistic function, evaluated without overflow for large |x|."""
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@register_jitable
def phi(act, x):
    """Activation ``act`` at ``x``."""
    if act == TANH:
        return math.tanh(x)
    if act == RELU:
        return x if x > 0.0 else 0.0 * x
    if act == SIGMOID:
        return sigmoid(x)
    return x


@register_jitable
def dphi(act, x, y):
    """Derivative of activation ``act`` at ``x``, given ``y = phi(act, x)``.

    Using the already computed ``y`` saves a second transcendental evaluation:
    tanh' = 1 - y², σ' = y (1 - y). ReLU' is taken as 0 at x = 0 (the
    subgradient PyTorch and JAX use).
    """
    if act == TANH:
        return 1.0 - y * y
    if act == RELU:
        return 1.0 if x > 0.0 else 0.0
    if act == SIGMOID:
        return y * (1.0 - y)
    return 1.0
