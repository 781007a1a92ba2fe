"""Options shared by the commands, each declared once; their choices come from the library's registries."""

from __future__ import annotations

import click

from rnndyn.systems.build import ACTIVATION_CHOICES, CELL_KINDS

from .types import LABELED_MATRIX, MATRIX, BackendChoice


def _opt(*names, **kw):
    return click.option(*names, show_default=True, **kw)


def matrix_option(default="W0", labeled: bool = False, help=None):
    """``--matrix/-m``; ``labeled=True`` gives a :class:`~.types.LabeledMatrix` (label, array)."""
    return _opt("--matrix", "-m", type=LABELED_MATRIX if labeled else MATRIX, default=default,
                help=help or "Named matrix (W+, W-, W0, Wdiff, identity, reflection, rotation, fibonacci) "
                             "or a .npy/.npz[:key]/.csv/.txt file, or a PyTorch state dict .pt/.pth "
                             "(its weight_hh_l0).")


_CELL_HELP = {
    "linear": "‖W^t‖ (no cell)",
    "vanilla": "φ(Wh)",
    "euler": "h+ε·φ((W−γI)h)",
    "antisymmetric": "h+ε·φ((W−Wᵀ−γI)h)",
}


def cell_option(default="euler", kinds=CELL_KINDS, help=None):
    """``--cell``, one of ``kinds`` (by default the library's cell kinds)."""
    kinds = tuple(kinds)
    text = help or "; ".join(f"{k}: {_CELL_HELP[k]}" for k in kinds if k in _CELL_HELP) + "."
    return _opt("--cell", type=click.Choice(kinds), default=default, help=text)


def eps_option(default=0.1, show_default=True):
    return click.option("--eps", type=float, default=default, show_default=show_default,
                        help="Step size ε > 0 (euler and antisymmetric cells).")


def gamma_option(default=0.0):
    return _opt("--gamma", type=float, default=default, help="Diffusion γ ≥ 0 subtracted from the diagonal.")


def activation_option(default="tanh"):
    return _opt("--activation", type=click.Choice(ACTIVATION_CHOICES), default=default, help="Activation φ.")


def steps_option(default=50, minimum=0, maximum=None, help="Number of time steps T."):
    return _opt("--steps", "-T", type=click.IntRange(min=minimum, max=maximum), default=default, help=help)


def size_option(default=None, help="State size n."):
    return _opt("--size", "-n", type=click.IntRange(1, 4096), default=default, help=help)


def seed_option():
    return _opt("--seed", type=int, default=0, help="Seed of every random draw.")


def backend_option():
    return _opt("--backend", type=BackendChoice(), default="auto",
                help="Where the kernels run (auto or a registered backend).")


def out_option(default=None, help="Output figure; the format follows the suffix (.png, .svg, .pdf)."):
    return _opt("--out", "-o", type=click.Path(dir_okay=False, writable=True), default=default, help=help)


def json_option():
    return click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON on stdout.")


def dpi_option(default=150):
    return _opt("--dpi", type=click.IntRange(min=10, max=2400), default=default, help="Resolution of raster output.")
