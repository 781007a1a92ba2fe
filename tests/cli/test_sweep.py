"""``rnndyn sweep``: prints the library's summary, draws the plot, refuses malformed specs by option name, and
runs on a real ``dask scheduler`` + ``dask worker`` pair through ``--scheduler``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import rnndyn as rd
from tests.helpers import assert_one_line_error, run_cli

ARGS = ["sweep", "--size", "3", "--eps", "0.1,0.3", "--gamma", "0:0.4:3", "--seeds", "2", "--steps", "20",
        "--measure", "lyapunov_max", "--measure", "euler_factor", "--measure", "critical_gamma"]
GRID = {"size": 3, "eps": (0.1, 0.3), "gamma": "0:0.4:3"}
MEASURES = ["lyapunov_max", "euler_factor", "critical_gamma"]


def _summary_rows(res):
    data = json.loads(res.stdout)
    return data, [dict(zip(data["summary"]["columns"], r)) for r in data["summary"]["rows"]]


def test_json_is_the_library_summary():
    res = run_cli([*ARGS, "--workers", "0", "--json"])
    assert res.exit_code == 0, res.output
    data, rows = _summary_rows(res)
    want = rd.sweep(GRID, MEASURES, steps=20, seeds=2, workers=0, progress=False).summary()
    assert data["rows"] == 12 and data["failed"] == 0 and data["engine"] == "this process (serial)"
    assert len(rows) == len(want) == 6
    for i, r in enumerate(rows):
        for c in want.columns:
            v = want[c][i]
            assert r[c] == (v.item() if hasattr(v, "item") else v), c


def test_text_output_and_folder(tmp_path):
    out = tmp_path / "run"
    res = run_cli([*ARGS, "--workers", "0", "--out", str(out)])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["eps", "gamma", "lyapunov_max", "mean", "±", "std", "euler_factor", "mean", "±",
                                "std", "critical_gamma", "mean", "±", "std"]
    assert len(lines) == 1 + 6 + 1 and lines[-1].startswith("12 rows (6 configurations × 2 seeds), 0 with errors")
    table = (out / "sweep.csv").read_text()
    assert table == rd.sweep(GRID, MEASURES, steps=20, seeds=2, workers=0, progress=False).to_csv()
    again = run_cli([*ARGS, "--workers", "0", "--out", str(out)])
    assert_one_line_error(again, "--resume")
    resumed = run_cli([*ARGS, "--workers", "0", "--out", str(out), "--resume", "--json"])
    assert resumed.exit_code == 0 and json.loads(resumed.stdout)["engine"].startswith("nothing left")


def test_plot_heatmap_with_overlays_and_lines(tmp_path):
    from matplotlib.collections import QuadMesh

    from rnndyn.analysis.sweep import stability_overlay
    from rnndyn.plots.sweep import plot_sweep

    res = run_cli([*ARGS, "--workers", "0", "--plot", str(tmp_path / "h.png"), "--json"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "h.png").stat().st_size > 1000
    r = rd.sweep({"size": 4, "eps": "0.1,0.2,0.3", "gamma": "0:0.8:5"}, ["lyapunov_max"], steps=10, seeds=2,
                 workers=0, progress=False)
    ov = stability_overlay(r, "eps", "gamma")
    fig = plot_sweep(r, overlay=ov)
    ax = fig.axes[0]
    mesh = [c for c in ax.collections if isinstance(c, QuadMesh)][0]
    np.testing.assert_allclose(mesh.get_array().filled(np.nan).reshape(5, 3), r.pivot("lyapunov_max", "eps",
                                                                                         "gamma")[2])
    labels = ax.get_legend_handles_labels()[1]
    assert any("critical γ" in t for t in labels) and any("forward-Euler" in t for t in labels)
    crit = [ln for ln in ax.lines if "critical" in ln.get_label()][0]
    np.testing.assert_allclose(crit.get_ydata(), ov["critical_gamma"])
    line = plot_sweep(rd.sweep({"size": 4, "gamma": "0:0.8:3"}, ["lyapunov_max"], steps=10, seeds=3, workers=0,
                               progress=False))
    assert len(line.axes[0].lines) >= 1 and line.axes[0].get_xlabel() == "diffusion γ"
    res = run_cli(["sweep", "--size", "3", "--gamma", "0,0.5", "--steps", "5", "--workers", "0", "--measure",
                   "spectral_radius", "--plot", str(tmp_path / "l.png")])
    assert res.exit_code == 0, res.output and (tmp_path / "l.png").exists()


@pytest.mark.parametrize("args, option", [
    (["--gamma", "0:1"], "--gamma"),
    (["--gamma", "-0.5"], "--gamma"),
    (["--eps", "log:0:1:4"], "--eps"),
    (["--size", "two"], "--size"),
    (["--init", "bogus"], "--init"),
    (["--cell", "lstm"], "--cell"),
    (["--activation", "softmax"], "--activation"),
    (["--measure", "lyapunov"], "--measure"),
    (["--measure", "lyapunov_top:0"], "--measure"),
    (["--measure", "lyapunov_top:9"], "--measure"),
    (["--inputs", "noise:x"], "--inputs"),
    (["--workers", "2", "--scheduler", "tcp://127.0.0.1:1"], "--scheduler"),
    (["--resume"], "--resume"),
    (["--plot", "x.gif"], "png"),
])
def test_malformed_specs_exit_2_naming_the_option(args, option):
    res = run_cli(["sweep", "--size", "3", "--steps", "5", "--workers", "0", *args])
    assert_one_line_error(res, option)


def _dask_cli(*args):
    exe = Path(sys.executable).with_name("dask")
    return [str(exe), *args] if exe.exists() else [sys.executable, "-m", "dask", *args]


def test_scheduler_and_worker_subprocesses_serve_the_sweep(tmp_path):
    pytest.importorskip("distributed")
    sched_file = tmp_path / "scheduler.json"
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    procs = []
    try:
        procs.append(subprocess.Popen(_dask_cli("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                                "--scheduler-file", str(sched_file)),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        procs.append(subprocess.Popen(_dask_cli("worker", address, "--nthreads", "1", "--nworkers", "1",
                                                "--no-dashboard", "--host", "127.0.0.1"),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env))
        from distributed import Client

        with Client(address, timeout=60) as c:
            c.wait_for_workers(1, timeout=60)
        res = run_cli([*ARGS, "--scheduler", address, "--json", "--chunk", "2"])
        assert res.exit_code == 0, res.output
        data, rows = _summary_rows(res)
        assert data["engine"] == "dask (1 worker)" and data["failed"] == 0
        want = rd.sweep(GRID, MEASURES, steps=20, seeds=2, workers=0, progress=False).summary()
        got = np.array([r["lyapunov_max_mean"] for r in rows])
        np.testing.assert_allclose(got, want["lyapunov_max_mean"], rtol=1e-12, atol=1e-15)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
