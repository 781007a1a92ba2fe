"""Options shared by the commands, each declared once; their choices come from the library's registries."""

from __future__ import annotations

import click

from rnndyn.systems.build import ACTIVATION_CHOICES, CELL_KINDS

from .types import LABELED_MATRIX, MATRIX, BackendChoice


def _opt(*names, **kw):
    return click.option(*names, show_default=True, **kw)


#: What ``--matrix`` says about trained weights, in every command that analyses them as their cell.
MODEL_HELP = ("Trained weights (a PyTorch nn.RNN state dict .pt/.pth, or its keys, Keras or Flax weights in an "
              ".npz) are analysed as the model they are: a vanilla cell with W = weight_hh, V = weight_ih and "
              "b = bias_ih + bias_hh of layer --layer, unless --cell says otherwise; file.pt:KEY picks one tensor "
              "as a plain matrix.")


def matrix_option(default="W0", labeled: bool = False, help=None):
    """``--matrix/-m``; ``labeled=True`` gives a :class:`~.types.LabeledMatrix` (label, array, weights, source)."""
    return _opt("--matrix", "-m", type=LABELED_MATRIX if labeled else MATRIX, default=default,
                help=help or "Named matrix (W+, W-, W0, Wdiff, identity, reflection, rotation, fibonacci) "
                             "or a .npy/.npz[:key]/.csv/.txt file. " + MODEL_HELP)


_CELL_HELP = {
    "linear": "‖W^t‖ (no cell)",
    "vanilla": "φ(Wh)",
    "euler": "h+ε·φ((W−γI)h)",
    "antisymmetric": "h+ε·φ((W−Wᵀ−γI)h)",
}


def cell_option(default="euler", kinds=CELL_KINDS, help=None, from_weights: bool = False):
    """``--cell``, one of ``kinds`` (by default the library's cell kinds).

    ``from_weights=True`` (commands that take trained weights through ``--matrix``):
    the option defaults to None, "not given", which :func:`~.model.resolve_cell`
    reads as the weights file's own cell, else ``default``.
    """
    kinds = tuple(kinds)
    text = help or "; ".join(f"{k}: {_CELL_HELP[k]}" for k in kinds if k in _CELL_HELP) + "."
    if from_weights:
        return click.option("--cell", type=click.Choice(kinds), default=None, show_default=False,
                            help=f"{text} [default: the cell a weights file holds (vanilla for nn.RNN), "
                                 f"else {default}]")
    return _opt("--cell", type=click.Choice(kinds), default=default, help=text)


# --eps and --gamma follow one rule in every command (cli.errors.check_cell_options): validated for their
# range whatever the cell, and a one-line notice when given to a cell that ignores them.
def eps_option(default=0.1, show_default=True, help="Step size ε > 0 (euler and antisymmetric cells)."):
    return click.option("--eps", type=float, default=default, show_default=show_default, help=help)


def gamma_option(default=0.0):
    return _opt("--gamma", type=float, default=default, help="Diffusion γ ≥ 0 subtracted from the diagonal.")


def activation_option(default="tanh", from_weights: bool = False):
    """``--activation``; ``from_weights=True``: default None, read as the nonlinearity a weights file records,
    else ``default`` (with a notice for a weights file that does not record it)."""
    if from_weights:
        return click.option("--activation", type=click.Choice(ACTIVATION_CHOICES), default=None,
                            show_default=False,
                            help=f"Activation φ. [default: {default}; a state dict does not record it: pass "
                                 f"relu for nn.RNN(nonlinearity='relu')]")
    return _opt("--activation", type=click.Choice(ACTIVATION_CHOICES), default=default, help="Activation φ.")


def layer_option():
    """``--layer K``: the layer of a multi-layer model given by ``--matrix``."""
    return click.option("--layer", type=click.IntRange(min=0), default=None, metavar="K",
                        help="Layer K ≥ 0 of a multi-layer model given by --matrix (weight_hh_lK, driven by "
                             "layer K − 1 through weight_ih_lK). [default: 0, with a notice when the file "
                             "has more]")


def steps_option(default=50, minimum=0, maximum=None, help="Number of time steps T."):
    return _opt("--steps", "-T", type=click.IntRange(min=minimum, max=maximum), default=default, help=help)


def size_option(default=None, help="State size n."):
    return _opt("--size", "-n", type=click.IntRange(1, 4096), default=default, help=help)


def seed_option():
    return _opt("--seed", type=int, default=0, help="Seed of every random draw.")


def backend_option():
    return _opt("--backend", type=BackendChoice(), default="auto",
                help="Where the kernels run: auto (compiled, or a GPU for large work; NumPy's twins where those "
                     "finish within 1.5 s, for phase, gradients, norms and lyapunov) or a registered backend.")


def out_option(default=None, help="Output figure; the format follows the suffix (.png, .svg, .pdf)."):
    return _opt("--out", "-o", type=click.Path(dir_okay=False, writable=True), default=default, help=help)


def json_option():
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")


def dpi_option(default=150):
    return _opt("--dpi", type=click.IntRange(min=10, max=2400), default=default, help="Resolution of raster output.")
