import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rnndyn as rd


def test_named_matrices_are_the_seed_matrices():
    assert np.array_equal(rd.named_matrix("W+"), [[2, -2], [0, 2]])
    assert np.array_equal(rd.named_matrix("W-"), [[-2, 2], [0, -2]])
    assert np.array_equal(rd.named_matrix("W0"), [[0, -2], [2, 0]])
    assert np.array_equal(rd.named_matrix("Wdiff"), [[-0.15, -2], [2, -0.15]])
    assert np.array_equal(rd.named_matrix("fibonacci"), [[1, 1], [1, 0]])
    for name in rd.NAMED_MATRICES:
        M = rd.named_matrix(name)
        assert M.shape == (2, 2) and M.dtype == np.float64


def test_named_matrix_returns_fresh_copies():
    a = rd.named_matrix("W0")
    a[0, 0] = 99
    assert rd.named_matrix("W0")[0, 0] == 0


def test_unknown_name_lists_valid_names():
    with pytest.raises(rd.RnndynError, match="Wdiff"):
        rd.named_matrix("W1")


def test_wdiff_eigenvalues_exact():
    lam = np.linalg.eigvals(rd.named_matrix("Wdiff"))
    lam = lam[np.argsort(lam.imag)]
    assert np.allclose(lam, [-0.15 - 2j, -0.15 + 2j], atol=1e-15, rtol=0)


def test_fibonacci_golden_ratio_and_powers():
    F = rd.named_matrix("fibonacci")
    lam = np.linalg.eigvals(F)
    assert np.isclose(lam.max(), (1 + 5**0.5) / 2, rtol=1e-15)
    fib = [0, 1]
    for _ in range(40):
        fib.append(fib[-1] + fib[-2])
    P = np.eye(2)
    for k in range(1, 40):
        P = P @ F
        # F^k = [[F_{k+1}, F_k], [F_k, F_{k-1}]]
        assert np.array_equal(P, [[fib[k + 1], fib[k]], [fib[k], fib[k - 1]]])
    # The Smerity post: 13 * 1.618^i rounds to the next Fibonacci numbers.
    phi = (1 + 5**0.5) / 2
    assert [round(13 * phi**i) for i in range(5)] == [13, 21, 34, 55, 89]


def test_rotation_and_reflection_are_orthogonal():
    for name in ("rotation", "reflection", "identity"):
        Q = rd.named_matrix(name)
        assert np.allclose(Q.T @ Q, np.eye(2))
    lam = np.linalg.eigvals(rd.named_matrix("rotation"))
    assert np.allclose(sorted(lam, key=lambda z: z.imag), [-1j, 1j])


@given(st.integers(1, 40), st.integers(0, 2**31), st.sampled_from(["qr", "svd"]), st.floats(0.1, 3))
def test_orthogonal_init(n, seed, method, gain):
    Q = rd.init.orthogonal(n, gain=gain, rng=seed, method=method)
    assert np.allclose(Q.T @ Q, gain**2 * np.eye(n), atol=1e-12 * gain**2 * n)
    # ‖Qᵗ v‖ = gainᵗ ‖v‖
    v = np.random.default_rng(seed).normal(size=n)
    w = v.copy()
    for _ in range(20):
        w = (Q / gain) @ w
    assert np.isclose(np.linalg.norm(w), np.linalg.norm(v), rtol=1e-12)


def test_orthogonal_is_haar_mean_trace():
    # For Haar Q, E[tr Q] = 0 and E[tr(Q)^2] = 1 (Diaconis-Shahshahani); QR without the
    # sign fix is biased. 2000 draws of n = 5 give a standard error of about 0.03.
    g = np.random.default_rng(1)
    traces = np.array([np.trace(rd.init.orthogonal(5, rng=g)) for _ in range(2000)])
    assert abs(traces.mean()) < 0.12
    assert abs((traces**2).mean() - 1) < 0.2


def test_rng_reproducible():
    assert np.array_equal(rd.init.normal(4, 0.5, rng=3), rd.init.normal(4, 0.5, rng=np.random.default_rng(3)))


@given(st.integers(1, 30), st.integers(0, 2**31))
def test_antisymmetric_init_eigenvalues_imaginary(n, seed):
    A = rd.init.antisymmetric(n, std=1.0, rng=seed)
    assert np.array_equal(A, -A.T)
    assert np.all(np.diag(A) == 0)
    lam = np.linalg.eigvals(A)
    assert np.max(np.abs(lam.real)) <= 1e-10 * max(1.0, np.linalg.norm(A))


def test_xavier_variances():
    n_in, n_out = 300, 100
    W = rd.init.xavier_normal(n_in, n_out, rng=0)
    assert W.shape == (n_out, n_in)
    assert np.isclose(W.var(), 2 / (n_in + n_out), rtol=0.05)
    U = rd.init.xavier_uniform(n_in, n_out, rng=0)
    assert np.isclose(U.var(), 2 / (n_in + n_out), rtol=0.05)
    assert np.abs(U).max() <= np.sqrt(6 / (n_in + n_out))


@pytest.mark.parametrize("spec", ["orthogonal", "identity", "normal:std=0.5", "normal:gain=1.5", "uniform:scale=0.1",
                                  "uniform:gain=1", "xavier", "xavier_normal:gain=2", "xavier_uniform",
                                  "antisymmetric:std=1.0", "antisymmetric:gain=0.5", "orthogonal:gain=1.1",
                                  "identity:gain=0.3", " Normal : std = 0.5 "])
def test_from_spec(spec):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the documented forms never warn
        M = rd.init.from_spec(spec, 6, rng=0)
    assert M.shape == (6, 6) and np.all(np.isfinite(M))


@pytest.mark.parametrize("spec", ["nope", "normal:abc", "", 3, "normal:std", "normal:std=", "normal:=1",
                                  "orthogonal:std=1", "identity:scale=2", "normal:sigma=1", "normal:std=-1",
                                  "normal:gain=nan", "uniform:scale=inf", "normal:std=1:gain=2",
                                  "normal:std=1,gain=2", None, "orthogonal:gain=1e400"])
def test_from_spec_errors(spec):
    with pytest.raises(rd.RnndynError, match="init") as info:
        rd.init.from_spec(spec, 3)
    assert "NAME[:KEY=VALUE]" in str(info.value)  # every refusal states the grammar
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- the init-spec grammar

_NAMES = sorted(rd.init.INIT_KEYS)
_VALUES = st.floats(0.0, 1e6, allow_nan=False, allow_infinity=False)


@st.composite
def init_specs(draw):
    name = draw(st.sampled_from(_NAMES))
    key = draw(st.sampled_from(rd.init.INIT_KEYS[name]))
    return rd.init.InitSpec(name, key, draw(_VALUES))


@given(init_specs())
def test_spec_round_trip(spec):
    text = str(spec)
    assert rd.init.parse_init_spec(text) == spec
    assert str(rd.init.parse_init_spec(text)) == text  # canonical text is a fixed point
    if ":" not in text:
        assert spec.key == "gain" and spec.value == 1.0 and spec.name not in ("uniform", "antisymmetric")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # canonical text never takes the deprecated path, in either reading
        assert rd.init.parse_init_spec(text, bare_number="gain") == spec == rd.init.parse_init_spec(text)


@given(init_specs(), st.sampled_from(["", " ", "  "]), st.booleans())
def test_spec_whitespace_and_case_do_not_matter(spec, pad, upper):
    text = str(spec)
    if upper:
        text = text.upper().replace("E+", "e+").replace("E-", "e-")
    name, colon, param = text.partition(":")
    key, eq, value = param.partition("=")
    padded = f"{pad}{name}{pad}{colon}{pad}{key}{pad}{eq}{pad}{value}{pad}"
    assert rd.init.parse_init_spec(padded) == spec


_JUNK = st.one_of(
    st.text(max_size=30).filter(lambda t: t.strip().lower().partition(":")[0].strip() not in rd.init.INIT_NAMES),
    st.builds(lambda n, k: f"{n}:{k}=1", st.sampled_from(_NAMES), st.text(min_size=1, max_size=8).filter(
        lambda k: k.strip().lower() not in ("gain", "std", "scale") and "=" not in k)),
    st.builds(lambda n, v: f"{n}:std={v}", st.sampled_from(["normal", "antisymmetric"]),
              st.text(max_size=8).filter(lambda v: not _is_number(v))),
    st.builds(lambda n, v: f"{n}:gain={v!r}", st.sampled_from(_NAMES),
              st.one_of(st.floats(max_value=-1e-300), st.just(float("inf")), st.just(float("nan")))),
    st.one_of(st.none(), st.integers(), st.floats(), st.lists(st.integers())),
)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


@given(_JUNK)
def test_parser_refuses_junk_with_the_grammar(junk):
    with pytest.raises(rd.RnndynError) as info:
        rd.init.parse_init_spec(junk)
    message = str(info.value)
    assert message.startswith("init: ") and rd.init.INIT_SPEC_GRAMMAR in message


@given(st.sampled_from(_NAMES), st.floats(0.01, 10), st.integers(1, 12), st.integers(0, 2**16))
def test_gain_means_the_same_matrix_as_the_parameter_it_stands_for(name, gain, n, seed):
    """gain=G is a documented shorthand: std = G/√n (normal), G/(2√n) (antisymmetric), scale = G·√(3/n) (uniform)."""
    by_gain = rd.init.from_spec(f"{name}:gain={gain!r}", n, rng=seed)
    own = {"normal": ("std", gain / np.sqrt(n)), "antisymmetric": ("std", gain / (2 * np.sqrt(n))),
           "uniform": ("scale", gain * np.sqrt(3.0 / n))}
    if name in own:
        key, value = own[name][0], float(own[name][1])
        np.testing.assert_allclose(by_gain, rd.init.from_spec(f"{name}:{key}={value!r}", n, rng=seed), rtol=1e-14)
    np.testing.assert_array_equal(rd.init.from_spec(name, n, rng=seed) if name not in ("uniform", "antisymmetric")
                                  else rd.init.from_spec(f"{name}:gain=1", n, rng=seed),
                                  rd.init.from_spec(f"{name}:gain=1.0", n, rng=seed))


def test_gain_is_the_spectral_radius_for_every_initialiser():
    n = 200
    for name in _NAMES:
        W = rd.init.from_spec(f"{name}:gain=0.7", n, rng=1)
        rho = np.max(np.abs(np.linalg.eigvals(W)))
        assert abs(rho - 0.7) < 0.1, (name, rho)


@pytest.mark.parametrize("spec, meaning, same_as", [
    ("normal:0.5", "std=0.5, the standard deviation", "normal:std=0.5"),
    ("uniform:0.1", "scale=0.1, the half-width", "uniform:scale=0.1"),
    ("antisymmetric:1.0", "std=1, the standard deviation", "antisymmetric:std=1.0"),
    ("orthogonal:1.1", "gain=1.1, the gain", "orthogonal:gain=1.1"),
    ("xavier:2", "gain=2, the gain", "xavier_normal:gain=2"),
    ("uniform", "scale=1", "uniform:scale=1"),
    ("antisymmetric", "std=1", "antisymmetric:std=1"),
])
def test_from_spec_keeps_the_old_bare_forms_with_a_warning_saying_what_they_mean(spec, meaning, same_as):
    with pytest.warns(DeprecationWarning, match="deprecated") as record:
        M = rd.init.from_spec(spec, 5, rng=2)
    assert meaning in str(record[0].message) and f"write {same_as.split(':')[0]}" not in str(record[0].message)
    np.testing.assert_array_equal(M, rd.init.from_spec(same_as, 5, rng=2))


def test_bare_number_as_a_gain_where_it_always_was_one():
    with pytest.warns(DeprecationWarning, match=r"gain=0\.5, the gain \(spectral radius\): write 'normal:gain=0\.5'"):
        W = rd.init.from_spec("normal:0.5", 9, rng=3, bare_number="gain")
    np.testing.assert_array_equal(W, rd.init.from_spec("normal:gain=0.5", 9, rng=3))
    with pytest.raises(rd.RnndynError, match="bare_number"):
        rd.init.from_spec("normal", 3, bare_number="std")


def test_init_spec_dataclass_validates():
    assert rd.init.InitSpec("xavier") == rd.init.InitSpec("xavier_normal", "gain", 1.0)
    for bad in (("nope",), ("normal", "scale", 1.0), ("normal", "std", -1.0), ("normal", "std", "1")):
        with pytest.raises(rd.RnndynError, match="NAME\\[:KEY=VALUE\\]"):
            rd.init.InitSpec(*bad)


def test_init_argument_errors():
    with pytest.raises(rd.RnndynError, match="n"):
        rd.init.orthogonal(0)
    with pytest.raises(rd.RnndynError, match="rng"):
        rd.init.orthogonal(3, rng="seed")
    with pytest.raises(rd.RnndynError, match="std"):
        rd.init.normal(3, std=-1)


@pytest.mark.parametrize("make", [lambda: rd.init.orthogonal(10**6), lambda: rd.init.normal(10**5, m=10**5),
                                  lambda: rd.init.xavier_uniform(10**6, 10**5), lambda: rd.init.antisymmetric(10**6)])
def test_initialisers_refuse_huge_sizes_before_allocating(make):
    with pytest.raises(rd.MemoryLimitError, match="GiB"):
        make()


def test_gradient_norms_and_phase_portrait_argument_types():
    with pytest.raises(rd.RnndynError, match="inits"):
        rd.gradient_norms(inits=1.0, size=4, steps=3)
    with pytest.raises(rd.RnndynError, match="fixed_points"):
        rd.phase_portrait(rd.EulerRNN(rd.named_matrix("W0")), steps=3, grid=3, fixed_points=np.zeros(2))


# --------------------------------------------------------------------------- cost of the orthogonal init and of ρ


@pytest.mark.parametrize("n, seed", [(1, 0), (7, 3), (64, 11), (300, 5)])
def test_orthogonal_is_the_sign_fixed_qr_of_the_seeded_draw(n, seed):
    """The initialiser is exactly one QR of the seeded Gaussian draw with R's signs moved into Q (Mezzadri 2007):
    nothing slower, and the same matrix for the same seed whatever makes it fast."""
    a = np.random.default_rng(seed).standard_normal((n, n))
    q, r = np.linalg.qr(a)
    expected = q * np.where(np.diag(r) < 0, -1.0, 1.0)
    np.testing.assert_allclose(rd.init.orthogonal(n, gain=1.3, rng=seed), 1.3 * expected, rtol=0, atol=1e-12)


def _dense_radius(M):
    return float(np.max(np.abs(np.linalg.eigvals(M))))


def _rotation_blocks(n, seed, scale=1.0):
    """A real matrix whose eigenvalues are complex pairs r_k e^{±iθ_k}, the largest pair unique, hidden by a
    random orthogonal change of basis."""
    g = np.random.default_rng(seed)
    D = np.zeros((n, n))
    for k in range(0, n - 1, 2):
        r, th = scale * (1.0 - k / n), g.uniform(0.1, 3.0)
        D[k:k + 2, k:k + 2] = r * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    if n % 2:
        D[-1, -1] = 0.1
    Q = rd.init.orthogonal(n, rng=seed + 1)
    return Q @ D @ Q.T


@pytest.mark.parametrize("make", [
    lambda: rd.init.orthogonal(200, rng=0),
    lambda: rd.init.orthogonal(257, gain=0.7, rng=1),
    lambda: 2.5 * rd.init.orthogonal(3, rng=2),
    lambda: rd.named_matrix("W0"),  # a scaled rotation: the pair ±2i
    lambda: rd.named_matrix("rotation"),
    lambda: np.triu(np.random.default_rng(3).normal(size=(150, 150))),
    lambda: np.tril(np.random.default_rng(4).normal(size=(150, 150))),
    lambda: np.diag(np.random.default_rng(5).normal(size=90)),
    lambda: rd.init.identity(128, gain=1.1),
    lambda: np.random.default_rng(6).normal(size=(200, 200)) / np.sqrt(200),
    lambda: 3 * np.random.default_rng(7).normal(size=(300, 300)) / np.sqrt(300),
    lambda: _rotation_blocks(120, 8),
    lambda: _rotation_blocks(121, 9, scale=2.0),
    lambda: rd.init.orthogonal(100, rng=10) + 1e-6 * np.random.default_rng(11).normal(size=(100, 100)),
    lambda: rd.named_matrix("fibonacci"),
    lambda: np.zeros((5, 5)),
])
def test_spectral_radius_equals_the_dense_one(make):
    M = make()
    rho, dense = rd.analysis.stability.spectral_radius(M), _dense_radius(M)
    assert abs(rho - dense) <= 1e-10 * max(dense, 1e-300), (rho, dense)


@pytest.mark.parametrize("make", [
    lambda: rd.init.orthogonal(300, gain=1.2, rng=0),
    lambda: np.triu(np.random.default_rng(1).normal(size=(300, 300))),
    lambda: rd.init.identity(300),
])
def test_spectral_radius_of_structured_matrices_needs_no_eigensolver(monkeypatch, make):
    """ρ of an orthogonal (times a gain), triangular or diagonal M follows from its structure: the O(n³) eigenvalue
    solver, seconds at n = 1024, is not called (gradient_norms asks for ρ of every line's matrix)."""
    import scipy.linalg

    def refuse(*a, **k):
        raise AssertionError("an eigensolver was called")

    M = make()
    expected = _dense_radius(M)
    for mod, name in ((scipy.linalg, "eigvals"), (scipy.linalg, "eigvalsh"), (np.linalg, "eigvals")):
        monkeypatch.setattr(mod, name, refuse)
    assert abs(rd.analysis.stability.spectral_radius(M) - expected) <= 1e-10 * expected

