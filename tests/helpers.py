"""Helpers shared by the test suite: finite differences and the command line.

One implementation of each, so every test means the same thing by "matches
finite differences", by "fails with a one-line error" and by "has AVX2".
"""

from __future__ import annotations

import platform
import warnings

import numpy as np


def _host_has(feature: str) -> bool:
    """Whether numba's target has ``feature``: its ``NUMBA_CPU_FEATURES`` where set, else the host's."""
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return False
    try:
        from rnndyn.kernels.cpu.intrinsics import target_features

        return feature in target_features()
    except Exception:  # noqa: BLE001 - any failure: cannot tell, skip
        return False


def host_has_avx2() -> bool:
    """Whether this is an x86-64 host with AVX2 (where tests read the SIMD code numba emits)."""
    return _host_has("+avx2")


def host_has_avx512() -> bool:
    """Whether this is an x86-64 host with AVX-512 (32 vector registers, 512-bit register tiles)."""
    return _host_has("+avx512f")


def fd_jacobian(f, x, eps: float = 1e-6, relative: bool = False) -> np.ndarray:
    """Central-difference Jacobian of ``f`` at ``x``: (f(x).size, x.size).

    Parameters
    ----------
    f : callable
        Array in, array out.
    x : array_like
        The point; its shape is kept when calling ``f``.
    eps : float
        The step; with ``relative=True`` each coordinate's step is
        ``eps * max(1, |x_j|)`` (for parameters far from 1).
    """
    x = np.array(x, dtype=np.float64)
    flat = x.ravel()
    y0 = np.asarray(f(x), dtype=np.float64)
    J = np.empty((y0.size, flat.size))
    for j in range(flat.size):
        step = eps * max(1.0, abs(flat[j])) if relative else eps
        up, dn = flat.copy(), flat.copy()
        up[j] += step
        dn[j] -= step
        J[:, j] = (np.ravel(f(up.reshape(x.shape))) - np.ravel(f(dn.reshape(x.shape)))) / (2 * step)
    return J


def fd_gradient(loss, x, eps: float = 1e-6, relative: bool = True) -> np.ndarray:
    """Central-difference gradient of a scalar ``loss`` at ``x``, shaped like ``x``."""
    x = np.array(x, dtype=np.float64)
    return fd_jacobian(lambda v: np.atleast_1d(loss(v)), x, eps, relative).reshape(x.shape)


def run_cli(*args, catch_exceptions: bool = True, **kwargs):
    """Invoke the ``rnndyn`` command line with click's CliRunner; returns the Result.

    NumPy/rnndyn warnings are silenced here: tests that care about them check
    stderr of a separate run.
    """
    from click.testing import CliRunner
    from rnndyn_cli.main import cli

    argv = list(args[0]) if len(args) == 1 and isinstance(args[0], (list, tuple)) else [str(a) for a in args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CliRunner().invoke(cli, argv, catch_exceptions=catch_exceptions, **kwargs)


def assert_one_line_error(res, must: str = "") -> str:
    """Assert a CLI result is a clean failure: exit 2, one ``Error: …`` line on stderr, no traceback.

    Returns the line; ``must`` (case-insensitive) has to occur in it.
    """
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exc_info
    assert res.exit_code == 2, (res.exit_code, res.output)
    err = res.stderr.strip()
    assert err.startswith("Error: ") and "\n" not in err, err
    assert "Traceback" not in res.output
    assert must.lower() in err.lower(), (must, err)
    return err


#: What must never reach a user's terminal: NumPy's and LAPACK's raw messages, tracebacks.
RAW_WARNINGS = ("encountered in", "RuntimeWarning", "illegal value", "DGEBAL", "Traceback")


def assert_clean(res, argv) -> None:
    """Exit 0, or exit 2 with exactly one ``Error:`` line; no traceback or raw NumPy warning anywhere."""
    err = res.stderr
    assert res.exit_code in (0, 2), (argv, res.exit_code, err, res.exc_info)
    assert not any(w in err or w in res.stdout for w in RAW_WARNINGS), (argv, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if res.exit_code == 2:
        errors = [ln for ln in lines if ln.startswith("Error: ")]
        assert len(errors) == 1 and lines[-1] == errors[0], (argv, err)
    for ln in lines:
        # a first run may compile and says so; nothing else may reach stderr
        assert ln.startswith(("Error: ", "Warning: ", "notice: ", "wrote ", "compiling kernels")), (argv, ln)
