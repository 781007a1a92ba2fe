"""The command line's promises under generated extreme and hostile options, for every command.

Each generated command line ends in exit 0 (a result, maybe with ``Warning:``/``notice:`` lines) or in
exit 2 with exactly one ``Error: …`` line on stderr: never a traceback, an internal error (exit 1), a
raw NumPy warning (``overflow encountered``), or a hang. In-process runs (click's CliRunner) keep the
default run fast; the cases that can crash or exhaust memory run in a subprocess under a time limit and
an address-space limit (RLIMIT_AS).
"""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.helpers import assert_clean
from tests.promises import time_limit

# RNNDYN_PROMISES_TRIAGE=1: every failure at once, unshrunk (shrinking a slow property can take minutes).
TRIAGE = {"phases": (Phase.explicit, Phase.generate)} if os.environ.get("RNNDYN_PROMISES_TRIAGE") else {}
FAST = settings(**TRIAGE, max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
DEEP = settings(**TRIAGE, max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))


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
