"""Random networks and the transition to chaos.

A random tanh network h_t = tanh(W h_{t-1}) with W_ij ~ N(0, g²/N) has a
stable fixed point at 0 for g < 1 (the circular law puts W's eigenvalues in
the disc of radius g) and is chaotic for g > 1: its largest Lyapunov exponent
crosses 0 at g = 1. :func:`transition_to_chaos` measures the exponents of such
networks over sizes and gains with :func:`rnndyn.lyapunov_spectrum`;
:func:`mean_field_lyapunov` gives the largest exponent of the infinite network
(Molgedey, Schuchhardt & Schuster 1992; Poole et al. 2016's χ₁), and
:func:`critical_gain` the gain at which the zero state stops attracting, for
the vanilla, Euler and antisymmetric cells.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from rnndyn._validate import _describe, as_float, as_int, as_real_array, choice
from rnndyn.analysis.lyapunov import kaplan_yorke, lyapunov_spectrum
from rnndyn.errors import ArgumentTypeError, ValidationError
from rnndyn.matrices import normal
from rnndyn.systems.build import CELL_KINDS, build_cell

__all__ = [
    "ChaosSweep",
    "critical_gain",
    "mean_field_lyapunov",
    "mean_field_variance",
    "network",
    "transition_to_chaos",
    "zero_state_lyapunov",
]

#: Network sizes N of the sweep (Engelken, Wolf & Abbott's collapse needs a few octaves).
SIZES = (64, 128, 256, 512)

#: Gains g of the sweep: 0.5 to 3 in steps of 0.25, across the transition at g = 1.
GAINS = tuple(float(g) for g in np.round(np.linspace(0.5, 3.0, 11), 12))

#: Activations :func:`mean_field_lyapunov` knows.
MEAN_FIELD_ACTIVATIONS = ("tanh", "linear")

# Gaussian averages E[f(√q z)] are taken by the trapezoidal rule in z on [−Z_MAX, Z_MAX] with step
# _Z_STEP / max(1, g). Gauss–Hermite converges slowly here: tanh(√q z) has poles at z = ±iπ/(2√q), which
# approach the real axis as q grows (81 nodes err by 0.9 % on E[sech⁴(√q z)] at q = 6.3, the fixed point of
# g = 3), while the trapezoidal rule's error falls like exp(−2π d / h) with d the distance of the poles
# (d ≥ π/(2g), since q* ≤ g²): with h = 0.25/g that is e^{-39}, and the Gaussian tail beyond 10 is e^{-50}.
_Z_MAX = 10.0
_Z_STEP = 0.25


def _gauss_rule(g: float):
    """Nodes and weights of E[f(z)], z ~ N(0, 1), exact to rounding for f(z) = F(√q z) with q ≤ g², F = tanh-like."""
    h = _Z_STEP / max(1.0, g)
    m = int(math.ceil(_Z_MAX / h))
    z = np.arange(-m, m + 1) * h
    w = h * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return z, w


def _sech2(x):
    e = np.exp(-2.0 * np.abs(x))  # no overflow where cosh would
    return 4.0 * e / (1.0 + e) ** 2


def _gains(gains, name="gains") -> tuple[np.ndarray, bool]:
    scalar = np.ndim(gains) == 0
    g = as_real_array(np.atleast_1d(gains) if scalar else gains, name, ndim=1)
    if g.size == 0:
        raise ValidationError(f"{name}: expected at least one gain, got an empty array")
    if not np.all(g > 0):
        raise ValidationError(f"{name}: expected gains > 0, got {g[~(g > 0)][0]}")
    return g, scalar


def _variance(g: float, activation: str) -> float:
    if activation == "linear" or g <= 1.0:
        return 0.0 if g <= 1.0 else math.inf
    from scipy.optimize import brentq

    z, w = _gauss_rule(g)

    def excess(q):
        # g² E[tanh(√q z)²]/q − 1, written with tanh(x)/x so that q → 0 stays accurate
        x = math.sqrt(q) * z
        ratio = np.ones_like(x)
        nz = x != 0
        ratio[nz] = np.tanh(x[nz]) / x[nz]
        return g * g * np.sum(w * (z * ratio) ** 2) - 1.0

    # excess(0) = g² − 1 > 0 and excess(g²) = E[tanh(g z)²] − 1 < 0 bracket the one root
    return float(brentq(excess, 0.0, g * g, xtol=1e-300, rtol=4.0 * np.finfo(float).eps, maxiter=500))


def mean_field_variance(gains, activation="tanh"):
    """q*, the variance of the pre-activations W h of the infinite random network, per gain.

    The fixed point of q = g² E[φ(√q z)²] (z standard normal) that the network's
    variance settles to: 0 for g ≤ 1 (the zero state attracts), positive for
    g > 1 with tanh; ∞ for a linear network with g > 1. See
    :func:`mean_field_lyapunov`.

    Parameters
    ----------
    gains : float or array_like, (G,)
        g > 0, W_ij ~ N(0, g²/N).
    activation : {"tanh", "linear"}

    Returns
    -------
    float or ndarray, (G,)

    Examples
    --------
    >>> from rnndyn.analysis.chaos import mean_field_variance
    >>> mean_field_variance([0.5, 1.0, 2.0]).round(6)
    array([0.      , 0.      , 2.121474])
    """
    activation = choice(activation, "activation", MEAN_FIELD_ACTIVATIONS)
    g, scalar = _gains(gains)
    q = np.array([_variance(float(x), activation) for x in g])
    return float(q[0]) if scalar else q


def mean_field_lyapunov(gains, activation="tanh"):
    """The mean-field largest Lyapunov exponent of the random network h_t = φ(W h_{t-1}), W_ij ~ N(0, g²/N).

    Parameters
    ----------
    gains : float or array_like, (G,)
        Gains g > 0.
    activation : {"tanh", "linear"}

    Returns
    -------
    float or ndarray, (G,)
        λ per step (natural log).

    Notes
    -----
    In the limit N → ∞ the pre-activations a = W h are Gaussian with variance
    q, and one step maps q to g² E[φ(√q z)²], z standard normal; the network
    settles at the fixed point q* of this map (:func:`mean_field_variance`). A
    small perturbation δh is carried to φ'(a) ∘ (W δh), whose squared norm is,
    on average, g² E[φ'(√q* z)²] times the old one, so that

        λ = ½ log( g² E[φ'(√q* z)²] ).

    For g ≤ 1 with tanh, q* = 0 and λ = log g exactly (φ'(0) = 1); for g > 1,
    q* > 0 and λ > 0 (chaos), with λ = 0 at g = 1. A linear network has
    λ = log g for every g. The Gaussian averages are taken by the trapezoidal
    rule in z (exact to rounding here, where Gauss–Hermite converges slowly
    because tanh's poles near the real axis), and q* by Brent's method on
    g² E[φ(√q z)²]/q = 1.

    This is the discrete-time mean-field theory of Molgedey, Schuchhardt &
    Schuster, "Suppressing chaos in neural networks by noise", PRL 69, 3717
    (1992); g² E[φ'(√q* z)²] is the χ₁ of Poole, Lahiri, Raghu,
    Sohl-Dickstein & Ganguli, "Exponential expressivity in deep neural
    networks through transient chaos", NeurIPS 2016, whose χ₁ = 1 is the
    order-to-chaos boundary. Finite networks fall short of it by about 1/N:
    at g = 2 the mean field gives 0.15472, and simulated networks
    (:func:`transition_to_chaos`, 4 networks of 20 000 steps each) give
    0.1481 ± 0.0009 at N = 256 and 0.1510 ± 0.0007 at N = 512.

    Examples
    --------
    >>> import numpy as np
    >>> from rnndyn.analysis.chaos import mean_field_lyapunov
    >>> mean_field_lyapunov([0.5, 1.0, 2.0, 3.0]).round(5)
    array([-0.69315,  0.     ,  0.15472,  0.31025])
    >>> bool(mean_field_lyapunov(0.8) == np.log(0.8))
    True
    """
    activation = choice(activation, "activation", MEAN_FIELD_ACTIVATIONS)
    g, scalar = _gains(gains)
    out = np.log(g)
    if activation == "tanh":
        for i, x in enumerate(g):
            q = _variance(float(x), activation)
            if q > 0.0:
                z, w = _gauss_rule(float(x))
                out[i] = 0.5 * math.log(x * x * np.sum(w * _sech2(math.sqrt(q) * z) ** 2))
    return float(out[0]) if scalar else out


def _cell_scalars(cell, eps, gamma):
    cell = choice(cell, "cell", CELL_KINDS)
    eps = as_float(eps, "eps", positive=True)
    gamma = as_float(gamma, "gamma", nonnegative=True)
    return cell, eps, gamma


def zero_state_lyapunov(gains, cell="vanilla", eps=0.1, gamma=0.0):
    """The largest exponent of the zero state of a large random tanh cell, by random-matrix theory.

    Near h = 0 the cell is linear (tanh'(0) = 1) and its Jacobian is
    alpha·I + beta·M. For W_ij ~ N(0, g²/N) and large N the eigenvalues of W
    fill the disc of radius g (the circular law), and those of W − Wᵀ the
    segment [−2√2 g, 2√2 g]·i (the semicircle law, entries of variance 2g²/N),
    so the largest exponent of the zero state is

    * vanilla: log g;
    * Euler (h + ε tanh((W − γI)h)): log(|1 − εγ| + εg);
    * antisymmetric (h + ε tanh((W − Wᵀ − γI)h)): ½ log((1 − εγ)² + 8ε²g²).

    It is the largest exponent of the network while the zero state attracts
    (while it is ≤ 0, g ≤ :func:`critical_gain`); beyond, trajectories leave 0.

    Parameters
    ----------
    gains : float or array_like, (G,)
    cell : {"vanilla", "euler", "antisymmetric"}
    eps, gamma : float
        Step size ε > 0 and diffusion γ ≥ 0 (ignored by the vanilla cell).

    Returns
    -------
    float or ndarray, (G,)

    Examples
    --------
    >>> from rnndyn.analysis.chaos import zero_state_lyapunov
    >>> round(zero_state_lyapunov(0.5, "antisymmetric", eps=0.1, gamma=0.15), 5)
    -0.00491
    """
    cell, eps, gamma = _cell_scalars(cell, eps, gamma)
    g, scalar = _gains(gains)
    if cell == "vanilla":
        out = np.log(g)
    elif cell == "euler":
        out = np.log(abs(1.0 - eps * gamma) + eps * g)
    else:
        out = 0.5 * np.log((1.0 - eps * gamma) ** 2 + 8.0 * (eps * g) ** 2)
    return float(out[0]) if scalar else out


def critical_gain(cell="vanilla", eps=0.1, gamma=0.0) -> float:
    """The gain g_c above which the zero state of a large random tanh cell stops attracting.

    Where :func:`zero_state_lyapunov` crosses 0: 1 for the vanilla cell; γ for
    the Euler cell (min(γ, (2 − εγ)/ε) when εγ > 1); √(γ(2 − εγ)/(8ε)) for the antisymmetric
    cell (0 when γ = 0: without diffusion the zero state is never strictly
    stable, the criticality that Chang et al., ICLR 2019, Sec. 3, design for).
    NaN when no gain makes the zero state attract (εγ ≥ 2).

    Examples
    --------
    >>> from rnndyn.analysis.chaos import critical_gain
    >>> critical_gain("vanilla"), round(critical_gain("antisymmetric", eps=0.1, gamma=0.15), 4)
    (1.0, 0.6101)
    """
    cell, eps, gamma = _cell_scalars(cell, eps, gamma)
    if cell == "vanilla":
        return 1.0
    if eps * gamma >= 2.0:
        return float("nan")
    if cell == "euler":
        return min(gamma, (2.0 - eps * gamma) / eps)
    return math.sqrt(gamma * (2.0 - eps * gamma) / (8.0 * eps))


@dataclass(frozen=True)
class ChaosSweep:
    """Result of :func:`transition_to_chaos`.

    Attributes
    ----------
    sizes : ndarray of int, (S,)
        Network sizes N.
    gains : ndarray, (G,)
        Gains g (W_ij ~ N(0, g²/N)).
    seeds : ndarray of int, (R,)
        Seeds of the networks drawn at each size.
    spectra : tuple of S ndarrays, (G, R, k_s)
        The k_s largest exponents (descending, per step) of each network.
    k : tuple of int, (S,)
        Exponents computed at each size.
    max_exponent : ndarray, (S, G, R)
        λ_1 of each network.
    max_exponent_error : ndarray, (S, G, R)
        Its batch-means uncertainty (:class:`~rnndyn.LyapunovSpectrum` ``error``).
    kaplan_yorke : ndarray, (S, G, R)
        Kaplan–Yorke dimension D_KY of each network; only a lower bound where
        ``kaplan_yorke_bounded`` (every partial sum of the k_s < N exponents ≥ 0).
    kaplan_yorke_bounded : ndarray of bool, (S, G, R)
    mean_field : ndarray or None, (G,)
        :func:`mean_field_lyapunov` (vanilla cells; None for the others).
    zero_state : ndarray, (G,)
        :func:`zero_state_lyapunov`: λ_1 while the zero state attracts.
    critical_gain : float
        :func:`critical_gain`.
    cell : str
    eps, gamma : float or None
        The cell's ε and γ (None for a vanilla cell).
    steps, transient, reortho_every : int
        As passed to :func:`~rnndyn.lyapunov_spectrum`.
    seconds : float
        Wall-clock time of the sweep.
    """

    sizes: np.ndarray
    gains: np.ndarray
    seeds: np.ndarray
    spectra: tuple
    k: tuple
    max_exponent: np.ndarray
    max_exponent_error: np.ndarray
    kaplan_yorke: np.ndarray
    kaplan_yorke_bounded: np.ndarray
    mean_field: np.ndarray | None
    zero_state: np.ndarray
    critical_gain: float
    cell: str
    eps: float | None
    gamma: float | None
    steps: int
    transient: int
    reortho_every: int
    seconds: float

    @property
    def dimension_density(self) -> np.ndarray:
        """D_KY / N, (S, G, R): the fraction of phase space the attractor fills."""
        return self.kaplan_yorke / self.sizes[:, None, None]

    def mean_spectrum(self, size) -> np.ndarray:
        """The spectra of size ``size`` averaged over the seeds, (G, k_s); plot them against (i + 1)/N."""
        sizes = self.sizes.tolist()
        if size not in sizes:
            raise ValidationError(f"size: expected one of {sizes}, got {_describe(size)}")
        return self.spectra[sizes.index(size)].mean(axis=1)

    @property
    def label(self) -> str:
        """The cell in words: "vanilla tanh", "antisymmetric, ε = 0.1, γ = 0.15"."""
        if self.eps is None:
            return f"{self.cell} tanh"
        return f"{self.cell}, ε = {self.eps:g}, γ = {self.gamma:g}"

    def summary(self) -> str:
        """A table: λ_max (mean over seeds) per gain and size, with the mean field and D_KY/N of the largest size."""
        lam = self.max_exponent.mean(axis=2)
        dens = self.dimension_density.mean(axis=2)
        head = f"{'g':>6}" + "".join(f"{'λ_max N=' + str(n):>14}" for n in self.sizes)
        head += f"{'mean field':>12}" if self.mean_field is not None else f"{'zero state':>12}"
        head += f"{'D_KY/N N=' + str(self.sizes[-1]):>14}"
        lines = [f"{self.label}: λ_max against the gain g (W_ij ~ N(0, g²/N)), {len(self.seeds)} network"
                 f"{'s' if len(self.seeds) != 1 else ''} per size, {self.steps} steps (transient {self.transient}); "
                 f"critical gain {self.critical_gain:.4g}", head]
        bound = self.kaplan_yorke_bounded[-1].any(axis=-1)
        for j, g in enumerate(self.gains):
            row = f"{g:>6.3g}" + "".join(f"{lam[s, j]:>14.5f}" for s in range(len(self.sizes)))
            if self.mean_field is not None:
                row += f"{self.mean_field[j]:>12.5f}"
            else:  # the zero state's exponent is the network's only while that state attracts
                row += f"{self.zero_state[j]:>12.5f}" if self.zero_state[j] <= 0 else f"{'-':>12}"
            row += f"{('≥ ' if bound[j] else '') + format(dens[-1, j], '.4f'):>14}"
            lines.append(row)
        if bound.any():
            lines.append(f"≥: a lower bound, every partial sum of the {self.k[-1]} exponents computed is ≥ 0 "
                         "(compute more: a larger fraction or k)")
        return "\n".join(lines)


def _seeds(seeds) -> np.ndarray:
    if np.ndim(seeds) == 0:
        r = as_int(seeds, "seeds", minimum=1, maximum=10_000)
        return np.arange(r)
    try:
        out = [as_int(s, "seeds", minimum=0) for s in seeds]
    except TypeError:
        raise ArgumentTypeError(f"seeds: expected a count or a list of seeds, got {_describe(seeds)}") from None
    if not out or len(set(out)) != len(out):
        raise ValidationError(f"seeds: expected distinct seeds, at least one, got {list(seeds)}")
    return np.array(out, dtype=np.int64)


def _sizes(sizes) -> np.ndarray:
    items = [sizes] if np.ndim(sizes) == 0 else list(sizes)
    if not items:
        raise ValidationError("sizes: expected at least one network size, got none")
    out = [as_int(n, "sizes", minimum=2, maximum=4096) for n in items]
    if len(set(out)) != len(out):
        raise ValidationError(f"sizes: expected distinct sizes, got {out}")
    return np.array(out, dtype=np.int64)


def _counts(sizes, k, fraction) -> tuple:
    if k is not None and fraction is not None:
        raise ValidationError("k, fraction: give at most one of them")
    if fraction is not None:
        f = as_float(fraction, "fraction", positive=True)
        if f > 1:
            raise ValidationError(f"fraction: expected a number in (0, 1], got {f}")
        return tuple(max(1, math.ceil(f * n - 1e-9)) for n in sizes)
    if k is not None:
        k = as_int(k, "k", minimum=1)
        return tuple(min(k, int(n)) for n in sizes)
    return tuple(int(n) for n in sizes)


def network(size, gain, seed, cell="vanilla", eps=0.1, gamma=0.0):
    """The random cell of :func:`transition_to_chaos` and its initial state.

    W = g·Z/√N with Z standard normal drawn from seed ``(seed, N)``, the same Z
    for every gain (so a curve against g follows one network); h0 ~ N(0, 0.5²)
    from seed ``(seed, N, 1)``.

    Parameters
    ----------
    size : int
        N.
    gain : float
        g > 0.
    seed : int
        ≥ 0.
    cell : {"vanilla", "euler", "antisymmetric"}
    eps, gamma : float
        ε and γ of the Euler and antisymmetric cells.

    Returns
    -------
    (cell, h0)
        The cell over W, and h0 of shape (N,).

    Examples
    --------
    >>> from rnndyn.analysis.chaos import network
    >>> cell, h0 = network(8, 2.0, 0)
    >>> type(cell).__name__, h0.shape
    ('VanillaRNN', (8,))
    """
    n = as_int(size, "size", minimum=1)
    g = as_float(gain, "gain", positive=True)
    seed = as_int(seed, "seed", minimum=0)
    W = normal(n, std=g / math.sqrt(n), rng=np.random.SeedSequence([seed, n]))
    h0 = 0.5 * np.random.default_rng(np.random.SeedSequence([seed, n, 1])).standard_normal(n)
    return build_cell(cell, W, eps=eps, gamma=gamma), h0


def transition_to_chaos(sizes=SIZES, gains=GAINS, cell="vanilla", *, eps=0.1, gamma=0.0, steps=500, transient=200,
                        seeds=1, k=None, fraction=None, reortho_every=5, backend="auto",
                        progress=None) -> ChaosSweep:
    """Lyapunov spectra of random tanh networks across sizes and gains: the transition to chaos.

    For each size N, gain g and seed, a network h_t = tanh(W h_{t-1}) with
    W_ij ~ N(0, g²/N) (:func:`network`; or an Euler or antisymmetric cell over
    the same W) is run from a random state and its spectrum measured with
    :func:`rnndyn.lyapunov_spectrum`.

    Parameters
    ----------
    sizes : int or sequence of int, (S,)
        Network sizes N (2 … 4096).
    gains : float or array_like, (G,)
        Gains g > 0.
    cell : {"vanilla", "euler", "antisymmetric"}
    eps, gamma : float
        ε > 0 and γ ≥ 0 of the Euler and antisymmetric cells (ignored by the vanilla cell).
    steps : int
        Steps accumulated per network (≥ 1).
    transient : int
        Steps discarded first (≥ 0).
    seeds : int or sequence of int
        A count R (seeds 0 … R − 1) or the seeds themselves; one network per seed and size.
    k : int, optional
        Exponents per network (capped at N); default all N.
    fraction : float, optional
        Instead of ``k``: the ⌈fraction·N⌉ largest exponents, the same share of
        every size (0 < fraction ≤ 1). D_KY/N needs fraction above it (about
        0.27 for vanilla networks up to g = 3; see ``kaplan_yorke_bounded``).
    reortho_every : int
        QR interval of :func:`~rnndyn.lyapunov_spectrum`. 5 (the default) gives
        λ_1 and D_KY equal to QR-every-step to rounding for g ≤ 3; only the
        most negative exponents of a full spectrum (below about −7) move.
    backend : str
    progress : callable, optional
        ``progress(done, total)``, in units proportional to the work (N²·k per
        step of each network), after each chunk of each network.

    Returns
    -------
    ChaosSweep

    Notes
    -----
    The QR method costs O(N²k) per step, so the N = 512 networks dominate;
    a share of the spectrum (``fraction=0.5``) halves their cost and keeps
    every positive exponent and D_KY.

    For g < 1 the zero state attracts and λ_1 = log ρ(W) ≈ log g (circular
    law; :func:`zero_state_lyapunov`). Above g = 1, λ_1 > 0 approaches the
    mean-field exponent (:func:`mean_field_lyapunov`; Molgedey, Schuchhardt &
    Schuster, PRL 69, 3717, 1992; Poole et al., NeurIPS 2016) from below as N
    grows, and the spectra plotted against i/N fall on one curve, the
    extensive chaos that Engelken, Wolf & Abbott report for rate networks
    ("Lyapunov spectra of chaotic recurrent neural networks", arXiv:2006.02427;
    Phys. Rev. Research 5, 043044, 2023); so does D_KY/N. The antisymmetric
    cell (Chang et al., ICLR 2019) keeps its exponents near 0 up to its
    :func:`critical_gain` (0.61 for ε = 0.1, γ = 0.15).

    Examples
    --------
    >>> from rnndyn.analysis.chaos import transition_to_chaos
    >>> sw = transition_to_chaos(sizes=[32], gains=[0.5, 2.0], steps=300, transient=100)
    >>> sw.max_exponent.shape, sw.spectra[0].shape
    ((1, 2, 1), (2, 1, 32))
    >>> bool(sw.max_exponent[0, 0, 0] < 0 < sw.max_exponent[0, 1, 0])
    True
    """
    t_start = time.perf_counter()
    sizes = _sizes(sizes)
    g, _ = _gains(gains)
    cell, eps, gamma = _cell_scalars(cell, eps, gamma)
    steps = as_int(steps, "steps", minimum=1)
    transient = as_int(transient, "transient", minimum=0)
    every = as_int(reortho_every, "reortho_every", minimum=1)
    seeds = _seeds(seeds)
    ks = _counts(sizes, k, fraction)
    if progress is not None and not callable(progress):
        raise ArgumentTypeError(f"progress: expected a callable progress(done, total), got {_describe(progress)}")
    S, G, R = len(sizes), g.size, len(seeds)
    total_steps = transient + steps
    weights = [int(n) * int(n) * kk for n, kk in zip(sizes, ks)]
    total = sum(w * total_steps * G * R for w in weights)
    done = 0
    spectra = []
    lam_err = np.empty((S, G, R))
    for s, (n, kk) in enumerate(zip(sizes, ks)):
        spec = np.empty((G, R, kk))
        for j, gain in enumerate(g):
            for r, seed in enumerate(seeds):
                system, h0 = network(int(n), float(gain), int(seed), cell, eps, gamma)
                tick = None
                if progress is not None:
                    def tick(t, _total, _base=done, _w=weights[s]):
                        progress(_base + _w * t, total)
                les = lyapunov_spectrum(system, h0, steps=steps, k=kk, transient=transient, reortho_every=every,
                                        backend=backend, progress=tick)
                spec[j, r] = les.exponents
                lam_err[s, j, r] = les.error[0]
                done += weights[s] * total_steps
        spectra.append(spec)
    lam = np.stack([sp[..., 0] for sp in spectra])
    ky = np.array([[[kaplan_yorke(row) for row in sp[j]] for j in range(G)] for sp in spectra])
    bounded = np.array([(ky[s] >= kk) & (kk < n) for s, (n, kk) in enumerate(zip(sizes, ks))])
    vanilla = cell == "vanilla"
    return ChaosSweep(
        sizes=sizes, gains=g, seeds=seeds, spectra=tuple(spectra), k=ks, max_exponent=lam,
        max_exponent_error=lam_err, kaplan_yorke=ky, kaplan_yorke_bounded=bounded,
        mean_field=mean_field_lyapunov(g) if vanilla else None,
        zero_state=zero_state_lyapunov(g, cell, eps, gamma), critical_gain=critical_gain(cell, eps, gamma),
        cell=cell, eps=None if vanilla else eps, gamma=None if vanilla else gamma, steps=steps,
        transient=transient, reortho_every=every, seconds=time.perf_counter() - t_start,
    )
