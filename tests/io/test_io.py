"""rnndyn.io: matrices from names and files, trained weights (PyTorch, Keras, Flax layouts), results saved
atomically."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import sys
import zipfile

import numpy as np
import pytest
from click.testing import CliRunner

import rnndyn as rd
from rnndyn.io import results as io_results

# --------------------------------------------------------------------------- helpers


def torch_rnn_forward(sd, x, h0, act="tanh"):
    """nn.RNN's recurrence written out in NumPy (the twin of the torch test that always runs)."""
    f = np.tanh if act == "tanh" else (lambda a: np.maximum(a, 0.0))
    h = h0
    for t in range(x.shape[0]):
        h = f(sd["weight_ih_l0"] @ x[t] + sd["bias_ih_l0"] + sd["weight_hh_l0"] @ h + sd["bias_hh_l0"])
    return h


def random_state_dict(n=4, d=3, g=1, seed=0, prefix=""):
    rng = np.random.default_rng(seed)
    return {
        f"{prefix}weight_ih_l0": rng.normal(size=(g * n, d)) / np.sqrt(d),
        f"{prefix}weight_hh_l0": rng.normal(size=(g * n, n)) / np.sqrt(n),
        f"{prefix}bias_ih_l0": rng.normal(size=g * n) * 0.1,
        f"{prefix}bias_hh_l0": rng.normal(size=g * n) * 0.1,
    }


# --------------------------------------------------------------------------- load_matrix / load_array


def test_named_and_array():
    assert np.array_equal(rd.load_matrix("Wdiff"), rd.named_matrix("Wdiff"))
    m = rd.load_matrix([[1, 2], [3, 4]])
    assert m.dtype == np.float64 and m.shape == (2, 2)


def test_unknown_name_suggests():
    with pytest.raises(rd.UnknownNameError, match=r"'W1'.*did you mean 'W0'"):
        rd.load_matrix("W1")


def test_npy_npz_csv_txt(tmp_path):
    W = np.arange(9.0).reshape(3, 3)
    np.save(tmp_path / "w.npy", W)
    np.savez(tmp_path / "one.npz", W=W)
    np.savez(tmp_path / "two.npz", A=W, B=2 * W)
    (tmp_path / "w.csv").write_text("# a comment\nc1,c2,c3\n0,1,2\n3,4,5\n6,7,8\n")
    (tmp_path / "w.txt").write_text("0 1 2\n3\t4 5\n\n6 7 8\n")
    (tmp_path / "semi.csv").write_text("\ufeff0;1;2\n3;4;5\n6;7;8\n")  # BOM and semicolons (European CSV)
    for name in ["w.npy", "one.npz", "two.npz:B", "w.csv", "w.txt", "semi.csv"]:
        got = rd.load_matrix(str(tmp_path / name))
        assert np.array_equal(got, 2 * W if name.endswith(":B") else W), name
    with pytest.raises(rd.LoadError,
                       match=r"holds 2 arrays \['A', 'B'\] and no recognised RNN weights; pick one with .*two.npz:KEY"):
        rd.load_matrix(tmp_path / "two.npz")
    with pytest.raises(rd.LoadError, match=r"has no array 'C'; it holds \['A', 'B'\]"):
        rd.load_matrix(f"{tmp_path / 'two.npz'}:C")


@pytest.mark.parametrize("content, match", [
    ("1,2\n3,4,5\n", "could not read"),
    ("1,2\n3,x\n", "could not read"),
    ("", "holds no numbers"),
    ("# only a comment\n", "holds no numbers"),
    ("a,b\n", "header row but no numbers"),
    ("1,nan\n2,3\n", r"expected finite values, found nan at index \(0, 1\)"),
    ("1,2,3\n4,5,6\n", r"square .* got shape \(2, 3\)"),
])
def test_bad_csv(tmp_path, content, match):
    p = tmp_path / "m.csv"
    p.write_text(content)
    with pytest.raises(rd.LoadError, match=match):
        rd.load_matrix(p)


def test_binary_garbage_in_text_file(tmp_path):
    p = tmp_path / "m.txt"
    p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff")
    with pytest.raises(rd.LoadError, match="not a text file"):
        rd.load_matrix(p)


def test_pickled_object_array_refused(tmp_path):
    np.save(tmp_path / "o.npy", np.array([[1, "x"], [None, 2]], dtype=object), allow_pickle=True)
    with pytest.raises(rd.LoadError, match="Python objects.*never unpickles"):
        rd.load_matrix(tmp_path / "o.npy")
    np.savez(tmp_path / "o.npz", W=np.array([{"a": 1}], dtype=object))
    with pytest.raises(rd.LoadError, match="Python objects"):
        rd.load_matrix(tmp_path / "o.npz")


@pytest.mark.parametrize("arr, match", [
    (np.ones((2, 2), complex), "complex"),
    (np.array([["a", "b"], ["c", "d"]]), "dtype <U1"),
    (np.zeros((2, 2), dtype="m8[s]"), "timedelta64"),
    (np.ones((2, 3)), r"shape \(2, 3\)"),
    (np.ones((0, 0)), r"shape \(0, 0\)"),
    (np.ones(4), r"shape \(4,\)"),
    (np.array([[1.0, np.inf], [0, 1]]), "finite"),
])
def test_bad_npy_contents(tmp_path, arr, match):
    np.save(tmp_path / "m.npy", arr)
    with pytest.raises(rd.LoadError, match=match):
        rd.load_matrix(tmp_path / "m.npy")


def test_truncated_npy_refused_from_header(tmp_path):
    np.save(tmp_path / "m.npy", np.ones((30, 30)))
    raw = (tmp_path / "m.npy").read_bytes()
    (tmp_path / "t.npy").write_bytes(raw[:-100])
    with pytest.raises(rd.LoadError, match=r"truncated: the header declares shape \(30, 30\)"):
        rd.load_matrix(tmp_path / "t.npy")


def test_oversized_header_refused_before_allocation(tmp_path, monkeypatch):
    # A header declaring a huge array must be refused without allocating it.
    p = tmp_path / "huge.npy"
    with open(p, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6)})
    with pytest.raises(rd.MemoryLimitError, match=r"would need 7450.58 GiB.*MEMORY_LIMIT_BYTES"):
        rd.load_matrix(p)
    monkeypatch.setattr(rd.config, "MEMORY_LIMIT_BYTES", 100)
    np.save(tmp_path / "w.npy", np.ones((4, 4)))
    with pytest.raises(rd.MemoryLimitError, match="128 bytes|0.00 GiB"):
        rd.load_matrix(tmp_path / "w.npy")


def test_missing_file_and_suffix(tmp_path):
    with pytest.raises(rd.LoadError, match="no such file"):
        rd.load_matrix(tmp_path / "nope.npy")
    with pytest.raises(rd.LoadError, match="neither a named matrix"):
        rd.load_matrix(tmp_path / "w.xlsx")


# --------------------------------------------------------------------------- load_cell: .npz twin (always runs)


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_load_cell_npz_twin(tmp_path, act):
    sd = random_state_dict()
    np.savez(tmp_path / "rnn.npz", nonlinearity=np.array(act), **sd)
    cell = rd.load_cell(tmp_path / "rnn.npz")
    assert isinstance(cell, rd.VanillaRNN) and cell.activation == act
    np.testing.assert_array_equal(cell.W, sd["weight_hh_l0"])
    np.testing.assert_array_equal(cell.V, sd["weight_ih_l0"])
    np.testing.assert_allclose(cell.b, sd["bias_ih_l0"] + sd["bias_hh_l0"], rtol=0, atol=0)
    rng = np.random.default_rng(1)
    x, h0 = rng.normal(size=(9, 3)), rng.normal(size=4)
    got = rd.simulate(cell, h0, inputs=x, record="last").final
    np.testing.assert_allclose(got, torch_rnn_forward(sd, x, h0, act), rtol=1e-12, atol=1e-14)
    # the CLI's --matrix and load_matrix read its weight_hh_l0
    np.testing.assert_array_equal(rd.load_matrix(tmp_path / "rnn.npz"), sd["weight_hh_l0"])
    np.testing.assert_array_equal(rd.load_recurrent_matrix(str(tmp_path / "rnn.npz")), sd["weight_hh_l0"])


def test_load_cell_kinds_and_options(tmp_path):
    sd = random_state_dict()
    np.savez(tmp_path / "rnn.npz", **sd)
    e = rd.load_cell(tmp_path / "rnn.npz", kind="euler", eps=0.05, gamma=0.2)
    assert isinstance(e, rd.EulerRNN) and (e.eps, e.gamma) == (0.05, 0.2)
    a = rd.load_cell(tmp_path / "rnn.npz", kind="antisymmetric")
    assert isinstance(a, rd.AntisymmetricRNN) and (a.eps, a.gamma) == (0.1, 0.0)
    assert rd.load_cell(sd, activation="linear").activation == "linear"  # an in-memory state dict
    with pytest.raises(rd.ValidationError, match="eps: expected a number > 0, got 0.0"):
        rd.load_cell(tmp_path / "rnn.npz", kind="euler", eps=0)
    with pytest.raises(rd.ValidationError, match="gamma: expected a number >= 0, got -1.0"):
        rd.load_cell(tmp_path / "rnn.npz", kind="antisymmetric", gamma=-1)
    with pytest.raises(rd.ValidationError, match="eps: only used with kind='euler'"):
        rd.load_cell(tmp_path / "rnn.npz", eps=0.1)
    with pytest.raises(rd.UnknownNameError, match="kind: expected one of .*got 'lstmm'.*did you mean 'lstm'"):
        rd.load_cell(tmp_path / "rnn.npz", kind="lstmm")
    with pytest.raises(rd.UnknownNameError, match="activation"):
        rd.load_cell(tmp_path / "rnn.npz", activation="gelu")
    with pytest.raises(rd.LoadError, match=r"kind='lstm' expects weight_hh of shape \(16, 4\), got \(4, 4\)"):
        rd.load_cell(tmp_path / "rnn.npz", kind="lstm")


def test_load_cell_prefix_layers_and_no_bias(tmp_path):
    sd = random_state_dict(prefix="encoder.rnn.")
    sd.update({k.replace("l0", "l1"): v for k, v in random_state_dict(n=4, d=4, seed=3, prefix="encoder.rnn.").items()})
    sd["decoder.weight"] = np.ones((2, 4))
    np.savez(tmp_path / "model.npz", **sd)
    c0 = rd.load_cell(tmp_path / "model.npz")
    np.testing.assert_array_equal(c0.W, sd["encoder.rnn.weight_hh_l0"])
    c1 = rd.load_cell(tmp_path / "model.npz", layer=1)
    np.testing.assert_array_equal(c1.W, sd["encoder.rnn.weight_hh_l1"])
    with pytest.raises(rd.LoadError, match=r"has no layer 2 .*layers found: \[0, 1\]"):
        rd.load_cell(tmp_path / "model.npz", layer=2)
    two = {**random_state_dict(prefix="a."), **random_state_dict(prefix="b.", seed=2)}
    with pytest.raises(rd.LoadError, match=r"2 recurrent layers with prefixes \['a.', 'b.'\]; pick one with prefix"):
        rd.load_cell(two)
    np.testing.assert_array_equal(rd.load_cell(two, prefix="b.").W, two["b.weight_hh_l0"])
    bare = {"weight_hh_l0": np.eye(3) * 0.5}  # nn.RNN(bias=False) without inputs used
    c = rd.load_cell(bare)
    assert c.d == 0 and np.array_equal(c.b, np.zeros(3))


def test_load_cell_shape_mismatches():
    sd = random_state_dict()
    bad = dict(sd, bias_hh_l0=np.ones(5))
    with pytest.raises(rd.LoadError, match=r"bias_hh must have shape \(4,\) .* got \(5,\)"):
        rd.load_cell(bad)
    bad = dict(sd, weight_ih_l0=np.ones((5, 3)))
    with pytest.raises(rd.LoadError, match=r"weight_ih must have shape \(4, d\) .* got \(5, 3\)"):
        rd.load_cell(bad)
    with pytest.raises(rd.LoadError, match=r"stacks 2 blocks"):
        rd.load_cell({"weight_hh_l0": np.ones((8, 4))})
    with pytest.raises(rd.LoadError, match=r"found no recurrent weights .* it holds \['fc.bias', 'fc.weight'\]"):
        rd.load_cell({"fc.weight": np.ones((2, 2)), "fc.bias": np.ones(2)})
    with pytest.raises(rd.LoadError, match="finite"):
        rd.load_cell(dict(sd, weight_hh_l0=np.full((4, 4), np.nan)))


def test_load_gru_npz(tmp_path):
    sd = random_state_dict(n=5, d=2, g=3)
    np.savez(tmp_path / "w.npz", **sd)
    w = rd.load_cell(tmp_path / "w.npz")
    assert isinstance(w, rd.GatedRecurrentWeights) and w.kind == "gru" and w.gates == ("r", "z", "n")
    assert (w.n, w.d) == (5, 2) and w.W_hh.shape == (3, 5, 5)
    for i, gate in enumerate(w.gates):
        np.testing.assert_array_equal(w.blocks[gate], sd["weight_hh_l0"][5 * i:5 * (i + 1)])
        np.testing.assert_array_equal(w.b_hh[i], sd["bias_hh_l0"][5 * i:5 * (i + 1)])  # kept apart from b_ih
    with pytest.raises(rd.LoadError, match=r"holds GRU weights .* rd.load_cell\(path\) reads them"):
        rd.load_matrix(tmp_path / "w.npz")


def test_load_lstm_npz(tmp_path):
    sd = random_state_dict(n=5, d=2, g=4)
    np.savez(tmp_path / "w.npz", **sd)
    cell = rd.load_cell(tmp_path / "w.npz")
    assert isinstance(cell, rd.LSTM) and (cell.n, cell.d) == (5, 2)
    np.testing.assert_array_equal(cell.W_hh, sd["weight_hh_l0"])
    np.testing.assert_array_equal(cell.b, sd["bias_ih_l0"] + sd["bias_hh_l0"])
    with pytest.raises(rd.LoadError, match=r"holds LSTM weights .* rd.load_cell\(path\) reads them \(an rd.LSTM\)"):
        rd.load_matrix(tmp_path / "w.npz")


def test_keras_and_flax_layouts_are_transposed(tmp_path):
    sd = random_state_dict()
    # Keras SimpleRNN: h_t = tanh(x K + h U + b) with K = V^T, U = W^T
    keras = {"simple_rnn/simple_rnn_cell/kernel:0": sd["weight_ih_l0"].T,
             "simple_rnn/simple_rnn_cell/recurrent_kernel:0": sd["weight_hh_l0"].T,
             "simple_rnn/simple_rnn_cell/bias:0": sd["bias_ih_l0"] + sd["bias_hh_l0"]}
    np.savez(tmp_path / "keras.npz", **keras)
    # Flax linen SimpleCell: Dense_i(x) (no bias) + Dense_h(h), kernels (in, out)
    flax = {"params/cell/i/kernel": sd["weight_ih_l0"].T, "params/cell/h/kernel": sd["weight_hh_l0"].T,
            "params/cell/h/bias": sd["bias_ih_l0"] + sd["bias_hh_l0"]}
    np.savez(tmp_path / "flax.npz", **flax)
    ref = rd.load_cell(sd)
    for name in ("keras.npz", "flax.npz"):
        c = rd.load_cell(tmp_path / name)
        np.testing.assert_array_equal(c.W, ref.W)
        np.testing.assert_array_equal(c.V, ref.V)
        np.testing.assert_allclose(c.b, ref.b, rtol=1e-15)
        np.testing.assert_array_equal(rd.load_matrix(tmp_path / name), ref.W)


# --------------------------------------------------------------------------- load_cell: real PyTorch


@pytest.fixture
def torch():
    return pytest.importorskip("torch")


@pytest.mark.parametrize("act", ["tanh", "relu"])
def test_torch_rnn_state_dict(tmp_path, torch, act):
    torch.manual_seed(0)
    rnn = torch.nn.RNN(3, 6, nonlinearity=act).double()
    torch.save(rnn.state_dict(), tmp_path / "my_rnn.pt")
    cell = rd.load_cell(tmp_path / "my_rnn.pt", activation=act)
    assert isinstance(cell, rd.VanillaRNN) and (cell.n, cell.d) == (6, 3)
    x = torch.randn(12, 2, 3, dtype=torch.float64)
    h0 = torch.randn(1, 2, 6, dtype=torch.float64)
    _, hT = rnn(x, h0)
    got = rd.simulate(cell, h0[0].numpy(), inputs=x.transpose(0, 1).numpy(), record="last").final
    np.testing.assert_allclose(got, hT[0].detach().numpy(), rtol=1e-12, atol=1e-13)
    # the module itself knows its nonlinearity; a state dict does not
    assert rd.load_cell(rnn).activation == act
    np.testing.assert_array_equal(rd.load_matrix(tmp_path / "my_rnn.pt"), rnn.weight_hh_l0.detach().numpy())
    np.testing.assert_array_equal(rd.load_matrix(f"{tmp_path / 'my_rnn.pt'}:weight_hh_l0"),
                                  rnn.weight_hh_l0.detach().numpy())


def test_torch_lstm_checkpoint(tmp_path, torch):
    torch.manual_seed(1)
    model = torch.nn.Module()
    model.rnn = torch.nn.LSTM(2, 3).double()
    model.head = torch.nn.Linear(3, 1)
    torch.save({"model": model.state_dict(), "epoch": 7, "note": "trained"}, tmp_path / "ckpt.pth")
    cell = rd.load_cell(tmp_path / "ckpt.pth")
    assert isinstance(cell, rd.LSTM) and cell.W_hh.dtype == np.float64
    x = torch.randn(6, 1, 2, dtype=torch.float64)
    h0, c0 = torch.randn(1, 1, 3, dtype=torch.float64), torch.randn(1, 1, 3, dtype=torch.float64)
    _, (hT, cT) = model.rnn(x, (h0, c0))
    final = rd.simulate(cell, np.r_[h0[0, 0].numpy(), c0[0, 0].numpy()], inputs=x[:, 0].numpy(), record="last").final
    np.testing.assert_allclose(final, np.r_[hT[0, 0].detach().numpy(), cT[0, 0].detach().numpy()], rtol=1e-12,
                               atol=1e-14)
    gru = torch.nn.GRU(2, 3)
    assert rd.load_cell(gru).kind == "gru"


def test_torch_file_refusals(tmp_path, torch):
    rnn = torch.nn.RNN(2, 2)
    torch.save(rnn, tmp_path / "module.pt")  # a pickled module, not a state dict
    with pytest.raises(rd.LoadError, match=r"pickled model .* save model.state_dict\(\) instead"):
        rd.load_cell(tmp_path / "module.pt")
    torch.save(rnn.state_dict(), tmp_path / "ok.pt")
    raw = (tmp_path / "ok.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(rd.LoadError, match="truncated or corrupted"):
        rd.load_matrix(tmp_path / "cut.pt")
    torch.save(torch.eye(3, dtype=torch.complex64), tmp_path / "c.pt")
    with pytest.raises(rd.LoadError, match="complex"):
        rd.load_matrix(tmp_path / "c.pt")
    torch.save(torch.eye(3), tmp_path / "eye.pt")  # a bare tensor is the matrix
    np.testing.assert_array_equal(rd.load_matrix(tmp_path / "eye.pt"), np.eye(3))


def test_torch_missing_gives_install_hint(tmp_path, monkeypatch):
    (tmp_path / "w.pt").write_bytes(b"PK\x03\x04 not really")
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch -> ImportError
    with pytest.raises(rd.LoadError, match="needs PyTorch, which is not installed: pip install torch"):
        rd.load_cell(tmp_path / "w.pt")


def test_tensors_accepted_by_cells(torch):
    W = torch.randn(3, 3, requires_grad=True)
    cell = rd.VanillaRNN(W)
    np.testing.assert_allclose(cell.W, W.detach().double().numpy())


# --------------------------------------------------------------------------- CLI --matrix with a .pt / .npz


def _cli():
    from rnndyn_cli.main import cli

    return cli


def test_matrix_type_reads_state_dicts(tmp_path):
    from rnndyn_cli.types import MatrixType

    sd = random_state_dict()
    np.savez(tmp_path / "my_rnn.npz", **sd)
    got = MatrixType().convert(str(tmp_path / "my_rnn.npz"), None, None)
    np.testing.assert_array_equal(got, sd["weight_hh_l0"])


def test_matrix_type_reads_pt(tmp_path, torch):
    from rnndyn_cli.types import MatrixType

    rnn = torch.nn.RNN(2, 5)
    torch.save(rnn.state_dict(), tmp_path / "my_rnn.pt")
    got = MatrixType().convert(str(tmp_path / "my_rnn.pt"), None, None)
    np.testing.assert_array_equal(got, rnn.weight_hh_l0.detach().numpy())


def _check_stability_cli(path, W):
    """``rnndyn stability --matrix PATH`` reads the file as the model it holds, as ``rd.load_cell`` does: by default
    its vanilla cell (W, V and b = b_ih + b_hh), with ``--cell euler`` an Euler cell over the same weights; the
    report equals the library's for that cell."""
    cli = _cli()
    if "stability" not in cli.commands:
        pytest.skip("the stability command is not registered yet")
    runner = CliRunner()
    res = runner.invoke(cli, ["stability", "--matrix", str(path), "--activation", "tanh"])
    assert res.exit_code == 0, res.output
    assert "spectral radius" in res.stdout and "VanillaRNN (tanh)" in res.stdout
    for args, cell in (([], rd.load_cell(path, activation="tanh")),
                       (["--cell", "euler"], rd.load_cell(path, kind="euler", activation="tanh"))):
        np.testing.assert_array_equal(cell.W, W)
        res = runner.invoke(cli, ["stability", "--matrix", str(path), "--activation", "tanh", "--json", *args])
        assert res.exit_code == 0, res.output
        out = json.loads(res.stdout)
        assert out["kind"] == type(cell).__name__
        assert out["spectral_radius"] == rd.stability(cell).spectral_radius


def test_cli_stability_on_npz_state_dict(tmp_path):
    sd = random_state_dict(n=5)
    np.savez(tmp_path / "my_rnn.npz", **sd)
    _check_stability_cli(tmp_path / "my_rnn.npz", sd["weight_hh_l0"])


def test_cli_stability_on_torch_state_dict(tmp_path, torch):
    torch.manual_seed(3)
    rnn = torch.nn.RNN(3, 5)
    torch.save(rnn.state_dict(), tmp_path / "my_rnn.pt")
    _check_stability_cli(tmp_path / "my_rnn.pt", rnn.weight_hh_l0.detach().numpy().astype(np.float64))


# --------------------------------------------------------------------------- save_result / load_result


@dataclasses.dataclass(frozen=True)
class Inner:
    eigenvalues: np.ndarray
    kind: str


@dataclasses.dataclass(frozen=True)
class Outer:
    values: np.ndarray
    count: int
    ratio: float
    flag: bool
    nothing: object
    inner: Inner
    many: tuple
    z: complex


def _outer():
    return Outer(values=np.array([[1.0, np.nan], [np.inf, -np.inf]]), count=3, ratio=float("nan"), flag=True,
                 nothing=None, inner=Inner(np.array([1 + 2j, -0.15 - 2j]), "sink"),
                 many=(Inner(np.zeros(2), "a"), Inner(np.ones(2), "b")), z=1 - 1j)


def _same(a, b):
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and \
            np.array_equal(a, b, equal_nan=True)
    if isinstance(a, float) and np.isnan(a):
        return isinstance(b, float) and np.isnan(b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_round_trip_nested(tmp_path, suffix):
    r = _outer()
    p = rd.save_result(r, tmp_path / f"sub/dir/r{suffix}", params={"eps": 0.1, "matrix": "W0", "x0": np.ones(2)})
    back = rd.load_result(p)
    expect = {"values": r.values, "count": 3, "ratio": float("nan"), "flag": True, "nothing": None,
              "inner.eigenvalues": r.inner.eigenvalues, "inner.kind": "sink",
              "many.0.eigenvalues": np.zeros(2), "many.0.kind": "a", "many.1.eigenvalues": np.ones(2),
              "many.1.kind": "b", "z": 1 - 1j}
    assert list(back) == list(expect)
    for k, v in expect.items():
        assert _same(v, back[k]), (k, v, back[k])
    m = back.metadata
    assert m["rnndyn_version"] == rd.__version__ and m["type"].endswith("Outer")
    assert datetime.datetime.fromisoformat(m["created"]).tzinfo is not None
    assert m["params"]["eps"] == 0.1 and m["params"]["matrix"] == "W0"
    if suffix == ".json":
        json.loads((tmp_path / "sub/dir/r.json").read_text())  # strict JSON: no bare NaN
        assert "NaN" not in (tmp_path / "sub/dir/r.json").read_text()


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_round_trip_library_results(tmp_path, suffix):
    cell = rd.EulerRNN(rd.named_matrix("Wdiff"), eps=0.1)
    traj = rd.simulate(cell, [[0.0, 0.5], [0.5, -0.75]], steps=20)
    back = rd.load_result(rd.save_result(traj, tmp_path / f"t{suffix}"))
    np.testing.assert_array_equal(back["states"], traj.states)
    np.testing.assert_array_equal(back["diverged_at"], traj.diverged_at)
    tan = rd.tangent(cell, [0.0, 0.5], steps=10, vectors=np.eye(2))
    back = rd.load_result(rd.save_result(tan, tmp_path / f"j{suffix}"))
    np.testing.assert_array_equal(back["jacobian"], tan.jacobian)
    assert back["norm"] == "spectral" and back["diverged_at"] == -1
    if hasattr(rd, "fixed_points"):  # a tuple of FixedPoint dataclasses
        fps = rd.fixed_points(cell)
        back = rd.load_result(rd.save_result(fps, tmp_path / f"fp{suffix}"))
        np.testing.assert_array_equal(back["0.state"], fps[0].state)
        np.testing.assert_array_equal(back["0.eigenvalues"], fps[0].eigenvalues)
    if hasattr(rd, "stability"):
        rep = rd.stability(cell)
        back = rd.load_result(rd.save_result(rep, tmp_path / f"s{suffix}"))
        np.testing.assert_array_equal(back["matrix_eigenvalues"], rep.matrix_eigenvalues)
        assert back["summary"] == rep.summary


def test_save_is_atomic(tmp_path, monkeypatch):
    p = tmp_path / "r.npz"
    rd.save_result(_outer(), p)
    before = p.read_bytes()

    def boom(f, arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt  # a crash in the middle of writing

    monkeypatch.setattr(io_results, "_write_npz", boom)
    with pytest.raises(KeyboardInterrupt):
        rd.save_result(_outer(), p)
    assert p.read_bytes() == before  # the old file is untouched
    assert os.listdir(tmp_path) == ["r.npz"]  # and no temporary file is left behind
    assert zipfile.is_zipfile(p)


def test_saved_file_permissions_follow_umask(tmp_path):
    p = rd.save_result(_outer(), tmp_path / "r.json")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(p).st_mode & 0o777 == 0o666 & ~umask


def test_field_names_that_clash_with_numpy_arguments(tmp_path):
    @dataclasses.dataclass(frozen=True)
    class R:
        file: np.ndarray
        allow_pickle: int

    back = rd.load_result(rd.save_result(R(np.ones(2), 1), tmp_path / "r.npz"))
    assert back["allow_pickle"] == 1 and back["file"].shape == (2,)


def test_save_refusals(tmp_path):
    with pytest.raises(rd.SaveError, match=r"path: expected a file ending in .npz or .json, got .*r.csv"):
        rd.save_result(_outer(), tmp_path / "r.csv")
    with pytest.raises(rd.ArgumentTypeError, match="result: expected an rnndyn result"):
        rd.save_result(np.ones(3), tmp_path / "r.npz")

    @dataclasses.dataclass(frozen=True)
    class R:
        f: object

    with pytest.raises(rd.SaveError, match="field 'f' holds a function, which is not data"):
        rd.save_result(R(lambda: 0), tmp_path / "r.npz")
    with pytest.raises(rd.SaveError, match="field 'f' .* cannot be stored as a numeric array"):
        rd.save_result(R(10**30), tmp_path / "r.npz")
    (tmp_path / "d.npz").mkdir()
    with pytest.raises(rd.SaveError, match="is a folder"):
        rd.save_result(_outer(), tmp_path / "d.npz")
    (tmp_path / "blocker").write_text("a file, not a folder")
    with pytest.raises(rd.SaveError, match="cannot write to"):
        rd.save_result(_outer(), tmp_path / "blocker" / "r.npz")
    assert not any(n.endswith(".tmp") for n in os.listdir(tmp_path))


def test_load_result_refusals(tmp_path):
    (tmp_path / "x.json").write_text('{"a": 1}')
    with pytest.raises(rd.LoadError, match="not an rnndyn result file"):
        rd.load_result(tmp_path / "x.json")
    p = rd.save_result(_outer(), tmp_path / "r.json")
    p.write_text(p.read_text()[:50])
    with pytest.raises(rd.LoadError, match="not valid JSON: truncated"):
        rd.load_result(p)
    p = rd.save_result(_outer(), tmp_path / "r.npz")
    p.write_bytes(p.read_bytes()[:200])
    with pytest.raises(rd.LoadError, match="truncated or corrupted"):
        rd.load_result(p)
    with pytest.raises(rd.LoadError, match="no such file"):
        rd.load_result(tmp_path / "none.npz")


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_strings_keep_every_character(tmp_path, suffix):
    @dataclasses.dataclass(frozen=True)
    class R:
        s: str
        empty: str

    back = rd.load_result(rd.save_result(R("a\x00\x00", ""), tmp_path / f"r{suffix}"))
    assert back["s"] == "a\x00\x00" and back["empty"] == ""


def test_package_reexports_each_module():
    from rnndyn import io
    from rnndyn.io import arrays, results, weights

    homes = {"load_array": arrays, "load_cell": weights, "load_recurrent_matrix": weights, "load_matrix": weights,
             "GatedRecurrentWeights": weights, "save_result": results, "load_result": results}
    for name, module in homes.items():
        assert getattr(io, name) is getattr(module, name) is getattr(rd, name)
        assert name in io.__all__ and name in module.__all__


def test_memory_check_is_shared():
    from rnndyn import _validate
    from rnndyn.analysis import trajectories

    assert trajectories.check_memory is _validate.check_memory
