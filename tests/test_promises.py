"""The README's promises, kept under generated extreme and hostile input, for every public function.

tests/test_robustness.py fuzzes the *types* of arguments (dtypes, shapes, damaged files). This suite
draws *values* at the edge of floating point (1e308, 5e-324, -0.0, gains of 1e100, windows of width
2e308) and hostile containers, and checks each outcome against the promises of tests/promises.py: a
typed error naming the argument, no raw NumPy warning, no silent inf/NaN, and (with the memory limit
lowered to 64 MiB) no allocation above the limit. ``-m slow`` runs the same properties with more examples.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rnndyn as rd
from rnndyn import config
from rnndyn.analysis import growth, orbits1d, phase, stability
from tests.promises import ERR, _param_names, assert_names_an_argument, keep_promises, peak_memory, time_limit

# RNNDYN_PROMISES_TRIAGE=1: every failure at once, unshrunk (shrinking a slow property can take minutes).
TRIAGE = {"phases": (Phase.explicit, Phase.generate)} if os.environ.get("RNNDYN_PROMISES_TRIAGE") else {}
FAST = settings(**TRIAGE, max_examples=15, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
DEEP = settings(**TRIAGE, max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))

# --------------------------------------------------------------------------- values at the edge

HUGE = [1e150, 1e200, 1e300, 1e308, 1.7976931348623157e308]
TINY = [5e-324, 1e-310, 1e-300, 1e-150]
EDGE = st.sampled_from([0.0, -0.0, 1.0, -1.0, 0.5] + HUGE + [-v for v in HUGE] + TINY + [-v for v in TINY])
FLOATS = st.one_of(EDGE, st.floats(-1e3, 1e3), st.floats(allow_nan=False, allow_infinity=False))
POSITIVE = st.one_of(st.sampled_from(HUGE + TINY + [0.1, 1.0, 2.0]), st.floats(1e-300, 1e300))
JUNK = st.sampled_from([None, "abc", b"\x00", [], [[]], [1, [2]], {"a": 1}, object(), 1j, math.nan, math.inf,
                        -math.inf, -1, 10**400, True, "1e308", np.array([1.0, 2.0]), [[1.0, 2.0], [3.0]]])
ACTS = st.sampled_from(["tanh", "relu", "linear", "sigmoid"])
BACKENDS = st.sampled_from(["reference"])


def matrices(n):
    return hnp.arrays(np.float64, (n, n), elements=FLOATS)


@st.composite
def cells(draw, n=None):
    """A cell built from edge values, or None when the constructor refused them (by name: checked)."""
    n = n or draw(st.integers(1, 3))
    kind = draw(st.sampled_from(["vanilla", "euler", "antisymmetric"]))
    W = draw(matrices(n))
    b = draw(st.one_of(st.none(), hnp.arrays(np.float64, (n,), elements=FLOATS)))
    act = draw(ACTS)
    if kind == "vanilla":
        cell = keep_promises(rd.VanillaRNN, W, b=b, activation=act)
    else:
        cls = rd.EulerRNN if kind == "euler" else rd.AntisymmetricRNN
        cell = keep_promises(cls, W, b=b, eps=draw(POSITIVE), gamma=draw(st.one_of(st.just(0.0), POSITIVE)),
                             activation=act)
    return None if cell is ERR else cell


def states(n):
    return st.one_of(hnp.arrays(np.float64, (n,), elements=FLOATS),
                     hnp.arrays(np.float64, (2, n), elements=FLOATS))


@pytest.fixture(autouse=True)
def no_hang():
    with time_limit(120, "a promise case"):
        yield


# --------------------------------------------------------------------------- trajectories and spectra


def _analyses(settings_):
    @settings_
    @given(st.data())
    def run(data):
        cell = data.draw(cells(n=2))
        if cell is None:
            return
        keep_promises(rd.stability, cell, h=data.draw(st.one_of(st.none(), states(2).filter(lambda a: a.ndim == 1))))
        keep_promises(stability.critical_gamma, cell)
        keep_promises(rd.fixed_points, cell, n_starts=data.draw(st.integers(1, 8)), max_starts=16)
        keep_promises(rd.phase_portrait, cell, data.draw(st.one_of(st.none(), states(2))),
                      steps=data.draw(st.integers(0, 5)), grid=data.draw(st.integers(2, 4)),
                      xlim=data.draw(st.one_of(st.none(), st.tuples(FLOATS, FLOATS))))
    run()


def test_analyses_of_extreme_cells():
    _analyses(FAST)


@pytest.mark.slow
def test_analyses_of_extreme_cells_deep():
    _analyses(DEEP)


@FAST
@given(st.one_of(matrices(2), matrices(3), JUNK), st.one_of(st.none(), POSITIVE, JUNK))
def test_stability_of_extreme_matrices(M, eps):
    keep_promises(rd.stability, M, eps=eps)
    keep_promises(stability.critical_gamma, M, eps=eps)


@FAST
@given(st.sampled_from(["vanilla", "euler", "antisymmetric"]), st.one_of(POSITIVE, JUNK),
       st.one_of(st.just(0.0), POSITIVE, JUNK), st.one_of(st.sampled_from([0.0, 0.03, 1e300]), JUNK),
       st.one_of(st.integers(1, 4), JUNK), st.one_of(st.integers(0, 5), JUNK))
def test_gradient_norms_of_extreme_settings(cell, eps, gamma, input_scale, size, steps):
    keep_promises(rd.gradient_norms, cell=cell, inits=("orthogonal",), size=size, steps=steps, eps=eps, gamma=gamma,
                  input_scale=input_scale, backend="reference")


@FAST
@given(st.data())
def test_bptt_of_extreme_cells_reports_what_it_cannot_differentiate(data):
    cell = data.draw(cells())
    if cell is None:
        return
    h0 = data.draw(hnp.arrays(np.float64, (cell.n,), elements=FLOATS))
    # a single trajectory: the batch case (one diverged trajectory hiding another's NaN) is pending
    keep_promises(rd.bptt, cell, h0, steps=data.draw(st.integers(0, 4)),
                  loss=data.draw(st.sampled_from(["last", "sum"])), backend="reference")


BOTH_BACKENDS = st.sampled_from(["reference", "cpu"])


def _trajectories(settings_):
    @settings_
    @given(st.data())
    def run(data):
        cell = data.draw(cells())
        if cell is None:
            return
        h0 = data.draw(states(cell.n))
        steps = data.draw(st.integers(0, 6))
        backend = data.draw(BOTH_BACKENDS)
        keep_promises(rd.simulate, cell, h0, steps=steps, backend=backend)
        keep_promises(rd.tangent, cell, h0, steps=steps, backend=backend,
                      norm=data.draw(st.sampled_from(["spectral", "fro"])))
        keep_promises(rd.jacobian_spectrum, cell, h0, steps=steps, backend=backend)
        keep_promises(rd.lyapunov_spectrum, cell, h0, steps=max(steps, 1), backend="reference")
    run()


def test_trajectories_of_extreme_cells():
    _trajectories(FAST)


@pytest.mark.slow
def test_trajectories_of_extreme_cells_deep():
    _trajectories(DEEP)


@FAST
@given(st.one_of(FLOATS, JUNK), st.one_of(st.none(), JUNK, st.sampled_from([("dW",), ("dW", "db"), ("nope",)])))
def test_clipping_arguments(max_norm, fields):
    g = rd.bptt(rd.VanillaRNN(np.eye(2) * 0.5), [0.1, 0.2], steps=2, backend="reference")
    for clip in (rd.clip_by_norm, rd.clip_by_global_norm):
        out = keep_promises(clip, g, max_norm, fields=fields)
        if out is not ERR:
            assert np.isfinite(out.dW).all()


def test_clipping_a_finite_huge_gradient_keeps_its_direction():
    g = rd.bptt(rd.VanillaRNN(np.eye(2) * 0.5), [0.1, 0.2], steps=2, backend="reference")
    big = g.__class__(**{**g.__dict__, "dW": np.full((2, 2), 1e160)})
    for clip in (rd.clip_by_norm, rd.clip_by_global_norm):
        out = keep_promises(clip, big, 1.0)
        assert np.isfinite(out.dW).all() and np.linalg.norm(out.dW) == pytest.approx(1.0, rel=1e-6)


def test_bptt_batch_with_one_diverged_trajectory_reports_the_others():
    keep_promises(rd.bptt, rd.VanillaRNN(1e3 * np.eye(2), activation="relu"), [[.3, -.2], [1e306, 1e306]],
                  steps=60, loss="sum", backend="reference")


# --------------------------------------------------------------------------- constructors and helpers


@FAST
@given(st.one_of(matrices(2), JUNK), st.one_of(st.none(), JUNK, matrices(2)), st.one_of(st.none(), JUNK))
def test_lstm_and_map_constructors(W_hh, W_ih, b):
    keep_promises(rd.LSTM, W_ih, np.vstack([W_hh] * 4) if isinstance(W_hh, np.ndarray) else W_hh, b)
    keep_promises(rd.Map, W_hh, None, 2)


@FAST
@given(st.sampled_from(["orthogonal", "identity", "normal", "uniform", "xavier_normal", "xavier_uniform",
                        "antisymmetric"]), st.one_of(st.integers(-2, 6), JUNK), st.one_of(FLOATS, JUNK))
def test_initialisers(name, n, gain):
    fn = getattr(rd.init, name)
    key = {"normal": "std", "uniform": "scale", "antisymmetric": "std"}.get(name, "gain")
    if name.startswith("xavier") or name in ("orthogonal",):
        keep_promises(fn, n, **{key: gain}, rng=0)
    elif name == "identity":
        keep_promises(fn, n, **{key: gain})
    else:
        keep_promises(fn, n, **{key: gain}, rng=0)


@FAST
@given(st.one_of(st.integers(-1, 5), JUNK), st.one_of(st.none(), st.tuples(st.tuples(FLOATS, FLOATS),
                                                                         st.tuples(FLOATS, FLOATS)), JUNK))
def test_random_inits(k, box):
    out = keep_promises(phase.random_inits, k, rng=0, box=box)
    if out is not ERR:
        assert np.isfinite(out).all()


# --------------------------------------------------------------------------- 1-D maps

MAPS = st.sampled_from(["logistic:3.5", "logistic:4", "quadratic:0.15", "quadratic:2", "tent:2", "sine:1",
                        "1e308*x", "exp(x)", "x**2", "1/x", "log(x)", "sqrt(x)", "x*1e-300", "tan(x)"])


def _maps(settings_):
    @settings_
    @given(MAPS, st.one_of(FLOATS, hnp.arrays(np.float64, (2,), elements=FLOATS), JUNK),
           st.one_of(st.integers(0, 40), JUNK), st.one_of(st.tuples(FLOATS, FLOATS), JUNK))
    def run(m, x0, steps, interval):
        keep_promises(orbits1d.orbit, m, x0, steps)
        if isinstance(x0, float):
            keep_promises(orbits1d.cobweb, m, x0, steps)
        keep_promises(orbits1d.cobweb_diagram, m, x0, steps, interval, samples=50)
        keep_promises(orbits1d.fixed_points, m, interval, samples=50)
        keep_promises(orbits1d.compositions, m, (1, 2), interval, samples=50)
        keep_promises(orbits1d.lyapunov_1d, m, x0, steps=max(steps, 1) if isinstance(steps, int) else steps,
                      transient=2, check_result=False)
    run()


def test_one_dimensional_maps():
    _maps(FAST)


@pytest.mark.slow
def test_one_dimensional_maps_deep():
    _maps(DEEP)


@FAST
@given(st.one_of(hnp.arrays(np.float64, (3,), elements=FLOATS), JUNK), st.one_of(FLOATS, JUNK),
       st.sampled_from(["logistic", "quadratic", "tent"]), BACKENDS)
def test_bifurcation(params, x0, family, backend):
    keep_promises(orbits1d.bifurcation, params, x0=x0, transient=5, keep=3, map=family, backend=backend)


# --------------------------------------------------------------------------- growth experiments


@FAST
@given(st.one_of(hnp.arrays(np.float64, (2,), elements=FLOATS), JUNK), st.one_of(st.integers(0, 20), JUNK),
       st.one_of(matrices(2), JUNK), st.one_of(hnp.arrays(np.float64, (2,), elements=FLOATS), JUNK))
def test_growth_experiments(ws, steps, W, values):
    keep_promises(growth.scalar_products, ws, steps=steps)
    keep_promises(growth.power_snapshots, W, times=(0, 1, 3))
    keep_promises(growth.tanh_cliff, values, steps=(1, 3))
    keep_promises(growth.matrix_product, [W, W] if isinstance(W, np.ndarray) else W)
    keep_promises(growth.growth_verdict, np.abs(ws) if isinstance(ws, np.ndarray) else ws)


@FAST
@given(st.sampled_from(["linear", "vanilla", "euler", "antisymmetric"]), st.one_of(POSITIVE, JUNK),
       st.one_of(st.sampled_from([0.5, 1e100, 1e-100, 1e300]), JUNK), st.one_of(st.just(0.0), POSITIVE, JUNK))
def test_norm_growth(cell, eps, gain, gamma):
    spec = f"normal:gain={gain!r}" if isinstance(gain, float) else gain
    g = keep_promises(growth.norm_growth, (spec,) if isinstance(spec, str) else spec, size=3, steps=6, cell=cell,
                      eps=eps, gamma=gamma, names=("inits", "init"))
    if g is not ERR:
        assert np.all(np.isfinite(g.spectral_radius)) or np.any(g.limit_step >= 0)


# --------------------------------------------------------------------------- loaders and writers

def _deep(depth):
    x = [1.0]
    for _ in range(depth):
        x = [x]
    return x


def _cycle():
    d = {"W": np.eye(2)}
    d["self"] = d
    return d


# fixed cases, not drawn: hypothesis would print a 5000-deep list with a recursive pretty-printer
HOSTILE_VALUES = [_deep(5000), {"weight_hh_l0": _deep(3000)}, _cycle(), "a\x00b.npy",
                  "/", "/dev/null", "/nonexistent/x.npy", "x.npz:", ":key", b"\xff.npy",
                  {1: np.eye(2)}, {"weight_hh_l0": np.full((2, 2), 1e308)},
                  {"weight_hh_l0": np.eye(2), "weight_ih_l0": "abc"}]


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=range(len(HOSTILE_VALUES)))
def test_loaders_refuse_hostile_values_by_name(value):
    for fn in (rd.load_array, rd.load_matrix, rd.load_cell, rd.load_result):
        keep_promises(fn, value, names=("source", "spec", "path", "key"), check_result=False)


@FAST
@given(st.sampled_from([{"a": _deep(200)}, _cycle(), {"a.b": 1, "a": {"b": 2}}, {1: 2}, {"x": object()},
                        {"x": np.array([1e308, np.inf])}, {"": 1}, {"a": "\x00"}]),
       st.sampled_from(["r.npz", "r.json", "r.csv", "dir/", "a\x00.json"]))
def test_save_result_refuses_hostile_results_by_name(tmp_path_factory, result, name):
    d = tmp_path_factory.mktemp("save")
    keep_promises(rd.save_result, result, str(d / name) + ("/" if name.endswith("/") else ""),
                  names=("result", "path", "params"), check_result=False)


def _in_subprocess(code: str, tmp_path, timeout=60, memory=2 * 2**30):
    """Run ``code`` in a fresh interpreter with a time and an address-space limit; (returncode, stderr)."""
    def limit():
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = dict(os.environ, PYTHONPATH=os.getcwd())
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit, env=env)
    return proc.returncode, proc.stdout + proc.stderr


HOSTILE_FILE_CODE = """
import os, sys
import rnndyn as rd
name, fn = sys.argv[1:] if len(sys.argv) > 2 else ({name!r}, {fn!r})
{make}
try:
    getattr(rd, fn)(name)
except rd.RnndynError as exc:
    print("REFUSED", exc)
"""


@pytest.mark.parametrize("name, make", [
    ("fifo.npy", "os.mkfifo(name)"),
    ("fifo.json", "os.mkfifo(name)"),
    ("zero.npy", "os.symlink('/dev/zero', name)"),
    ("zero.npz", "os.symlink('/dev/zero', name)"),
    ("zero.csv", "os.symlink('/dev/zero', name)"),
    ("urandom.npz", "os.symlink('/dev/urandom', name)"),
])
@pytest.mark.parametrize("fn", ["load_matrix", "load_result"])
def test_special_files_are_refused_without_hanging_or_exhausting_memory(tmp_path, name, make, fn):
    if fn == "load_result" and not name.endswith((".npz", ".json")):
        pytest.skip("load_result reads .npz and .json")
    code = HOSTILE_FILE_CODE.format(name=name, fn=fn, make=make)
    rc, out = _in_subprocess(code, tmp_path, timeout=60)
    assert rc == 0 and "REFUSED" in out and "Traceback" not in out, out
    assert out.split("REFUSED ", 1)[1].startswith(("path: ", "spec: ", "source: ")), out


# --------------------------------------------------------------------------- memory: refused before allocation

LIMIT = 64 * 2**20

BIG = st.sampled_from([10**7, 10**9, 2**40])


def _big_calls(big):
    cell2 = rd.EulerRNN(np.eye(2) * 0.5)
    return [
        ("simulate", lambda: rd.simulate(cell2, np.zeros((8, 2)), steps=big, backend="reference")),
        ("tangent", lambda: rd.tangent(rd.EulerRNN(np.eye(40) * 0.5), np.zeros((64, 40)), steps=big // 10,
                                       backend="reference")),
        ("bptt", lambda: rd.bptt(cell2, np.zeros((64, 2)), steps=big, backend="reference")),
        ("lyapunov", lambda: rd.lyapunov_spectrum(cell2, np.zeros(2), steps=big, return_history=True,
                                                  backend="reference")),
        ("fixed_points", lambda: rd.fixed_points(cell2, n_starts=big, max_starts=big)),
        ("random_inits", lambda: phase.random_inits(big, rng=0)),
        ("orbit", lambda: orbits1d.orbit("logistic:3.5", np.full(16, 0.5), big)),
        ("bifurcation", lambda: orbits1d.bifurcation(np.full(64, 3.5), keep=big, transient=0)),
        ("compositions", lambda: orbits1d.compositions("logistic:3.5", (1, 2), samples=min(big, 10**7))),
        ("scalar_products", lambda: growth.scalar_products(np.ones(16), steps=big)),
        ("gaussian_product", lambda: growth.gaussian_product(big, 8)),
        ("orthogonal", lambda: rd.init.orthogonal(min(big, 2**31))),
        ("normal", lambda: rd.init.normal(min(big, 2**31), rng=0)),
        ("gradient_norms", lambda: rd.gradient_norms(size=4, steps=big, inits=("orthogonal",), backend="reference")),
        ("phase_portrait", lambda: rd.phase_portrait(cell2, np.zeros((64, 2)), steps=big, grid=3,
                                                     fixed_points=False)),
    ]


@pytest.mark.parametrize("which", [name for name, _ in _big_calls(1)])
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(big=BIG)
def test_no_allocation_above_the_memory_limit(monkeypatch, which, big):
    monkeypatch.setattr(config, "MEMORY_LIMIT_BYTES", LIMIT)
    call = dict(_big_calls(big))[which]
    with peak_memory() as peak:
        try:
            with time_limit(60, which), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                call()
        except rd.MemoryLimitError:  # refused before allocating: the message describes the request
            pass
        except rd.RnndynError as exc:  # refused: above a documented maximum
            assert_names_an_argument(exc, _param_names(call) | {"steps", "count", "n", "k", "keep", "samples",
                                                                "n_starts", "max_starts", "B", "T"})
    # the limit bounds the result; the work around it may take a few times as much, never orders of magnitude
    assert peak() < 4 * LIMIT, f"{which}({big}): peak {peak() / 2**20:.0f} MiB with a limit of 64 MiB"
