"""The command line's promises under generated extreme and hostile options, for every command.

Each generated command line ends in exit 0 (a result, maybe with ``Warning:``/``notice:`` lines) or in
exit 2 with exactly one ``Error: …`` line on stderr: never a traceback, an internal error (exit 1), a
raw NumPy warning (``overflow encountered``), or a hang. In-process runs (click's CliRunner) keep the
default run fast; the cases that can crash or exhaust memory run in a subprocess under a time limit and
an address-space limit (RLIMIT_AS).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.promises import time_limit

# RNNDYN_PROMISES_TRIAGE=1: every failure at once, unshrunk (shrinking a slow property can take minutes).
TRIAGE = {"phases": (Phase.explicit, Phase.generate)} if os.environ.get("RNNDYN_PROMISES_TRIAGE") else {}
FAST = settings(**TRIAGE, max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
DEEP = settings(**TRIAGE, max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))

RAW_WARNINGS = ("encountered in", "RuntimeWarning", "illegal value", "DGEBAL", "Traceback")

NUM = st.sampled_from(["0", "-0", "1", "-1", "0.5", "1e308", "-1e308", "1.7976931348623157e308", "5e-324",
                       "1e-310", "1e150", "nan", "inf", "-inf", "1e400", "abc", "", "0x10", "1_000"])
INT = st.sampled_from(["0", "1", "2", "3", "-1", "1e3", "99999999999999999999", "abc", "", "2.5"])
PAIR = st.builds(lambda a, b: f"{a},{b}", NUM, NUM)


def _argv(command: str, draw) -> list[str]:
    """A command line of ``command`` with a few options set to edge values (small sizes: patience is not tested)."""
    out = ["--out", "fig.png"]
    cell = ["--cell", draw(st.sampled_from(["euler", "vanilla", "antisymmetric"]))]
    common = ["--eps", draw(NUM), "--gamma", draw(NUM)]
    if command == "phase":
        argv = cell + common + ["--steps", draw(st.sampled_from(["0", "1", "5"])), "--grid", "3",
                                "--init", draw(PAIR), "--random", draw(st.sampled_from(["0", "2"]))]
        if draw(st.booleans()):
            argv += ["--xlim", draw(NUM), draw(NUM), "--ylim", draw(NUM), draw(NUM)]
        return argv + out + (["--matrix", draw(st.sampled_from(["W0", "W+", "fibonacci"]))])
    if command == "cobweb":
        argv = ["--map", draw(st.sampled_from(["logistic:3.5", "quadratic:0.15", "1e308*x", "exp(x)", "1/x",
                                                "logistic:" + draw(NUM), "x**" + draw(NUM)])),
                "--steps", draw(st.sampled_from(["0", "3", "30"])), "--interval", draw(PAIR)]
        if draw(st.booleans()):
            argv += ["--x0", draw(NUM)]
        if draw(st.booleans()):
            argv += ["--compose", draw(st.sampled_from(["1", "3"]))]
        return argv + out + (["--json"] if draw(st.booleans()) else [])
    if command == "norms":
        return (["--cell", draw(st.sampled_from(["linear", "vanilla", "euler", "antisymmetric"])), "--size", "3",
                 "--steps", draw(st.sampled_from(["0", "4", "200"])),
                 "--init", "normal:gain=" + draw(NUM)] + common + out)
    if command == "stability":
        return ["--cell", "euler"] + common + ["--matrix", draw(st.sampled_from(["W0", "Wdiff", "fibonacci"]))]
    if command == "spectrum":
        return ["--cell", "euler"] + common + out
    if command == "lyapunov":
        return ["--cell", "euler", "--steps", draw(st.sampled_from(["1", "20"])), "--size", "2"] + common + out
    if command == "gradients":
        return ["--cell", draw(st.sampled_from(["vanilla", "euler"])), "--steps", draw(st.sampled_from(["1", "10"])),
                "--size", "2"] + out
    return []


def assert_clean(res, argv) -> None:
    """Exit 0, or exit 2 with exactly one ``Error:`` line; no traceback or raw NumPy warning anywhere."""
    err = res.stderr
    assert res.exit_code in (0, 2), (argv, res.exit_code, err, res.exc_info)
    assert not any(w in err or w in res.stdout for w in RAW_WARNINGS), (argv, err)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if res.exit_code == 2:
        errors = [ln for ln in lines if ln.startswith("Error: ")]
        assert len(errors) == 1 and lines[-1] == errors[0], (argv, err)
    for ln in lines:
        assert ln.startswith(("Error: ", "Warning: ", "notice: ", "wrote ", "compiling kernels")), (argv, ln)


def _run(argv):
    from rnndyn_cli.main import cli

    with time_limit(120, " ".join(argv)):
        return CliRunner().invoke(cli, argv, catch_exceptions=True)


COMMANDS = ["phase", "cobweb", "norms", "stability", "spectrum", "lyapunov", "gradients"]


def _fuzz(settings_, command, tmp_path_factory):
    @settings_
    @given(st.data())
    def run(data):
        d = tmp_path_factory.mktemp("cli")
        argv = [command] + _argv(command, data.draw)
        argv = [str(d / a) if a == "fig.png" else a for a in argv]
        assert_clean(_run(argv), argv)
    run()


@pytest.mark.parametrize("command", COMMANDS)
def test_generated_command_lines_end_cleanly(command, tmp_path_factory):
    _fuzz(FAST, command, tmp_path_factory)


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_generated_command_lines_end_cleanly_deep(command, tmp_path_factory):
    _fuzz(DEEP, command, tmp_path_factory)


# --------------------------------------------------------------------------- the command lines


@pytest.mark.parametrize("argv, must", [
    (["cobweb", "--map", "logistic:3.5", "--interval", "-1e308,1e308"], "--interval"),
    (["cobweb", "--map", "logistic:3.5", "--compose", "5", "--interval", "-1e308,1e308"], "--interval"),
    (["phase", "--random", "3", "--xlim", "-1e308", "1e308", "--ylim", "-1e308", "1e308"], "--xlim"),
    (["phase", "--xlim", "-1e308", "1e308"], "--xlim"),
    (["norms", "--eps", "-1"], "--eps"),
    (["norms", "--cell", "vanilla", "--gamma", "nan"], "--gamma"),
    (["phase", "--cell", "vanilla", "--eps", "0"], "--eps"),
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
])
def test_an_option_the_cell_ignores_is_validated_and_noticed(command, argv, tmp_path):
    argv = [command] + argv + ["--steps", "2", "--out", str(tmp_path / "x.png")]
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
