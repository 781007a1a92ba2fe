"""Trained weights through ``--matrix``: a file is analysed as the model it holds, by every command.

Every behaviour is checked on an .npz holding ``nn.RNN``'s keys (runs without PyTorch) and, where PyTorch is
installed, on the same weights saved with ``torch.save`` (``fmt="pt"``).
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import rnndyn as rd
from rnndyn.errors import AssumptionWarning
from rnndyn.systems.build import random_problem
from tests.helpers import assert_one_line_error, run_cli

FORMATS = ["npz", "pt"]  # "pt" is skipped where PyTorch is not installed
NOTICE_ACT = ("does not record its nonlinearity; assuming tanh (pass --activation relu for "
              "nn.RNN(nonlinearity='relu'))")


def nn_rnn_state_dict(n=6, d=3, layers=1, seed=0):
    """An ``nn.RNN(d, n, num_layers=layers)`` state dict: its U(−1/√n, 1/√n) initialisation, W_hh scaled up and the
    biases widened so that ρ(W_hh) ≈ 0.9 and the biases visibly move the Jacobian."""
    rng = np.random.default_rng(seed)
    s = 1 / np.sqrt(n)
    sd = {}
    for k in range(layers):
        sd[f"weight_ih_l{k}"] = rng.uniform(-s, s, (n, d if k == 0 else n))
        sd[f"weight_hh_l{k}"] = rng.uniform(-s, s, (n, n)) * 1.2
        sd[f"bias_ih_l{k}"] = rng.uniform(-0.6, 0.6, n)
        sd[f"bias_hh_l{k}"] = rng.uniform(-0.6, 0.6, n)
    return sd


def save(sd, path, fmt, **extra):
    """Write ``sd`` as ``path.<fmt>``: an .npz of the keys, or a PyTorch state dict of float64 tensors."""
    if fmt == "npz":
        np.savez(f"{path}.npz", **sd, **{k: np.array(v) for k, v in extra.items()})
    else:
        torch = pytest.importorskip("torch")
        torch.save({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in sd.items()}, f"{path}.pt")
    return f"{path}.{fmt}"


def run_json(*args):
    res = run_cli(*args, "--json")
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout), res.stderr


def eigs(pairs):
    return np.array([complex(*z) for z in pairs])


# --------------------------------------------------------------------------- the file's own cell by default


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_nn_rnn_file_is_a_vanilla_cell_by_default(tmp_path, fmt):
    sd = nn_rnn_state_dict()
    path = save(sd, tmp_path / "model", fmt)
    W = sd["weight_hh_l0"]
    # what the old default read it as: an Euler cell, "UNSTABLE (forward Euler)"
    assert not rd.stability(rd.EulerRNN(W)).stable and max(abs(np.linalg.eigvals(W))) < 1
    res = run_cli("stability", "--matrix", path, "--activation", "tanh")
    assert res.exit_code == 0, res.output
    assert "VanillaRNN (tanh), n = 6" in res.stdout and "forward Euler" not in res.stdout
    assert "overall: stable (one-step map)" in res.stdout
    assert res.stdout.startswith(f"model: model.{fmt}, layer 0 of 1 (W = weight_hh_l0, V = weight_ih_l0 (d = 3), "
                                 "b = bias_ih_l0 + bias_hh_l0; tanh)")
    data, _ = run_json("stability", "--matrix", path, "--activation", "tanh")
    assert data["kind"] == "VanillaRNN" and data["stable"] is True
    assert data["model"] == {"file": f"model.{fmt}", "layer": 0, "layers": 1, "convention": "pytorch",
                             "cell": "vanilla", "activation": "tanh", "activation_recorded": False,
                             "activation_assumed": False, "n": 6, "d": 3}
    # --cell still overrides, with the file's V and b
    data, _ = run_json("stability", "--matrix", path, "--activation", "tanh", "--cell", "euler", "--gamma", "0.2")
    ref = rd.stability(rd.load_cell(path, kind="euler", gamma=0.2, activation="tanh"))
    assert data["kind"] == "EulerRNN" and data["spectral_radius"] == ref.spectral_radius
    # named matrices and plain arrays keep each command's default cell
    assert run_json("stability", "--matrix", "W0")[0]["kind"] == "EulerRNN"
    np.save(tmp_path / "w.npy", W)
    assert run_json("stability", "--matrix", str(tmp_path / "w.npy"))[0]["kind"] == "EulerRNN"
    assert run_json("spectrum", "--matrix", path, "--activation", "tanh",
                    "--out", str(tmp_path / "s.png"))[0][0]["kind"] == "VanillaRNN"


def test_matrix_help_says_weights_files_are_analysed_as_their_model():
    for command in ("stability", "spectrum", "lyapunov", "gradients"):
        text = " ".join(run_cli(command, "--help").stdout.split())
        assert "analysed as the model they are" in text, command
        assert "b = bias_ih + bias_hh" in text and "--layer" in text, command


# --------------------------------------------------------------------------- same numbers as the library


@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_and_library_give_the_same_numbers_biases_included(tmp_path, fmt):
    sd = nn_rnn_state_dict()
    path = save(sd, tmp_path / "model", fmt)
    cell = rd.load_cell(path, activation="tanh")
    rep = rd.stability(cell)
    data, _ = run_json("stability", "--matrix", path, "--activation", "tanh")
    assert data["spectral_radius"] == rep.spectral_radius
    np.testing.assert_array_equal(eigs(data["jacobian_eigenvalues"]), rep.jacobian_eigenvalues)
    # the biases count: J(0) = diag(tanh'(b_ih + b_hh)) W_hh, not W_hh
    b = sd["bias_ih_l0"] + sd["bias_hh_l0"]
    J0 = (1 - np.tanh(b) ** 2)[:, None] * sd["weight_hh_l0"]
    assert data["spectral_radius"] == pytest.approx(max(abs(np.linalg.eigvals(J0))), rel=1e-12)
    assert abs(data["spectral_radius"] - max(abs(np.linalg.eigvals(sd["weight_hh_l0"])))) > 1e-3
    # and the report says that the origin, where it is taken, is not a fixed point of a biased model
    assert data["origin_is_fixed_point"] is False
    text = run_cli("stability", "--matrix", path, "--activation", "tanh").stdout
    assert "note: the origin is not a fixed point: the bias maps h = 0 to φ(b) ≠ 0" in text
    assert "rd.fixed_points(cell)" in text
    # at a fixed point, given by --state, the same again
    fp = rd.fixed_points(cell)[0]
    state = ",".join(map(repr, fp.state.tolist()))
    at = run_json("stability", "--matrix", path, "--activation", "tanh", "--state", state)[0]
    assert at["spectral_radius"] == rd.stability(cell, h=fp.state).spectral_radius
    assert at["spectral_radius"] == pytest.approx(max(abs(fp.eigenvalues)), rel=1e-12)


def test_the_jacobian_is_torchs_own(tmp_path):
    """The one-step Jacobian the CLI reports for an nn.RNN(nonlinearity='relu') is torch autograd's at h = 0, x = 0."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(3)
    rnn = torch.nn.RNN(2, 5, nonlinearity="relu").double()
    with torch.no_grad():
        rnn.bias_hh_l0.add_(0.3)  # keep every unit of the ReLU away from its kink at h = 0
    torch.save(rnn.state_dict(), tmp_path / "relu.pt")
    cell = torch.nn.RNNCell(2, 5, nonlinearity="relu").double()
    cell.load_state_dict({k[:-3]: v for k, v in rnn.state_dict().items()})
    J = torch.autograd.functional.jacobian(lambda h: cell(torch.zeros(1, 2, dtype=torch.float64), h[None])[0],
                                           torch.zeros(5, dtype=torch.float64)).numpy()
    data, err = run_json("stability", "--matrix", str(tmp_path / "relu.pt"), "--activation", "relu")
    assert "notice" not in err
    assert data["activation"] == "relu"
    np.testing.assert_allclose(np.sort_complex(eigs(data["jacobian_eigenvalues"])),
                               np.sort_complex(np.linalg.eigvals(J)), rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------- the nonlinearity


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_unrecorded_nonlinearity_is_asked_for(tmp_path, fmt):
    path = save(nn_rnn_state_dict(), tmp_path / "model", fmt)
    res = run_cli("stability", "--matrix", path)
    assert res.exit_code == 0, res.output
    assert res.stderr == f"notice: model.{fmt} {NOTICE_ACT}\n"
    assert "VanillaRNN (tanh)" in res.stdout and "; tanh assumed)" in res.stdout
    relu, err = run_json("stability", "--matrix", path, "--activation", "relu")
    assert err == "" and relu["activation"] == "relu" and relu["model"]["activation"] == "relu"
    for command in (["lyapunov", "--steps", "20"], ["gradients", "--steps", "5"],
                    ["spectrum", "--out", str(tmp_path / "s.png")]):
        res = run_cli(*command, "--matrix", path)
        assert res.exit_code == 0, res.output
        assert f"notice: model.{fmt} {NOTICE_ACT}" in res.stderr.splitlines(), command
    # the library says the same, as a warning
    with pytest.warns(AssumptionWarning, match=r"does not record its nonlinearity; assuming tanh \(pass "
                                               r"activation='relu' for nn.RNN\(nonlinearity='relu'\)\)"):
        rd.load_cell(path)


def test_a_recorded_nonlinearity_is_used_without_a_notice(tmp_path):
    path = save(nn_rnn_state_dict(), tmp_path / "model", "npz", nonlinearity="relu")
    data, err = run_json("stability", "--matrix", path)
    assert err == "" and data["activation"] == "relu" and data["model"]["activation_recorded"] is True


# --------------------------------------------------------------------------- layers


@pytest.mark.parametrize("fmt", FORMATS)
def test_layer_picks_the_layer_and_the_output_names_it(tmp_path, fmt):
    sd = nn_rnn_state_dict(layers=2)
    path = save(sd, tmp_path / "deep", fmt)
    res = run_cli("stability", "--matrix", path, "--activation", "tanh")
    assert res.exit_code == 0, res.output
    assert res.stderr == f"notice: deep.{fmt} has 2 layers; analysing layer 0 (pass --layer)\n"
    assert res.stdout.startswith(f"model: deep.{fmt}, layer 0 of 2 (W = weight_hh_l0, V = weight_ih_l0 (d = 3)")
    data, err = run_json("stability", "--matrix", path, "--activation", "tanh", "--layer", "1")
    assert err == "" and (data["model"]["layer"], data["model"]["layers"], data["model"]["d"]) == (1, 2, 6)
    ref = rd.stability(rd.load_cell(path, activation="tanh", layer=1))
    assert data["spectral_radius"] == ref.spectral_radius
    text = run_cli("stability", "--matrix", path, "--activation", "tanh", "--layer", "1").stdout
    assert text.startswith(f"model: deep.{fmt}, layer 1 of 2 (W = weight_hh_l1, V = weight_ih_l1 (d = 6), "
                           "b = bias_ih_l1 + bias_hh_l1; tanh)")
    les, _ = run_json("lyapunov", "--matrix", path, "--activation", "tanh", "--layer", "1", "--steps", "50")
    assert les["model"]["layer"] == 1 and les["system"].startswith(f"deep.{fmt}, layer 1: vanilla cell (tanh), n = 6")
    g, _ = run_json("gradients", "--matrix", path, "--activation", "tanh", "--layer", "1", "--steps", "5")
    assert g["model"]["layer"] == 1 and g["lines"][0]["label"] == f"deep.{fmt}, layer 1"
    # the library warns too when it picks layer 0 of several
    with pytest.warns(AssumptionWarning, match=r"has 2 layers; analysing layer 0 \(pass layer=K, 0 ≤ K ≤ 1\)"):
        rd.load_cell(path, activation="tanh")


@pytest.mark.parametrize("command", [["stability"], ["lyapunov", "--steps", "5"], ["gradients", "--steps", "5"],
                                     ["spectrum"]])
def test_a_layer_the_file_lacks_is_a_one_line_error(tmp_path, command):
    path = save(nn_rnn_state_dict(layers=2), tmp_path / "deep", "npz")
    err = assert_one_line_error(run_cli(*command, "--matrix", path, "--layer", "2", "--activation", "tanh"))
    assert err == "Error: --layer: deep.npz has layers 0, 1, got 2"
    err = assert_one_line_error(run_cli(*command, "--matrix", "W0", "--layer", "1"))
    assert "--layer" in err


# --------------------------------------------------------------------------- lyapunov and gradients drive the model


@pytest.mark.usefixtures("as_the_cli")
@pytest.mark.parametrize("fmt", FORMATS)
def test_lyapunov_drives_the_model_through_its_own_input_weights_and_bias(tmp_path, fmt):
    sd = nn_rnn_state_dict()
    path = save(sd, tmp_path / "model", fmt)
    cell = rd.load_cell(path, activation="tanh")
    # without input the state settles at the model's fixed point, which its bias moves away from 0
    auto, _ = run_json("lyapunov", "--matrix", path, "--activation", "tanh", "--steps", "3000")
    fp = rd.fixed_points(cell)
    assert len(fp) == 1 and fp[0].kind == "sink"
    assert auto["max_exponent"] == pytest.approx(np.log(max(abs(fp[0].eigenvalues))), abs=1e-6)
    assert abs(auto["max_exponent"] - np.log(max(abs(np.linalg.eigvals(sd["weight_hh_l0"]))))) > 1e-2
    # driven: x_t ~ N(0, 1) through the model's own weight_ih, the library's draws for the same seed
    data, _ = run_json("lyapunov", "--matrix", path, "--activation", "tanh", "--noise", "3", "--steps", "400",
                       "--transient", "50", "--seed", "4")
    assert "driven by N(0, 1) inputs in its 3 channels through its weight_ih, bias b_ih + b_hh" in data["system"]
    p = random_problem("vanilla", cell=cell, d=3, steps=450, rng=4)
    np.testing.assert_array_equal(p.system.V, sd["weight_ih_l0"])
    les = rd.lyapunov_spectrum(cell, p.h0, p.inputs, steps=400, transient=50)
    np.testing.assert_array_equal(data["exponents"], les.exponents)
    # a --noise that is not the model's input size is refused, naming it
    err = assert_one_line_error(run_cli("lyapunov", "--matrix", path, "--activation", "tanh", "--noise", "2"))
    assert err.startswith("Error: --noise: model.") and "takes 3 inputs" in err


@pytest.mark.usefixtures("as_the_cli")
@pytest.mark.parametrize("fmt", FORMATS)
def test_gradients_run_the_model_with_its_own_input_weights_and_bias(tmp_path, fmt):
    sd = nn_rnn_state_dict()
    path = save(sd, tmp_path / "model", fmt)
    cell = rd.load_cell(path, activation="tanh")
    data, _ = run_json("gradients", "--matrix", path, "--activation", "tanh", "--steps", "30", "--seed", "2")
    (line,) = data["lines"]
    ref = rd.gradient_norms(lambda _W: cell, [{"init": "identity", "label": "m"}], size=6, steps=30, input_size=3,
                            rng=2)
    np.testing.assert_array_equal(line["norms"], ref.norms[0])
    # the inputs and the bias matter: the same W_hh alone gives other norms
    bare = rd.gradient_norms(lambda _W: rd.VanillaRNN(sd["weight_hh_l0"]), [{"init": "identity", "label": "m"}],
                             size=6, steps=30, input_size=3, rng=2)
    assert not np.allclose(line["norms"], bare.norms[0], rtol=1e-3)
    assert data["model"]["file"] == f"model.{fmt}" and line["cell"] == "vanilla"
    for opt in (["--init", "orthogonal"], ["--size", "6"], ["--input-scale", "0.1"]):
        err = assert_one_line_error(run_cli("gradients", "--matrix", path, *opt))
        assert err.startswith(f"Error: {opt[0]}, --matrix: give one of them"), err


def test_lstm_weights_stay_refused_with_the_load_cell_hint(tmp_path):
    np.savez(tmp_path / "lstm.npz", weight_hh_l0=np.ones((24, 6)), weight_ih_l0=np.ones((24, 3)))
    for command in ("stability", "lyapunov", "spectrum"):
        err = assert_one_line_error(run_cli(command, "--matrix", str(tmp_path / "lstm.npz")))
        assert "holds LSTM weights" in err and "rd.load_cell(path)" in err


# --------------------------------------------------------------------------- the README shows the whole path


def test_readme_shows_how_to_analyse_a_trained_torch_rnn():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "Analyse your trained PyTorch RNN" in readme
    for needed in ("rd.load_cell(", "rd.stability(", "rd.fixed_points(", "rd.lyapunov_spectrum(",
                   "rnndyn stability --matrix model.pt", "rnndyn lyapunov --matrix model.pt",
                   "rnndyn gradients --matrix model.pt", "--layer", "--activation relu"):
        assert needed in readme, needed
