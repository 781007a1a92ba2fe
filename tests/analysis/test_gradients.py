"""rd.bptt: finite differences, kernel vs reference, adjoint consistency, checkpointing, clipping, analysis."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import rnndyn as rd
from rnndyn import config
from rnndyn.analysis.trajectories import prepare
from rnndyn.backends import get_backend
from rnndyn.errors import (
    ArgumentTypeError,
    DivergenceWarning,
    MemoryLimitError,
    UnknownNameError,
    ValidationError,
)

KINDS = ("vanilla", "euler", "antisymmetric", "gated")
ACTS = ("tanh", "relu", "linear", "sigmoid")
LOSSES = ("last", "sum", "readout", "upstream")


# --------------------------------------------------------------------------- problem generation


def make_cell(kind, n, d, rng, act="tanh", eps=0.2, gamma=0.1, **over):
    W = over.get("W", rng.normal(scale=1.2 / np.sqrt(n), size=(n, n)))
    V = over.get("V", rng.normal(size=(n, d)) if d else None)
    b = over.get("b", rng.normal(scale=0.3, size=n))
    if kind == "vanilla":
        return rd.VanillaRNN(W, V, b, activation=act)
    if kind == "euler":
        return rd.EulerRNN(W, V, b, eps=eps, gamma=gamma, activation=act)
    if kind == "antisymmetric":
        return rd.AntisymmetricRNN(W, V, b, eps=eps, gamma=gamma, activation=act)
    Vz = over.get("Vz", rng.normal(size=(n, d)) if d else None)
    bz = over.get("bz", rng.normal(size=n))
    return rd.AntisymmetricRNN(W, V, b, eps=eps, gamma=gamma, gated=True, Vz=Vz, bz=bz, activation=act)


@dataclasses.dataclass
class Problem:
    kind: str
    act: str
    n: int
    d: int
    B: int
    T: int
    batched: bool
    loss: str
    cell: object
    h0: np.ndarray
    inputs: np.ndarray | None
    U: np.ndarray
    c: np.ndarray
    targets: np.ndarray
    dL_dh: np.ndarray

    def kwargs(self):
        kw = dict(steps=self.T if self.inputs is None else None)
        if self.loss in ("last", "sum"):
            kw["loss"] = self.loss
        elif self.loss == "readout":
            kw.update(readout=(self.U, self.c), targets=self.targets)
        else:
            kw["dL_dh"] = self.dL_dh
        return kw


@st.composite
def problems(draw, kinds=KINDS, acts=ACTS, losses=LOSSES, max_n=4, max_d=2, max_b=3, max_t=6):
    kind = draw(st.sampled_from(kinds))
    act = draw(st.sampled_from(acts))
    loss = draw(st.sampled_from(losses))
    n = draw(st.integers(1, max_n))
    d = draw(st.integers(0, max_d))
    B = draw(st.integers(1, max_b))
    T = draw(st.integers(0, max_t))
    batched = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    cell = make_cell(kind, n, d, rng, act=act, eps=rng.uniform(0.05, 0.5), gamma=rng.uniform(0.0, 0.5))
    h0 = rng.normal(scale=0.7, size=(B, n) if batched else (n,))
    inputs = None
    if d and draw(st.integers(0, 3)):  # mostly with inputs; sometimes a cell with V run without any
        inputs = rng.normal(size=(B, T, d) if batched and draw(st.booleans()) else (T, d))
    Bt = B if batched else 1
    k = 3
    U = rng.normal(size=(k, n))
    c = rng.normal(size=k)
    targets = rng.integers(0, k, size=Bt) if batched else int(rng.integers(0, k))
    dL_dh = rng.normal(size=(B, T + 1, n) if batched else (T + 1, n))
    return Problem(kind, act, n, d, B, T, batched, loss, cell, h0, inputs, U, c, targets, dL_dh)


def loss_from_states(prob, cell, h0, U=None, c=None):
    """The loss computed independently of bptt: rd.simulate (reference) + the formula."""
    traj = rd.simulate(cell, h0, prob.inputs, steps=prob.T if prob.inputs is None else None, backend="reference")
    S = traj.states.reshape(-1, prob.T + 1, prob.n)
    if prob.loss == "last":
        return 0.5 * np.sum(S[:, -1] ** 2)
    if prob.loss == "sum":
        return 0.5 * np.sum(S[:, 1:] ** 2)
    if prob.loss == "readout":
        U = prob.U if U is None else U
        c = prob.c if c is None else c
        logits = S[:, -1] @ U.T + c
        mx = logits.max(axis=1)
        lse = mx + np.log(np.exp(logits - mx[:, None]).sum(axis=1))
        tg = np.broadcast_to(np.asarray(prob.targets), (S.shape[0],))
        return float(np.sum(lse - logits[np.arange(S.shape[0]), tg]))
    g = np.broadcast_to(prob.dL_dh.reshape(-1, prob.T + 1, prob.n), S.shape)
    return float(np.sum(g * S))


def preactivations(prob):
    """Every pre-activation a_t (and a^z_t) along the trajectories, for the ReLU-kink guard."""
    p = prepare(prob.cell, prob.h0, prob.inputs, prob.T if prob.inputs is None else None)
    from rnndyn.kernels.numpy import cell as ref

    H = p.h0
    out = []
    for t in range(prob.T):
        X = np.broadcast_to(p.inputs[:, t, :], (H.shape[0], p.inputs.shape[2]))
        A, _ = ref.preactivations(H, X, *p.args)
        out.append(A.ravel())
        H = ref.step(H, X, *p.args)
    return np.concatenate(out) if out else np.zeros(0)


def _replace_cell(cell, **changes):
    return dataclasses.replace(cell, **changes)


def fd_gradients(prob, h=1e-6):
    """Central differences of the loss for every parameter bptt returns."""
    cell = prob.cell
    L = lambda cl=cell, h0=prob.h0, U=None, c=None: loss_from_states(prob, cl, h0, U, c)

    def grad_array(arr, build):
        g = np.zeros_like(arr, dtype=float)
        for idx in np.ndindex(arr.shape):
            up, dn = arr.copy(), arr.copy()
            step = h * max(1.0, abs(arr[idx]))
            up[idx] += step
            dn[idx] -= step
            g[idx] = (build(up) - build(dn)) / (2 * step)
        return g

    out = {"dW": grad_array(cell.W, lambda W: L(_replace_cell(cell, W=W))),
           "db": grad_array(cell.b, lambda b: L(_replace_cell(cell, b=b))),
           "dh0": grad_array(np.asarray(prob.h0, float), lambda h0: L(h0=h0))}
    if prob.d:
        out["dV"] = grad_array(cell.V, lambda V: L(_replace_cell(cell, V=V)))
    if prob.kind == "gated":
        if prob.d:
            out["dVz"] = grad_array(cell.Vz, lambda Vz: L(_replace_cell(cell, Vz=Vz)))
        out["dbz"] = grad_array(cell.bz, lambda bz: L(_replace_cell(cell, bz=bz)))
    if prob.kind != "vanilla":
        out["deps"] = float(grad_array(np.array([cell.eps]), lambda e: L(_replace_cell(cell, eps=e[0])))[0])
        g0 = cell.gamma
        if g0 < 2 * h:  # γ ≥ 0 is enforced: one-sided away from the boundary
            g0 = 2 * h
            out["_gamma_at"] = g0
        out["dgamma"] = float(grad_array(np.array([g0]), lambda g: L(_replace_cell(cell, gamma=g[0])))[0])
    if prob.loss == "readout":
        out["dU"] = grad_array(prob.U, lambda U: L(U=U))
        out["dc"] = grad_array(prob.c, lambda c: L(c=c))
    return out, L()


def rel_err(a, b, scale=0.0):
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.linalg.norm(a - b)) / max(float(np.linalg.norm(b)), scale, 1e-300)


# --------------------------------------------------------------------------- finite differences


@settings(max_examples=120, deadline=None)
@given(problems())
def test_gradients_match_central_differences(prob):
    if prob.act == "relu":  # central differences are meaningless across a kink of ReLU
        a = preactivations(prob)
        assume(a.size == 0 or np.min(np.abs(a)) > 1e-4)
    g = rd.bptt(prob.cell, prob.h0, prob.inputs, **prob.kwargs(), backend="cpu")
    fd, L = fd_gradients(prob)
    assert g.loss == pytest.approx(L, rel=1e-12, abs=1e-12)
    floor = 1e-8 * (1.0 + abs(L))  # rounding noise of the differences themselves
    if "_gamma_at" in fd:  # γ = 0 moved to 2h: compare with bptt at that γ
        g_gamma = rd.bptt(_replace_cell(prob.cell, gamma=fd["_gamma_at"]), prob.h0, prob.inputs,
                          **prob.kwargs(), backend="cpu").dgamma
    else:
        g_gamma = g.dgamma
    for name, want in fd.items():
        if name.startswith("_"):
            continue
        got = g_gamma if name == "dgamma" else getattr(g, name)
        assert np.shape(got) == np.shape(want), name
        assert rel_err(got, want, floor / 1e-6) <= 1e-6, (name, got, want)
    if prob.d and prob.inputs is None:
        assert np.all(g.dV == 0)
    if prob.kind == "vanilla":
        assert g.dgamma is None and g.deps is None
    if prob.kind != "gated":
        assert g.dVz is None and g.dbz is None
    if prob.loss != "readout":
        assert g.dU is None and g.dc is None


def test_antisymmetric_dW_is_G_minus_G_transpose():
    rng = np.random.default_rng(3)
    anti = make_cell("antisymmetric", 4, 1, rng)
    euler = rd.EulerRNN(anti.recurrent_matrix + anti.gamma * np.eye(4), anti.V, anti.b, eps=anti.eps,
                        gamma=anti.gamma)
    x = rng.normal(size=(5, 1))
    h0 = rng.normal(size=4)
    ga, ge = rd.bptt(anti, h0, x), rd.bptt(euler, h0, x)
    G = ge.dW  # the Euler cell's dW is ∂L/∂M for the same M
    np.testing.assert_allclose(ga.dW, G - G.T, rtol=1e-13, atol=1e-15)
    assert ga.dgamma == pytest.approx(-np.trace(G), rel=1e-13)
    np.testing.assert_allclose(ga.dW, -ga.dW.T, atol=0)


# --------------------------------------------------------------------------- kernel vs reference


@settings(max_examples=60, deadline=None)
@given(problems(max_n=5, max_b=5, max_t=8), st.integers(0, 4))
def test_cpu_kernel_matches_reference(prob, checkpoint):
    kw = prob.kwargs()
    gc = rd.bptt(prob.cell, prob.h0, prob.inputs, **kw, checkpoint=checkpoint or None, backend="cpu")
    gr = rd.bptt(prob.cell, prob.h0, prob.inputs, **kw, backend="reference")
    for f in dataclasses.fields(rd.Gradients):
        a, b = getattr(gc, f.name), getattr(gr, f.name)
        if f.name in ("loss_kind", "checkpoint"):
            continue
        if a is None or b is None:
            assert a is None and b is None, f.name
            continue
        assert np.shape(a) == np.shape(b), f.name
        assert rel_err(a, b) <= 1e-12, f.name


@pytest.mark.parametrize("chunk", [1, 2, 64])
def test_batch_chunks_do_not_change_the_result(monkeypatch, chunk):
    rng = np.random.default_rng(7)
    cell = make_cell("gated", 5, 2, rng)
    h0 = rng.normal(size=(7, 5))
    x = rng.normal(size=(7, 9, 2))
    base = rd.bptt(cell, h0, x, loss="sum", backend="reference")
    monkeypatch.setattr(config, "BATCH_CHUNK", chunk)
    g = rd.bptt(cell, h0, x, loss="sum", backend="cpu")
    for name in ("dW", "dV", "db", "dVz", "dbz", "dh0", "delta_norms"):
        assert rel_err(getattr(g, name), getattr(base, name)) <= 1e-12, name


def test_blas_path_matches_reference(monkeypatch):
    monkeypatch.setattr(config, "BLAS_MIN_N", 1)
    rng = np.random.default_rng(8)
    for kind in KINDS:
        cell = make_cell(kind, 6, 2, rng)
        h0, x = rng.normal(size=(3, 6)), rng.normal(size=(3, 10, 2))
        g = rd.bptt(cell, h0, x, backend="cpu", checkpoint=3)
        r = rd.bptt(cell, h0, x, backend="reference")
        for name in ("dW", "dV", "db", "dh0", "delta_norms"):
            assert rel_err(getattr(g, name), getattr(r, name)) <= 1e-12, (kind, name)


# --------------------------------------------------------------------------- adjoint consistency


@settings(max_examples=40, deadline=None)
@given(problems(losses=("upstream",), max_t=8), st.integers(0, 2**32 - 1))
def test_adjoint_consistency_with_tangent(prob, seed):
    rng = np.random.default_rng(seed)
    delta_T = rng.normal(size=prob.dL_dh.shape[:-2] + (prob.n,))
    up = np.zeros_like(prob.dL_dh)
    up[..., -1, :] = delta_T
    g = rd.bptt(prob.cell, prob.h0, prob.inputs, steps=prob.T if prob.inputs is None else None, dL_dh=up)
    tan = rd.tangent(prob.cell, prob.h0, prob.inputs, steps=prob.T if prob.inputs is None else None,
                     backend="reference")
    A = tan.jacobian  # (…, n, n) = ∂h_T/∂h_0
    v = rng.normal(size=prob.n)
    dh0 = np.broadcast_to(g.dh0, A.shape[:-1])
    dT = np.broadcast_to(delta_T, A.shape[:-1])
    lhs = np.einsum("...i,...ij,j->...", dT, A, v)  # ⟨δ_T, A v⟩
    rhs = dh0 @ v  # ⟨Aᵀ δ_T, v⟩
    np.testing.assert_allclose(lhs, rhs, rtol=1e-10, atol=1e-12 * (1 + np.abs(lhs).max()))
    np.testing.assert_allclose(dh0, np.einsum("...ij,...i->...j", A, dT), rtol=1e-10,
                               atol=1e-12 * (1 + np.abs(dh0).max()))


# --------------------------------------------------------------------------- the scalar case of CSC321 L15


@pytest.mark.parametrize("w", [1.1, 0.9, -1.05, 0.5])
def test_linear_scalar_delta_norms_are_powers_of_w(w):
    T = 50
    cell = rd.VanillaRNN(np.array([[w]]), activation="linear")
    up = np.zeros((T + 1, 1))
    up[T] = 1.0
    g = rd.bptt(cell, [1.0], steps=T, dL_dh=up)
    expected = np.empty(T + 1)
    e = 1.0
    for t in range(T, -1, -1):  # the same sequence of multiplications as the backward pass
        expected[t] = abs(e)
        e *= w
    np.testing.assert_array_equal(g.delta_norms, expected)
    np.testing.assert_allclose(g.delta_norms, np.abs(w) ** (T - np.arange(T + 1)), rtol=1e-13)


def test_csc321_numbers():
    """Grosse, CSC321 L15: w = 1.1, T = 50 -> 117.4; w = 0.9 -> 0.00515."""
    r = rd.gradient_norms("vanilla", ["identity:1.1", "identity:0.9"], size=1, steps=50, activation="linear",
                          input_size=0)
    assert round(float(r.norms[0, 0]), 1) == 117.4
    assert round(float(r.norms[1, 0]), 5) == 0.00515
    np.testing.assert_allclose(r.norms[:, -1], 1.0)
    assert r.norms.shape == (2, 51) and list(r.times) == list(range(51))


# --------------------------------------------------------------------------- checkpointing


def _bits(v):
    a = np.ascontiguousarray(np.asarray(v))
    return a.view(np.int64) if a.dtype == np.float64 else a


def assert_same_bits(a, b, what):
    """Every field of two Gradients but ``checkpoint`` holds the same numbers, bit for bit (not allclose)."""
    for f in dataclasses.fields(rd.Gradients):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "checkpoint" or (x is None and y is None):
            continue
        assert x is not None and y is not None, (what, f.name)
        assert np.shape(x) == np.shape(y) and np.array_equal(_bits(x), _bits(y)), (what, f.name)


@settings(max_examples=20, deadline=None)
@given(problems(kinds=("vanilla", "euler", "antisymmetric", "gated"), max_n=5, max_b=4, max_t=80),
       st.lists(st.integers(1, 80), min_size=1, max_size=3))
def test_checkpointing_never_changes_a_bit(prob, ks):
    """checkpoint=None, several k and the automatic choice give identical results, every field."""
    assume(prob.T >= 10)
    kw = prob.kwargs()
    stored = rd.bptt(prob.cell, prob.h0, prob.inputs, **kw, backend="cpu")
    assert stored.checkpoint is None
    for k in ks:
        cp = rd.bptt(prob.cell, prob.h0, prob.inputs, **kw, checkpoint=k, backend="cpu")
        assert cp.checkpoint == (k if k < prob.T else None)
        assert_same_bits(cp, stored, f"checkpoint={k}")
    # the automatic choice k = ⌈√T⌉, forced by a limit that the stored run exceeds and the checkpointed one meets
    from rnndyn.analysis.gradients import _stored_bytes

    B = np.size(stored.losses)
    d = prob.inputs.shape[-1] if prob.inputs is not None else 0
    gated = prob.kind == "gated"
    k_auto = math.isqrt(prob.T - 1) + 1
    norms = 8.0 * B * (prob.T + 1)  # delta_norms, kept whatever the checkpointing
    need = 8.0 * B * prob.n * (prob.T // k_auto + 1) + _stored_bytes(B, k_auto, prob.n, d, gated) + norms
    assert need < _stored_bytes(B, prob.T, prob.n, d, gated) + norms
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(config, "MEMORY_LIMIT_BYTES", int(need))
        auto = rd.bptt(prob.cell, prob.h0, prob.inputs, **kw, backend="cpu")
    assert auto.checkpoint == k_auto
    assert_same_bits(auto, stored, "automatic checkpoint")


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("k", [1, 3, 7, 10])
def test_checkpointed_equals_stored(kind, k):
    rng = np.random.default_rng(11)
    cell = make_cell(kind, 6, 2, rng, act="tanh")
    h0, x = rng.normal(size=(4, 6)), rng.normal(size=(4, 23, 2))
    for kw in ({"loss": "sum"}, {"dL_dh": rng.normal(size=(4, 24, 6))},
               {"readout": (rng.normal(size=(3, 6)), None), "targets": [0, 1, 2, 1]}):
        stored = rd.bptt(cell, h0, x, **kw)
        cp = rd.bptt(cell, h0, x, checkpoint=k, **kw)
        assert stored.checkpoint is None and cp.checkpoint == k
        assert_same_bits(cp, stored, f"checkpoint={k}")


def test_automatic_checkpointing_when_memory_is_short(monkeypatch):
    rng = np.random.default_rng(12)
    cell = make_cell("antisymmetric", 8, 1, rng)
    h0, x = rng.normal(size=(2, 8)), rng.normal(size=(2, 100, 1))
    stored = rd.bptt(cell, h0, x)
    monkeypatch.setattr(config, "MEMORY_LIMIT_BYTES", 20_000)
    g = rd.bptt(cell, h0, x)
    assert g.checkpoint == 10
    assert_same_bits(g, stored, "automatic checkpoint")
    monkeypatch.setattr(config, "MEMORY_LIMIT_BYTES", 500)
    with pytest.raises(MemoryLimitError, match="split the batch"):
        rd.bptt(cell, h0, x)


# --------------------------------------------------------------------------- PyTorch


def test_matches_torch_autograd():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    n, d, B, T = 5, 2, 3, 12
    cell = make_cell("gated", n, d, rng, eps=0.3, gamma=0.2)
    h0, x = rng.normal(size=(B, n)), rng.normal(size=(B, T, d))
    U, c, tg = rng.normal(size=(4, n)), rng.normal(size=4), np.array([0, 3, 1])
    g = rd.bptt(cell, h0, x, readout=(U, c), targets=tg)

    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
         for k, v in dict(W=cell.W, V=cell.V, b=cell.b, Vz=cell.Vz, bz=cell.bz, h0=h0, U=U, c=c,
                          eps=np.array(cell.eps), gamma=np.array(cell.gamma)).items()}
    X = torch.tensor(x)
    M = t["W"] - t["W"].T - t["gamma"] * torch.eye(n, dtype=torch.float64)
    h = t["h0"]
    for s in range(T):
        z = torch.sigmoid(h @ M.T + X[:, s] @ t["Vz"].T + t["bz"])
        h = h + t["eps"] * z * torch.tanh(h @ M.T + X[:, s] @ t["V"].T + t["b"])
    loss = torch.nn.functional.cross_entropy(h @ t["U"].T + t["c"], torch.tensor(tg), reduction="sum")
    loss.backward()
    assert g.loss == pytest.approx(loss.item(), rel=1e-12)
    for ours, theirs in [("dW", "W"), ("dV", "V"), ("db", "b"), ("dVz", "Vz"), ("dbz", "bz"), ("dh0", "h0"),
                         ("dU", "U"), ("dc", "c"), ("deps", "eps"), ("dgamma", "gamma")]:
        assert rel_err(getattr(g, ours), t[theirs].grad.numpy()) <= 1e-12, ours


# --------------------------------------------------------------------------- shapes, batches, norms


def test_shapes_follow_the_caller():
    rng = np.random.default_rng(1)
    cell = make_cell("euler", 3, 2, rng)
    g = rd.bptt(cell, np.zeros(3), rng.normal(size=(4, 2)))
    assert g.dh0.shape == (3,) and g.delta_norms.shape == (5,) and isinstance(g.losses, float)
    assert isinstance(g.diverged_at, int) and g.final.shape == (3,)
    gb = rd.bptt(cell, np.zeros((2, 3)), rng.normal(size=(4, 2)))
    assert gb.dh0.shape == (2, 3) and gb.delta_norms.shape == (2, 5) and gb.losses.shape == (2,)
    np.testing.assert_allclose(gb.global_delta_norms, np.sqrt((gb.delta_norms ** 2).sum(0)), rtol=1e-15)
    assert gb.loss == pytest.approx(gb.losses.sum())
    # the batch can come from dL_dh alone
    gu = rd.bptt(cell, np.zeros(3), rng.normal(size=(4, 2)), dL_dh=rng.normal(size=(3, 5, 3)))
    assert gu.dh0.shape == (3, 3)


def test_batch_gradient_is_the_sum_over_trajectories():
    rng = np.random.default_rng(2)
    cell = make_cell("antisymmetric", 4, 1, rng)
    h0, x = rng.normal(size=(3, 4)), rng.normal(size=(3, 6, 1))
    g = rd.bptt(cell, h0, x, loss="sum")
    parts = [rd.bptt(cell, h0[i], x[i], loss="sum") for i in range(3)]
    for name in ("dW", "dV", "db", "deps", "dgamma"):
        np.testing.assert_allclose(getattr(g, name), sum(getattr(p, name) for p in parts), rtol=1e-12)
    np.testing.assert_allclose(g.dh0, np.stack([p.dh0 for p in parts]), rtol=1e-13)


def test_sum_loss_excludes_h0_and_T0_cases():
    cell = rd.EulerRNN(np.eye(2), eps=0.1)
    g = rd.bptt(cell, [1.0, 2.0], steps=0, loss="sum")
    assert g.loss == 0 and np.all(g.dh0 == 0) and g.delta_norms.shape == (1,)
    g = rd.bptt(cell, [1.0, 2.0], steps=0)
    np.testing.assert_array_equal(g.dh0, [1.0, 2.0])
    assert g.loss == 2.5


# --------------------------------------------------------------------------- divergence


def test_exploding_gradients_warn():
    cell = rd.VanillaRNN(np.array([[1e30]]), activation="tanh")
    up = np.zeros((40, 1))
    up[-1] = 1.0
    with pytest.warns(DivergenceWarning, match="overflowed"):
        g = rd.bptt(cell, [0.0], steps=39, dL_dh=up)
    assert not np.isfinite(g.delta_norms[0]) and g.diverged_at == -1


def test_diverging_forward_pass_warns():
    cell = rd.EulerRNN(np.array([[1e200]]), eps=1.0, activation="linear")
    with pytest.warns(DivergenceWarning):
        g = rd.bptt(cell, [1.0], steps=5)
    assert g.diverged_at >= 1


# --------------------------------------------------------------------------- clipping


def _grads(seed=0):
    rng = np.random.default_rng(seed)
    cell = make_cell("gated", 4, 2, rng)
    return rd.bptt(cell, rng.normal(size=(2, 4)), rng.normal(size=(2, 30, 2)), loss="sum")


def test_clip_by_norm_per_parameter():
    g = _grads()
    eta = 0.5 * min(np.linalg.norm(g.dW), np.linalg.norm(g.db))
    c = rd.clip_by_norm(g, eta)
    for name in ("dW", "dV", "db", "dVz", "dbz"):
        before, after = getattr(g, name), getattr(c, name)
        if np.linalg.norm(before) > eta:
            assert np.linalg.norm(after) == pytest.approx(eta, rel=1e-13)
            np.testing.assert_allclose(after * np.linalg.norm(before) / eta, before, rtol=1e-13)
        else:
            assert after is before
    assert c.dh0 is g.dh0 and c.delta_norms is g.delta_norms and c.loss == g.loss
    assert np.linalg.norm(g.dW) > eta  # the original is untouched
    big = rd.clip_by_norm(g, 1e30)
    assert all(getattr(big, f) is getattr(g, f) for f in ("dW", "dV", "db"))
    d = rd.clip_by_norm(g, 1e-3, fields=["dh0", "dgamma"])
    assert np.linalg.norm(d.dh0) == pytest.approx(1e-3) and abs(d.dgamma) == pytest.approx(1e-3)
    assert d.dW is g.dW


def test_clip_by_global_norm():
    g = _grads(1)
    total = g.global_norm
    c = rd.clip_by_global_norm(g, total / 4)
    assert c.global_norm == pytest.approx(total / 4, rel=1e-13)
    np.testing.assert_allclose(c.dW * 4, g.dW, rtol=1e-13)
    np.testing.assert_allclose(c.dbz * 4, g.dbz, rtol=1e-13)
    same = rd.clip_by_global_norm(g, total * 2)
    assert same.global_norm == total and same is not g
    assert set(g.parameters) == {"dW", "dV", "db", "dVz", "dbz"}


@pytest.mark.parametrize("call, exc, match", [
    (lambda g: rd.clip_by_norm(g, 0.0), ValidationError, "max_norm"),
    (lambda g: rd.clip_by_norm(g, "1"), ArgumentTypeError, "max_norm"),
    (lambda g: rd.clip_by_global_norm(g, -1), ValidationError, "max_norm"),
    (lambda g: rd.clip_by_norm(g, 1.0, fields=["dQ"]), UnknownNameError, "fields"),
    (lambda g: rd.clip_by_norm({"dW": 1}, 1.0), ArgumentTypeError, "grads"),
])
def test_clipping_rejects_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call(_grads(2))


# --------------------------------------------------------------------------- argument errors


def test_bptt_rejects_bad_arguments():
    rng = np.random.default_rng(0)
    cell = make_cell("euler", 3, 1, rng)
    x = rng.normal(size=(4, 1))
    h0 = np.zeros(3)
    U = rng.normal(size=(2, 3))
    with pytest.raises(UnknownNameError, match="loss"):
        rd.bptt(cell, h0, x, loss="mse")
    with pytest.raises(ValidationError, match="targets"):
        rd.bptt(cell, h0, x, readout=(U, None))
    with pytest.raises(ValidationError, match=r"targets.*\[0, 2\)"):
        rd.bptt(cell, h0, x, readout=(U, None), targets=2)
    with pytest.raises(ArgumentTypeError, match="targets"):
        rd.bptt(cell, h0, x, readout=(U, None), targets=0.5)
    with pytest.raises(ValidationError, match="targets: given without readout"):
        rd.bptt(cell, h0, x, targets=1)
    with pytest.raises(ValidationError, match="readout U"):
        rd.bptt(cell, h0, x, readout=(np.zeros((2, 4)), None), targets=0)
    with pytest.raises(ValidationError, match="readout c"):
        rd.bptt(cell, h0, x, readout=(U, np.zeros(3)), targets=0)
    with pytest.raises(ValidationError, match="readout: expected a pair"):
        rd.bptt(cell, h0, x, readout=U, targets=0)
    with pytest.raises(ValidationError, match=r"loss: 'sum' cannot be combined with readout"):
        rd.bptt(cell, h0, x, loss="sum", readout=(U, None), targets=0)
    with pytest.raises(ValidationError, match="dL_dh: expected shape"):
        rd.bptt(cell, h0, x, dL_dh=np.zeros((4, 3)))
    with pytest.raises(ValidationError, match="not both"):
        rd.bptt(cell, h0, x, dL_dh=np.zeros((5, 3)), readout=(U, None), targets=0)
    with pytest.raises(ValidationError, match="loss: 'upstream' needs dL_dh"):
        rd.bptt(cell, h0, x, loss="upstream")
    with pytest.raises(ValidationError, match="checkpoint"):
        rd.bptt(cell, h0, x, checkpoint=0)
    with pytest.raises(ArgumentTypeError, match="cell"):
        rd.bptt("cell", h0, x)
    with pytest.raises(ValidationError, match="h0"):
        rd.bptt(cell, np.zeros(4), x)
    with pytest.raises(ValidationError, match="dL_dh: batch size"):
        rd.bptt(cell, np.zeros((2, 3)), x, dL_dh=np.zeros((3, 5, 3)))


# --------------------------------------------------------------------------- gradient_norms


def test_gradient_norms_shows_vanishing_exploding_and_flat():
    n = 16
    r = rd.gradient_norms("vanilla", ["orthogonal", f"normal:{0.5 / 4}", f"normal:{3 / 4}"], size=n, steps=60)
    assert r.norms.shape == (3, 61) and r.labels == ("orthogonal", "normal:0.125", "normal:0.75")
    np.testing.assert_allclose(r.norms[:, -1], 1.0, rtol=1e-12)
    orth, small, large = r.ratios
    assert 0.1 < orth <= 1.0 and small < 1e-10 and large > 1e5
    assert r.matrix_radii[0] == pytest.approx(1.0)
    assert r.cells == ("vanilla",) * 3 and r.gammas == (None,) * 3


def test_gradient_norms_entries_factory_and_batch():
    r = rd.gradient_norms("antisymmetric", ["normal:0.25,gamma=0.0,label=γ = 0", "normal:0.25,gamma=2,eps=0.2",
                                            {"init": "identity", "cell": "vanilla", "activation": "relu"}],
                          size=8, steps=30, h0=np.full(8, 0.5), batch=3, input_scale=0.01)
    assert r.labels == ("γ = 0", "normal:0.25,gamma=2,eps=0.2", "identity")
    assert r.cells == ("antisymmetric", "antisymmetric", "vanilla") and r.gammas == (0.0, 2.0, None)
    assert r.activations == ("tanh", "tanh", "relu")
    assert r.ratios[1] < 1e-3 < r.ratios[0]
    np.testing.assert_allclose(r.norms[2], 1.0, rtol=1e-12)  # identity + ReLU on a positive state: exact
    f = rd.gradient_norms(lambda W: rd.EulerRNN(W, eps=0.1), ["orthogonal"], size=4, steps=5)
    assert f.cells == ("euler",)
    lst = rd.gradient_norms(size=4, steps=5, loss="last")
    assert lst.norms.shape == (4, 6) and lst.loss == "last"


@pytest.mark.parametrize("kwargs, match", [
    (dict(inits=["normal:0.1,foo=1"]), "inits"),
    (dict(inits=["normal:0.1,gamma=x"]), "gamma"),
    (dict(inits=[]), "at least one"),
    (dict(inits=[3]), "inits"),
    (dict(inits=[{"spec": "x"}]), "inits"),
    (dict(inits=["bogus"]), "init"),
    (dict(cell="lstm"), "cell"),
    (dict(loss="mse"), "loss"),
    (dict(size=0), "size"),
    (dict(h0=np.zeros(3)), "h0"),
])
def test_gradient_norms_rejects_bad_input(kwargs, match):
    kw = dict(size=4, steps=3)
    kw.update(kwargs)
    with pytest.raises((ValidationError, ArgumentTypeError), match=match):
        rd.gradient_norms(**kw)


# --------------------------------------------------------------------------- plots and figures


def test_plot_gradient_norms_content():
    from rnndyn.plots.gradients import plot_gradient_norms

    r = rd.gradient_norms("vanilla", ["identity:1.1", "identity:0.9", "identity:0.0"], size=1, steps=50,
                          activation="linear", input_size=0)
    fig = plot_gradient_norms(r, annotate_start=True)
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_xlim() == (0.0, 50.0)
    lines = [ln for ln in ax.get_lines() if ln.get_label().startswith("identity")]
    assert len(lines) == 3
    np.testing.assert_allclose(lines[0].get_ydata()[0], 1.1 ** 50)
    assert np.isnan(lines[2].get_ydata()[0])  # zero norms are not drawn on a log axis
    texts = [t.get_text() for t in ax.texts]
    assert "117.4" in texts and "0.00515" in texts and "loss at t = T" in texts
    assert "far from the loss" in ax.get_xlabel()
    with pytest.raises(ArgumentTypeError):
        plot_gradient_norms(r.norms)


def test_registered_figures_build():
    from rnndyn import figures

    reg = figures.registry()
    for name in ("gradient_norms_inits", "csc321_scalar_gradient"):
        spec = reg[name]
        assert "Grosse, CSC321 Lecture 15" in spec.source
        fig = spec.build(quick=True)
        axes = [ax for ax in fig.axes if ax.get_lines()]
        assert axes and all(ax.get_yscale() == "log" for ax in axes)
    fig = reg["gradient_norms_inits"].build(quick=True)
    assert len(fig.axes) == 2 and len(fig.axes[1].get_lines()) >= 6
    scalar = reg["csc321_scalar_gradient"].build(quick=True).axes[0]
    assert {"117.4", "0.00515"} <= {t.get_text() for t in scalar.texts}


def test_exports():
    for name in ("bptt", "Gradients", "clip_by_norm", "clip_by_global_norm", "gradient_norms"):
        assert name in rd.__all__ and hasattr(rd, name)
    assert math.isclose(rd.bptt(rd.VanillaRNN(np.eye(1)), [1.0], steps=1).loss, 0.5 * math.tanh(1.0) ** 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rd.bptt(rd.AntisymmetricRNN(np.eye(2), eps=0.1), [0.0, 0.5], steps=3)
    assert get_backend("cpu").bptt.__doc__
