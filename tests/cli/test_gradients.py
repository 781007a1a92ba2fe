"""``rnndyn gradients``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner
from rnndyn_cli.main import cli

import rnndyn as rd
from rnndyn.analysis.gradients import default_inits


def run(args):
    return CliRunner().invoke(cli, ["gradients", *args])


def test_default_picture_vanishing_exploding_flat(tmp_path):
    out = tmp_path / "g.png"
    res = run(["--size", "16", "--steps", "60", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.exists() and out.stat().st_size > 5000
    assert f"wrote {out}" in res.stderr
    lines = {ln.split()[0]: ln.split() for ln in res.stdout.splitlines()[2:]}
    orthogonal, small, large, identity = default_inits(16)  # orthogonal, std 0.5/√n, std 3/√n, identity
    assert set(lines) == {orthogonal, small, large, identity}
    assert lines[orthogonal][-1] == "kept"
    assert lines[small][-1] == "vanishing"
    assert lines[large][-1] == "exploding"


@pytest.mark.usefixtures("as_the_cli")
def test_json_equals_the_library_result():
    args = ["--cell", "antisymmetric", "--size", "8", "--steps", "40", "--gamma", "0.2", "--eps", "0.05",
            "--init", "normal:std=0.3", "--init", "orthogonal,gamma=1,label=damped, γ = 1", "--seed", "3",
            "--input-scale", "0.5", "--json"]
    res = run(args)
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    lib = rd.gradient_norms("antisymmetric", ["normal:std=0.3", "orthogonal,gamma=1,label=damped, γ = 1"], size=8,
                            steps=40, eps=0.05, gamma=0.2, input_scale=0.5, h0=np.zeros(8), rng=3)
    assert [ln["label"] for ln in data["lines"]] == list(lib.labels) == ["normal:std=0.3", "damped, γ = 1"]
    np.testing.assert_array_equal(np.array([ln["norms"] for ln in data["lines"]]), lib.norms)
    assert [ln["gamma"] for ln in data["lines"]] == [0.2, 1.0]
    assert data["times"] == list(range(41)) and data["size"] == 8 and data["out"] is None
    assert [ln["ratio"] for ln in data["lines"]] == pytest.approx(list(lib.ratios))
    text = run(args[:-1])
    assert f"{lib.norms[0, 0]:.4g}" in text.stdout and f"{lib.ratios[1]:.4g}" in text.stdout


def test_csc321_scalar_case():
    res = run(["--activation", "linear", "--size", "1", "--steps", "50", "--init", "identity:gain=1.1",
               "--init", "identity:gain=0.9", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert round(data["lines"][0]["norm_at_0"], 1) == 117.4
    assert round(data["lines"][1]["norm_at_0"], 5) == 0.00515
    assert [ln["verdict"] for ln in data["lines"]] == ["exploding", "vanishing"]


def test_identity_relu_with_positive_state_is_flat():
    res = run(["--size", "8", "--steps", "30", "--init", "identity,activation=relu", "--h0", "0.5", "--json"])
    assert res.exit_code == 0, res.output
    line = json.loads(res.stdout)["lines"][0]
    assert line["activation"] == "relu" and line["ratio"] == pytest.approx(1.0)


@pytest.mark.parametrize("args, match", [
    (["--init", "bogus"], "init"),
    (["--init", "normal:0.1,foo=2"], "inits"),
    (["--size", "0"], "--size"),
    (["--eps", "-1"], "eps"),
    (["--gamma", "-0.5"], "gamma"),
    (["--cell", "lstm"], "--cell"),
    (["--out", "x.txt"], "--out"),
    (["--steps", "-3"], "--steps"),
])
def test_bad_arguments_exit_2_with_one_line(args, match):
    res = run(["--size", "4", "--steps", "5", *args])
    assert res.exit_code == 2, res.output
    err = res.stderr.strip()
    assert err.startswith("Error:") and len(err.splitlines()) == 1 and match in err
    assert res.stdout == ""
