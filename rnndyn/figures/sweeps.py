"""Figures made by parameter sweeps (:func:`rnndyn.sweep`).

* Where the AntisymmetricRNN is stable and critical: the largest Lyapunov
  exponent and the forward-Euler factor max|1 + ελ| over an (ε, γ) grid of
  n = 32 antisymmetric cells (W ~ N(0, 1/n), tanh, four seeds), with the
  critical γ(ε) of :func:`rnndyn.analysis.stability.critical_gamma` drawn over
  both. Chang et al., ICLR 2019 ("Weaknesses"): forward Euler does not
  guarantee stability, so γ must be searched for. The sweep shows where:
  above the critical γ(ε) curve (which is also the forward-Euler boundary
  max|1 + ελ| = 1) every trajectory contracts (λ_max < 0); below it the origin
  is unstable under forward Euler and tanh keeps the orbit bounded with
  λ_max near 0 (critical), positive only for γ close to 0; beyond
  ε·max|ω| = 1 no γ makes the step stable.

References: see :mod:`rnndyn.references`.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from rnndyn.analysis.sweep import stability_overlay, sweep
from rnndyn.figures import compute_backend, register
from rnndyn.plots.sweep import draw_sweep_heatmap

__all__ = ["STABILITY_SWEEP", "antisymmetric_stability_sweep"]

#: The sweep of the figure: (grid, measures, steps, transient, seeds); ``quick`` shrinks it.
STABILITY_SWEEP = {
    "grid": {"cell": "antisymmetric", "size": 32, "eps": "log:0.01:0.5:20", "gamma": "0:1.5:21", "init": "normal"},
    "measures": ["lyapunov_max", "euler_factor", "critical_gamma"],
    "steps": 2000,
    "transient": 200,
    "seeds": 4,
}
_QUICK = {"grid": {"cell": "antisymmetric", "size": 8, "eps": "log:0.02:0.5:4", "gamma": "0:1.5:5"},
          "steps": 200, "transient": 20, "seeds": 1}


def run_stability_sweep(quick: bool = False, **kwargs):
    """The figure's sweep (:data:`STABILITY_SWEEP`), small with ``quick``; ``kwargs`` go to :func:`rnndyn.sweep`."""
    spec = {**STABILITY_SWEEP, **(_QUICK if quick else {})}
    if quick:
        kwargs.setdefault("workers", 0)
        kwargs.setdefault("backend", compute_backend(quick))
    kwargs.setdefault("progress", False)
    return sweep(spec["grid"], spec["measures"], steps=spec["steps"], transient=spec["transient"],
                 seeds=spec["seeds"], **kwargs)


@register(
    "antisymmetric_stability_sweep",
    "Chang et al., ICLR 2019, Weaknesses (γ must be searched for)",
    "λ_max and the forward-Euler factor max|1 + ελ| over an (ε, γ) grid of n = 32 antisymmetric cells "
    "(4 seeds, T = 2000), with the critical γ(ε) overlaid: λ_max < 0 above that curve, near 0 below it",
    command="rnndyn sweep --size 32 --eps log:0.01:0.5:20 --gamma 0:1.5:21 --seeds 4 --steps 2000 --transient 200 "
            "--measure lyapunov_max --measure euler_factor --plot sweep.png",
)
def antisymmetric_stability_sweep(quick: bool = False, result=None) -> Figure:
    """Where the AntisymmetricRNN is stable and critical: λ_max and max|1 + ελ| over (ε, γ), critical γ(ε) on top.

    Parameters
    ----------
    quick : bool
        A small grid (n = 8, 4 ε × 5 γ, one seed, T = 200) run in this process.
    result : SweepResult, optional
        A run of :func:`run_stability_sweep` to draw instead of running it.

    Returns
    -------
    matplotlib.figure.Figure
        Two heatmaps (seed means) with the critical γ(ε) curve and the
        forward-Euler boundary max|1 + ελ| = 1.

    Examples
    --------
    >>> fig = antisymmetric_stability_sweep(quick=True)
    >>> [ax.get_xlabel() for ax in fig.axes[:2]]
    ['step ε', 'step ε']
    """
    r = run_stability_sweep(quick) if result is None else result
    overlay = stability_overlay(r, "eps", "gamma")
    fig = Figure(figsize=(12.5, 5.0), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, measure, label in ((axes[0], "lyapunov_max", r"$\lambda_{\max}$ per step (mean over seeds)"),
                               (axes[1], "euler_factor", "max |1 + ελ| (mean over seeds)")):
        xs, ys, vals = r.pivot(measure, "eps", "gamma")
        mesh = draw_sweep_heatmap(ax, xs.tolist(), ys.tolist(), vals, measure, "eps", "gamma", overlay)
        fig.colorbar(mesh, ax=ax, label=label)
    n = int(r["size"][0])
    axes[0].set_title("largest Lyapunov exponent: < 0 (blue) contracts, > 0 (red) expands", fontsize=10)
    axes[1].set_title("forward-Euler factor: ≤ 1 is stable", fontsize=10)
    fig.suptitle(f"Where the AntisymmetricRNN is stable and critical: n = {n}, W ~ N(0, 1/n), tanh, "
                 f"{len(r.seeds)} seed{'s' if len(r.seeds) != 1 else ''}, T = {r.steps} "
                 "(Chang et al. 2019)", fontsize=11)
    return fig
