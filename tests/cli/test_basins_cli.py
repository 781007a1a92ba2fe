"""``rnndyn basins`` through click's CliRunner."""

import json

import numpy as np
import pytest

import rnndyn as rd
from tests.helpers import assert_one_line_error, run_cli

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)


def test_draws_a_png_and_prints_the_attractors(tmp_path):
    res = run_cli("basins", "--grid", "16", "--steps", "60", "--out", "b.png")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "b.png").read_bytes()[:8] == PNG_MAGIC
    lines = res.stdout.splitlines()
    assert sum(ln.startswith("attractor") for ln in lines) == 4
    assert all("64 points" in ln for ln in lines if ln.startswith("attractor"))


def test_json_equals_the_library(tmp_path):
    res = run_cli("basins", "--matrix", "identity", "--scale", "3", "--rotate", "0.3", "--grid", "12",
                  "--steps", "30", "--json")
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout)
    c, s = np.cos(0.3), np.sin(0.3)
    bas = rd.basins(rd.VanillaRNN(3 * np.array([[c, -s], [s, c]])), grid=12, steps=30)
    assert [a["kind"] for a in rec["attractors"]] == [a.kind for a in bas.attractors]
    assert [a["count"] for a in rec["attractors"]] == [a.count for a in bas.attractors]
    np.testing.assert_allclose(rec["attractors"][0]["points"], bas.attractors[0].points)
    assert rec["out"].endswith("basins_identity_vanilla.png")
    assert (tmp_path / "basins_identity_vanilla.png").exists()


@pytest.mark.parametrize("args, must", [
    (["--grid", "1"], "--grid"),
    (["--plane", "0", "0"], "--plane"),
    (["--tol", "0"], "--tol"),
    (["--matrix", "fibonacci", "--size", "3"], "size"),
    (["--rotate", "0.1", "--matrix", "nope"], "--matrix"),
])
def test_bad_input_is_one_line_exit_2(args, must):
    assert_one_line_error(run_cli("basins", "--steps", "2", *args), must)
