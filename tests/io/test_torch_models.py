"""Trained models read as what they are: what a weights file identifies (inspect_weights), what load_cell assumes
and says it assumes, and driving a loaded cell through its own input weights.

Each behaviour runs on .npz files holding PyTorch's keys (no PyTorch needed) and, where PyTorch is installed,
on real ``nn.RNN`` modules and ``torch.save`` files.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import rnndyn as rd
from rnndyn.errors import AssumptionWarning
from rnndyn.io.weights import WeightsInfo, inspect_weights
from rnndyn.systems.build import random_problem


def rnn_keys(n=4, d=3, layers=1, g=1, seed=0, prefix=""):
    """nn.RNN / nn.LSTM / nn.GRU keys (g = 1, 4, 3 stacked blocks) for ``layers`` layers."""
    rng = np.random.default_rng(seed)
    sd = {}
    for k in range(layers):
        sd[f"{prefix}weight_ih_l{k}"] = rng.normal(size=(g * n, d if k == 0 else n)) * 0.3
        sd[f"{prefix}weight_hh_l{k}"] = rng.normal(size=(g * n, n)) * 0.3
        sd[f"{prefix}bias_ih_l{k}"] = rng.normal(size=g * n) * 0.1
        sd[f"{prefix}bias_hh_l{k}"] = rng.normal(size=g * n) * 0.1
    return sd


def no_warning(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return fn(*args, **kwargs)


# --------------------------------------------------------------------------- inspect_weights


def test_inspect_weights_says_kind_layers_sizes_and_recorded_nonlinearity(tmp_path):
    np.savez(tmp_path / "deep.npz", **rnn_keys(n=5, d=2, layers=3, prefix="enc.rnn."))
    info = inspect_weights(tmp_path / "deep.npz")
    assert info == WeightsInfo("deep.npz", "pytorch", "vanilla", (0, 1, 2), None, 5, 2, "enc.rnn.")
    assert info.nonlinearity_hint == "nn.RNN(nonlinearity='relu')"
    np.savez(tmp_path / "relu.npz", nonlinearity=np.array("relu"), **rnn_keys())
    assert inspect_weights(tmp_path / "relu.npz").nonlinearity == "relu"
    assert inspect_weights(rnn_keys(g=4)).kind == "lstm" and inspect_weights(rnn_keys(g=3)).kind == "gru"
    keras = {"rnn/recurrent_kernel:0": np.eye(3), "rnn/kernel:0": np.ones((2, 3)), "rnn/bias:0": np.zeros(3)}
    k = inspect_weights(keras)
    assert (k.convention, k.kind, k.layers, k.n, k.d, k.name) == ("keras", "vanilla", (0,), 3, 2, "the given dict")
    assert k.nonlinearity_hint == "SimpleRNN(activation='relu')"
    with pytest.raises(rd.LoadError, match="found no recurrent weights"):
        inspect_weights({"fc.weight": np.ones((2, 2))})


# --------------------------------------------------------------------------- load_cell says what it assumes


def test_load_cell_warns_when_it_assumes_the_nonlinearity(tmp_path):
    np.savez(tmp_path / "model.npz", **rnn_keys())
    with pytest.warns(AssumptionWarning) as rec:
        cell = rd.load_cell(tmp_path / "model.npz")
    assert cell.activation == "tanh" and len(rec) == 1
    assert str(rec[0].message) == ("'model.npz' does not record its nonlinearity; assuming tanh "
                                   "(pass activation='relu' for nn.RNN(nonlinearity='relu'))")
    assert rec[0].filename == __file__  # points at the caller's line
    assert issubclass(AssumptionWarning, UserWarning)
    # stated, or recorded in the file: nothing assumed, nothing said
    assert no_warning(rd.load_cell, tmp_path / "model.npz", activation="relu").activation == "relu"
    np.savez(tmp_path / "relu.npz", nonlinearity=np.array("relu"), **rnn_keys())
    assert no_warning(rd.load_cell, tmp_path / "relu.npz").activation == "relu"
    # an LSTM has no choice of nonlinearity: nothing to assume
    assert isinstance(no_warning(rd.load_cell, rnn_keys(g=4)), rd.LSTM)
    keras = {"recurrent_kernel": np.eye(3) * 0.5}
    with pytest.warns(AssumptionWarning, match=r"pass activation='relu' for SimpleRNN\(activation='relu'\)"):
        rd.load_cell(keras)


def test_load_cell_warns_when_it_picks_layer_0_of_several(tmp_path):
    sd = rnn_keys(layers=2)
    np.savez(tmp_path / "deep.npz", **sd)
    with pytest.warns(AssumptionWarning, match=r"^'deep.npz' has 2 layers; analysing layer 0 \(pass layer=K, "
                                               r"0 ≤ K ≤ 1\)$"):
        c0 = rd.load_cell(tmp_path / "deep.npz", activation="tanh")
    np.testing.assert_array_equal(c0.W, sd["weight_hh_l0"])
    c1 = no_warning(rd.load_cell, tmp_path / "deep.npz", activation="tanh", layer=1)
    np.testing.assert_array_equal(c1.W, sd["weight_hh_l1"])
    np.testing.assert_array_equal(c1.V, sd["weight_ih_l1"])  # layer 1 is driven by layer 0's states
    np.testing.assert_array_equal(c1.b, sd["bias_ih_l1"] + sd["bias_hh_l1"])
    no_warning(rd.load_cell, tmp_path / "deep.npz", activation="tanh", layer=0)
    no_warning(rd.load_cell, rnn_keys(), activation="tanh")  # one layer: nothing to pick
    with pytest.raises(rd.LoadError, match=r"has no layer 2 .*layers found: \[0, 1\]"):
        rd.load_cell(tmp_path / "deep.npz", activation="tanh", layer=2)


# --------------------------------------------------------------------------- a loaded cell driven by its own weights


def test_random_problem_drives_a_given_cell_through_its_own_input_weights():
    cell = rd.load_cell(rnn_keys(n=4, d=3), activation="tanh")
    p = random_problem("vanilla", cell=cell, d=3, steps=7, rng=5)
    assert p.system is cell and p.inputs.shape == (7, 3) and p.h0.shape == (4,)
    # the same draws, in the documented order, as for a cell built from the same W (whose V is drawn first)
    g = np.random.default_rng(5)
    np.testing.assert_array_equal(p.inputs, g.normal(size=(7, 3)))
    np.testing.assert_array_equal(p.h0, g.normal(0.0, 0.5, 4))
    assert random_problem("vanilla", cell=cell, rng=5).inputs is None  # d = 0: only the bias drives it
    with pytest.raises(rd.ValidationError, match=r"d: the cell takes 3 inputs .*got 2"):
        random_problem("vanilla", cell=cell, d=2, steps=3)
    with pytest.raises(rd.ValidationError, match="W: not used with cell"):
        random_problem("vanilla", cell=cell, W=np.eye(4))
    with pytest.raises(rd.ValidationError, match="cell: expected a EulerRNN"):
        random_problem("euler", cell=cell)


# --------------------------------------------------------------------------- real PyTorch


def test_torch_module_file_and_npz_twin_agree(tmp_path):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    rnn = torch.nn.RNN(3, 5, num_layers=2, nonlinearity="relu").double()
    torch.save(rnn.state_dict(), tmp_path / "model.pt")
    np.savez(tmp_path / "model.npz", **{k: v.detach().numpy() for k, v in rnn.state_dict().items()})
    # the module knows its nonlinearity; its state dict does not
    assert inspect_weights(rnn).nonlinearity == "relu"
    for name in ("model.pt", "model.npz"):
        info = inspect_weights(tmp_path / name)
        assert (info.kind, info.layers, info.nonlinearity, info.n, info.d) == ("vanilla", (0, 1), None, 5, 3)
        with pytest.warns(AssumptionWarning, match="does not record its nonlinearity"):
            rd.load_cell(tmp_path / name, layer=1)
    c_pt = rd.load_cell(tmp_path / "model.pt", activation="relu", layer=1)
    c_mod = no_warning(rd.load_cell, rnn, layer=1)
    assert c_mod.activation == "relu"
    for attr in ("W", "V", "b"):
        np.testing.assert_array_equal(getattr(c_pt, attr), getattr(c_mod, attr))
    # layer 1 of the module, run on layer 0's outputs, is the loaded cell
    x = torch.randn(9, 1, 3, dtype=torch.float64)
    out, hT = rnn(x)
    l0 = rd.simulate(rd.load_cell(rnn, layer=0), np.zeros(5), inputs=x[:, 0].numpy()).states[1:]
    final = rd.simulate(c_pt, np.zeros(5), inputs=l0, record="last").final
    np.testing.assert_allclose(final, hT[1, 0].detach().numpy(), rtol=1e-12, atol=1e-14)
