"""The System protocol, the one prepare, and the one table of what runs where."""

from __future__ import annotations

import itertools
import pathlib
import re

import numpy as np
import pytest

import rnndyn as rd
from rnndyn.analysis.trajectories import prepare
from rnndyn.backends import ALGORITHMS, KERNELS, Backend, KernelBackend, kernel_for, registry
from rnndyn.errors import ArgumentTypeError, UnknownNameError, UnsupportedError, ValidationError
from rnndyn.kernels.params import CellParams
from rnndyn.systems import FAMILIES, LSTM, AntisymmetricRNN, EulerRNN, Map, System, VanillaRNN, family_of
from rnndyn.systems.maps import MapArgs

ROOT = pathlib.Path(__file__).resolve().parents[2]
W0 = rd.named_matrix("W0")


def _systems():
    """One system of every kind, with a fitting initial state."""
    return {
        "vanilla": (VanillaRNN(W0), np.array([0.1, 0.2])),
        "euler": (EulerRNN(W0, eps=0.1, gamma=0.15), np.array([0.1, 0.2])),
        "antisymmetric": (AntisymmetricRNN(W0, V=np.ones((2, 1)), eps=0.1, gated=True), np.array([0.1, 0.2])),
        "lstm": (LSTM.init(2, d=1, rng=0), np.full(4, 0.1)),
        "henon": (rd.systems.henon(), np.array([0.1, 0.1])),
    }


# --------------------------------------------------------------------------- the protocol


def test_every_model_is_a_system_with_its_family_and_kernel_args():
    expected = {"vanilla": "cell", "euler": "cell", "antisymmetric": "cell", "lstm": "lstm", "henon": "map"}
    for name, (system, h0) in _systems().items():
        assert isinstance(system, System)
        assert family_of(system) == expected[name] == system.family
        assert system.family in FAMILIES
        assert system.dim == h0.shape[0]
        args = system.kernel_args()
        assert isinstance(args, CellParams if system.family == "cell" else MapArgs), name
        assert system.step(h0, np.zeros(system.d) if system.d else None).shape == h0.shape
        assert system.jacobian(h0).shape == (system.dim, system.dim)


def test_lstm_runs_on_its_map_form():
    lstm = LSTM.init(3, d=2, rng=1)
    a, m = lstm.kernel_args(), lstm.as_map().kernel_args()
    assert a.rule is m.rule and a.jacobian is m.jacobian
    np.testing.assert_array_equal(a.params, m.params)
    assert (lstm.n, lstm.dim, lstm.d) == (3, 6, 2)


def test_cell_kernel_args_drop_the_input_weights_without_inputs():
    cell = AntisymmetricRNN(W0, V=np.ones((2, 3)), eps=0.1, gated=True, Vz=np.ones((2, 3)))
    full = cell.kernel_args()
    assert full.V.shape == full.Vz.shape == (2, 3)
    bare = cell.kernel_args(with_inputs=False)
    assert bare.V.shape == bare.Vz.shape == (2, 0)
    np.testing.assert_array_equal(bare.M, full.M)
    assert tuple(cell.kernel_params())[:4] == tuple(full)[:4]  # the older name still works


def test_family_of_refuses_classes_and_other_objects():
    with pytest.raises(ArgumentTypeError, match=r"^cell: expected a system instance, got the class EulerRNN itself"):
        family_of(EulerRNN, "cell")
    with pytest.raises(ArgumentTypeError, match=r"^system: expected an rnndyn system .*got 'henon'"):
        family_of("henon")
    with pytest.raises(ArgumentTypeError, match=r"^cell: expected a system instance, got the class Map"):
        rd.simulate(Map, [0.0], steps=2)


def test_prepare_is_one_path_for_every_family():
    for system, h0 in _systems().values():
        x = np.zeros((5, system.d)) if system.d else None
        p = prepare(system, h0, x, None if system.d else 5)
        assert p.family == system.family
        assert p.h0.shape == (1, system.dim) and p.inputs.shape[:2] == (1, 5) and not p.batched
        arrays = [a for a in p.args if isinstance(a, np.ndarray)]
        assert arrays and all(a.flags.writeable for a in arrays)  # one compiled signature
    with pytest.raises(ValidationError, match=r"^inputs: Hénon .* is autonomous"):
        prepare(rd.systems.henon(), [0.0, 0.0], np.zeros((3, 1)))
    with pytest.raises(ValidationError, match=r"^inputs: the cell has no input weights"):
        prepare(VanillaRNN(W0), [0.0, 0.0], np.zeros((3, 1)))
    with pytest.raises(ValidationError, match=r"^h0: expected last dimension 4 \(the map's state size\)"):
        prepare(LSTM.init(2, rng=0), [0.0, 0.0], steps=3)


# --------------------------------------------------------------------------- the one table


@pytest.fixture
def isolated_registry(monkeypatch):
    """Backends registered in a test disappear after it."""
    monkeypatch.setattr(registry, "_FACTORIES", dict(registry._FACTORIES))
    monkeypatch.setattr(registry, "_INSTANCES", dict(registry._INSTANCES))


CELL_PAIRS = [pair for pair in KERNELS if pair[1] == "cell"]


def _call(algorithm, system, h0, backend):
    kw = dict(steps=3, backend=backend)
    x = np.zeros((3, system.d)) if system.d else None
    if x is not None:
        kw.pop("steps")
    if algorithm == "simulate":
        return rd.simulate(system, h0, x, **kw)
    if algorithm == "tangent":
        return rd.tangent(system, h0, x, **kw)
    if algorithm == "lyapunov":
        return rd.lyapunov_spectrum(system, h0, x, **kw)
    if algorithm == "clv":
        return rd.covariant_lyapunov_vectors(system, h0, x, transient_backward=0, **kw)
    if algorithm == "basins":
        return rd.basins(system, grid=2, steps=3, backend=backend)
    return rd.bptt(system, h0, x, **kw)


def test_every_unsupported_triple_is_refused_with_one_error(isolated_registry):
    rd.register_backend("cells-only", lambda: KernelBackend("cells-only", "rnndyn.kernels.numpy", CELL_PAIRS))
    systems = {s.family: (s, h0) for s, h0 in _systems().values()}
    assert set(systems) == set(FAMILIES)
    refused = ran = 0
    # "cuda" needs a GPU or the simulator to start; its refusals are tested in tests/kernels/test_cuda.py
    backends = tuple(b for b in rd.available_backends() if b != "cuda") + ("auto",)
    for algorithm, family, backend in itertools.product(ALGORITHMS, FAMILIES, backends):
        system, h0 = systems[family]
        be = "cpu" if backend == "auto" else backend
        if (algorithm, family) in KERNELS and rd.get_backend(be).supports(algorithm, family):
            _call(algorithm, system, h0, backend)
            ran += 1
            continue
        with pytest.raises(UnsupportedError) as info:
            _call(algorithm, system, h0, backend)
        msg = str(info.value)
        if (algorithm, family) not in KERNELS:
            assert msg.startswith(f"{'system' if algorithm == 'basins' else 'cell'}: {algorithm} runs cells"), msg
        else:
            assert msg.startswith(f"backend: '{backend}' has no {algorithm} kernel for "), msg
            assert "use 'cpu' or 'reference'" in msg
        refused += 1
    # bptt and basins of a map or an LSTM on cpu, reference, auto and the cells-only backend; every other
    # algorithm of a map or an LSTM on the cells-only backend
    assert refused == 2 * 2 * 4 + 4 * 2
    assert ran == 6 * 3 * 4 - refused


def test_unsupported_is_a_validation_error_and_not_an_unknown_name():
    with pytest.raises(ValidationError):
        rd.bptt(rd.systems.henon(), [0.1, 0.1], steps=3)
    try:
        rd.bptt(LSTM.init(2, rng=0), np.zeros(4), steps=3, backend="cpu")
    except UnsupportedError as exc:
        assert not isinstance(exc, UnknownNameError)
    with pytest.raises(UnknownNameError, match="^backend: expected one of"):
        rd.simulate(rd.systems.henon(), [0.1, 0.1], steps=3, backend="gpu")
    with pytest.raises(UnknownNameError, match="^algorithm:"):
        kernel_for("train", "cell")


def test_a_cells_only_backend_still_runs_cells(isolated_registry):
    rd.register_backend("cells-only", lambda: KernelBackend("cells-only", "rnndyn.kernels.numpy", CELL_PAIRS))
    cell = EulerRNN(W0, eps=0.1, gamma=0.15)
    a = rd.simulate(cell, [0.1, 0.2], steps=20, backend="cells-only").states
    b = rd.simulate(cell, [0.1, 0.2], steps=20, backend="reference").states
    np.testing.assert_array_equal(a, b)
    drv = kernel_for("tangent", "cell", "cells-only")
    assert drv.func.__self__.name == "cells-only" and drv.args == ("cell",)


def test_register_backend_validates_its_arguments(isolated_registry):
    with pytest.raises(ArgumentTypeError, match=r"^name: expected a backend name \(a string\), got 3"):
        rd.register_backend(3, lambda: None)
    with pytest.raises(ValidationError, match="^name: expected a non-empty backend name"):
        rd.register_backend("  ", lambda: None)
    with pytest.raises(ValidationError, match="^name: 'auto' is reserved"):
        rd.register_backend("auto", lambda: None)
    with pytest.raises(ArgumentTypeError, match="^factory: expected a callable"):
        rd.register_backend("mine", KernelBackend("mine", "rnndyn.kernels.numpy"))
    rd.register_backend("broken", lambda: object())
    assert "broken" in rd.available_backends()
    with pytest.raises(ArgumentTypeError, match=r"^backend: the factory registered as 'broken' built <object"):
        rd.get_backend("broken")
    with pytest.raises(ValidationError, match="supports"):
        KernelBackend("x", "rnndyn.kernels.numpy", [("bptt", "map")])
    assert isinstance(rd.get_backend("cpu"), Backend)


# --------------------------------------------------------------------------- guards on the source


def _sources():
    for folder in ("rnndyn", "cli"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_no_hasattr_dispatch_on_model_kinds():
    model_words = re.compile(r"hasattr\([^)]*[\"'](as_map|kernel_params|kernel_args|family|W|W_hh|rule|"
                             r"jacobian_kernel|step|jacobian|gated|eps|gamma)[\"']\)")
    offenders = [f"{p.relative_to(ROOT)}:{i}" for p in _sources()
                 for i, line in enumerate(p.read_text().splitlines(), 1) if model_words.search(line)]
    assert not offenders


def test_unsupported_error_is_raised_in_one_place():
    places = [f"{p.relative_to(ROOT)}:{i}" for p in _sources()
              for i, line in enumerate(p.read_text().splitlines(), 1) if "raise UnsupportedError" in line]
    assert len(places) == 4 and all(p.startswith("rnndyn/backends/registry.py:") for p in places), places
    # the two raises of kernel_for: no kernel for the family at all, or none on this backend
    src = (ROOT / "rnndyn/backends/registry.py").read_text()

    def top_level_block(head):  # from ``head`` to the next line that starts in column 0
        part = src[src.index(head):]
        return part[:re.search(r"\n\S", part).start()]

    assert top_level_block("def kernel_for(").count("raise UnsupportedError") == 2
    # and the "cuda" backend's own two: no GPU to start on, a state larger than a GPU thread holds
    for head in ("def _cuda_backend(", "class _CudaBackend("):
        assert top_level_block(head).count("raise UnsupportedError") == 1, head
