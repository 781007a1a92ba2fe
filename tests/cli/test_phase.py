"""``rnndyn phase`` through click's CliRunner, and the shared CLI helpers it added."""

import fnmatch
import json
import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from rnndyn_cli.main import cli

import rnndyn as rd
from tests.helpers import assert_one_line_error, run_cli

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # every test runs in its own empty folder
    return CliRunner()


def run(runner, *args):
    return runner.invoke(cli, ["phase", *args], catch_exceptions=False)


def one_line_error(result):
    assert result.exit_code == 2, (result.exit_code, result.output)
    err = result.stderr.strip()
    assert err.startswith("Error:") and "\n" not in err and "Traceback" not in err, err
    assert result.stdout == ""
    return err


def test_defaults_write_png(runner):
    r = run(runner)
    assert r.exit_code == 0, r.output
    out = Path("phase_W0_euler_g0.png")
    assert out.read_bytes()[:8] == PNG_MAGIC
    assert "wrote phase_W0_euler_g0.png" in r.stderr
    # the summary: eigenvalues, verdicts and one line per trajectory
    assert "eig(W − γI)" in r.stdout and "±2i" in r.stdout and "max|1+ελ|" in r.stdout
    assert "verdicts" in r.stdout
    assert sum(line.strip().startswith("h0 = ") for line in r.stdout.splitlines()) == 3


def test_json_holds_eigenvalues_and_library_numbers(runner):
    r = run(runner, "--matrix", "W0", "--gamma", "0.15", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["out"] == "phase_W0_euler_g0.15.png" and Path(data["out"]).is_file()
    eig = sorted((complex(*z) for z in data["eigenvalues"]), key=lambda z: z.imag)
    np.testing.assert_allclose(eig, [-0.15 - 2j, -0.15 + 2j], atol=1e-12)
    assert data["cell"] == "euler" and data["matrix"] == "W0" and data["eps"] == 0.1 and data["gamma"] == 0.15
    assert data["max_real"] == pytest.approx(-0.15)
    assert data["euler_factor"] == pytest.approx(abs(1 + 0.1 * (-0.15 + 2j)))
    assert data["verdicts"] == {"continuous_stable": True, "critical": False, "euler_stable": False,
                                "discrete_stable": False}
    # stdout equals the library's result
    p = rd.phase_portrait(rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15), label="W0")
    np.testing.assert_allclose([t["final_norm"] for t in data["trajectories"]], p.final_norms, rtol=1e-12)
    np.testing.assert_allclose([t["init"] for t in data["trajectories"]], p.inits)
    assert [fp["kind"] for fp in data["fixed_points"]] == [fp.kind for fp in p.fixed_points]


def test_inits_random_and_options(runner, tmp_path):
    out = tmp_path / "rot.svg"
    r = run(runner, "--cell", "vanilla", "--matrix", "rotation", "--init", "0.9,0", "--init", "-0.2,-0.4",
            "--random", "3", "--seed", "7", "--steps", "20", "--grid", "5", "--xlim", "-1", "1",
            "--ylim", "-1", "1", "--out", str(out), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert out.read_text().lstrip().startswith("<?xml")
    inits = [t["init"] for t in data["trajectories"]]
    assert inits[:2] == [[0.9, 0.0], [-0.2, -0.4]] and len(inits) == 5
    np.testing.assert_allclose(inits[2:], rd.analysis.phase.random_inits(3, rng=7, box=((-1, 1), (-1, 1))))
    assert data["xlim"] == [-1.0, 1.0] and data["steps"] == 20 and data["eps"] is None
    assert data["cell"] == "vanilla"


def test_file_matrix_names_output_after_stem(runner):
    np.save("mine.npy", np.array([[0.0, -1.0], [1.0, 0.0]]))
    r = run(runner, "--matrix", "mine.npy", "--cell", "antisymmetric", "--gamma", "0.1", "--grid", "4")
    assert r.exit_code == 0, r.output
    assert Path("phase_mine_antisymmetric_g0.1.png").is_file()


@pytest.mark.parametrize("args, words", [
    (["--matrix", "Wnope"], ["Wnope"]),
    (["--init", "0.5"], ["--init", "2 comma-separated"]),
    (["--init", "a,b"], ["--init", "'a,b'"]),
    (["--init", "1,2,3"], ["--init"]),
    (["--gamma", "-1"], ["gamma"]),
    (["--eps", "0"], ["eps"]),
    (["--out", "x.txt"], ["--out", ".png"]),
    (["--xlim", "1", "-1"], ["xlim"]),
])
def test_bad_arguments_exit_2_with_one_line(runner, args, words):
    err = one_line_error(run(runner, *args))
    for w in words:
        assert w in err
    assert not list(Path(".").glob("*.png"))


def test_non_2d_matrix_refused(runner):
    np.save("big.npy", np.eye(3))
    err = one_line_error(run(runner, "--matrix", "big.npy"))
    assert "2x2" in err and "(3, 3)" in err


def test_help_and_registration(runner):
    r = runner.invoke(cli, ["--help"])
    assert "phase" in r.output
    r = runner.invoke(cli, ["phase", "--help"])
    assert r.exit_code == 0 and "Chang et al." in r.output and "--random" in r.output


def test_progress_helper_is_silent_off_a_terminal(runner):
    import click
    from rnndyn_cli.options import json_option
    from rnndyn_cli.output import progress

    @click.command()
    @json_option()
    def work(as_json):
        total = sum(progress(range(100), "summing"))
        click.echo(str(total))

    for args in ([], ["--json"]):
        r = runner.invoke(work, args)
        assert r.exit_code == 0 and r.stdout == "4950\n" and r.stderr == ""
    assert list(progress(iter(range(5)), "x", length=5)) == [0, 1, 2, 3, 4]


# --------------------------------------------------------------------------- what it prints must agree with itself

SUMMARY_ROW = re.compile(r"^(\S.*?)\s{2,}(.*)$")
ORIGIN = re.compile(r"\(0, 0\) map: (sink|source|saddle|neutral) \(\|μ\| max ([0-9.e+-]+)\)(?:, ODE: (\w+))?$")


def summary(stdout: str) -> dict:
    """The ``key  value`` rows above the trajectories; continuation rows are appended to their key."""
    rows, key = {}, None
    for line in stdout.splitlines():
        if line.startswith("trajectories"):
            break
        if line.startswith(" "):
            rows[key].append(line.strip())
            continue
        key, value = SUMMARY_ROW.match(line).groups()
        rows[key] = [value]
    return rows


@pytest.mark.parametrize("args", [
    ["--matrix", "W0", "--gamma", "0.15"],   # the README's headline
    ["--matrix", "W0"],
    ["--matrix", "W-", "--eps", "1.5"],
    ["--matrix", "W-"],
    ["--cell", "antisymmetric", "--matrix", "W0", "--gamma", "0.5"],
    ["--cell", "vanilla", "--matrix", "rotation"],
    ["--cell", "vanilla", "--matrix", "W-", "--activation", "linear", "--steps", "5"],
], ids=" ".join)
def test_summary_is_consistent_line_by_line(args, tmp_path, monkeypatch):
    """ρ(J at 0) > 1 ⇒ not discrete stable ⇒ the origin is no sink of the map, and the other way round."""
    monkeypatch.chdir(tmp_path)
    res = run_cli(["phase", *args])
    assert res.exit_code == 0, res.output
    rows = summary(res.stdout)
    rho_text = rows["ρ(J at 0)"][0]
    rho = float(rho_text)
    verdicts = dict(v.split(": ") for v in rows["verdicts"][0].split(", "))
    origins = [m for m in map(ORIGIN.match, rows["fixed points"]) if m]
    assert len(origins) == 1, rows["fixed points"]
    kind, mu_text, ode_kind = origins[0].groups()
    assert mu_text == rho_text  # the origin's largest |μ| is the spectral radius printed above
    if rho > 1 + 1e-6:
        assert verdicts["discrete stable"] == "no" and kind in ("source", "saddle")
    elif rho < 1 - 1e-6:
        assert verdicts["discrete stable"] == "yes" and kind == "sink"
    else:
        assert kind == "neutral"
    if "--cell" in args and "vanilla" in args:
        assert ode_kind is None and verdicts["continuous stable"] == "n/a"
    elif verdicts["critical"] == "yes":  # max Re λ = 0: a centre of the ODE
        assert ode_kind == "neutral"
    else:  # the ODE's verdict and the ODE's type of its equilibrium agree
        assert (verdicts["continuous stable"] == "yes") == (ode_kind == "sink"), (verdicts, ode_kind)


def test_json_names_both_classifications(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    data = json.loads(run_cli(["phase", "--matrix", "W0", "--gamma", "0.15", "--json"]).stdout)
    (origin,) = data["fixed_points"]
    assert origin["kind"] == "source" and origin["ode_kind"] == "sink"
    assert origin["max_abs_eigenvalue"] == pytest.approx(data["spectral_radius"], rel=1e-12) == pytest.approx(1.0051,
                                                                                                           abs=1e-4)
    np.testing.assert_allclose([complex(*z) for z in origin["ode_eigenvalues"]], [-0.15 + 2j, -0.15 - 2j])
    assert set(data["fixed_point_kinds"]) == {"kind", "ode_kind"} and data["continuum"] is None
    assert data["fixed_points_complete"] is True
    vanilla = json.loads(run_cli(["phase", "--cell", "vanilla", "--matrix", "rotation", "--json"]).stdout)
    assert vanilla["fixed_points"][0]["ode_kind"] is None and vanilla["fixed_points"][0]["kind"] == "neutral"


# --------------------------------------------------------------------------- divergence

DIVERGING = {
    "fibonacci": (["--cell", "vanilla", "--matrix", "fibonacci", "--activation", "linear", "--steps", "2000"],
                  "3 of 3 trajectories diverged", [0, 1, 2]),
    "W+ relu": (["--matrix", "W+", "--activation", "relu", "--steps", "5000"], "2 of 3 trajectories diverged", [0, 2]),
}


@pytest.mark.parametrize("name", DIVERGING)
def test_diverging_trajectories_finish_with_a_figure_and_one_warning(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args, words, which = DIVERGING[name]
    res = run_cli(["phase", *args, "--out", "d.png"])
    assert res.exit_code == 0, res.output
    assert Path("d.png").read_bytes()[:8] == PNG_MAGIC
    # stderr: rnndyn's one warning naming the trajectories and steps, and where the figure went; nothing of numpy's
    err = res.stderr.splitlines()
    assert [line for line in err if not line.startswith("wrote ")] == [next(x for x in err if words in x)], err
    assert err[-1] == "wrote d.png"
    assert "RuntimeWarning" not in res.stderr and "encountered in" not in res.stderr
    assert "expected finite" not in res.output
    data = json.loads(run_cli(["phase", *args, "--out", "d.png", "--json"]).stdout)
    steps = [t["diverged_at"] for t in data["trajectories"]]
    assert [i for i, s in enumerate(steps) if s >= 0] == which
    warning = next(x for x in err if words in x)
    for i in which:
        h0 = "(" + ", ".join(f"{v:.4g}" for v in data["trajectories"][i]["init"]) + ")"
        assert f"from h0 = {h0} at step {steps[i]}" in warning
        t = data["trajectories"][i]
        assert t["last_finite_step"] == steps[i] - 1 and all(np.isfinite(t["last_finite"]))
    lims = np.array([data["xlim"], data["ylim"]], dtype=float)
    assert np.all(np.abs(lims) < 100)  # fitted to the finite part, not to 1e308
    lines = [ln for ln in res.stdout.splitlines() if "diverged: non-finite from step" in ln]
    assert len(lines) == len(which)


def test_relu_region_of_fixed_points_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    args = DIVERGING["W+ relu"][0]
    rows = summary(run_cli(["phase", *args]).stdout)
    (line,) = rows["fixed points"]
    assert line.startswith("a continuum of fixed points") and line.endswith("(map: neutral, ODE: neutral)")
    data = json.loads(run_cli(["phase", *args, "--json"]).stdout)
    assert data["fixed_points"] == [] and data["continuum"]["dimension"] == 2
    assert data["continuum"]["description"] in line
    region = np.array(data["continuum"]["region_in_window"])
    M = np.array(data["effective_matrix"])
    assert region.shape[0] >= 3 and np.all(region @ M.T <= 1e-12)  # every corner in {Mh ≤ 0}


# --------------------------------------------------------------------------- --out, --eps's help, the default file

OUT_COMMANDS = [
    ["phase"],
    ["spectrum", "--matrix", "W0"],
    ["norms", "--size", "3", "--steps", "3"],
    ["gradients", "--size", "3", "--steps", "3"],
    ["lyapunov", "--cell", "logistic", "--steps", "10"],
    ["cobweb", "--map", "logistic:3.5"],
]


@pytest.mark.parametrize("argv", OUT_COMMANDS, ids=lambda a: a[0])
def test_out_into_a_missing_folder_is_refused_before_any_work(argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    target = tmp_path / "no" / "such" / "x.png"
    err = assert_one_line_error(run_cli([*argv, "--out", str(target)]), "--out")
    assert "does not exist" in err and str(tmp_path / "no" / "such") in err
    assert not (tmp_path / "no").exists()  # no folder made behind the user's back
    assert list(tmp_path.iterdir()) == []


def test_eps_help_shows_a_plain_default_and_cites_in_the_text():
    out = " ".join(run_cli(["phase", "--help"]).stdout.split())
    eps = out[out.index("--eps FLOAT"):out.index("--activation")]
    assert "[default: 0.1]" in eps and "Chang et al." in eps
    assert "[default: (" not in out


def test_default_output_file_is_ignored_by_git():
    """The headline writes phase_<matrix>_<cell>_g<gamma>.png to the current folder; in a checkout git ignores it."""
    root = Path(__file__).resolve().parents[2]
    patterns = [ln.strip() for ln in (root / ".gitignore").read_text().splitlines()]
    assert "/phase_*.png" in patterns
    from rnndyn_cli.phase import default_out

    assert fnmatch.fnmatch(default_out("W0", "euler", 0.15), "phase_*.png")
    # the committed gallery copy in figures/ is not covered by the root-anchored pattern
    assert (root / "figures" / "phase_W0_euler_g0.15.png").is_file()
