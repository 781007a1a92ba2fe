"""``rnndyn stability``: spectra, verdicts and critical γ of a cell, as a table."""

from __future__ import annotations

import math

import click
from click.core import ParameterSource

import rnndyn as rd
from rnndyn.analysis.stability import format_eigenvalues
from rnndyn.systems.build import CELL_KINDS, build_cell, cell_parameters

from .errors import fail
from .options import (
    activation_option,
    cell_option,
    eps_option,
    gamma_option,
    json_option,
    matrix_option,
)
from .output import emit_json
from .types import POINT


def option_given(ctx, name: str) -> bool:
    """Whether the option ``name`` was given (on the command line or in the environment), not defaulted."""
    return ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP, None)


_WHAT = {"eps": "step size ε", "gamma": "diffusion γ"}


def refuse_unused_cell_options(ctx, cell: str, extra: dict | None = None) -> None:
    """Stop with one line when an option the cell kind does not take (--eps, --gamma on a vanilla cell) was given.

    ``extra`` maps further option names to whether they were given, for options that need ε and γ.
    """
    takes = cell_parameters(cell)
    given = {name: option_given(ctx, name) for name in _WHAT if name not in takes}
    if not takes:
        given.update(extra or {})
    with_them = ", ".join(k for k in CELL_KINDS if cell_parameters(k)) or "none"
    for name, was_given in given.items():
        if was_given:
            what = _WHAT.get(name, "step size ε nor diffusion γ")
            fail(f"--{name}: a {cell} cell has no {what}; use --cell {with_them.replace(', ', ' or ')}")


_M_NAME = {"EulerRNN": "W − γI", "AntisymmetricRNN": "W − Wᵀ − γI", "VanillaRNN": "W", "matrix": "M"}


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
            rows.append(("critical γ", (f"{_num(rep.critical_gamma)}  (forward Euler is stable for "
                                       f"γ ≥ {rep.critical_gamma:.6g} at ε = {rep.eps:.6g})")))
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
    lines += ["", (f"  overall: {'stable' if rep.stable else 'UNSTABLE'} "
                  f"({'forward Euler' if rep.euler_stable is not None else 'one-step map'})"),
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
    refuse_unused_cell_options(ctx, cell)
    c = build_cell(cell, matrix, eps=eps, gamma=gamma, activation=activation)
    rep = rd.stability(c, h=None if state is None else list(state), tol=tol)
    if as_json:
        emit_json(rep.to_dict())
    else:
        click.echo(format_report(rep))
    if check and not rep.stable:
        ctx.exit(1)
