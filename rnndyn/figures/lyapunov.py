"""Figures of end-to-end Jacobian spectra and Lyapunov spectra (Chang et al., ICLR 2019)."""

from __future__ import annotations

import warnings

import numpy as np

from rnndyn.analysis.lyapunov import lyapunov_spectrum
from rnndyn.errors import DivergenceWarning
from rnndyn.figures import register
from rnndyn.plots import lyapunov as plots_lyapunov
from rnndyn.systems.build import random_problem
from rnndyn.systems.lstm import LSTM

PAPER = "Chang et al., ICLR 2019"


def _sweep_problem(n, d, T, eps, seed=0):
    """The random A-RNN (W ~ N(0, 1/n), V ~ N(0, 1/d), h_0 = 0, γ = 0) and its Gaussian input noise X (T, d)."""
    return random_problem("antisymmetric", n, init="normal", d=d, steps=T, eps=eps, h0="zeros", rng=seed)


def end_to_end_statistics(cells, h0s, X, Ts):
    """Mean and std of |λ(∂h_T/∂h_0)| of each cell for each horizon T (inputs X[:T]).

    Returns (means, stds), each (len(cells), len(Ts)).
    """
    from rnndyn.analysis.stability import jacobian_spectrum

    means = np.empty((len(cells), len(Ts)))
    stds = np.empty_like(means)
    for i, (cell, h0) in enumerate(zip(cells, h0s)):
        for j, T in enumerate(Ts):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DivergenceWarning)
                s = jacobian_spectrum(cell, h0, X[:T])
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
    means, stds = end_to_end_statistics(cells, h0s, X, Ts)
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
    spectra = [lyapunov_spectrum(p.system.replace(gamma=g), p.h0, p.inputs, transient=transient) for g in gammas]
    show = [0, 1, len(gammas) // 2, len(gammas) - 1] if len(gammas) > 4 else None
    return plots_lyapunov.plot_lyapunov_vs_parameter(
        gammas, spectra, name="γ", reference=-eps * gammas, reference_label="−εγ (linear cell)", show=show,
        title=f"AntisymmetricRNN Lyapunov spectra, n = {n}, ε = {eps:g}, Gaussian-noise inputs (d = {d}), "
              f"{steps} steps")
