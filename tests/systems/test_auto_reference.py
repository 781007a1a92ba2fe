"""``backend="auto"`` and the NumPy twins: ``config.AUTO_REFERENCE_SECONDS`` moves small cell requests to them."""

from __future__ import annotations

import numpy as np
import pytest

import rnndyn as rd
from rnndyn import config
from rnndyn.backends import kernel_for
from rnndyn.backends.registry import reference_seconds


def backend_of(driver) -> str:
    return driver.func.__self__.name


@pytest.fixture
def one_second(monkeypatch):
    monkeypatch.setattr(config, "AUTO_REFERENCE_SECONDS", 1.0)
    monkeypatch.setattr(config, "CUDA_MIN_WORK", float("inf"))  # "cpu", not the simulator, is the other choice


def test_the_library_default_never_picks_the_twins():
    assert config.AUTO_REFERENCE_SECONDS == 0.0
    assert backend_of(kernel_for("simulate", "cell", work=1.0, n=2, steps=1)) == "cpu"


@pytest.mark.parametrize("algorithm", ["simulate", "tangent", "lyapunov", "bptt"])
def test_small_cell_requests_go_to_the_twins_large_ones_stay_compiled(one_second, algorithm):
    per_step = config.REFERENCE_STEP_SECONDS[algorithm]
    fits = int(0.9 / per_step)
    assert backend_of(kernel_for(algorithm, "cell", work=1e3, n=4, steps=fits)) == "reference"
    assert backend_of(kernel_for(algorithm, "cell", work=1e3, n=4, steps=int(1.1 / per_step))) == "cpu"
    # the multiply-adds count too: few steps of a large state
    assert backend_of(kernel_for(algorithm, "cell", work=2.0 / config.REFERENCE_MADD_SECONDS, n=4, steps=1)) == "cpu"


def test_the_estimate_adds_steps_and_work(monkeypatch):
    monkeypatch.setitem(config.REFERENCE_STEP_SECONDS, "simulate", 1e-4)
    monkeypatch.setattr(config, "REFERENCE_MADD_SECONDS", 1e-9)
    assert reference_seconds("simulate", 1000, 5e8) == pytest.approx(0.1 + 0.5)
    assert reference_seconds("basins", 1, 1) == float("inf")


def test_without_steps_an_explicit_backend_or_another_family_nothing_moves(one_second):
    assert backend_of(kernel_for("simulate", "cell", work=1.0, n=2)) == "cpu"
    assert backend_of(kernel_for("simulate", "cell", "cpu", work=1.0, n=2, steps=1)) == "cpu"
    assert backend_of(kernel_for("simulate", "map", work=1.0, n=2, steps=1)) == "cpu"
    assert backend_of(kernel_for("basins", "cell", work=1.0, n=2, steps=1)) == "cpu"


def test_results_on_the_twins_agree_with_the_compiled_kernels(monkeypatch):
    cell = rd.AntisymmetricRNN(np.array([[0.0, -2.0], [2.0, 0.0]]), eps=0.1, gamma=0.15)
    h0 = np.array([[0.0, 0.5], [-0.5, -0.5]])
    compiled = rd.simulate(cell, h0, steps=50, record="all").states
    monkeypatch.setattr(config, "AUTO_REFERENCE_SECONDS", 1.0)
    twins = rd.simulate(cell, h0, steps=50, record="all").states
    np.testing.assert_allclose(twins, compiled, rtol=1e-13, atol=1e-15)


def test_a_batch_counts_per_trajectory(one_second):
    per_step = config.REFERENCE_STEP_SECONDS["lyapunov"]
    steps = int(0.5 / per_step)
    assert backend_of(kernel_for("lyapunov", "cell", work=1e3, n=4, steps=steps, batch=1)) == "reference"
    assert backend_of(kernel_for("lyapunov", "cell", work=1e3, n=4, steps=steps, batch=64)) == "cpu"
