"""rd.sweep: the table equals the library's own functions, whatever runs it (serially, on a LocalCluster of
worker processes, with any chunking, after a worker is killed, after an interruption and a resume)."""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import zlib

import numpy as np
import pytest

import rnndyn as rd
from rnndyn.analysis import sweep as sw
from rnndyn.errors import RnndynError, UnknownNameError, ValidationError

ALL = ["lyapunov_max", "lyapunov_sum", "lyapunov_top:2", "jacobian_sv", "grad_ratio", "euler_factor",
       "spectral_radius", "critical_gamma", "diverged_at"]
GRID = {"cell": ["antisymmetric", "vanilla", "antisymmetric-gated"], "size": 3, "eps": "0.1,0.5",
        "gamma": "0:0.4:2"}
KW = {"steps": 40, "transient": 3, "inputs": "noise:0.5", "seeds": 2, "progress": False}


def assert_same_table(a, b, tol=1e-12):
    assert a.columns == b.columns
    assert len(a) == len(b)
    for c in a.columns:
        x, y = a[c], b[c]
        if x.dtype == object or x.dtype.kind == "i":
            assert x.tolist() == y.tolist(), c
        else:
            np.testing.assert_allclose(x, y, rtol=tol, atol=tol, equal_nan=True, err_msg=c)


@pytest.fixture(scope="module")
def serial():
    return rd.sweep(GRID, ALL, workers=0, **KW)


@pytest.fixture(scope="module")
def client():
    pytest.importorskip("distributed")
    from distributed import Client

    from rnndyn.analysis._sweep_dask import local_cluster

    cluster = local_cluster(2, threads=1)
    c = Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


# --------------------------------------------------------------------------- the table


def test_table_layout_and_no_errors(serial):
    assert serial.columns[:7] == (*sw.AXES, "seed")
    assert serial.value_columns == ("lyapunov_max", "lyapunov_sum", "lyapunov_top_1", "lyapunov_top_2",
                                    "jacobian_sv", "grad_ratio", "euler_factor", "spectral_radius",
                                    "critical_gamma", "diverged_at")
    assert len(serial) == 3 * 2 * 2 * 2
    assert serial["error"].tolist() == [""] * len(serial)
    # the last axis varies fastest, seeds innermost
    assert serial["seed"].tolist()[:4] == [0, 1, 0, 1] and serial["gamma"].tolist()[:4] == [0.0, 0.0, 0.4, 0.4]
    van = serial["cell"] == "vanilla"
    assert np.isnan(serial["euler_factor"][van]).all() and np.isfinite(serial["euler_factor"][~van]).all()
    assert (serial["diverged_at"] == -1).all()


def test_each_measure_equals_the_library_called_directly(serial):
    from rnndyn.analysis.stability import singular_values
    from rnndyn.systems.build import build_cell, random_problem

    n, steps, transient = 3, KW["steps"], KW["transient"]
    for row in (0, 5, 11, 19):  # antisymmetric, antisymmetric, vanilla, gated
        cell_kind, size, eps, gamma, init, act = (serial[a][row] for a in sw.AXES)
        seed = int(serial["seed"][row])
        # the documented draw: one generator seeded by (seed, size|init|inputs), random_problem's order
        g = np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(f"{size}|{init}|noise:0.5".encode())]))
        kind = "antisymmetric" if cell_kind == "antisymmetric-gated" else cell_kind
        p = random_problem(kind, n, init=init, d=1, steps=transient + steps, eps=eps, gamma=gamma,
                           activation=act, rng=g)
        cell = p.system
        if cell_kind == "antisymmetric-gated":
            cell = build_cell("antisymmetric", cell.W, eps=eps, gamma=gamma, V=cell.V, gated=True)
        x = p.inputs * 0.5
        u = g.standard_normal(n)
        u /= np.linalg.norm(u)
        les = lambda k: rd.lyapunov_spectrum(cell, p.h0, x, steps=steps, k=k, transient=transient).exponents  # noqa
        h = rd.simulate(cell, p.h0, x[:transient], steps=transient, record="last").final
        sv = singular_values(rd.tangent(cell, h, x[transient:], steps=steps).jacobian)
        up = np.zeros((steps + 1, n))
        up[-1] = u
        dn = rd.bptt(cell, h, x[transient:], steps=steps, dL_dh=up).delta_norms
        rep = rd.stability(cell)
        # np.log10, as the sweep: a numerically singular Jacobian (row 11: singular values 1e-18 and
        # rounding noise) may have an exactly zero one, whose log10 is -inf, not an error
        with np.errstate(divide="ignore"):
            sv_ratio = float(np.log10(sv.min() / sv.max()))
            grad_ratio = float(np.log10(dn[0] / dn[-1]))
        want = {
            "lyapunov_max": les(1)[0],
            "lyapunov_sum": les(None).sum(),
            "lyapunov_top_1": les(2)[0],
            "lyapunov_top_2": les(2)[1],
            "jacobian_sv": sv_ratio,
            "grad_ratio": grad_ratio,
            "euler_factor": math.nan if rep.euler_factor is None else rep.euler_factor,
            "spectral_radius": rep.spectral_radius,
            "critical_gamma": math.nan if rep.critical_gamma is None else rep.critical_gamma,
            "diverged_at": rd.simulate(cell, p.h0, x, steps=transient + steps, record="last").diverged_at,
        }
        for c, v in want.items():
            got = serial[c][row]
            assert got == v or (math.isnan(got) and math.isnan(v)), (row, c, got, v)


def test_summary_and_pivot(serial):
    s = serial.summary()
    assert len(s) == 12 and s["seeds"].tolist() == [2] * 12 and s["errors"].tolist() == [0] * 12
    m = serial["lyapunov_max"]
    assert s["lyapunov_max_mean"][0] == pytest.approx(m[:2].mean())
    assert s["lyapunov_max_max"][0] == max(m[:2]) and s["lyapunov_max_min"][0] == min(m[:2])
    assert s["lyapunov_max_std"][0] == pytest.approx(np.std(m[:2]))
    with pytest.raises(ValidationError, match="cell also varies"):
        serial.pivot("lyapunov_max", "eps", "gamma")


def test_csv_round_trip_is_exact(serial, tmp_path):
    import csv

    text = serial.to_csv(tmp_path / "t.csv")
    assert (tmp_path / "t.csv").read_text() == text
    rows = list(csv.reader(text.splitlines()))
    assert tuple(rows[0]) == serial.columns and len(rows) == len(serial) + 1
    j = serial.columns.index("lyapunov_sum")
    assert [float(r[j]) for r in rows[1:]] == serial["lyapunov_sum"].tolist()


def test_to_pandas(serial):
    pd = pytest.importorskip("pandas")
    df = serial.to_pandas()
    assert isinstance(df, pd.DataFrame) and tuple(df.columns) == serial.columns and len(df) == len(serial)


def test_a_failing_configuration_is_recorded_in_its_rows(monkeypatch):
    import rnndyn.analysis.lyapunov as lyap

    real = lyap.lyapunov_spectrum

    def flaky(cell, *a, **kw):
        if cell.n == 3:
            raise RuntimeError("boom")
        return real(cell, *a, **kw)

    monkeypatch.setattr(lyap, "lyapunov_spectrum", flaky)
    r = rd.sweep({"size": [2, 3]}, ["lyapunov_max", "spectral_radius"], steps=10, seeds=2, workers=0,
                 progress=False)
    assert r["error"].tolist() == ["", "", "RuntimeError: boom", "RuntimeError: boom"]
    assert np.isnan(r["lyapunov_max"][2:]).all() and np.isnan(r["spectral_radius"][2:]).all()
    assert np.isfinite(r["lyapunov_max"][:2]).all()
    assert r.summary()["errors"].tolist() == [0, 2]


def test_a_diverging_configuration_is_recorded_not_raised():
    r = rd.sweep({"cell": "vanilla", "size": 2, "activation": "linear", "init": ["orthogonal", "identity:gain=1e30"]},
                 ["diverged_at", "lyapunov_max"], steps=40, workers=0, progress=False)
    assert r["error"][0] == "" and r["diverged_at"][0] == -1
    assert r["error"][1].startswith("diverged:") and r["diverged_at"][1] > 0


# --------------------------------------------------------------------------- engines


def test_local_cluster_equals_serial_with_any_chunking(serial, client):
    for chunk in (None, 5):
        r = rd.sweep(GRID, ALL, client=client, chunk=chunk, **KW)
        assert r.engine == "dask (2 workers)"
        assert_same_table(r, serial)


def test_a_killed_worker_leaves_the_table_complete(client):
    kw = dict(KW, steps=400)
    want = rd.sweep({"size": 6, "gamma": "0:0.5:6"}, ["lyapunov_sum"], workers=0, **dict(kw, seeds=2))
    pids = client.run(os.getpid)
    killed = []

    def kill_one(done, total):
        if not killed:
            pid = next(iter(pids.values()))
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    r = rd.sweep({"size": 6, "gamma": "0:0.5:6"}, ["lyapunov_sum"], client=client, chunk=1,
                 **dict(kw, seeds=2, progress=kill_one))
    assert killed
    assert_same_table(r, want)
    client.wait_for_workers(2, timeout=60)
    assert killed[0] not in client.run(os.getpid).values()


def test_interrupted_then_resumed_equals_uninterrupted(tmp_path):
    grid = {"size": 3, "gamma": "0:0.5:4"}
    whole = rd.sweep(grid, ["lyapunov_max", "euler_factor"], workers=0, chunk=1, **KW)

    def stop_after_three(done, total):
        if done == 3:
            raise KeyboardInterrupt

    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        rd.sweep(grid, ["lyapunov_max", "euler_factor"], workers=0, chunk=1, out=out,
                 **dict(KW, progress=stop_after_three))
    assert len(list((out / "parts").glob("part-*.json"))) == 3 and not (out / "sweep.csv").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["grid"]["gamma"] == [0.0, 0.5 / 3, 1 / 3, 0.5] and manifest["rnndyn"] == rd.__version__
    ran = []
    r = rd.sweep(grid, ["lyapunov_max", "euler_factor"], workers=0, chunk=2, out=out, resume=True,
                 **dict(KW, progress=lambda d, t: ran.append(t)))
    assert ran and ran[0] == 3  # the 5 rows left, in chunks of 2
    assert_same_table(r, whole, tol=0)
    assert (out / "sweep.csv").read_text() == whole.to_csv()
    again = rd.sweep(grid, ["lyapunov_max", "euler_factor"], workers=0, out=out, resume=True, **KW)
    assert again.engine.startswith("nothing left") and again.to_csv() == whole.to_csv()


def test_resume_refuses_a_different_sweep(tmp_path):
    rd.sweep({"size": 2}, ["spectral_radius"], steps=5, workers=0, out=tmp_path, progress=False)
    with pytest.raises(ValidationError, match="already holds a sweep"):
        rd.sweep({"size": 2}, ["spectral_radius"], steps=5, workers=0, out=tmp_path, progress=False)
    with pytest.raises(ValidationError, match="differs in steps"):
        rd.sweep({"size": 2}, ["spectral_radius"], steps=6, workers=0, out=tmp_path, resume=True, progress=False)
    with pytest.raises(ValidationError, match="resume: needs out"):
        rd.sweep({"size": 2}, ["spectral_radius"], steps=6, workers=0, resume=True, progress=False)


def test_without_distributed_it_runs_serially_and_says_so_once(monkeypatch, serial):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now raises ImportError
    with pytest.warns(UserWarning, match="not installed") as caught:
        r = rd.sweep(GRID, ALL, **dict(KW, chunk=1))
    assert sum("not installed" in str(w.message) for w in caught) == 1
    assert r.engine == "this process (serial)"
    assert_same_table(r, serial, tol=0)


def test_import_rnndyn_does_not_import_dask():
    import subprocess

    code = "import sys, rnndyn as rd; rd.sweep; print(any(m.split('.')[0] in ('dask', 'distributed') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


# --------------------------------------------------------------------------- specs


def test_parse_axis_grammar():
    assert sw.parse_axis("gamma", "0:1:5") == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert sw.parse_axis("eps", "log:0.01:1:3") == pytest.approx((0.01, 0.1, 1.0))
    assert sw.parse_axis("size", ["4,8", 8, "16"]) == (4, 8, 16)
    assert sw.parse_axis("init", "orthogonal:gain=1.0,xavier") == ("orthogonal", "xavier_normal")
    assert sw.parse_axis("activation", "identity") == ("linear",)


@pytest.mark.parametrize("axis, spec, match", [
    ("gamma", "0:1", "cannot read"),
    ("gamma", "a,b", "cannot read"),
    ("gamma", "-1", "gamma"),
    ("eps", "0", "eps"),
    ("eps", "log:0:1:3", "start, stop > 0"),
    ("size", "2.5", "size"),
    ("init", "bogus", "unknown initialisation"),
    ("cell", "lstm", "expected one of"),
    ("activation", "softmax", "expected one of"),
])
def test_malformed_axis_specs_are_refused_by_name(axis, spec, match):
    with pytest.raises(RnndynError, match=match) as e:
        sw.parse_axis(axis, spec)
    assert axis in str(e.value)


@pytest.mark.parametrize("kwargs, match", [
    ({"grid": {"gama": 0.1}}, "unknown axis 'gama'"),
    ({"measures": ["lyapunov"]}, "unknown measure"),
    ({"measures": ["lyapunov_top:x"]}, "lyapunov_top:K"),
    ({"measures": ["lyapunov_top:9"]}, "more exponents than the smallest size"),
    ({"measures": ["euler_factor:2"]}, "takes no parameter"),
    ({"inputs": "noise:abc"}, "inputs"),
    ({"seeds": 0}, "seeds"),
    ({"steps": 0}, "steps"),
])
def test_malformed_sweeps_are_refused_before_running(kwargs, match):
    args = {"grid": {"size": 4}, "measures": ["lyapunov_max"], "steps": 5}
    args.update(kwargs)
    with pytest.raises((ValidationError, UnknownNameError), match=match):
        rd.sweep(args.pop("grid"), args.pop("measures"), workers=0, progress=False, **args)


def test_stability_overlay_matches_the_critical_gamma():
    r = rd.sweep({"size": 4, "eps": "0.1,0.2", "gamma": "0:0.6:4"}, ["lyapunov_max"], steps=5, seeds=2,
                 workers=0, progress=False)
    ov = sw.stability_overlay(r)
    assert ov["euler_factor"].shape == (4, 2)
    for i, e in enumerate((0.1, 0.2)):
        cells = [sw._problem(("antisymmetric", 4, e, 0.0, "normal", "tanh"), s, 5, 0, None)[0] for s in (0, 1)]
        assert ov["critical_gamma"][i] == pytest.approx(np.mean([rd.stability(c).critical_gamma for c in cells]))
    # the Euler factor falls below 1 exactly above the critical γ (seed by seed; here for the mean)
    assert (ov["euler_factor"][0] > 1).all() and (ov["euler_factor"][-1] < 1).all()
