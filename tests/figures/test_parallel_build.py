"""``build_all(jobs=N)``: figures built in worker processes are the files a serial build writes."""

from __future__ import annotations

import pytest

import rnndyn.figures as F
from rnndyn.errors import ValidationError

CHEAP = ["d2l_sigmoid_gradient", "logistic_bifurcation", "stability_region"]


def test_two_workers_write_the_same_bytes_as_one(tmp_path):
    serial = F.build_all(tmp_path / "one", names=CHEAP, quick=True, gallery=False)
    seen = []
    parallel = F.build_all(tmp_path / "two", names=CHEAP, quick=True, jobs=2, on_built=lambda b: seen.append(b.name))
    assert [b.name for b in parallel] == [b.name for b in serial] == CHEAP  # in the order asked for
    assert sorted(seen) == sorted(CHEAP)  # each reported once, as it finished
    for a, b in zip(serial, parallel):
        assert a.path.read_bytes() == b.path.read_bytes(), a.name
    assert (tmp_path / "two" / "README.md").exists()


def test_a_build_function_that_cannot_be_pickled_is_built_here(tmp_path, monkeypatch):
    from matplotlib.figure import Figure

    def local_figure(quick=False):
        fig = Figure(figsize=(2, 2))
        fig.add_subplot().plot([0, 1], [1, 0])
        return fig

    monkeypatch.setitem(F._REGISTRY, "local_test_figure", F.FigureSpec("local_test_figure", local_figure, "test", "x"))
    built = F.build_all(tmp_path, names=["local_test_figure", "d2l_sigmoid_gradient"], quick=True, jobs=2,
                        gallery=False)
    assert [b.path.name for b in built] == ["local_test_figure.png", "d2l_sigmoid_gradient.png"]
    assert all(b.path.stat().st_size > 1000 for b in built)


def test_a_worker_error_reaches_the_caller(tmp_path, monkeypatch):
    # a registered module-level function whose build fails inside the worker: "quick" must be a bool there
    monkeypatch.setitem(F._REGISTRY, "broken", F.FigureSpec("broken", F.default_jobs, "test", "fails"))
    with pytest.raises(TypeError):
        F.build_all(tmp_path, names=["broken", "d2l_sigmoid_gradient"], quick=True, jobs=2, gallery=False)


def test_jobs_is_validated(tmp_path):
    with pytest.raises(ValidationError, match="jobs"):
        F.build_all(tmp_path, names=CHEAP[:1], jobs=0)
