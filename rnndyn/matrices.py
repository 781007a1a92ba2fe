"""Named matrices of the source material and weight initialisers.

The named matrices are the 2x2 examples the seed documents reason with; the
initialisers are the standard ones whose effect on gradient flow rnndyn shows.
"""

from __future__ import annotations

import numpy as np

from . import config
from ._validate import as_float, as_int, as_rng
from .errors import MemoryLimitError, UnknownNameError, ValidationError


def _check_size(n: int, m: int) -> None:
    # A typo like orthogonal(10**6) should be refused, not die in NumPy's MemoryError.
    nbytes = 8.0 * n * m
    if nbytes > config.MEMORY_LIMIT_BYTES:
        raise MemoryLimitError(
            f"n: a ({n}, {m}) matrix would need {nbytes / 2**30:.2f} GiB, more than the limit of "
            f"{config.MEMORY_LIMIT_BYTES / 2**30:.2f} GiB (rnndyn.config.MEMORY_LIMIT_BYTES)"
        )

# Chang et al. (2019), Figure 2 (seed 001): the RNN with feedback.
# Figure 1 (vanilla RNN): identity, an orthogonal reflection and an orthogonal
# rotation; the rotation R = [[0, 1], [-1, 0]] with eigenvalues ±i is the one
# the Smerity post's translation (seed 002) writes down; the reflection is the
# swap matrix, orthogonal with det = -1 and eigenvalues ±1.
_NAMED = {
    "W+": [[2.0, -2.0], [0.0, 2.0]],
    "W-": [[-2.0, 2.0], [0.0, -2.0]],
    "W0": [[0.0, -2.0], [2.0, 0.0]],
    "Wdiff": [[-0.15, -2.0], [2.0, -0.15]],
    "identity": [[1.0, 0.0], [0.0, 1.0]],
    "reflection": [[0.0, 1.0], [1.0, 0.0]],
    "rotation": [[0.0, 1.0], [-1.0, 0.0]],
    "fibonacci": [[1.0, 1.0], [1.0, 0.0]],
}

_DESCRIPTIONS = {
    "W+": "eigenvalues 2, 2: states move away from the origin (Chang et al. Fig. 2a)",
    "W-": "eigenvalues -2, -2: states move towards the origin (Fig. 2b)",
    "W0": "antisymmetric, eigenvalues ±2i: outward spirals under forward Euler (Fig. 2c)",
    "Wdiff": "W0 - 0.15 I, eigenvalues -0.15 ± 2i: near-constant distance (Fig. 2d)",
    "identity": "2x2 identity (Chang et al. Fig. 1a)",
    "reflection": "orthogonal reflection, det -1, eigenvalues ±1 (Fig. 1b)",
    "rotation": "orthogonal rotation by -90°, eigenvalues ±i (Fig. 1c; seed 002)",
    "fibonacci": "[[1,1],[1,0]]: powers give Fibonacci numbers, dominant eigenvalue the golden ratio (Smerity)",
}

NAMED_MATRICES = tuple(_NAMED)


def named_matrix(name: str) -> np.ndarray:
    """One of the named matrices of the source material.

    Parameters
    ----------
    name : str
        One of ``"W+"``, ``"W-"``, ``"W0"``, ``"Wdiff"``, ``"identity"``,
        ``"reflection"``, ``"rotation"``, ``"fibonacci"``.

    Returns
    -------
    ndarray, shape (2, 2)
        A fresh float64 array (safe to modify).

    Raises
    ------
    UnknownNameError
        For any other name; the message lists the valid ones.

    Notes
    -----
    W+, W-, W0, Wdiff are the matrices of Figure 2 of Chang et al., ICLR 2019
    (seed 001); the Fibonacci matrix is from the Smerity post (seed 000).

    Examples
    --------
    >>> import rnndyn as rd
    >>> rd.named_matrix("Wdiff")
    array([[-0.15, -2.  ],
           [ 2.  , -0.15]])
    """
    if not isinstance(name, str) or name not in _NAMED:
        raise UnknownNameError(
            f"matrix: unknown named matrix {name!r}; expected one of {', '.join(NAMED_MATRICES)}"
        )
    return np.array(_NAMED[name], dtype=np.float64)


def describe_named_matrix(name: str) -> str:
    """One-line description of a named matrix (for ``--help`` and figure captions)."""
    named_matrix(name)
    return _DESCRIPTIONS[name]


# --------------------------------------------------------------------------- initialisers


def orthogonal(n, gain=1.0, rng=None, method="qr") -> np.ndarray:
    """A random orthogonal matrix, Haar-distributed, times ``gain``.

    Parameters
    ----------
    n : int
        Size; the result is (n, n).
    gain : float
        Scale: the result satisfies QᵀQ = gain² I.
    rng : None, int or numpy.random.Generator
    method : {"qr", "svd"}
        ``"qr"``: QR of a standard Gaussian matrix with the signs of R's
        diagonal moved into Q (Mezzadri 2007), which makes Q exactly Haar
        distributed. ``"svd"``: the Lasagne recipe cited by the Smerity post
        (left singular vectors of a Gaussian matrix).

    Returns
    -------
    ndarray, shape (n, n)

    Examples
    --------
    >>> import numpy as np, rnndyn as rd
    >>> Q = rd.init.orthogonal(4, rng=0)
    >>> bool(np.allclose(Q.T @ Q, np.eye(4)))
    True
    """
    n = as_int(n, "n", minimum=1)
    _check_size(n, n)
    gain = as_float(gain, "gain")
    g = as_rng(rng)
    a = g.standard_normal((n, n))
    if method == "qr":
        q, r = np.linalg.qr(a)
        d = np.sign(np.diag(r))
        d[d == 0] = 1.0
        q = q * d
    elif method == "svd":
        u, _, _ = np.linalg.svd(a)
        q = u
    else:
        raise UnknownNameError(f"method: expected 'qr' or 'svd', got {method!r}")
    return gain * q


def identity(n, gain=1.0) -> np.ndarray:
    """``gain`` times the (n, n) identity (Le et al. 2015: identity + ReLU)."""
    n = as_int(n, "n", minimum=1)
    _check_size(n, n)
    return as_float(gain, "gain") * np.eye(n)


def normal(n, std=1.0, rng=None, m=None) -> np.ndarray:
    """An (n, m) matrix (m defaults to n) of independent N(0, std²) entries."""
    n = as_int(n, "n", minimum=1)
    m = n if m is None else as_int(m, "m", minimum=1)
    _check_size(n, m)
    std = as_float(std, "std", nonnegative=True)
    return std * as_rng(rng).standard_normal((n, m))


def uniform(n, scale=1.0, rng=None, m=None) -> np.ndarray:
    """An (n, m) matrix of independent U(−scale, scale) entries."""
    n = as_int(n, "n", minimum=1)
    m = n if m is None else as_int(m, "m", minimum=1)
    _check_size(n, m)
    scale = as_float(scale, "scale", nonnegative=True)
    return as_rng(rng).uniform(-scale, scale, size=(n, m))


def xavier_normal(n_in, n_out=None, gain=1.0, rng=None) -> np.ndarray:
    """Glorot/Xavier normal: an (n_out, n_in) matrix with variance gain²·2/(n_in + n_out).

    Notes
    -----
    Dive into Deep Learning §5.4.2: keeping the variance of activations and of
    gradients both near 1 asks for n_in σ² = 1 and n_out σ² = 1; the compromise
    is σ² = 2 / (n_in + n_out).
    """
    n_in = as_int(n_in, "n_in", minimum=1)
    n_out = n_in if n_out is None else as_int(n_out, "n_out", minimum=1)
    _check_size(n_out, n_in)
    std = as_float(gain, "gain") * np.sqrt(2.0 / (n_in + n_out))
    return std * as_rng(rng).standard_normal((n_out, n_in))


def xavier_uniform(n_in, n_out=None, gain=1.0, rng=None) -> np.ndarray:
    """Glorot/Xavier uniform: U(−a, a) with a = gain·sqrt(6/(n_in + n_out)), variance gain²·2/(n_in + n_out)."""
    n_in = as_int(n_in, "n_in", minimum=1)
    n_out = n_in if n_out is None else as_int(n_out, "n_out", minimum=1)
    _check_size(n_out, n_in)
    a = as_float(gain, "gain") * np.sqrt(6.0 / (n_in + n_out))
    return as_rng(rng).uniform(-a, a, size=(n_out, n_in))


def antisymmetric(n, std=1.0, rng=None) -> np.ndarray:
    """W − Wᵀ for W strictly upper triangular with N(0, std²) entries.

    The AntisymmetricRNN's parametrisation (seed 001): only the n(n−1)/2 entries
    above the diagonal are free, and the result A satisfies Aᵀ = −A exactly, so
    its eigenvalues are purely imaginary.
    """
    n = as_int(n, "n", minimum=1)
    _check_size(n, n)
    std = as_float(std, "std", nonnegative=True)
    u = np.triu(std * as_rng(rng).standard_normal((n, n)), k=1)
    return u - u.T


INIT_NAMES = ("orthogonal", "identity", "normal", "uniform", "xavier", "xavier_normal", "xavier_uniform", "antisymmetric")


def from_spec(spec: str, n: int, rng=None) -> np.ndarray:
    """An (n, n) matrix from a short text spec, as the command line writes it.

    ``"orthogonal"``, ``"orthogonal:GAIN"``, ``"identity"``, ``"identity:GAIN"``,
    ``"normal:STD"``, ``"uniform:SCALE"``, ``"xavier"`` (normal),
    ``"xavier_uniform"``, ``"antisymmetric:STD"``. A missing STD means
    1/sqrt(n) for ``normal`` (the scale at which a random matrix's spectral
    radius is about 1) and 1 otherwise.
    """
    if not isinstance(spec, str) or not spec:
        raise ValidationError(f"init: expected a spec such as 'orthogonal' or 'normal:0.5', got {spec!r}")
    name, _, arg = spec.partition(":")
    name = name.strip().lower()
    if name not in INIT_NAMES:
        raise UnknownNameError(f"init: unknown initialiser {name!r}; expected one of {', '.join(INIT_NAMES)}")
    value = None
    if arg:
        try:
            value = float(arg)
        except ValueError:
            raise ValidationError(f"init: expected a number after ':' in {spec!r}") from None
    if name == "orthogonal":
        return orthogonal(n, 1.0 if value is None else value, rng)
    if name == "identity":
        return identity(n, 1.0 if value is None else value)
    if name == "normal":
        return normal(n, 1.0 / np.sqrt(n) if value is None else value, rng)
    if name == "uniform":
        return uniform(n, 1.0 if value is None else value, rng)
    if name in ("xavier", "xavier_normal"):
        return xavier_normal(n, n, 1.0 if value is None else value, rng)
    if name == "xavier_uniform":
        return xavier_uniform(n, n, 1.0 if value is None else value, rng)
    return antisymmetric(n, 1.0 if value is None else value, rng)
