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


@pytest.mark.parametrize("spec", ["orthogonal", "identity", "normal:0.5", "uniform:0.1", "xavier",
                                  "xavier_uniform", "antisymmetric:1.0", "orthogonal:1.1"])
def test_from_spec(spec):
    M = rd.init.from_spec(spec, 6, rng=0)
    assert M.shape == (6, 6) and np.all(np.isfinite(M))


@pytest.mark.parametrize("spec", ["nope", "normal:abc", "", 3])
def test_from_spec_errors(spec):
    with pytest.raises(rd.RnndynError, match="init"):
        rd.init.from_spec(spec, 3)


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
