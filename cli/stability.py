"""``rnndyn stability`` (spectra and verdicts as a table) and ``rnndyn spectrum`` (the stability-region plot)."""

from __future__ import annotations

import math

import click
from click.core import ParameterSource

import rnndyn as rd
from rnndyn.analysis.stability import format_eigenvalues

from .common import (
    POINT,
    activation_option,
    build_cell,
    cell_option,
    check_out_suffix,
    dpi_option,
    emit_json,
    eps_option,
    fail,
    gamma_option,
    json_option,
    matrix_option,
    out_option,
    save_figure,
    seed_option,
)

_M_NAME = {"EulerRNN": "W − γI", "AntisymmetricRNN": "W − Wᵀ − γI", "VanillaRNN": "W", "matrix": "M"}


def _given(ctx, name: str) -> bool:
    return ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)


def _num(x, digits=6) -> str:
    if x is None:
        return "n/a"
    return f"{x:.{digits}g}"


def _verdict(flag, yes="stable", no="UNSTABLE") -> str:
    if flag is None:
        return "n/a"
    return yes if flag else no


def format_report(rep: rd.StabilityReport) -> str:
    """The table ``rnndyn stability`` prints for a report."""
    head = rep.kind
    if rep.activation:
        head += f" ({rep.activation})"
    n = rep.matrix_eigenvalues.size
    head += f", n = {n}"
    if rep.eps is not None:
        head += f", ε = {rep.eps:.6g}"
    if rep.gamma is not None:
        head += f", γ = {rep.gamma:.6g}"
    where = "the origin" if not rep.state.any() else "h = (" + ", ".join(f"{v:.4g}" for v in rep.state) + ")"
    rows = [(f"eigenvalues of M = {_M_NAME.get(rep.kind, 'M')}", format_eigenvalues(rep.matrix_eigenvalues, 6, 8)),
            ("max Re λ(M)", _num(rep.max_real))]
    if rep.eps is not None:
        if rep.ode_eigenvalues is not None and not (rep.ode_eigenvalues == rep.matrix_eigenvalues).all():
            rows.append(("eigenvalues of J₀ = φ'(0)·M", format_eigenvalues(rep.ode_eigenvalues, 6, 8)))
        rows.append(("Euler factor max|1 + ελ|", f"{_num(rep.euler_factor, 7)}  (ε = {rep.eps:.6g})"))
    rows.append(("one-step Jacobian eigenvalues μ", f"{format_eigenvalues(rep.jacobian_eigenvalues, 6, 8)}  (at {where})"))
    rows.append(("spectral radius max|μ|", _num(rep.spectral_radius, 7)))
    if rep.critical_gamma is not None:
        if math.isnan(rep.critical_gamma):
            rows.append(("critical γ", f"none: {rep.critical_gamma_note}"))
        else:
            rows.append(("critical γ", f"{_num(rep.critical_gamma)}  (forward Euler is stable for "
                                       f"γ ≥ {rep.critical_gamma:.6g} at ε = {rep.eps:.6g})"))
    verdicts = []
    if rep.continuous_stable is not None:
        verdicts.append(("ODE: max Re λ(M) ≤ 0", _verdict(rep.continuous_stable)))
        verdicts.append(("critical: Re λ(M) ≈ 0", _verdict(rep.critical, "yes", "no")))
    else:
        verdicts.append(("norm-preserving: |μ| ≈ 1", _verdict(rep.critical, "yes", "no")))
    if rep.euler_stable is not None:
        verdicts.append(("forward Euler: max|1 + ελ| ≤ 1", _verdict(rep.euler_stable)))
    verdicts.append(("one-step map: max|μ| ≤ 1", _verdict(rep.discrete_stable)))
    w = max(len(k) for k, _ in rows + verdicts) + 2
    lines = [head, ""]
    lines += [f"  {k:<{w}}{v}" for k, v in rows]
    lines += ["", "  verdicts"]
    lines += [f"  {k:<{w}}{v}" for k, v in verdicts]
    lines += ["", f"  overall: {'stable' if rep.stable else 'UNSTABLE'} "
                  f"({'forward Euler' if rep.euler_stable is not None else 'one-step map'})",
              "", rep.summary]
    return "\n".join(lines)


@click.command()
@matrix_option()
@cell_option()
@eps_option()
@gamma_option()
@activation_option()
@click.option("--state", "state", type=POINT, default=None,
              help="State h (comma-separated) at which the one-step Jacobian is taken; default the origin.")
@click.option("--tol", type=click.FloatRange(min=0.0), default=1e-8, show_default=True,
              help="Tolerance of the verdicts.")
@json_option()
@click.option("--check", is_flag=True,
              help="Exit with status 1 when the configuration is not stable (forward Euler's verdict for "
                   "euler/antisymmetric cells, the one-step map's for vanilla ones); 0 otherwise.")
@click.pass_context
def stability(ctx, matrix, cell, eps, gamma, activation, state, tol, as_json, check):
    """Eigenvalues, Euler factor, stability verdicts and critical γ of a cell.

    For euler/antisymmetric cells: the eigenvalues of M = W − γI (W − Wᵀ − γI),
    max Re λ (ODE stability, the critical criterion Re λ ≈ 0), the forward-Euler
    factor max|1 + ελ| and the smallest γ that brings it to 1 (Chang et al.
    2019). For vanilla cells: the spectral radius of the one-step Jacobian.

    \b
    $ rnndyn stability --matrix W0 --gamma 0.15
    $ rnndyn stability --matrix weights.npz:W_hh --cell antisymmetric --eps 0.01 --check
    """
    if cell == "vanilla":
        for name in ("eps", "gamma"):
            if _given(ctx, name):
                fail(f"--{name}: a vanilla cell has no {'step size ε' if name == 'eps' else 'diffusion γ'}; "
                     "use --cell euler or antisymmetric")
    c = build_cell(cell, matrix, eps=eps, gamma=gamma, activation=activation)
    rep = rd.stability(c, h=None if state is None else list(state), tol=tol)
    if as_json:
        emit_json(rep.to_dict())
    else:
        click.echo(format_report(rep))
    if check and not rep.stable:
        ctx.exit(1)


@click.command()
@matrix_option()
@click.option("--random", "random_n", type=click.IntRange(min=1), default=None,
              help="Use a random N×N matrix (see --init) instead of --matrix.")
@click.option("--init", "init_spec", default="orthogonal", show_default=True,
              help="Initialiser for --random: orthogonal[:GAIN], identity[:GAIN], normal[:STD], uniform[:SCALE], "
                   "xavier, xavier_uniform, antisymmetric[:STD].")
@cell_option()
@eps_option()
@gamma_option()
@activation_option()
@click.option("--compare", "compare", type=click.FloatRange(min=0.0), multiple=True,
              help="Also draw the same cell with this γ (repeatable).")
@click.option("--critical", is_flag=True, help="Also draw the same cell at its critical γ.")
@seed_option()
@out_option(default="spectrum.png")
@dpi_option()
@json_option()
@click.pass_context
def spectrum(ctx, matrix, random_n, init_spec, cell, eps, gamma, activation, compare, critical, seed, out, dpi,
             as_json):
    """Plot eigenvalues against the stability regions (imaginary axis, Euler disk, unit circle).

    Left: the eigenvalues λ of the ODE Jacobian with the forward-Euler disk
    |1 + ελ| ≤ 1 (centre −1/ε, radius 1/ε) and the imaginary axis — or, for a
    vanilla cell, the one-step Jacobian's eigenvalues μ with the unit circle.
    Right: |1 + ελ| (or |μ|) per eigenvalue against 1. Prints one summary line
    per configuration.

    \b
    $ rnndyn spectrum --matrix W0 --gamma 0.15 --compare 0 --critical --out w0.png
    $ rnndyn spectrum --random 64 --init antisymmetric:0.5 --cell euler --gamma 0.1 --out a.png
    """
    from rnndyn.plots.stability import plot_stability

    check_out_suffix(out)  # refuse a bad --out before any work
    if random_n is not None:
        if _given(ctx, "matrix"):
            fail("--matrix, --random: give one of them, not both")
        W = rd.init.from_spec(init_spec, random_n, rng=seed)
        name = f"random {random_n}×{random_n} ({init_spec})"
    else:
        if _given(ctx, "init_spec"):
            fail("--init: only used with --random N")
        W = matrix
        name = _matrix_name(W)
    if cell == "vanilla":
        for opt, given in (("eps", _given(ctx, "eps")), ("gamma", _given(ctx, "gamma")),
                           ("compare", bool(compare)), ("critical", critical)):
            if given:
                fail(f"--{opt}: a vanilla cell has no step size ε nor diffusion γ; use --cell euler or antisymmetric")
    base = build_cell(cell, W, eps=eps, gamma=gamma, activation=activation)
    gammas = [gamma] + [g for g in compare if g != gamma]
    cells = [base] + [base.replace(gamma=g) for g in gammas[1:]]
    labels = [f"γ = {g:.4g}" for g in gammas] if cell != "vanilla" else [f"vanilla ({activation})"]
    if critical:
        gc = rd.analysis.stability.critical_gamma(base)
        if math.isnan(gc):
            click.echo(f"Warning: --critical: {rd.stability(base).critical_gamma_note}", err=True)
        else:
            cells.append(base.replace(gamma=gc))
            labels.append(f"γ = γ_c = {gc:.4g}")
    reports = [rd.stability(c) for c in cells]
    title = f"{name}: {type(base).__name__} ({activation})" + (f", ε = {base.eps:.4g}" if cell != "vanilla" else "")
    fig = plot_stability(reports, labels, title=title)
    save_figure(fig, out, dpi)
    if as_json:
        emit_json([{"label": lab, **r.to_dict()} for lab, r in zip(labels, reports)])
    else:
        for r in reports:
            click.echo(r.summary)


def _matrix_name(W) -> str:
    """The named matrix W equals, for the title; "matrix" for one read from a file."""
    import numpy as np

    for nm in rd.NAMED_MATRICES:
        M = rd.named_matrix(nm)
        if M.shape == np.shape(W) and np.array_equal(M, W):
            return nm
    return f"{np.shape(W)[0]}×{np.shape(W)[1]} matrix"
