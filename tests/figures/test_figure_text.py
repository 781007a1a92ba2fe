"""What the registered figures write and draw: mathtext for sub- and superscripts, readable legend numbers,
labelled reference lines, discrete-map trajectories drawn as points."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from rnndyn import figures  # noqa: E402
from rnndyn.analysis.phase import jump_period  # noqa: E402

NAMES = list(figures.registry())


@pytest.fixture(scope="module")
def quick_figs():
    cache = {}

    def get(name):
        if name not in cache:
            fig = figures.build(name, quick=True)
            FigureCanvasAgg(fig).draw()  # every text laid out (and mathtext parsed) as when saved
            cache[name] = fig
        return cache[name]

    return get


def _outside_math(s: str) -> str:
    """The parts of ``s`` outside $...$ (an escaped \\$ is not a delimiter)."""
    parts = re.split(r"(?<!\\)\$", s)
    return "".join(parts[0::2]) if len(parts) % 2 == 1 else s


def _texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _legend_texts(fig) -> list[str]:
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None] + list(fig.legends)
    return [t.get_text() for leg in legends for t in leg.get_texts()]


@pytest.mark.parametrize("name", NAMES)
def test_no_literal_underscore_or_caret_outside_mathtext(name, quick_figs):
    # λ_i, x^2, h_T written as plain text print their _ and ^ instead of a sub- or superscript
    bad = [s for s in _texts(quick_figs(name)) if re.search(r"[_^]", _outside_math(s))]
    assert not bad, f"{name}: {bad}"


@pytest.mark.parametrize("name", NAMES)
def test_legend_numbers_are_short_and_words_whole(name, quick_figs):
    for s in _legend_texts(quick_figs(name)):
        assert not re.search(r"\w\n\w", s), f"{name}: a line break inside a word: {s!r}"
        for tok in re.findall(r"\d+\.\d+", _outside_math(s)):
            assert len(tok.replace(".", "").lstrip("0")) <= 6, f"{name}: {tok} in {s!r}"


def test_cobweb_title_is_the_formula_in_mathtext(quick_figs):
    title = quick_figs("csc321_cobweb").axes[0].get_title()
    assert "x^2" not in _outside_math(title) and "**" not in title
    assert "$x_t^{2} + 0.15$" in title


def test_lyapunov_spectrum_gamma_labels(quick_figs):
    fig = quick_figs("lyapunov_spectrum_gamma")
    assert fig.axes[0].get_ylabel().startswith(r"$\lambda_i$")
    assert {r"$\lambda_{\max}$", r"$\lambda_{\min}$"} <= set(_legend_texts(fig))


def test_bifurcation_marks_the_lectures_map_and_says_so(quick_figs):
    ax = quick_figs("logistic_bifurcation").axes[0]
    (vline,) = [ln for ln in ax.get_lines() if np.allclose(ln.get_xdata(), 3.5) and ln.get_linestyle() == "--"]
    assert "3.5" in vline.get_label() and "lecture" in vline.get_label()
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert vline.get_label() in legend
    (cycle,) = [ln for ln in ax.get_lines() if "4-cycle" in ln.get_label()]
    x = np.sort(np.asarray(cycle.get_ydata(), float))
    np.testing.assert_allclose(x, [0.38282, 0.50088, 0.82694, 0.87500], atol=1e-5)  # r = 3.5: period 4
    np.testing.assert_allclose(3.5 * x * (1 - x), x[[2, 3, 1, 0]], atol=1e-12)  # the map permutes them


def test_matrix_products_legend_numbers(quick_figs):
    legend = _legend_texts(quick_figs("d2l_matrix_products"))
    (orth,) = [s for s in legend if s.startswith("orthogonal")]
    (gauss,) = [s for s in legend if s.startswith("Gaussian")]
    assert "final 1.000 " in orth and "1.000000" not in orth
    assert re.search(r"final \$\d\.\d{3}\\times10\^\{2\d\}\$", gauss), gauss


def _window(ax):
    return max(np.ptp(ax.get_xlim()), np.ptp(ax.get_ylim()))


@pytest.mark.parametrize("panel", [1, 2])  # (b) reflection, (c) rotation
def test_fig1_jumping_maps_are_not_joined_step_by_step(panel, quick_figs):
    ax = quick_figs("paper_fig1_vanilla").axes[panel]
    drawn = [ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("trajectory")]
    assert drawn
    for ln in drawn:
        if ln.get_linestyle() in ("None", "none", " ", ""):
            continue
        xy = np.column_stack([ln.get_xdata(), ln.get_ydata()]).astype(float)
        longest = np.hypot(*np.diff(xy, axis=0).T).max()
        assert longest < 0.2 * _window(ax), f"{ln.get_gid()}: a segment of {longest:.2f} across the panel"
    # every state is still there, as a point
    points = [ln for ln in drawn if ln.get_gid().count("-") == 1]
    assert len(points) == 3 and all(len(ln.get_xdata()) == 51 for ln in points)
    # a jumping trajectory keeps the arrow of its first step (where h_0 goes), and only that one
    jumping = {int(ln.get_gid().split("-")[1]) for ln in drawn if ln.get_gid().count("-") == 3}
    assert jumping == ({0, 2} if panel == 1 else {0, 1, 2})  # the reflection keeps the diagonal fixed
    for i in jumping:
        assert len([a for a in ax.texts if a.get_gid() == f"direction-{i}"]) == 1


def test_fig1_identity_panel_keeps_its_lines(quick_figs):
    ax = quick_figs("paper_fig1_vanilla").axes[0]
    lines = [ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("trajectory-")]
    assert len(lines) == 3 and all(ln.get_linestyle() == "-" for ln in lines)


def test_jump_period():
    arms = [(0, 1), (1, 0), (0, -1), (-1, 0)]
    rotation = np.array([0.5 * 0.95 ** k * np.array(arms[k % 4]) for k in range(40)])
    reflection = np.array([0.5 * 0.95 ** k * np.array(arms[k % 2]) for k in range(40)])
    curve = np.column_stack([np.linspace(0.5, 0.1, 40), np.linspace(-0.5, -0.1, 40)])
    assert (jump_period(rotation), jump_period(reflection), jump_period(curve)) == (4, 2, 1)
    rng = np.random.default_rng(0)
    assert jump_period(rng.standard_normal((40, 2))) is None
