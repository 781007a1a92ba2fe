"""``rnndyn norms``: verdicts from the measured growth rate, ρ of the iterated Jacobian, one warning."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rnndyn.analysis.growth import KEEP_BAND
from tests.helpers import run_cli


def _rows(out: str) -> dict:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("init")) + 1
    rows = {}
    for line in lines[start:]:
        if line.startswith("verdict:"):
            break
        parts = line.split()
        rows[parts[0]] = parts
    return rows


def test_long_run_names_underflow_and_overflow_and_warns_once():
    res = run_cli("norms", "--steps", "2000")
    assert res.exit_code == 0, res.output
    rows = _rows(res.stdout)
    assert rows["normal:gain=0.5"][2] == "0" and " ".join(rows["normal:gain=0.5"][4:]).startswith("underflowed at t =")
    assert rows["normal:gain=1.5"][2] == "inf" and " ".join(rows["normal:gain=1.5"][4:]).startswith("overflowed at t =")
    assert "diverges" not in res.output and "nan" not in res.stdout
    assert res.stderr.count("Warning:") == 1 and "2 of 3" in res.stderr
    assert "RuntimeWarning" not in res.stderr


def test_slow_growth_is_not_called_keeping_its_norm():
    res = run_cli("norms", "--cell", "antisymmetric", "--gamma", "0.1", "--steps", "1000", "--json")
    assert res.exit_code == 0, res.output
    rec = json.loads(res.stdout)
    assert rec["keep_band"] == KEEP_BAND
    for row in rec["inits"]:
        lr = np.log(row["growth_per_step"])
        want = "vanishes" if lr < -KEEP_BAND else "explodes" if lr > KEEP_BAND else "keeps its norm"
        assert row["verdict"] == want
        growth = row["final_norm"] / row["jacobian_norms"][0]
        if growth > 100:
            assert row["verdict"] == "explodes"


@pytest.mark.parametrize("cell, header", [("linear", "ρ(W)"), ("antisymmetric", "ρ(J at 0)")])
def test_rho_column_is_that_of_the_iterated_matrix(cell, header):
    res = run_cli("norms", "--cell", cell, "--size", "8", "--steps", "3", "--gamma", "0.2")
    assert res.exit_code == 0, res.output
    assert header in res.stdout
    rec = json.loads(run_cli("norms", "--cell", cell, "--size", "8", "--steps", "3", "--gamma", "0.2",
                             "--json").stdout)
    rows = _rows(res.stdout)
    for row in rec["inits"]:
        assert float(rows[row["init"]][1]) == pytest.approx(row["jacobian_spectral_radius"], abs=1e-4)
        if cell == "antisymmetric":
            # ρ(I + ε(W − Wᵀ − γI)) is what the cell iterates; ρ(W) is not
            assert row["jacobian_spectral_radius"] != pytest.approx(row["spectral_radius"], rel=1e-3)


def test_json_puts_a_list_of_numbers_on_one_line():
    res = run_cli("norms", "--size", "3", "--steps", "4", "--json")
    assert '"times": [0, 1, 2, 3, 4],' in res.stdout
    rec = json.loads(res.stdout)
    assert rec["times"] == [0, 1, 2, 3, 4]
    assert len(res.stdout.splitlines()) < 60  # one number per line would take over 80


@pytest.mark.parametrize("args", [["--steps", "2000"], ["--cell", "antisymmetric", "--gamma", "0.1", "--steps", "1000"]])
def test_curves_near_the_float_range_are_drawn(tmp_path, args):
    """A log axis over hundreds of decades broke matplotlib's locator; the axis is fitted and capped instead."""
    import subprocess
    import sys

    out = tmp_path / "n.png"
    code = f"from rnndyn_cli.main import main; main({['norms', *args, '--out', str(out)]!r})"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600,
                         env={**__import__("os").environ, "MPLBACKEND": "Agg"})
    assert res.returncode == 0, res.stderr
    assert out.stat().st_size > 0
    assert "overflow encountered" not in res.stderr and "RuntimeWarning" not in res.stderr
    assert res.stderr.count("Warning:") <= 1
