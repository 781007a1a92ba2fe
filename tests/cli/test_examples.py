"""Every console example of the README and of each command's ``--help`` runs as written and prints what it shows.

An example is a line ``$ rnndyn …`` followed by the output it shows, up to the
next ``$`` line or the end of its block. The output is compared line by line
(trailing spaces ignored) with what the command prints, stdout then stderr; a
line ``...`` stands for any number of lines. An example that shows no output
must still run and exit 0. Python blocks of the README run too, each in a
fresh namespace inside a scratch folder.
"""

from __future__ import annotations

import re
import shlex
import warnings
from pathlib import Path

import pytest

from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"

#: Examples whose run is the whole gallery (minutes, and built figure by figure in tests/figures) are
#: only parsed: the options must be accepted as written.
_PARSE_ONLY = {("figures",)}


def _parse(lines: list[str], where: str) -> list[tuple[str, list[str], list[str]]]:
    """(id, argv, expected lines) for every ``$ rnndyn`` line of ``lines``."""
    out = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("$ rnndyn"):
            argv = shlex.split(line[2:], comments=True)[1:]
            expected = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("$ ") and lines[i].strip() != "\b":
                expected.append(lines[i].rstrip())
                i += 1
            while expected and not expected[-1].strip():
                expected.pop()
            out.append((f"{where}: rnndyn {' '.join(argv)}", argv, expected))
        else:
            i += 1
    return out


def readme_console_examples():
    blocks = re.findall(r"```console\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    return [ex for block in blocks for ex in _parse(block.splitlines(), "README")]


def readme_python_blocks():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)
    return [pytest.param(b, id=f"README python block {i}") for i, b in enumerate(blocks)]


def help_examples():
    from rnndyn_cli.main import cli

    out = []
    for name, cmd in sorted(cli.commands.items()):
        text = (cmd.help or "").splitlines()
        # Indentation of the docstring is not part of the output.
        dedented = [t[4:] if t.startswith("    ") else t for t in text]
        out += _parse(dedented, f"rnndyn {name} --help")
    return out


def _matches(expected: list[str], actual: list[str]) -> bool:
    """``expected`` (with ``...`` lines as gaps) against ``actual``, anchored at both ends unless a gap is there."""
    segments: list[list[str]] = [[]]
    for line in expected:
        if line.strip() == "...":
            segments.append([])
        else:
            segments[-1].append(line.rstrip())
    pos = 0
    for k, seg in enumerate(segments):
        if not seg:
            continue
        if k == 0:
            if actual[: len(seg)] != seg:
                return False
            pos = len(seg)
            continue
        for start in range(pos, len(actual) - len(seg) + 1):
            if actual[start:start + len(seg)] == seg:
                pos = start + len(seg)
                break
        else:
            return False
    return bool(segments[-1]) is False or pos == len(actual)


def _run(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = run_cli(*argv)
    assert res.exit_code == 0, (argv, res.output, res.exc_info)
    return [line.rstrip() for line in (res.stdout + res.stderr).splitlines()]


ALL = readme_console_examples() + help_examples()


def test_there_are_examples_to_check():
    assert len(readme_console_examples()) >= 2
    commands = {ex[1][0] for ex in help_examples() if ex[1]}
    assert {"phase", "stability", "norms", "gradients", "lyapunov", "cobweb", "spectrum"} <= commands


@pytest.mark.parametrize("example", ALL, ids=[ex[0] for ex in ALL])
def test_example_prints_what_it_shows(example, tmp_path, monkeypatch):
    _, argv, expected = example
    if tuple(argv) in _PARSE_ONLY:
        from rnndyn_cli.main import cli

        with cli.make_context("rnndyn", list(argv), resilient_parsing=False) as ctx:
            sub = cli.get_command(ctx, argv[0])
            sub.make_context(argv[0], list(argv[1:]), parent=ctx)
        assert not expected
        return
    actual = _run(argv, tmp_path, monkeypatch)
    if expected:
        assert _matches(expected, actual), "\nexpected:\n" + "\n".join(expected) + "\n\nprinted:\n" + "\n".join(actual)


@pytest.mark.parametrize("code", readme_python_blocks())
def test_readme_python_block_runs(code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a README example that warns is not an example to copy
        exec(compile(code, "README.md", "exec"), {"__name__": "readme_example"})


def test_matcher():
    assert _matches(["a", "...", "c"], ["a", "b", "c"])
    assert not _matches(["a", "c"], ["a", "b", "c"])
    assert _matches(["a", "..."], ["a", "b"])
    assert not _matches(["a", "...", "d"], ["a", "b", "c"])
    assert not _matches(["b"], ["a", "b"])


def test_readme_claims_about_options_hold():
    """The README's sentences on --json/--out and on backend= name exactly what exists."""
    import inspect

    import rnndyn as rd
    from rnndyn_cli.main import cli

    text = " ".join(README.read_text(encoding="utf-8").split())
    drawn = re.search(r"every command that draws \(([^)]*)\) takes `--out PATH`", text)
    assert drawn, "the README no longer states which commands take --out"
    draws = set(re.findall(r"`(\w+)`", drawn.group(1)))
    for name, cmd in cli.commands.items():
        opts = {o for p in cmd.params for o in getattr(p, "opts", ())}
        assert "--json" in opts, name
        assert ("--out" in opts) == (name in draws), name
    kernels = re.search(r"Every function that runs a kernel \(([^)]*)\) takes `backend=", text)
    assert kernels, "the README no longer states which functions take backend="
    for fn in re.findall(r"`(\w+)`", kernels.group(1)):
        assert "backend" in inspect.signature(getattr(rd, fn)).parameters, fn
    for fn in ("stability", "fixed_points"):
        assert "backend" not in inspect.signature(getattr(rd, fn)).parameters, fn
