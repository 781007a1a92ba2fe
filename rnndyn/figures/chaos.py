"""The transition to chaos of random tanh networks, rebuilt from rnndyn's own Lyapunov spectra.

Random networks h_t = tanh(W h_{t-1}), W_ij ~ N(0, g²/N), for N = 64 … 512 and
g from 0.5 to 3: the largest exponent against g beside the mean-field
prediction (Molgedey, Schuchhardt & Schuster, PRL 69, 3717, 1992; Poole et
al., NeurIPS 2016), the spectra against i/N (one curve for every N, as
Engelken, Wolf & Abbott report for rate networks), the Kaplan–Yorke dimension
per unit, and where the AntisymmetricRNN (Chang et al., ICLR 2019) sits.
Computed with :mod:`rnndyn.analysis.chaos`, drawn with :mod:`rnndyn.plots.chaos`;
``quick=True`` shrinks sizes and gains for the test-suite.
"""

from __future__ import annotations

import numpy as np

from rnndyn.analysis import chaos
from rnndyn.figures import compute_backend, register
from rnndyn.plots.chaos import plot_transition_to_chaos

__all__ = ["transition_to_chaos"]

#: The sweeps of the full figure. The N = 512 networks dominate the cost (O(N²k) per step), so the
#: spectra are kept to their largest 35 %, which holds every positive exponent and D_KY (D_KY/N ≤ 0.29
#: up to g = 3), with a QR every 10 steps; the antisymmetric cells need only λ_max (k = 1, cheap).
FULL = {"sizes": (64, 128, 256, 512), "gains": chaos.GAINS, "fraction": 0.35, "steps": 200, "transient": 50,
        "reortho_every": 10}
QUICK = {"sizes": (16, 32), "gains": (0.5, 1.0, 2.0, 3.0), "fraction": 0.5, "steps": 100, "transient": 50,
         "reortho_every": 5}
#: The antisymmetric cells of the fourth panel: ε = 0.1 and γ = 0 (critical), 0.15, 1.
ANTISYMMETRIC = {"eps": 0.1, "gammas": (0.0, 0.15, 1.0)}
ANTISYMMETRIC_RUN = {"full": {"size": 256, "steps": 1000, "transient": 200},
                     "quick": {"size": 16, "steps": 100, "transient": 50}}


@register(
    "transition_to_chaos",
    "Molgedey, Schuchhardt & Schuster, PRL 69 (1992); Engelken, Wolf & Abbott, 'Lyapunov spectra of chaotic "
    "recurrent neural networks' (2023)",
    "Random tanh networks h_t = tanh(W h_(t-1)), W_ij ~ N(0, g²/N), N = 64 to 512: the largest Lyapunov exponent "
    "against g crosses 0 at g = 1 and follows the mean-field curve; the spectra against i/N collapse across N; "
    "D_KY/N against g; antisymmetric cells (ε = 0.1, γ = 0, 0.15, 1) stay near λ = 0",
    "rnndyn chaos --out chaos.png",
)
def transition_to_chaos(quick=False):
    run = QUICK if quick else FULL
    sweep = chaos.transition_to_chaos(**run, backend=compute_backend(quick))
    a = ANTISYMMETRIC_RUN["quick" if quick else "full"]
    others = [chaos.transition_to_chaos(sizes=[a["size"]], gains=run["gains"], cell="antisymmetric",
                                        eps=ANTISYMMETRIC["eps"], gamma=gam, k=1, steps=a["steps"],
                                        transient=a["transient"], backend=compute_backend(quick))
              for gam in ANTISYMMETRIC["gammas"]]
    fine = np.linspace(min(run["gains"]), max(run["gains"]), 201)
    return plot_transition_to_chaos(sweep, others=others, mean_field=(fine, chaos.mean_field_lyapunov(fine)),
                                    collapse_gains=(1.5, 2.0, 3.0) if not quick else (2.0,),
                                    title="Random tanh networks: the transition to chaos")
