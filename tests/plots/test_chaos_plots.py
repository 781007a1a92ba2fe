"""``plot_transition_to_chaos``: what each panel draws, from a small sweep."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rnndyn.analysis.chaos import mean_field_lyapunov, transition_to_chaos  # noqa: E402
from rnndyn.errors import ArgumentTypeError, ValidationError  # noqa: E402
from rnndyn.plots.chaos import plot_transition_to_chaos  # noqa: E402

GAINS = [0.5, 1.0, 2.0, 3.0]


@pytest.fixture(scope="module")
def sweeps():
    van = transition_to_chaos(sizes=[8, 16], gains=GAINS, fraction=0.5, steps=60, transient=20)
    anti = [transition_to_chaos(sizes=[16], gains=GAINS, cell="antisymmetric", gamma=g, k=1, steps=60, transient=20)
            for g in (0.0, 0.15)]
    return van, anti


def _line(ax, label_start):
    found = [ln for ln in ax.get_lines() if ln.get_label().startswith(label_start)]
    assert len(found) == 1, [ln.get_label() for ln in ax.get_lines()]
    return np.asarray(found[0].get_xdata(), float), np.asarray(found[0].get_ydata(), float)


def test_four_panels_hold_the_sweep(sweeps):
    van, anti = sweeps
    fine = np.linspace(0.5, 3.0, 51)
    fig = plot_transition_to_chaos(van, others=anti, mean_field=(fine, mean_field_lyapunov(fine)),
                                   collapse_gains=(2.0, 3.0))
    a_lam, a_spec, a_ky, a_other = fig.axes
    # λ_max per size against g, the mean-field curve, the 0 line
    for s, n in enumerate(van.sizes):
        x, y = _line(a_lam, f"N = {n}")
        np.testing.assert_array_equal(x, GAINS)
        np.testing.assert_allclose(y, van.max_exponent[s, :, 0])
    x, y = _line(a_lam, "mean field")
    np.testing.assert_array_equal(y, mean_field_lyapunov(fine))
    assert any(np.all(np.asarray(ln.get_ydata()) == 0) for ln in a_lam.get_lines())
    # spectra against i/N: one curve per size and gain, x up to k/N
    x, y = _line(a_spec, "N = 16, g = 3")
    np.testing.assert_allclose(x, np.arange(1, 9) / 16)
    np.testing.assert_allclose(y, van.spectra[1][3, 0])
    assert a_spec.get_xlabel() == "$i / N$"
    # D_KY / N against g
    x, y = _line(a_ky, "N = 8")
    np.testing.assert_allclose(y, van.kaplan_yorke[0, :, 0] / 8)
    assert a_ky.get_ylabel() == "$D_{KY} / N$"
    # the other cells, against the vanilla network of their size
    x, y = _line(a_other, "antisymmetric, ε = 0.1, γ = 0.15, N = 16")
    np.testing.assert_allclose(y, anti[1].max_exponent[0, :, 0])
    _line(a_other, "vanilla tanh, N = 16")


def test_three_panels_without_other_cells_and_gains_drawn_once(sweeps):
    van, _ = sweeps
    fig = plot_transition_to_chaos(van, collapse_gains=(1.9, 2.0, 2.1))
    assert len(fig.axes) == 3
    assert len([ln for ln in fig.axes[1].get_lines() if ln.get_label().startswith("N = ")]) == 2
    x, y = _line(fig.axes[0], "mean field")  # the sweep's own, at its gains
    np.testing.assert_array_equal(x, GAINS)


def test_refuses_what_is_not_a_sweep(sweeps):
    van, _ = sweeps
    with pytest.raises(ArgumentTypeError, match="sweep: expected a ChaosSweep"):
        plot_transition_to_chaos(np.zeros(3))
    with pytest.raises(ArgumentTypeError, match=r"others\[0\]"):
        plot_transition_to_chaos(van, others=[1.0])
    with pytest.raises(ValidationError, match="others"):
        plot_transition_to_chaos(van, others=3)
