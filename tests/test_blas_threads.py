"""OpenBLAS thread limits for one-off factorisations (rnndyn.backends.blas)."""

from __future__ import annotations

import threading

import numpy as np

from rnndyn.backends.blas import blas_threads, factorisation_threads, idle_cores


def test_nested_limits_do_not_deadlock_and_restore_the_outer_count():
    done = []

    def body():
        with blas_threads(1):
            with factorisation_threads():  # what orthogonal() and stability() take inside a caller's limit
                np.linalg.qr(np.eye(4))
            done.append(True)

    t = threading.Thread(target=body, daemon=True)
    t.start()
    t.join(timeout=30)
    assert done == [True], "nested blas_threads blocked"


def test_idle_cores_is_at_least_one_and_respects_the_environment_cap(monkeypatch):
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    assert idle_cores() == 1
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    assert idle_cores() >= 1
