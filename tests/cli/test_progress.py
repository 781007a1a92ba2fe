"""Never silent: progress bars on stderr when it is a terminal (never with --json or when piped), a notice when
kernels compile (only when the cache lacks them), and ``rnndyn compile``."""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time

import pytest

from tests.helpers import run_cli

NOTICE = "compiling kernels (first run only"
#: A command whose kernels ``rnndyn compile`` (run before the tests in CI) has cached: its own time is the work.
LONG = ["lyapunov", "--cell", "henon", "--steps", "100000", "--transient", "0"]

#: A command added to the CLI group in a subprocess, calling a tiny kernel of its own (compiles in about a second).
_TINY = """
import sys, click
sys.path.insert(0, sys.argv.pop(1))
from rnndyn_cli.main import cli
import tinykernel

@cli.command("tiny")
@click.option("--json", "as_json", is_flag=True)
def tiny(as_json):
    click.echo(tinykernel.add(1.0, 2.0))

cli.main(args=sys.argv[1:], prog_name="rnndyn")
"""


def _env(cache_dir=None) -> dict:
    env = dict(os.environ, MPLBACKEND="Agg", COLUMNS="100")
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = str(cache_dir)
    return env


def _run(cmd, env, tty=False, timeout=600):
    """Run ``cmd``; stderr is a pseudo-terminal when ``tty``. Returns (returncode, stdout, stderr)."""
    if not tty:
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    master, slave = pty.openpty()
    p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.5)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif p.poll() is not None:
            break
    out = p.stdout.read().decode()
    p.wait(timeout=60)
    os.close(master)
    return p.returncode, out, b"".join(chunks).decode(errors="replace")


def _rnndyn(argv, cache_dir=None, tty=False):
    return _run([sys.executable, "-m", "rnndyn_cli.main", *argv], _env(cache_dir), tty=tty)


@pytest.fixture
def tiny(tmp_path):
    """Run ``rnndyn tiny`` (a tiny compiled kernel) on a fresh numba cache: ``tiny(tty=False, json=False)``."""
    (tmp_path / "tinykernel.py").write_text("from numba import njit\n\n\n@njit(cache=True)\n"
                                            "def add(a, b):\n    return a + b\n")
    cache = tmp_path / "cache"

    def run(tty=False, json=False):
        cmd = [sys.executable, "-c", _TINY, str(tmp_path), "tiny", *(["--json"] if json else [])]
        return _run(cmd, _env(cache), tty=tty, timeout=300)

    return run


def test_compile_notice_only_when_the_cache_is_empty(tiny):
    rc1, out1, err1 = tiny(json=True)
    rc2, out2, err2 = tiny(json=True)
    assert rc1 == 0 and rc2 == 0, (err1, err2)
    assert err1.count(NOTICE) == 1, err1  # piped stderr and --json still get the notice: it is not a bar
    assert NOTICE not in err2, err2
    assert out1 == out2 == "3.0\n"  # stdout untouched


def test_compile_notice_then_a_bar_on_a_terminal(tiny):
    rc, out, err = tiny(tty=True)
    assert rc == 0, err
    assert err.count(NOTICE) == 1, err
    assert "compiling add" in err and "100%" in err, err
    assert err.index(NOTICE) < err.index("compiling add")
    rc, out, err = tiny(tty=True)
    assert rc == 0 and err == "", err


def test_progress_bar_on_a_terminal():
    rc, out, err = _rnndyn(LONG, tty=True)
    assert rc == 0, err
    assert "lyapunov" in err and "100%" in err, err
    assert "λ_max" in out and "100%" not in out and "[#" not in out


def test_no_progress_bar_with_json_on_a_terminal():
    rc, out, err = _rnndyn([*LONG, "--json"], tty=True)
    assert rc == 0, err
    assert "100%" not in err and "[#" not in err, err
    json.loads(out)


def test_no_progress_bar_when_piped():
    rc, out, err = _rnndyn(LONG)
    assert rc == 0, err
    assert "100%" not in err and "lyapunov" not in err, err


# --------------------------------------------------------------------------- in-process: which commands ask for bars


@pytest.fixture
def terminal(monkeypatch):
    """Bars wanted (as on a terminal); CliRunner's stderr is not one, so click prints each bar's label once."""
    import rnndyn_cli.output as output

    monkeypatch.setattr(output, "progress_enabled", lambda: True)


@pytest.mark.parametrize("argv, label", [
    (["lyapunov", "--cell", "henon", "--steps", "2000"], "lyapunov"),
    (["gradients", "--size", "128", "--steps", "200"], "gradients"),
    (["spectrum", "--random", "400", "--compare", "0.1", "--compare", "0.2", "--out", "{tmp}/s.png"], "spectra"),
])
def test_long_commands_draw_a_bar(terminal, tmp_path, argv, label):
    res = run_cli([a.format(tmp=tmp_path) for a in argv])
    assert res.exit_code == 0, res.output
    assert label in res.stderr


@pytest.mark.parametrize("argv", [
    ["gradients", "--size", "4", "--steps", "5"],  # too little work for a bar
    ["spectrum", "--matrix", "W0", "--compare", "0.1", "--out", "{tmp}/s.png"],
])
def test_short_commands_draw_none(terminal, tmp_path, argv):
    res = run_cli([a.format(tmp=tmp_path) for a in argv])
    assert res.exit_code == 0, res.output
    assert "gradients" not in res.stderr and "spectra" not in res.stderr


def test_progress_bar_is_drawn_only_after_the_first_update(monkeypatch):
    import rnndyn_cli.output as output

    opened = []
    monkeypatch.setattr(output.click, "progressbar", lambda **kw: opened.append(kw) or _NullBar())
    with output.progress_bar("work", 4, enabled=True) as bar:
        assert not opened  # kernels compile during the first chunk: the notice needs a clean line
        bar.advance_to(2)
        bar.update()
        assert len(opened) == 1 and bar.done == 3
    assert output._open_bars == 0


class _NullBar:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n):
        pass


# --------------------------------------------------------------------------- rnndyn compile


@pytest.mark.slow
def test_compile_command_then_nothing_compiles(tmp_path):
    """On an empty cache ``rnndyn compile`` compiles the kernels of every command; then none compiles."""
    rc, out, err = _rnndyn(["compile", "--json"], tmp_path)
    assert rc == 0, err
    rec = json.loads(out)
    names = {k["kernel"] for k in rec["kernels"]}
    assert {"simulate", "tangent", "bptt", "lyapunov", "map_lyapunov"} <= names, names
    assert all(k["seconds"] > 0 for k in rec["kernels"])
    assert rec["cache_dir"] == str(tmp_path)
    for argv in (["gradients"], ["lyapunov", "--steps", "50"], ["norms"], ["phase", "--matrix", "W0", "--json"],
                 ["lyapunov", "--cell", "henon", "--steps", "50"]):
        rc, _, err = _rnndyn(argv, tmp_path)
        assert rc == 0 and NOTICE not in err, (argv, err)
    rc, out, err = _rnndyn(["compile"], tmp_path)
    assert rc == 0 and "every kernel was already compiled" in out, (out, err)


def test_compile_command_on_a_cached_install():
    """Kernels already cached (CI runs ``rnndyn compile`` first): nothing compiles, and it says where the cache is."""
    rc, out, err = _rnndyn(["compile"])
    assert rc == 0, err
    assert "commands checked" in out



def test_compile_in_processes_runs_every_workload_once():
    """``--jobs 2`` runs each group in a worker process and reports every command once, in the list's order."""
    from rnndyn_cli.compile import GROUPS, WORKLOADS

    labels = [label for label, _ in WORKLOADS]
    assert len(set(labels)) == len(labels) == sum(len(g) for g in GROUPS)
    rc, out, err = _rnndyn(["compile", "--jobs", "2", "--json"])
    assert rc == 0, err
    rec = json.loads(out)
    assert rec["jobs"] == 2
    assert [r["command"] for r in rec["commands"]] == labels
    rc, out, err = _rnndyn(["compile", "--jobs", "0"])
    assert rc == 2 and "--jobs" in err and "Traceback" not in err, err
