"""``rnndyn stability`` and ``rnndyn spectrum`` through click's CliRunner."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from rnndyn_cli.main import cli
from rnndyn_cli.stability import format_report

import rnndyn as rd

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
W0 = rd.named_matrix("W0")


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return CliRunner()


def run(runner, *args):
    return runner.invoke(cli, list(args), catch_exceptions=False)


def one_line_error(result):
    assert result.exit_code == 2, (result.exit_code, result.output)
    err = result.stderr.strip()
    assert err.startswith("Error:") and "\n" not in err and "Traceback" not in err, err
    assert result.stdout == ""
    return err


# --------------------------------------------------------------------------- rnndyn stability


def test_headline(runner):
    r = run(runner, "stability", "--matrix", "W0", "--gamma", "0.15")
    assert r.exit_code == 0, r.output
    rep = rd.stability(rd.EulerRNN(W0, eps=0.1, gamma=0.15))
    assert r.stdout == format_report(rep) + "\n"  # stdout is the library's result
    out = r.stdout
    assert "-0.15 ± 2i" in out  # the eigenvalues
    assert "1.005099" in out  # the Euler factor at the default ε = 0.1
    assert "ODE: max Re λ(M) ≤ 0             stable" in out
    assert "forward Euler: max|1 + ελ| ≤ 1   UNSTABLE" in out
    assert "0.202041" in out  # the critical γ
    assert rep.summary in out


def test_json(runner):
    r = run(runner, "stability", "--matrix", "W0", "--gamma", "0.15", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    rep = rd.stability(rd.EulerRNN(W0, eps=0.1, gamma=0.15))
    assert [complex(*z) for z in data["matrix_eigenvalues"]] == list(rep.matrix_eigenvalues)
    assert data["euler_factor"] == rep.euler_factor and data["critical_gamma"] == rep.critical_gamma
    assert data["continuous_stable"] is True and data["euler_stable"] is False and data["stable"] is False
    assert data["kind"] == "EulerRNN" and data["eps"] == 0.1 and data["gamma"] == 0.15
    assert data["summary"] == rep.summary
    # nan critical γ is written as the string "nan", with the reason
    data = json.loads(run(runner, "stability", "--matrix", "W0", "--eps", "1", "--json").stdout)
    assert data["critical_gamma"] == "nan" and "no γ exists" in data["critical_gamma_note"]


@pytest.mark.parametrize("args, code", [
    (["--matrix", "W0", "--gamma", "0.15"], 1),
    (["--matrix", "W0", "--gamma", "0.25"], 0),
    (["--matrix", "Wdiff", "--eps", "0.01"], 0),
    (["--matrix", "W0", "--cell", "antisymmetric", "--gamma", "0.5"], 1),  # W0 − W0ᵀ: ±4i, γ_c = 0.835
    (["--matrix", "W0", "--cell", "antisymmetric", "--gamma", "0.9"], 0),
    (["--matrix", "rotation", "--cell", "vanilla"], 0),
    (["--matrix", "W+", "--cell", "vanilla"], 1),
])
def test_check_exit_code(runner, args, code):
    r = run(runner, "stability", *args, "--check")
    assert r.exit_code == code, r.output
    assert "overall:" in r.stdout  # the table is printed either way


def test_cells_state_and_files(runner, tmp_path):
    r = run(runner, "stability", "--matrix", "rotation", "--cell", "vanilla", "--state", "0.5,-0.3")
    assert r.exit_code == 0, r.output
    rep = rd.stability(rd.VanillaRNN(rd.named_matrix("rotation")), h=[0.5, -0.3])
    assert r.stdout == format_report(rep) + "\n"
    assert "h = (0.5, -0.3)" in r.stdout and "norm-preserving" in r.stdout
    W = rd.init.normal(5, rng=0)
    np.save(tmp_path / "w.npy", W)
    np.savez(tmp_path / "w.npz", W_hh=W, other=np.eye(2))
    a = run(runner, "stability", "--matrix", "w.npy", "--cell", "antisymmetric", "--eps", "0.05")
    b = run(runner, "stability", "--matrix", "w.npz:W_hh", "--cell", "antisymmetric", "--eps", "0.05")
    assert a.exit_code == 0 and a.stdout == b.stdout
    assert a.stdout == format_report(rd.stability(rd.AntisymmetricRNN(W, eps=0.05))) + "\n"
    r = run(runner, "stability", "--matrix", "W0", "--activation", "sigmoid")
    assert "eigenvalues of J₀ = φ'(0)·M" in r.stdout


@pytest.mark.parametrize("args, match", [
    (["--matrix", "nope"], "nope"),
    (["--matrix", "W0", "--cell", "vanilla", "--eps", "-1"], "--eps: expected a number > 0"),
    (["--matrix", "W0", "--eps", "-1"], "eps: expected a number > 0"),
    (["--matrix", "W0", "--gamma", "-1"], "gamma: expected a number >= 0"),
    (["--matrix", "W0", "--state", "1,2,3"], "h: expected shape (2,)"),
    (["--matrix", "W0", "--state", "a,b"], "--state"),
    (["--matrix", "W0", "--tol", "-1"], "--tol"),
])
def test_bad_args(runner, args, match):
    err = one_line_error(run(runner, "stability", *args))
    assert match in err


def test_non_square_file(runner, tmp_path):
    np.save(tmp_path / "r.npy", np.ones((2, 3)))
    err = one_line_error(run(runner, "stability", "--matrix", "r.npy"))
    assert "square" in err


# --------------------------------------------------------------------------- rnndyn spectrum


def test_spectrum_writes_plot(runner):
    r = run(runner, "spectrum", "--matrix", "W0", "--gamma", "0.15", "--compare", "0", "--critical",
            "--out", "w0.png")
    assert r.exit_code == 0, r.output
    assert Path("w0.png").read_bytes()[:8] == PNG_MAGIC and "wrote w0.png" in r.stderr
    gc = rd.analysis.stability.critical_gamma(W0, 0.1)
    want = [rd.stability(rd.EulerRNN(W0, eps=0.1, gamma=g)).summary for g in (0.15, 0.0, gc)]
    assert r.stdout.splitlines() == want


def test_spectrum_json_random_and_vanilla(runner):
    r = run(runner, "spectrum", "--random", "12", "--init", "antisymmetric:std=0.5", "--cell", "antisymmetric",
            "--gamma", "0.1", "--json", "--out", "a.svg")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    W = rd.init.from_spec("antisymmetric:std=0.5", 12, rng=0)
    rep = rd.stability(rd.AntisymmetricRNN(W, eps=0.1, gamma=0.1))
    assert len(data) == 1 and data[0]["label"] == "γ = 0.1" and data[0]["summary"] == rep.summary
    assert Path("a.svg").read_text().lstrip().startswith("<?xml")
    r = run(runner, "spectrum", "--random", "6", "--init", "normal:std=0.3", "--cell", "vanilla", "--seed", "3")
    assert r.exit_code == 0 and Path("spectrum.png").is_file()
    rep = rd.stability(rd.VanillaRNN(rd.init.from_spec("normal:std=0.3", 6, rng=3)))
    assert r.stdout.strip() == rep.summary


def test_spectrum_critical_without_solution_warns(runner):
    r = run(runner, "spectrum", "--matrix", "W0", "--eps", "1", "--critical", "--out", "x.png")
    assert r.exit_code == 0 and "Warning: --critical: no γ exists" in r.stderr
    assert len(r.stdout.splitlines()) == 1


@pytest.mark.parametrize("args, match", [
    (["--matrix", "W0", "--random", "4"], "--matrix, --random"),
    (["--init", "normal"], "--init: only used with --random"),
    (["--random", "4", "--init", "bogus"], "--init: unknown initialisation 'bogus'"),
    (["--random", "4", "--init", "normal:gain=x"], "NAME[:KEY=VALUE]"),
    (["--random", "4", "--init", "orthogonal:std=1"], "orthogonal takes gain"),
    (["--cell", "vanilla", "--critical"], "--critical: a vanilla cell"),
    (["--cell", "vanilla", "--compare", "0.1"], "--compare: a vanilla cell"),
    (["--out", "x.txt"], "--out"),
    (["--compare", "-1"], "--compare"),
])
def test_spectrum_bad_args(runner, args, match):
    err = one_line_error(run(runner, "spectrum", *args))
    assert match in err


def test_registered_in_help(runner):
    r = run(runner, "--help")
    assert "stability" in r.stdout and "spectrum" in r.stdout
    assert math.isfinite(rd.analysis.stability.critical_gamma(W0, 0.1))
