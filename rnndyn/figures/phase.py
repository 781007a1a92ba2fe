"""Figures 1 and 2 of Chang, Chen, Haber, Chi, "AntisymmetricRNN" (ICLR 2019), rebuilt.

Both are phase portraits of 2-D cells without input or bias, from the initial
states (0, 0.5), (−0.5, −0.5), (0.5, −0.75) over T = 50 steps (Chang et al., ICLR 2019,
"Simulations"): Figure 1 the vanilla RNN h_t = tanh(W h_{t−1}), Figure 2 the
RNN with feedback h_t = h_{t−1} + ε tanh(W h_{t−1}).
"""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from rnndyn.figures import register
from rnndyn.matrices import named_matrix
from rnndyn.analysis.phase import PAPER_EPS, PAPER_INITS, PAPER_STEPS, format_eigenvalues, phase_portrait

__all__ = ["build_fig1", "build_fig2", "FIG1_PANELS", "FIG2_PANELS"]

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
    ("Wdiff", "(d) W_diff = W₀ − 0.15 I: near-constant distance"),
)


def _panel_title(caption: str, p) -> str:
    ratios = ", ".join(f"{r:.3g}" for r in p.final_norms / p.initial_norms)
    from rnndyn.plots.phase import _h

    return f"{caption}\neig(W) = {format_eigenvalues(p.eigenvalues)}\n‖{_h(p.steps)}‖ / ‖h₀‖ = {ratios}"


def _shared_legend(fig: Figure, portraits) -> None:
    from rnndyn.plots.phase import FIXED_POINT_STYLE, TRAJECTORY_COLORS, fixed_point_label

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
    kinds = []
    for p in portraits:
        kinds += [fp.kind for fp in p.fixed_points if fp.kind not in kinds]
    for kind in FIXED_POINT_STYLE:
        if kind in kinds:
            handles.append(Line2D([], [], linestyle="none", label=fixed_point_label(kind, p0.kind),
                                  **FIXED_POINT_STYLE[kind]))
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles), fontsize="small", frameon=False)


def _panels(cells_and_captions, suptitle: str, quick: bool) -> Figure:
    from rnndyn.plots.phase import plot_phase

    k = len(cells_and_captions)
    fig = Figure(figsize=(4.1 * k, 5.0), layout="constrained")
    axes = fig.subplots(1, k)
    portraits = []
    for ax, (cell, name, caption) in zip(np.atleast_1d(axes), cells_and_captions):
        p = phase_portrait(cell, PAPER_INITS, steps=PAPER_STEPS, grid=11 if quick else 19, label=name)
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
    from rnndyn.systems.cells import VanillaRNN

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
    source.

    Examples
    --------
    >>> len(build_fig2(quick=True).axes)
    4
    """
    from rnndyn.systems.cells import EulerRNN

    cells = [(EulerRNN(named_matrix(name), eps=PAPER_EPS, gamma=0.0), name, caption)
             for name, caption in FIG2_PANELS]
    return _panels(cells, r"RNN with feedback $h_t = h_{t-1} + \epsilon\,\tanh(W h_{t-1})$, "
                          f"ε = {PAPER_EPS:g}, T = {PAPER_STEPS} (Chang et al. 2019, Fig. 2)", quick)


@register(
    "phase_W0_euler_g0.15",
    source="Chang et al., ICLR 2019, Figure 2(d) at full size",
    description="The headline phase portrait: RNN with feedback, W0 with diffusion 0.15 (eigenvalues "
                "-0.15 ± 2i), vector field, the paper's three trajectories, the equilibrium by type",
    command="rnndyn phase --matrix W0 --gamma 0.15",
)
def build_headline(quick: bool = False) -> Figure:
    """The picture ``rnndyn phase --matrix W0 --gamma 0.15`` draws, with its defaults."""
    from rnndyn.systems.cells import EulerRNN
    from rnndyn.plots.phase import plot_phase

    cell = EulerRNN(named_matrix("W0"), eps=PAPER_EPS, gamma=0.15)
    return plot_phase(phase_portrait(cell, PAPER_INITS, steps=PAPER_STEPS, grid=11 if quick else 21, label="W0"))
