"""Command lines from hostile and extreme options: one ``Error:`` line naming the option, or a result.

Each case ends in exit 0 (a result, maybe with ``Warning:``/``notice:`` lines) or in exit 2 with
exactly one ``Error: …`` line on stderr: never a traceback, an internal error (exit 1), a raw NumPy
warning or a hang. The cases that can crash or exhaust memory run in a subprocess under an
address-space limit (RLIMIT_AS).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from tests.helpers import assert_clean


def _run(argv):
    from rnndyn_cli.main import cli

    return CliRunner().invoke(cli, argv, catch_exceptions=True)


# --------------------------------------------------------------------------- the command lines


@pytest.mark.parametrize("argv, must", [
    (["cobweb", "--map", "logistic:3.5", "--interval", "-1e308,1e308"], "--interval"),
    (["cobweb", "--map", "logistic:3.5", "--compose", "5", "--interval", "-1e308,1e308"], "--interval"),
    (["phase", "--random", "3", "--xlim", "-1e308", "1e308", "--ylim", "-1e308", "1e308"], "--xlim"),
    (["phase", "--xlim", "-1e308", "1e308"], "--xlim"),
    (["norms", "--eps", "-1"], "--eps"),
    (["norms", "--cell", "vanilla", "--gamma", "nan"], "--gamma"),
    (["phase", "--cell", "vanilla", "--eps", "0"], "--eps"),
    (["cobweb", "--map", "x**0.5", "--x0", "1e150", "--interval", "1e150,1.7976931348623157e308"], "--interval"),
])
def test_bad_values_name_the_option(argv, must, tmp_path):
    argv = argv + ["--out", str(tmp_path / "x.png")]
    res = _run(argv)
    assert_clean(res, argv)
    assert res.exit_code == 2 and res.stderr.startswith(f"Error: {must}:"), res.stderr


@pytest.mark.parametrize("argv", [
    ["phase", "--init", "1e308,1e308"],
    ["phase", "--init", "1e308,1e308", "--json"],
    ["phase", "--cell", "vanilla", "--activation", "linear", "--matrix", "W+", "--steps", "2000"],
    ["spectrum", "--cell", "euler", "--eps", "1e-310", "--gamma", "1000"],  # 1/ε is inf: the half-plane is drawn
    ["cobweb", "--map", "x**0.5", "--x0", "1e150", "--steps", "3", "--interval", "-5e299,5e299"],
])
def test_extreme_portraits_end_in_a_picture(argv, tmp_path):
    argv = argv + ["--out", str(tmp_path / "x.png")]
    res = _run(argv)
    assert_clean(res, argv)
    assert res.exit_code == 0 and (tmp_path / "x.png").stat().st_size > 0


def test_escaping_cobweb_orbits_are_reported_once(tmp_path):
    argv = ["cobweb", "--map", "quadratic:0.15", "--x0", "5", "--x0", "0.5", "--out", str(tmp_path / "c.png")]
    res = _run(argv)
    assert_clean(res, argv)
    warnings_ = [ln for ln in res.stderr.splitlines() if ln.startswith("Warning: ")]
    assert len(warnings_) == 1 and "x0 = 5 at step 9" in warnings_[0], res.stderr


@pytest.mark.parametrize("command", ["phase", "norms", "cobweb"])
def test_an_unwritable_out_is_refused_before_the_work_naming_the_users_path(command, monkeypatch):
    import rnndyn_cli.output as output

    if not os.path.isdir("/proc/self"):
        pytest.skip("needs /proc")
    monkeypatch.setattr(output, "save_figure", lambda *a, **k: pytest.fail("the work ran"))
    argv = [command] + (["--map", "logistic:3.5"] if command == "cobweb" else []) + ["--out", "/proc/x.png"]
    res = _run(argv)
    assert_clean(res, argv)
    assert res.exit_code == 2 and "'/proc/x.png'" in res.stderr and "tmp" not in res.stderr, res.stderr


@pytest.mark.parametrize("command, argv", [
    ("norms", ["--eps", "0.2"]), ("norms", ["--cell", "vanilla", "--gamma", "0.3"]),
    ("phase", ["--cell", "vanilla", "--eps", "0.2"]),
    ("stability", ["--cell", "vanilla", "--eps", "0.2"]), ("stability", ["--cell", "vanilla", "--gamma", "0.1"]),
    ("spectrum", ["--cell", "vanilla", "--gamma", "0.1"]), ("lyapunov", ["--cell", "vanilla", "--eps", "0.2"]),
    ("gradients", ["--cell", "vanilla", "--gamma", "0.1"]),
])
def test_an_option_the_cell_ignores_is_validated_and_noticed(command, argv, tmp_path):
    from rnndyn_cli.main import cli

    opts = {o for p in cli.commands[command].params for o in getattr(p, "opts", ())}
    argv = [command] + argv + (["--steps", "2"] if "--steps" in opts else []) \
        + (["--out", str(tmp_path / "x.png")] if "--out" in opts else [])
    res = _run(argv)
    assert_clean(res, argv)
    assert res.exit_code == 0
    notices = [ln for ln in res.stderr.splitlines() if ln.startswith("notice: ")]
    assert len(notices) == 1 and "ignores --" in notices[0], res.stderr


# --------------------------------------------------------------------------- in a subprocess: crashes and memory


def _rnndyn(argv, cwd, timeout=120, memory=3 * 2**30):
    def limit():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    code = "import sys; from rnndyn_cli.main import main; sys.argv[0] = 'rnndyn'; main(sys.argv[1:])"
    env = dict(os.environ, MPLBACKEND="Agg")
    return subprocess.run([sys.executable, "-c", code, *argv], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit, env=env)


@pytest.mark.parametrize("argv", [
    ["stability", "--matrix", "zero.npy"],
    ["stability", "--matrix", "fifo.npy"],
    ["phase", "--matrix", "zero.csv", "--out", "x.png"],
])
def test_hostile_files_and_sizes_in_a_subprocess(argv, tmp_path):
    os.symlink("/dev/zero", tmp_path / "zero.npy")
    os.symlink("/dev/zero", tmp_path / "zero.csv")
    os.mkfifo(tmp_path / "fifo.npy")
    proc = _rnndyn(argv, tmp_path)
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert len(lines) == 1 and lines[0].startswith("Error: ") and "internal error" not in lines[0], proc.stderr
