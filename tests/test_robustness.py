"""Malformed input against the loaders and the public API.

The contract: whatever a user passes, the outcome is a correct result or an
:class:`rnndyn.RnndynError` (a ValueError/TypeError) whose message names the
argument — never another exception type, a crash, a hang, or a result of the
wrong shape. Hypothesis draws random shapes, NaN/inf placements, dtypes
(complex, object, str, bool, datetime, structured) and damaged files.
"""

from __future__ import annotations

import io
import math
import signal
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rnndyn as rd
from rnndyn import config

FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
FUZZ_FILES = settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))

ERR = object()  # the outcome "an RnndynError was raised"


@pytest.fixture(scope="module")
def warm_kernels():
    """Compile the kernels once, outside the hang guard (numba's first compile takes seconds to a minute).

    Only simulate and tangent run on the numba backend here: validation happens
    before a backend is chosen, so bptt and lyapunov_spectrum are fuzzed on the
    reference backend and the suite does not pay for their compilation (their
    kernels are tested against the reference in their own test files).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cell = rd.EulerRNN(np.eye(2), V=np.ones((2, 1)))
        for x, steps in ((np.zeros((2, 1)), None), (None, 2)):
            rd.simulate(cell, [0.0, 0.0], x, steps=steps, backend="cpu")
            rd.simulate(cell, [0.0, 0.0], x, steps=steps, backend="cpu", dtype=np.float32)
            rd.tangent(cell, [0.0, 0.0], x, steps=steps, backend="cpu")


@pytest.fixture(autouse=True)
def no_hang(warm_kernels):
    """A call that runs away is a failure, not a stuck CI job."""
    def on_alarm(signum, frame):
        raise TimeoutError("a robustness case ran for more than 120 s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(120)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


def outcome(fn, *args, **kwargs):
    """fn's result, or ERR when it raised an RnndynError with a one-line message naming something."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # DivergenceWarning and NumPy overflow notes are allowed
        try:
            return fn(*args, **kwargs)
        except rd.RnndynError as exc:
            assert isinstance(exc, (ValueError, TypeError)), type(exc)
            msg = str(exc)
            assert msg and ":" in msg, f"message should name the argument: {msg!r}"
            assert "\n" not in msg, f"message should be one line: {msg!r}"
            return ERR


# --------------------------------------------------------------------------- strategies

SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
SPECIAL = st.sampled_from([np.nan, np.inf, -np.inf, 0.0, -0.0, 1e308, -1e308, 5e-324, 1.0])


@st.composite
def float_arrays(draw, shape=SHAPES):
    """Real arrays, sometimes with a NaN/inf somewhere."""
    shp = draw(shape)
    arr = draw(hnp.arrays(np.float64, shp, elements=st.floats(-3, 3)))
    if arr.size and draw(st.booleans()):
        idx = draw(st.integers(0, arr.size - 1))
        arr.flat[idx] = draw(SPECIAL)
    return arr


@st.composite
def odd_arrays(draw):
    """Arrays of every dtype a user might hand over by mistake."""
    shp = draw(SHAPES)
    kind = draw(st.sampled_from(["f4", "f2", "i8", "u1", "bool", "c16", "object", "str", "bytes", "m8", "M8",
                                 "struct", "longdouble"]))
    if kind == "object":
        a = np.empty(shp, dtype=object)
        fill = draw(st.sampled_from([None, 1.0, "x", [1, 2], {"a": 1}, 10**40]))
        for i in range(a.size):
            a.flat[i] = fill
        return a
    if kind == "str":
        return np.full(shp, draw(st.sampled_from(["1.5", "nan", "a"])))
    if kind == "bytes":
        return np.full(shp, b"1")
    if kind in ("m8", "M8"):
        return np.zeros(shp, dtype=f"{kind}[s]")
    if kind == "struct":
        return np.zeros(shp, dtype=[("a", "f8"), ("b", "i4")])
    if kind == "longdouble":
        return np.full(shp, np.longdouble(10) ** 400 if draw(st.booleans()) else np.longdouble(0.5))
    if kind == "c16":
        return np.full(shp, 1 + draw(st.sampled_from([0.0, 1.0])) * 1j)
    return draw(hnp.arrays(np.dtype(kind), shp))


PY_JUNK = st.sampled_from([None, "abc", "W0", b"\x00", 1.0, 3, True, [], [[]], [1, [2, 3]], [[1, 2], [3]],
                           [[1, None], [2, 3]], [10**400, 1.0], {"a": 1}, {1, 2}, object(), range(3), 1j,
                           [[1.0, 2.0], [3.0, 4.0]], [0.5, -0.75], float("nan")])

ANY_ARRAY = st.one_of(float_arrays(), odd_arrays(), PY_JUNK)

SCALARS = st.one_of(
    st.sampled_from([None, "0.1", b"1", 0, -1, 0.0, -0.0, -0.1, 0.15, 1, 2, math.nan, math.inf, -math.inf,
                     10**400, True, False, 1j, np.array(0.1), np.array([0.1]), np.array("x"),
                     np.array(None), [0.1], np.float32(0.1), np.int8(3), np.array(1 + 1j), 2.5, 1e300]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 8),
)

NAMES = st.one_of(st.sampled_from(["tanh", "relu", "linear", "sigmoid", "TANH", "", "gelu", "cpu", "reference",
                                   "auto", "cuda", "all", "last", "spectral", "fro", "W0", None, 1, b"tanh"]),
                  st.text(max_size=6))


def clamp(v, hi):
    """Large but valid counts become ``hi``: long runs test patience, not validation. Values
    beyond 2**63 (refused before any work) and everything that is not a real number pass through."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return v
    if isinstance(v, float) and not math.isfinite(v):
        return v
    return hi if hi < v < 2**63 else v


def valid_cell(kind="euler", n=2, d=0, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.normal(size=(n, n))
    V = rng.normal(size=(n, d)) if d else None
    if kind == "vanilla":
        return rd.VanillaRNN(W, V)
    if kind == "antisymmetric":
        return rd.AntisymmetricRNN(W, V, eps=0.1, gamma=0.1)
    return rd.EulerRNN(W, V, eps=0.1, gamma=0.1)


# --------------------------------------------------------------------------- cells


CELLS = [rd.VanillaRNN, rd.EulerRNN, rd.AntisymmetricRNN]


@FUZZ
@given(st.sampled_from(CELLS), st.one_of(ANY_ARRAY, float_arrays(hnp.array_shapes(min_dims=2, max_dims=2, max_side=3))),
       st.one_of(st.none(), ANY_ARRAY), st.one_of(st.none(), ANY_ARRAY))
def test_cell_arrays(cls, W, V, b):
    cell = outcome(cls, W, V, b)
    if cell is not ERR:
        n = cell.n
        assert cell.W.shape == (n, n) and cell.V.shape[0] == n and cell.b.shape == (n,)
        assert np.all(np.isfinite(cell.W)) and cell.W.dtype == np.float64
        assert not cell.W.flags.writeable


@FUZZ
@given(st.sampled_from([rd.EulerRNN, rd.AntisymmetricRNN]), SCALARS, SCALARS, NAMES)
def test_cell_scalars(cls, eps, gamma, activation):
    cell = outcome(cls, np.eye(2), eps=eps, gamma=gamma, activation=activation)
    if cell is not ERR:
        assert cell.eps > 0 and math.isfinite(cell.eps) and cell.gamma >= 0 and math.isfinite(cell.gamma)
        assert cell.activation in ("tanh", "relu", "linear", "sigmoid")


@FUZZ
@given(SCALARS, st.one_of(st.none(), ANY_ARRAY), st.one_of(st.none(), ANY_ARRAY))
def test_gated_cell(gated, Vz, bz):
    cell = outcome(rd.AntisymmetricRNN, np.eye(2), np.ones((2, 1)), gated=gated, Vz=Vz, bz=bz)
    if cell is not ERR:
        assert isinstance(cell.gated, bool)
        if cell.gated:
            assert cell.Vz.shape == (2, 1) and cell.bz.shape == (2,)


@FUZZ
@given(st.sampled_from(["vanilla", "euler", "antisymmetric"]), st.integers(0, 2), ANY_ARRAY,
       st.one_of(st.none(), ANY_ARRAY))
def test_step_and_jacobian(kind, d, h, x):
    cell = valid_cell(kind, n=2, d=d)
    for method, tail in ((cell.step, (2,)), (cell.jacobian, (2, 2))):
        out = outcome(method, h, x)
        if out is not ERR:
            assert out.shape[-len(tail):] == tail and out.ndim in (len(tail), len(tail) + 1)


# --------------------------------------------------------------------------- simulate / tangent


@FUZZ
@given(st.sampled_from(["vanilla", "euler", "antisymmetric"]), st.integers(0, 2), ANY_ARRAY,
       st.one_of(st.none(), ANY_ARRAY), st.one_of(st.none(), st.integers(-2, 5), SCALARS),
       st.one_of(st.sampled_from(["all", "last", 1, 2, 0, -1, 2.0, 2.5, "every"]), NAMES),
       st.sampled_from(["cpu", "reference", "auto", "gpu", None]),
       st.sampled_from([np.float64, np.float32, "float64", np.complex128, np.int64, "f8", "nonsense", None, 3]))
def test_simulate(kind, d, h0, inputs, steps, record, backend, dtype):
    steps = clamp(steps, 5)
    cell = valid_cell(kind, n=2, d=d)
    traj = outcome(rd.simulate, cell, h0, inputs, steps=steps, record=record, backend=backend, dtype=dtype)
    if traj is ERR:
        return
    H = np.asarray(h0, dtype=float)
    T = int(np.asarray(inputs).shape[-2]) if inputs is not None else int(steps)
    B = None
    if H.ndim == 2:
        B = H.shape[0]
    if inputs is not None and np.ndim(inputs) == 3:
        B = max(B or 1, np.shape(inputs)[0])
    lead = () if B is None else (B,)
    assert traj.final.shape == lead + (2,)
    if record == "last":
        assert traj.states.shape == lead + (2,)
    else:
        stride = 1 if record == "all" else int(record)
        assert traj.states.shape == lead + (T // stride + 1, 2)
        assert np.array_equal(traj.times, np.arange(0, T + 1, stride))
    assert np.shape(traj.diverged_at) == lead


@FUZZ
@given(ANY_ARRAY, st.one_of(st.none(), ANY_ARRAY), NAMES, st.one_of(st.integers(-1, 4), SCALARS))
def test_tangent(h0, vectors, norm, steps):
    steps = clamp(steps, 4)
    cell = valid_cell("antisymmetric", n=2)
    tan = outcome(rd.tangent, cell, h0, steps=steps, vectors=vectors, norm=norm)
    if tan is ERR:
        return
    lead = (np.shape(h0)[0],) if np.ndim(h0) == 2 else ()
    assert tan.jacobian.shape == lead + (2, 2)
    assert tan.norms.shape == lead + (int(steps) + 1,)
    if vectors is None or np.asarray(vectors).size == 0:
        assert tan.vector_norms is None or tan.vector_norms.size == 0
    else:
        k = () if np.ndim(vectors) == 1 else (np.shape(vectors)[1],)
        assert tan.vector_norms.shape == lead + (int(steps) + 1,) + k


@FUZZ
@given(SCALARS)
def test_cell_argument_itself(cell):
    assert outcome(rd.simulate, cell, [0.0, 0.0], steps=2) is ERR
    assert outcome(rd.tangent, cell, [0.0, 0.0], steps=2) is ERR


def test_specific_boundaries():
    cell = valid_cell("euler", n=2, d=1)
    cases = {
        "h0: expected last dimension 2": lambda: rd.simulate(cell, [0.0, 0.0, 0.0], steps=2),
        "h0: expected at least one initial state": lambda: rd.simulate(cell, np.zeros((0, 2)), steps=2),
        "steps: expected an integer >= 0, got -1": lambda: rd.simulate(cell, [0.0, 0.0], steps=-1),
        "steps: required when inputs is None": lambda: rd.simulate(cell, [0.0, 0.0]),
        "steps: 3 does not match the 4 time steps": lambda: rd.simulate(cell, [0, 0], np.zeros((4, 1)), steps=3),
        "inputs: expected last dimension 1": lambda: rd.simulate(cell, [0.0, 0.0], np.zeros((4, 3))),
        "inputs: batch size 3 does not match h0's batch size 2":
            lambda: rd.simulate(cell, np.zeros((2, 2)), np.zeros((3, 4, 1))),
        "inputs: the cell has no input weights": lambda: rd.simulate(valid_cell(), [0, 0], np.zeros((4, 1))),
        "W: expected a square (n, n) matrix": lambda: rd.EulerRNN(np.ones((2, 3))),
        "W: expected a 2-D array, got shape (2,)": lambda: rd.EulerRNN(np.ones(2)),
        "W: expected finite values, found nan at index (1, 0)": lambda: rd.EulerRNN([[0, 1], [np.nan, 0]]),
        "W: expected a real array, got complex dtype complex128": lambda: rd.EulerRNN(np.eye(2) * 1j),
        "W: expected a real numeric array, got an object array": lambda: rd.EulerRNN(np.eye(2).astype(object)),
        "W: expected a real numeric array, got dtype <U1": lambda: rd.EulerRNN([["1", "0"], ["0", "1"]]),
        "V: expected shape (2, d) to match W": lambda: rd.EulerRNN(np.eye(2), V=np.ones((3, 1))),
        "b: expected shape (2,)": lambda: rd.EulerRNN(np.eye(2), b=np.ones(3)),
        "eps: expected a number > 0, got 0.0": lambda: rd.EulerRNN(np.eye(2), eps=0),
        "eps: expected a number > 0, got -0.1": lambda: rd.AntisymmetricRNN(np.eye(2), eps=-0.1),
        "eps: expected a finite number, got nan": lambda: rd.EulerRNN(np.eye(2), eps=float("nan")),
        "gamma: expected a number >= 0, got -1.0": lambda: rd.EulerRNN(np.eye(2), gamma=-1),
        "gamma: expected a real number, got '0.1'": lambda: rd.EulerRNN(np.eye(2), gamma="0.1"),
        "activation: expected one of": lambda: rd.VanillaRNN(np.eye(2), activation="gelu"),
        "record: expected one of ['all', 'last'], got 'lats' (did you mean 'last'?)":
            lambda: rd.simulate(cell, [0, 0], np.zeros((2, 1)), record="lats"),
        "backend: expected one of": lambda: rd.simulate(cell, [0, 0], np.zeros((2, 1)), backend="gpu"),
        "dtype: expected float64 or float32, got 'nonsense'":
            lambda: rd.simulate(cell, [0, 0], np.zeros((2, 1)), dtype="nonsense"),
        "norm: expected one of ['fro', 'spectral']": lambda: rd.tangent(cell, [0, 0], np.zeros((2, 1)), norm="l2"),
        "vectors: expected shape (2,) or (2, k)": lambda: rd.tangent(cell, [0, 0], np.zeros((2, 1)), vectors=[1.0]),
        "steps: expected an integer of magnitude below 2**63": lambda: rd.simulate(cell, [0, 0], steps=10**30),
        "rng: expected a seed >= 0, got -1": lambda: rd.init.orthogonal(2, rng=-1),
    }
    for expected, call in cases.items():
        with pytest.raises(rd.RnndynError) as info:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                call()
        assert expected in str(info.value), (expected, str(info.value))


# --------------------------------------------------------------------------- divergence and memory


def test_divergence_is_reported_per_trajectory():
    cell = rd.VanillaRNN(np.eye(2) * 1e100, activation="linear")
    h0 = np.array([[0.0, 0.0], [1.0, 1.0], [1e-300, 0.0]])
    with pytest.warns(rd.DivergenceWarning, match=r"2 trajectories of 3 became non-finite \(first at step \d+\)"):
        traj = rd.simulate(cell, h0, steps=10)
    assert traj.diverged_at[0] == -1 and traj.diverged_at[1] == 4 and traj.diverged_at[2] > 4
    assert np.isnan(traj.states[1, 4:]).all() and np.isfinite(traj.states[1, :4]).all()
    assert np.isfinite(traj.states[0]).all()


def test_memory_limit_refused_before_allocation(monkeypatch):
    monkeypatch.setattr(config, "MEMORY_LIMIT_BYTES", 10_000)
    called = []
    backend = rd.get_backend("cpu")
    monkeypatch.setattr(backend, "simulate", lambda *a, **k: called.append(a))
    monkeypatch.setattr(backend, "tangent", lambda *a, **k: called.append(a))
    cell = valid_cell("euler", n=10)
    with pytest.raises(rd.MemoryLimitError, match=r"recording 1001 states of 2 trajectories of size 10 would need "
                                                  r"0\.00 GiB.*MEMORY_LIMIT_BYTES\); pass record='last'"):
        rd.simulate(cell, np.zeros((2, 10)), steps=1000, backend="cpu")
    with pytest.raises(rd.MemoryLimitError, match="use fewer trajectories or steps"):
        rd.tangent(cell, np.zeros((2, 10)), steps=1000, backend="cpu")
    assert not called  # refused before the backend allocated anything
    # record="last" needs no history: allowed
    monkeypatch.undo()
    monkeypatch.setattr(config, "MEMORY_LIMIT_BYTES", 10_000)
    assert rd.simulate(cell, np.zeros((2, 10)), steps=1000, record="last").states.shape == (2, 10)


def test_huge_request_refused_at_default_limit():
    cell = valid_cell("euler", n=2)
    with pytest.raises(rd.MemoryLimitError, match="would need .* GiB"):
        rd.simulate(cell, [0.0, 0.0], steps=10**12)


# --------------------------------------------------------------------------- loaders: values and files


@FUZZ
@given(ANY_ARRAY)
def test_load_matrix_values(x):
    m = outcome(rd.load_matrix, x)
    if m is not ERR:
        assert m.ndim == 2 and m.shape[0] == m.shape[1] >= 1 and m.dtype == np.float64
        assert np.isfinite(m).all()


def _npy_bytes(arr, pickle=False):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=pickle)
    return buf.getvalue()


def _npz_bytes(**arrays):
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


@st.composite
def damaged(draw, raw: bytes):
    """``raw`` truncated, with bytes flipped, or both."""
    data = bytearray(raw)
    how = draw(st.sampled_from(["truncate", "flip", "both", "empty", "append"]))
    if how in ("truncate", "both") and data:
        data = data[: draw(st.integers(0, len(data) - 1))]
    if how in ("flip", "both") and data:
        for _ in range(draw(st.integers(1, 4))):
            i = draw(st.integers(0, len(data) - 1))
            data[i] = draw(st.integers(0, 255))
    if how == "empty":
        data = bytearray()
    if how == "append":
        data += draw(st.binary(min_size=1, max_size=64))
    return bytes(data)


GOOD_NPY = _npy_bytes(np.arange(16.0).reshape(4, 4))
GOOD_NPZ = _npz_bytes(W=np.arange(9.0).reshape(3, 3))
GOOD_CSV = b"c1,c2\n1.0,2.0\n3.0,4.0\n"
GOOD_SD = _npz_bytes(weight_hh_l0=np.eye(3), weight_ih_l0=np.ones((3, 2)), bias_ih_l0=np.zeros(3),
                     bias_hh_l0=np.ones(3))


def _load_file(tmp_path_factory, suffix, data, fn):
    d = tmp_path_factory.mktemp("f")
    p = d / f"m{suffix}"
    p.write_bytes(data)
    return outcome(fn, p)


@FUZZ_FILES
@given(st.data())
def test_damaged_matrix_files(tmp_path_factory, data):
    suffix, raw = data.draw(st.sampled_from([(".npy", GOOD_NPY), (".npz", GOOD_NPZ), (".csv", GOOD_CSV),
                                             (".txt", GOOD_CSV.replace(b",", b" ")), (".npz", GOOD_SD)]))
    blob = data.draw(damaged(raw))
    m = _load_file(tmp_path_factory, suffix, blob, rd.load_matrix)
    if m is not ERR:
        assert m.ndim == 2 and m.shape[0] == m.shape[1] >= 1 and np.isfinite(m).all()
        if blob == raw:
            assert m.shape in ((4, 4), (3, 3), (2, 2))


@FUZZ_FILES
@given(st.data())
def test_damaged_weight_files(tmp_path_factory, data):
    blob = data.draw(damaged(GOOD_SD))
    cell = _load_file(tmp_path_factory, ".npz", blob, rd.load_cell)
    if cell is not ERR:
        assert isinstance(cell, (rd.VanillaRNN, rd.LSTM, rd.GatedRecurrentWeights))


@FUZZ_FILES
@given(st.one_of(odd_arrays(), float_arrays()), st.sampled_from([".npy", ".npz"]))
def test_any_dtype_in_numpy_files(tmp_path_factory, arr, suffix):
    # object arrays are written with pickling on, as a careless (or hostile) writer would
    blob = _npy_bytes(arr, pickle=True) if suffix == ".npy" else _npz_bytes(W=arr)
    m = _load_file(tmp_path_factory, suffix, blob, rd.load_matrix)
    if m is not ERR:
        assert arr.dtype.kind in "biuf" and m.shape == arr.shape and np.array_equal(m, arr.astype(np.float64))


def test_pickled_payload_is_never_executed(tmp_path):
    class Boom:
        def __reduce__(self):
            return (exec, ("raise SystemExit('unpickled!')",))

    arr = np.empty((1,), dtype=object)
    arr[0] = Boom()
    (tmp_path / "evil.npy").write_bytes(_npy_bytes(arr, pickle=True))
    with pytest.raises(rd.LoadError, match="never unpickles"):
        rd.load_matrix(tmp_path / "evil.npy")
    with zipfile.ZipFile(tmp_path / "evil.npz", "w") as zf:
        zf.writestr("W.npy", _npy_bytes(arr, pickle=True))
    with pytest.raises(rd.LoadError):
        rd.load_cell(tmp_path / "evil.npz")


@FUZZ_FILES
@given(st.text(alphabet=st.sampled_from(list("0123456789.,;- \t\neEnaif#x+")), max_size=80))
def test_random_text_tables(tmp_path_factory, text):
    m = _load_file(tmp_path_factory, ".csv", text.encode(), rd.load_matrix)
    if m is not ERR:
        assert m.ndim == 2 and m.shape[0] == m.shape[1] >= 1 and np.isfinite(m).all()


@FUZZ_FILES
@given(st.binary(max_size=200), st.sampled_from([".npy", ".npz", ".csv", ".txt", ".json", ".pt"]))
def test_random_bytes(tmp_path_factory, blob, suffix):
    for fn in (rd.load_matrix, rd.load_result) if suffix in (".npz", ".json") else (rd.load_matrix,):
        if suffix == ".pt":
            pytest.importorskip("torch")
        _load_file(tmp_path_factory, suffix, blob, fn)


# --------------------------------------------------------------------------- load_cell on state dicts


SD_KEYS = ["weight_hh_l0", "weight_ih_l0", "bias_ih_l0", "bias_hh_l0", "weight_hh_l1", "rnn.weight_hh_l0",
           "recurrent_kernel", "kernel", "bias", "h/kernel", "i/kernel", "nonlinearity"]


@FUZZ
@given(st.dictionaries(st.sampled_from(SD_KEYS), st.one_of(float_arrays(hnp.array_shapes(min_dims=0, max_dims=3,
                                                                                            max_side=8)),
                                                           odd_arrays(), PY_JUNK), max_size=5),
       st.sampled_from(["auto", "vanilla", "euler", "lstm", "gru", "rnn", 1]),
       st.sampled_from([None, "relu", "bogus"]), st.sampled_from([0, 1, -1, None, "0"]))
def test_load_cell_state_dicts(sd, kind, activation, layer):
    out = outcome(rd.load_cell, sd, kind=kind, activation=activation, layer=layer)
    if out is ERR:
        return
    if isinstance(out, rd.GatedRecurrentWeights):
        k = len(out.gates)
        assert out.W_hh.shape == (k, out.n, out.n) and out.b_ih.shape == (k, out.n)
    elif isinstance(out, rd.LSTM):
        assert out.W_hh.shape == (4 * out.n, out.n) and out.b.shape == (4 * out.n,)
    else:
        assert out.W.shape == (out.n, out.n) and out.b.shape == (out.n,) and out.V.shape[0] == out.n


# --------------------------------------------------------------------------- results


FIELD_VALUES = st.one_of(float_arrays(), hnp.arrays(st.sampled_from([np.int64, np.bool_, np.complex128, np.float32]),
                                                    hnp.array_shapes(min_dims=0, max_dims=2, min_side=0)),
                         st.none(), st.text(max_size=5), st.integers(-(2**62), 2**62),
                         st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                         st.complex_numbers(allow_nan=False, allow_infinity=False))


def _same(a, b):
    if isinstance(a, np.ndarray) and a.ndim > 0:
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and a.shape == b.shape and \
            np.array_equal(a, b, equal_nan=a.dtype.kind in "fc")
    if isinstance(a, np.ndarray):  # 0-d arrays come back as scalars
        a = a.item()
    if isinstance(a, (float, complex)) and a != a:  # NaN (in either part)
        return type(a) is type(b) and np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
    return a == b and type(a) is type(b)


@FUZZ
@given(st.dictionaries(st.text(alphabet="abcxyz_", min_size=1, max_size=5), FIELD_VALUES, min_size=1, max_size=5),
       st.sampled_from([".npz", ".json"]))
def test_result_round_trip(tmp_path_factory, fields, suffix):
    import dataclasses

    R = dataclasses.make_dataclass("R", list(fields), frozen=True)
    p = tmp_path_factory.mktemp("r") / f"r{suffix}"
    rd.save_result(R(**fields), p)
    back = rd.load_result(p)
    assert list(back) == list(fields)
    for k, v in fields.items():
        assert _same(v, back[k]), (k, v, back[k])


@FUZZ_FILES
@given(st.data(), st.sampled_from([".npz", ".json"]))
def test_damaged_result_files(tmp_path_factory, data, suffix):
    d = tmp_path_factory.mktemp("r")
    traj = rd.simulate(valid_cell(), [0.0, 0.5], steps=3)
    raw = rd.save_result(traj, d / f"good{suffix}").read_bytes()
    blob = data.draw(damaged(raw))
    back = _load_file(tmp_path_factory, suffix, blob, rd.load_result)
    if back is not ERR and blob == raw:
        assert back["states"].shape == (4, 2)


# --------------------------------------------------------------------------- algorithms of other modules


def _fn(name):
    f = getattr(rd, name, None)
    if f is None:
        pytest.skip(f"rd.{name} does not exist yet")
    return f


@FUZZ
@given(ANY_ARRAY, st.one_of(st.none(), ANY_ARRAY), st.one_of(st.integers(-1, 4), SCALARS),
       st.sampled_from(["last", "sum", "readout", "upstream", "mse", None, 3]),
       st.one_of(st.none(), ANY_ARRAY), st.one_of(st.none(), SCALARS))
def test_bptt(h0, inputs, steps, loss, dL_dh, checkpoint):
    bptt = _fn("bptt")
    g = outcome(bptt, valid_cell("euler", n=2, d=1), h0, inputs, steps=clamp(steps, 4), loss=loss, dL_dh=dL_dh,
                checkpoint=clamp(checkpoint, 4), backend="reference")
    if g is not ERR:
        assert g.dW.shape == (2, 2) and g.db.shape == (2,)


@FUZZ
@given(st.one_of(ANY_ARRAY, st.sampled_from(["cell"])), st.one_of(st.none(), SCALARS))
def test_stability(m, eps):
    stability = _fn("stability")
    is_cell = isinstance(m, str) and m == "cell"
    target = valid_cell("euler") if is_cell else m
    rep = outcome(stability, target, eps=eps)
    if rep is not ERR:
        n = 2 if is_cell else np.shape(m)[0]
        assert np.shape(rep.matrix_eigenvalues) == (n,)


@FUZZ
@given(SCALARS, SCALARS, st.one_of(st.none(), ANY_ARRAY))
def test_fixed_points(n_starts, rng, x):
    fixed_points = _fn("fixed_points")
    n_starts = clamp(n_starts, 16)
    fps = outcome(fixed_points, valid_cell("euler"), x=x, n_starts=n_starts, rng=rng)
    if fps is not ERR:
        assert isinstance(fps, tuple) and all(np.shape(fp.state) == (2,) for fp in fps)


@FUZZ
@given(ANY_ARRAY, st.one_of(st.integers(-1, 30), SCALARS), st.one_of(st.none(), SCALARS), SCALARS)
def test_lyapunov_spectrum(h0, steps, k, transient):
    lyap = _fn("lyapunov_spectrum")
    les = outcome(lyap, valid_cell("antisymmetric", n=2), h0, steps=clamp(steps, 30), k=k,
                  transient=clamp(transient, 10), backend="reference")
    if les is not ERR:
        assert les is not None

