"""``rnndyn lyapunov``: the Lyapunov spectrum of a cell or a classic map (Benettin/QR)."""

from __future__ import annotations

import dataclasses

import click

from rnndyn.systems.build import CELL_KINDS, SYSTEM_KINDS, cell_parameters, random_problem

from .errors import fail, options_named
from .model import check_unused_cell_options, resolve_cell
from .options import (
    MODEL_HELP,
    activation_option,
    backend_option,
    dpi_option,
    eps_option,
    gamma_option,
    json_option,
    layer_option,
    matrix_option,
    out_option,
    seed_option,
    size_option,
    steps_option,
)
from .output import check_out_suffix, emit_json, progress_bar, write_figure
from .types import POINT, InitSpecType

#: The kind of system analysed when neither --cell nor a weights file says.
DEFAULT_KIND = "antisymmetric"


def resolve_model(matrix, cell, activation, layer, eps, gamma):
    """``(resolved, cell, matrix, activation)`` from the model options of a spectrum command.

    Trained weights given by ``--matrix`` become a whole cell (``resolved``; ``matrix`` then stays the
    labelled file); otherwise ``resolved`` is None, ``cell`` and ``activation`` get their defaults and
    ``matrix`` is the plain array (or None).
    """
    if matrix is not None and matrix.weights is not None:
        if cell is not None and cell not in CELL_KINDS:
            fail(f"--cell: {matrix.weights.name} holds RNN weights, analysed as one of {', '.join(CELL_KINDS)}; "
                 f"got {cell}")
        resolved = resolve_cell(matrix, cell, activation, layer, eps, gamma)
        resolved.echo_notices()
        return resolved, cell, matrix, activation
    if layer is not None:
        fail("--layer: picks a layer of trained RNN weights given by --matrix (.pt/.pth, or an .npz of them)")
    cell = cell or DEFAULT_KIND
    if cell in CELL_KINDS:
        check_unused_cell_options(click.get_current_context(), cell)
    return None, cell, None if matrix is None else matrix.array, activation or "tanh"


def build_problem(cell, matrix, size, init, eps, gamma, activation, noise, steps, h0, seed, model_cell=None):
    """The library's :func:`~rnndyn.systems.build.random_problem` for the command's options (errors name them).

    ``model_cell`` (a :class:`~.model.ResolvedCell` of trained weights) is driven through its own input
    weights and biases; only the inputs and h0 are drawn.
    """
    h0 = "random" if h0 is None else list(h0)
    with options_named(W="--matrix", n="--size", d="--noise", h0="--h0", init="--init"):
        if model_cell is not None:
            c = model_cell.cell
            if size is not None:
                fail(f"--size, --matrix: give one of them ({model_cell.label} has its own size n = {c.n})")
            if noise and noise != c.d:
                fail(f"--noise: {model_cell.label} takes {c.d} inputs (its weight_ih has shape {c.V.shape}); "
                     f"pass --noise {c.d} to drive it, or 0 for none")
            p = random_problem(model_cell.kind, size, cell=c, d=noise, steps=steps, h0=h0, rng=seed)
            desc = f"{model_cell.label}: {model_cell.kind} cell ({model_cell.activation}), n = {c.n}"
            if cell_parameters(model_cell.kind):
                desc += f", ε = {c.eps:g}, γ = {c.gamma:g}"
            desc += (f", driven by N(0, 1) inputs in its {c.d} channels through its weight_ih" if noise
                     else ", no input")
            desc += ", bias b_ih + b_hh" if model_cell.model["convention"] == "pytorch" else ", its bias"
            return dataclasses.replace(p, description=desc)
        return random_problem(cell, size, W=matrix, init=init, d=noise, steps=steps, eps=eps, gamma=gamma,
                              activation=activation, h0=h0, rng=seed)


def spectrum_record(les, desc, out=None) -> dict:
    """The machine-readable form of a LyapunovSpectrum (what ``--json`` prints)."""
    rec = {
        "system": desc,
        "exponents": les.exponents,
        "error": les.error,
        "error_blocks": les.error_blocks,
        "max_exponent": les.max_exponent,
        "sum": les.sum,
        "kaplan_yorke": les.kaplan_yorke,
        "k": les.k,
        "steps": les.steps,
        "transient": les.transient,
        "reortho_every": les.reortho_every,
        "diverged_at": les.diverged_at,
    }
    if les.history is not None:
        rec["history_steps"] = les.history_steps
        rec["history"] = les.history
    rec["out"] = out
    return rec


@click.command("lyapunov")
@click.option("--cell", type=click.Choice(SYSTEM_KINDS), default=None,
              help="An RNN cell (" + ", ".join(CELL_KINDS) + "), an LSTM, or a classic map (henon: a = 1.4, "
                   f"b = 0.3; logistic: r = 4). [default: the cell a weights file holds, else {DEFAULT_KIND}]")
@matrix_option(default=None, labeled=True,
               help="W: a named matrix (W0, Wdiff, ...) or a .npy/.npz[:key]/.csv/.txt file. Default: drawn with "
                    "--size/--init. " + MODEL_HELP + " --noise D then drives it through its own weight_ih "
                    "(D = its input size).")
@layer_option()
@size_option(help="State size n when W is drawn (default 16); hidden size of the LSTM.")
@click.option("--init", "init", type=InitSpecType(), default="normal", show_default=True,
              help="How W is drawn, NAME[:KEY=VALUE]: normal (std 1/sqrt(n), i.e. gain 1), normal:std=S, "
                   "normal:gain=G, orthogonal[:gain=G], xavier_normal, antisymmetric:std=S, identity, "
                   "uniform:scale=A (gain: spectral radius).")
@eps_option()
@gamma_option()
@activation_option(from_weights=True)
@click.option("--noise", type=click.IntRange(0, 1024), default=0, show_default=True, metavar="D",
              help="Drive the cell with N(0, 1) inputs in D channels (input weights N(0, 1/D), or a weights file's "
                   "own weight_ih); 0: autonomous.")
@steps_option(default=5000, minimum=1, help="Steps accumulated after the transient.")
@click.option("--k", "k", type=click.IntRange(min=1), default=None, help="Number of exponents (default: all).")
@click.option("--transient", type=click.IntRange(min=0), default=100, show_default=True,
              help="Steps evolved first and not accumulated.")
@click.option("--reortho", "reortho", type=click.IntRange(min=1), default=1, show_default=True,
              help="Re-orthonormalise the tangent vectors every this many steps.")
@click.option("--h0", type=POINT, default=None, help="Initial state x,y,... (default: N(0, 0.5²) from --seed).")
@click.option("--history", is_flag=True, help="Keep the running estimates; --out then also draws their convergence.")
@seed_option()
@backend_option()
@out_option()
@dpi_option()
@json_option()
@click.pass_context
def lyapunov(ctx, cell, matrix, layer, size, init, eps, gamma, activation, noise, steps, k, transient, reortho, h0,
             history, seed, backend, out, dpi, as_json):
    """Lyapunov spectrum by the Benettin/QR method: the growth rates that decide whether gradients vanish (< 0),
    explode (> 0) or are kept (≈ 0, the AntisymmetricRNN's critical criterion).

    Prints λ_max, the sum of the exponents, the Kaplan–Yorke dimension, a
    convergence estimate and the exponents (descending, per step); --out draws
    the spectrum against i/n (and the convergence with --history).

    \b
    $ rnndyn lyapunov --cell henon --steps 100000
    Hénon (a=1.4, b=0.3), 100000 steps (transient 100), QR every step
    λ_max     0.420495
    Σλ        -1.20397
    D_KY      1.25885
    error     ± 0.0062 (batch means over 20 blocks, 95 %)
    ...
    $ rnndyn lyapunov --cell antisymmetric --size 64 --gamma 0.1 --out spectrum.png
    $ rnndyn lyapunov --matrix model.pt --activation tanh --noise 3
    """
    import rnndyn as rd

    if out:
        check_out_suffix(out)
    resolved, cell, matrix, activation = resolve_model(matrix, cell, activation, layer, eps, gamma)
    problem = build_problem(cell, matrix, size, init, eps, gamma, activation, noise, h0=h0, seed=seed,
                            steps=transient + steps, model_cell=resolved)
    system, x0, inputs, desc = problem.system, problem.h0, problem.inputs, problem.description
    dim = x0.shape[0]
    if k is not None and k > dim:
        fail(f"--k: at most the state size {dim}, got {k}")
    kw = {"steps": steps, "k": k, "transient": transient, "reortho_every": reortho, "return_history": history,
          "backend": backend}
    with progress_bar("lyapunov", transient + steps) as bar:
        # without a bar the run is not cut into chunks at all
        tick = (lambda done, total: bar.advance_to(done)) if bar.enabled else None
        les = rd.lyapunov_spectrum(system, x0, inputs, progress=tick, **kw)
    if out:
        from rnndyn.plots.lyapunov import plot_lyapunov

        write_figure(plot_lyapunov(les, title=desc), out, dpi=dpi)
    if as_json:
        emit_json({**spectrum_record(les, desc, out), "model": None if resolved is None else resolved.model})
        return
    click.echo(f"{desc}, {les.steps} steps (transient {les.transient}), "
               f"QR every {'step' if reortho == 1 else f'{reortho} steps'}")
    click.echo(f"{'λ_max':<10}{les.max_exponent:.6g}")
    click.echo(f"{'Σλ':<10}{les.sum:.6g}")
    click.echo(f"{'D_KY':<10}{les.kaplan_yorke:.6g}")
    click.echo(f"{'error':<10}{les.error_text()}")
    if les.diverged_at >= 0:
        click.echo(f"{'diverged':<10}at step {les.diverged_at}")
    click.echo(f"exponents ({les.k}, descending, per step):")
    e = les.exponents
    for i in range(0, e.size, 6):
        click.echo("  " + "  ".join(f"{v:>12.6g}" for v in e[i:i + 6]))
