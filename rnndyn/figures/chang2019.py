"""Figures of Chang, Chen, Haber & Chi, "AntisymmetricRNN: A Dynamical System View on Recurrent Neural
Networks" (ICLR 2019), rebuilt from rnndyn's own computations.

* Figures 1 and 2: phase portraits of 2-D cells without input or bias, from the
  initial states (0, 0.5), (−0.5, −0.5), (0.5, −0.75) over T = 50 steps
  ("Simulations"): Figure 1 the vanilla RNN h_t = tanh(W h_{t−1}), Figure 2 the
  RNN with feedback h_t = h_{t−1} + ε tanh(W h_{t−1}); and Figure 2(d) at full
  size, the picture ``rnndyn phase`` draws.
* The stability region of forward Euler ("Stability of the forward Euler
  method"): W0's eigenvalues against the disk |1 + ελ| ≤ 1 for several γ.
* Gradients through time for the cells the paper compares, beside the
  vanishing and exploding baselines.
* The mean and spread of the eigenvalues of the end-to-end Jacobian, for
  AntisymmetricRNNs with several diffusion constants against an LSTM, and the
  Lyapunov-spectrum view of the same γ sweep.

References: see :mod:`rnndyn.references`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from rnndyn.analysis.gradients import gradient_norms
from rnndyn.analysis.lyapunov import lyapunov_spectrum
from rnndyn.analysis.phase import PAPER_EPS, PAPER_INITS, PAPER_STEPS, phase_portrait
from rnndyn.analysis.stability import critical_gamma, jacobian_spectrum, stability
from rnndyn.errors import DivergenceWarning
from rnndyn.figures import compute_backend, register
from rnndyn.formatting import MINUS, format_eigenvalues
from rnndyn.matrices import named_matrix
from rnndyn.plots import lyapunov as plots_lyapunov
from rnndyn.plots.gradients import draw_gradient_norms
from rnndyn.plots.phase import (
    FIXED_POINT_STYLE,
    TRAJECTORY_COLORS,
    fixed_point_groups,
    fixed_point_handle,
    plot_phase,
    state_label,
)
from rnndyn.plots.stability import plot_stability
from rnndyn.systems.build import random_problem
from rnndyn.systems.cells import EulerRNN, VanillaRNN
from rnndyn.systems.lstm import LSTM

__all__ = [
    "FIG1_PANELS",
    "FIG2_PANELS",
    "build_fig1",
    "build_fig2",
    "build_headline",
    "end_to_end_statistics",
    "gradient_norms_inits",
    "lyapunov_spectrum_gamma",
    "paper_jacobian_eigenvalues",
    "stability_region",
]

PAPER = "Chang et al., ICLR 2019"
#: Step size and diffusions of the stability-region figure (the critical γ is added to them).
STABILITY_EPS = 0.1
STABILITY_GAMMAS = (0.0, 0.15)
#: The gradient figure sets the paper's cells beside the vanishing and exploding
#: baselines of CSC321 Lecture 15.
GRADIENTS_SOURCE = "Grosse, CSC321 Lecture 15; Chang et al., ICLR 2019"


# --------------------------------------------------------------------------- Figures 1 and 2: phase portraits

#: (named matrix, panel caption) of Figure 1.
FIG1_PANELS = (
    ("identity", "(a) W = identity"),
    ("reflection", "(b) W orthogonal: reflection [[0, 1], [1, 0]]"),
    ("rotation", "(c) W orthogonal: rotation [[0, 1], [−1, 0]]"),
)

#: (named matrix, panel caption) of Figure 2.
FIG2_PANELS = (
    ("W+", "(a) W₊: away from the origin"),
    ("W-", "(b) W₋: towards the origin"),
    ("W0", "(c) W₀: outward spirals"),
    ("Wdiff", r"(d) $W_\mathrm{diff}$ = W₀ − 0.15 I: near-constant distance"),
)


def _panel_title(caption: str, p) -> str:
    ratios = ", ".join(f"{r:.3g}" for r in p.final_norms / p.initial_norms)
    return (f"{caption}\neig(W) = {format_eigenvalues(p.eigenvalues, minus=MINUS)}\n"
            f"‖{state_label(p.steps)}‖ / ‖h₀‖ = {ratios}")


def _shared_legend(fig: Figure, portraits) -> None:
    p0 = portraits[0]
    handles = [Line2D([], [], color=TRAJECTORY_COLORS[i % len(TRAJECTORY_COLORS)], marker="o", markersize=3,
                      label="h₀ = (" + ", ".join(f"{v:g}" for v in p0.inits[i]) + ")")
               for i in range(len(p0.inits))]
    handles += [
        Line2D([], [], linestyle="none", marker="o", markersize=7, color="0.6", markeredgecolor="black",
               label="start"),
        Line2D([], [], linestyle="none", marker="s", markersize=6, markerfacecolor="white",
               markeredgecolor="0.4", markeredgewidth=2.0, label=f"end (t = {p0.steps})"),
    ]
    # Each type of fixed point once, labelled with the map's type and, for Euler-type cells, the ODE's.
    pairs = []
    for p in portraits:
        pairs += [(k, ok) for k, ok, _ in fixed_point_groups(p.fixed_points) if (k, ok) not in pairs]
    order = list(FIXED_POINT_STYLE)
    handles += [fixed_point_handle(k, ok) for k, ok in sorted(pairs, key=lambda q: (order.index(q[0]), str(q[1])))]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize="small", frameon=False)


def _panels(cells_and_captions, suptitle: str, quick: bool) -> Figure:
    k = len(cells_and_captions)
    fig = Figure(figsize=(4.1 * k, 5.0), layout="constrained")
    axes = fig.subplots(1, k)
    portraits = []
    for ax, (cell, name, caption) in zip(np.atleast_1d(axes), cells_and_captions):
        p = phase_portrait(cell, PAPER_INITS, steps=PAPER_STEPS, grid=11 if quick else 19, label=name,
                           backend=compute_backend(quick))
        portraits.append(p)
        plot_phase(p, ax=ax, title=_panel_title(caption, p), legend=False, colorbar=False)
        ax.title.set_fontsize("small")
    fig.suptitle(suptitle)
    _shared_legend(fig, portraits)
    return fig


@register(
    "paper_fig1_vanilla",
    source="Chang et al., ICLR 2019, Figure 1",
    description="2-D vanilla RNN h_t = tanh(W h_t-1) with identity, reflection and rotation W: "
                "trajectories contract to the origin",
    command="rnndyn phase --cell vanilla --matrix rotation",
)
def build_fig1(quick: bool = False) -> Figure:
    """Figure 1: a 2-D vanilla RNN forgets, whatever its (orthogonal) matrix.

    Three panels, h_t = tanh(W h_{t−1}) with W the identity, an orthogonal
    reflection and an orthogonal rotation, trajectories from (0, 0.5),
    (−0.5, −0.5), (0.5, −0.75) over T = 50 steps. tanh is a
    contraction, so the origin is the unique fixed point and every trajectory
    creeps towards it; an orthogonal W (|det W| = 1) does not prevent it.

    Parameters
    ----------
    quick : bool
        A coarser vector field (the trajectories are the same).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    The paper's Figure 1 names the three matrices (identity, reflection,
    rotation) but not their entries. The choices, from ``rnndyn.matrices``: the
    reflection is the swap [[0, 1], [1, 0]] (reflection across h₁ = h₂,
    det −1, eigenvalues ±1), the rotation is R = [[0, 1], [−1, 0]] (rotation by
    −90°, eigenvalues ±i), the 2x2 rotation written down in the Korean summary of Smerity's post. Any
    orthogonal W gives the same picture in the large: ‖tanh(Wh)‖ < ‖Wh‖ = ‖h‖.

    Examples
    --------
    >>> len(build_fig1(quick=True).axes)
    3
    """
    cells = [(VanillaRNN(named_matrix(name)), name, caption) for name, caption in FIG1_PANELS]
    return _panels(cells, r"Vanilla RNN $h_t = \tanh(W h_{t-1})$, $T$ = 50: trajectories contract to the origin "
                          "(Chang et al. 2019, Fig. 1)", quick)


@register(
    "paper_fig2_feedback",
    source="Chang et al., ICLR 2019, Figure 2",
    description="RNN with feedback h_t = h_t-1 + eps tanh(W h_t-1) for W+, W-, W0 and Wdiff: away from / "
                "towards the origin, outward spirals, near-constant distance with diffusion 0.15",
    command="rnndyn phase --matrix W0 --gamma 0.15",
)
def build_fig2(quick: bool = False) -> Figure:
    """Figure 2: the RNN with feedback for W₊, W₋, W₀ and W_diff.

    Four panels, h_t = h_{t−1} + ε tanh(W h_{t−1}) (``EulerRNN(W, eps=0.1)``,
    γ = 0 — the diffusion is already inside W_diff = W₀ − 0.15 I, so panel (d)
    equals ``EulerRNN(W0, gamma=0.15)``), trajectories from (0, 0.5),
    (−0.5, −0.5), (0.5, −0.75) over T = 50 steps. The paper's
    reading, reproduced: with W₊ (eigenvalues 2, 2) states move away from the
    origin, with W₋ (−2, −2) towards it; with the antisymmetric W₀ (±2i) the
    field is circular and forward Euler spirals outwards (max|1 + ελ| =
    √1.04 > 1); with W_diff (−0.15 ± 2i) the field tilts towards the origin and
    the distance stays nearly constant.

    Parameters
    ----------
    quick : bool
        A coarser vector field (the trajectories are the same).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Matrices and initial states are those of Chang et al. (ICLR 2019). The figures do
    not state ε; ε = 0.1 (``PAPER_EPS``) is the value under which all four
    statements the paper makes about them hold at T = 50:
    ‖h_T‖/‖h_0‖ ≈ 15, 10, 9 (W₊), < 1e-4 (W₋), 1.6, 1.4, 1.3 with about one
    turn (W₀), 1.04, 1.01, 0.93 (W_diff). With ε = 0.01 the states barely move
    in 50 steps (W₀ turns 0.1 times); with ε = 0.2 the W_diff trajectories grow
    by 60-90 %. At ε = 0.1 the linearisation at the origin is still slightly
    unstable for W_diff (max|1 + ελ| = 1.0051; the critical γ for ε = 0.1 is
    about 0.20): the near-constant distance comes from tanh's saturation, which
    shortens the step away from the origin, and the origin is drawn as a
    source of the map (what the trajectories do) and labelled a sink of the
    ODE h' = tanh(W h) that forward Euler discretises.

    Examples
    --------
    >>> len(build_fig2(quick=True).axes)
    4
    """
    cells = [(EulerRNN(named_matrix(name), eps=PAPER_EPS, gamma=0.0), name, caption)
             for name, caption in FIG2_PANELS]
    return _panels(cells, r"RNN with feedback $h_t = h_{t-1} + \epsilon\,\tanh(W h_{t-1})$, "
                          f"ε = {PAPER_EPS:g}, T = {PAPER_STEPS} (Chang et al. 2019, Fig. 2)", quick)


@register(
    "phase_W0_euler_g0.15",
    source="Chang et al., ICLR 2019, Figure 2(d) at full size",
    description="The headline phase portrait: RNN with feedback, W0 with diffusion 0.15 (eigenvalues "
                "-0.15 ± 2i), vector field, the paper's three trajectories, the fixed point by its type for the "
                "map and for the ODE",
    command="rnndyn phase --matrix W0 --gamma 0.15",
)
def build_headline(quick: bool = False) -> Figure:
    """The picture ``rnndyn phase --matrix W0 --gamma 0.15`` draws, with its defaults."""
    cell = EulerRNN(named_matrix("W0"), eps=PAPER_EPS, gamma=0.15)
    return plot_phase(phase_portrait(cell, PAPER_INITS, steps=PAPER_STEPS, grid=11 if quick else 21, label="W0",
                                     backend=compute_backend(quick)))


# --------------------------------------------------------------------------- stability of forward Euler




@register(
    "stability_region",
    source="Chang et al., ICLR 2019, Stability of the forward Euler method",
    description="W0's eigenvalues ±2i − γ against the forward-Euler disk |1+ελ| ≤ 1 (ε = 0.1) for γ = 0, "
                "0.15 and the critical γ ≈ 0.202: outside, outside, on the boundary",
    command="rnndyn spectrum --matrix W0 --gamma 0.15 --compare 0 --critical --out stability_region.png",
)
def stability_region(quick: bool = False) -> Figure:
    """The stability-region picture for W0 at ε = 0.1 and γ ∈ {0, 0.15, γ_c}."""
    W0 = named_matrix("W0")
    gc = critical_gamma(W0, eps=STABILITY_EPS)
    gammas = (*STABILITY_GAMMAS, gc)
    reports = [stability(EulerRNN(W0, eps=STABILITY_EPS, gamma=g)) for g in gammas]
    labels = ["γ = 0 (W0)", "γ = 0.15 (Wdiff)", f"γ = $\\gamma_c$ = {gc:.4f} (critical)"]
    return plot_stability(reports, labels,
                          title="Forward Euler needs diffusion: W0 − γI at ε = 0.1 (Chang et al. 2019)")


# --------------------------------------------------------------------------- gradients through time


@register(
    "gradient_norms_inits",
    f"{GRADIENTS_SOURCE}: exploding and vanishing gradients; identity/orthogonal initialisation; "
    "AntisymmetricRNN with γ",
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
         f"normal:std={0.5 / s:.4g},label=normal, std 0.5/√n",
         f"normal:std={3 / s:.4g},label=normal, std 3/√n",
         "identity,activation=relu,label=identity + ReLU (Le et al. 2015)"],
        size=n, steps=T, input_scale=0.03, h0=np.full(n, 0.5), rng=0, backend=compute_backend(quick))
    right = gradient_norms(
        "antisymmetric",
        [f"normal:std={1 / s:.4g},gamma={g},label=antisymmetric, γ = {g}" for g in (0, 0.15, 0.5, 2)]
        + [f"normal:std={1 / s:.4g},cell=euler,label=Euler, W ~ N(0, 1/n)",
           f"normal:std={3 / s:.4g},cell=euler,label=Euler, W ~ N(0, 9/n)"],
        size=n, steps=T, eps=0.1, input_scale=1.0, rng=1, backend=compute_backend(quick))
    fig = Figure(figsize=(15.0, 5.5), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    draw_gradient_norms(ax1, left, title=f"vanilla tanh RNN, n = {n}: initialisation decides")
    draw_gradient_norms(ax2, right, title=f"AntisymmetricRNN (ε = 0.1) vs Euler RNN, n = {n}, tanh")
    fig.suptitle(r"Backprop through time: $\|\partial L/\partial h_t\|$ for a unit gradient at $t = T$", fontsize=13)
    return fig


# --------------------------------------------------------------------------- end-to-end Jacobians and Lyapunov spectra


def _sweep_problem(n, d, T, eps, seed=0):
    """The random A-RNN (W ~ N(0, 1/n), V ~ N(0, 1/d), h_0 = 0, γ = 0) and its Gaussian input noise X (T, d)."""
    return random_problem("antisymmetric", n, init="normal", d=d, steps=T, eps=eps, h0="zeros", rng=seed)


def end_to_end_statistics(cells, h0s, X, Ts, backend="auto"):
    """Mean and std of |λ(∂h_T/∂h_0)| of each cell for each horizon T (inputs X[:T]).

    Returns (means, stds), each (len(cells), len(Ts)).
    """
    means = np.empty((len(cells), len(Ts)))
    stds = np.empty_like(means)
    for i, (cell, h0) in enumerate(zip(cells, h0s)):
        for j, T in enumerate(Ts):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DivergenceWarning)
                s = jacobian_spectrum(cell, h0, X[:T], backend=backend)
            means[i, j] = s.eig_abs_mean
            stds[i, j] = s.eig_abs_std
    return means, stds


@register(
    "paper_jacobian_eigenvalues",
    f"{PAPER}, mean and std of the eigenvalues of the end-to-end Jacobian (noise padded CIFAR-10)",
    "mean ± std of |λ(∂h_T/∂h_0)| against T for AntisymmetricRNNs (ε = 0.01) with diffusion γ = 0, 0.01, "
    "0.1, 1 and an LSTM, at initialisation, driven by Gaussian noise: the A-RNN's eigenvalues stay centred "
    "near 1 for small γ and decay faster the larger γ; the LSTM's collapse to 0 within tens of steps",
)
def paper_jacobian_eigenvalues(quick=False):
    """The paper's end-to-end Jacobian figure, at initialisation.

    Chang et al. plot "mean and standard deviation of eigenvalues of
    the end-to-end Jacobian matrix in AntisymmetricRNNs with different diffusion
    constants and LSTMs" for models trained on noise-padded CIFAR-10. Training is
    out of scope here, so the models are taken at initialisation, in the same
    regime: 3 input channels fed standard Gaussian noise (what follows the 32
    image rows in noise-padded CIFAR-10), h_0 = 0, n = 64 hidden units.

    Choices (and why):

    * AntisymmetricRNN: W ~ N(0, σ²/n) with σ² = 1, the paper's initialisation;
      V ~ N(0, 1/d); b = 0; tanh; ε = 0.01 (a step size of the paper's grid, small
      enough that forward Euler's own growth ε²|λ(W − Wᵀ)|²/2 per step stays
      below the smallest diffusion shown); γ ∈ {0, 0.01, 0.1, 1}.
    * LSTM: the Keras/TensorFlow defaults the paper's baseline would use:
      each gate's recurrent block orthogonal, input weights Xavier-uniform,
      forget-gate bias 1 (:meth:`rnndyn.LSTM.init`). Its Jacobian is that of the
      full state (h, c) ↦ (h', c'), 2n × 2n.
    * The statistic is over the moduli |λ| of the eigenvalues of A_T =
      ∂h_T/∂h_0 (they are complex); the right panel shows the means on a log
      axis, where the LSTM's fall (to ≈ 1e-17 at T = 1000) is visible.
    """
    n, d = (8, 3) if quick else (64, 3)
    Ts = [1, 5, 10, 20] if quick else [1, 5, 10, 25, 50, 100, 200, 300, 500, 750, 1000]
    eps = 0.01
    gammas = (0.0, 0.01, 0.1, 1.0)
    p = _sweep_problem(n, d, max(Ts), eps)
    X = p.inputs
    cells = [p.system.replace(gamma=g) for g in gammas]
    h0s = [np.zeros(n)] * len(cells)
    cells.append(LSTM.init(n, d, rng=1))
    h0s.append(np.zeros(2 * n))
    means, stds = end_to_end_statistics(cells, h0s, X, Ts, backend=compute_backend(quick))
    labels = [f"AntisymmetricRNN, γ = {g:g}" for g in gammas] + ["LSTM (forget bias 1)"]
    return plots_lyapunov.plot_jacobian_statistics(
        Ts, means, stds, labels,
        title=f"End-to-end Jacobian at initialisation, n = {n}, ε = {eps:g}, Gaussian-noise inputs (d = {d})")


@register(
    "lyapunov_spectrum_gamma",
    f"{PAPER}, critical criterion and diffusion (Lyapunov-spectrum view of the same sweep)",
    "Lyapunov spectra of a noise-driven AntisymmetricRNN (n = 64, ε = 0.1) for diffusion γ from 0 to 1: at "
    "γ = 0 the exponents straddle 0 (the critical criterion, with forward Euler's slight growth on top); "
    "γ moves the whole spectrum down, by about ε γ ⟨tanh'⟩",
    "rnndyn lyapunov --cell antisymmetric --size 64 --gamma 0.1 --eps 0.1 --noise 3 --out spectrum.png",
)
def lyapunov_spectrum_gamma(quick=False):
    """Lyapunov spectra of the antisymmetric cell across γ.

    Same random A-RNN as :func:`paper_jacobian_eigenvalues` (W ~ N(0, 1/n),
    V ~ N(0, 1/d), Gaussian-noise inputs, h_0 = 0) but ε = 0.1, where the
    exponents are large enough to read: λ_i are the growth rates of A_T's
    singular values, so this is the long-T limit of the left figure. The
    dotted line is −εγ, the shift of a linear cell (tanh' = 1); saturation
    makes the real shift smaller, −εγ⟨tanh'⟩.
    """
    n, d = (8, 3) if quick else (64, 3)
    steps, transient = (300, 50) if quick else (4000, 500)
    eps = 0.1
    gammas = np.linspace(0.0, 1.0, 5 if quick else 11)
    p = _sweep_problem(n, d, steps + transient, eps)
    spectra = [lyapunov_spectrum(p.system.replace(gamma=g), p.h0, p.inputs, transient=transient,
                                 backend=compute_backend(quick)) for g in gammas]
    show = [0, 1, len(gammas) // 2, len(gammas) - 1] if len(gammas) > 4 else None
    return plots_lyapunov.plot_lyapunov_vs_parameter(
        gammas, spectra, name="γ", reference=-eps * gammas, reference_label="−εγ (linear cell)", show=show,
        title=f"AntisymmetricRNN Lyapunov spectra, n = {n}, ε = {eps:g}, Gaussian-noise inputs (d = {d}), "
              f"{steps} steps")
