"""``rnndyn train``: train a small RNN on a long-memory task with rnndyn's own BPTT."""

from __future__ import annotations

import math

import click

from .errors import fail
from .options import activation_option, eps_option, gamma_option, json_option, seed_option, size_option
from .output import emit_json, note, progress_bar


def _fmt(v) -> str:
    return "nan" if v is None or not math.isfinite(v) else f"{v:.4g}"


def epoch_line(epoch: int, epochs: int, row: dict) -> str:
    """One line per epoch on stderr: losses, accuracy, gradient ratio, radius, Lyapunov exponent, time."""
    acc = "" if not math.isfinite(row["test_accuracy"]) else f"  acc {row['test_accuracy']:.3f}"
    lyap = "" if not math.isfinite(row["max_lyapunov"]) else f"  λ1 {row['max_lyapunov']:+.3g}"
    return (f"epoch {epoch}/{epochs}  loss {_fmt(row['loss'])}  test {_fmt(row['test_loss'])}{acc}  "
            f"log10|dh0/dhT| {_fmt(row['grad_ratio'])}  radius {_fmt(row['radius'])}{lyap}  {row['time']:.2f} s")


def record(run, task, out) -> dict:
    """What ``--json`` prints: the settings, the final epoch and the whole history."""
    return {"config": run.config, "epochs": run.epochs, "stopped_early": run.stopped_early,
            "baseline": task.baseline, "final": run.final, "history": run.history, "out": out}


@click.command()
@click.option("--task", type=click.Choice(["adding", "copy", "flipflop", "digits", "pdigits"]), default="adding",
              show_default=True, help="adding problem, copy memory, 3-bit flip-flop, pixel 8x8 digits (scikit-learn), "
                                      "permuted pixel digits.")
@click.option("--length", "-T", type=click.IntRange(min=1), default=None,
              help="Sequence length T (the delay for copy). [default: adding 100, copy 50, flipflop 100]")
@click.option("--train-size", type=click.IntRange(min=1), default=1000, show_default=True,
              help="Training sequences generated.")
@click.option("--test-size", type=click.IntRange(min=1), default=200, show_default=True,
              help="Test sequences generated.")
@click.option("--cell", type=click.Choice(["vanilla", "euler", "antisymmetric"]), default="antisymmetric",
              show_default=True, help="The recurrent cell.")
@size_option(default=64)
@eps_option()
@gamma_option(default=0.01)
@activation_option()
@click.option("--gated", is_flag=True, help="Gated antisymmetric cell.")
@click.option("--init", default="orthogonal", show_default=True,
              help="Recurrent matrix init spec: orthogonal, identity (with --activation relu: IRNN), normal:gain=G, "
                   "antisymmetric:gain=G, ...")
@click.option("--epochs", type=click.IntRange(min=0), default=10, show_default=True)
@click.option("--batch", type=click.IntRange(min=1), default=32, show_default=True)
@click.option("--lr", type=float, default=1e-3, show_default=True, help="Learning rate.")
@click.option("--optimizer", type=click.Choice(["adam", "sgd"]), default="adam", show_default=True,
              help="Adam, or SGD with momentum 0.9.")
@click.option("--clip", type=float, default=1.0, show_default=True,
              help="Clip the global gradient norm to this (0: no clipping).")
@click.option("--early-stop", type=float, default=None,
              help="Stop once the test loss is at most this (accuracy at least this for digits).")
@click.option("--lyapunov-every", type=click.IntRange(min=0), default=1, show_default=True,
              help="Largest Lyapunov exponent every K epochs (0: never).")
@click.option("--resume", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Continue a saved run (its cell, optimiser state and settings) up to --epochs.")
@seed_option()
@click.option("--out", "-o", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Save the run (.json or .npz), after every epoch: a checkpoint to --resume from.")
@json_option()
def train(task, length, train_size, test_size, cell, size, eps, gamma, activation, gated, init, epochs, batch, lr,
          optimizer, clip, early_stop, lyapunov_every, resume, seed, out, as_json):
    """Train a cell and a linear readout with rnndyn's BPTT; a line per epoch on stderr.

    Every trainable parameter (W, V, b, γ, the gate's weights, the readout) is
    trained by Adam or SGD with momentum on the gradients of rnndyn.bptt. Each
    epoch reports the losses, the test accuracy, log10 ‖∂L/∂h_0‖/‖∂L/∂h_T‖,
    the Euler factor (spectral radius for vanilla cells) and the largest
    Lyapunov exponent. The saved run reloads into a cell every command and
    analysis takes (rnndyn slowpoints run.json).

    Resuming (3 more epochs of the run below), and the 3-bit flip-flop whose
    slow points rnndyn slowpoints finds:

    \b
      rnndyn train --epochs 6 --resume run.json --out run.json
      rnndyn train --task flipflop --cell vanilla --size 24 --epochs 40 --lr 0.01 --out ff.json

    \b
    $ rnndyn train --task adding --length 20 --size 16 --epochs 3 --out run.json
    antisymmetric n = 16 on adding (T = 20): 3 epochs
    ...
    """
    import rnndyn as rd

    if lr <= 0:
        fail(f"--lr: expected a learning rate > 0, got {lr}")
    if clip < 0:
        fail(f"--clip: expected a norm ≥ 0 (0: no clipping), got {clip}")
    if gated and cell != "antisymmetric":
        fail(f"--gated: only the antisymmetric cell has a gate, got --cell {cell}")
    if out and not out.lower().endswith((".json", ".npz")):
        fail(f"--out: expected a file ending in .json or .npz, got {out!r}")
    if resume:  # the saved run's own task and settings
        the_task = rd.analysis.train.task_of(rd.load_run(resume))
        the_cell = None
    else:
        the_task = rd.make_task(task, length=length, n_train=train_size, n_test=test_size, seed=seed)
        the_cell = rd.make_cell(cell, size, the_task.d, eps=eps, gamma=gamma, init=init, activation=activation,
                                gated=gated, rng=seed)
    stop = None
    if early_stop is not None:
        stop = ("test_accuracy" if the_task.name in ("digits", "pdigits") else "test_loss", early_stop)
    with progress_bar("train", epochs, enabled=None if not as_json else False) as bar:
        def progress(epoch, row):
            note(epoch_line(epoch, epochs, row))
            bar.update(1)

        run = rd.train(the_cell, the_task, epochs=epochs, batch=batch, lr=lr, optimizer=optimizer,
                       clip=clip or None, seed=seed, early_stop=stop, lyapunov_every=lyapunov_every,
                       checkpoint=out, resume=resume, progress=progress)
    if out and run.epochs == 0:
        rd.save_run(run, out)
    if as_json:
        emit_json(record(run, the_task, out))
        return
    f = run.final
    cfg = run.config
    click.echo(f"{cfg['cell']}{' (gated)' if cfg['gated'] else ''} n = {cfg['size']} on {the_task.name} "
               f"(T = {the_task.length}): {run.epochs} epochs{' (stopped early)' if run.stopped_early else ''}")
    if f:
        acc = "" if not math.isfinite(f["test_accuracy"]) else f", test accuracy {f['test_accuracy']:.4f}"
        click.echo(f"test loss {_fmt(f['test_loss'])} (baseline {the_task.baseline:.4g}){acc}")
        click.echo(f"log10 ‖∂L/∂h_0‖/‖∂L/∂h_T‖ {_fmt(f['grad_ratio'])}, radius {_fmt(f['radius'])}, "
                   f"max Lyapunov exponent {_fmt(f['max_lyapunov'])}")
    if out:
        click.echo(f"saved {out}")
