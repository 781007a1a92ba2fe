"""Figures of gradients through time: CSC321 Lecture 15 and Chang et al. 2019."""

from __future__ import annotations

import math

import numpy as np
from matplotlib.figure import Figure

from rnndyn.analysis.gradients import gradient_norms
from rnndyn.figures import register
from rnndyn.plots.gradients import draw_gradient_norms, plot_gradient_norms

SOURCE = "Grosse, CSC321 Lecture 15; Chang et al., ICLR 2019"


@register(
    "gradient_norms_inits",
    f"{SOURCE}: exploding and vanishing gradients; identity/orthogonal initialisation; AntisymmetricRNN with γ",
    "‖∂L/∂h_t‖ over t for a unit gradient at T = 100, by rnndyn's own backprop through time. Left: vanilla "
    "tanh RNN (n = 64) with N(0, 0.25/n) weights (vanishing), N(0, 9/n) weights (exploding), orthogonal "
    "weights (nearly flat) and identity + ReLU (Le et al. 2015: flat). Right: AntisymmetricRNN (ε = 0.1) "
    "for diffusion γ = 0, 0.15, 0.5, 2 (near-flat at small γ, decaying as γ grows) against EulerRNN cells "
    "with unconstrained W (exploding)",
    command="rnndyn gradients --cell vanilla --size 64 --steps 100",
)
def gradient_norms_inits(quick=False):
    n, T = 64, 100  # cheap already (milliseconds); smaller n would not show the explosion
    s = math.sqrt(n)
    left = gradient_norms(
        "vanilla",
        ["orthogonal,label=orthogonal",
         f"normal:{0.5 / s:.4g},label=normal, std 0.5/√n",
         f"normal:{3 / s:.4g},label=normal, std 3/√n",
         "identity,activation=relu,label=identity + ReLU (Le et al. 2015)"],
        size=n, steps=T, input_scale=0.03, h0=np.full(n, 0.5), rng=0)
    right = gradient_norms(
        "antisymmetric",
        [f"normal:{1 / s:.4g},gamma={g},label=antisymmetric, γ = {g}" for g in (0, 0.15, 0.5, 2)]
        + [f"normal:{1 / s:.4g},cell=euler,label=Euler, W ~ N(0, 1/n)",
           f"normal:{3 / s:.4g},cell=euler,label=Euler, W ~ N(0, 9/n)"],
        size=n, steps=T, eps=0.1, input_scale=1.0, rng=1)
    fig = Figure(figsize=(15.0, 5.5), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    draw_gradient_norms(ax1, left, title=f"vanilla tanh RNN, n = {n}: initialisation decides")
    draw_gradient_norms(ax2, right, title=f"AntisymmetricRNN (ε = 0.1) vs Euler RNN, n = {n}, tanh")
    fig.suptitle("Backprop through time: ‖∂L/∂h_t‖ for a unit gradient at t = T", fontsize=13)
    return fig


@register(
    "csc321_scalar_gradient",
    "Grosse, CSC321 Lecture 15, 'Why Gradients Explode or Vanish': the 1-D linear case",
    "‖∂h_T/∂h_t‖ = w^(T−t) for the scalar linear RNN h_t = w h_{t−1}, T = 50, from rnndyn's backprop: "
    "w = 1.1 gives 117.4 at t = 0 (exploding), w = 0.9 gives 0.00515 (vanishing), w = 1 stays at 1",
    command="rnndyn gradients --cell vanilla --activation linear --size 1 --steps 50 --init identity:1.1 "
            "--init identity:0.9",
)
def csc321_scalar_gradient(quick=False):
    r = gradient_norms("vanilla", ["identity:1.1,label=w = 1.1", "identity:1.0,label=w = 1",
                                   "identity:0.9,label=w = 0.9"],
                       size=1, steps=50, activation="linear", input_size=0, rng=0)
    return plot_gradient_norms(r, annotate_start=True,
                               title="CSC321 L15: 1-D linear RNN, T = 50: ∂h_T/∂h_t = w^(T−t)",
                               figsize=(7.5, 5.0))
