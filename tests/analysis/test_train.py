"""Training with rnndyn's BPTT: tasks, optimisers, gradients, learning, reproducibility, saved runs."""

import math

import numpy as np
import pytest

import rnndyn as rd
from rnndyn.analysis import train as tr
from rnndyn.errors import ArgumentTypeError, LoadError, ValidationError

CELLS = {
    "vanilla-orthogonal": dict(kind="vanilla", init="orthogonal"),
    "vanilla-irnn": dict(kind="vanilla", init="identity", activation="relu", input_scale=0.5),
    "euler": dict(kind="euler", eps=0.5, gamma=0.1),
    "antisymmetric": dict(kind="antisymmetric", eps=0.2, gamma=0.01),
    "antisymmetric-gated": dict(kind="antisymmetric", eps=0.5, gamma=0.01, gated=True),
}


def _cell(spec, n, d, rng=0):
    spec = dict(spec)
    return rd.make_cell(spec.pop("kind"), n, d, rng=rng, **spec)


# --------------------------------------------------------------------------- tasks


def test_adding_statistics_and_baseline():
    task = rd.make_task("adding", length=30, n_train=8000, n_test=10, seed=3)
    X, Y = task.X_train, task.Y_train[:, 0]
    assert X.shape == (8000, 30, 2)
    assert np.all(X[:, :, 1].sum(axis=1) == 2)  # two markers per sequence
    first, second = (np.argsort(-X[:, :, 1], axis=1, kind="stable")[:, :2].T)
    assert np.all(np.minimum(first, second) < 15) and np.all(np.maximum(first, second) >= 15)
    np.testing.assert_allclose(Y, (X[:, :, 0] * X[:, :, 1]).sum(axis=1))
    # the best constant prediction is the mean; its MSE is Var(u1 + u2) = 1/6
    assert abs(np.mean((Y - Y.mean()) ** 2) - 1 / 6) < 0.01
    assert task.baseline == pytest.approx(1 / 6)


def test_copy_memory_statistics_and_baseline():
    T = 30
    task = rd.make_task("copy", length=T, n_train=4000, n_test=10, seed=1)
    X, Y = task.X_train, task.Y_train
    assert X.shape == (4000, T + 20, 10) and Y.shape == (4000, T + 20)
    sym = X.argmax(axis=2)
    np.testing.assert_array_equal(Y[:, T + 10:], sym[:, :10])  # the symbols come back after the delimiter
    assert np.all(sym[:, T + 9] == 9) and np.all(Y[:, :T + 10] == 0)
    # the input-blind predictor: blank with certainty, then the empirical symbol frequencies
    freq = np.bincount(Y[:, T + 10:].ravel(), minlength=10) / Y[:, T + 10:].size
    ce = -(10 * np.sum(freq[freq > 0] * np.log(freq[freq > 0]))) / (T + 20)
    assert ce == pytest.approx(10 * math.log(8) / (T + 20), rel=2e-3)
    assert task.baseline == pytest.approx(10 * math.log(8) / (T + 20))


def test_flipflop_outputs_hold_the_last_pulse():
    task = rd.make_task("flipflop", length=60, n_train=50, n_test=5, seed=2)
    X, Y = task.X_train, task.Y_train
    assert set(np.unique(X)) <= {-1.0, 0.0, 1.0}
    for b in range(5):
        for ch in range(3):
            last = 0.0
            for t in range(60):
                if X[b, t, ch]:
                    last = X[b, t, ch]
                assert Y[b, t, ch] == last


def test_digits_tasks():
    pytest.importorskip("sklearn", reason="the digit tasks need scikit-learn")
    a = rd.make_task("digits", n_test=300, seed=0)
    p = rd.make_task("pdigits", n_test=300, seed=0)
    assert a.X_train.shape == (1497, 64, 1) and a.output == "last_ce" and a.n_out == 10
    # the same images in another pixel order: equal sorted pixel values
    np.testing.assert_array_equal(np.sort(a.X_train[:, :, 0], axis=1), np.sort(p.X_train[:, :, 0], axis=1))
    assert not np.array_equal(a.X_train, p.X_train)


def test_tasks_repeat_with_their_seed():
    a, b, c = (rd.make_task("flipflop", length=20, n_train=10, seed=s) for s in (4, 4, 5))
    np.testing.assert_array_equal(a.X_train, b.X_train)
    assert not np.array_equal(a.X_train, c.X_train)


# --------------------------------------------------------------------------- optimisers


def test_sgd_momentum_steps_by_hand():
    opt = tr.SGD(lr=0.1, momentum=0.5)
    p = {"w": np.array([1.0, -2.0])}
    g1, g2 = np.array([0.4, -1.0]), np.array([2.0, 0.5])
    opt.step(p, {"w": g1})
    np.testing.assert_allclose(p["w"], [1.0 - 0.04, -2.0 + 0.1], rtol=0, atol=1e-15)
    opt.step(p, {"w": g2})
    v2 = 0.5 * g1 + g2
    np.testing.assert_allclose(p["w"], np.array([0.96, -1.9]) - 0.1 * v2, rtol=0, atol=1e-15)


def test_adam_steps_by_hand():
    b1, b2, lr, e = 0.9, 0.999, 0.01, 1e-8
    opt = tr.Adam(lr=lr, beta1=b1, beta2=b2, eps=e)
    p = {"w": np.array([0.5, 3.0])}
    g1, g2 = np.array([2.0, -0.1]), np.array([-1.0, 0.3])
    opt.step(p, {"w": g1})
    # the first step: m̂ = g, v̂ = g², so θ moves by lr·g/(|g| + ε)
    w1 = np.array([0.5, 3.0]) - lr * g1 / (np.abs(g1) + e)
    np.testing.assert_allclose(p["w"], w1, rtol=0, atol=1e-15)
    opt.step(p, {"w": g2})
    m = (1 - b1) * (b1 * g1 + g2)
    v = (1 - b2) * (b2 * g1 ** 2 + g2 ** 2)
    w2 = w1 - lr * (m / (1 - b1 ** 2)) / (np.sqrt(v / (1 - b2 ** 2)) + e)
    np.testing.assert_allclose(p["w"], w2, rtol=0, atol=1e-15)


# --------------------------------------------------------------------------- gradients of the training loss


@pytest.mark.parametrize("task_name,kind", [("adding", "vanilla-orthogonal"), ("copy", "antisymmetric-gated"),
                                            ("flipflop", "euler"), ("classify", "antisymmetric-gated"),
                                            ("adding", "antisymmetric")])
def test_training_gradients_match_finite_differences(task_name, kind):
    rng = np.random.default_rng(0)
    if task_name == "classify":  # a last-state classification like the digit tasks, without scikit-learn
        X = rng.standard_normal((4, 6, 2))
        task = tr.Task("digits", X, rng.integers(0, 3, 4), X, rng.integers(0, 3, 4), "last_ce", 3, math.log(3))
    else:
        task = rd.make_task(task_name, length=6, n_train=4, n_test=1, seed=0)
    cell = _cell(CELLS[kind], 5, task.d, rng=1)
    cell = cell.replace(b=rng.standard_normal(5) * 0.3, **({"bz": rng.standard_normal(5) * 0.3}
                                                            if kind.endswith("gated") else {}))
    U, c = rng.standard_normal((task.n_out, 5)), rng.standard_normal(task.n_out)
    X, Y = task.X_train, task.Y_train
    loss, _, grads, _, _ = tr._gradients(cell, U, c, task, X, Y, "cpu")
    params = tr._cell_params(cell, tr._trainable(cell, True, True))
    names = tuple(params) + ("U", "c")
    params["U"], params["c"] = U, c

    def loss_of(name):
        def f(v):
            p = dict(params, **{name: v})
            return tr._gradients(tr._with_params(cell, p), p["U"], p["c"], task, X, Y, "cpu")[0]
        return f

    for name in names:  # a directional derivative per parameter array: two losses each, every entry involved
        v = rng.standard_normal(np.shape(params[name]))
        h = 1e-6
        fd = (loss_of(name)(params[name] + h * v) - loss_of(name)(params[name] - h * v)) / (2 * h)
        assert np.sum(grads[name] * v) == pytest.approx(fd, rel=1e-6, abs=1e-8), name


# --------------------------------------------------------------------------- learning


@pytest.mark.parametrize("kind", list(CELLS))
def test_loss_of_every_cell_falls_on_a_tiny_adding_problem(kind):
    task = rd.make_task("adding", length=10, n_train=256, n_test=128, seed=0)
    cell = _cell(CELLS[kind], 16, task.d)
    run = rd.train(cell, task, epochs=20, batch=32, lr=0.01, clip=1.0, seed=0, lyapunov_every=0)  # 160 steps
    h = run.history
    assert h["loss"][-1] < 0.5 * h["loss"][0]
    assert h["test_loss"][-1] < 0.5 * task.baseline, h["test_loss"]
    assert run.cell.W is not cell.W and not np.array_equal(run.cell.W, cell.W)


def test_every_parameter_moves_and_gamma_stays_nonnegative():
    task = rd.make_task("adding", length=8, n_train=64, n_test=8, seed=0)
    cell = _cell(CELLS["antisymmetric-gated"], 6, task.d).replace(gamma=1e-4)
    run = rd.train(cell, task, epochs=3, batch=16, lr=0.05, seed=0, lyapunov_every=0)
    for k in ("W", "V", "b", "Vz", "bz"):
        assert not np.array_equal(getattr(run.cell, k), getattr(cell, k)), k
    assert run.cell.gamma >= 0 and run.cell.gamma != 1e-4
    assert run.cell.eps == cell.eps  # held by default
    assert not np.array_equal(run.readout[1], np.zeros(1))
    run2 = rd.train(cell, task, epochs=1, batch=16, lr=0.05, seed=0, train_eps=True, lyapunov_every=0)
    assert run2.cell.eps != cell.eps


def test_history_records_the_dynamics():
    task = rd.make_task("flipflop", length=20, n_train=64, n_test=16, seed=0)
    cell = _cell(CELLS["antisymmetric"], 8, task.d)
    run = rd.train(cell, task, epochs=3, batch=32, lr=0.01, seed=0, lyapunov_every=2)
    h = run.history
    assert set(h) == set(tr._HISTORY) and all(len(v) == 3 for v in h.values())
    assert np.isnan(h["max_lyapunov"][0]) and np.isfinite(h["max_lyapunov"][1])
    assert np.all(np.isfinite(h["grad_ratio"])) and np.all(h["grad_norm"] > 0)
    assert h["radius"][-1] == pytest.approx(rd.analysis.stability.euler_factor(
        np.linalg.eigvals(run.cell.recurrent_matrix), run.cell.eps))
    assert np.all((0 <= h["accuracy"]) & (h["accuracy"] <= 1))


def test_early_stop():
    task = rd.make_task("adding", length=5, n_train=64, n_test=64, seed=0)
    cell = _cell(CELLS["vanilla-orthogonal"], 8, task.d)
    run = rd.train(cell, task, epochs=50, batch=16, lr=0.01, seed=0, early_stop=("test_loss", 0.15),
                   lyapunov_every=0)
    assert run.stopped_early and run.epochs < 50 and run.history["test_loss"][-1] <= 0.15
    assert np.all(run.history["test_loss"][:-1] > 0.15)


def test_clipping_bounds_the_update():
    task = rd.make_task("adding", length=5, n_train=16, n_test=4, seed=0)
    cell = _cell(CELLS["vanilla-orthogonal"], 4, task.d)
    for mode in ("global", "each"):
        run = rd.train(cell, task, epochs=1, batch=16, optimizer=tr.SGD(lr=1.0, momentum=0.0), clip=1e-3,
                       clip_mode=mode, seed=0, lyapunov_every=0)
        bound = 1e-3 * (1 if mode == "global" else math.sqrt(5))
        step = math.sqrt(sum(np.sum((a - b) ** 2) for a, b in ((run.cell.W, cell.W), (run.cell.V, cell.V),
                                                               (run.cell.b, cell.b))))
        assert 0 < step <= bound * (1 + 1e-12)


# --------------------------------------------------------------------------- reproducibility and saved runs


def _same_run(a, b, history=True):
    for k in ("W", "V", "b", "Vz", "bz", "eps", "gamma"):
        x, y = getattr(a.cell, k, None), getattr(b.cell, k, None)
        assert (x is None) == (y is None) and (x is None or np.array_equal(x, y)), k
    for x, y in zip(a.readout, b.readout):
        assert np.array_equal(x, y)
    assert set(a.optimizer_state) == set(b.optimizer_state)
    for k in a.optimizer_state:
        assert np.array_equal(a.optimizer_state[k], b.optimizer_state[k]), k
    if history:
        for k in a.history:
            if k != "time":
                np.testing.assert_array_equal(a.history[k], b.history[k], err_msg=k)
    assert a.epochs == b.epochs


def test_same_seed_same_weights_bit_for_bit():
    task = rd.make_task("adding", length=8, n_train=64, n_test=16, seed=0)
    cell = _cell(CELLS["antisymmetric-gated"], 6, task.d)
    a, b = (rd.train(cell, task, epochs=2, batch=16, lr=0.01, seed=7, lyapunov_every=0) for _ in range(2))
    _same_run(a, b)
    c = rd.train(cell, task, epochs=2, batch=16, lr=0.01, seed=8, lyapunov_every=0)
    assert not np.array_equal(a.cell.W, c.cell.W)


@pytest.mark.parametrize("kind,optimizer,suffix", [("antisymmetric-gated", "adam", ".json"),
                                                   ("vanilla-orthogonal", "sgd", ".npz"), ("euler", "adam", ".npz")])
def test_resume_from_a_checkpoint_equals_an_uninterrupted_run(tmp_path, suffix, kind, optimizer):
    task = rd.make_task("copy", length=4, n_train=48, n_test=8, seed=0)
    cell = _cell(CELLS[kind], 6, task.d)
    kw = dict(batch=16, lr=0.01, optimizer=optimizer, seed=3, clip=0.5, lyapunov_every=1)
    full = rd.train(cell, task, epochs=4, **kw)
    path = tmp_path / f"run{suffix}"
    part = rd.train(cell, task, epochs=2, checkpoint=path, **kw)
    loaded = rd.load_run(path)
    _same_run(part, loaded)
    resumed = rd.train(None, task, epochs=4, resume=path, checkpoint=path)
    _same_run(full, resumed)
    _same_run(full, rd.load_run(path))


def test_a_reloaded_run_is_a_cell_every_analysis_takes(tmp_path):
    task = rd.make_task("adding", length=6, n_train=32, n_test=8, seed=0)
    run = rd.train(_cell(CELLS["antisymmetric"], 4, task.d), task, epochs=1, batch=16, lyapunov_every=0)
    cell = rd.load_run(rd.save_run(run, tmp_path / "r.npz")).cell
    assert isinstance(cell, rd.AntisymmetricRNN)
    rd.stability(cell)
    rd.simulate(cell, np.zeros(4), task.X_test[0])
    rd.lyapunov_spectrum(cell, np.zeros(4), task.X_test[0])
    rd.fixed_points(cell, x=np.zeros(task.d))
    run_task = tr.task_of(run)
    np.testing.assert_array_equal(run_task.X_train, task.X_train)


# --------------------------------------------------------------------------- errors


def test_bad_input_names_the_argument(tmp_path):
    task = rd.make_task("adding", length=5, n_train=16, n_test=4, seed=0)
    cell = _cell(CELLS["vanilla-orthogonal"], 4, task.d)
    cases = [
        (lambda: rd.make_task("addng"), "task"),
        (lambda: rd.make_task("adding", length=0), "length"),
        (lambda: rd.make_task("adding", n_train=0), "n_train"),
        (lambda: rd.make_task("adding", seed=-1), "seed"),
        (lambda: rd.make_cell("lstm", 4, 2), "cell"),
        (lambda: rd.make_cell("euler", 4, 2, gated=True), "gated"),
        (lambda: rd.train(cell, task, epochs=-1), "epochs"),
        (lambda: rd.train(cell, task, batch=0), "batch"),
        (lambda: rd.train(cell, task, lr=0), "lr"),
        (lambda: rd.train(cell, task, optimizer="rmsprop"), "optimizer"),
        (lambda: rd.train(cell, task, clip=-1), "clip"),
        (lambda: rd.train(cell, task, clip_mode="some"), "clip_mode"),
        (lambda: rd.train(cell, task, early_stop=("acc", 1)), "early_stop"),
        (lambda: rd.train(cell, task, early_stop=0.5), "early_stop"),
        (lambda: rd.train(cell, "adding"), "task"),
        (lambda: rd.train(_cell(CELLS["vanilla-orthogonal"], 4, 3), task), "cell"),
        (lambda: rd.train(cell, task, readout=(np.zeros((2, 4)), np.zeros(2))), "readout"),
        (lambda: tr.Adam(beta1=1.0), "beta1"),
        (lambda: tr.SGD(momentum=1.5), "momentum"),
    ]
    for call, name in cases:
        with pytest.raises((ValidationError, ArgumentTypeError)) as info:
            call()
        assert str(info.value).startswith(name) or f"{name}:" in str(info.value), (name, str(info.value))
    rd.save_result(rd.simulate(cell, np.zeros(4), steps=2), tmp_path / "t.json")
    with pytest.raises(LoadError, match="path"):
        rd.load_run(tmp_path / "t.json")
    other = rd.make_task("adding", length=6, n_train=16, n_test=4, seed=0)
    rd.train(cell, task, epochs=1, checkpoint=tmp_path / "r.json", lyapunov_every=0)
    with pytest.raises(ValidationError, match="resume"):
        rd.train(None, other, epochs=2, resume=tmp_path / "r.json")
