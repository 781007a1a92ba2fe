"""Learning curves and slow-point pictures: content, not only existence."""

import numpy as np
import pytest

import rnndyn as rd
from rnndyn.errors import ValidationError
from rnndyn.plots.train import KIND_COLORS, plot_learning_curves, plot_slow_points


def _hist(scale, acc=np.nan):
    e = np.arange(1, 6)
    return {"history": {"loss": scale / e, "test_loss": scale / e, "grad_ratio": -e * 0.1,
                        "max_lyapunov": np.r_[np.nan, -0.1, np.nan, -0.2, np.nan], "test_accuracy": np.full(5, acc)}}


def test_learning_curves_draw_every_run_and_the_baseline():
    fig = plot_learning_curves([_hist(1.0), _hist(2.0)], labels=["a", "b"], baselines=[0.5, 0.5])
    assert len(fig.axes) == 4
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_title() == "training loss"
    lines = ax.get_lines()
    np.testing.assert_allclose(lines[1].get_ydata(), 2.0 / np.arange(1, 6))
    assert any(np.allclose(ln.get_ydata(), 0.5) and ln.get_linestyle() == "--" for ln in lines)
    # NaN epochs of the Lyapunov panel are left out
    lyap = fig.axes[3].get_lines()[0]
    np.testing.assert_array_equal(lyap.get_xdata(), [2, 4])
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a", "b", "baseline"]


def test_accuracy_panel_when_a_run_has_one():
    fig = plot_learning_curves([_hist(1.0, acc=0.9)])
    assert [a.get_title() for a in fig.axes if a.get_visible()][-1] == "test accuracy"


def test_learning_curves_refuse_what_is_not_a_run():
    with pytest.raises(ValidationError, match="runs"):
        plot_learning_curves([{"x": 1}])
    with pytest.raises(ValidationError, match="labels"):
        plot_learning_curves([_hist(1.0)], labels=["a", "b"])


def test_slow_points_in_principal_components():
    cell = rd.VanillaRNN(2.0 * np.eye(3), V=np.eye(3))
    sp = rd.slow_points(cell, n_starts=300, rng=0)
    X = rd.make_task("flipflop", length=30, n_train=1, n_test=4, seed=0).X_test
    traj = rd.simulate(cell, np.zeros((4, 3)), X).states
    fig = plot_slow_points(sp, traj)
    ax = fig.axes[0]
    assert ax.name == "3d" and ax.get_title() == "slow points: 8 sink, 18 saddle, 1 source"
    assert len(ax.get_lines()) == 4  # one grey line per trajectory
    colls = ax.collections
    assert len(colls) == 3
    sizes = sorted(len(c.get_offsets()) for c in colls)
    assert sizes == [1, 8, 18]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["sink (8)", "saddle (18)", "source (1)"]
    assert np.allclose(colls[0].get_facecolor()[0][:3], __import__("matplotlib.colors").colors.to_rgb(
        KIND_COLORS["sink"]))


def test_slow_points_of_a_two_unit_network_are_drawn_in_2d():
    sp = rd.slow_points(rd.VanillaRNN(2.0 * np.eye(2)), n_starts=100, rng=0)
    fig = plot_slow_points(sp)
    assert fig.axes[0].name == "rectilinear" and len(fig.axes[0].collections) == 3
