"""What crosses into a kernel: the cell's argument tuple and every integer code.

No classes, dicts or strings reach a kernel. The public layers translate names
into the codes below (``ACTIVATIONS["tanh"] -> TANH``, ``LOSSES["sum"] ->
LOSS_SUM``, ...) and unpack a cell into :class:`CellParams`; kernels and their
NumPy twins import the codes from here and nothing from above the kernels.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class CellParams(NamedTuple):
    """A cell unpacked for the kernels: ``h' = alpha h + beta ∘ phi(M h + V x + b)``.

    ``beta`` is ``eps``, or ``eps·z`` with ``z = σ(M h + Vz x + bz)`` when gated.
    """

    alpha: float
    eps: float
    act: int
    gated: bool
    M: np.ndarray  # (n, n)
    V: np.ndarray  # (n, d)
    b: np.ndarray  # (n,)
    Vz: np.ndarray  # (n, d), or (n, 0) when not gated
    bz: np.ndarray  # (n,), or (0,) when not gated


# ---- activations
TANH = 0
RELU = 1
LINEAR = 2
SIGMOID = 3
#: Public name -> code. "identity" is an alias of "linear".
ACTIVATIONS = {"tanh": TANH, "relu": RELU, "linear": LINEAR, "identity": LINEAR, "sigmoid": SIGMOID}
ACTIVATION_NAMES = {TANH: "tanh", RELU: "relu", LINEAR: "linear", SIGMOID: "sigmoid"}

# ---- losses of bptt
LOSS_LAST, LOSS_SUM, LOSS_READOUT, LOSS_UPSTREAM = 0, 1, 2, 3
#: Public name -> code.
LOSSES = {"last": LOSS_LAST, "sum": LOSS_SUM, "readout": LOSS_READOUT, "upstream": LOSS_UPSTREAM}

# ---- norms of the tangent kernels
NORM_SPECTRAL, NORM_FRO = 0, 1
NORM_KINDS = {"spectral": NORM_SPECTRAL, "fro": NORM_FRO}

# ---- basins: the tangent A_t = ∂h_t/∂h_0 is kept as 2^E·A, rescaled by an exact power of two whenever
# A's largest entry leaves [LO, HI]: T in the thousands neither overflows nor underflows
BASINS_RENORM_LO = 2.0 ** -32
BASINS_RENORM_HI = 2.0 ** 32

# ---- families of scalar maps (bifurcation kernel)
LOGISTIC = 0
QUADRATIC = 1
TENT = 2
MAP1D_KINDS = {"logistic": LOGISTIC, "quadratic": QUADRATIC, "tent": TENT}

# ---- compilation flags
#: LLVM fast-math flags allowed in kernels. Only contraction (FMA) and the
#: reassociation-free flags: they keep results within the 1e-12 agreement with
#: the reference. Never used on QR or log-accumulations; not "nnan"/"ninf", since
#: the divergence checks must see NaN and inf.
FASTMATH = frozenset({"contract", "arcp", "nsz"})
#: numba's parallel options with only prange loops made parallel: otherwise every
#: array expression (np.zeros, +=, slice assignment) becomes a parallel region of
#: its own, compiled separately, for no gain at these sizes.
PARALLEL_PRANGE_ONLY = {"prange": True, "comprehension": False, "reduction": False, "inplace_binop": False,
                        "setitem": False, "numpy": False, "stencil": False, "fusion": False}
