"""save_result / load_result against colliding, cyclic, deep and malformed input: typed errors, nothing lost."""

from __future__ import annotations

import json

import numpy as np
import pytest

import rnndyn as rd
from rnndyn.errors import ArgumentTypeError, LoadError, RnndynError, SaveError, ValidationError
from rnndyn.io.results import MAX_NESTING


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_colliding_dotted_names_are_refused_not_dropped(tmp_path, suffix):
    with pytest.raises(SaveError, match="'a.b'"):
        rd.save_result({"a.b": 1, "a": {"b": 2}}, tmp_path / f"k{suffix}")
    assert not (tmp_path / f"k{suffix}").exists()


def test_self_referencing_result_and_params_are_refused(tmp_path):
    d: dict = {"x": 1}
    d["self"] = d
    with pytest.raises(SaveError, match="contains itself"):
        rd.save_result(d, tmp_path / "r.json")
    p: dict = {"eps": 0.1}
    p["p"] = p
    with pytest.raises(SaveError, match="contains itself"):
        rd.save_result({"x": 1}, tmp_path / "r.json", params=p)


def test_deep_nesting_is_refused(tmp_path):
    deep: dict = {"v": 1}
    for _ in range(5000):
        deep = {"d": deep}
    for kw in ({"result": deep}, {"result": {"x": 1}, "params": deep}):
        with pytest.raises(SaveError, match=f"deeper than {MAX_NESTING}"):
            rd.save_result(kw["result"], tmp_path / "r.json", params=kw.get("params"))


def test_deep_json_file_is_a_load_error(tmp_path):
    f = tmp_path / "deep.json"
    f.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(LoadError, match="nested too deeply"):
        rd.load_result(f)


@pytest.mark.parametrize("key, value", [("none", [[1]]), ("fields", [{"a": 1}]), ("strings", {"a": [1]}),
                                        ("none", "abc")])
def test_malformed_metadata_is_a_load_error(tmp_path, key, value):
    good = rd.save_result({"x": np.arange(3.0)}, tmp_path / "r.json")
    doc = json.loads(good.read_text())
    doc["metadata"][key] = value
    good.write_text(json.dumps(doc))
    with pytest.raises(LoadError, match=f"'{key}' is malformed"):
        rd.load_result(good)


@pytest.mark.parametrize("call", [lambda p: rd.save_result({"x": 1}, p), rd.load_result])
def test_nul_in_path_is_named(tmp_path, call):
    with pytest.raises(ValidationError, match="^path: .*NUL"):
        call(str(tmp_path / "a\x00b.json"))


def test_non_string_keys_are_refused(tmp_path):
    with pytest.raises(SaveError, match="not a string"):
        rd.save_result({(1, 2): 3}, tmp_path / "r.json")


@pytest.mark.parametrize("suffix", [".npz", ".json"])
def test_fixed_points_keep_completeness_and_continuum(tmp_path, suffix):
    cell = rd.EulerRNN(rd.named_matrix("W+"), activation="relu")
    fps = rd.fixed_points(cell)
    assert fps.continuum is not None
    back = rd.load_result(rd.save_result(fps, tmp_path / f"fp{suffix}"))
    assert back["complete"] is True or back["complete"] == 1
    assert back["n_starts"] == fps.n_starts
    assert back["continuum.description"] == fps.continuum.description
    np.testing.assert_array_equal(back["continuum.samples"], fps.continuum.samples)


def test_errors_are_rnndyn_errors():
    for cls in (SaveError, LoadError, ValidationError, ArgumentTypeError):
        assert issubclass(cls, RnndynError)


# --------------------------------------------------------------------------- declared sizes, checked before reading


def _npy_v3_claiming(count: int) -> bytes:
    header = "{'descr': '<f8', 'fortran_order': False, 'shape': (%d,), }" % count
    header += " " * (64 - (12 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x03\x00" + len(header).to_bytes(4, "little") + header.encode() + b"\0" * 16


def test_npy_version_3_header_is_checked(tmp_path, monkeypatch):
    from rnndyn import config

    monkeypatch.setattr(config, "MEMORY_LIMIT_BYTES", 2**20)
    f = tmp_path / "v3.npy"
    f.write_bytes(_npy_v3_claiming(40_000_000))
    with pytest.raises(rd.MemoryLimitError):
        rd.load_array(f)
    monkeypatch.setattr(config, "MEMORY_LIMIT_BYTES", 4 * 2**30)
    with pytest.raises(LoadError, match="truncated"):
        rd.load_array(f)


def test_npz_members_are_checked_together(tmp_path, monkeypatch):
    from rnndyn import config

    rd.save_result({f"m{i}": np.zeros(20_000) for i in range(10)}, tmp_path / "big.npz")
    monkeypatch.setattr(config, "MEMORY_LIMIT_BYTES", 1_000_000)  # each member (160 kB) fits, the sum does not
    with pytest.raises(rd.MemoryLimitError, match="arrays in big.npz"):
        rd.load_result(tmp_path / "big.npz")


def test_npz_with_many_members_opens_the_archive_once(tmp_path, monkeypatch):
    import zipfile

    path = rd.save_result({f"m{i}": np.float64(i) for i in range(300)}, tmp_path / "many.npz")
    opened = []
    real = zipfile.ZipFile.__init__

    def counting(self, *a, **k):
        opened.append(a[0] if a else k.get("file"))
        real(self, *a, **k)

    monkeypatch.setattr(zipfile.ZipFile, "__init__", counting)
    back = rd.load_result(path)
    assert back["m299"] == 299.0
    assert len(opened) == 1


def test_text_table_size_is_checked_before_reading(tmp_path, monkeypatch):
    from rnndyn import config

    f = tmp_path / "big.csv"
    f.write_text("1,2\n" * 50_000)
    monkeypatch.setattr(config, "MEMORY_LIMIT_BYTES", 100_000)
    with pytest.raises(rd.MemoryLimitError, match="big.csv"):
        rd.load_array(f)


def test_json_field_declaring_a_huge_string_dtype_allocates_what_the_strings_need(tmp_path):
    good = rd.save_result({"x": np.array(["a"])}, tmp_path / "r.json")
    doc = json.loads(good.read_text())
    doc["fields"]["x"] = {"dtype": "<U200000000", "shape": [1], "data": ["a"]}
    good.write_text(json.dumps(doc))
    import tracemalloc

    tracemalloc.start()
    try:
        back = rd.load_result(good)
        assert tracemalloc.get_traced_memory()[1] < 50 * 2**20
    finally:
        tracemalloc.stop()
    assert back["x"].tolist() == ["a"]
    doc["fields"]["x"] = {"dtype": "<U2", "shape": [1], "data": ["abc"]}
    good.write_text(json.dumps(doc))
    with pytest.raises(LoadError, match="longer than the declared"):
        rd.load_result(good)


def test_json_field_with_shape_and_data_disagreeing_is_refused(tmp_path):
    good = rd.save_result({"x": np.arange(3.0)}, tmp_path / "r.json")
    doc = json.loads(good.read_text())
    doc["fields"]["x"]["shape"] = [10**12]
    good.write_text(json.dumps(doc))
    with pytest.raises(LoadError, match="does not match"):
        rd.load_result(good)


# --------------------------------------------------------------------------- special files


@pytest.mark.parametrize("kind", ["fifo", "device"])
@pytest.mark.parametrize("name", ["w.npz", "w.npy", "w.pt", "r.json"])
def test_special_files_are_refused_without_opening_them(tmp_path, kind, name):
    """A FIFO blocks its reader forever and /dev/zero never ends: refused from a stat, in a subprocess
    so that a regression fails by timeout instead of hanging the suite."""
    import os
    import subprocess
    import sys

    path = tmp_path / name
    if kind == "fifo":
        os.mkfifo(path)
    else:
        os.symlink("/dev/zero", path)
    code = ("import rnndyn as rd, sys\n"
            "for fn in (rd.load_matrix, rd.load_cell, rd.load_result):\n"
            "    try:\n        fn(sys.argv[1])\n    except rd.RnndynError as e:\n        print(str(e))\n")
    res = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert len(lines) == 3
    word = "FIFO" if kind == "fifo" else "device"
    assert any(word in line and "expected a regular file" in line for line in lines), lines
