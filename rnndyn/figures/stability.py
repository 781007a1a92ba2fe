"""Figures of the forward-Euler stability argument (Chang et al. 2019)."""

from __future__ import annotations

from rnndyn.systems.cells import EulerRNN
from rnndyn.figures import register
from rnndyn.matrices import named_matrix
from rnndyn.plots.stability import plot_stability
from rnndyn.analysis.stability import critical_gamma, stability

EPS = 0.1
GAMMAS = (0.0, 0.15)


@register(
    "stability_region",
    source="Chang et al., ICLR 2019, Stability of the forward Euler method",
    description="W0's eigenvalues ±2i − γ against the forward-Euler disk |1+ελ| ≤ 1 (ε = 0.1) for γ = 0, "
                "0.15 and the critical γ ≈ 0.202: outside, outside, on the boundary",
    command="rnndyn spectrum --matrix W0 --gamma 0.15 --compare 0 --critical --out stability_region.png",
)
def build(quick: bool = False):
    """The stability-region picture for W0 at ε = 0.1 and γ ∈ {0, 0.15, γ_c}."""
    W0 = named_matrix("W0")
    gc = critical_gamma(W0, eps=EPS)
    gammas = (*GAMMAS, gc)
    reports = [stability(EulerRNN(W0, eps=EPS, gamma=g)) for g in gammas]
    labels = ["γ = 0 (W0)", "γ = 0.15 (Wdiff)", f"γ = γ_c = {gc:.4f} (critical)"]
    return plot_stability(reports, labels,
                          title="Forward Euler needs diffusion: W0 − γI at ε = 0.1 (Chang et al. 2019)")
