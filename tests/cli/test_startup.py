"""Start-up of the command line: help texts and ``rnndyn info`` load no command's heavy dependencies.

``rnndyn --help`` lists the commands without importing their modules, and a
command's own ``--help`` imports only that module, whose top level must not load
numba, SciPy's linear algebra, matplotlib or a compiled kernel (seconds on a busy
machine, for a help text). Each check runs in a fresh interpreter, so modules a
previous test imported do not hide an import.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from rnndyn_cli.main import LAZY_COMMANDS, LazyCommands, LazyGroup, cli

#: What a help text must not load: seconds of imports each on a 2-core machine.
HEAVY = ("numba", "scipy", "scipy.linalg", "matplotlib", "matplotlib.pyplot", "rnndyn.kernels.cpu")

_PROBE = """
import json, sys
from rnndyn_cli.main import main
for argv in json.loads(sys.argv[1]):
    try:
        main(argv)
    except SystemExit as exc:
        assert exc.code in (0, None), (argv, exc.code)
print(json.dumps(sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)), file=sys.stderr)
"""


def _loaded_after(argvs, modules=HEAVY, env=None) -> list[str]:
    """Run ``rnndyn ARGV`` for each of ``argvs`` in one fresh interpreter; the ``modules`` it then holds."""
    p = subprocess.run([sys.executable, "-c", _PROBE, json.dumps(argvs), json.dumps(modules)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    return json.loads(p.stderr.strip().splitlines()[-1])


def test_group_help_imports_no_command_module():
    p = subprocess.run([sys.executable, "-c", _PROBE, json.dumps([["--help"]]),
                        json.dumps([*HEAVY, *(t.rpartition(".")[0] for t in LAZY_COMMANDS.values())])],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]
    assert json.loads(p.stderr.strip().splitlines()[-1]) == []
    listed = p.stdout.split("Commands:", 1)[1].split()
    assert all(name in listed for name in LAZY_COMMANDS)


def test_command_help_imports_nothing_heavy():
    assert _loaded_after([[name, "--help"] for name in LAZY_COMMANDS]) == []


def test_info_imports_no_other_command_dependency():
    # info reports numba's threading layer, so numba (which imports scipy's top level) loads; nothing else does
    assert _loaded_after([["info", "--json"]], ("scipy.linalg", "matplotlib", "rnndyn.kernels.cpu")) == []


@pytest.mark.skipif(not sys.platform.startswith("linux") or any(
    os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0", "/dev/dxg")), reason="a CUDA driver may be here")
def test_info_does_not_import_numba_cuda_without_a_driver():
    from rnndyn_cli.info import collect_info

    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "0"}
    assert _loaded_after([["info", "--json"]], ("numba.cuda",), env=env) == []  # seconds to learn there is none
    assert collect_info()["cuda_gpu_visible"] is (os.environ.get("NUMBA_ENABLE_CUDASIM", "0") not in ("", "0"))


@pytest.mark.parametrize("name", sorted(LAZY_COMMANDS))
def test_short_help_read_from_source_is_the_commands_own(name):
    from rnndyn_cli.main import _short_help_from_source

    cmd = cli.commands[name]
    assert cmd.name == name
    for limit in (45, 60, 200):
        assert _short_help_from_source(LAZY_COMMANDS[name], limit) == cmd.get_short_help_str(limit)


def test_group_help_lists_each_command_as_an_eager_group_would():
    import click

    eager = click.Group("rnndyn", commands=[cli.commands[n] for n in LAZY_COMMANDS], help=cli.help,
                        params=cli.params, context_settings=cli.context_settings)
    lazy = CliRunner().invoke(cli, ["--help"])
    assert lazy.exit_code == 0
    assert lazy.stdout.split("Commands:")[1] == CliRunner().invoke(eager, ["--help"]).stdout.split("Commands:")[1]


def test_lazy_commands_import_on_access_only():
    commands = LazyCommands({"info": "rnndyn_cli.info.info", "missing": "rnndyn_cli.no_such_module.nothing"})
    assert sorted(commands) == ["info", "missing"] and len(commands) == 2 and "missing" in commands
    assert commands["info"].name == "info"
    with pytest.raises(ModuleNotFoundError):
        commands["missing"]
    with pytest.raises(KeyError):
        commands["other"]
    del commands["missing"]
    assert list(commands) == ["info"]


def test_a_command_added_to_a_lazy_group_runs():
    import click

    @click.command("hello")
    def hello():
        click.echo("hi")

    group = LazyGroup("g", lazy_subcommands={"info": "rnndyn_cli.info.info"})
    group.add_command(hello)
    assert sorted(group.commands) == ["hello", "info"]
    res = CliRunner().invoke(group, ["hello"])
    assert (res.exit_code, res.stdout) == (0, "hi\n")
    assert "hello" in CliRunner().invoke(group, ["--help"]).stdout


def test_unknown_command_still_suggests_the_lazy_names():
    res = CliRunner().invoke(cli, ["phse"])
    assert res.exit_code == 2
    assert "phase" in res.stderr


def test_a_command_that_compiles_nothing_does_not_import_numba():
    # stability computes with LAPACK only; the compile watch waits for numba instead of importing it
    assert _loaded_after([["stability", "--json"]], ("numba", "rnndyn.kernels.cpu")) == []


def test_compile_watch_is_installed_when_numba_is_imported():
    code = """
import sys
from rnndyn_cli import compiling
compiling.watch_for("phase")
assert "numba" not in sys.modules and compiling._WATCH is None
import numba
from numba.core import event
assert compiling._WATCH is not None and compiling._WATCH.command == "phase"
assert compiling._WATCH in event._registered["numba:compile"]
assert not any(type(f).__name__ == "_AfterNumbaImport" for f in sys.meta_path)
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr[-2000:]


@pytest.mark.parametrize("argv", [["phase", "--matrix", "W0", "--gamma", "0.15", "--json"], ["gradients", "--json"],
                                  ["lyapunov", "--json"], ["norms", "--json"]])
def test_one_shot_commands_at_their_defaults_load_no_compiled_kernel(argv, tmp_path):
    # their work takes NumPy's twins well under the 1.2-1.6 s of loading a cached kernel, let alone compiling one
    env = dict(os.environ, MPLBACKEND="Agg")
    argv = [*argv, "--out", str(tmp_path / "f.png")] if argv[0] == "phase" else argv
    assert _loaded_after([argv], ("rnndyn.kernels.cpu", "rnndyn.kernels.cpu.trajectories"), env=env) == []


def test_one_shot_commands_restore_the_library_default():
    from rnndyn import config

    res = CliRunner().invoke(cli, ["norms", "--steps", "8", "--size", "4", "--json"])
    assert res.exit_code == 0, res.output
    assert config.AUTO_REFERENCE_SECONDS == 0.0
