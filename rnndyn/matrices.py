"""Named matrices of the source material and weight initialisers.

The named matrices are the 2x2 examples the source documents reason with; the
initialisers are the standard ones whose effect on gradient flow rnndyn shows.
"""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass

import numpy as np

from rnndyn import config
from rnndyn._validate import as_float, as_int, as_rng
from rnndyn.backends.blas import factorisation_threads
from rnndyn.errors import MemoryLimitError, UnknownNameError, ValidationError


def _check_size(n: int, m: int, copies: int = 1) -> None:
    # A typo like orthogonal(10**6) should be refused, not die in NumPy's MemoryError. ``copies``
    # counts the (n, m) arrays alive at the peak (a QR holds the draw, Q, R and LAPACK's work).
    nbytes = 8.0 * n * m * copies
    if nbytes > config.MEMORY_LIMIT_BYTES:
        what = f"a ({n}, {m}) matrix" if copies == 1 else f"building a ({n}, {m}) matrix ({copies} of its size at once)"
        raise MemoryLimitError(
            f"n: {what} would need {nbytes / 2**30:.2f} GiB, more than the limit of "
            f"{config.MEMORY_LIMIT_BYTES / 2**30:.2f} GiB (rnndyn.config.MEMORY_LIMIT_BYTES)"
        )

# Chang et al. (2019), Figure 2: the RNN with feedback.
# Figure 1 (vanilla RNN): identity, an orthogonal reflection and an orthogonal
# rotation; the rotation R = [[0, 1], [-1, 0]] with eigenvalues ±i is the one
# the Korean summary of Smerity's post writes down; the reflection is the
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
    "rotation": "orthogonal rotation by -90°, eigenvalues ±i (Fig. 1c)",
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
    (Chang et al., ICLR 2019); the Fibonacci matrix is from Smerity's post.

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
    _check_size(n, n, copies=4)
    gain = as_float(gain, "gain")
    g = as_rng(rng)
    a = g.standard_normal((n, n))
    if method == "qr":
        with factorisation_threads():  # a busy machine's cores make a threaded QR many times slower
            q, r = np.linalg.qr(a)
        d = np.sign(np.diag(r))
        d[d == 0] = 1.0
        q = q * d
    elif method == "svd":
        with factorisation_threads():
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

    The AntisymmetricRNN's parametrisation: only the n(n−1)/2 entries
    above the diagonal are free, and the result A satisfies Aᵀ = −A exactly, so
    its eigenvalues are purely imaginary.
    """
    n = as_int(n, "n", minimum=1)
    _check_size(n, n)
    std = as_float(std, "std", nonnegative=True)
    u = np.triu(std * as_rng(rng).standard_normal((n, n)), k=1)
    return u - u.T


# --------------------------------------------------------------------------- the init-spec grammar

#: The initialisers a spec can name (``xavier`` is kept as a short name for ``xavier_normal``).
INIT_NAMES = ("orthogonal", "identity", "normal", "uniform", "xavier", "xavier_normal", "xavier_uniform",
              "antisymmetric")

_ALIASES = {"xavier": "xavier_normal"}

#: The keys each initialiser's spec accepts. ``gain`` is everywhere the approximate spectral radius
#: of the (n, n) result, whatever n; ``std`` and ``scale`` are the entries' own parameters.
INIT_KEYS = {
    "orthogonal": ("gain",),
    "identity": ("gain",),
    "normal": ("std", "gain"),
    "uniform": ("scale", "gain"),
    "xavier_normal": ("gain",),
    "xavier_uniform": ("gain",),
    "antisymmetric": ("std", "gain"),
}

#: The grammar every init spec follows, as error messages state it.
INIT_SPEC_GRAMMAR = (
    "NAME[:KEY=VALUE] with NAME one of orthogonal, identity, normal, uniform, xavier_normal (or xavier), "
    "xavier_uniform, antisymmetric and KEY gain (the spectral radius, any NAME), std (normal, antisymmetric) "
    "or scale (uniform), e.g. 'orthogonal', 'normal:std=0.1', 'normal:gain=1.0'; a bare NAME means gain=1"
)

_MEANING = {
    "gain": "the gain (spectral radius)",
    "std": "the standard deviation of the entries",
    "scale": "the half-width of U(-scale, scale)",
}

#: What a bare number (``normal:0.5``) meant before the grammar named it: ``"param"`` is the reading of
#: :func:`from_spec` (the initialiser's own parameter), ``"gain"`` that of ``norm_growth``.
_LEGACY_KEY = {
    "param": {"orthogonal": "gain", "identity": "gain", "normal": "std", "uniform": "scale",
              "xavier_normal": "gain", "xavier_uniform": "gain", "antisymmetric": "std"},
    "gain": dict.fromkeys(INIT_KEYS, "gain"),
}

# A bare NAME read as :func:`from_spec` used to read it, where that differs from gain=1.
_LEGACY_DEFAULT = {"param": {"uniform": ("scale", 1.0), "antisymmetric": ("std", 1.0)}, "gain": {}}


def _spec_error(spec, what: str, argname: str) -> ValidationError:
    return ValidationError(f"{argname}: {what} in {spec!r}; expected {INIT_SPEC_GRAMMAR}")


@dataclass(frozen=True)
class InitSpec:
    """A parsed init spec: an initialiser, the key of its one parameter, and its value.

    ``str(spec)`` is the canonical text (``"orthogonal"``, ``"normal:std=0.1"``)
    and :func:`parse_init_spec` reads it back to an equal spec.

    Attributes
    ----------
    name : str
        One of the keys of :data:`INIT_KEYS` (``"xavier"`` is stored as ``"xavier_normal"``).
    key : str
        ``"gain"``, ``"std"`` or ``"scale"``, one of ``INIT_KEYS[name]``.
    value : float
        Finite and ``>= 0``.

    Examples
    --------
    >>> from rnndyn.matrices import InitSpec, parse_init_spec
    >>> s = parse_init_spec("normal:std=0.1")
    >>> s
    InitSpec(name='normal', key='std', value=0.1)
    >>> str(s), str(parse_init_spec("xavier")), str(InitSpec("orthogonal", "gain", 0.9))
    ('normal:std=0.1', 'xavier_normal', 'orthogonal:gain=0.9')
    """

    name: str
    key: str = "gain"
    value: float = 1.0

    def __post_init__(self):
        name = _ALIASES.get(self.name, self.name)
        if name not in INIT_KEYS:
            raise UnknownNameError(f"init: unknown initialisation {self.name!r}; expected {INIT_SPEC_GRAMMAR}")
        if self.key not in INIT_KEYS[name]:
            raise ValidationError(f"init: {name} takes {' or '.join(INIT_KEYS[name])}, got key {self.key!r}; "
                                  f"expected {INIT_SPEC_GRAMMAR}")
        ok = isinstance(self.value, (numbers.Real, np.floating, np.integer)) and not isinstance(self.value, bool)
        value = float(self.value) if ok else math.nan
        if not math.isfinite(value) or value < 0:
            raise ValidationError(f"init: expected a finite {self.key} >= 0, got {self.value!r}; "
                                  f"expected {INIT_SPEC_GRAMMAR}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "value", value)

    def __str__(self) -> str:
        # A bare "uniform" or "antisymmetric" still reads with its old meaning in from_spec (deprecated),
        # so their gain 1 is written out: the text must mean this spec wherever it is read.
        if self.key == "gain" and self.value == 1.0 and self.name not in _LEGACY_DEFAULT["param"]:
            return self.name
        return f"{self.name}:{self.key}={self.value!r}"

    def matrix(self, n, rng=None) -> np.ndarray:
        """Draw the (n, n) matrix this spec describes.

        ``gain`` G is converted to the initialiser's own parameter so that the
        spectral radius is about G for every n (the circular law: iid entries
        of variance σ² spread the eigenvalues over a disc of radius σ√n; an
        antisymmetric matrix with off-diagonal variance σ² has them within
        ±2σ√n on the imaginary axis):

        ==================  ===========================================================
        ``orthogonal``      G·Q, Q Haar-orthogonal: every |λ| = G exactly
        ``identity``        G·I
        ``normal``          entries N(0, G²/n), i.e. std = G/√n
        ``uniform``         entries U(−a, a), a = G·√(3/n) (the same variance G²/n)
        ``xavier_normal``   Xavier normal n → n with gain G: variance G²/n
        ``xavier_uniform``  Xavier uniform n → n with gain G
        ``antisymmetric``   U − Uᵀ, U strictly upper with std G/(2√n): λ on iR, |λ| ≲ G
        ==================  ===========================================================

        Parameters
        ----------
        n : int
            Size.
        rng : None, int or numpy.random.Generator

        Returns
        -------
        ndarray, shape (n, n)
        """
        n = as_int(n, "n", minimum=1)
        name, key, v = self.name, self.key, self.value
        if name == "orthogonal":
            return orthogonal(n, v, rng)
        if name == "identity":
            return identity(n, v)
        if name == "normal":
            return normal(n, v if key == "std" else v / math.sqrt(n), rng)
        if name == "uniform":
            return uniform(n, v if key == "scale" else v * math.sqrt(3.0 / n), rng)
        if name == "xavier_normal":
            return xavier_normal(n, n, v, rng)
        if name == "xavier_uniform":
            return xavier_uniform(n, n, v, rng)
        return antisymmetric(n, v if key == "std" else v / (2.0 * math.sqrt(n)), rng)


def parse_init_spec(spec, *, bare_number: str = "param", argname: str = "init") -> InitSpec:
    """Read an init spec: ``NAME[:KEY=VALUE]`` (:data:`INIT_SPEC_GRAMMAR`).

    Parameters
    ----------
    spec : str or InitSpec
        ``"orthogonal"``, ``"orthogonal:gain=0.9"``, ``"identity:gain=1.1"``,
        ``"normal:std=0.1"``, ``"normal:gain=1.0"``, ``"uniform:scale=0.1"``,
        ``"xavier_normal"``, ``"xavier_uniform:gain=2"``,
        ``"antisymmetric:std=0.5"`` ... A bare NAME means ``gain=1`` (spectral
        radius about 1).
    bare_number : {"param", "gain"}
        How the deprecated form ``NAME:NUMBER`` is read, with a
        :class:`DeprecationWarning` that says so: ``"param"`` (what
        :func:`from_spec` did) as the initialiser's own parameter (std of
        normal and antisymmetric, scale of uniform, gain of the others);
        ``"gain"`` (what ``norm_growth`` did) as the gain. With ``"param"``
        a bare ``uniform`` or ``antisymmetric`` also keeps its old meaning
        (scale=1, std=1) with a warning.
    argname : str
        The name error messages give the spec.

    Returns
    -------
    InitSpec

    Raises
    ------
    UnknownNameError
        For an unknown NAME.
    ValidationError
        For anything else that does not follow the grammar; the message states it.

    Examples
    --------
    >>> from rnndyn.matrices import parse_init_spec
    >>> parse_init_spec("normal:gain=1.5")
    InitSpec(name='normal', key='gain', value=1.5)
    >>> parse_init_spec("orthogonal")
    InitSpec(name='orthogonal', key='gain', value=1.0)
    """
    if isinstance(spec, InitSpec):
        return spec
    if bare_number not in _LEGACY_KEY:
        raise ValidationError(f"bare_number: expected 'param' or 'gain', got {bare_number!r}")
    if not isinstance(spec, str) or not spec.strip():
        raise ValidationError(f"{argname}: expected a spec {INIT_SPEC_GRAMMAR}; got {spec!r}")
    text = spec.strip()
    head, colon, param = text.partition(":")
    name = head.strip().lower()
    if name not in INIT_NAMES:
        raise UnknownNameError(f"{argname}: unknown initialisation {head.strip()!r} in {spec!r}; "
                               f"expected {INIT_SPEC_GRAMMAR}")
    name = _ALIASES.get(name, name)
    if not colon:
        legacy = _LEGACY_DEFAULT[bare_number].get(name)
        if legacy is None:
            return InitSpec(name)
        key, value = legacy
        _warn_legacy(spec, f"the bare name {name!r}", key, value, f"{name}:{key}={value!r}", argname)
        return InitSpec(name, key, value)
    key, eq, number = param.partition("=")
    key = key.strip().lower()
    if not eq:
        number, key = key, None
    if not number.strip():
        raise _spec_error(spec, f"expected a number after {'=' if eq else ':'}", argname)
    try:
        value = float(number)
    except ValueError:
        raise _spec_error(spec, f"expected a number after {'=' if eq else ':'}, got {number.strip()!r}",
                          argname) from None
    if key is None:
        key = _LEGACY_KEY[bare_number][name]
    elif key not in INIT_KEYS[name]:
        raise _spec_error(spec, f"{name} takes {' or '.join(INIT_KEYS[name])}, not {key!r}", argname)
    if not math.isfinite(value) or value < 0:
        raise _spec_error(spec, f"expected a finite {key} >= 0, got {number.strip()}", argname)
    out = InitSpec(name, key, value)
    if not eq:
        _warn_legacy(spec, f"the bare number {number.strip()}", key, value, str(out), argname)
    return out


def _warn_legacy(spec, what, key, value, canonical, argname) -> None:
    warnings.warn(
        f"{argname}: {spec!r}: {what} is deprecated; here it means {key}={value:g}, {_MEANING[key]}: "
        f"write {canonical!r}",
        DeprecationWarning,
        stacklevel=4,
    )


def from_spec(spec, n, rng=None, *, bare_number: str = "param") -> np.ndarray:
    """An (n, n) matrix from an init spec ``NAME[:KEY=VALUE]``, as the command line writes it.

    One grammar (:data:`INIT_SPEC_GRAMMAR`) for every function and command:
    ``orthogonal[:gain=G]``, ``identity[:gain=G]``, ``normal:std=S`` or
    ``normal:gain=G``, ``uniform:scale=A`` or ``uniform:gain=G``,
    ``xavier_normal[:gain=G]`` (``xavier``), ``xavier_uniform[:gain=G]``,
    ``antisymmetric:std=S`` or ``antisymmetric:gain=G``. The gain is about
    the spectral radius of the result for every n; a bare NAME means gain 1.
    See :meth:`InitSpec.matrix` for how each is drawn.

    Parameters
    ----------
    spec : str or InitSpec
    n : int
        Size.
    rng : None, int or numpy.random.Generator
    bare_number : {"param", "gain"}
        How the deprecated ``NAME:NUMBER`` is read (see :func:`parse_init_spec`);
        by default as this function always read it: the std of normal and
        antisymmetric, the scale of uniform, the gain of the others.

    Returns
    -------
    ndarray, shape (n, n)

    Examples
    --------
    >>> import numpy as np, rnndyn as rd
    >>> W = rd.init.from_spec("orthogonal:gain=0.9", 8, rng=0)
    >>> bool(np.allclose(np.abs(np.linalg.eigvals(W)), 0.9))
    True
    >>> bool(np.array_equal(rd.init.from_spec("normal:std=0.25", 16, rng=1),
    ...                     rd.init.from_spec("normal:gain=1.0", 16, rng=1)))
    True
    """
    return parse_init_spec(spec, bare_number=bare_number).matrix(n, rng)
