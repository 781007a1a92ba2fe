"""Tests of rnndyn.systems.map1d and rnndyn.analysis.orbits1d (1-D iterated maps, CSC321 Lecture 15) and their plots."""

from __future__ import annotations

import doctest
import math
import os
import pickle
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import rnndyn as rd  # noqa: E402
import rnndyn.plots.orbits1d as plots_maps  # noqa: E402
from rnndyn import config  # noqa: E402
from rnndyn.analysis import orbits1d  # noqa: E402
from rnndyn.errors import (  # noqa: E402
    ArgumentTypeError,
    MemoryLimitError,
    RnndynError,
    UnknownNameError,
    ValidationError,
)
from rnndyn.kernels import cpu as cpu_kernels  # noqa: E402
from rnndyn.kernels import numpy as ref_kernels  # noqa: E402
from rnndyn.kernels.params import MAP1D_KINDS  # noqa: E402
from rnndyn.systems import map1d  # noqa: E402

SETTINGS = settings(deadline=None, max_examples=40)


def central_diff(fn, x, h=1e-3):
    """Central difference with one Richardson step (error O(h^4))."""

    def d(hh):
        return (fn(x + hh) - fn(x - hh)) / (2 * hh)

    return (4 * d(h / 2) - d(h)) / 3


# ---------------------------------------------------------------------------
# Safe parsing
# ---------------------------------------------------------------------------

MALICIOUS = [
    "__import__('os')",
    "__import__('os').system('touch /tmp/rnndyn_maps_pwned')",
    "x.__class__",
    "().__class__",
    "().__class__.__bases__[0].__subclasses__()",
    "(lambda: 1)()",
    "lambda x: x",
    "x[0]",
    "y + 1",
    "r*x*(1-x)",
    "np.sin(x)",
    "os.system('ls')",
    "exec('1')",
    "eval('x')",
    "open('/etc/passwd')",
    "globals()",
    "getattr(x, 'real')",
    "[i for i in range(10)]",
    "{i: i for i in x}",
    "(i for i in x)",
    "x**1000",
    "9**9**9",
    "2**10**10",
    "x**-100",
    "x if x else 1",
    "x < 1",
    "x and 1",
    "not x",
    "~x",
    "'abc'",
    "b'x'",
    "1j*x",
    "True",
    "None",
    "x @ x",
    "x // 2",
    "x % 2",
    "x ^ 2",
    "sin(x, 2)",
    "sin(x=1)",
    "sin(*x)",
    "sin",
    "x; import os",
    "import os",
    "x = 1",
    "(x := 2)",
    "1e999*x",
    "f'{x}'",
    "{x}",
    "(x, x)",
    "x.real",
    "-" * 80 + "x",
    "sin(" * 60 + "x" + ")" * 60,
    "x + " * 400 + "x",
    "",
    "   ",
]


@pytest.mark.parametrize("expr", MALICIOUS)
def test_malicious_or_invalid_expressions_are_refused(expr):
    with pytest.raises(ValidationError) as info:
        map1d.parse_map(expr)
    assert isinstance(info.value, RnndynError)
    assert str(info.value).startswith("map:")
    assert not os.path.exists("/tmp/rnndyn_maps_pwned")


def test_refusal_message_says_what_is_allowed():
    with pytest.raises(ValidationError, match=r"map: calling '__import__' is not allowed.*allowed are.*sin cos"):
        map1d.parse_map("__import__('os')")
    with pytest.raises(ValidationError, match=r"map: attribute access"):
        map1d.parse_map("().__class__")
    with pytest.raises(ValidationError, match=r"map: unknown name 'y'.*only variable is x"):
        map1d.parse_map("y + 1")
    with pytest.raises(ValidationError, match=r"exponent 1000 .* too large"):
        map1d.parse_map("x**1000")


def test_argument_name_follows_the_caller():
    with pytest.raises(ValidationError, match=r"^f: unknown name"):
        orbits1d.orbit("r*x", 0.5, 3)
    with pytest.raises(ArgumentTypeError, match=r"^map: expected a Map1D or a string"):
        map1d.parse_map(3.5)
    with pytest.raises(ArgumentTypeError, match=r"^f:"):
        orbits1d.orbit(np.sin, 0.5, 3)


def test_family_specs():
    m = map1d.parse_map("logistic:3.5")
    x = np.linspace(-0.5, 1.5, 101)
    np.testing.assert_array_equal(m(x), 3.5 * x * (1 - x))
    np.testing.assert_array_equal(m(x), map1d.parse_map("3.5*x*(1-x)")(x))
    np.testing.assert_allclose(m.derivative(x), 3.5 * (1 - 2 * x), rtol=0, atol=1e-15)
    assert (m.name, m.param, m.family, m.expr) == ("logistic:3.5", 3.5, "logistic", "3.5*x*(1 - x)")
    assert m(0.5) == 0.875 and isinstance(m(0.5), float)
    assert m == map1d.parse_map(" Logistic : 3.5 ")

    np.testing.assert_array_equal(map1d.parse_map("quadratic:0.15")(x), x * x + 0.15)
    np.testing.assert_array_equal(map1d.parse_map("tent:2")(x), 2 * np.minimum(x, 1 - x))
    np.testing.assert_allclose(map1d.parse_map("sine:0.9")(x), 0.9 * np.sin(np.pi * x), rtol=1e-15)
    assert map1d.parse_map("logistic:1+sqrt(8)").param == pytest.approx(1 + math.sqrt(8), rel=1e-15)


@pytest.mark.parametrize(
    "spec, err",
    [
        ("logistic", ValidationError),
        ("logistic:", ValidationError),
        ("logistic:x", ValidationError),
        ("logistic:nan", ValidationError),
        ("logistic:1e999", ValidationError),
        ("henon:1.4", UnknownNameError),
        ("logistic:__import__('os')", ValidationError),
    ],
)
def test_bad_family_specs(spec, err):
    with pytest.raises(err, match=r"^map:"):
        map1d.parse_map(spec)


@pytest.mark.parametrize("spec", ["logistic:3.7", "quadratic:-1.2", "tent:1.7", "sine:0.8"])
def test_family_derivatives_match_finite_differences(spec):
    m = map1d.parse_map(spec)
    x = np.array([0.05, 0.2, 0.37, 0.61, 0.8, 0.93])  # away from the tent's kink
    np.testing.assert_allclose(m.derivative(x), central_diff(m.f, x), rtol=1e-8, atol=1e-8)


# Random whitelisted expressions, smooth and finite on [-1, 1] by construction.
_leaf = st.one_of(
    st.just("x"),
    st.just("x"),
    st.sampled_from(["pi", "e"]),
    st.floats(-3, 3, allow_nan=False).map(lambda v: f"({v!r})"),
)


def _extend(sub):
    pair = st.tuples(sub, sub)
    return st.one_of(
        pair.map(lambda t: f"({t[0]} + {t[1]})"),
        pair.map(lambda t: f"({t[0]} - {t[1]})"),
        pair.map(lambda t: f"{t[0]}*{t[1]}"),
        pair.map(lambda t: f"{t[0]}/(2 + cos({t[1]}))"),
        st.tuples(sub, st.integers(0, 4)).map(lambda t: f"({t[0]})**{t[1]}"),
        pair.map(lambda t: f"(2 + sin({t[0]}))**({t[1]})"),
        sub.map(lambda a: f"-{a}"),
        sub.map(lambda a: f"sin({a})"),
        sub.map(lambda a: f"cos({a})"),
        sub.map(lambda a: f"tanh({a})"),
        sub.map(lambda a: f"exp({a})"),
        sub.map(lambda a: f"log(2 + sin({a}))"),
        sub.map(lambda a: f"sqrt(1 + ({a})**2)"),
        sub.map(lambda a: f"tan(tanh({a}))"),
        sub.map(lambda a: f"abs(2 + cos({a}))"),
    )


expressions = st.recursive(_leaf, _extend, max_leaves=8)


@SETTINGS
@given(expr=expressions, x=st.floats(-1, 1))
def test_symbolic_derivative_matches_finite_differences(expr, x):
    m = map1d.parse_map(expr)
    fx, dx = m(x), m.derivative(x)
    assume(np.isfinite(fx) and np.isfinite(dx) and abs(fx) < 1e4 and abs(dx) < 1e4)
    fd = central_diff(m.f, x)
    assert abs(fd - dx) <= 1e-6 * (1 + abs(dx) + abs(fx)), (expr, m.dexpr, x, dx, fd)


@SETTINGS
@given(expr=expressions)
def test_printed_formulas_parse_back(expr):
    m = map1d.parse_map(expr)
    assert map1d.parse_map(m.expr) == m  # same tree: evaluated with the same operations
    x = np.linspace(-1, 1, 7)
    np.testing.assert_allclose(map1d.parse_map(m.dexpr)(x), m.derivative(x), rtol=1e-12, atol=1e-12, equal_nan=True)


def test_symbolic_derivatives_of_each_function():
    x = np.array([0.3, 0.7, 1.2])
    cases = {
        "sin(x)": np.cos(x),
        "cos(x)": -np.sin(x),
        "tan(x)": 1 / np.cos(x) ** 2,
        "exp(2*x)": 2 * np.exp(2 * x),
        "log(x)": 1 / x,
        "sqrt(x)": 0.5 / np.sqrt(x),
        "tanh(x)": 1 - np.tanh(x) ** 2,
        "abs(x - 0.5)": np.sign(x - 0.5),
        "x**x": x**x * (np.log(x) + 1),
        "2**x": 2**x * np.log(2),
        "1/x": -1 / x**2,
        "x**-2": -2 * x**-3,
        "pi*x + e": np.full_like(x, np.pi),
    }
    for expr, want in cases.items():
        np.testing.assert_allclose(map1d.parse_map(expr).derivative(x), want, rtol=1e-13, err_msg=expr)
    assert map1d.parse_map("sin(x)+0.5*x**2").dexpr == "cos(x) + x"
    # like terms are collected; a power of a sum stays factored
    assert map1d.parse_map("3.5*x*(1-x)").dexpr == "-7*x + 3.5"
    assert map1d.parse_map("2*x*x").dexpr == "4*x"
    assert map1d.parse_map("(x+1)**3").dexpr == "3*(x + 1)**2"
    assert map1d.parse_map("x**3 - x").dexpr == "3*x**2 - 1"
    const = map1d.parse_map("2")
    np.testing.assert_array_equal(const(np.zeros(3)), [2, 2, 2])
    np.testing.assert_array_equal(const.derivative(np.zeros(3)), [0, 0, 0])


def test_map1d_custom_and_pickle():
    m = map1d.Map1D("cube", lambda x: np.asarray(x) ** 3, lambda x: 3 * np.asarray(x) ** 2)
    np.testing.assert_allclose(orbits1d.orbit(m, 0.5, 2), [0.5, 0.125, 0.125**3])
    with pytest.raises(ArgumentTypeError, match="^f:"):
        map1d.Map1D("bad", 1.0, np.cos)
    with pytest.raises(ValidationError, match="^param:"):
        map1d.Map1D("bad", np.sin, np.cos, param=float("nan"))
    bad = map1d.Map1D("sum", lambda x: np.sum(x), lambda x: x)
    with pytest.raises(ValidationError, match="elementwise"):
        orbits1d.orbit(bad, [0.1, 0.2], 2)
    for spec in ("logistic:3.5", "sin(x) + 0.5*x**2"):
        m = map1d.parse_map(spec)
        assert pickle.loads(pickle.dumps(m)) == m
        f6 = map1d.compose(m, 6)
        assert pickle.loads(pickle.dumps(f6)) == f6


# ---------------------------------------------------------------------------
# Composition, orbits, cobwebs
# ---------------------------------------------------------------------------


def test_compose_equals_iterating():
    f = map1d.parse_map("3.5*x*(1-x)")
    x = np.linspace(0, 1, 201)
    y = x.copy()
    for _ in range(6):
        y = f(y)
    f6 = map1d.compose(f, 6)
    np.testing.assert_array_equal(f6(x), y)
    assert f6(0.3) == orbits1d.orbit(f, 0.3, 6)[-1]
    np.testing.assert_array_equal(map1d.compose(f, 0)(x), x)
    np.testing.assert_array_equal(map1d.compose(map1d.compose(f, 2), 3)(x), y)
    assert f6.name == "compose(3.5*x*(1 - x), 6)" and f6.family == "composition"
    with pytest.raises(ValidationError, match="^k:"):
        map1d.compose(f, -1)
    with pytest.raises(ArgumentTypeError, match="^k:"):
        map1d.compose(f, 1.5)


@SETTINGS
@given(r=st.floats(2.5, 4.0), k=st.integers(1, 5), x=st.floats(0.05, 0.95))
def test_compose_derivative_matches_finite_differences(r, k, x):
    fk = map1d.compose(f"logistic:{r!r}", k)
    d = fk.derivative(x)
    fd = central_diff(fk.f, x, h=1e-5)
    assert abs(fd - d) <= 1e-5 * (1 + abs(d) ** 2)


def test_orbit_shapes_and_values():
    o = orbits1d.orbit("quadratic:0.15", 0.5, 3)
    assert o.shape == (4,)
    np.testing.assert_allclose(o, [0.5, 0.4, 0.31, 0.31**2 + 0.15])
    assert orbits1d.orbit("logistic:2", [0.1, 0.2, 0.3], 5).shape == (6, 3)
    assert orbits1d.orbit("logistic:2", 0.1, 0).tolist() == [0.1]
    assert orbits1d.orbit("logistic:2", np.float32(0.25), 1).dtype == np.float64


@pytest.mark.parametrize(
    "kwargs, err, pattern",
    [
        ({"x0": 0.5, "steps": -1}, ValidationError, "^steps:"),
        ({"x0": 0.5, "steps": 2.5}, ArgumentTypeError, "^steps:"),
        ({"x0": 0.5, "steps": True}, ArgumentTypeError, "^steps:"),
        ({"x0": float("nan"), "steps": 3}, ValidationError, "^x0:"),
        ({"x0": [[0.1]], "steps": 3}, ValidationError, "^x0:"),
        ({"x0": "0.5", "steps": 3}, ArgumentTypeError, "^x0:"),
    ],
)
def test_orbit_validation(kwargs, err, pattern):
    with pytest.raises(err, match=pattern):
        orbits1d.orbit("logistic:3", **kwargs)


def test_orbit_memory_limit(monkeypatch):
    monkeypatch.setattr(config, "MEMORY_LIMIT_BYTES", 1000)
    with pytest.raises(MemoryLimitError, match="MEMORY_LIMIT_BYTES"):
        orbits1d.orbit("logistic:3", np.zeros(10), 100)


def test_logistic_orbit_converges_to_fixed_point_and_two_cycle():
    o = orbits1d.orbit("logistic:2.5", 0.1, 500)
    assert abs(o[-1] - (1 - 1 / 2.5)) < 1e-12
    r = 3.2
    o = orbits1d.orbit(f"logistic:{r}", 0.1, 1000)
    lo_, hi_ = sorted(o[-2:])
    s = math.sqrt((r - 3) * (r + 1))
    assert lo_ == pytest.approx((r + 1 - s) / (2 * r), abs=1e-10)
    assert hi_ == pytest.approx((r + 1 + s) / (2 * r), abs=1e-10)
    assert abs(o[-1] - o[-3]) < 1e-12 and abs(o[-1] - o[-2]) > 0.2


def test_cobweb_vertices():
    f = map1d.parse_map("quadratic:0.15")
    v = orbits1d.cobweb(f, 0.7, 10)
    assert v.shape == (21, 2)
    np.testing.assert_array_equal(v[0::2, 0], v[0::2, 1])  # on the diagonal
    np.testing.assert_array_equal(v[1::2, 1], f(v[1::2, 0]))  # on the graph
    np.testing.assert_array_equal(v[0::2, 0], orbits1d.orbit(f, 0.7, 10))
    assert orbits1d.cobweb(f, 0.7, 0).shape == (1, 2)
    with pytest.raises(ArgumentTypeError, match="^x0:"):
        orbits1d.cobweb(f, [0.1, 0.2], 3)


# ---------------------------------------------------------------------------
# Fixed and periodic points
# ---------------------------------------------------------------------------


def test_quadratic_fixed_points_csc321():
    fps = orbits1d.fixed_points("quadratic:0.15", (0, 1))
    assert len(fps) == 2
    sink, source = fps
    assert sink.x == pytest.approx((1 - math.sqrt(1 - 0.6)) / 2, abs=1e-13)
    assert source.x == pytest.approx((1 + math.sqrt(1 - 0.6)) / 2, abs=1e-13)
    assert (sink.kind, source.kind) == ("sink", "source")
    assert sink.derivative == pytest.approx(2 * sink.x) and source.derivative == pytest.approx(2 * source.x)
    assert sink.period == source.period == 1
    # Outside (0, 1) there is nothing more; c > 1/4 has no fixed point at all.
    assert len(orbits1d.fixed_points("quadratic:0.15", (-5, 5))) == 2
    assert orbits1d.fixed_points("quadratic:0.3", (-5, 5)) == ()


@SETTINGS
@given(r=st.floats(1.05, 2.95))
def test_logistic_fixed_points(r):
    fps = orbits1d.fixed_points(f"logistic:{r!r}", (0, 1))
    assert [p.kind for p in fps] == ["source", "sink"]
    assert fps[0].x == pytest.approx(0.0, abs=1e-14)
    assert fps[1].x == pytest.approx(1 - 1 / r, abs=1e-12)
    assert fps[1].derivative == pytest.approx(2 - r, abs=1e-10)


def test_period_two_points_and_neutral_cases():
    r = 3.2
    s = math.sqrt((r - 3) * (r + 1))
    cyc = orbits1d.fixed_points(f"logistic:{r}", period=2)
    np.testing.assert_allclose([p.x for p in cyc], [(r + 1 - s) / (2 * r), (r + 1 + s) / (2 * r)], atol=1e-12)
    for p in cyc:
        assert p.period == 2 and p.kind == "sink"
        assert p.derivative == pytest.approx(-(r**2) + 2 * r + 4, abs=1e-10)  # 0.16
    everything = orbits1d.fixed_points(f"logistic:{r}", period=2, exact_period=False)
    np.testing.assert_allclose([p.x for p in everything], [0, cyc[0].x, 1 - 1 / r, cyc[1].x], atol=1e-12)
    # r = 3: the fixed point 2/3 has f' = -1 (period doubling)
    (zero, mid) = orbits1d.fixed_points("logistic:3")
    assert mid.x == pytest.approx(2 / 3) and mid.kind == "neutral"
    # a tangency (no sign change): x + (x - 0.5)^2 touches the diagonal at 0.5
    (t,) = orbits1d.fixed_points("x + (x - 0.5)**2")
    assert t.x == pytest.approx(0.5, abs=1e-6) and t.kind == "neutral"


def test_fixed_points_skip_poles():
    f = map1d.parse_map("tan(3*x)")
    fps = orbits1d.fixed_points(f, (0.01, 1.4))
    assert len(fps) >= 1
    for p in fps:
        assert abs(f(p.x) - p.x) < 1e-9
        assert abs(p.x - math.pi / 6) > 1e-3  # the pole is not a root


@pytest.mark.parametrize(
    "kwargs, err, pattern",
    [
        ({"interval": (1, 0)}, ValidationError, "^interval: expected lo < hi"),
        ({"interval": (0, float("inf"))}, ValidationError, r"^interval\[1\]:"),
        ({"interval": "ab"}, ValidationError, "^interval:"),
        ({"interval": (0, 1, 2)}, ValidationError, "^interval:"),
        ({"period": 0}, ValidationError, "^period:"),
        ({"samples": 2}, ValidationError, "^samples:"),
        ({"neutral_tol": -1.0}, ValidationError, "^neutral_tol:"),
        ({"exact_period": "yes"}, ArgumentTypeError, "^exact_period:"),
    ],
)
def test_fixed_points_validation(kwargs, err, pattern):
    with pytest.raises(err, match=pattern):
        orbits1d.fixed_points("logistic:3", **kwargs)


# ---------------------------------------------------------------------------
# Orbit diagram kernels
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "family, lo, hi", [("logistic", 2.5, 4.0), ("quadratic", -2.0, 0.25), ("tent", 0.5, 1.99)]
)
def test_bifurcation_cpu_equals_reference(family, lo, hi):
    params = np.linspace(lo, hi, 37)
    kind = MAP1D_KINDS[family]
    a = np.full((37, 50), np.nan)
    b = np.full((37, 50), np.nan)
    cpu_kernels.bifurcation(kind, params, 0.3, 300, a)
    ref_kernels.bifurcation(kind, params, 0.3, 300, b)
    assert np.max(np.abs(a - b)) <= 1e-12  # identical arithmetic: in fact bit for bit
    res = orbits1d.bifurcation(params, x0=0.3, transient=300, keep=50, map=family)
    ref = orbits1d.bifurcation(params, x0=0.3, transient=300, keep=50, map=family, backend="reference")
    np.testing.assert_array_equal(res.orbits, a)
    np.testing.assert_array_equal(ref.orbits, b)


def test_bifurcation_matches_orbit_and_theory():
    res = orbits1d.bifurcation([2.5, 3.2, 3.9], x0=0.5, transient=1000, keep=8)
    assert res.params.shape == (3,) and res.orbits.shape == (3, 8)
    assert (res.map, res.x0, res.transient) == ("logistic", 0.5, 1000)
    np.testing.assert_allclose(res.orbits[0], 1 - 1 / 2.5, atol=1e-12)
    two = res.orbits[1]
    np.testing.assert_allclose(two[2:], two[:-2], atol=1e-12)
    assert abs(two[1] - two[0]) > 0.2
    # same arithmetic as orbit(): the chaotic r = 3.9 row agrees bit for bit
    np.testing.assert_array_equal(res.orbits[2], orbits1d.orbit("logistic:3.9", 0.5, 1007)[1000:])
    with pytest.raises(ValueError):
        res.orbits[0, 0] = 1.0  # read-only


@pytest.mark.parametrize(
    "kwargs, err, pattern",
    [
        ({"r_values": [[3.0]]}, ValidationError, "^r_values:"),
        ({"r_values": []}, ValidationError, "^r_values:"),
        ({"r_values": [3.0, np.nan]}, ValidationError, "^r_values:"),
        ({"r_values": [3.0], "map": "henon"}, UnknownNameError, "^map:"),
        ({"r_values": [3.0], "keep": 0}, ValidationError, "^keep:"),
        ({"r_values": [3.0], "transient": -1}, ValidationError, "^transient:"),
        ({"r_values": [3.0], "x0": np.inf}, ValidationError, "^x0:"),
        ({"r_values": [3.0], "backend": "gpu"}, UnknownNameError, "^backend:"),
    ],
)
def test_bifurcation_validation(kwargs, err, pattern):
    with pytest.raises(err, match=pattern):
        orbits1d.bifurcation(**kwargs)


# ---------------------------------------------------------------------------
# Lyapunov exponent
# ---------------------------------------------------------------------------


def test_lyapunov_logistic_r4_is_ln2():
    lam = orbits1d.lyapunov_1d("logistic:4", [0.1, 0.2, 0.3, 0.4], steps=50_000, transient=100)
    assert lam.shape == (4,)
    assert abs(lam.mean() - math.log(2)) < 1e-2


def test_lyapunov_analytic_cases():
    assert orbits1d.lyapunov_1d("logistic:2.5", 0.3, steps=1000) == pytest.approx(math.log(0.5), abs=1e-12)
    assert orbits1d.lyapunov_1d("tent:1.5", 0.3, steps=500) == pytest.approx(math.log(1.5), abs=1e-14)
    assert orbits1d.lyapunov_1d("logistic:3.2", 0.3, steps=1000) == pytest.approx(0.5 * math.log(0.16), abs=1e-9)
    assert orbits1d.lyapunov_1d("logistic:2", 0.5, steps=100) == -np.inf  # superstable: f'(1/2) = 0
    assert orbits1d.lyapunov_1d("logistic:2", 0.3, steps=100) < -30
    with pytest.raises(ValidationError, match="^steps:"):
        orbits1d.lyapunov_1d("logistic:4", 0.3, steps=0)


# ---------------------------------------------------------------------------
# Plots
# ---------------------------------------------------------------------------


def test_compositions_result():
    c = orbits1d.compositions("3.5*x*(1-x)", ks=(0, 1, 6), interval=(0.1, 0.9), samples=11)
    assert c.ks == (0, 1, 6) and c.interval == (0.1, 0.9) and c.formula == "3.5*x*(1 - x)"
    np.testing.assert_array_equal(c.x, np.linspace(0.1, 0.9, 11))
    np.testing.assert_array_equal(c.curves[0], c.x)
    np.testing.assert_array_equal(c.curves[2], map1d.compose("logistic:3.5", 6)(c.x))
    with pytest.raises(ValueError):
        c.curves[0, 0] = 1.0  # read-only
    with pytest.raises(ValidationError, match=r"^ks\[1\]:"):
        orbits1d.compositions("logistic:3.5", ks=(1, -2))
    with pytest.raises(ValidationError, match="^ks:"):
        orbits1d.compositions("logistic:3.5", ks=())
    with pytest.raises(ValidationError, match="^samples:"):
        orbits1d.compositions("logistic:3.5", samples=1)
    with pytest.raises(ValidationError, match="^interval:"):
        orbits1d.compositions("logistic:3.5", interval=(1, 0))


def test_cobweb_diagram_result():
    d = orbits1d.cobweb_diagram("quadratic:0.15", [0.05, 0.83], steps=6, interval=(0, 1), samples=5)
    assert d.formula == "x**2 + 0.15" and d.steps == 6 and d.interval == (0.0, 1.0)
    np.testing.assert_array_equal(d.x, np.linspace(0, 1, 5))
    np.testing.assert_array_equal(d.graph, d.x ** 2 + 0.15)
    for i, x0 in enumerate(d.x0):
        np.testing.assert_array_equal(d.orbits[i], orbits1d.orbit("quadratic:0.15", x0, 6))
        np.testing.assert_array_equal(d.paths[i], orbits1d.cobweb("quadratic:0.15", x0, 6))
    assert d.fixed_points == orbits1d.fixed_points("quadratic:0.15", (0, 1))
    with pytest.raises(ValidationError, match="^x0:"):
        orbits1d.cobweb_diagram("quadratic:0.15", [])
    with pytest.raises(ValidationError, match="^steps:"):
        orbits1d.cobweb_diagram("quadratic:0.15", 0.1, steps=-1)


def test_plot_compositions():
    fig = plots_maps.plot_compositions(orbits1d.compositions("3.5*x*(1-x)"))
    assert isinstance(fig, Figure) and len(fig.axes) == 4
    assert [ax.get_title() for ax in fig.axes][:3] == ["$y = f(x)$", "$y = f(f(x))$", "$y = f(f(f(x)))$"]
    ax6 = fig.axes[3]
    curve = [ln for ln in ax6.get_lines() if ln.get_label() != "$y = x$"][0]
    xs = curve.get_xdata()
    np.testing.assert_array_equal(curve.get_ydata(), map1d.compose("logistic:3.5", 6)(xs))
    assert r"$3.5\,x\,(1 - x)$" in fig.get_suptitle()
    assert len(plots_maps.plot_compositions(orbits1d.compositions("logistic:3.5", ks=(1, 2))).axes) == 2
    with pytest.raises(ArgumentTypeError, match="^result:"):
        plots_maps.plot_compositions(np.zeros(3))
    with pytest.raises(ArgumentTypeError, match="ks, interval and samples belong to"):
        plots_maps.plot_compositions(orbits1d.compositions("logistic:3.5"), ks=(1,))


def test_plot_cobweb_marks_fixed_points():
    fig = plots_maps.plot_cobweb(orbits1d.cobweb_diagram("quadratic:0.15", [0.05, 0.5, 0.83], steps=20,
                                                         interval=(0, 1)))
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    ax = fig.axes[0]
    lines = {ln.get_label().split()[0]: ln for ln in ax.get_lines()}
    s = math.sqrt(1 - 0.6)
    np.testing.assert_allclose(lines["sink"].get_xdata(), [(1 - s) / 2], atol=1e-12)
    np.testing.assert_allclose(lines["source"].get_xdata(), [(1 + s) / 2], atol=1e-12)
    assert to_rgba(lines["sink"].get_markerfacecolor()) == to_rgba("tab:blue")  # filled blue
    assert to_rgba(lines["source"].get_markerfacecolor()) == to_rgba("white")  # open red
    assert to_rgba(lines["source"].get_markeredgecolor()) == to_rgba("tab:red")
    assert "neutral" not in lines
    legend_texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("sink") for t in legend_texts) and any(t.startswith("source") for t in legend_texts)
    assert fig.axes[1].get_xlabel() == "$t$"
    (orbit_line,) = [ln for ln in fig.axes[1].get_lines() if ln.get_label() == "$x_0 = 0.5$"]
    np.testing.assert_array_equal(orbit_line.get_ydata(), orbits1d.orbit("quadratic:0.15", 0.5, 20))
    assert len(plots_maps.plot_cobweb(orbits1d.cobweb_diagram("logistic:2.8", 0.1, steps=5)).axes) == 2
    with pytest.raises(ArgumentTypeError, match="^diagram:"):
        plots_maps.plot_cobweb(orbits1d.compositions("logistic:2.8"))


def test_plot_from_a_spec_is_deprecated_but_works():
    from rnndyn.figures.csc321 import cobweb_figure, compositions_figure

    with pytest.warns(DeprecationWarning, match="plot_cobweb"):
        old = plots_maps.plot_cobweb("quadratic:0.15", [0.05, 0.83], steps=10, interval=(0, 1))
    new = cobweb_figure("quadratic:0.15", [0.05, 0.83], steps=10, interval=(0, 1))
    for a, b in zip(old.axes, new.axes):
        assert [ln.get_label() for ln in a.get_lines()] == [ln.get_label() for ln in b.get_lines()]
        for la, lb in zip(a.get_lines(), b.get_lines()):
            np.testing.assert_array_equal(la.get_xydata(), lb.get_xydata())
    with pytest.warns(DeprecationWarning, match="plot_compositions"):
        old = plots_maps.plot_compositions(map1d.parse_map("logistic:3.5"), ks=(1, 2), samples=51)
    assert len(old.axes) == 2 == len(compositions_figure("logistic:3.5", ks=(1, 2), samples=51).axes)
    with pytest.warns(DeprecationWarning), pytest.raises(ValidationError, match=r"^ks\[1\]:"):
        plots_maps.plot_compositions("logistic:3.5", ks=(1, -2))


def test_plot_bifurcation():
    res = orbits1d.bifurcation(np.linspace(-2, 0.4, 60), transient=100, keep=20, map="quadratic")
    fig = plots_maps.plot_bifurcation(res)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    (dots,) = fig.axes[0].get_lines()
    assert np.all(np.isfinite(dots.get_ydata()))  # escaped orbits (c > 1/4) left out
    assert fig.axes[0].get_xlabel() == "c"
    with pytest.raises(ArgumentTypeError, match="^result:"):
        plots_maps.plot_bifurcation(res.orbits)


@pytest.mark.parametrize("module", [map1d, orbits1d, plots_maps, "rnndyn.figures.csc321"])
def test_doctests(module):
    if isinstance(module, str):
        import importlib

        module = importlib.import_module(module)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


@settings(max_examples=25, deadline=None)
@given(st.floats(1.1, 4.0))
def test_logistic_fixed_point_at_zero_is_exactly_zero(r):
    """A root at 0 found by bracketing is reported as 0, not as a residue of the bracket width."""
    fps = orbits1d.fixed_points(map1d.parse_map(f"logistic:{r!r}"), interval=(-1.0, 2.0))
    assert [p.x for p in fps][0] == 0.0
    assert fps[1].x == pytest.approx(1.0 - 1.0 / r, abs=1e-14)


def test_escaping_orbits_are_reported_with_the_start_and_step():
    with pytest.warns(rd.DivergenceWarning, match=r"x0 = 5.*step \d+"):
        out = orbits1d.orbit("quadratic:0.15", 5.0, 30)
    assert not np.isfinite(out[-1])
    with pytest.warns(rd.DivergenceWarning, match=r"1 orbit of 2 .*x0 = 5"):
        orbits1d.cobweb_diagram("quadratic:0.15", [0.5, 5.0], 30)
    with pytest.warns(rd.DivergenceWarning, match=r"parameter = 2"):
        res = orbits1d.bifurcation([0.15, 2.0], x0=0.5, transient=50, keep=3, map="quadratic")
    assert np.isfinite(res.orbits[0]).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        orbits1d.orbit("quadratic:0.15", 0.5, 30)  # a bounded orbit says nothing


def test_an_interval_too_wide_to_sample_is_refused_by_name():
    for call in (lambda: orbits1d.fixed_points("logistic:3.5", (-1e308, 1e308)),
                 lambda: orbits1d.compositions("logistic:3.5", (1,), (-1e308, 1e308)),
                 lambda: orbits1d.cobweb_diagram("logistic:3.5", 0.5, 3, (-1e308, 1e308))):
        with pytest.raises(rd.ValidationError, match=r"^interval: .*finite width"):
            call()
