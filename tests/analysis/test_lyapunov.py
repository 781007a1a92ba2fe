"""Lyapunov spectra (rd.lyapunov_spectrum), general maps (rd.Map) and the LSTM cell."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rnndyn as rd
from rnndyn.backends.drivers import cell_args
from rnndyn.errors import ArgumentTypeError, DivergenceWarning, ValidationError
from rnndyn.kernels import cpu
from rnndyn.kernels import numpy as reference
from tests.strategies import make_cell

# --------------------------------------------------------------------------- classic references


def test_henon_reference_exponents():
    # 0.41922, -1.62319 (Sprott, Chaos and Time-Series Analysis, 2003); four orbits averaged to beat the
    # 1/sqrt(N) noise
    x0 = np.random.default_rng(0).uniform(-0.1, 0.1, (4, 2))
    les = rd.lyapunov_spectrum(rd.systems.henon(1.4, 0.3), x0, steps=250_000, transient=1000)
    mean = les.exponents.mean(axis=0)
    assert abs(mean[0] - 0.41922) < 1e-3
    assert abs(mean[1] - (-1.62319)) < 1e-3
    # det J = -b everywhere: the sum is log b exactly (the QR identity), whatever the orbit
    np.testing.assert_allclose(les.sum, np.log(0.3), atol=1e-9)
    assert np.all(les.error < 5e-3) and np.all(les.error > 0)
    np.testing.assert_allclose(les.kaplan_yorke, 1 + les.exponents[:, 0] / np.abs(les.exponents[:, 1]))


def test_logistic_r4_is_ln2():
    x0 = np.random.default_rng(1).uniform(0.1, 0.9, (4, 1))
    les = rd.lyapunov_spectrum(rd.systems.logistic(4.0), x0, steps=250_000, transient=100)
    assert abs(les.exponents.mean() - np.log(2.0)) < 1e-3


# --------------------------------------------------------------------------- invariants


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 7), seed=st.integers(0, 2**31), steps=st.integers(1, 300))
def test_orthogonal_linear_map_has_zero_exponents(n, seed, steps):
    Q = rd.init.orthogonal(n, rng=seed)
    cell = rd.VanillaRNN(Q, activation="linear")
    les = rd.lyapunov_spectrum(cell, np.ones(n), steps=steps)
    assert np.all(np.abs(les.exponents) <= 1e-10)


@settings(max_examples=10, deadline=None)
@given(d=st.lists(st.floats(0.05, 3.0), min_size=1, max_size=6), signs=st.lists(st.booleans(), min_size=6,
       max_size=6), steps=st.integers(1, 200), every=st.integers(1, 4))
def test_diagonal_linear_map_exponents_are_sorted_log_abs(d, signs, steps, every):
    diag = np.array(d) * np.where(signs[: len(d)], -1.0, 1.0)
    cell = rd.VanillaRNN(np.diag(diag), activation="linear")
    les = rd.lyapunov_spectrum(cell, np.ones(len(d)), steps=steps, reortho_every=every)
    np.testing.assert_allclose(les.exponents, np.sort(np.log(np.abs(diag)))[::-1], atol=1e-12)
    assert np.all(np.diff(les.exponents) <= 0)


def _jacobians(cell, h0, inputs, steps, transient):
    traj = rd.simulate(cell, h0, inputs, steps=None if inputs is not None else transient + steps)
    states = traj.states[transient:-1]
    x = None if inputs is None else inputs[transient:]
    return cell.jacobian(states, x)


def _mean_log_det(cell, h0, inputs, steps, transient):
    return np.mean(np.linalg.slogdet(_jacobians(cell, h0, inputs, steps, transient))[1])


@settings(max_examples=12, deadline=None)
@given(kind=st.sampled_from(["vanilla", "euler", "antisymmetric", "gated"]), n=st.integers(1, 6),
       d=st.integers(0, 2), seed=st.integers(0, 2**31), every=st.integers(1, 3), transient=st.integers(0, 5))
def test_sum_of_exponents_is_mean_log_det(kind, n, d, seed, every, transient):
    rng = np.random.default_rng(seed)
    cell = make_cell(kind, n, d, rng, gamma=0.2, scale=0.8)
    steps = 60
    inputs = rng.normal(size=(transient + steps, d)) if d else None
    h0 = rng.normal(scale=0.5, size=n)
    les = rd.lyapunov_spectrum(cell, h0, inputs, steps=steps, transient=transient, reortho_every=every)
    # Exact in exact arithmetic. In floating point, QR of a product of `every` Jacobians gives
    # log|det| only to about n·eps·κ, κ the product's condition number: with saturated units one
    # window can be far worse conditioned than the mean exponents suggest. Bound by the worst window.
    J = _jacobians(cell, h0, inputs, steps, transient)
    kappa = 1.0
    for t in range(len(J) - every + 1):
        P = np.eye(n)
        for Jt in J[t:t + every]:
            P = Jt @ P
        kappa = max(kappa, np.linalg.cond(P))
    tol = 1e-9 + 20 * n * np.finfo(float).eps * kappa
    assert abs(les.sum - _mean_log_det(cell, h0, inputs, steps, transient)) <= tol


def test_sum_identity_for_the_lstm_map():
    rng = np.random.default_rng(3)
    lstm = rd.LSTM.init(3, d=2, rng=4)
    X = rng.normal(size=(80, 2))
    h0 = rng.normal(scale=0.5, size=6)
    les = rd.lyapunov_spectrum(lstm, h0, X, transient=10)
    m = lstm.as_map()
    traj = rd.simulate(lstm, h0, X)
    J = np.array([m.jacobian(traj.states[t], X[t]) for t in range(10, 80)])
    assert abs(les.sum - np.mean(np.linalg.slogdet(J)[1])) <= 1e-9
    assert les.exponents.shape == (6,)
    assert les.max_exponent < 0  # forget bias 1: the LSTM contracts


def test_top_k_matches_full_spectrum():
    rng = np.random.default_rng(5)
    cell = make_cell("euler", 6, 0, rng, gamma=0.05, scale=1.5)
    h0 = rng.normal(size=6)
    full = rd.lyapunov_spectrum(cell, h0, steps=4000, transient=200)
    for k in (1, 3):
        top = rd.lyapunov_spectrum(cell, h0, steps=4000, transient=200, k=k)
        assert top.exponents.shape == (k,)
        np.testing.assert_allclose(top.exponents, full.exponents[:k], atol=2e-3)
    # a diagonal map whose coordinate axes are invariant: the random start basis still finds the top k
    diag = np.array([0.5, 0.95, 0.1, 0.8])
    les = rd.lyapunov_spectrum(rd.VanillaRNN(np.diag(diag), activation="linear"), np.ones(4), steps=2000, k=2)
    np.testing.assert_allclose(les.exponents, np.log([0.95, 0.8]), atol=2e-3)


def test_antisymmetric_exponents_move_down_with_gamma():
    n, eps = 8, 0.01
    rng = np.random.default_rng(6)
    W = rng.normal(0, 1 / np.sqrt(n), (n, n))
    h0 = rng.normal(scale=0.5, size=n)
    omega = np.abs(np.linalg.eigvals(W - W.T)).max()
    means = {}
    for gamma in (0.0, 0.5, 1.0):
        les = rd.lyapunov_spectrum(rd.AntisymmetricRNN(W, eps=eps, gamma=gamma), h0, steps=3000, transient=100)
        means[gamma] = les.exponents.mean()
        if gamma == 0.0:
            # the critical criterion: every exponent small against the step ε, and their mean
            # (= mean log|det J| / n = ε tr(D (W − Wᵀ)) / n + O(ε²) = O(ε²)) smaller still
            assert np.all(np.abs(les.exponents) < 0.1 * eps)
            assert abs(les.exponents.mean()) <= (eps * omega) ** 2
    for gamma in (0.5, 1.0):
        shift = means[gamma] - means[0.0]
        assert -2 * eps * gamma < shift < -0.3 * eps * gamma


# --------------------------------------------------------------------------- cpu == reference


def _run_kernel(mod, name, pargs, h0, X, k, transient, every, hist, cuts=None):
    B, n = h0.shape
    T = X.shape[1]
    steps = T - transient
    H = -(-steps // every) if hist else 0
    Q = np.array(np.broadcast_to(np.linalg.qr(np.random.default_rng(0).normal(size=(n, k)))[0], (B, n, k)),
                 order="C")
    nblocks = min(5, -(-steps // every))
    state = dict(h=h0.copy(), Q=Q, S=np.zeros((B, k)), blocks=np.zeros((B, nblocks, k)),
                 hist=np.full((B, H, k), np.nan), div=np.full(B, -1))
    edges = list(cuts or []) + [T]
    t0 = 0
    for t1 in edges:
        getattr(mod, name)(state["h"], np.ascontiguousarray(X[:, t0:t1]), *pargs, state["Q"], state["S"], t0,
                           transient, T, every, state["blocks"], state["hist"], state["div"], 2, 64)
        t0 = t1
    return state


@settings(max_examples=15, deadline=None)
@given(kind=st.sampled_from(["vanilla", "euler", "antisymmetric", "gated"]), n=st.integers(1, 6),
       d=st.integers(0, 2), B=st.integers(1, 3), Bi=st.booleans(), seed=st.integers(0, 2**31),
       every=st.integers(1, 3), transient=st.integers(0, 4), kfrac=st.floats(0.1, 1.0))
def test_cell_kernel_matches_reference(kind, n, d, B, Bi, seed, every, transient, kfrac):
    rng = np.random.default_rng(seed)
    cell = make_cell(kind, n, d, rng, gamma=0.2)
    k = max(1, int(round(kfrac * n)))
    T = transient + 20
    # moderate inputs: deep in tanh's saturation tanh' = 1 - y² turns a 1-ulp difference between libm's
    # and NumPy's tanh into a relative error of ulp/(1 - |y|) in log R_jj
    X = 0.3 * rng.normal(size=(B if Bi else 1, T, d))
    h0 = rng.normal(size=(B, n))
    p = tuple(cell_args(cell.kernel_params()))  # the argument types the drivers pass: no second compile
    a = _run_kernel(cpu, "lyapunov", p, h0, X, k, transient, every, True, cuts=[3, 11])
    b = _run_kernel(reference, "lyapunov", p, h0, X, k, transient, every, True)
    for key in ("h", "Q", "S", "blocks", "hist"):
        # the sums of log R_jj of the most contracting directions come from the smallest R_jj, which two
        # different Householder codes (this kernel's, LAPACK's) round apart by more than an ulp: 3.8e-12
        # relative at -101.9 over 20 steps (vanilla, n = 6, seed 89)
        rtol = 1e-11 if key in ("S", "blocks", "hist") else 1e-12
        np.testing.assert_allclose(a[key], b[key], rtol=rtol, atol=1e-12, err_msg=key)
    np.testing.assert_array_equal(a["div"], b["div"])
    ok = a["div"] < 0
    np.testing.assert_allclose(a["blocks"].sum(axis=1)[ok], a["S"][ok], rtol=1e-12, atol=1e-12)


def test_cell_kernel_blas_and_lapack_paths_match_reference():
    rng = np.random.default_rng(7)
    n = 70  # above BLAS_MIN_N and the LAPACK QR threshold
    cell = make_cell("euler", n, 1, rng, gamma=0.1)
    X = rng.normal(size=(1, 12, 1))
    h0 = rng.normal(size=(2, n))
    p = tuple(cell_args(cell.kernel_params()))  # the argument types the drivers pass: no second compile
    a = _run_kernel(cpu, "lyapunov", p, h0, X, n, 2, 2, False)
    b = _run_kernel(reference, "lyapunov", p, h0, X, n, 2, 2, False)
    np.testing.assert_allclose(a["S"], b["S"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(np.abs(a["Q"]), np.abs(b["Q"]), atol=1e-12)


def test_map_kernel_matches_reference():
    m = rd.systems.henon()
    h0 = np.array([[0.1, 0.1], [0.2, -0.1]])
    X = np.zeros((1, 15, 0))  # short: the orbit is chaotic, rounding differences grow like e^{0.42 t}
    pargs = (m.rule, m.jacobian_kernel, np.array(m.params))
    a = _run_kernel(cpu, "map_lyapunov", pargs, h0, X, 2, 3, 2, True)
    b = _run_kernel(reference, "map_lyapunov", pargs, h0, X, 2, 3, 2, True)
    for key in ("h", "Q", "S", "blocks", "hist"):
        np.testing.assert_allclose(a[key], b[key], rtol=1e-12, atol=1e-12, err_msg=key)
    np.testing.assert_allclose(a["blocks"].sum(axis=1), a["S"], rtol=1e-12)


def test_backends_agree_through_the_public_function():
    rng = np.random.default_rng(8)
    cell = make_cell("gated", 5, 2, rng, gamma=0.3)
    X = rng.normal(size=(2, 40, 2))
    h0 = rng.normal(size=(2, 5))
    kw = dict(transient=5, reortho_every=2, return_history=True, k=4)
    a = rd.lyapunov_spectrum(cell, h0, X, backend="cpu", **kw)
    b = rd.lyapunov_spectrum(cell, h0, X, backend="reference", **kw)
    np.testing.assert_allclose(a.exponents, b.exponents, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(a.history, b.history, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(a.error, b.error, rtol=1e-9, atol=1e-12)
    lstm = rd.LSTM.init(2, d=1, rng=0)
    Xl = rng.normal(size=(30, 1))
    a = rd.lyapunov_spectrum(lstm, np.zeros(4), Xl, backend="cpu")
    b = rd.lyapunov_spectrum(lstm, np.zeros(4), Xl, backend="reference")
    np.testing.assert_allclose(a.exponents, b.exponents, rtol=1e-12, atol=1e-13)


# --------------------------------------------------------------------------- the result


def test_result_fields_history_and_progress():
    rng = np.random.default_rng(9)
    cell = make_cell("antisymmetric", 5, 0, rng, gamma=0.1)
    h0 = rng.normal(size=5)
    calls = []
    les = rd.lyapunov_spectrum(cell, h0, steps=103, transient=7, reortho_every=5, return_history=True,
                               progress=lambda done, total: calls.append((done, total)))
    assert les.exponents.shape == (5,) and np.all(np.diff(les.exponents) <= 0)
    assert les.history.shape == (21, 5)
    np.testing.assert_array_equal(les.history_steps, list(range(5, 105, 5))[:20] + [103])
    np.testing.assert_allclose(les.history[-1], les.exponents, rtol=1e-14)
    assert (les.steps, les.transient, les.reortho_every, les.diverged_at) == (103, 7, 5, -1)
    assert calls[-1] == (110, 110) and len(calls) > 10
    plain = rd.lyapunov_spectrum(cell, h0, steps=103, transient=7, reortho_every=5)
    np.testing.assert_array_equal(plain.exponents, les.exponents)  # chunking changes nothing
    assert plain.history is None
    assert isinstance(les.max_exponent, float) and les.max_exponent == les.exponents[0]
    assert les.sum == pytest.approx(les.exponents.sum())
    assert "λ_max" in les.summary()
    # fewer than 4 re-orthonormalisations: no error estimate
    assert np.all(np.isnan(rd.lyapunov_spectrum(cell, h0, steps=4, reortho_every=4).error))


def test_batch_gives_batch_of_spectra():
    rng = np.random.default_rng(10)
    cell = make_cell("euler", 3, 0, rng)
    h0 = rng.normal(size=(4, 3))
    les = rd.lyapunov_spectrum(cell, h0, steps=50)
    assert les.exponents.shape == (4, 3) and les.error.shape == (4, 3)
    assert les.max_exponent.shape == (4,) and les.kaplan_yorke.shape == (4,)
    for b in range(4):
        np.testing.assert_allclose(rd.lyapunov_spectrum(cell, h0[b], steps=50).exponents, les.exponents[b],
                                   rtol=1e-12, atol=1e-14)


def test_kaplan_yorke():
    from rnndyn.analysis.lyapunov import kaplan_yorke

    assert kaplan_yorke([0.4189, -1.6229]) == pytest.approx(1 + 0.4189 / 1.6229)
    assert kaplan_yorke([-0.1, -0.2]) == 0.0
    assert kaplan_yorke([0.1, 0.0]) == 2.0
    assert kaplan_yorke([0.5, 0.2, -1.0, -3.0]) == pytest.approx(2.7)


def test_singular_jacobian_gives_minus_infinity_not_divergence():
    les = rd.lyapunov_spectrum(rd.systems.logistic(4.0), [0.5], steps=10)  # f'(1/2) = 0
    assert les.exponents[0] == -np.inf and les.diverged_at == -1 and les.kaplan_yorke == 0.0


def test_divergence_is_reported():
    cell = rd.VanillaRNN(np.array([[1e3]]), activation="linear")
    with pytest.warns(DivergenceWarning):
        les = rd.lyapunov_spectrum(cell, [1.0], steps=500)
    assert 100 <= les.diverged_at <= 110
    assert np.isnan(les.exponents).all()


@pytest.mark.parametrize("kwargs, match", [
    (dict(steps=None), "steps"),
    (dict(steps=0), "steps"),
    (dict(steps=10, k=3), "k"),
    (dict(steps=10, k=0), "k"),
    (dict(steps=10, transient=-1), "transient"),
    (dict(steps=10, reortho_every=0), "reortho_every"),
    (dict(steps=10, return_history="yes"), "return_history"),
    (dict(steps=10, backend="gpu"), "backend"),
])
def test_bad_arguments(kwargs, match):
    cell = rd.EulerRNN(rd.named_matrix("W0"))
    with pytest.raises(rd.RnndynError, match=match):
        rd.lyapunov_spectrum(cell, [0.1, 0.2], **kwargs)


def test_bad_inputs_with_transient():
    cell = rd.EulerRNN(rd.named_matrix("W0"), V=np.ones((2, 1)))
    with pytest.raises(ValidationError, match="transient"):
        rd.lyapunov_spectrum(cell, [0.1, 0.2], np.ones((5, 1)), transient=5)
    with pytest.raises(ValidationError, match="steps"):
        rd.lyapunov_spectrum(cell, [0.1, 0.2], np.ones((5, 1)), steps=3, transient=1)
    les = rd.lyapunov_spectrum(cell, [0.1, 0.2], np.ones((5, 1)), transient=2)
    assert les.steps == 3
    with pytest.raises(ArgumentTypeError, match="cell"):
        rd.lyapunov_spectrum("henon", [0.1, 0.2], steps=3)


# --------------------------------------------------------------------------- maps


def test_map_simulate_and_tangent_match_direct_iteration():
    m = rd.systems.henon()
    x = np.array([0.1, 0.1])
    states, A = [x], np.eye(2)
    for _ in range(30):
        A = m.jacobian(x) @ A
        x = m.step(x)
        states.append(x)
    traj = rd.simulate(m, [0.1, 0.1], steps=30)
    np.testing.assert_array_equal(traj.states, np.array(states))
    tan = rd.tangent(m, [0.1, 0.1], steps=30, norm="fro")
    np.testing.assert_allclose(tan.jacobian, A, rtol=1e-12)
    np.testing.assert_allclose(tan.norms[-1], np.linalg.norm(A), rtol=1e-12)
    for backend in ("cpu", "reference"):
        t2 = rd.tangent(m, [[0.1, 0.1], [0.0, 0.2]], steps=12, vectors=[1.0, 0.0], backend=backend)
        assert t2.jacobian.shape == (2, 2, 2) and t2.vector_norms.shape == (2, 13)
    r = rd.simulate(m, [[0.1, 0.1], [0.0, 0.2]], steps=12, record=3, backend="reference")
    c = rd.simulate(m, [[0.1, 0.1], [0.0, 0.2]], steps=12, record=3, backend="cpu")
    np.testing.assert_array_equal(r.states, c.states)


# --------------------------------------------------------------------------- LSTM


# --------------------------------------------------------------------------- figures


def test_figures_build_and_show_the_data():
    from matplotlib.figure import Figure

    from rnndyn import figures

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DivergenceWarning)
        fig = figures.get("paper_jacobian_eigenvalues").build(quick=True)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    lines = fig.axes[0].get_lines()
    labels = [ln.get_label() for ln in lines]
    assert sum("AntisymmetricRNN" in lab for lab in labels) == 4 and any("LSTM" in lab for lab in labels)
    lstm_line = next(ln for ln in lines if "LSTM" in ln.get_label())
    small_gamma = next(ln for ln in lines if ln.get_label().endswith("γ = 0"))
    assert lstm_line.get_ydata()[-1] < 0.5 < small_gamma.get_ydata()[-1]
    fig = figures.get("lyapunov_spectrum_gamma").build(quick=True)
    assert len(fig.axes) == 2
    mean_line = next(ln for ln in fig.axes[1].get_lines() if ln.get_label() == r"mean $\lambda$")
    assert np.all(np.diff(mean_line.get_ydata()) < 0)  # diffusion moves the spectrum down


def test_plots_validate_and_draw():
    from rnndyn.plots import lyapunov as P

    cell = rd.EulerRNN(rd.named_matrix("W0"), eps=0.1, gamma=0.15)
    les = rd.lyapunov_spectrum(cell, [0.1, 0.2], steps=200, return_history=True)
    fig = P.plot_lyapunov(les)
    assert len(fig.axes) == 2 and len(fig.axes[1].get_lines()) >= 2
    fig = P.plot_lyapunov_spectra([les, les], labels=["a", "b"])
    np.testing.assert_allclose(fig.axes[0].get_lines()[0].get_ydata(), les.exponents)
    with pytest.raises(ValidationError, match="history"):
        P.plot_lyapunov_convergence(rd.lyapunov_spectrum(cell, [0.1, 0.2], steps=20))
    with pytest.raises(ArgumentTypeError, match="spectra"):
        P.plot_lyapunov_spectra([les, 3])
    with pytest.raises(ValidationError, match="labels"):
        P.plot_lyapunov_spectra([les], labels=["a", "b"])


@pytest.mark.parametrize("e", [1e-170, 1e-200, 1e-300])
def test_contractions_near_the_float64_floor_keep_their_exponents(e):
    # the Householder norms of columns ~1e-170 square below the smallest double: computed from the column
    # scaled by a power of two, the exponents are exact, as the LAPACK reference's are
    W = np.array([[2.0, 0.0, 0.0], [0.0, e, e], [0.0, -e, e]])
    cell = rd.VanillaRNN(W, activation="linear")
    exact = [math.log(2.0), math.log(math.sqrt(2.0) * e), math.log(math.sqrt(2.0) * e)]
    for backend in ("cpu", "reference"):
        les = rd.lyapunov_spectrum(cell, [1.0, 1.0, 1.0], steps=10, backend=backend)
        np.testing.assert_allclose(les.exponents, exact, rtol=1e-13, err_msg=backend)
