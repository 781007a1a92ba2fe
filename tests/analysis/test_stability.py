"""Tests of rnndyn.analysis.stability (spectra, stability verdicts, critical γ, end-to-end Jacobian spectra),
rnndyn.plots.stability and the "stability_region" figure."""

from __future__ import annotations

import doctest
import math

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402

import rnndyn as rd  # noqa: E402
import rnndyn.plots.stability as plots_spectra  # noqa: E402
from rnndyn.analysis import stability as spectra  # noqa: E402
from rnndyn.errors import ArgumentTypeError, RnndynError, ValidationError  # noqa: E402

SETTINGS = settings(deadline=None, max_examples=40)
W0 = rd.named_matrix("W0")


def random_matrix(seed, n, scale=1.0):
    return scale * np.random.default_rng(seed).standard_normal((n, n))


def assert_same_multiset(a, b, atol):
    """Every value of ``a`` pairs with a distinct value of ``b`` within ``atol``."""
    b = list(np.asarray(b, dtype=complex))
    assert len(a) == len(b)
    for z in a:
        d = [abs(z - w) for w in b]
        k = int(np.argmin(d))
        assert d[k] <= atol, (a, b)
        b.pop(k)


# --------------------------------------------------------------------------- the seeds' numbers


def test_wdiff_eigenvalues_exact():
    lam = spectra.eigenvalues(rd.named_matrix("Wdiff"))
    np.testing.assert_allclose(lam, [-0.15 + 2j, -0.15 - 2j], rtol=0, atol=1e-15)
    rep = rd.stability(rd.EulerRNN(W0, eps=0.1, gamma=0.15))
    np.testing.assert_allclose(rep.matrix_eigenvalues, [-0.15 + 2j, -0.15 - 2j], rtol=0, atol=1e-15)
    assert rep.matrix_eigenvalues.real.tolist() == [-0.15, -0.15]  # the critical structure, to the bit


def test_named_spectra():
    phi = (1 + math.sqrt(5)) / 2
    assert spectra.spectral_radius(rd.named_matrix("fibonacci")) == pytest.approx(phi, rel=1e-15)
    np.testing.assert_allclose(spectra.eigenvalues(rd.named_matrix("rotation")), [1j, -1j], atol=0)
    np.testing.assert_allclose(spectra.eigenvalues(rd.named_matrix("W+")), [2, 2], atol=1e-7)
    np.testing.assert_allclose(spectra.eigenvalues(rd.named_matrix("reflection")), [1, -1], atol=1e-15)
    np.testing.assert_allclose(spectra.singular_values(np.diag([3.0, -5.0])), [5, 3])
    np.testing.assert_allclose(spectra.singular_values(np.stack([np.eye(2), 2 * np.eye(2)])), [[1, 1], [2, 2]])


def test_w0_report_numbers():
    rep = rd.stability(rd.EulerRNN(W0, eps=0.1, gamma=0.0))
    assert rep.continuous_stable is True and rep.critical is True
    assert rep.euler_stable is False and rep.discrete_stable is False and rep.stable is False
    assert rep.euler_factor == pytest.approx(math.sqrt(1.04), rel=1e-14)
    assert rep.critical_gamma == pytest.approx((1 - math.sqrt(1 - 0.04)) / 0.1, rel=1e-14)
    np.testing.assert_allclose(rep.jacobian_eigenvalues, [1 + 0.2j, 1 - 0.2j], atol=1e-15)
    rep = rd.stability(rd.EulerRNN(W0, eps=0.1, gamma=0.15))
    assert rep.max_real == -0.15 and rep.continuous_stable and not rep.critical
    assert rep.euler_factor == pytest.approx(abs(1 + 0.1 * (-0.15 + 2j)), rel=1e-14)
    assert not rep.euler_stable
    assert "critical γ = 0.202" in rep.summary and "-0.15 ± 2i" in rep.summary
    rep = rd.stability(rd.EulerRNN(W0, eps=0.1, gamma=0.25))
    assert rep.euler_stable and rep.stable and rep.euler_factor < 1


def test_bare_matrix_and_vanilla():
    rep = rd.stability(W0)
    assert rep.kind == "matrix" and rep.euler_factor is None and rep.euler_stable is None
    assert rep.critical_gamma is None and rep.continuous_stable and rep.critical
    assert rep.spectral_radius == pytest.approx(2.0) and rep.discrete_stable is False
    rep = rd.stability(W0, eps=0.1)
    assert rep.euler_factor == pytest.approx(math.sqrt(1.04))
    assert rep.spectral_radius == pytest.approx(math.sqrt(1.04))
    assert rep.critical_gamma == pytest.approx(rd.analysis.stability.critical_gamma(W0, eps=0.1))
    rep = rd.stability(rd.VanillaRNN(rd.named_matrix("rotation")))
    assert rep.kind == "VanillaRNN" and rep.continuous_stable is None and rep.euler_factor is None
    assert rep.critical is True and rep.discrete_stable is True and rep.stable
    rep = rd.stability(rd.VanillaRNN(rd.named_matrix("W+")))
    assert rep.discrete_stable is False and rep.spectral_radius == pytest.approx(2.0, rel=1e-6)
    # the Jacobian at a state: tanh' < 1 away from the origin
    rep = rd.stability(rd.VanillaRNN(rd.named_matrix("rotation")), h=[0.5, -0.3])
    assert rep.spectral_radius < 1 and rep.state.tolist() == [0.5, -0.3]
    assert "at h" in rep.summary


def test_no_gamma_exists_is_nan_and_explained():
    assert math.isnan(spectra.critical_gamma(W0, eps=1.0))
    rep = rd.stability(rd.EulerRNN(W0, eps=1.0))
    assert math.isnan(rep.critical_gamma)
    assert "no γ exists" in rep.critical_gamma_note and "no γ exists" in rep.summary
    assert "ε ≤ 0.5" in rep.critical_gamma_note


def test_critical_gamma_of_cells():
    W = random_matrix(3, 5)
    A = W - W.T
    cell = rd.AntisymmetricRNN(W, eps=0.05)
    assert spectra.critical_gamma(cell) == pytest.approx(spectra.critical_gamma(A, 0.05), rel=1e-12)
    assert spectra.critical_gamma(cell, eps=0.02) == pytest.approx(spectra.critical_gamma(A, 0.02), rel=1e-12)
    assert spectra.critical_gamma(rd.EulerRNN(W0, eps=0.1, gamma=0.7)) == pytest.approx(0.2020410288672882)
    # a real positive eigenvalue: W+ needs γ = 2 (M = W+ − 2I has eigenvalues 0)
    assert spectra.critical_gamma(rd.named_matrix("W+"), eps=0.1) == pytest.approx(2.0, rel=1e-6)
    # a gate halves the step at the origin (σ(0) = 1/2): the critical γ of ε/2
    gated = rd.AntisymmetricRNN(W, eps=0.05, gated=True)
    assert spectra.critical_gamma(gated) == pytest.approx(spectra.critical_gamma(A, 0.025), rel=1e-12)
    with pytest.raises(ValidationError, match="VanillaRNN"):
        spectra.critical_gamma(rd.VanillaRNN(W0))
    with pytest.raises(ValidationError, match="eps"):
        spectra.critical_gamma(W0)


def test_activation_gain():
    # sigmoid'(0) = 1/4: the linearised step is ε/4·M
    rep = rd.stability(rd.EulerRNN(W0, eps=0.1, activation="sigmoid"))
    np.testing.assert_allclose(rep.ode_eigenvalues, 0.25 * rep.matrix_eigenvalues, atol=1e-15)
    assert rep.euler_factor == pytest.approx(abs(1 + 0.025 * 2j))
    assert rep.critical_gamma == pytest.approx(spectra.critical_gamma(W0, 0.025))


@SETTINGS
@given(st.integers(1, 4), st.integers(0, 2**32 - 1), st.sampled_from(["euler", "antisymmetric", "gated"]))
def test_euler_factor_is_the_origin_map_radius(n, seed, kind):
    # for tanh cells without bias the Euler factor is the spectral radius of the one-step Jacobian at 0
    W = random_matrix(seed, n, 2.0)
    if kind == "euler":
        cell = rd.EulerRNN(W, eps=0.1, gamma=0.1)
    else:
        cell = rd.AntisymmetricRNN(W, eps=0.1, gamma=0.1, gated=kind == "gated")
    rep = rd.stability(cell)
    assert rep.euler_factor == pytest.approx(rep.spectral_radius, rel=1e-12)


# --------------------------------------------------------------------------- invariants (hypothesis)


@SETTINGS
@given(st.integers(1, 9), st.integers(0, 2**32 - 1), st.floats(1e-3, 1e3))
def test_antisymmetric_part_is_purely_imaginary(n, seed, scale):
    W = random_matrix(seed, n, scale)
    lam = spectra.eigenvalues(W - W.T)
    assert np.all(np.abs(lam.real) <= 1e-10 * np.linalg.norm(W, 2))
    # the general LAPACK path agrees with the structured one
    assert_same_multiset(lam, np.linalg.eigvals(W - W.T), 1e-9 * max(1.0, np.linalg.norm(W, 2)))


@SETTINGS
@given(st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_eigenvalues_match_numpy(n, seed):
    W = random_matrix(seed, n)
    lam = spectra.eigenvalues(W)
    ref = np.linalg.eigvals(W)
    assert_same_multiset(lam, ref, 1e-9 * max(1.0, np.abs(ref).max()))
    assert np.all(np.diff(lam.real) <= 1e-12)  # sorted by descending real part


@SETTINGS
@given(st.integers(2, 8), st.integers(0, 2**32 - 1), st.floats(0.01, 0.5), st.floats(0.05, 3.0))
def test_critical_gamma_is_the_boundary(n, seed, eps, scale):
    W = random_matrix(seed, n, scale)
    A = W - W.T
    omega = np.abs(spectra.eigenvalues(A).imag).max()
    assume(eps * omega <= 0.95 and omega > 1e-3)
    gc = spectra.critical_gamma(A, eps)
    assert gc > 0
    I = np.eye(n)
    at = spectra.euler_factor(spectra.eigenvalues(A - gc * I), eps)
    assert at <= 1 + 1e-12
    # Lowering γ by a fraction δ raises |1 + ελ|² by about (εω)²·δ: δ must keep that above rounding.
    delta = max(1e-6, 1e-9 / (eps * omega) ** 2)
    assume(delta < 0.5)
    below = spectra.euler_factor(spectra.eigenvalues(A - gc * (1 - delta) * I), eps)
    assert below > 1
    U = np.triu(A, 1)  # an AntisymmetricRNN whose W − Wᵀ is A
    assert rd.stability(rd.AntisymmetricRNN(U, eps=eps, gamma=gc)).euler_factor <= 1 + 1e-12
    assert rd.stability(rd.AntisymmetricRNN(U, eps=eps, gamma=gc * (1 - delta))).euler_factor > 1
    rep = rd.stability(A - gc * I, eps=eps)
    assert rep.euler_stable and rep.critical_gamma == pytest.approx(0.0, abs=1e-9)


@SETTINGS
@given(st.integers(1, 8), st.integers(0, 2**32 - 1), st.floats(1.01, 10.0))
def test_no_critical_gamma_beyond_the_disk(n, seed, excess):
    W = random_matrix(seed, max(n, 2))
    A = W - W.T
    omega = np.abs(spectra.eigenvalues(A).imag).max()
    assume(omega > 1e-6)
    eps = excess / omega  # ε·ω > 1: the disk is too small for any shift
    assert math.isnan(spectra.critical_gamma(A, eps))


@SETTINGS
@given(st.integers(1, 5), st.integers(0, 2**32 - 1), st.floats(0.05, 0.5), st.floats(0.0, 3.0))
def test_euler_factor_decides_boundedness(n, seed, eps, shift):
    M = random_matrix(seed, n) - shift * np.eye(n)
    ef = spectra.euler_factor(spectra.eigenvalues(M), eps)
    assume(abs(ef - 1) > 0.02)  # away from the boundary, where the answer is decidable in finite time
    step = np.eye(n) + eps * M
    v = np.random.default_rng(seed + 1).standard_normal(n)
    log_norm = 0.0
    for _ in range(3000):
        v = step @ v
        s = np.linalg.norm(v)
        if s == 0:
            log_norm = -np.inf
            break
        log_norm += np.log(s)
        v /= s
    bounded = log_norm < 5.0
    assert bounded == (ef <= 1)


# --------------------------------------------------------------------------- end-to-end Jacobian spectra


def test_jacobian_spectrum_linear_antisymmetric():
    # linear cell: A_T = (I + εA)^T, eigenvalues (1 + iεω)^T, |λ| = (1 + ε²ω²)^(T/2)
    W = rd.init.normal(6, rng=2)
    cell = rd.AntisymmetricRNN(W, eps=0.05, activation="linear")
    T = 40
    spec = rd.jacobian_spectrum(cell, np.zeros(6), steps=T)
    A = cell.recurrent_matrix
    mods = np.sort(np.abs(1 + 0.05 * np.linalg.eigvals(A)) ** T)[::-1]
    np.testing.assert_allclose(np.abs(spec.eigenvalues), mods, rtol=1e-9)
    assert spec.eig_abs_mean == pytest.approx(mods.mean(), rel=1e-9)
    assert spec.eig_abs_std == pytest.approx(mods.std(), rel=1e-7)
    step = np.linalg.matrix_power(np.eye(6) + 0.05 * A, T)
    np.testing.assert_allclose(spec.jacobian, step, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(spec.singular_values, np.linalg.svd(step, compute_uv=False), rtol=1e-9)
    assert spec.sv_mean == pytest.approx(spec.singular_values.mean()) and spec.steps == T


def test_jacobian_spectrum_batch_and_gamma():
    W = rd.init.normal(8, rng=5)
    h0 = np.random.default_rng(0).normal(scale=0.5, size=(3, 8))
    means = []
    for g in (0.0, 0.1, 1.0):
        spec = rd.jacobian_spectrum(rd.AntisymmetricRNN(W, eps=0.1, gamma=g), h0, steps=30)
        assert spec.eigenvalues.shape == (3, 8) and spec.singular_values.shape == (3, 8)
        assert spec.eig_abs_mean.shape == (3,)
        tan = rd.tangent(rd.AntisymmetricRNN(W, eps=0.1, gamma=g), h0[1], steps=30)
        np.testing.assert_allclose(spec.jacobian[1], tan.jacobian, rtol=1e-12, atol=1e-14)
        assert np.all(np.diff(np.abs(spec.eigenvalues), axis=1) <= 1e-12)  # descending modulus
        means.append(spec.eig_abs_mean.mean())
    assert means[0] > means[1] > means[2]  # the diffusion pulls |λ| below 1
    with pytest.raises(RnndynError, match="steps"):
        rd.jacobian_spectrum(rd.AntisymmetricRNN(W), np.zeros(8))


def test_jacobian_spectrum_diverged_is_nan():
    cell = rd.EulerRNN(np.array([[1e200]]), eps=1.0, activation="linear")
    with pytest.warns(rd.DivergenceWarning), np.errstate(over="ignore", invalid="ignore"):
        spec = rd.jacobian_spectrum(cell, [[1.0], [0.0]], steps=5, backend="reference")
    assert np.isnan(spec.eigenvalues[0]).all() and np.isnan(spec.eig_abs_mean[0])
    assert spec.diverged_at[0] >= 0


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("call, match", [
    (lambda: spectra.eigenvalues(np.ones((2, 3))), "M: expected a square"),
    (lambda: spectra.eigenvalues("W0"), "M: expected a real array"),
    (lambda: spectra.eigenvalues([[np.nan, 0], [0, 1]]), "M: expected finite"),
    (lambda: spectra.euler_factor([1j], 0.0), "eps: expected a number > 0"),
    (lambda: spectra.euler_factor([], 0.1), "eigs: expected at least one"),
    (lambda: spectra.euler_factor("x", 0.1), "eigs"),
    (lambda: rd.stability(np.ones((3, 2))), "cell_or_matrix: expected a square"),
    (lambda: rd.stability(W0, eps=-1), "eps: expected a number > 0"),
    (lambda: rd.stability(rd.VanillaRNN(W0), eps=0.1), "eps: a VanillaRNN has no step size"),
    (lambda: rd.stability(rd.EulerRNN(W0), h=[1.0, 2.0, 3.0]), r"h: expected shape \(2,\)"),
    (lambda: rd.stability(W0, tol=-1), "tol"),
])
def test_bad_input(call, match):
    with pytest.raises(RnndynError, match=match):
        call()


def test_lstm_map_and_cell_classes_are_refused_with_a_type_error():
    lstm = rd.LSTM.init(2, rng=0)
    for call, arg in ((lambda s: rd.stability(s), "cell_or_matrix"),
                      (lambda s: spectra.critical_gamma(s, eps=0.1), "M_or_cell")):
        for system in (lstm, rd.systems.henon()):
            with pytest.raises(ArgumentTypeError, match=rf"^{arg}: expected a cell \(VanillaRNN, EulerRNN, "
                                                        r"AntisymmetricRNN\) or a matrix, got .*jacobian_spectrum"):
                call(system)
        with pytest.raises(ArgumentTypeError, match=rf"^{arg}: expected a system instance, got the class EulerRNN"):
            call(rd.EulerRNN)
    # their end-to-end spectra are measured along a trajectory
    spec = rd.jacobian_spectrum(lstm, np.full(4, 0.1), steps=5)
    assert spec.eigenvalues.shape == (4,)


def test_eps_overrides_cell_eps():
    rep = rd.stability(rd.EulerRNN(W0, eps=0.1), eps=0.5)
    assert rep.eps == 0.5 and rep.euler_factor == pytest.approx(abs(1 + 1j))


# --------------------------------------------------------------------------- plots and figure


def w0_reports():
    gc = spectra.critical_gamma(W0, 0.1)
    return [rd.stability(rd.EulerRNN(W0, eps=0.1, gamma=g)) for g in (0.0, 0.15, gc)]


def test_plot_stability_content():
    reps = w0_reports()
    fig = plots_spectra.plot_stability(reps, ["a", "b", "c"], title="t")
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    ax, bx = fig.axes
    circles = [p for p in ax.patches if isinstance(p, Circle)]
    assert any(np.allclose(c.center, (-10, 0)) and c.radius == pytest.approx(10) for c in circles)
    # every eigenvalue is drawn, and the four outside the disk (γ = 0, 0.15) are ringed in red
    pts = {(round(x, 9), round(y, 9)) for line in ax.lines for x, y in zip(*line.get_data())
           if line.get_marker() not in ("None", None, "") and line.get_markerfacecolor() != "none"}
    for r in reps:
        for z in r.ode_eigenvalues:
            assert (round(z.real, 9), round(z.imag, 9)) in pts
    rings = sum(len(line.get_xdata()) for line in ax.lines if line.get_markeredgecolor() == "red")
    assert rings == 4
    # the right panel shows |1 + ελ| per eigenvalue and the limit at 1
    ys = np.concatenate([line.get_ydata() for line in bx.lines if line.get_marker() in ("o", "s", "D")
                         and line.get_markerfacecolor() != "none"])
    np.testing.assert_allclose(np.sort(ys), np.sort(np.concatenate([r.euler_factors for r in reps])))
    assert any(np.allclose(line.get_ydata(), 1.0) for line in bx.lines if line.get_linestyle() == "--")
    assert fig._suptitle.get_text() == "t"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("−0.15 ± 2i" in t for t in legend) and any("centre −1/ε" in t for t in legend)


def test_plot_stability_map_and_errors():
    rep = rd.stability(rd.VanillaRNN(rd.init.normal(5, std=0.6, rng=1)))
    fig = plots_spectra.plot_stability(rep)
    ax = fig.axes[0]
    assert any(isinstance(p, Circle) and p.center == (0.0, 0.0) and p.radius == 1.0 for p in ax.patches)
    assert ax.get_xlabel() == "Re μ"
    with pytest.raises(ArgumentTypeError, match="reports"):
        plots_spectra.plot_stability([1, 2])
    with pytest.raises(ValidationError, match="labels"):
        plots_spectra.plot_stability(w0_reports(), labels=["x"])
    with pytest.raises(ValidationError, match="reports"):
        plots_spectra.plot_stability([])


def test_registered_figure(tmp_path):
    from rnndyn import figures

    spec = figures.get("stability_region")
    assert spec.source == "Chang et al., ICLR 2019, Stability of the forward Euler method"
    fig = spec.build(quick=True)
    assert len(fig.axes) == 2
    legend = " ".join(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert "γ = 0.15" in legend and "critical" in legend
    fig.savefig(tmp_path / "s.png")
    assert (tmp_path / "s.png").stat().st_size > 10_000


@pytest.mark.parametrize("mod", ["rnndyn.analysis.stability", "rnndyn.analysis.fixed_points", "rnndyn.plots.stability"])
def test_doctests(mod):
    import importlib

    m = importlib.import_module(mod)
    res = doctest.testmod(m, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert res.failed == 0 and res.attempted > 0
