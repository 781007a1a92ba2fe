"""The CLI takes its choices from the library's registries and reads init specs with the library's one grammar."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import click
import numpy as np
import pytest
from click.testing import CliRunner
from rnndyn_cli.main import cli

import rnndyn as rd
from rnndyn.kernels.params import ACTIVATIONS
from rnndyn.systems.build import SYSTEM_KINDS
from rnndyn.systems.cells import CELL_TYPES

CLI_DIR = Path(__file__).resolve().parents[2] / "cli"


def _choices(command: str, option: str):
    (param,) = [p for p in cli.commands[command].params if option in p.opts]
    assert isinstance(param.type, click.Choice), (command, option, param.type)
    return tuple(param.type.choices)


def test_cell_activation_and_backend_choices_come_from_the_registries():
    for command in ("phase", "stability", "spectrum", "gradients"):
        assert _choices(command, "--cell") == tuple(CELL_TYPES), command
    assert _choices("lyapunov", "--cell") == SYSTEM_KINDS
    assert _choices("norms", "--cell") == rd.analysis.growth.CELLS
    for command in ("phase", "stability", "spectrum", "gradients", "lyapunov", "norms"):
        assert _choices(command, "--activation") == tuple(ACTIVATIONS), command
    assert _choices("lyapunov", "--backend") == ("auto", *rd.available_backends())
    assert "cuda" not in rd.available_backends() or "cuda" in _choices("lyapunov", "--backend")
    assert _choices("figures", "--format") == rd.figures.FORMATS


def test_a_backend_registered_later_is_offered_and_an_unregistered_one_refused(monkeypatch):
    res = CliRunner().invoke(cli, ["lyapunov", "--cell", "logistic", "--steps", "10", "--backend", "nosuch"])
    assert res.exit_code == 2 and "nosuch" in res.stderr
    registered = rd.available_backends()
    monkeypatch.setattr(rd, "available_backends", lambda: (*registered, "later"))
    assert _choices("lyapunov", "--backend") == ("auto", *registered, "later")
    assert "later" in CliRunner().invoke(cli, ["lyapunov", "--help"]).stdout


def test_identity_activation_alias_is_accepted():
    res = CliRunner().invoke(cli, ["stability", "--matrix", "W0", "--activation", "identity", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["activation"] == "linear"


def test_no_random_draws_or_model_building_in_the_cli():
    """cli/ parses, calls the library, prints: no NumPy random draws and no cell constructors of its own."""
    banned_attrs = {"default_rng", "normal", "uniform", "standard_normal", "random", "rand", "randn"}
    banned_calls = {"VanillaRNN", "EulerRNN", "AntisymmetricRNN", "LSTM", "henon", "logistic"}
    for path in sorted(CLI_DIR.glob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute):
                assert not (node.value.attr == "random" and node.attr in banned_attrs), (path.name, node.lineno)
            if isinstance(node, ast.Call):
                f = node.func
                name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
                assert name not in banned_calls, (path.name, node.lineno, name)
                if name in ("normal", "standard_normal", "uniform") and isinstance(f, ast.Attribute):
                    assert getattr(f.value, "id", "") not in ("rng", "g"), (path.name, node.lineno)
            if isinstance(node, ast.FunctionDef):
                assert node.name not in ("save_figure", "build_cell", "_matrix_name"), (path.name, node.name)


# --------------------------------------------------------------------------- one init-spec grammar


def _run(args):
    return CliRunner().invoke(cli, args)


@pytest.mark.parametrize("command", [
    ["spectrum", "--random", "4", "--out", "s.png"],
    ["lyapunov", "--size", "3", "--steps", "5", "--transient", "0"],
    ["gradients", "--size", "3", "--steps", "4"],
    ["norms", "--size", "3", "--steps", "4"],
])
@pytest.mark.parametrize("spec, word", [("bogus", "unknown initialisation 'bogus'"), ("normal:std", "a number"),
                                        ("normal:std=-1", ">= 0"), ("orthogonal:std=1", "orthogonal takes gain"),
                                        ("normal:sigma=1", "normal takes std or gain")])
def test_every_command_refuses_a_bad_spec_naming_the_grammar(command, spec, word, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = _run([*command, "--init", spec])
    assert res.exit_code == 2, res.output
    err = res.stderr.strip()
    assert err.startswith("Error: ") and "\n" not in err and "Traceback" not in res.output
    assert "--init" in err and word in err and "NAME[:KEY=VALUE]" in err, err


def test_the_same_spec_means_the_same_matrix_in_every_command(tmp_path, monkeypatch):
    """normal:gain=1.5 has spectral radius ≈ 1.5 in norms, spectrum and gradients alike (n = 64)."""
    monkeypatch.chdir(tmp_path)
    n = 64
    norms = json.loads(_run(["norms", "--init", "normal:gain=1.5", "--size", str(n), "--steps", "2", "--seed", "4",
                             "--json"]).stdout)
    spec = json.loads(_run(["spectrum", "--random", str(n), "--init", "normal:gain=1.5", "--cell", "vanilla",
                            "--activation", "linear", "--seed", "4", "--json"]).stdout)
    grads = json.loads(_run(["gradients", "--init", "normal:gain=1.5", "--size", str(n), "--steps", "2",
                             "--activation", "linear", "--json"]).stdout)
    rho_norms = norms["inits"][0]["spectral_radius"]
    rho_spectrum = spec[0]["spectral_radius"]
    rho_grads = grads["lines"][0]["matrix_spectral_radius"]
    for rho in (rho_norms, rho_spectrum, rho_grads):
        assert 1.2 < rho < 1.8, (rho_norms, rho_spectrum, rho_grads)
    assert rho_norms == pytest.approx(rho_spectrum, rel=1e-12)  # the same seed and recipe: the same matrix
    W = rd.init.from_spec("normal:gain=1.5", n, rng=4)
    assert rho_norms == pytest.approx(np.max(np.abs(np.linalg.eigvals(W))), rel=1e-12)


@pytest.mark.parametrize("command, meaning", [
    (["spectrum", "--random", "4", "--out", "s.png"], "std=0.5, the standard deviation"),
    (["lyapunov", "--size", "3", "--steps", "5", "--transient", "0"], "std=0.5, the standard deviation"),
    (["gradients", "--size", "3", "--steps", "4"], "std=0.5, the standard deviation"),
    (["norms", "--size", "3", "--steps", "4"], "gain=0.5, the gain (spectral radius)"),
])
def test_the_old_bare_number_still_works_and_says_what_it_meant(command, meaning, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = _run([*command, "--init", "normal:0.5"])
    assert res.exit_code == 0, res.output
    warn = [ln for ln in res.stderr.splitlines() if "deprecated" in ln]
    assert len(warn) == 1 and warn[0].startswith("Warning: --init: 'normal:0.5'"), res.stderr
    assert meaning in warn[0] and "write 'normal:" in warn[0]


def test_old_and_new_spellings_give_the_same_numbers(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old = json.loads(_run(["norms", "--init", "normal:1.5", "--size", "8", "--steps", "5", "--json"]).stdout)
    new = json.loads(_run(["norms", "--init", "normal:gain=1.5", "--size", "8", "--steps", "5", "--json"]).stdout)
    assert old["inits"][0]["matrix_norms"] == new["inits"][0]["matrix_norms"]
    assert old["inits"][0]["init"] == new["inits"][0]["init"] == "normal:gain=1.5"
    args = ["lyapunov", "--size", "4", "--steps", "50", "--transient", "0", "--json"]
    old = json.loads(_run([*args, "--init", "normal:0.3"]).stdout)
    new = json.loads(_run([*args, "--init", "normal:std=0.3"]).stdout)
    assert old["exponents"] == new["exponents"] and "W from normal:std=0.3" in new["system"]


# --------------------------------------------------------------------------- the README's commands


README_COMMANDS = [
    ["phase", "--matrix", "W0", "--gamma", "0.15"],
    ["stability", "--matrix", "W0", "--gamma", "0.15"],
    ["figures", "--list"],
    ["info"],
]


@pytest.mark.parametrize("argv", README_COMMANDS, ids=lambda a: a[0])
def test_readme_examples_run_as_written(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = _run(argv)
    assert res.exit_code == 0, res.output
    assert "Warning" not in res.stderr, res.stderr


def test_readme_options_exist():
    """Every option the README's tables and text name is still an option of its command."""
    named = {
        "phase": ["--matrix", "-m", "--cell", "--gamma", "--eps", "--activation", "--steps", "-T", "--init",
                  "--random", "--seed", "--grid", "--xlim", "--ylim", "--out", "--dpi", "--json"],
        "stability": ["--check", "--json", "--matrix"],
    }
    for command in ("phase", "stability", "spectrum", "gradients", "lyapunov", "norms", "cobweb"):
        opts = {o for p in cli.commands[command].params for o in p.opts}
        assert {"--out", "--json"} <= opts or command == "stability", command
        for o in named.get(command, []):
            assert o in opts, (command, o)
