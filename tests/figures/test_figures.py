"""The figure registry: every registered figure builds (quick) and holds data; build_all, gallery, data checks."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from rnndyn import figures  # noqa: E402
from rnndyn.errors import UnknownNameError, ValidationError  # noqa: E402

NAMES = list(figures.registry())
MINE = [
    "smerity_norm_growth", "smerity_heatmaps", "smerity_fibonacci", "csc321_scalar_products",
    "csc321_iterated_functions", "csc321_cobweb", "logistic_bifurcation",
    "d2l_sigmoid_gradient", "d2l_matrix_products", "d2l_xavier_variance",
]


def _has_data(ax) -> bool:
    for ln in ax.get_lines():
        y = np.asarray(ln.get_ydata(), dtype=float)
        if y.size and np.isfinite(y).any():
            return True
    return bool(ax.get_images() or ax.collections or ax.patches or ax.tables)


@pytest.fixture(scope="module")
def quick_figs():
    cache = {}

    def get(name):
        if name not in cache:
            cache[name] = figures.build(name, quick=True)
        return cache[name]

    return get


@pytest.mark.parametrize("name", NAMES)
def test_every_registered_figure_builds_with_data(name, quick_figs):
    spec = figures.get(name)
    assert spec.name == name and spec.source and spec.description
    fig = quick_figs(name)
    assert isinstance(fig, Figure)
    assert any(_has_data(ax) for ax in fig.axes), f"{name}: no axes holds data"


def test_my_figures_are_registered():
    assert set(MINE) <= set(NAMES)
    assert "rnndyn.figures.d2l" in figures.FIGURE_MODULES


def _line(ax, label_start):
    (ln,) = [ln for ln in ax.get_lines() if ln.get_label().startswith(label_start)]
    return np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float)


def test_scalar_products_figure_numbers(quick_figs):
    ax = quick_figs("csc321_scalar_products").axes[0]
    _, y = _line(ax, "$w$ = 1.1")
    assert round(y[-1], 1) == 117.4 and y.size == 51
    _, y = _line(ax, "$w$ = 0.9")
    assert round(y[-1], 5) == 0.00515
    cliff = quick_figs("csc321_scalar_products").axes[2]
    _, loss = _line(cliff, "T = 50")
    assert loss.max() > 1.9 and loss.min() < 1e-3 and np.max(np.abs(np.diff(loss))) > 1.5  # the cliff


def test_d2l_products_figure_numbers(quick_figs):
    ax = quick_figs("d2l_matrix_products").axes[0]
    _, g = _line(ax, "Gaussian")
    _, o = _line(ax, "orthogonal")
    assert g.size == 101 and 1e20 < g[-1] < 1e28
    np.testing.assert_allclose(o, 1.0, atol=1e-10)


def test_fibonacci_figure_numbers(quick_figs):
    fig = quick_figs("smerity_fibonacci")
    mult = [t.get_text() for t in fig.axes[0].texts]
    eig = [t.get_text() for t in fig.axes[1].texts]
    assert mult == eig == ["89", "55", "55", "34"]  # F^10 by both routes
    ratio = fig.axes[4]
    assert any("13, 21, 34, 55, 89" in t.get_text() for t in ratio.texts)
    _, m = _line(fig.axes[3], "$F^n[0,1]$")
    _, e = _line(fig.axes[3], "$(Q")
    np.testing.assert_allclose(e[1:], m[1:], rtol=1e-12)


def test_sigmoid_figure_numbers(quick_figs):
    ax = quick_figs("d2l_sigmoid_gradient").axes[0]
    x, y = _line(ax, "sigmoid")
    _, dy = _line(ax, "gradient")
    np.testing.assert_allclose(x, np.arange(-8.0, 8.0, 0.1))
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-x)), rtol=1e-14)
    np.testing.assert_allclose(dy, y * (1 - y), rtol=1e-14)
    assert dy.max() == pytest.approx(0.25, abs=1e-3)


def test_build_all_writes_files_and_gallery(tmp_path):
    seen = []
    built = figures.build_all(tmp_path, names=["d2l_sigmoid_gradient", "csc321_cobweb"], quick=True,
                              on_built=seen.append)
    assert [b.name for b in built] == ["d2l_sigmoid_gradient", "csc321_cobweb"] == [b.name for b in seen]
    for b in built:
        assert b.path.exists() and b.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and b.seconds >= 0
    readme = (tmp_path / "README.md").read_text()
    for name in NAMES:
        assert f"**{name}**" in readme  # every registered figure has a row
        assert f"`rnndyn figures --only {name}`" in readme
    assert '<img src="csc321_cobweb.png"' in readme and "not built yet" in readme
    assert "Grosse, CSC321 Lecture 15" in readme


@pytest.mark.parametrize("fmt", ["png", "svg", "pdf"])
def test_rebuild_is_byte_stable(tmp_path, fmt):
    a = figures.build_all(tmp_path / "a", names=["d2l_sigmoid_gradient"], fmt=fmt, quick=True)[0].path
    b = figures.build_all(tmp_path / "b", names=["d2l_sigmoid_gradient"], fmt=fmt, quick=True)[0].path
    assert a.suffix == f".{fmt}"
    assert a.read_bytes() == b.read_bytes()
    assert (tmp_path / "a" / "README.md").read_text() == (tmp_path / "b" / "README.md").read_text()


def test_build_errors(tmp_path):
    with pytest.raises(UnknownNameError, match="^figure: unknown figure 'nope'"):
        figures.build_all(tmp_path, names=["nope"])
    with pytest.raises(ValidationError, match="^fmt:"):
        figures.build_all(tmp_path, names=["d2l_sigmoid_gradient"], fmt="jpg")


def test_one_module_per_source_document():
    from pathlib import Path

    from rnndyn.references import REFERENCES, SOURCE_DOCUMENTS

    # the source documents' modules, then rnndyn's own figures (which cite the works they follow)
    assert figures.FIGURE_MODULES == [*SOURCE_DOCUMENTS.values(), "rnndyn.figures.sweeps", "rnndyn.figures.chaos",
                                      "rnndyn.figures.training"]
    assert set(SOURCE_DOCUMENTS) <= set(REFERENCES)
    cites = {"rnndyn.figures.chang2019": "Chang et al., ICLR 2019", "rnndyn.figures.smerity": "Smerity",
             "rnndyn.figures.csc321": "Grosse, CSC321 Lecture 15", "rnndyn.figures.d2l": "Zhang et al., Dive into",
             "rnndyn.figures.sweeps": "Chang et al., ICLR 2019", "rnndyn.figures.chaos": "Molgedey, Schuchhardt",
             "rnndyn.figures.training": "Sussillo & Barak"}
    for name, spec in figures.registry().items():
        module = spec.build.__module__
        assert module in figures.FIGURE_MODULES, name
        assert cites[module] in spec.source, name  # the source string names the document
    # the committed gallery holds exactly the registered figures
    committed = Path(__file__).resolve().parents[2] / "figures"
    if committed.is_dir():
        assert {p.stem for p in committed.glob("*.png")} == set(NAMES)


def test_save_figure_format_from_suffix(tmp_path):
    fig = Figure()
    fig.add_subplot().plot([0, 1], [1, 0])
    for fmt in figures.FORMATS:
        p = figures.save_figure(fig, tmp_path / "sub" / f"f.{fmt.upper()}")
        assert p.exists() and p.stat().st_size > 0
    head = (tmp_path / "sub" / "f.PDF").read_bytes()[:5]
    assert head == b"%PDF-"
    trimmed = figures.save_figure(fig, tmp_path / "t.png", bbox_inches="tight")
    assert trimmed.stat().st_size > 0
    with pytest.raises(ValidationError, match="^path:"):
        figures.save_figure(fig, tmp_path / "f.jpg")
    with pytest.raises(ValidationError, match="^fmt:"):
        figures.save_figure(fig, tmp_path / "f.png", fmt="gif")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sub", "t.png"]  # no temporary file left


def test_plots_do_not_import_analysis_or_kernels():
    import ast
    from pathlib import Path

    import rnndyn.plots

    for path in Path(rnndyn.plots.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
                node.body = []  # annotations only
        for node in ast.walk(tree):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not name.startswith(("rnndyn.analysis", "rnndyn.kernels", "rnndyn.figures")), (path.name, name)
