"""The ``error`` of rd.lyapunov_spectrum against known answers, and the documented starting basis."""

from __future__ import annotations

import re

import numpy as np
import pytest

import rnndyn as rd
from rnndyn.analysis.lyapunov import ERROR_BLOCKS, _initial_basis

HENON = (0.41922, -1.62319)  # Sprott, Chaos and Time-Series Analysis (2003)


def _antisymmetric_at_rest(n, seed):
    """An antisymmetric cell at its fixed point h = 0 (no input): J = I + εM, λ = log|eig(I + εM)|."""
    rng = np.random.default_rng(1000 * n + seed)
    W = rng.normal(size=(n, n)) / np.sqrt(n)
    eps, gamma = 0.1, float(rng.uniform(0.0, 0.3))
    M = W - W.T - gamma * np.eye(n)
    return rd.AntisymmetricRNN(W, eps=eps, gamma=gamma), np.log(np.abs(np.linalg.eigvals(np.eye(n) + eps * M)))


def _linear(n, seed):
    """A linear vanilla cell at h = 0: J = W, λ = log|eig(W)| (complex pairs share a modulus)."""
    W = np.random.default_rng(5000 + 1000 * n + seed).normal(size=(n, n)) / np.sqrt(n)
    return rd.VanillaRNN(W, activation="linear"), np.log(np.abs(np.linalg.eigvals(W)))


def _covered(les, truth):
    truth = np.sort(np.asarray(truth))[::-1]
    assert np.all(np.isfinite(les.error)) and np.all(les.error >= 0)
    return np.abs(les.exponents - truth) <= les.error


def test_error_covers_the_actual_error_on_known_answers():
    hits = []
    for n, seed, steps in [(3, 0, 2000), (4, 1, 2000), (5, 0, 2000), (5, 2, 2000), (8, 0, 2000), (8, 3, 2000),
                           (16, 1, 2000), (32, 2, 2000), (4, 0, 20000), (8, 1, 20000), (16, 0, 20000)]:
        cell, truth = _antisymmetric_at_rest(n, seed)
        hits.append(_covered(rd.lyapunov_spectrum(cell, np.zeros(n), steps=steps), truth))
    for n, seed, steps in [(3, 2, 2000), (5, 1, 2000), (8, 3, 2000), (16, 0, 20000)]:
        cell, truth = _linear(n, seed)
        hits.append(_covered(rd.lyapunov_spectrum(cell, np.zeros(n), steps=steps), truth))
    x0 = np.random.default_rng(0).uniform(-0.1, 0.1, (8, 2))
    les = rd.lyapunov_spectrum(rd.systems.henon(), x0, steps=20000)
    hits += [_covered(les_b, HENON) for les_b in _rows(les)]
    x0 = np.random.default_rng(1).uniform(0.1, 0.9, (6, 1))
    les = rd.lyapunov_spectrum(rd.systems.logistic(4.0), x0, steps=20000)
    hits += [_covered(les_b, [np.log(2.0)]) for les_b in _rows(les)]
    covered = np.concatenate(hits)
    assert covered.size > 150
    assert covered.mean() >= 0.9, f"{covered.mean():.1%} of {covered.size} exponents within ±error"


class _Row:
    def __init__(self, exponents, error):
        self.exponents, self.error = exponents, error


def _rows(les):
    return [_Row(e, err) for e, err in zip(les.exponents, les.error)]


def test_error_of_a_chaotic_map_is_not_vacuous():
    # the batch-means width shrinks like 1/sqrt(steps) and stays within a few times the actual error
    x0 = np.random.default_rng(3).uniform(-0.1, 0.1, (8, 2))
    short = rd.lyapunov_spectrum(rd.systems.henon(), x0, steps=2000)
    long = rd.lyapunov_spectrum(rd.systems.henon(), x0, steps=200_000)
    assert 0.01 < np.median(short.error) < 0.1
    ratio = np.median(short.error) / np.median(long.error)
    assert 5 < ratio < 20  # sqrt(100) = 10
    spread = long.exponents[:, 0].std(ddof=1)  # the actual scatter of the estimate over orbits
    assert spread < np.median(long.error[:, 0]) < 8 * spread


def test_henon_exponents_sum_to_log_b_and_match_sprott():
    x0 = np.random.default_rng(2).uniform(-0.1, 0.1, (4, 2))
    les = rd.lyapunov_spectrum(rd.systems.henon(1.4, 0.3), x0, steps=100_000, transient=100)
    np.testing.assert_allclose(les.exponents.sum(axis=1), np.log(0.3), atol=1e-12)
    assert np.all(np.abs(les.exponents - HENON) <= les.error)


def test_henon_docstring_quotes_the_values_rnndyn_reproduces():
    doc = rd.systems.henon.__doc__.replace("−", "-")
    quoted = [float(v) for v in re.findall(r"-?\d\.\d{5}", doc)[:2]]
    assert quoted == list(HENON)
    x0 = np.random.default_rng(4).uniform(-0.1, 0.1, (8, 2))
    les = rd.lyapunov_spectrum(rd.systems.henon(), x0, steps=125_000, transient=100)
    mean = les.exponents.mean(axis=0)
    assert np.all(np.abs(mean - quoted) < 5e-4)
    assert abs(mean[0] - 0.4189) > abs(mean[0] - quoted[0])  # closer than the often-quoted 0.4189


def test_equal_exponents_of_complex_pairs():
    # a real 4 x 4 matrix with two complex pairs (moduli 1.02 and 0.97), made non-normal by a similarity
    def rot(r, th):
        return r * np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    D = np.zeros((4, 4))
    D[:2, :2], D[2:, 2:] = rot(1.02, 0.7), rot(0.97, 2.1)
    P = np.eye(4) + 0.4 * np.random.default_rng(0).normal(size=(4, 4))
    W = P @ D @ np.linalg.inv(P)
    truth = np.log([1.02, 1.02, 0.97, 0.97])
    for steps in (2000, 20000):
        les = rd.lyapunov_spectrum(rd.VanillaRNN(W, activation="linear"), np.zeros(4), steps=steps)
        assert np.all(np.diff(les.exponents) <= 0)
        assert np.all(np.abs(les.exponents - truth) <= les.error)
        # the two members of each pair agree within their errors
        assert abs(les.exponents[0] - les.exponents[1]) <= les.error[0] + les.error[1]
        assert abs(les.exponents[2] - les.exponents[3]) <= les.error[2] + les.error[3]
    # an exactly normal pair (a scaled rotation): equal to rounding, and so is the error
    les = rd.lyapunov_spectrum(rd.VanillaRNN(rot(0.9, 0.3), activation="linear"), np.zeros(2), steps=500)
    np.testing.assert_allclose(les.exponents, np.log(0.9), atol=1e-13)
    assert np.all(les.error < 1e-12)


def test_error_blocks_are_reported():
    cell, _ = _antisymmetric_at_rest(4, 0)
    les = rd.lyapunov_spectrum(cell, np.zeros(4), steps=1000)
    assert les.error_blocks == ERROR_BLOCKS == 20
    assert "batch means over 20 blocks, 95 %" in les.summary()
    assert "error_blocks=20" in repr(les)
    few = rd.lyapunov_spectrum(cell, np.zeros(4), steps=14, reortho_every=2)  # 7 QRs: 7 blocks
    assert few.error_blocks == 7 and np.all(np.isfinite(few.error))
    none = rd.lyapunov_spectrum(cell, np.zeros(4), steps=9, reortho_every=3)  # 3 QRs: no estimate
    assert none.error_blocks == 0 and np.all(np.isnan(none.error))
    assert "± n/a" in none.summary()


@pytest.mark.parametrize("steps, every, transient", [(1000, 1, 0), (997, 3, 5), (50, 7, 2)])
def test_error_is_the_same_on_both_backends_and_with_progress(steps, every, transient):
    rng = np.random.default_rng(6)
    cell = rd.EulerRNN(rng.normal(size=(3, 3)), eps=0.3, gamma=0.1)
    h0 = rng.normal(size=3)
    kw = dict(steps=steps, reortho_every=every, transient=transient)
    a = rd.lyapunov_spectrum(cell, h0, backend="cpu", **kw)
    b = rd.lyapunov_spectrum(cell, h0, backend="reference", **kw)
    c = rd.lyapunov_spectrum(cell, h0, backend="cpu", progress=lambda done, total: None, **kw)
    np.testing.assert_allclose(a.error, b.error, rtol=1e-9, atol=1e-13)
    np.testing.assert_array_equal(a.error, c.error)


def test_starting_basis_is_the_identity_for_k_equal_n():
    # one step of a linear map from Q0 = I: R of the QR of W itself
    W = np.random.default_rng(9).normal(size=(4, 4))
    les = rd.lyapunov_spectrum(rd.VanillaRNN(W, activation="linear"), np.zeros(4), steps=1)
    r = np.abs(np.diag(np.linalg.qr(W)[1]))
    np.testing.assert_allclose(les.exponents, np.sort(np.log(r))[::-1], rtol=1e-13)
    np.testing.assert_array_equal(_initial_basis(4, 4), np.eye(4))


def test_starting_basis_is_a_fixed_random_one_for_k_below_n():
    q = _initial_basis(5, 2)
    np.testing.assert_allclose(q.T @ q, np.eye(2), atol=1e-14)
    np.testing.assert_array_equal(q, _initial_basis(5, 2))  # reproducible
    # why not the first k axes: here they span an invariant subspace of the smaller exponents
    W = np.diag([0.5, 0.25, 2.0, 1.5, 0.1])
    les = rd.lyapunov_spectrum(rd.VanillaRNN(W, activation="linear"), np.zeros(5), steps=200, k=2)
    np.testing.assert_allclose(les.exponents, np.log([2.0, 1.5]), atol=0.02)
    again = rd.lyapunov_spectrum(rd.VanillaRNN(W, activation="linear"), np.zeros(5), steps=200, k=2)
    np.testing.assert_array_equal(les.exponents, again.exponents)


def test_docstring_documents_the_method_and_the_basis():
    doc = rd.lyapunov_spectrum.__doc__
    assert "batch means" in doc and "ERROR_BLOCKS" in doc and "t_{0.975, m−1}" in doc
    assert "identity when k = n" in doc and "random orthonormal" in doc
