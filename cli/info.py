"""``rnndyn info``: versions, threading layer, GPU visibility."""

from __future__ import annotations

import platform
from importlib.metadata import PackageNotFoundError, version

import click

from .options import json_option
from .output import emit_json


def _version(dist: str) -> str | None:
    try:
        return version(dist)
    except PackageNotFoundError:  # pragma: no cover - a source checkout without metadata
        return None


def collect_info() -> dict:
    import numba
    import numpy

    import rnndyn
    from rnndyn.backends import available_backends, cuda_available

    info = {
        "rnndyn": rnndyn.__version__,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "scipy": _version("scipy"),  # SciPy and matplotlib from their metadata: importing them costs a second
        "matplotlib": _version("matplotlib"),
        "click": _version("click"),
        "backends": list(available_backends()),
        "cuda_gpu_visible": cuda_available(),
        "numba_threads": numba.get_num_threads(),
    }
    # The threading layer is known once numba has started its threads; starting them compiles nothing.
    try:
        from numba.np.ufunc.parallel import _launch_threads

        _launch_threads()
        info["numba_threading_layer"] = numba.threading_layer()
    except Exception as exc:  # noqa: BLE001  # pragma: no cover - a diagnostic reports any failure, never dies of it
        info["numba_threading_layer"] = f"unavailable ({exc})"
    try:
        import numba_cuda

        info["numba_cuda"] = getattr(numba_cuda, "__version__", "installed")
    except Exception:  # noqa: BLE001 - numba-cuda absent or broken: reported as None
        info["numba_cuda"] = None
    return info


@click.command()
@json_option()
def info(as_json):
    """Versions of rnndyn and its numerical stack, the numba threading layer, and whether a CUDA GPU is visible.

    \b
    $ rnndyn info
    rnndyn                0.1.0
    python                3.11.7
    numpy                 2.4.6
    ...
    """
    data = collect_info()
    if as_json:
        emit_json(data)
        return
    for k, v in data.items():
        click.echo(f"{k:<22}{v}")
