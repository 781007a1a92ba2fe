"""``rnndyn train``, ``rnndyn compare-runs`` and ``rnndyn slowpoints`` from the command line."""

import json

import numpy as np

import rnndyn as rd
from rnndyn.analysis.train import TrainResult
from tests.helpers import assert_one_line_error, run_cli

TINY = ["train", "--task", "adding", "--length", "6", "--size", "4", "--train-size", "32", "--test-size", "8",
        "--batch", "16", "--lyapunov-every", "0"]


def test_train_json_equals_the_library(tmp_path):
    res = run_cli(*TINY, "--epochs", "2", "--out", str(tmp_path / "r.json"), "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    task = rd.make_task("adding", length=6, n_train=32, n_test=8, seed=0)
    cell = rd.make_cell("antisymmetric", 4, 2, eps=0.1, gamma=0.01, rng=0)
    run = rd.train(cell, task, epochs=2, batch=16, lr=1e-3, clip=1.0, seed=0, lyapunov_every=0)
    assert doc["history"]["test_loss"] == list(run.history["test_loss"])
    assert doc["epochs"] == 2 and doc["baseline"] == task.baseline
    saved = rd.load_run(tmp_path / "r.json")
    assert np.array_equal(saved.cell.W, run.cell.W)


def test_train_prints_a_summary_and_a_line_per_epoch(tmp_path):
    res = run_cli(*TINY, "--epochs", "2", "--out", str(tmp_path / "r.npz"))
    assert res.exit_code == 0, res.output
    out = res.stdout.splitlines()
    assert out[0] == "antisymmetric n = 4 on adding (T = 6): 2 epochs"
    assert out[1].startswith("test loss ") and "baseline 0.1667" in out[1]
    assert out[-1] == f"saved {tmp_path / 'r.npz'}"
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("epoch ")]
    assert [ln.split()[1] for ln in lines] == ["1/2", "2/2"]


def test_resume_from_the_command_line_equals_one_run(tmp_path):
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert run_cli(*TINY, "--epochs", "3", "--out", str(a)).exit_code == 0
    assert run_cli(*TINY, "--epochs", "1", "--out", str(b)).exit_code == 0
    assert run_cli("train", "--epochs", "3", "--resume", str(b), "--out", str(b)).exit_code == 0
    ra, rb = rd.load_run(a), rd.load_run(b)
    assert rb.epochs == 3 and np.array_equal(ra.cell.W, rb.cell.W) and np.array_equal(ra.readout[0], rb.readout[0])


def test_compare_runs(tmp_path):
    paths = []
    for cell in ("antisymmetric", "vanilla"):
        p = tmp_path / f"{cell}.json"
        assert run_cli(*TINY, "--cell", cell, "--epochs", "2", "--out", str(p)).exit_code == 0
        paths.append(str(p))
    res = run_cli("compare-runs", *paths, "--out", str(tmp_path / "c.png"))
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].split()[:3] == ["run", "cell", "task"]
    assert lines[1].split()[:4] == ["antisymmetric", "antisymmetric", "adding6", "2"]
    assert lines[2].split()[:4] == ["vanilla", "vanilla", "adding6", "2"]
    assert (tmp_path / "c.png").stat().st_size > 0
    doc = json.loads(run_cli("compare-runs", *paths, "--label", "A", "--label", "V", "--json").stdout)
    assert [r["label"] for r in doc["runs"]] == ["A", "V"]
    assert doc["runs"][1]["test_loss"] == rd.load_run(paths[1]).history["test_loss"][-1]


def _memory_run(tmp_path):
    """A saved run whose cell is a hand-built 3-bit memory: 8 stable states, 18 saddles, 1 source."""
    W = 2.0 * np.eye(3) + 0.05 * np.array([[0, 1, -1], [1, 0, 1], [-1, 1, 0]])
    cell = rd.VanillaRNN(W, V=np.eye(3), b=np.zeros(3))
    task = rd.make_task("flipflop", length=60, n_train=4, n_test=16, seed=0)
    cfg = {"cell": "vanilla", "activation": "tanh", "size": 3, "d": 3, "gated": False, "task": task.spec,
           "output": task.output, "baseline": task.baseline, "batch": 4, "seed": 0, "clip": None,
           "clip_mode": "global", "train_gamma": True, "train_eps": False, "lyapunov_every": 0,
           "optimizer": {"optimizer": "adam", "lr": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
           "early_stop": None}
    run = TrainResult(cell, (np.eye(3), np.zeros(3)), {"loss": np.zeros(0)}, cfg, {"t": 0}, 0, False)
    return rd.save_run(run, tmp_path / "mem.json")


def test_slowpoints_of_a_saved_run(tmp_path):
    path = _memory_run(tmp_path)
    res = run_cli("slowpoints", str(path), "--starts", "400", "--noise", "1", "--out", str(tmp_path / "s.png"))
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines()[0] == "27 points with q < 1e-10 from 400 starts: 18 saddle, 8 sink, 1 source"
    assert (tmp_path / "s.png").stat().st_size > 0
    doc = json.loads(run_cli("slowpoints", str(path), "--starts", "400", "--noise", "1", "--json").stdout)
    assert doc["counts"] == {"saddle": 18, "sink": 8, "source": 1}
    sinks = [p for p in doc["points"] if p["kind"] == "sink"]
    assert all(p["max_abs_eigenvalue"] < 1 and p["q"] < 1e-10 for p in sinks)


def test_slowpoints_draws_a_bar_on_a_terminal(tmp_path, monkeypatch):
    import rnndyn_cli.output as output

    path = _memory_run(tmp_path)
    monkeypatch.setattr(output, "progress_enabled", lambda: True)
    res = run_cli("slowpoints", str(path), "--starts", "64")
    assert res.exit_code == 0, res.output
    assert "slow points" in res.stderr  # off a terminal, click prints the label once
    monkeypatch.setattr(output, "progress_enabled", lambda: False)
    assert "slow points" not in run_cli("slowpoints", str(path), "--starts", "64").stderr


def test_bad_arguments_are_one_line_errors(tmp_path):
    assert_one_line_error(run_cli(*TINY, "--lr", "0"), "--lr")
    assert_one_line_error(run_cli(*TINY, "--cell", "vanilla", "--gated"), "--gated")
    assert_one_line_error(run_cli(*TINY, "--out", str(tmp_path / "r.txt")), "--out")
    assert_one_line_error(run_cli(*TINY, "--clip", "-1"), "--clip")
    rd.save_result(rd.simulate(rd.VanillaRNN(np.eye(2)), np.zeros(2), steps=2), tmp_path / "t.json")
    assert_one_line_error(run_cli("slowpoints", str(tmp_path / "t.json")), "path")
    assert_one_line_error(run_cli("compare-runs", str(tmp_path / "t.json")), "path")
    path = _memory_run(tmp_path)
    assert_one_line_error(run_cli("compare-runs", str(path), "--label", "a", "--label", "b"), "--label")
