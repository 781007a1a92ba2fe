"""``rnndyn phase``: the phase portrait of a 2-D cell, and its numbers."""

from __future__ import annotations

import click
import numpy as np

from rnndyn.analysis.phase import PAPER_EPS
from rnndyn.systems.build import build_cell

from .errors import check_cell_options, fail, options_named
from .options import (
    activation_option,
    cell_option,
    dpi_option,
    eps_option,
    gamma_option,
    json_option,
    matrix_option,
    out_option,
    seed_option,
    steps_option,
)
from .output import check_out_suffix, emit_json, write_figure
from .types import POINT2


def _yn(v) -> str:
    if v is None:
        return "n/a"
    return "yes" if bool(v) else "no"


def _num(x) -> str:
    if x is None:
        return "n/a"
    return f"{float(x):.6g}"


def _pt(p) -> str:
    return "(" + ", ".join(f"{float(v):.4g}" for v in p) + ")"


def default_out(label: str, cell: str, gamma: float) -> str:
    """``phase_<matrix>_<cell>_g<gamma>.png``."""
    return f"phase_{label}_{cell}_g{gamma:g}.png"


#: What the two classifications of a fixed point mean (printed with ``--json``).
KIND_MEANING = {
    "kind": "what the iterated map does there, from the eigenvalues mu of its one-step Jacobian: sink if every "
            "|mu| < 1, source if every |mu| > 1, neutral if some ||mu| - 1| <= 1e-6, saddle otherwise",
    "ode_kind": "euler and antisymmetric cells only: the type of the equilibrium of the ODE h' = phi(Mh + b) the "
                "cell discretises, from the real parts of its Jacobian's eigenvalues nu (ode_eigenvalues)",
}


def fixed_point_text(fp) -> str:
    """One fixed point for the summary: ``(0, 0) map: source (|μ| max 1.0051), ODE: sink``."""
    text = f"{_pt(fp.state)} map: {fp.kind} (|μ| max {_num(np.max(np.abs(fp.eigenvalues)))})"
    return text if fp.ode_kind is None else f"{text}, ODE: {fp.ode_kind}"


def portrait_record(p, out=None) -> dict:
    """The machine-readable summary of a PhasePortrait (what ``--json`` prints).

    Each fixed point has ``kind`` (the iterated map's type, from its one-step
    Jacobian's eigenvalues μ) and ``ode_kind`` (Euler-type cells: the type of
    the ODE's equilibrium; None for vanilla cells); a continuum of fixed
    points is one ``continuum`` entry.
    """
    from rnndyn.analysis.phase import describe_cell, effective_matrix_label

    rep = p.stability
    cell = p.cell
    vanilla = p.kind == "vanilla"
    return {
        "cell": p.kind,
        "update": describe_cell(cell),
        "matrix": p.label,
        "W": cell.W,
        "effective_matrix_name": effective_matrix_label(cell),
        "effective_matrix": p.effective_matrix,
        "eps": None if vanilla else cell.eps,
        "gamma": None if vanilla else cell.gamma,
        "activation": cell.activation,
        "steps": p.steps,
        "eigenvalues": p.eigenvalues,
        "max_real": rep.max_real,
        "euler_factor": rep.euler_factor,
        "spectral_radius": rep.spectral_radius,
        "jacobian_eigenvalues": rep.jacobian_eigenvalues,
        "verdicts": {
            "continuous_stable": rep.continuous_stable,
            "critical": rep.critical,
            "euler_stable": rep.euler_stable,
            "discrete_stable": rep.discrete_stable,
        },
        "critical_gamma": rep.critical_gamma,
        "stability_summary": rep.summary,
        "fixed_point_kinds": dict(KIND_MEANING),
        "fixed_points": [
            {"state": fp.state, "kind": fp.kind, "ode_kind": fp.ode_kind, "eigenvalues": fp.eigenvalues,
             "max_abs_eigenvalue": float(np.max(np.abs(fp.eigenvalues))), "ode_eigenvalues": fp.ode_eigenvalues,
             "residual": fp.residual}
            for fp in p.fixed_points
        ],
        "continuum": None if p.continuum is None else {
            "description": p.continuum.description,
            "dimension": p.continuum.dimension,
            "kind": p.continuum.kind,
            "ode_kind": p.continuum.ode_kind,
            "samples": p.continuum.samples,
            "region_in_window": p.continuum_region,
        },
        "fixed_points_complete": p.fixed_points_complete,
        "trajectories": [
            {
                "init": p.inits[i],
                "final": p.trajectories[i, -1],
                "initial_norm": p.initial_norms[i],
                "final_norm": p.final_norms[i],
                "diverged_at": int(p.diverged_at[i]),
                "last_finite_step": int(p.last_finite[i]),
                "last_finite": p.trajectories[i, int(p.last_finite[i])] if p.last_finite[i] >= 0 else None,
            }
            for i in range(len(p.inits))
        ],
        "xlim": p.xlim,
        "ylim": p.ylim,
        "out": out,
    }


def print_summary(p, out=None) -> None:
    """The human-readable summary of a PhasePortrait, on stdout."""
    from rnndyn.analysis.phase import (
        describe_cell,
        effective_matrix_label,
        format_eigenvalues,
    )

    rep = p.stability
    cell = p.cell
    M = effective_matrix_label(cell)
    W = cell.W
    rows = [
        ("cell", f"{p.kind}   {describe_cell(cell)}"),
        ("matrix", f"{p.label or 'W'} = [[{W[0, 0]:g}, {W[0, 1]:g}], [{W[1, 0]:g}, {W[1, 1]:g}]]"),
    ]
    if p.kind != "vanilla":
        rows.append(("eps, gamma", f"{cell.eps:g}, {cell.gamma:g}"))
    rows += [
        (f"eig({M})", format_eigenvalues(p.eigenvalues).replace("−", "-")),
        ("max Re λ", _num(rep.max_real)),
        ("max|1+ελ|", _num(rep.euler_factor)),
        ("ρ(J at 0)", _num(rep.spectral_radius)),
        ("verdicts", (f"continuous stable: {_yn(rep.continuous_stable)}, critical: {_yn(rep.critical)}, "
                     f"Euler stable: {_yn(rep.euler_stable)}, discrete stable: {_yn(rep.discrete_stable)}")),
        ("stability", rep.summary),
    ]
    fps = [fixed_point_text(fp) for fp in p.fixed_points]
    if p.continuum is not None:
        c = p.continuum
        fps.append(f"{c.description} (map: {c.kind}" + (")" if c.ode_kind is None else f", ODE: {c.ode_kind})"))
    if not fps:
        fps = ["none found"]
    if p.fixed_points_complete is False:
        fps.append(f"(the search from {p.fixed_points.n_starts} starts may have missed some)")
    rows += [("fixed points", fps[0])] + [("", v) for v in fps[1:]]
    width = max(len(k) for k, _ in rows) + 2
    for k, v in rows:
        click.echo(f"{k:<{width}}{v}")
    T = p.steps
    click.echo(f"trajectories (T = {T}):")
    for i in range(len(p.inits)):
        if p.diverged[i]:
            t = int(p.last_finite[i])
            end = f"diverged: non-finite from step {int(p.diverged_at[i])}"
            if t >= 0:
                end += f" (last finite ‖h{t}‖ = {_norms_text(p.trajectories[i, t])})"
        else:
            end = f"{p.final_norms[i]:.4g}"
        click.echo(f"  h0 = {_pt(p.inits[i]):<18} ‖h0‖ = {p.initial_norms[i]:<8.4g} → ‖h{T}‖ = {end}")


def _norms_text(h) -> str:
    with np.errstate(over="ignore"):
        return f"{float(np.hypot(h[0], h[1])):.4g}"


@click.command()
@matrix_option(labeled=True)
@cell_option()
@gamma_option()
@eps_option(default=PAPER_EPS, help="Step size ε > 0 (euler and antisymmetric cells); 0.1 is the ε under which "
                                    "Chang et al. (ICLR 2019), Fig. 2 is reproduced.")
@activation_option()
@steps_option()
@click.option("--init", "inits", type=POINT2, multiple=True, metavar="X,Y",
              help="Initial state (repeatable); default the paper's (0,0.5), (-0.5,-0.5), (0.5,-0.75).")
@click.option("--random", "n_random", type=click.IntRange(min=0, max=10_000), default=0, show_default=True,
              help="Extra random initial states, uniform in the --xlim/--ylim box or [-1, 1]² (seeded by --seed).")
@seed_option()
@click.option("--grid", type=click.IntRange(min=2, max=200), default=21, show_default=True,
              help="Vector-field arrows per axis.")
@click.option("--xlim", type=float, nargs=2, default=None, metavar="LO HI",
              help="x range (default: fitted to the trajectories and fixed points).")
@click.option("--ylim", type=float, nargs=2, default=None, metavar="LO HI",
              help="y range (default: fitted to the trajectories and fixed points).")
@out_option(help="Output figure (.png, .svg, .pdf) in an existing folder; default "
                 "phase_<matrix>_<cell>_g<gamma>.png in the current folder.")
@dpi_option()
@json_option()
def phase(matrix, cell, gamma, eps, activation, steps, inits, n_random, seed, grid, xlim, ylim, out, dpi, as_json):
    """Phase portrait of a 2-D RNN cell: vector field, trajectories, fixed points.

    Draws the displacement field F(h) − h of one update (arrows coloured by
    step length), the trajectories from the initial states (start dot, end
    square, direction arrows), and the fixed points by type (sink, source,
    saddle, neutral); prints the eigenvalues of the effective matrix, max Re λ,
    the forward-Euler factor max|1 + ελ|, the stability verdicts, and
    ‖h_0‖ → ‖h_T‖ of each trajectory (--json: all of it as JSON). The default
    initial states, T = 50 and ε = 0.1 are those of Chang et al. (ICLR 2019),
    Figures 1 and 2.

    A fixed point's "map" type is what the iterated update does there (from
    the eigenvalues μ of its one-step Jacobian; neutral when some
    ||μ| − 1| ≤ 1e-6): what the drawn trajectories do. For the euler and
    antisymmetric cells, its "ODE" type is that of the equilibrium of
    h' = φ(Mh + b) the cell discretises; the two differ where forward Euler is
    unstable. A continuum of fixed points (with ReLU: every h with
    Mh + b ≤ 0) is named and shaded as one. A trajectory that overflows is
    drawn up to its last finite state and marked ×, and a warning on stderr
    names it and the step.

    \b
    $ rnndyn phase --matrix W0 --gamma 0.15
    cell          euler   h ← h + ε·tanh((W − γI)h)
    matrix        W0 = [[0, -2], [2, 0]]
    eps, gamma    0.1, 0.15
    eig(W − γI)   -0.15 ± 2i
    ...
    wrote phase_W0_euler_g0.15.png
    \b
    $ rnndyn phase --cell vanilla --matrix rotation --init 0.9,0 --random 5 --out rot.pdf
    """
    from rnndyn.analysis.phase import phase_portrait, random_inits
    from rnndyn.plots.phase import plot_phase

    W = matrix.array
    if W.shape != (2, 2):
        fail(f"--matrix: rnndyn phase draws 2-D cells and needs a 2x2 matrix, got shape {W.shape} "
             f"from {matrix.label!r}")
    from rnndyn.systems.build import cell_parameters

    check_cell_options(click.get_current_context(), cell, cell_parameters(cell), eps=eps, gamma=gamma)
    c = build_cell(cell, W, eps=eps, gamma=gamma, activation=activation)
    init_list = [tuple(p) for p in inits]
    if not init_list:
        from rnndyn.analysis.phase import PAPER_INITS

        init_list = [tuple(p) for p in PAPER_INITS]
    if n_random:
        box = (tuple(xlim) if xlim else (-1.0, 1.0), tuple(ylim) if ylim else (-1.0, 1.0))
        with options_named(**{"box[0]": "--xlim", "box[1]": "--ylim"}):
            init_list += [tuple(p) for p in random_inits(n_random, rng=seed, box=box)]
    if out is None:
        out = default_out(matrix.label, cell, gamma)
    check_out_suffix(out)  # before the work, not after

    with options_named(xlim="--xlim", ylim="--ylim", inits="--init", steps="--steps", grid="--grid"):
        p = phase_portrait(c, init_list, steps=steps, grid=grid, xlim=xlim or None, ylim=ylim or None,
                           label=matrix.label)
    fig = plot_phase(p)
    path = write_figure(fig, out, dpi=dpi)
    if as_json:
        emit_json(portrait_record(p, out=str(path)))
    else:
        print_summary(p, out=str(path))
