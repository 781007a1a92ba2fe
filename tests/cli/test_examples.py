"""Every example of the README and of each command's ``--help`` runs as written and prints what it shows.

A console example is a line ``$ rnndyn …`` followed by the output it shows, up
to the next ``$`` line or the end of its block; a trailing ``| head -N`` keeps
the first N lines and ``2>&1 >/dev/null`` keeps stderr only, as in a shell. The
output is compared line by line (trailing spaces ignored) with what the command
prints, stdout then stderr; a line ``...`` stands for any number of lines. An
example that shows no output must still run and exit 0. The README's Python
blocks run too, and a block followed by "prints" and a text block must print
exactly that. The README's examples run in document order in one scratch
folder, as a reader following it would (a later example may read the file an
earlier one wrote); those that need PyTorch are skipped where it is missing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import shlex
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from tests.helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
HAVE_TORCH = importlib.util.find_spec("torch") is not None

#: Examples whose run is the whole gallery (minutes, and built figure by figure in tests/figures) are
#: only parsed: the options must be accepted as written.
_PARSE_ONLY = {("figures",)}

#: Files only PyTorch can write: an example reading one is skipped without it.
_TORCH_FILES = ("model.pt", "deep.pt", "model.npz")


def _shell(line: str):
    """``rnndyn ARGS [2>&1 >/dev/null] [| head -N]`` -> (argv, stream, head)."""
    head = None
    m = re.search(r"\|\s*head\s+-n?\s*(\d+)\s*$", line)
    if m:
        head, line = int(m.group(1)), line[: m.start()]
    stream = "both"
    if re.search(r"2>&1\s+>\s*/dev/null", line):
        stream, line = "stderr", re.sub(r"2>&1\s+>\s*/dev/null", "", line)
    return shlex.split(line, comments=True)[1:], stream, head


def _parse(lines: list[str], where: str) -> list[dict]:
    """Every ``$ …`` line of ``lines`` with the lines it shows."""
    out = []
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if line.startswith("$ "):
            expected = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("$ ") and lines[i].strip() != "\b":
                expected.append(lines[i].rstrip())
                i += 1
            while expected and not expected[-1].strip():
                expected.pop()
            out.append({"kind": "console", "line": line[2:], "expected": expected,
                        "id": f"{where}: {line[2:]}"})
        else:
            i += 1
    return out


def readme_items() -> list[dict]:
    """The README's console examples and Python blocks, in document order."""
    text = README.read_text(encoding="utf-8")
    items = []
    for m in re.finditer(r"```(console|python)\n(.*?)```", text, flags=re.S):
        if m.group(1) == "console":
            items += _parse(m.group(2).splitlines(), "README")
            continue
        after = text[m.end():]
        shown = re.match(r"\s*prints\s*```text\n(.*?)```", after, flags=re.S)
        items.append({"kind": "python", "code": m.group(2), "expected": shown.group(1).splitlines() if shown else None,
                      "id": f"README python block at line {text[:m.start()].count(chr(10)) + 1}"})
    return items


def help_examples() -> list[dict]:
    from rnndyn_cli.main import cli

    out = []
    for name, cmd in sorted(cli.commands.items()):
        # Indentation of the docstring is not part of the output.
        text = [t[4:] if t.startswith("    ") else t for t in (cmd.help or "").splitlines()]
        out += _parse(text, f"rnndyn {name} --help")
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
    return not segments[-1] or pos == len(actual)


def _needs_torch(text: str) -> bool:
    return "import torch" in text or any(f in text for f in _TORCH_FILES)


def _run_console(item: dict) -> list[str] | None:
    """Run one console example in the current folder; its output lines (None: only parsed)."""
    line = item["line"]
    if not line.startswith("rnndyn"):  # a shell step of the walkthrough (python -c "...")
        argv = shlex.split(line)
        if argv[0] == "python":
            argv[0] = sys.executable
        res = subprocess.run(argv, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, (line, res.stderr)
        return (res.stdout + res.stderr).splitlines()
    argv, stream, head = _shell(line)
    if tuple(argv) in _PARSE_ONLY:
        from rnndyn_cli.main import cli

        with cli.make_context("rnndyn", list(argv)) as ctx:
            cli.get_command(ctx, argv[0]).make_context(argv[0], list(argv[1:]), parent=ctx)
        return None
    res = run_cli(*argv)
    # --check reports an unstable configuration by exit status 1, as documented
    assert res.exit_code in ((0, 1) if "--check" in argv else (0,)), (argv, res.output, res.exc_info)
    text = res.stderr if stream == "stderr" else res.stdout + res.stderr
    lines = [t.rstrip() for t in text.splitlines()]
    return lines[:head] if head is not None else lines


def _check(item: dict, actual: list[str] | None) -> None:
    expected = item["expected"]
    if actual is None or not expected:
        return
    assert _matches(expected, actual), "\nexpected:\n" + "\n".join(expected) + "\n\nprinted:\n" + "\n".join(actual)


README_ITEMS = readme_items()
HELP_ITEMS = help_examples()


@pytest.fixture(scope="module")
def readme_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("readme")


@pytest.mark.parametrize("item", README_ITEMS, ids=[it["id"] for it in README_ITEMS])
def test_readme_example(item, readme_folder, monkeypatch):
    monkeypatch.chdir(readme_folder)
    if _needs_torch(item.get("code") or item.get("line")) and not HAVE_TORCH:
        pytest.skip("needs PyTorch")
    if item["kind"] == "console":
        _check(item, _run_console(item))
        return
    out = io.StringIO()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        exec(compile(item["code"], "README.md", "exec"), {"__name__": "readme_example"})
    # A README example that warns is not an example to copy (other libraries' deprecations aside).
    ours = [w for w in caught if issubclass(w.category, RuntimeWarning) or "rnndyn" in str(w.category.__module__)]
    assert not ours, [str(w.message) for w in ours]
    if item["expected"] is not None:
        assert out.getvalue().splitlines() == [t.rstrip() for t in item["expected"]], out.getvalue()


@pytest.mark.parametrize("item", HELP_ITEMS, ids=[it["id"] for it in HELP_ITEMS])
def test_help_example(item, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if _needs_torch(item["line"]):
        if not HAVE_TORCH:
            pytest.skip("needs PyTorch")
        _write_model(tmp_path)
    if "weights.npz" in item["line"]:
        import numpy as np

        # A trained recurrent matrix stored under a key of its own, as a training script might save it.
        np.savez(tmp_path / "weights.npz", W_hh=np.random.default_rng(0).normal(0, 0.3, (16, 16)))
    _check(item, _run_console(item))


def _write_model(folder: Path) -> None:
    """The model the help examples analyse: the README's ``torch.manual_seed(0); nn.RNN(3, 6)``."""
    import torch

    torch.manual_seed(0)
    torch.save(torch.nn.RNN(input_size=3, hidden_size=6).state_dict(), folder / "model.pt")


def test_there_are_examples_to_check():
    assert sum(it["kind"] == "console" for it in README_ITEMS) >= 4
    assert sum(it["kind"] == "python" and it["expected"] is not None for it in README_ITEMS) >= 1
    commands = {_shell(it["line"])[0][0] for it in HELP_ITEMS if it["line"].startswith("rnndyn ")}
    assert {"phase", "stability", "norms", "gradients", "lyapunov", "cobweb", "spectrum"} <= commands


def test_matcher_and_shell():
    assert _matches(["a", "...", "c"], ["a", "b", "c"])
    assert not _matches(["a", "c"], ["a", "b", "c"])
    assert _matches(["a", "..."], ["a", "b"])
    assert not _matches(["a", "...", "d"], ["a", "b", "c"])
    assert not _matches(["b"], ["a", "b"])
    assert _shell("rnndyn stability --matrix deep.pt 2>&1 >/dev/null") == (["stability", "--matrix", "deep.pt"],
                                                                          "stderr", None)
    assert _shell("rnndyn stability --matrix m.npz | head -1") == (["stability", "--matrix", "m.npz"], "both", 1)


def test_readme_claims_about_options_hold():
    """The README's sentences on --json/--out and on backend= name exactly what exists."""
    import inspect

    from rnndyn_cli.main import cli

    import rnndyn as rd

    text = " ".join(README.read_text(encoding="utf-8").split())
    drawn = re.search(r"every command that draws \(([^)]*)\) takes `--out PATH`", text)
    assert drawn, "the README no longer states which commands take --out"
    draws = set(re.findall(r"`([\w-]+)`", drawn.group(1)))
    draws |= set(re.findall(r"`([\w-]+)` saves its run to `--out PATH`", text))
    folders = set(re.findall(r"`(\w+)` writes its table into the folder `--out DIR` and its figure to `--plot PATH`",
                             text))
    for name, cmd in cli.commands.items():
        opts = {o for p in cmd.params for o in getattr(p, "opts", ())}
        assert "--json" in opts, name
        assert ("--out" in opts) == (name in draws | folders), name
        if name in folders:
            out = next(p for p in cmd.params if "--out" in getattr(p, "opts", ()))
            assert not out.type.file_okay and "--plot" in opts, name
    kernels = re.search(r"Every function that runs a kernel \(([^)]*)\) takes `backend=", text)
    assert kernels, "the README no longer states which functions take backend="
    for fn in re.findall(r"`(\w+)`", kernels.group(1)):
        assert "backend" in inspect.signature(getattr(rd, fn)).parameters, fn
    for fn in ("stability", "fixed_points"):
        assert "backend" not in inspect.signature(getattr(rd, fn)).parameters, fn
