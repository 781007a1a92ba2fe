"""``rnndyn phase`` through click's CliRunner, and the shared CLI helpers it added."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from rnndyn_cli.main import cli

import rnndyn as rd

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
