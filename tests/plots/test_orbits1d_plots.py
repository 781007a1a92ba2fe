"""1-D map pictures: formulas in titles are set as mathtext."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from matplotlib.mathtext import MathTextParser  # noqa: E402

from rnndyn.analysis.orbits1d import cobweb_diagram, compositions  # noqa: E402
from rnndyn.plots.orbits1d import _formula_label, plot_cobweb, plot_compositions  # noqa: E402


@pytest.mark.parametrize("formula, var, tex", [
    ("x**2 + 0.15", "x_t", "$x_t^{2} + 0.15$"),
    ("3.5*x*(1 - x)", "x", "$3.5\\,x\\,(1 - x)$"),
    ("3.5*(1 - x) - 3.5*x", "x", "$3.5\\,(1 - x) - 3.5\\,x$"),
    ("x - (x - 1)", "x", "$x - (x - 1)$"),
    ("(-x)**2", "x", "$(-x)^{2}$"),
    ("2*3*x", "x", "$2\\cdot 3\\,x$"),
    ("x*-2", "x", "$x\\,(-2)$"),
    ("R*sin(pi*x)", "x", "$R\\,\\sin(\\pi\\,x)$"),
    ("exp(-x)/2", "x", "$\\frac{\\exp(-x)}{2}$"),
    ("1e-05*x", "x", "$10^{-5}\\,x$"),
    ("my_map", "x", "$\\mathrm{my\\_map}$"),
])
def test_formula_label_is_mathtext(formula, var, tex):
    label = _formula_label(formula, var=var)
    assert label == tex
    MathTextParser("agg").parse(label, 100)  # matplotlib can set it


def test_titles_show_no_raw_python_operators():
    cob = plot_cobweb(cobweb_diagram("quadratic:0.15", [0.1], steps=5))
    assert cob.axes[0].get_title() == "Cobweb: $x_{t+1} =$ $x_t^{2} + 0.15$"
    comp = plot_compositions(compositions("logistic:3.5", ks=(1,), samples=11))
    title = comp._suptitle.get_text()
    assert "*" not in title and "·" not in title and title.endswith("$3.5\\,x\\,(1 - x)$")
