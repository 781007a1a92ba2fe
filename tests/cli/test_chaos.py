"""``rnndyn chaos``."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnndyn.analysis.chaos import transition_to_chaos
from tests.helpers import assert_one_line_error, run_cli

ARGS = ["chaos", "--sizes", "8,12", "--gains", "0.5,2", "--steps", "60", "--transient", "10"]


def test_json_equals_the_library():
    res = run_cli(*ARGS, "--seeds", "2", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    sw = transition_to_chaos(sizes=[8, 12], gains=[0.5, 2.0], steps=60, transient=10, seeds=2, fraction=0.35,
                             reortho_every=10)
    np.testing.assert_array_equal(data["max_exponent"], sw.max_exponent)
    np.testing.assert_array_equal(data["spectra"]["12"], sw.spectra[1])
    np.testing.assert_array_equal(data["kaplan_yorke"], sw.kaplan_yorke)
    np.testing.assert_array_equal(data["mean_field"], sw.mean_field)
    assert data["k"] == [3, 5] and data["sizes"] == [8, 12] and data["seeds"] == [0, 1]
    assert (data["cell"], data["steps"], data["transient"], data["reortho_every"]) == ("vanilla", 60, 10, 10)


def test_text_table_and_figure(tmp_path):
    out = tmp_path / "chaos.png"
    res = run_cli(*ARGS, "--fraction", "1", "--out", str(out), "--dpi", "40")
    assert res.exit_code == 0, res.output
    assert out.exists() and out.stat().st_size > 1000
    sw = transition_to_chaos(sizes=[8, 12], gains=[0.5, 2.0], steps=60, transient=10, reortho_every=10)
    assert res.stdout.strip() == sw.summary().strip()
    assert "mean field" in res.stdout and "-0.69315" in res.stdout


def test_gain_range_and_antisymmetric_cell():
    res = run_cli("chaos", "--sizes", "8", "--gains", "0.5:3:3", "--steps", "30", "--cell", "antisymmetric",
                  "--gamma", "0.15", "--json")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["gains"] == [0.5, 1.75, 3.0] and data["mean_field"] is None
    assert (data["eps"], data["gamma"]) == (0.1, 0.15)
    assert data["critical_gain"] == pytest.approx(0.6101, abs=1e-4)


@pytest.mark.parametrize("args, must", [
    (["--gains", "a,b"], "--gains"),
    (["--gains", "1:2"], "--gains"),
    (["--gains", "0,1"], "--gains"),
    (["--gains", "1:2:0"], "--gains"),
    (["--sizes", "1"], "--sizes"),
    (["--sizes", "8,8"], "--sizes"),
    (["--sizes", "x"], "--sizes"),
    (["--fraction", "0"], "--fraction"),
    (["--eps", "-1", "--cell", "antisymmetric"], "--eps"),
    (["--steps", "0"], "--steps"),
    (["--out", "chaos.txt"], "--out"),
])
def test_bad_input_is_one_line_exit_2(args, must):
    assert_one_line_error(run_cli("chaos", "--sizes", "8", "--gains", "1", "--steps", "5", *args), must)


def test_progress_bar_on_a_terminal(monkeypatch):
    import rnndyn_cli.output as output

    monkeypatch.setattr(output, "progress_enabled", lambda: True)
    res = run_cli(*ARGS)
    assert res.exit_code == 0, res.output
    assert "chaos" in res.stderr  # off a terminal, click prints the label once
    monkeypatch.setattr(output, "progress_enabled", lambda: False)
    assert "chaos" not in run_cli(*ARGS).stderr
