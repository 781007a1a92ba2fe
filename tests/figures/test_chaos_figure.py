"""The registered figure ``transition_to_chaos`` (quick): its panels and where its curves sit."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

from rnndyn import figures  # noqa: E402
from rnndyn.analysis.chaos import mean_field_lyapunov  # noqa: E402


def test_transition_to_chaos_figure_content():
    spec = figures.get("transition_to_chaos")
    assert "Molgedey" in spec.source and spec.command.startswith("rnndyn chaos")
    fig = figures.build("transition_to_chaos", quick=True)
    a_lam, a_spec, a_ky, a_other = fig.axes
    curves = {ln.get_label(): ln for ln in a_lam.get_lines()}
    mf = next(ln for label, ln in curves.items() if label.startswith("mean field"))
    np.testing.assert_allclose(mf.get_ydata(), mean_field_lyapunov(mf.get_xdata()))
    for label in ("N = 16", "N = 32"):
        g, lam = (np.asarray(v, float) for v in curves[label].get_data())
        assert np.all(lam[g < 1] < 0) and np.all(lam[g > 1.5] > 0)  # λ_max crosses 0 at g = 1
    assert len(a_spec.get_lines()) >= 2 and len(a_ky.get_lines()) >= 2
    labels = [ln.get_label() for ln in a_other.get_lines()]
    assert sum(lab.startswith("antisymmetric") for lab in labels) == 3
