"""``rnndyn lyapunov``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from rnndyn_cli.main import cli

import rnndyn as rd


def run(args):
    return CliRunner().invoke(cli, ["lyapunov", *args])


def test_antisymmetric_prints_and_plots_a_spectrum(tmp_path):
    out = tmp_path / "spectrum.png"
    res = run(["--cell", "antisymmetric", "--size", "16", "--gamma", "0.1", "--steps", "500", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.exists() and out.stat().st_size > 1000
    assert "antisymmetric cell, n = 16" in res.output
    assert "exponents (16, descending, per step):" in res.output


@pytest.mark.usefixtures("as_the_cli")
def test_stdout_equals_the_library_result():
    res = run(["--cell", "euler", "--matrix", "W0", "--gamma", "0.15", "--steps", "300", "--transient", "10",
               "--h0", "0.0,0.5", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    les = rd.lyapunov_spectrum(rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15), [0.0, 0.5], steps=300,
                               transient=10)
    np.testing.assert_allclose(data["exponents"], les.exponents, rtol=1e-15)
    assert data["max_exponent"] == pytest.approx(les.max_exponent)
    assert data["sum"] == pytest.approx(les.sum)
    assert data["kaplan_yorke"] == pytest.approx(les.kaplan_yorke)
    assert (data["steps"], data["transient"], data["reortho_every"], data["diverged_at"]) == (300, 10, 1, -1)
    text = run(["--cell", "euler", "--matrix", "W0", "--gamma", "0.15", "--steps", "300", "--transient", "10",
                "--h0", "0.0,0.5"])
    assert f"{les.max_exponent:.6g}" in text.output and f"{les.sum:.6g}" in text.output


def test_henon_history_and_json(tmp_path):
    out = tmp_path / "henon.png"
    res = run(["--cell", "henon", "--steps", "20000", "--history", "--reortho", "2", "--json", "--out", str(out)])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["exponents"][0] == pytest.approx(0.4189, abs=0.02)
    assert data["sum"] == pytest.approx(np.log(0.3), abs=1e-9)
    assert len(data["history_steps"]) == 10000 and len(data["history"]) == 10000
    assert out.exists()


def test_lstm_noise_and_k():
    res = run(["--cell", "lstm", "--size", "4", "--noise", "2", "--steps", "200", "--k", "3", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert len(data["exponents"]) == 3 and data["max_exponent"] < 0
    assert "LSTM" in data["system"]


@pytest.mark.parametrize("args, word", [
    (["--eps", "0"], "eps"),
    (["--gamma", "-1"], "gamma"),
    (["--matrix", "W0", "--size", "4"], "--matrix"),
    (["--k", "5", "--matrix", "W0"], "--k"),
    (["--cell", "henon", "--size", "3"], "henon"),
    (["--matrix", "nosuch"], "nosuch"),
    (["--h0", "1,2,3", "--matrix", "W0"], "--h0"),
    (["--out", "x.txt"], "--out"),
    (["--steps", "0"], "steps"),
    (["--init", "bogus", "--size", "3"], "bogus"),
])
def test_bad_arguments_exit_2_with_one_line(args, word):
    res = run(args + ["--steps", "10"] if "--steps" not in args else args)
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and word in lines[0]


def test_registered_in_help():
    res = CliRunner().invoke(cli, ["--help"])
    assert "lyapunov" in res.output
