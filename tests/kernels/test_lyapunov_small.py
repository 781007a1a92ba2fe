"""The small-n paths of the Lyapunov (QR) kernel: the tanh step in a loop of its own, the QR with its reflections
inlined and the signs of R folded into the accumulation of Q. Each must round exactly as the generic code."""

import math

import numpy as np
import pytest
from numba import njit

import rnndyn as rd
from rnndyn.kernels.cpu.common import (
    _column_norm,
    _lyap_reortho,
    _qr_cols,
    _qr_cols_r,
    _qr_scratch,
    _reflect,
    _state_and_derivative,
)
from rnndyn.kernels.params import LINEAR, RELU, SIGMOID, TANH
from rnndyn.kernels.scalar import dphi, phi, sigmoid


@njit(error_model="numpy")
def _qr_generic(A, Vh, w, rdiag):
    """Householder QR as dgeqr2 + dorg2r, step by step: Q accumulated from [I; 0] with the called reflection,
    then the columns whose R_jj < 0 negated one by one (the rounding _qr_cols must keep)."""
    n, k = A.shape
    for j in range(k):
        a0 = A[j, j]
        sigma = 0.0
        for i in range(j + 1, n):
            sigma += A[i, j] * A[i, j]
        ss = a0 * a0 + sigma
        if not (2.0 ** -960 < ss < 2.0 ** 960):
            norm = _column_norm(A, j, n)
            if norm == abs(a0):
                tau = 0.0
                rdiag[j] = a0
            else:
                beta = -norm if a0 >= 0.0 else norm
                tau = (beta - a0) / beta
                for i in range(j + 1, n):
                    Vh[i, j] = A[i, j] / (a0 - beta)
                rdiag[j] = beta
        elif sigma == 0.0:
            tau = 0.0
            rdiag[j] = a0
        else:
            norm = math.sqrt(ss)
            beta = -norm if a0 >= 0.0 else norm
            tau = (beta - a0) / beta
            scale = 1.0 / (a0 - beta)
            for i in range(j + 1, n):
                Vh[i, j] = A[i, j] * scale
            rdiag[j] = beta
        Vh[j, j] = tau
        if tau != 0.0 and j + 1 < k:
            _reflect(A, Vh, w, j)
    for i in range(n):
        for c in range(k):
            A[i, c] = 1.0 if i == c else 0.0
    for j in range(k - 1, -1, -1):
        if Vh[j, j] != 0.0:
            _reflect(A, Vh, w, j)
    for j in range(k):
        if rdiag[j] < 0.0:
            rdiag[j] = -rdiag[j]
            for i in range(n):
                A[i, j] = -A[i, j]


def _both(A):
    n, k = A.shape
    out = []
    for qr in (_qr_cols, _qr_generic):
        Q, r = A.copy(), np.empty(k)
        qr(Q, np.empty((n, k)), np.empty(k), r)
        out.append((Q, r))
    return out


@pytest.mark.parametrize("n,k", [(16, 16), (16, 5), (5, 5), (7, 3), (1, 1), (33, 33), (70, 40), (64, 64),
                                 (128, 128)])
def test_qr_rounds_as_the_generic_householder(n, k):
    """Whole rows (k ≤ 32), panels and strips of columns (k > 32), padded rows (k = 64, 128): the same bits."""
    rng = np.random.default_rng(10 * n + k)
    A = rng.normal(size=(n, k))
    A[:, ::2] *= -1.0  # R_jj of both signs: the folded signs are exercised
    (Q, r), (Qg, rg) = _both(A)
    assert np.array_equal(Q, Qg) and np.array_equal(r, rg)
    Qs, Vh, w, rp = _qr_scratch(n, k)
    Qp = A.copy()
    assert not _lyap_reortho(Qp, Qs, Vh, w, rp, False)
    assert (Qs.shape[0] > 0) == (k % 64 == 0) and np.array_equal(Qp, Qg) and np.array_equal(rp, rg)
    assert np.all(r >= 0.0)
    np.testing.assert_allclose(Q.T @ Q, np.eye(k), atol=1e-14)
    np.testing.assert_allclose(Q * r, A - Q @ np.triu(Q.T @ A, 1), atol=1e-13)  # A = Q R


@pytest.mark.parametrize("n,k", [(16, 16), (16, 5), (5, 5), (7, 3), (1, 1), (33, 33), (70, 40), (64, 64),
                                 (128, 128), (130, 100)])
def test_qr_keeping_r_is_the_same_qr_and_its_r(n, k):
    """The covariant vectors' QR (R kept; in the CLV kernel's padded scratch too): Q and diag(R) the bits of
    _qr_cols, R upper triangular with A = QR and R's rows signed as Q's columns."""
    from rnndyn.kernels.cpu.clv import _qr_full

    rng = np.random.default_rng(7 * n + k)
    A = rng.normal(size=(n, k))
    A[:, 1::3] *= -1.0
    Q, r = A.copy(), np.empty(k)
    _qr_cols(Q, np.empty((n, k)), np.empty(k), r)
    Qr, rr, R = A.copy(), np.empty(k), np.full((k, k), np.nan)
    _qr_cols_r(Qr, np.empty((n, k)), np.empty(k), rr, R)
    assert np.array_equal(Qr, Q) and np.array_equal(rr, r)
    assert np.array_equal(np.diag(R), r) and np.all(np.tril(R, -1) == 0.0)
    np.testing.assert_allclose(Qr @ R, A, atol=1e-13 * max(1.0, np.abs(A).max()) * n)
    Qn, Rn = np.linalg.qr(A)
    sg = np.sign(np.diag(Rn))
    np.testing.assert_allclose(R, sg[:, None] * Rn, atol=1e-12)
    Qp, Vh, w, rp = _qr_scratch(n, k)
    Qf, Rf = A.copy(), np.full((k, k), np.nan)
    assert not _qr_full(Qf, Rf, Qp, Vh, w, rp, False)
    assert np.array_equal(Qf, Q) and np.array_equal(Rf, R)
    Ql, Rl = A.copy(), np.full((k, k), np.nan)
    assert not _qr_full(Ql, Rl, Qp, Vh, w, rp, True)  # LAPACK's, signs as the kernel's
    np.testing.assert_allclose(Rl, R, atol=1e-12)
    np.testing.assert_allclose(Ql, Q, atol=1e-12)


def test_qr_keeping_r_reports_a_non_finite_r():
    from rnndyn.kernels.cpu.clv import _qr_full

    A = np.random.default_rng(1).normal(size=(40, 40))
    A[5, 9] = np.inf
    Qp, Vh, w, rp = _qr_scratch(40, 40)
    assert _qr_full(A.copy(), np.empty((40, 40)), Qp, Vh, w, rp, False)


@pytest.mark.parametrize("scale", [1e-200, 1e200, 0.0])
def test_qr_extreme_columns_round_as_the_generic_householder(scale):
    rng = np.random.default_rng(3)
    A = rng.normal(size=(16, 16))
    A[:, 3] *= scale  # tiny, huge or zero column: the scaled norm, or H_j = I
    A[:, 7] = -A[:, 7] * 1e-160
    (Q, r), (Qg, rg) = _both(A)
    assert np.array_equal(Q, Qg) and np.array_equal(r, rg)
    assert np.all(r >= 0.0) and np.all(np.isfinite(Q))


@njit(fastmath=False, error_model="numpy")
def _generic_step(a, az, h, hn, D, alpha, eps, act, gated):
    """The state step entry by entry, dispatching on the activation per entry: what the vectorised tanh loop of
    _state_and_derivative must reproduce."""
    for i in range(h.shape[0]):
        y = phi(act, a[i])
        dy = dphi(act, a[i], y)
        if gated:
            z = sigmoid(az[i])
            D[i] = eps * (z * dy + y * z * (1.0 - z))
            hn[i] = alpha * h[i] + eps * z * y
        else:
            D[i] = eps * dy
            hn[i] = alpha * h[i] + eps * y


@pytest.mark.parametrize("act,gated", [(TANH, False), (TANH, True), (RELU, False), (SIGMOID, False), (LINEAR, False)])
def test_step_and_derivative_is_the_generic_step(act, gated):
    rng = np.random.default_rng(act)
    n = 23
    a = np.concatenate([rng.normal(scale=3.0, size=n - 7), [0.0, -0.0, 1e-300, 40.0, -40.0, np.inf, np.nan]])
    az, h = rng.normal(size=n), rng.normal(size=n)
    out = []
    for fn in (_state_and_derivative, _generic_step):
        hn, D = np.empty(n), np.empty(n)
        fn(a, az, h, hn, D, 0.9, 0.1, act, gated)
        out.append((hn, D))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])


@pytest.mark.parametrize("n,k,cell", [(16, 16, "antisymmetric"), (5, 3, "vanilla")])
def test_small_n_spectrum_matches_the_reference(n, k, cell):
    rng = np.random.default_rng(n)
    W = rng.normal(scale=1.0 / np.sqrt(n), size=(n, n))
    c = rd.AntisymmetricRNN(W, eps=0.1, gamma=0.1) if cell == "antisymmetric" else rd.VanillaRNN(1.2 * W)
    h0 = rng.normal(size=n)
    kw = dict(steps=60, transient=4, k=k)
    a = rd.lyapunov_spectrum(c, h0, backend="cpu", **kw)
    b = rd.lyapunov_spectrum(c, h0, backend="reference", **kw)
    np.testing.assert_allclose(a.exponents, b.exponents, rtol=1e-12, atol=1e-13)
