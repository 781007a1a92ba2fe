"""Figures of Smerity, "Explaining and illustrating orthogonal initialization for recurrent neural
networks" (blog post, 2016), rebuilt from rnndyn's own computations.

‖W^t‖ over 64 steps for a vanishing, an orthogonal and an exploding matrix (and
the Jacobian norms of a tanh RNN with them), heatmaps of W^t, and the Fibonacci
matrix with its eigendecomposition. Each function computes with
:mod:`rnndyn.analysis.growth` and draws with :mod:`rnndyn.plots.growth`;
``quick=True`` shrinks sizes for the test-suite.

References: see :mod:`rnndyn.references`.
"""

from __future__ import annotations

import numpy as np

from rnndyn.analysis import growth
from rnndyn.figures import compute_backend, register
from rnndyn.plots import growth as plots_growth

__all__ = ["smerity_fibonacci", "smerity_heatmaps", "smerity_norm_growth"]

SMERITY = "Smerity, 'Explaining and illustrating orthogonal initialization for RNNs'"


@register(
    "smerity_norm_growth",
    f"{SMERITY}, 'Visualizing different inits'",
    "‖W^t‖ over 64 steps for a vanishing (normal, gain 0.5), an orthogonal and an exploding (normal, gain 1.5) "
    "64x64 matrix; right: ‖∂h_t/∂h_0‖ of a tanh RNN with the same matrices",
    "rnndyn norms --out growth.png; rnndyn norms --cell vanilla --out norms_tanh.png",
)
def smerity_norm_growth(quick=False):
    n = 16 if quick else 64
    lin = growth.norm_growth(size=n, steps=64, cell="linear", rng=0, backend=compute_backend(quick))
    tanh = growth.norm_growth(size=n, steps=64, cell="vanilla", rng=0, backend=compute_backend(quick))
    return plots_growth.plot_norm_growth(lin, tanh)


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
        "vanishing\n(normal, gain 0.5)": growth.init_matrix("normal:gain=0.5", n, g),
        "exploding\n(normal, gain 1.5)": growth.init_matrix("normal:gain=1.5", n, g),
        "orthogonal": growth.init_matrix("orthogonal", n, g),
    }
    times = (0, 1, 4, 16, 64)
    snaps = {label: growth.power_snapshots(W, times, backend=compute_backend(quick)) for label, W in rows.items()}
    return plots_growth.plot_power_heatmaps(snaps)


@register(
    "smerity_fibonacci",
    f"{SMERITY}, 'Repeated matrix multiplication and Fibonacci' / 'Eigenvalues'",
    "F^n by repeated multiplication and by QΛ^nQ⁻¹ (equal), the eigenvalues' powers (φ^n explodes, "
    "(1−φ)^n vanishes) and the golden-ratio check round(13·φ^i) = 13, 21, 34, 55, 89",
)
def smerity_fibonacci(quick=False):
    return plots_growth.plot_fibonacci(growth.fibonacci(14 if quick else 40, backend=compute_backend(quick)), n_show=10)
