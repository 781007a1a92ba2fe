"""``rnndyn stability``: spectra, verdicts and critical γ of a cell, as a table."""

from __future__ import annotations

import math

import click

import rnndyn as rd
from rnndyn.formatting import format_eigenvalues

from .model import check_unused_cell_options, model_line, option_given, origin_is_fixed, resolve_cell
from .options import (
    activation_option,
    cell_option,
    eps_option,
    gamma_option,
    json_option,
    layer_option,
    matrix_option,
)
from .output import emit_json
from .types import POINT

__all__ = ["format_report", "option_given", "check_unused_cell_options", "stability"]


_M_NAME = {"EulerRNN": "W − γI", "AntisymmetricRNN": "W − Wᵀ − γI", "VanillaRNN": "W", "matrix": "M"}


def _num(x, digits=6) -> str:
    if x is None:
        return "n/a"
    return f"{x:.{digits}g}"


def _verdict(flag, yes="stable", no="UNSTABLE") -> str:
    if flag is None:
        return "n/a"
    return yes if flag else no


def format_report(rep: rd.StabilityReport, model: dict | None = None, origin_fixed: bool = True) -> str:
    """The table ``rnndyn stability`` prints for a report.

    ``model`` (trained weights, :class:`~.model.ResolvedCell`'s ``model``) adds a first line naming the file,
    the layer and what W, V and b are; ``origin_fixed=False`` (a bias moves the origin) a closing note that
    the one-step Jacobian was taken at a state that is not a fixed point.
    """
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
    lines = ([model_line(model)] if model else []) + [head, ""]
    lines += [f"  {k:<{w}}{v}" for k, v in rows]
    lines += ["", "  verdicts"]
    lines += [f"  {k:<{w}}{v}" for k, v in verdicts]
    lines += ["", (f"  overall: {'stable' if rep.stable else 'UNSTABLE'} "
                  f"({'forward Euler' if rep.euler_stable is not None else 'one-step map'})"),
              "", rep.summary]
    if not origin_fixed and not rep.state.any():
        lines += ["", "note: the origin is not a fixed point: the bias maps h = 0 to φ(b) ≠ 0. μ above is the one-step",
                  "      Jacobian at h = 0 with the bias, as rd.stability(cell) takes it; for the state the model",
                  "      settles in, pass --state at a fixed point (rd.fixed_points(cell))."]
    return "\n".join(lines)


@click.command()
@matrix_option(labeled=True)
@cell_option(from_weights=True)
@layer_option()
@eps_option()
@gamma_option()
@activation_option(from_weights=True)
@click.option("--state", "state", type=POINT, default=None,
              help="State h (comma-separated) at which the one-step Jacobian is taken; default the origin.")
@click.option("--tol", type=click.FloatRange(min=0.0), default=1e-8, show_default=True,
              help="Tolerance of the verdicts.")
@json_option()
@click.option("--check", is_flag=True,
              help="Exit with status 1 when the configuration is not stable (forward Euler's verdict for "
                   "euler/antisymmetric cells, the one-step map's for vanilla ones); 0 otherwise.")
@click.pass_context
def stability(ctx, matrix, cell, layer, eps, gamma, activation, state, tol, as_json, check):
    """Eigenvalues, Euler factor, stability verdicts and critical γ of a cell.

    For euler/antisymmetric cells: the eigenvalues of M = W − γI (W − Wᵀ − γI),
    max Re λ (ODE stability, the critical criterion Re λ ≈ 0), the forward-Euler
    factor max|1 + ελ| and the smallest γ that brings it to 1 (Chang et al.
    2019). For vanilla cells: the spectral radius of the one-step Jacobian.
    The one-step Jacobian is the map's as it runs, at --state (default the
    origin): a trained model's bias included, no input, the same numbers as
    rd.stability(rd.load_cell(path)).

    \b
    $ rnndyn stability --matrix W0 --gamma 0.15
    $ rnndyn stability --matrix weights.npz:W_hh --cell antisymmetric --eps 0.01 --check
    $ rnndyn stability --matrix model.pt --activation tanh
    """
    res = resolve_cell(matrix, cell, activation, layer, eps, gamma)
    res.echo_notices()
    rep = rd.stability(res.cell, h=None if state is None else list(state), tol=tol)
    origin_fixed = origin_is_fixed(res.cell)
    if as_json:
        emit_json({**rep.to_dict(), "model": res.model, "origin_is_fixed_point": origin_fixed})
    else:
        click.echo(format_report(rep, res.model, origin_fixed))
    if check and not rep.stable:
        ctx.exit(1)
