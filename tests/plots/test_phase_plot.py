"""Drawing phase portraits: fixed-point labels that name their classification, diverged trajectories, continua."""

import io
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import Polygon  # noqa: E402

import rnndyn as rd  # noqa: E402
from rnndyn.errors import DivergenceWarning  # noqa: E402
from rnndyn.plots.phase import fixed_point_label, plot_phase  # noqa: E402


def artists(ax, gid):
    return [a for a in ax.get_children() if (getattr(a, "get_gid", lambda: None)() or "") == gid]


def legend_texts(ax):
    return [t.get_text() for t in ax.get_legend().get_texts()]


def portrait(cell, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        return rd.phase_portrait(cell, **kwargs)


def draw_silently(p):
    """plot_phase and a PNG of it, failing on any warning (numpy's overflow warnings included)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = plot_phase(p)
        fig.savefig(io.BytesIO(), format="png", dpi=40)
    return fig


def test_labels_name_the_map_and_the_ode():
    assert fixed_point_label("source", "sink") == "source (map), sink (ODE)"
    assert fixed_point_label("neutral") == "neutral (map)"
    p = portrait(rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15), grid=5)
    ax = draw_silently(p).axes[0]
    assert "source (map), sink (ODE)" in legend_texts(ax)
    assert len(artists(ax, "fixed-source-ode-sink")) == 1
    q = portrait(rd.VanillaRNN(rd.named_matrix("rotation")), grid=5)
    texts = legend_texts(draw_silently(q).axes[0])
    assert "neutral (map)" in texts and not any("ODE" in t for t in texts)


def test_diverged_trajectories_drawn_to_their_last_finite_state_and_marked():
    p = portrait(rd.VanillaRNN(rd.named_matrix("fibonacci"), activation="linear"), steps=2000, grid=7)
    ax = draw_silently(p).axes[0]
    assert ax.get_xlim() == pytest.approx(p.xlim) and ax.get_ylim() == pytest.approx(p.ylim)
    span = max(p.xlim[1] - p.xlim[0], p.ylim[1] - p.ylim[0])
    center = np.array([np.mean(p.xlim), np.mean(p.ylim)])
    for i in range(3):
        (line,) = artists(ax, f"trajectory-{i}")
        data = np.column_stack(line.get_data())
        traj = p.trajectories[i]
        # drawn exactly while within 1e3 window sizes; then one point further along the same segment
        with np.errstate(over="ignore", invalid="ignore"):
            near = np.max(np.abs(traj - center), axis=1) <= 1e3 * span
        k = int(np.argmin(near))
        assert near[:k].all() and not near[k:].any()
        np.testing.assert_array_equal(data[:k], traj[:k])
        a, b = data[k - 1], data[k]
        assert 1e3 * span <= np.max(np.abs(b - center)) <= 2e3 * span
        u, v = b - a, traj[k] / np.abs(traj[k]).max() - a / np.abs(traj[k]).max()
        assert abs(u[0] * v[1] - u[1] * v[0]) <= 1e-9 * np.linalg.norm(u) * np.linalg.norm(v)
        assert np.all(np.isnan(data[k + 1:]))
        (mark,) = artists(ax, f"diverged-{i}")
        np.testing.assert_array_equal(np.ravel(mark.get_data()), p.divergence_marks[i])
        assert not artists(ax, f"end-{i}")  # there is no h_T to mark
        assert f"diverged at step {p.diverged_at[i]}" in legend_texts(ax)[i]
    assert "diverged (last finite state in view)" in legend_texts(ax)


def test_relu_continuum_is_a_shaded_region():
    p = portrait(rd.EulerRNN(rd.named_matrix("W+"), eps=0.1, activation="relu"), steps=5000, grid=7)
    ax = draw_silently(p).axes[0]
    (region,) = artists(ax, "continuum")
    assert isinstance(region, Polygon)
    np.testing.assert_allclose(region.get_xy()[: len(p.continuum_region)], p.continuum_region)
    assert "continuum of fixed points: neutral (map), neutral (ODE)" in legend_texts(ax)
    assert not [a for a in ax.get_children() if (getattr(a, "get_gid", lambda: None)() or "").startswith("fixed-")]


def test_continuum_without_closed_form_drawn_as_its_samples():
    p = portrait(rd.VanillaRNN(np.eye(2), activation="relu"), steps=5, grid=5)  # h = relu(h): the quadrant h ≥ 0
    assert p.continuum is not None and p.continuum_region is None
    ax = draw_silently(p).axes[0]
    (pts,) = artists(ax, "continuum")
    np.testing.assert_array_equal(np.column_stack(pts.get_data()), p.continuum.samples)
    assert any(t.startswith("continuum of fixed points: ") and "(ODE)" not in t for t in legend_texts(ax))


def test_field_arrows_that_overflow_are_left_out():
    p = portrait(rd.VanillaRNN(1e300 * np.eye(2), activation="linear"), steps=1, grid=5,
                 xlim=(-1e10, 1e10), ylim=(-1, 1))
    ax = draw_silently(p).axes[0]
    (field,) = artists(ax, "field")
    assert np.count_nonzero(field.Umask) == np.count_nonzero(~np.isfinite(p.speed)) > 0
