"""The CLI's error path: bad arguments exit 2 with one line on stderr, never a traceback.

Every command registered on ``rnndyn_cli.main.cli`` is run with a table of bad
arguments for the options it has; the error path itself (RnndynGroup: one-line
errors, warnings routed to stderr, ``--debug`` tracebacks, exit codes) is tested
on a small group of its own.
"""

from __future__ import annotations

import subprocess
import sys

import click
import numpy as np
import pytest
from click.testing import CliRunner
from rnndyn_cli.errors import RnndynGroup, fail
from rnndyn_cli.main import cli

import rnndyn as rd
from tests.helpers import assert_one_line_error as _assert_one_line_error
from tests.helpers import run_cli as _run

# --------------------------------------------------------------------------- bad files for --matrix


@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    np.save(d / "rect.npy", np.ones((2, 3)))
    np.save(d / "nan.npy", np.array([[0.0, np.nan], [1.0, 0.0]]))
    np.save(d / "complex.npy", np.eye(2) * 1j)
    np.save(d / "pickled.npy", np.array([[None, 1], [2, 3]], dtype=object), allow_pickle=True)
    np.savez(d / "lstm.npz", weight_hh_l0=np.ones((8, 2)))
    np.savez(d / "two.npz", A=np.eye(2), B=np.eye(2))
    (d / "text.csv").write_text("1,2\n3,oops\n")
    (d / "cut.npy").write_bytes((d / "rect.npy").read_bytes()[:-8])
    (d / "a_file").write_text("not a folder")
    return d


# (option, args, a word the message must contain); {d} is the folder of bad files.
MATRIX_CASES = [
    (["nosuch"], "nosuch"), (["w0"], "did you mean 'W0'"), (["{d}/missing.npy"], "no such file"),
    (["{d}/rect.npy"], "square"), (["{d}/nan.npy"], "finite"), (["{d}/complex.npy"], "complex"),
    (["{d}/pickled.npy"], "Python objects"), (["{d}/lstm.npz"], "LSTM"), (["{d}/two.npz"], "pick one"),
    (["{d}/text.csv"], "could not read"), (["{d}/cut.npy"], "truncated"), (["{d}/w.xlsx"], "suffix"),
    (["{d}/a_file"], "suffix"),
]
OPTION_CASES = {
    "--matrix": MATRIX_CASES,
    "--eps": [(["0"], "eps"), (["-0.5"], "eps"), (["nan"], "eps"), (["inf"], "eps"), (["abc"], "eps")],
    "--gamma": [(["-1"], "gamma"), (["nan"], "gamma"), (["x"], "gamma")],
    "--steps": [(["-5"], "steps"), (["ten"], "steps"), (["1.5"], "steps")],
    "--cell": [(["lstmm"], "cell")],
    "--activation": [(["gelu"], "activation")],
    "--seed": [(["abc"], "seed")],
    "--dpi": [(["0"], "dpi")],
    "--tol": [(["-1"], "tol")],
    "--state": [(["a,b"], "state"), (["nan,0"], "state"), (["1,2,3"], "h")],
    "--size": [(["0"], "size")],
    "--grid": [(["0"], "grid")],
    "--random": [(["-1"], "random")],
    "--compose": [(["0"], "compose")],
    "--x0": [(["abc"], "x0")],
    "--interval": [(["a"], "interval")],
    "--compare": [(["-1"], "compare")],
    "--map": [(["nosuchmap"], "map"), (["logistic:abc"], "map")],
    "--only": [(["nosuchfigure"], "nosuchfigure")],
    "--format": [(["bmp"], "format")],
    "--out": [(["{d}/figure.xyz"], "out"), (["{d}/a_file/figure.png"], "a_file")],
}
# Options whose meaning differs in one command: sweep's --out is the folder its table goes to (any name).
COMMAND_CASES = {("sweep", "--out"): [(["{d}/a_file/table"], "a_file")]}
# A command-specific context that makes an option matter (eps/gamma are meaningless for some cells).
CONTEXT = {"--eps": ["--cell", "euler"], "--gamma": ["--cell", "euler"]}
# Required arguments of commands (so that a case fails for its own bad argument, not a missing one).
REQUIRED = {"cobweb": ["--map", "logistic:3.5"]}


def _registered():
    return sorted(cli.commands)


def _cases():
    for name in _registered():
        cmd = cli.commands[name]
        opts = {o for p in cmd.params for o in p.opts}
        for opt, cases in OPTION_CASES.items():
            if opt not in opts:
                continue
            cases = COMMAND_CASES.get((name, opt), cases)
            for i, (args, must) in enumerate(cases):
                yield pytest.param(name, opt, args, must, id=f"{name}{opt}-{i}")
        yield pytest.param(name, "--no-such-option", [], "no-such-option", id=f"{name}-unknown-option")


@pytest.mark.parametrize("command, option, args, must", list(_cases()))
def test_bad_arguments_exit_2_with_one_line(command, option, args, must, bad_files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # whatever a command writes stays here
    argv = [command] + (REQUIRED.get(command, []) if option != "--map" else [])
    cmd_opts = {o for p in cli.commands[command].params for o in p.opts}
    ctx = CONTEXT.get(option, [])
    if ctx and ctx[0] in cmd_opts:
        argv += ctx
    if option == "--no-such-option":
        argv.append(option)
    else:
        argv += [option] + [a.format(d=bad_files) for a in args]
    if command in ("phase", "spectrum", "norms", "cobweb") and option != "--out" and "--out" in cmd_opts:
        argv += ["--out", "ignored.png"]  # inside the isolated folder
    _assert_one_line_error(_run(argv), must)


def test_every_command_has_bad_argument_cases():
    """A new command gets at least its unknown-option case; one with shared options gets their table."""
    assert "info" in cli.commands
    ids = [c.id for c in _cases()]
    for name in _registered():
        assert f"{name}-unknown-option" in ids


def test_top_level_usage_errors():
    err = _assert_one_line_error(_run(["nosuchcommand"]), "nosuchcommand")
    assert "Usage" not in err
    _assert_one_line_error(_run(["--no-such-flag"]), "no-such-flag")


def test_help_and_version_exit_0():
    assert _run(["--help"]).exit_code == 0
    res = _run(["--version"])
    assert res.exit_code == 0 and rd.__version__ in res.stdout
    for name in _registered():
        assert _run([name, "--help"]).exit_code == 0, name


# --------------------------------------------------------------------------- divergence is a one-line warning


def test_divergence_warning_names_the_step(tmp_path):
    if "phase" not in cli.commands:
        pytest.skip("phase is not registered")
    np.save(tmp_path / "big.npy", np.eye(2) * 1e100)
    res = CliRunner().invoke(cli, ["phase", "--matrix", str(tmp_path / "big.npy"), "--cell", "vanilla",
                                   "--activation", "linear", "--steps", "20", "--out", str(tmp_path / "p.png")])
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stderr.splitlines() if "diverged" in ln]
    assert len(lines) == 1 and lines[0].startswith("Warning: ") and "at step 4" in lines[0], res.stderr
    assert "Traceback" not in res.output


# --------------------------------------------------------------------------- RnndynGroup on a toy group


@click.group(cls=RnndynGroup)
@click.option("--debug", is_flag=True)
def toy(debug):
    pass


@toy.command("library-error")
def _library_error():
    raise rd.ValidationError("eps: expected a number > 0,\n  got 0.0")


@toy.command("usage-error")
def _usage_error():
    fail("--out: expected a file ending in .png, got 'x.bmp'")


@toy.command("os-error")
@click.argument("path")
def _os_error(path):
    open(path, "w")  # noqa: SIM115 - the failing open itself is what is tested


@toy.command("bug")
def _bug():
    return {}["missing"]


@toy.command("warns")
def _warns():
    cell = rd.VanillaRNN(np.eye(2) * 1e200, activation="linear")
    rd.simulate(cell, [[1.0, 1.0], [0.0, 0.0]], steps=5)
    click.echo("done")


@toy.command("exit3")
@click.pass_context
def _exit3(ctx):
    ctx.exit(3)


def _toy(args):
    return CliRunner().invoke(toy, args)


def test_library_error_is_one_line_exit_2():
    res = _toy(["library-error"])
    assert res.exit_code == 2
    assert res.stderr == "Error: eps: expected a number > 0, got 0.0\n"
    assert res.stdout == ""


def test_usage_error_is_one_line_exit_2():
    res = _toy(["usage-error"])
    assert res.exit_code == 2 and res.stderr == "Error: --out: expected a file ending in .png, got 'x.bmp'\n"


def test_os_error_is_one_line_exit_2(tmp_path):
    res = _toy(["os-error", str(tmp_path / "no" / "such" / "dir" / "x.png")])
    assert res.exit_code == 2
    assert res.stderr.startswith("Error: No such file or directory: ") and res.stderr.count("\n") == 1


def test_bug_is_one_line_exit_1_and_says_debug():
    res = _toy(["bug"])
    assert res.exit_code == 1
    assert res.stderr.startswith("Error: internal error (KeyError: 'missing'); rerun with --debug")
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.output


def test_debug_reraises():
    for cmd, exc in (("library-error", rd.ValidationError), ("bug", KeyError), ("usage-error", click.UsageError)):
        res = _toy(["--debug", cmd])
        assert isinstance(res.exception, exc), (cmd, res.exception)
        assert res.exc_info[2] is not None  # a traceback to show


def test_warnings_are_one_line_on_stderr():
    res = _toy(["warns"])
    assert res.exit_code == 0 and res.stdout == "done\n"
    warn = [ln for ln in res.stderr.splitlines() if "DivergenceWarning" in ln or "non-finite" in ln]
    assert warn == ["Warning: 1 trajectory of 2 became non-finite (first at step 2); see the result's diverged_at"]
    assert all(ln.startswith("Warning: ") for ln in res.stderr.splitlines())


def test_exit_codes_pass_through():
    assert _toy(["exit3"]).exit_code == 3
    assert _toy(["--help"]).exit_code == 0


# --------------------------------------------------------------------------- the real console script


def test_console_script_debug_flag_shows_traceback():
    base = [sys.executable, "-c", "from rnndyn_cli.main import main; main()"]
    plain = subprocess.run(base + ["stability", "--matrix", "nosuch"], capture_output=True, text=True, timeout=120,
                           check=False)
    assert plain.returncode == 2
    assert plain.stderr.strip().count("\n") == 0 and plain.stderr.startswith("Error: ")
    debug = subprocess.run(base + ["--debug", "stability", "--matrix", "nosuch"], capture_output=True, text=True,
                           check=False,
                           timeout=120)
    assert debug.returncode != 0
    assert "Traceback (most recent call last)" in debug.stderr and "nosuch" in debug.stderr


def test_bare_rnndyn_prints_the_help():
    from tests.helpers import run_cli

    res = run_cli([])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith("Usage: ") and "Commands:" in res.stdout and "\n\n" in res.stdout
    assert "Error" not in res.output


@pytest.mark.parametrize("value", ["abc", "-5", "inf", "nan", "0"])
def test_bad_memory_limit_variable_warns_once_and_keeps_the_default(value):
    import os

    env = dict(os.environ, RNNDYN_MEMORY_LIMIT=value, MPLBACKEND="Agg")
    code = "from rnndyn_cli.main import main; main(['norms', '--size', '3', '--steps', '2'])"
    res = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Warning: RNNDYN_MEMORY_LIMIT:") and repr(value) in lines[0]
    assert "Traceback" not in res.stderr


def test_memory_limit_variable_is_read_as_bytes():
    from rnndyn.config import _memory_limit_from_env

    assert _memory_limit_from_env("8e9") == (8_000_000_000, None)
    assert _memory_limit_from_env(None)[1] is None
    assert _memory_limit_from_env("lots")[1].startswith("RNNDYN_MEMORY_LIMIT:")
