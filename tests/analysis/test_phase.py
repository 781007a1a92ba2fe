"""Phase portraits (rnndyn.analysis.phase, rnndyn.plots.phase) and Figures 1-2 of Chang et al. (2019)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

import rnndyn as rd  # noqa: E402
from rnndyn.analysis.phase import (  # noqa: E402
    PAPER_EPS,
    PAPER_INITS,
    PAPER_STEPS,
    describe_cell,
    format_eigenvalues,
    random_inits,
)
from rnndyn.errors import ValidationError  # noqa: E402
from rnndyn.formatting import MINUS  # noqa: E402
from rnndyn.plots.phase import plot_phase  # noqa: E402

INITS = np.array(PAPER_INITS)


def feedback(name, gamma=0.0, eps=PAPER_EPS):
    return rd.EulerRNN(rd.named_matrix(name), eps=eps, gamma=gamma)


def norms(name, gamma=0.0):
    """(‖h_0‖, ‖h_T‖) of the paper's trajectories under the RNN with feedback."""
    p = rd.phase_portrait(feedback(name, gamma), steps=PAPER_STEPS, grid=3, fixed_points=False)
    return p.initial_norms, p.final_norms


def lines(ax, prefix):
    return [a for a in ax.get_children() if (getattr(a, "get_gid", lambda: None)() or "").startswith(prefix)]


# --------------------------------------------------------------------------- the portrait


def test_portrait_contents_match_simulate_and_step():
    cell = feedback("W0", gamma=0.15)
    p = rd.phase_portrait(cell, grid=7, label="W0")
    assert p.kind == "euler" and p.label == "W0" and p.steps == 50
    np.testing.assert_array_equal(p.inits, INITS)
    ref = rd.simulate(cell, INITS, steps=50, backend="reference").states
    np.testing.assert_allclose(p.trajectories, ref, rtol=1e-12, atol=1e-14)
    assert p.grid.shape == p.field.shape == (7, 7, 2) and p.speed.shape == (7, 7)
    pts = p.grid.reshape(-1, 2)
    np.testing.assert_allclose(p.field.reshape(-1, 2), cell.step(pts) - pts, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(p.speed, np.linalg.norm(p.field, axis=-1))
    # the grid spans the window, and the window holds every state and fixed point
    assert p.grid[0, 0].tolist() == [p.xlim[0], p.ylim[0]] and p.grid[-1, -1].tolist() == [p.xlim[1], p.ylim[1]]
    allpts = np.concatenate([p.trajectories.reshape(-1, 2)] + [fp.state[None] for fp in p.fixed_points])
    assert np.all((allpts[:, 0] > p.xlim[0]) & (allpts[:, 0] < p.xlim[1]))
    assert np.all((allpts[:, 1] > p.ylim[0]) & (allpts[:, 1] < p.ylim[1]))
    np.testing.assert_allclose(p.eigenvalues, [-0.15 + 2j, -0.15 - 2j], atol=1e-12)
    assert p.stability.max_real == pytest.approx(-0.15)
    assert p.stability.euler_factor == pytest.approx(abs(1 + 0.1 * (-0.15 + 2j)))
    # the map (|μ| = 1.0051) spirals out slowly; the ODE it discretises spirals in
    assert [(fp.kind, fp.ode_kind) for fp in p.fixed_points] == [("source", "sink")]
    np.testing.assert_allclose(p.fixed_points[0].state, [0, 0], atol=1e-10)


def test_given_window_and_inits():
    p = rd.phase_portrait(rd.VanillaRNN(rd.named_matrix("rotation")), [[0.9, 0.0]], steps=7, grid=4,
                          xlim=(-2, 2), ylim=(-1, 3))
    assert p.xlim == (-2.0, 2.0) and p.ylim == (-1.0, 3.0)
    assert p.trajectories.shape == (1, 8, 2)
    # only x given: y is fitted
    q = rd.phase_portrait(feedback("W0"), steps=5, grid=3, xlim=(-3, 3), fixed_points=False)
    assert q.xlim == (-3.0, 3.0) and q.ylim[0] < -0.75 < 0.5 < q.ylim[1]


def test_refuses_non_2d_and_bad_arguments():
    with pytest.raises(ValidationError, match="2-D"):
        rd.phase_portrait(rd.EulerRNN(np.eye(3)))
    with pytest.raises(ValidationError, match="inits"):
        rd.phase_portrait(feedback("W0"), [[1.0, 2.0, 3.0]])
    with pytest.raises(ValidationError, match="xlim"):
        rd.phase_portrait(feedback("W0"), xlim=(1.0, -1.0))
    with pytest.raises(ValidationError, match="grid"):
        rd.phase_portrait(feedback("W0"), grid=1)


def test_random_inits_seeded_in_box():
    a, b = random_inits(50, rng=3, box=((0, 1), (-2, -1))), random_inits(50, rng=3, box=((0, 1), (-2, -1)))
    np.testing.assert_array_equal(a, b)
    assert a.shape == (50, 2) and a[:, 0].min() >= 0 and a[:, 0].max() <= 1 and a[:, 1].max() <= -1


@settings(max_examples=15, deadline=None)
@given(st.floats(-0.99, 0.99), st.floats(-0.99, 0.99), st.sampled_from(["identity", "reflection", "rotation"]))
def test_vanilla_orthogonal_contracts(x, y, name):
    """Figure 1: tanh is a contraction, so ‖h_T‖ < ‖h_0‖ for any orthogonal W and h_0 ≠ 0."""
    h0 = np.array([x, y])
    if np.linalg.norm(h0) < 1e-3:
        return
    p = rd.phase_portrait(rd.VanillaRNN(rd.named_matrix(name)), [h0], steps=PAPER_STEPS, grid=2, fixed_points=False)
    n = np.linalg.norm(p.trajectories[0], axis=-1)
    assert np.all(np.diff(n) <= 1e-15) and n[-1] < n[0]


# ------------------------------------------------------------- the paper's statements (Chang et al., ICLR 2019)


def test_fig2_W0_outward_spirals():
    n0, nT = norms("W0")
    assert np.all(nT > 1.25 * n0)
    p = rd.phase_portrait(feedback("W0"), grid=2, fixed_points=False)
    ang = np.unwrap(np.arctan2(p.trajectories[..., 1], p.trajectories[..., 0]), axis=1)
    turns = (ang[:, -1] - ang[:, 0]) / (2 * np.pi)
    assert np.all(turns > 0.75)  # counter-clockwise, about one turn in 50 steps: a spiral
    # and outwards. Not monotonically: tanh acts per coordinate and squares the
    # orbit off, so ‖h_t‖ wobbles by a few per cent within a turn; turn over
    # turn it grows.
    n = np.linalg.norm(p.trajectories, axis=-1)
    assert np.all(n[:, 40:].min(axis=1) > n[:, :10].max(axis=1))


def test_fig2_Wdiff_near_constant_distance():
    n0, nT = norms("Wdiff")
    assert np.all(np.abs(nT / n0 - 1) < 0.1)
    # EulerRNN(W0, gamma=0.15) is the same cell as EulerRNN(Wdiff, gamma=0)
    n0b, nTb = norms("W0", gamma=0.15)
    np.testing.assert_allclose(nTb, nT, rtol=1e-12)


def test_fig2_Wminus_towards_Wplus_away():
    n0, nT = norms("W-")
    assert np.all(nT < 1e-2 * n0)
    n0, nT = norms("W+")
    assert np.all(nT > 5 * n0)


# --------------------------------------------------------------------------- drawing


def test_plot_content():
    cell = feedback("W0", gamma=0.15)
    p = rd.phase_portrait(cell, [[0.0, 0.5], [-0.5, -0.5], [0.5, -0.75], [0.2, 0.1]], grid=9, label="W0")
    fig = plot_phase(p)
    ax = fig.axes[0]
    trajs = sorted(lines(ax, "trajectory-"), key=lambda a: a.get_gid())
    assert len(trajs) == 4
    ref = rd.simulate(cell, p.inits, steps=50).states
    for i, ln in enumerate(trajs):
        np.testing.assert_allclose(np.column_stack(ln.get_data()), ref[i], rtol=1e-12, atol=1e-14)
        (start,) = lines(ax, f"start-{i}")
        np.testing.assert_array_equal(np.ravel(start.get_data()), p.inits[i])
        (end,) = lines(ax, f"end-{i}")
        np.testing.assert_allclose(np.ravel(end.get_data()), ref[i, -1])
        assert len(lines(ax, f"direction-{i}")) >= 1
    (origin,) = lines(ax, "fixed-source-ode-sink")
    np.testing.assert_allclose(np.ravel(origin.get_data()), [0, 0], atol=1e-10)
    (field,) = lines(ax, "field")
    assert field.N == 81
    assert ax.get_xlim() == pytest.approx(p.xlim) and ax.get_ylim() == pytest.approx(p.ylim)
    title = ax.get_title()
    for piece in ("W0", "ε = 0.1", "γ = 0.15", "−0.15 ± 2i", "1.0051"):
        assert piece in title
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("‖h₀‖ 0.5 →" in t for t in labels) and "source (map), sink (ODE)" in labels
    assert len(fig.axes) == 1 and len(ax.child_axes) == 1  # the colour bar is an inset of the axes
    assert "‖F(h) − h‖" in ax.child_axes[0].get_ylabel()


def test_plot_into_given_axes_without_extras():
    from matplotlib.figure import Figure

    fig = Figure()
    ax = fig.add_subplot()
    p = rd.phase_portrait(rd.VanillaRNN(rd.named_matrix("rotation")), grid=5)
    assert plot_phase(p, ax=ax, title="", legend=False, colorbar=False) is fig
    assert ax.get_title() == "" and ax.get_legend() is None and not ax.child_axes
    assert len([ln for ln in lines(ax, "trajectory-") if "every" not in ln.get_gid()]) == 3
    assert not p.smooth.any()  # a rotation jumps a quarter turn each step: drawn as points
    # ... with every 4th state joined: four faint arms per trajectory, no line through h_0, h_1, ...
    assert p.jump_periods == (4, 4, 4)
    assert len(lines(ax, "trajectory-0-every-4")) == 4
    assert all(ln.get_linestyle() == "None" for ln in lines(ax, "trajectory-") if "every" not in ln.get_gid())
    assert p.fixed_points[0].kind == "neutral" and p.fixed_points[0].ode_kind is None  # a map: no ODE
    assert len(lines(ax, "fixed-neutral")) == 1


def test_text_helpers():
    assert format_eigenvalues([-0.15 + 2j, -0.15 - 2j], minus=MINUS) == "−0.15 ± 2i"
    assert format_eigenvalues([-0.15 + 2j, -0.15 - 2j]) == "-0.15 ± 2i"  # plain text by default
    assert format_eigenvalues([1j, -1j]) == "±i"
    assert format_eigenvalues([2.0, 2.0]) == "2, 2"
    assert format_eigenvalues([1.0, -1.0], minus=MINUS) == "1, −1"
    assert format_eigenvalues([0.5 - 1e-17j]) == "0.5"  # rounding noise is not an imaginary part
    assert format_eigenvalues([-1e-17 + 4j, -1e-17 - 4j]) == "±4i"
    assert format_eigenvalues([1 + 2j]) == "1 + 2i" and format_eigenvalues([-3j], minus=MINUS) == "−3i"
    assert format_eigenvalues(np.arange(10.0), limit=2) == "0, 1, … (10 eigenvalues)"
    assert format_eigenvalues(np.arange(10.0), limit=None).endswith("8, 9")
    from rnndyn import formatting
    from rnndyn.analysis import stability

    assert format_eigenvalues is formatting.format_eigenvalues is stability.format_eigenvalues  # one formatter
    assert describe_cell(feedback("W0")) == "h ← h + ε·tanh((W − γI)h)"
    assert describe_cell(rd.VanillaRNN(np.eye(2))) == "h ← tanh(Wh)"
    assert describe_cell(rd.AntisymmetricRNN(np.eye(2))) == "h ← h + ε·tanh((W − Wᵀ − γI)h)"


# --------------------------------------------------------------------------- the registered figures


@pytest.mark.parametrize("name, panels, matrices", [
    ("paper_fig1_vanilla", 3, ["identity", "reflection", "rotation"]),
    ("paper_fig2_feedback", 4, ["W+", "W-", "W0", "Wdiff"]),
])
def test_paper_figures(name, panels, matrices):
    from rnndyn import figures

    spec = figures.get(name)
    assert spec.source.startswith("Chang et al., ICLR 2019, Figure")
    fig = spec.build(quick=True)
    assert len(fig.axes) == panels
    for ax, m in zip(fig.axes, matrices):
        # the lines of whole trajectories (a figure may add subsequences, "trajectory-<i>-every-<q>")
        trajs = sorted((a for a in lines(ax, "trajectory-") if a.get_gid().count("-") == 1), key=lambda a: a.get_gid())
        assert len(trajs) == 3
        for ln, h0 in zip(trajs, PAPER_INITS):
            x, y = ln.get_data()
            assert (x[0], y[0]) == h0 and len(x) == PAPER_STEPS + 1
        cell = rd.VanillaRNN(rd.named_matrix(m)) if panels == 3 else feedback(m)
        ref = rd.simulate(cell, INITS, steps=PAPER_STEPS).states
        np.testing.assert_allclose(np.column_stack(trajs[2].get_data()), ref[2], rtol=1e-12, atol=1e-14)
    assert fig.legends  # one legend for all panels
