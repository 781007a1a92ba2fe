"""Figures of Zhang, Lipton, Li & Smola, Dive into Deep Learning §5.4, "Numerical Stability and
Initialization", rebuilt from rnndyn's own computations.

The sigmoid's vanishing gradient, the product of 100 Gaussian 4x4 matrices
(exploding) against orthogonal ones, and the variances Xavier initialisation is
built to keep.

References: see :mod:`rnndyn.references`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import digamma

from rnndyn.analysis import growth
from rnndyn.figures import register
from rnndyn.kernels.numpy import cell as reference
from rnndyn.kernels.params import SIGMOID
from rnndyn.plots import growth as plots_growth

__all__ = ["d2l_matrix_products", "d2l_sigmoid_gradient", "d2l_xavier_variance"]

D2L = "Zhang et al., Dive into Deep Learning §5.4"


@register(
    "d2l_sigmoid_gradient",
    f"{D2L}.1.1, Vanishing Gradients",
    "the sigmoid and its gradient on [−8, 8) (step 0.1), the gradient from rnndyn's own activation derivative: "
    "it peaks at 0.25 and vanishes for large |x|",
)
def d2l_sigmoid_gradient(quick=False):
    x = np.arange(-8.0, 8.0, 0.1)
    y = reference.phi(SIGMOID, x)
    return plots_growth.plot_activation_gradient(x, y, reference.dphi(SIGMOID, x, y), "sigmoid")


@register(
    "d2l_matrix_products",
    f"{D2L}.1.2, Exploding Gradients",
    "a Gaussian N(0, 1) 4x4 matrix multiplied by 100 more (seed 0) explodes to ~1e25, at the rate of the top "
    "Lyapunov exponent (ln 2 + ψ(2))/2 ≈ 0.558; the product of 101 orthogonal matrices keeps norm 1",
)
def d2l_matrix_products(quick=False):
    gauss = growth.gaussian_product(100, 4, rng=0)
    orth = growth.orthogonal_product(100, 4, rng=0)
    rate = 0.5 * (math.log(2.0) + float(digamma(2.0)))
    return plots_growth.plot_matrix_products(gauss, orth, rate=rate)


@register(
    "d2l_xavier_variance",
    f"{D2L}.2.2, Xavier Initialization",
    "measured variances of a linear layer with Xavier normal / uniform weights against n_in σ² (forward), "
    "n_out σ² (backward) and σ² = 2/(n_in + n_out), for n_in, n_out in {16, 64, 256, 1024}",
)
def d2l_xavier_variance(quick=False):
    sizes = [8, 32] if quick else [16, 64, 256, 1024]
    a, o = np.meshgrid(sizes, sizes, indexing="ij")
    samples, repeats = (64, 1) if quick else (256, 1)
    checks = [growth.init_variance(a.ravel(), o.ravel(), method=m, samples=samples, repeats=repeats, rng=i)
              for i, m in enumerate(("xavier_normal", "xavier_uniform"))]
    return plots_growth.plot_init_variance(*checks)
