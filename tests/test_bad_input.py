"""Bad input to helpers and constructors: a typed rnndyn error naming the argument, never a raw NumPy/LAPACK one."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import rnndyn as rd
from rnndyn.analysis import growth, phase
from rnndyn.analysis.lyapunov import kaplan_yorke
from rnndyn.errors import ArgumentTypeError, RnndynError, ValidationError
from rnndyn.formatting import format_eigenvalues
from rnndyn.systems.maps import henon


@pytest.mark.parametrize("make, names", [
    (lambda: rd.EulerRNN([[-1e308, 0], [0, 0]], gamma=1e308), "W, gamma"),
    (lambda: rd.AntisymmetricRNN([[0, 1e308], [-1e308, 0]]), "W"),
    (lambda: rd.AntisymmetricRNN([[1e308, 1e308], [-1e308, 0]], gamma=1e308), "W, gamma"),
])
def test_overflowing_effective_matrix_is_refused_by_the_cell(make, names):
    with pytest.raises(ValidationError, match=f"^{names}: the cell's matrix .* overflows"):
        make()


def test_largest_representable_cells_still_work():
    cell = rd.EulerRNN([[-1e307, 0], [0, 0]], gamma=1e307)
    rep = rd.stability(cell)
    assert np.isfinite(rep.max_real)


@pytest.mark.parametrize("call, exc, name", [
    (lambda: rd.analysis.stability.euler_factor([[1, 2], [3]], 0.1), ValidationError, "eigs"),
    (lambda: rd.analysis.stability.euler_factor("ab", 0.1), ArgumentTypeError, "eigs"),
    (lambda: format_eigenvalues("ab"), ArgumentTypeError, "eigs"),
    (lambda: format_eigenvalues(None), ArgumentTypeError, "eigs"),
    (lambda: format_eigenvalues([[1, 2], [3]]), ValidationError, "eigs"),
    (lambda: rd.EulerRNN(np.eye(2)).replace(bogus=1), ValidationError, "bogus"),
    (lambda: rd.simulate(rd.EulerRNN(np.eye(2)), [[0, 0], [1]], steps=1), ValidationError, "h0"),
    (lambda: rd.lyapunov_spectrum(henon(), [0.1, 0.1], steps=100, progress=5), ArgumentTypeError, "progress"),
    (lambda: kaplan_yorke("ab"), ArgumentTypeError, "exponents"),
    (lambda: rd.bptt(rd.VanillaRNN(np.eye(2) * 0.5), [[0.1, 0.2], [0.1, 0.2]], steps=2, loss="readout",
                     readout=(np.eye(2), np.zeros(2)), targets=[[1, 2], [3]]), ValidationError, "targets"),
])
def test_helpers_refuse_bad_arguments_by_name(call, exc, name):
    with pytest.raises(exc) as info:
        call()
    assert isinstance(info.value, RnndynError)
    assert str(info.value).startswith(f"{name}:"), str(info.value)


def test_format_eigenvalues_shows_nonfinite_values_as_such():
    assert format_eigenvalues([np.inf, 1.0]) == "inf, 1"


# --------------------------------------------------------------------------- sizes refused before allocation

_HUGE = [
    ("random_inits", lambda: phase.random_inits(10**10)),
    ("scalar_products", lambda: growth.scalar_products(np.ones(10**5), steps=10**6)),
    ("power_snapshots", lambda: growth.power_snapshots(np.eye(64), times=np.full(500_000, 3))),
    ("tanh_cliff", lambda: growth.tanh_cliff(np.ones(1000), steps=np.full(2_000_000, 3))),
    ("gaussian_product", lambda: growth.gaussian_product(10**5, 512)),
    ("fixed_points", lambda: rd.fixed_points(rd.VanillaRNN(2 * np.eye(2)), n_starts=10**10)),
    ("orthogonal", lambda: rd.init.orthogonal(20_000)),
]


@pytest.mark.parametrize("call", [c for _, c in _HUGE], ids=[n for n, _ in _HUGE])
def test_oversized_requests_are_refused_before_allocating(call):
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(rd.MemoryLimitError):
            call()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, peak


def test_random_inits_box_must_be_two_ranges():
    with pytest.raises(ArgumentTypeError, match="^box:"):
        phase.random_inits(3, box=5)


def test_jacobian_spectrum_statistics_of_a_finite_huge_spectrum_are_finite():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = rd.jacobian_spectrum(rd.VanillaRNN(1e3 * np.eye(2), activation="relu"), [0.3, -0.2], steps=60)
    assert int(r.diverged_at) == -1
    for v in (r.eig_abs_mean, r.eig_abs_std, r.sv_mean, r.sv_std):
        assert np.isfinite(v) and v == pytest.approx(0.5e180, rel=1e-12)


# --------------------------------------------------------------------------- gradients: overflow reported, never zeroed


def test_clipping_a_finite_huge_gradient_keeps_its_direction():
    """A finite dW = 1e160 has a finite norm; clipping by an overflowed one used to return 0."""
    import dataclasses

    g = rd.bptt(rd.VanillaRNN(np.eye(2) * 0.5), [0.1, 0.2], steps=2)
    big = dataclasses.replace(g, dW=np.array([[1e160, -2e160], [0.0, 3e160]]))
    for clip in (rd.clip_by_norm, rd.clip_by_global_norm):
        out = clip(big, 1.0)
        assert np.isfinite(out.dW).all()
        assert np.linalg.norm(out.dW) == pytest.approx(1.0, rel=1e-12)
        np.testing.assert_allclose(out.dW * 1e160 * np.sqrt(14), big.dW, rtol=1e-12)


def test_clipping_refuses_bad_fields_and_leaves_nonfinite_gradients_with_a_warning():
    import dataclasses

    g = rd.bptt(rd.VanillaRNN(np.eye(2) * 0.5), [0.1, 0.2], steps=2)
    for fields in (123, object()):
        with pytest.raises(ArgumentTypeError, match="^fields:"):
            rd.clip_by_norm(g, 1.0, fields=fields)
    bad = dataclasses.replace(g, dW=np.array([[np.inf, 0.0], [0.0, 1.0]]))
    for clip in (rd.clip_by_norm, rd.clip_by_global_norm):
        with pytest.warns(rd.DivergenceWarning, match="left unclipped"):
            out = clip(bad, 1.0)
        assert out.dW[0, 0] == np.inf


@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_backward_overflow_is_reported_per_trajectory(backend):
    """Trajectory 0 stays finite forward but its adjoint overflows; another trajectory diverging forward
    must not hide that."""
    import warnings

    cell = rd.VanillaRNN(1e3 * np.eye(2), activation="relu")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g = rd.bptt(cell, [[0.3, -0.2], [1e306, 1e306]], steps=60, loss="sum", backend=backend)
    assert g.diverged_at.tolist() == [-1, 1]
    msgs = [str(w.message) for w in caught if issubclass(w.category, rd.DivergenceWarning)]
    assert any("trajectory 0" in m and "forward pass stayed finite" in m for m in msgs), msgs
    assert not [w for w in caught if not issubclass(w.category, rd.DivergenceWarning)]  # no raw numpy warnings


@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_delta_norms_are_scaled(backend):
    """‖∂L/∂h_t‖ of 1e180 is representable; its sum of squares is not."""
    g = rd.bptt(rd.VanillaRNN(1e3 * np.eye(2), activation="relu"), [0.3, -0.2], steps=60, loss="sum",
                backend=backend)
    assert g.delta_norms[60] == pytest.approx(0.3e180, rel=1e-12)
    assert g.global_delta_norms[60] == pytest.approx(0.3e180, rel=1e-12)


def test_gradient_norms_refuses_huge_requests_before_allocating():
    import tracemalloc

    tracemalloc.start()
    try:
        with pytest.raises(rd.MemoryLimitError):
            rd.gradient_norms(steps=100_000_000)
        assert tracemalloc.get_traced_memory()[1] < 64 * 2**20
    finally:
        tracemalloc.stop()


def test_reference_backend_keeps_numpy_warnings_to_itself():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", rd.DivergenceWarning)
        rd.simulate(rd.EulerRNN([[0.0]]), [-1e200], steps=1, backend="reference")
        rd.tangent(rd.EulerRNN([[0.0]]), [-1e200], steps=1, backend="reference")


def test_a_map_without_inputs_takes_an_empty_input():
    np.testing.assert_array_equal(henon().step([0.1, 0.1], np.zeros(0)), henon().step([0.1, 0.1]))


def test_stability_of_a_cell_with_entries_near_the_float_range_warns_nothing():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        rep = rd.stability(rd.VanillaRNN(np.full((2, 2), 1e308), activation="relu"))
    assert np.isfinite(rep.spectral_radius)


# --------------------------------------------------------------------------- user map rules


def test_a_rule_writing_out_of_bounds_for_some_states_is_caught_by_the_probes():
    def rule(x, u, p, out):
        out[0 if x[0] >= 0 else 5] = 0.5 * x[0]  # out of range for negative states only

    def jac(x, u, p, out):
        out[0, 0] = 0.5

    with pytest.raises(ValidationError, match=r"^rule: failed on the test state .*out of bounds"):
        rd.Map(rule, jac, dim=1)


def test_a_rule_raising_while_the_kernels_run_is_named():
    def rule(x, u, p, out):
        if x[0] > 5:
            raise ValueError("outside the domain")
        out[0] = 2 * x[0]

    def jac(x, u, p, out):
        out[0, 0] = 2.0

    m = rd.Map(rule, jac, dim=1)
    for call in (lambda: rd.simulate(m, [1.0], steps=10), lambda: rd.tangent(m, [1.0], steps=10),
                 lambda: rd.lyapunov_spectrum(m, [1.0], steps=10)):
        with pytest.raises(ValidationError, match=r"^rule: .*raised an exception.*outside the domain"):
            call()


# --------------------------------------------------------------------------- values at the edge of float64


@pytest.mark.parametrize("make", [
    lambda: rd.AntisymmetricRNN([[-1.0, 2.6e73], [1e-300, -3e16]], eps=9.7e299, gamma=2.0, activation="linear"),
    lambda: rd.EulerRNN(np.eye(2) * 1e308, eps=2.0),
    lambda: rd.AntisymmetricRNN([[0.0, 1e200], [0.0, 0.0]], eps=1e120, gated=True),
])
def test_a_cell_whose_one_step_jacobian_overflows_is_refused_by_name(make):
    with pytest.raises(ValidationError, match=r"^eps, W(, gamma)?: the one-step Jacobian .* overflows"):
        make()


def test_a_cell_whose_jacobian_is_representable_is_kept():
    cell = rd.EulerRNN(np.eye(2) * 1e308, eps=1.0)  # ε·max|M| = 1e308: every Jacobian entry is finite
    assert np.isfinite(cell.jacobian(np.zeros(2))).all()


def test_stability_of_a_matrix_whose_euler_step_overflows_names_eps():
    with pytest.raises(ValidationError, match=r"^eps, cell_or_matrix: I \+ ε·M overflows"):
        rd.stability(np.eye(2) * 5e16, eps=3.7e299)


def test_critical_gamma_of_a_subnormal_step_is_quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert rd.analysis.stability.critical_gamma(rd.EulerRNN(np.zeros((2, 2)), eps=5e-324)) == 0.0


@pytest.mark.parametrize("backend", ["reference", "cpu"])
def test_a_loss_that_overflows_on_finite_states_is_reported(backend):
    cell = rd.VanillaRNN(np.eye(2), activation="linear")
    with pytest.warns(rd.DivergenceWarning, match="the loss overflowed although the states stayed finite"):
        g = rd.bptt(cell, [1e200, 1e200], steps=3, loss="sum", backend=backend)
    assert g.diverged_at == -1 and np.isfinite(g.final).all() and not np.isfinite(g.loss)


def test_gradient_sums_that_overflow_are_reported():
    # every ∂L/∂h_t and the loss are finite; the sum over the batch of the weight gradients is not
    cell = rd.VanillaRNN(np.eye(2), activation="linear")
    h0 = np.array([[1e154, 0.0]] * 3)  # each loss 5e307, the summed dW[0, 0] 3e308
    with pytest.warns(rd.DivergenceWarning, match=r"^dW(, dgamma)? overflowed when summed"):
        g = rd.bptt(cell, h0, steps=1, loss="last", backend="reference")
    assert np.isfinite(g.losses).all() and not np.isfinite(g.dW).all()


def test_a_swept_parameter_of_the_tanh_cliff_is_none_not_nan():
    cliff = rd.analysis.growth.tanh_cliff(np.array([0.0, 1.0]), param="b", steps=(1, 3))
    assert cliff.b is None and cliff.w == 3.0
    cliff = rd.analysis.growth.tanh_cliff(np.array([0.0, 1.0]), param="w", steps=(1, 3))
    assert cliff.w is None and cliff.b == 0.0


def test_load_matrix_errors_name_its_argument(tmp_path):
    (tmp_path / "m.npy").write_bytes(b"")
    for spec in ("no_such_matrix", str(tmp_path / "absent.npy"), np.ones((2, 3))):
        with pytest.raises(rd.RnndynError, match=r"^spec: "):
            rd.load_matrix(spec)


def test_a_portrait_of_states_at_the_float64_limit_has_a_finite_window():
    cell = rd.EulerRNN([[-1.6e16, -548.0], [-1.6e16, 5.9e16]], eps=1.2e7, gamma=1e150)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        p = rd.phase_portrait(cell, np.array([[-1.7976931348623157e308, 1e150], [-1e-300, -2.4e15]]), steps=3,
                              grid=4)
    assert np.isfinite(p.xlim).all() and np.isfinite(p.ylim).all() and p.xlim[0] < p.xlim[1]
