"""Figures of norm growth: the Smerity post and CSC321 L15's scalar example.

Each function computes with :mod:`rnndyn.analysis.growth` and draws with
:mod:`rnndyn.plots.growth`; ``quick=True`` shrinks sizes for the test-suite.
"""

from __future__ import annotations

import numpy as np

from rnndyn.analysis import growth as norms
from rnndyn.plots import growth as plots_norms
from rnndyn.figures import register

SMERITY = "Smerity, 'Explaining and illustrating orthogonal initialization for RNNs'"


@register(
    "smerity_norm_growth",
    f"{SMERITY}, 'Visualizing different inits'",
    "‖W^t‖ over 64 steps for a vanishing (normal, gain 0.5), an orthogonal and an exploding (normal, gain 1.5) "
    "64x64 matrix; right: ‖∂h_t/∂h_0‖ of a tanh RNN with the same matrices",
    "rnndyn norms --out norms.png; rnndyn norms --cell vanilla --out norms_tanh.png",
)
def smerity_norm_growth(quick=False):
    n = 16 if quick else 64
    lin = norms.norm_growth(size=n, steps=64, cell="linear", rng=0)
    tanh = norms.norm_growth(size=n, steps=64, cell="vanilla", rng=0)
    return plots_norms.plot_norm_growth(lin, tanh)


@register(
    "smerity_heatmaps",
    f"{SMERITY}, 'Vanishing matrix' / 'Exploding matrix' / 'Orthogonal matrix'",
    "W^t h_0 with h_0 = I at t = 0, 1, 4, 16, 64 for a vanishing, an exploding and an orthogonal 32x32 matrix, "
    "on one colour scale: the first fades out, the second saturates, the third keeps its contrast",
)
def smerity_heatmaps(quick=False):
    n = 8 if quick else 32
    g = np.random.default_rng(0)
    rows = {
        "vanishing\n(normal, gain 0.5)": norms.init_matrix("normal:0.5", n, g),
        "exploding\n(normal, gain 1.5)": norms.init_matrix("normal:1.5", n, g),
        "orthogonal": norms.init_matrix("orthogonal", n, g),
    }
    times = (0, 1, 4, 16, 64)
    snaps = {label: norms.power_snapshots(W, times) for label, W in rows.items()}
    return plots_norms.plot_power_heatmaps(snaps)


@register(
    "smerity_fibonacci",
    f"{SMERITY}, 'Repeated matrix multiplication and Fibonacci' / 'Eigenvalues'",
    "F^n by repeated multiplication and by QΛ^nQ⁻¹ (equal), the eigenvalues' powers (φ^n explodes, "
    "(1−φ)^n vanishes) and the golden-ratio check round(13·φ^i) = 13, 21, 34, 55, 89",
)
def smerity_fibonacci(quick=False):
    return plots_norms.plot_fibonacci(norms.fibonacci(14 if quick else 40), n_show=10)


@register(
    "csc321_scalar_products",
    "Grosse, CSC321 Lecture 15, 'Why Gradients Explode or Vanish' (univariate encoder; tanh cliffs)",
    "∂h_T/∂h_0 = w^T of a 1-D linear RNN for w = 1.1 (117.4 at T = 50) and w = 0.9 (0.00515), from rd.tangent; "
    "the tanh RNN h_t = tanh(3 h_{t-1} + b): h_T and the loss against b for T = 2, 4, 8, 50 (the cliff)",
)
def csc321_scalar_products(quick=False):
    prods = norms.scalar_products((1.1, 0.9), steps=50)
    cliff = norms.tanh_cliff(np.linspace(-1.6, -0.3, 301 if quick else 4001), param="b",
                             steps=(2, 4, 8, 50), w=3.0, h0=0.5, target=1.0)
    return plots_norms.plot_scalar_products(prods, cliff)
