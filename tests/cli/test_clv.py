"""``rnndyn clv``: output, --json, the figure, bad input."""

from __future__ import annotations

import json

import numpy as np

import rnndyn as rd
from tests.helpers import assert_one_line_error, run_cli


def test_henon_text_output_matches_the_library():
    res = run_cli(["clv", "--cell", "henon", "--h0", "0.1,0.1", "--steps", "2000", "--transient", "100",
                   "--transient-backward", "300"])
    assert res.exit_code == 0, res.output
    clv = rd.covariant_lyapunov_vectors(rd.systems.henon(), [0.1, 0.1], steps=2000, transient=100,
                                        transient_backward=300)
    stats = clv.angle_stats()
    assert "unstable  1 of 2 vectors (positive exponents)" in res.stdout
    assert f"min {stats['min']:.3g}, 1 % {stats['p1']:.3g}, median {stats['median']:.3g} rad" in res.stdout
    assert f"{100 * stats['fraction_below']:.1f} % of times below 0.1 rad" in res.stdout
    assert res.stdout.rstrip().endswith("  ".join(f"{v:>12.6g}" for v in clv.exponents))


def test_json_and_figure(tmp_path):
    out = tmp_path / "clv.png"
    res = run_cli(["clv", "--cell", "henon", "--steps", "1000", "--transient-backward", "200", "--window", "20",
                   "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["split"] == 1 and len(data["exponents"]) == 2
    assert 0.3 < data["exponents"][0] < 0.55 and abs(data["exponents"][1] + 1.62) < 0.1
    assert 0 <= data["angle"]["min"] <= data["angle"]["p1"] <= data["angle"]["median"] <= np.pi / 2
    assert data["ftle"]["window"] == 20 and data["ftle"]["windows"] == 50
    assert out.exists() and out.stat().st_size > 0


def test_figure_content():
    from rnndyn.plots.clv import plot_clv

    clv = rd.covariant_lyapunov_vectors(rd.systems.henon(), [0.1, 0.1], steps=1000, transient=50,
                                        transient_backward=200)
    ftle = rd.finite_time_lyapunov(rd.systems.henon(), [0.1, 0.1], steps=1000, window=10, transient=50)
    fig = plot_clv(clv, ftle, title="Hénon")
    a_ang, a_growth, a_ftle = fig.axes
    assert a_ang.get_xscale() == "log" and sum(p.get_height() for p in a_ang.patches) == np.isfinite(clv.angles).sum()
    assert len(a_growth.lines) >= 2 and "exponents" in a_growth.get_title()
    dashed = [ln for ln in a_growth.lines if ln.get_linestyle() == "--"]
    np.testing.assert_allclose(sorted(ln.get_ydata()[0] for ln in dashed), sorted(clv.exponents))
    assert {t.get_text() for t in a_ftle.get_legend().get_texts()} == {"λ_1(τ)", "λ_2(τ)"}


def test_bad_input_exits_2_with_one_line():
    for argv in (["clv", "--cell", "henon", "--split", "3"],
                 ["clv", "--cell", "henon", "--steps", "10", "--window", "20"],
                 ["clv", "--cell", "henon", "--k", "5"],
                 ["clv", "--cell", "henon", "--every", "0"]):
        assert_one_line_error(run_cli(argv))
