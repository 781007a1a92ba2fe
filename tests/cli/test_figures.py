"""``rnndyn figures``, ``rnndyn norms`` and ``rnndyn cobweb`` through click's CliRunner."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from click.testing import CliRunner
from rnndyn_cli.main import cli

from rnndyn import figures
from rnndyn.analysis import growth as norms
from rnndyn.analysis import orbits1d
from tests.helpers import assert_one_line_error as _one_line_error


@pytest.fixture()
def runner():
    return CliRunner()


# --------------------------------------------------------------------------- figures


def test_figures_list_names_all(runner):
    res = runner.invoke(cli, ["figures", "--list"])
    assert res.exit_code == 0, res.output
    listed = [line.split()[0] for line in res.stdout.strip().splitlines()]
    assert listed == list(figures.registry())
    for spec in figures.registry().values():
        assert " ".join(spec.description.split()) in res.stdout


def test_figures_only_writes_file(runner, tmp_path):
    out = tmp_path / "figs"
    res = runner.invoke(cli, ["figures", "--only", "d2l_sigmoid_gradient", "--only", "csc321_iterated_functions",
                              "--outdir", str(out), "--quick"])
    assert res.exit_code == 0, res.output
    assert (out / "d2l_sigmoid_gradient.png").stat().st_size > 0
    assert (out / "csc321_iterated_functions.png").stat().st_size > 0
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "csc321_iterated_functions.png",
                                                     "d2l_sigmoid_gradient.png"]
    assert "2 figures" in res.stderr
    res = runner.invoke(cli, ["figures", "--only", "d2l_sigmoid_gradient", "--outdir", str(out), "--format", "svg",
                              "--quick"])
    assert res.exit_code == 0 and (out / "d2l_sigmoid_gradient.svg").exists()


def test_figures_unknown_name(runner, tmp_path):
    line = _one_line_error(runner.invoke(cli, ["figures", "--only", "nope", "--outdir", str(tmp_path)]))
    assert "unknown figure 'nope'" in line
    _one_line_error(runner.invoke(cli, ["figures", "--format", "jpg"]))


# --------------------------------------------------------------------------- norms


def test_norms_json_parses_and_equals_library(runner):
    res = runner.invoke(cli, ["norms", "--size", "8", "--steps", "20", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    g = norms.norm_growth(size=8, steps=20, rng=0)
    assert [r["init"] for r in data["inits"]] == list(norms.DEFAULT_INITS)
    for i, r in enumerate(data["inits"]):
        np.testing.assert_allclose(r["matrix_norms"], g.matrix_norms[i], rtol=1e-12)
        assert r["jacobian_norms"] is None
        assert r["spectral_radius"] == pytest.approx(g.spectral_radius[i])
    assert [r["verdict"] for r in data["inits"]] == ["vanishes", "keeps its norm", "explodes"]
    assert data["times"] == list(range(21)) and data["cell"] == "linear"


def test_norms_table_and_figure(runner, tmp_path):
    out = tmp_path / "n.png"
    res = runner.invoke(cli, ["norms", "--init", "orthogonal:gain=0.9", "--init", "identity", "--size", "4",
                              "--steps", "10", "--cell", "vanilla", "--activation", "linear", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.stat().st_size > 0
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("vanilla cell, n = 4")
    row = lines[2].split()
    assert row[0] == "orthogonal:gain=0.9" and float(row[2]) == pytest.approx(0.9**10, rel=1e-3)
    assert row[-1] == "vanishes" and lines[3].endswith("keeps its norm")
    data = json.loads(runner.invoke(cli, ["norms", "--cell", "euler", "--size", "3", "--steps", "4", "--json"]).stdout)
    assert len(data["inits"][0]["jacobian_norms"]) == 5


def test_norms_errors(runner, tmp_path):
    assert "init: unknown initialisation" in _one_line_error(runner.invoke(cli, ["norms", "--init", "bogus"]))
    _one_line_error(runner.invoke(cli, ["norms", "--init", "normal:x"]))
    _one_line_error(runner.invoke(cli, ["norms", "--size", "0"]))
    _one_line_error(runner.invoke(cli, ["norms", "--out", str(tmp_path / "a.txt")]))


# --------------------------------------------------------------------------- cobweb


@pytest.mark.parametrize("expr", ["__import__('os')", "__import__('os').system('true')", "x.__class__", "open('f')"])
def test_cobweb_refuses_malicious_expression(runner, tmp_path, expr):
    line = _one_line_error(runner.invoke(cli, ["cobweb", "--map", expr, "--out", str(tmp_path / "c.png")]))
    assert line.startswith("Error: --map:")
    assert not (tmp_path / "c.png").exists()


def test_cobweb_json_and_text(runner, tmp_path):
    out = tmp_path / "c.png"
    res = runner.invoke(cli, ["cobweb", "--map", "quadratic:0.15", "--x0", "0.5", "--x0", "0.83", "--steps", "30",
                              "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    fps = orbits1d.fixed_points("quadratic:0.15")
    assert [(p["x"], p["kind"]) for p in data["fixed_points"]] == [(p.x, p.kind) for p in fps]
    assert [p["kind"] for p in data["fixed_points"]] == ["sink", "source"]
    np.testing.assert_allclose(data["orbits"][0]["states"], orbits1d.orbit("quadratic:0.15", 0.5, 30))
    assert data["orbits"][1]["states"][-1] == "inf"  # escaped above the source
    assert out.stat().st_size > 0
    res = runner.invoke(cli, ["cobweb", "--map", "3.5*x*(1-x)"])
    assert res.exit_code == 0 and "source" in res.stdout and res.stdout.count("orbit") == 3


def test_cobweb_compose(runner, tmp_path):
    out = tmp_path / "k.png"
    res = runner.invoke(cli, ["cobweb", "--map", "logistic:3.5", "--compose", "4", "--out", str(out), "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    periods = sorted(p["period"] for p in data["fixed_points"])
    assert periods == [1, 1, 2, 2, 4, 4, 4, 4] and data["orbits"] == []
    assert [p["kind"] for p in data["fixed_points"] if p["period"] == 4] == ["sink"] * 4  # r = 3.5: the 4-cycle
    assert out.stat().st_size > 0


def test_cobweb_errors(runner):
    _one_line_error(runner.invoke(cli, ["cobweb", "--map", "logistic:3.5", "--interval", "1,0"]))
    _one_line_error(runner.invoke(cli, ["cobweb", "--map", "logistic:3.5", "--interval", "a,b"]))
    _one_line_error(runner.invoke(cli, ["cobweb", "--map", "nope:1"]))
    _one_line_error(runner.invoke(cli, ["cobweb", "--map", "x**2", "--compose", "0"]))
    _one_line_error(runner.invoke(cli, ["cobweb"]))
