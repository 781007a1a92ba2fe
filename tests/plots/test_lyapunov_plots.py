"""Lyapunov pictures: one colour per exponent however many, mathtext labels."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402

from rnndyn.plots.lyapunov import plot_lyapunov, plot_lyapunov_convergence, plot_lyapunov_spectra  # noqa: E402


def _spectrum(k, steps=50, seed=0):
    rng = np.random.default_rng(seed)
    exps = np.sort(rng.normal(0, 0.1, k))[::-1]
    t = np.arange(1, steps + 1)
    hist = exps + rng.normal(0, 0.05, (steps, k)) / np.sqrt(t)[:, None]
    return SimpleNamespace(exponents=exps, error=np.full(k, 0.01), k=k, history=hist, history_steps=t)


def _curve_colors(ax):
    return [to_rgba(ln.get_color()) for ln in ax.get_lines() if ln.get_linestyle() == "-"
            and len(ln.get_xdata()) > 2]


@pytest.mark.parametrize("k", [3, 10, 12, 32, 300])
def test_convergence_gives_every_exponent_its_own_colour(k):
    fig = plot_lyapunov_convergence(_spectrum(k), max_curves=k)
    colors = _curve_colors(fig.axes[0])
    assert len(colors) == k
    assert len(set(colors)) == k


def test_many_exponents_get_a_colorbar_few_a_legend():
    fig = plot_lyapunov_convergence(_spectrum(32), max_curves=32)
    assert fig.axes[0].get_legend() is None
    assert len(fig.axes) == 2 and "exponent index" in fig.axes[1].get_ylabel()
    # the colour bar's ends are the colours of the first and the last exponent
    lines = [ln for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) > 2]
    cb = fig.axes[0].collections or fig.axes[1].collections
    assert cb is not None and to_rgba(lines[0].get_color()) != to_rgba(lines[-1].get_color())
    few = plot_lyapunov_convergence(_spectrum(4))
    assert len(few.axes) == 1
    assert [t.get_text() for t in few.axes[0].get_legend().get_texts()] == [
        "$\\lambda_{1}$", "$\\lambda_{2}$", "$\\lambda_{3}$", "$\\lambda_{4}$"]


def test_default_convergence_panel_has_distinct_colours():
    fig = plot_lyapunov(_spectrum(32))  # draws 12 of the 32 running estimates
    colors = _curve_colors(fig.axes[1])
    assert len(colors) == 12 == len(set(colors))


def test_many_spectra_get_distinct_colours():
    fig = plot_lyapunov_spectra([_spectrum(8, seed=s) for s in range(14)])
    colors = [to_rgba(ln.get_color()) for ln in fig.axes[0].get_lines() if len(ln.get_xdata()) == 8]
    assert len(colors) == 14 == len(set(colors))


def test_labels_are_mathtext():
    fig = plot_lyapunov(_spectrum(4))
    assert fig.axes[0].get_ylabel().startswith("$\\lambda_i$")
    assert "R_ii" not in fig.axes[1].get_ylabel() and "$" in fig.axes[1].get_ylabel()
