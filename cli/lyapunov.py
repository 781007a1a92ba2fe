"""``rnndyn lyapunov``: the Lyapunov spectrum of a cell or a classic map (Benettin/QR)."""

from __future__ import annotations

import sys

import click
import numpy as np

from .common import (
    MATRIX,
    POINT,
    activation_option,
    backend_option,
    check_out_suffix,
    dpi_option,
    emit_json,
    eps_option,
    fail,
    gamma_option,
    json_option,
    out_option,
    progress_enabled,
    save_figure,
    seed_option,
)

CELLS = ("antisymmetric", "euler", "vanilla", "lstm", "henon", "logistic")


def build_problem(cell, matrix, size, init, eps, gamma, activation, noise, transient, steps, h0, seed):
    """(system, h0, inputs, description) from the command's options; all random draws from ``seed``.

    Draw order (``np.random.default_rng(seed)``): W (from ``--init``, unless
    ``--matrix``), V ~ N(0, 1/D), the inputs ~ N(0, 1) of shape
    (transient + steps, D) when ``--noise D``, then h0 ~ N(0, 0.5²) unless given.
    """
    import rnndyn as rd

    rng = np.random.default_rng(seed)
    if cell in ("henon", "logistic"):
        if matrix is not None or size is not None or noise:
            fail(f"--matrix, --size, --noise: not used by the {cell} map; drop them")
        system = rd.systems.henon() if cell == "henon" else rd.systems.logistic(4.0)
        x0 = np.array(h0 if h0 is not None else ((0.1, 0.1) if cell == "henon" else (0.3,)))
        return system, x0, None, system.name
    if cell == "lstm":
        if matrix is not None:
            fail("--matrix: the LSTM is built by LSTM.init (orthogonal recurrent blocks, forget bias 1); use --size")
        n = size or 16
        system = rd.LSTM.init(n, d=noise, rng=rng)
        desc = f"LSTM, n = {n} (state [h; c] of size {2 * n})"
        dim = 2 * n
    else:
        if matrix is not None and size is not None:
            fail("--matrix, --size: give one of them (--size draws the matrix with --init)")
        if matrix is None:
            n = size or 16
            W = rd.init.from_spec(init, n, rng=rng)
            what = f"W from {init}"
        else:
            W = matrix
            n = W.shape[0]
            what = "W given"
        V = rng.normal(0.0, 1.0 / np.sqrt(noise), (n, noise)) if noise else None
        if cell == "vanilla":
            system = rd.VanillaRNN(W, V, activation=activation)
            desc = f"vanilla cell, n = {n}, {what}"
        elif cell == "euler":
            system = rd.EulerRNN(W, V, eps=eps, gamma=gamma, activation=activation)
            desc = f"euler cell, n = {n}, {what}, ε = {eps:g}, γ = {gamma:g}"
        else:
            system = rd.AntisymmetricRNN(W, V, eps=eps, gamma=gamma, activation=activation)
            desc = f"antisymmetric cell, n = {n}, {what}, ε = {eps:g}, γ = {gamma:g}"
        dim = n
    inputs = rng.normal(size=(transient + steps, noise)) if noise else None
    if noise:
        desc += f", driven by N(0, 1) noise in {noise} channels"
    if h0 is not None:
        if len(h0) != dim:
            fail(f"--h0: expected {dim} comma-separated numbers (the state size), got {len(h0)}")
        x0 = np.array(h0)
    else:
        x0 = rng.normal(0.0, 0.5, dim)
    return system, x0, inputs, desc


def spectrum_record(les, desc, out=None) -> dict:
    """The machine-readable form of a LyapunovSpectrum (what ``--json`` prints)."""
    rec = {
        "system": desc,
        "exponents": les.exponents,
        "error": les.error,
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
@click.option("--cell", type=click.Choice(CELLS), default="antisymmetric", show_default=True,
              help="An RNN cell (antisymmetric, euler, vanilla), an LSTM, or a classic map (henon: a = 1.4, "
                   "b = 0.3; logistic: r = 4).")
@click.option("--matrix", "-m", type=MATRIX, default=None,
              help="W: a named matrix (W0, Wdiff, ...) or a .npy/.npz[:key]/.csv/.txt file. Default: drawn "
                   "with --size/--init.")
@click.option("--size", "-n", type=click.IntRange(1, 4096), default=None,
              help="State size n when W is drawn (default 16); hidden size of the LSTM.")
@click.option("--init", "init", default="normal", show_default=True, metavar="SPEC",
              help="How W is drawn: normal[:STD] (default std 1/sqrt(n)), orthogonal[:GAIN], xavier, "
                   "antisymmetric[:STD], identity, uniform[:SCALE].")
@eps_option()
@gamma_option()
@activation_option()
@click.option("--noise", type=click.IntRange(0, 1024), default=0, show_default=True, metavar="D",
              help="Drive the cell with N(0, 1) inputs in D channels (input weights N(0, 1/D)); 0: autonomous.")
@click.option("--steps", "-T", type=click.IntRange(min=1), default=5000, show_default=True,
              help="Steps accumulated after the transient.")
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
def lyapunov(cell, matrix, size, init, eps, gamma, activation, noise, steps, k, transient, reortho, h0, history,
             seed, backend, out, dpi, as_json):
    """Lyapunov spectrum by the Benettin/QR method: the growth rates that decide whether gradients vanish (< 0),
    explode (> 0) or are kept (≈ 0, the AntisymmetricRNN's critical criterion).

    Prints λ_max, the sum of the exponents, the Kaplan–Yorke dimension, a
    convergence estimate and the exponents (descending, per step); --out draws
    the spectrum against i/n (and the convergence with --history).

    \b
    $ rnndyn lyapunov --cell henon --steps 100000
    Hénon (a=1.4, b=0.3), 100000 steps (transient 100), QR every step
    λ_max     0.4184   ...
    $ rnndyn lyapunov --cell antisymmetric --size 64 --gamma 0.1 --out spectrum.png
    """
    import rnndyn as rd

    if out:
        check_out_suffix(out)
    if backend == "cuda":
        fail("--backend: the Lyapunov kernels run on 'cpu' or 'reference'")
    system, x0, inputs, desc = build_problem(cell, matrix, size, init, eps, gamma, activation, noise, transient,
                                             steps, h0, seed)
    dim = x0.shape[0]
    if k is not None and k > dim:
        fail(f"--k: at most the state size {dim}, got {k}")
    kw = dict(steps=steps, k=k, transient=transient, reortho_every=reortho, return_history=history,
              backend=backend)
    if progress_enabled():
        with click.progressbar(length=transient + steps, label="lyapunov", file=sys.stderr, show_eta=True) as bar:
            last = [0]

            def tick(done, total):
                bar.update(done - last[0])
                last[0] = done

            les = rd.lyapunov_spectrum(system, x0, inputs, progress=tick, **kw)
    else:
        les = rd.lyapunov_spectrum(system, x0, inputs, **kw)
    if out:
        from rnndyn.plots.lyapunov import plot_lyapunov

        save_figure(plot_lyapunov(les, title=desc), out, dpi=dpi)
    if as_json:
        emit_json(spectrum_record(les, desc, out))
        return
    err = les.error
    click.echo(f"{desc}, {les.steps} steps (transient {les.transient}), "
               f"QR every {'step' if reortho == 1 else f'{reortho} steps'}")
    click.echo(f"{'λ_max':<10}{les.max_exponent:.6g}")
    click.echo(f"{'Σλ':<10}{les.sum:.6g}")
    click.echo(f"{'D_KY':<10}{les.kaplan_yorke:.6g}")
    click.echo(f"{'error':<10}{np.nanmax(err):.2g}" if np.isfinite(err).any() else f"{'error':<10}n/a")
    if les.diverged_at >= 0:
        click.echo(f"{'diverged':<10}at step {les.diverged_at}")
    click.echo(f"exponents ({les.k}, descending, per step):")
    e = les.exponents
    for i in range(0, e.size, 6):
        click.echo("  " + "  ".join(f"{v:>12.6g}" for v in e[i:i + 6]))
