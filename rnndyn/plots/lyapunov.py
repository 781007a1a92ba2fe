"""Pictures of Lyapunov spectra and of end-to-end Jacobian statistics.

Drawing only: the numbers come from :func:`rnndyn.lyapunov_spectrum` (a
:class:`~rnndyn.LyapunovSpectrum`) and :func:`rnndyn.jacobian_spectrum`; each
function returns a :class:`matplotlib.figure.Figure` built with the
object-oriented API.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.cm import ScalarMappable
from matplotlib.colors import LinearSegmentedColormap, Normalize
from matplotlib.figure import Figure

from rnndyn._validate import _describe
from rnndyn.errors import ValidationError
from rnndyn.plots._results import has_fields, require

__all__ = [
    "plot_jacobian_statistics",
    "plot_lyapunov",
    "plot_lyapunov_convergence",
    "plot_lyapunov_spectra",
    "plot_lyapunov_vs_parameter",
]

#: What the plots read of a :class:`~rnndyn.analysis.lyapunov.LyapunovSpectrum`.
_FIELDS = ("exponents", "error", "k", "history", "history_steps")

_COLORS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive",
           "tab:cyan", "black")
#: Colour map of curves too many for :data:`_COLORS`: sampled once per curve, in order, so that no two share a
#: colour and neighbours in the spectrum get neighbouring colours. Its last, palest tenth is left out, since it
#: hardly shows on white.
_CMAP = "viridis"
_CMAP_TOP = 0.9


def _colors(n: int) -> list:
    """``n`` distinct colours: the qualitative cycle while it lasts, else :data:`_CMAP` sampled ``n`` times."""
    if n <= len(_COLORS):
        return list(_COLORS[:n])
    return [tuple(c) for c in _colormap(n)(np.linspace(0.0, 1.0, n))]


def _colormap(n: int) -> LinearSegmentedColormap:
    """:data:`_CMAP` up to :data:`_CMAP_TOP`, interpolated finely enough for ``n`` distinct colours.

    (matplotlib's own maps hold 256 colours, too few for a spectrum of more exponents.)
    """
    base = colormaps[_CMAP]
    anchors = base(np.arange(round(_CMAP_TOP * base.N)))  # its own entries: resampling would repeat some
    return LinearSegmentedColormap.from_list(f"{_CMAP}_top", anchors, N=max(256, 4 * n))


def _spectra(spectra, labels):
    if has_fields(spectra, _FIELDS):
        spectra = [spectra]
    if isinstance(spectra, (str, bytes)) or not hasattr(spectra, "__len__") or len(spectra) == 0:
        raise ValidationError(f"spectra: expected a LyapunovSpectrum or a non-empty list of them, "
                              f"got {_describe(spectra)}")
    for i, s in enumerate(spectra):
        require(s, _FIELDS, f"spectra[{i}]", "LyapunovSpectrum", "rd.lyapunov_spectrum")
    if labels is None:
        labels = [None] * len(spectra)
    elif isinstance(labels, str) or len(labels) != len(spectra):
        raise ValidationError(f"labels: expected {len(spectra)} labels (one per spectrum), got {_describe(labels)}")
    return list(spectra), list(labels)


def _first(a):
    """The first trajectory of a batched result."""
    return a.reshape(-1, a.shape[-1])[0] if a.ndim > 1 else a


def _draw_spectrum(ax, les, label, color, normalise=True):
    e = _first(les.exponents)
    err = _first(les.error)
    k = e.size
    x = (np.arange(1, k + 1) / k) if normalise else np.arange(1, k + 1)
    line, = ax.plot(x, e, marker="o" if k <= 32 else None, markersize=3.5, color=color, label=label)
    if np.isfinite(err).any():
        ax.fill_between(x, e - err, e + err, color=line.get_color(), alpha=0.2, linewidth=0)
    return line


def _spectrum_axes(ax, normalise, k):
    ax.axhline(0.0, color="0.4", linewidth=0.8, linestyle="--")
    ax.set_xlabel("i / k" if normalise else "i")
    ax.set_ylabel(r"$\lambda_i$  (per step)")
    if not normalise:
        ax.set_xticks(np.arange(1, k + 1) if k <= 12 else ax.get_xticks())
    ax.grid(True, alpha=0.3)


def plot_lyapunov_spectra(spectra, labels=None, title=None, normalise=True, ax=None):
    """λᵢ against i/k for one or several spectra (bands: the ``error`` estimate).

    Parameters
    ----------
    spectra : LyapunovSpectrum or list of them
        A batched result is drawn for its first trajectory.
    labels : list of str, optional
    title : str, optional
    normalise : bool
        x = i/k (spectra of different sizes on one axis) instead of i.
    ax : matplotlib Axes, optional
        Draw into this axes instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure
    """
    spectra, labels = _spectra(spectra, labels)
    if ax is None:
        fig = Figure(figsize=(6.0, 4.2), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    for s, lab, c in zip(spectra, labels, _colors(len(spectra))):
        _draw_spectrum(ax, s, lab, c, normalise)
    _spectrum_axes(ax, normalise, spectra[0].k)
    if any(lab is not None for lab in labels):
        ax.legend(fontsize=8)
    ax.set_title(title or "Lyapunov spectrum")
    return fig


def plot_lyapunov_convergence(les, ax=None, max_curves=12, title=None):
    """Running estimates of the exponents against accumulated steps (needs ``return_history=True``).

    Parameters
    ----------
    les : LyapunovSpectrum
        With a history; batched results show their first trajectory.
    ax : matplotlib Axes, optional
    max_curves : int
        At most this many exponents are drawn (evenly spread over the spectrum).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    require(les, _FIELDS, "les", "LyapunovSpectrum", "rd.lyapunov_spectrum")
    if les.history is None:
        raise ValidationError("les: has no history; compute it with lyapunov_spectrum(..., return_history=True)")
    if ax is None:
        fig = Figure(figsize=(6.0, 4.2), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    hist = les.history.reshape(-1, *les.history.shape[-2:])[0]
    k = hist.shape[1]
    idx = np.unique(np.linspace(0, k - 1, min(k, max_curves)).round().astype(int))
    t = les.history_steps
    many = idx.size > len(_COLORS)
    if many:  # one colour per exponent, read off a colour bar: a legend of dozens of entries is not readable
        sm = ScalarMappable(norm=Normalize(vmin=1, vmax=k), cmap=_colormap(k))
        colors = [sm.to_rgba(i + 1) for i in idx]
    else:
        colors = _colors(idx.size)
    for c, i in zip(colors, idx):
        ax.plot(t, hist[:, i], color=c, linewidth=1.0, label=f"$\\lambda_{{{i + 1}}}$")
    ax.axhline(0.0, color="0.4", linewidth=0.8, linestyle="--")
    if t.size > 1 and t[-1] / max(t[0], 1) > 20:
        ax.set_xscale("log")
    ax.set_xlabel("accumulated steps $t$")
    ax.set_ylabel(r"running estimate  $\sum \log R_{ii}\,/\,t$")
    ax.grid(True, alpha=0.3)
    if many:
        cb = fig.colorbar(sm, ax=ax, pad=0.02)
        cb.set_label(f"exponent index $i$ ({idx.size} of {k} drawn)" if idx.size < k else "exponent index $i$")
    else:
        ax.legend(fontsize=7, ncols=2 if idx.size > 6 else 1)
    ax.set_title(title or "convergence")
    return fig


def plot_lyapunov(les, label=None, title=None):
    """The spectrum of one run and, when it has a history, its convergence beside it."""
    require(les, _FIELDS, "les", "LyapunovSpectrum", "rd.lyapunov_spectrum")
    if les.history is None:
        return plot_lyapunov_spectra(les, labels=None if label is None else [label], title=title,
                                     normalise=les.k > 12)
    fig = Figure(figsize=(11.0, 4.2), layout="constrained")
    a1, a2 = fig.subplots(1, 2)
    plot_lyapunov_spectra(les, labels=None if label is None else [label], normalise=les.k > 12, ax=a1,
                          title="spectrum")
    plot_lyapunov_convergence(les, ax=a2)
    if title:
        fig.suptitle(title)
    return fig


def plot_jacobian_statistics(T, means, stds, labels, title=None, log_panel=True):
    """Mean ± std of |λ| of the end-to-end Jacobian ∂h_T/∂h_0 against T, one curve per model.

    Parameters
    ----------
    T : array_like, (m,)
        Horizons.
    means, stds : array_like, (c, m)
        Mean and standard deviation of the eigenvalue moduli, per curve and horizon.
    labels : list of str, (c,)
    title : str, optional
    log_panel : bool
        Add a second panel with the means on a log axis (the vanishing curves
        fall by tens of orders of magnitude).

    Returns
    -------
    matplotlib.figure.Figure
    """
    T = np.asarray(T, dtype=float)
    means = np.atleast_2d(np.asarray(means, dtype=float))
    stds = np.atleast_2d(np.asarray(stds, dtype=float))
    if means.shape != stds.shape or means.shape[1] != T.size or len(labels) != means.shape[0]:
        raise ValidationError(f"means, stds, labels: expected shapes (c, {T.size}), (c, {T.size}) and c labels, "
                              f"got {means.shape}, {stds.shape} and {len(labels)}")
    fig = Figure(figsize=(11.0 if log_panel else 6.0, 4.4), layout="constrained")
    axes = fig.subplots(1, 2 if log_panel else 1, squeeze=False)[0]
    ax = axes[0]
    colors = _colors(len(labels))
    for i, (lab, c) in enumerate(zip(labels, colors)):
        ax.plot(T, means[i], color=c, marker="o", markersize=3, label=lab)
        ax.fill_between(T, means[i] - stds[i], means[i] + stds[i], color=c, alpha=0.18, linewidth=0)
    ax.axhline(1.0, color="0.4", linewidth=0.8, linestyle="--")
    top = np.nanmax(np.where(np.isfinite(means + stds), means + stds, np.nan))
    ax.set_ylim(-0.05, min(max(1.2, top * 1.05 if np.isfinite(top) else 1.2), 2.0))
    ax.set_xlabel("T (time steps)")
    ax.set_ylabel(r"mean ± std of $|\lambda(\partial h_T/\partial h_0)|$")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title("eigenvalues of the end-to-end Jacobian")
    if log_panel:
        ax2 = axes[1]
        for i, (lab, c) in enumerate(zip(labels, colors)):
            ax2.plot(T, means[i], color=c, marker="o", markersize=3, label=lab)
        ax2.set_yscale("log")
        ax2.axhline(1.0, color="0.4", linewidth=0.8, linestyle="--")
        ax2.set_xlabel("T (time steps)")
        ax2.set_ylabel(r"mean $|\lambda(\partial h_T/\partial h_0)|$  (log scale)")
        ax2.grid(True, which="major", alpha=0.3)
        ax2.set_title("the same means on a log axis")
    if title:
        fig.suptitle(title)
    return fig


def plot_lyapunov_vs_parameter(values, spectra, name="γ", reference=None, reference_label=None,
                               labels=None, title=None, show=None):
    """Spectra across a parameter: λᵢ against i/k for a few values, and λ_max, mean λ, λ_min against it.

    Parameters
    ----------
    values : array_like, (m,)
        Parameter values (γ, say).
    spectra : list of LyapunovSpectrum, (m,)
    name : str
        Parameter name for the axis.
    reference : array_like, (m,), optional
        A predicted line drawn on the right panel (e.g. −εγ).
    reference_label : str, optional
    labels : list of str, optional
        Labels of the spectra drawn on the left (default ``name = value``).
    title : str, optional
    show : list of int, optional
        Indices of the spectra drawn on the left panel (default: at most 5, spread).

    Returns
    -------
    matplotlib.figure.Figure
    """
    values = np.asarray(values, dtype=float)
    spectra, _ = _spectra(spectra, None)
    if len(spectra) != values.size:
        raise ValidationError(f"spectra: expected {values.size} spectra (one per value), got {len(spectra)}")
    if show is None:
        show = np.unique(np.linspace(0, values.size - 1, min(5, values.size)).round().astype(int)).tolist()
    labels = labels or [f"{name} = {values[i]:g}" for i in show]
    fig = Figure(figsize=(11.0, 4.4), layout="constrained")
    a1, a2 = fig.subplots(1, 2)
    for i, lab, c in zip(show, labels, _colors(len(show))):
        _draw_spectrum(a1, spectra[i], lab, c, True)
    _spectrum_axes(a1, True, spectra[0].k)
    a1.legend(fontsize=8)
    a1.set_title("Lyapunov spectra")
    e = np.array([_first(s.exponents) for s in spectra])
    a2.plot(values, e[:, 0], marker="^", color="tab:red", label=r"$\lambda_{\max}$")
    a2.plot(values, e.mean(axis=1), marker="o", color="tab:blue", label=r"mean $\lambda$")
    a2.plot(values, e[:, -1], marker="v", color="tab:green", label=r"$\lambda_{\min}$")
    if reference is not None:
        a2.plot(values, np.asarray(reference, dtype=float), color="0.3", linestyle=":",
                label=reference_label or "reference")
    a2.axhline(0.0, color="0.4", linewidth=0.8, linestyle="--")
    a2.set_xlabel(name)
    a2.set_ylabel("λ  (per step)")
    a2.grid(True, alpha=0.3)
    a2.legend(fontsize=8)
    a2.set_title(f"exponents against {name}")
    if title:
        fig.suptitle(title)
    return fig
