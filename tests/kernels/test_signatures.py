"""One compiled specialisation per kernel, whatever the options (DESIGN §4).

A grid of option combinations (cell × activation × gated × inputs or none × record ×
loss × matrix source, read-only memory maps and float32 files included × batch or
not) runs through the library and the command line in a fresh process; afterwards
every kernel's numba dispatcher must hold exactly the signatures expected: one, or
two for ``simulate``, which is also offered in float32. A fresh process, because
other tests call the kernels directly with types of their own. With the kernels
already in the disk cache (``rnndyn compile``, or the tests before this one) it
loads them and compiles nothing.

Run as a script (``python -m tests.kernels.test_signatures DIR``) it is that fresh
process: it prints one JSON line with the signature counts and, per kernel, the
first combination that added a signature beyond the expected.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings

import numpy as np

#: Kernel -> signatures after the grid (float64; float32 too where the public API offers it).
EXPECTED = {
    "simulate": 2,
    "tangent": 1,
    "lyapunov": 1,
    "bptt": 1,
    "map_simulate": 1,
    "map_tangent": 1,
    "map_lyapunov": 1,
    "lstm_rule": 1,
    "lstm_jac": 1,
    "bifurcation": 1,
}

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_every_option_combination_runs_the_same_compiled_kernels(tmp_path):
    env = dict(os.environ, MPLBACKEND="Agg", PYTHONPATH=_ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    run = subprocess.run([sys.executable, "-m", "tests.kernels.test_signatures", str(tmp_path)], cwd=_ROOT,
                         env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-4000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["failed"] == [], result["failed"]
    assert result["counts"] == EXPECTED, result["added_by"]


# --------------------------------------------------------------------------- the fresh process


def _counts() -> dict:
    """Signatures compiled or loaded so far, per kernel of :data:`EXPECTED` (0 for one never called)."""
    from rnndyn.kernels.cpu import KERNELS

    counts = {}
    for name in EXPECTED:
        module = sys.modules.get(f"rnndyn.kernels.cpu.{KERNELS[name]}")
        disp = vars(module).get(name) if module is not None else None
        counts[name] = len(disp.signatures) if disp is not None else 0
    return counts


def _library_grid(tmp):
    """(label, call) pairs: every public algorithm over cells, matrix sources, states and inputs."""
    import rnndyn as rd
    from rnndyn.analysis.orbits1d import bifurcation

    rng = np.random.default_rng(0)
    n, d, T = 3, 2, 5
    W = rng.normal(0, 0.4, (n, n))
    V = rng.normal(0, 0.3, (n, d))
    b = rng.normal(0, 0.1, n)
    X = rng.normal(size=(T, d))
    for name, a in {"w": W, "w32": W.astype(np.float32), "wF": np.asfortranarray(W), "x": X}.items():
        np.save(os.path.join(tmp, f"{name}.npy"), a)
    np.save(os.path.join(tmp, "r.npy"), np.array([2.5, 3.2, 3.7]))
    ro = np.load(os.path.join(tmp, "w.npy"), mmap_mode="r")  # a read-only memory map
    matrices = {
        "array": W, "float32": W.astype(np.float32), "fortran": np.asfortranarray(W), "list": W.tolist(),
        "int": np.eye(n, dtype=np.int32), "memmap": ro, "view": np.repeat(W, 2, axis=1)[:, ::2],
        "load_matrix": rd.load_matrix(os.path.join(tmp, "w.npy")),
        "load_matrix float32": rd.load_matrix(os.path.join(tmp, "w32.npy")),
        "np.load fortran": np.load(os.path.join(tmp, "wF.npy")), "orthogonal": rd.init.orthogonal(n, rng=0),
    }
    for mname, m in matrices.items():
        cell = rd.VanillaRNN(m)
        yield f"vanilla, W {mname}", [
            lambda c=cell: rd.simulate(c, np.full(n, 0.3), steps=T),
            lambda c=cell: rd.tangent(c, np.full(n, 0.3), steps=T),
            lambda c=cell: rd.lyapunov_spectrum(c, np.full(n, 0.3), steps=T),
            lambda c=cell: rd.bptt(c, np.full(n, 0.3), steps=T),
            lambda c=cell: rd.jacobian_spectrum(c, np.full((2, n), 0.3), steps=T),
        ]
    cells = []
    for act in ("tanh", "relu", "linear", "sigmoid"):
        cells.append((f"vanilla {act}", rd.VanillaRNN(W, V, b, activation=act)))
        cells.append((f"euler {act}", rd.EulerRNN(W, V, b, eps=0.1, gamma=0.05, activation=act)))
    cells += [
        ("euler int eps", rd.EulerRNN(W, eps=1, gamma=0)),
        ("euler float32 eps", rd.EulerRNN(W, eps=np.float32(0.1), gamma=np.float32(0.05))),
        ("euler V float32", rd.EulerRNN(W, V.astype(np.float32), eps=0.1)),
        ("euler V read-only", rd.EulerRNN(W, ro[:, :d], eps=0.1)),
        ("antisymmetric", rd.AntisymmetricRNN(W, eps=0.1, gamma=0.15)),
        ("antisymmetric V", rd.AntisymmetricRNN(W, V, b, eps=0.1, gamma=0.15)),
        ("antisymmetric gated", rd.AntisymmetricRNN(W, V, b, eps=0.1, gamma=0.15, gated=np.bool_(True))),
        ("antisymmetric gated no V", rd.AntisymmetricRNN(W, eps=0.1, gamma=0.15, gated=True)),
    ]
    states = {"(n,)": np.full(n, 0.3), "(2, n)": np.full((2, n), 0.3), "list": [0.3] * n,
              "int": np.ones(n, np.int64), "float32": np.full(n, 0.3, np.float32), "read-only": ro[0],
              "read-only batch": ro, "batch of 5": rng.normal(size=(5, n))}
    inputs = {"none": None, "(T, d)": X, "float32": X.astype(np.float32), "fortran": np.asfortranarray(X),
              "list": X.tolist(), "(2, T, d)": rng.normal(size=(2, T, d)), "view": np.repeat(X, 2, axis=1)[:, ::2],
              "read-only": np.load(os.path.join(tmp, "x.npy"), mmap_mode="r")}
    for cname, cell in cells:
        # the state's type is independent of the cell's: two cells suffice (one with an input term, one gated)
        for sname, h0 in (states.items() if cname in ("euler tanh", "antisymmetric gated") else ()):
            yield f"{cname}, h0 {sname}", [
                lambda c=cell, h=h0: rd.simulate(c, h, steps=T, record=np.int32(2)),
                lambda c=cell, h=h0: rd.tangent(c, h, steps=np.int32(T)),
                lambda c=cell, h=h0: rd.lyapunov_spectrum(c, h, steps=T),
                lambda c=cell, h=h0: rd.bptt(c, h, steps=T, loss="sum"),
            ]
        for iname, x in inputs.items():
            if x is not None and cell.d == 0:
                continue
            h0 = np.full((2, n), 0.3) if iname == "(2, T, d)" else np.full(n, 0.3)
            steps = T if x is None else None
            yield f"{cname}, inputs {iname}", [
                lambda c=cell, h=h0, x=x, s=steps: rd.simulate(c, h, x, steps=s, record="all"),
                lambda c=cell, h=h0, x=x, s=steps: rd.simulate(c, h, x, steps=s, record="last"),
                lambda c=cell, h=h0, x=x, s=steps: rd.simulate(c, h, x, steps=s, record=2, dtype=np.float32),
                lambda c=cell, h=h0, x=x, s=steps: rd.tangent(c, h, x, steps=s, norm="fro",
                                                              vectors=np.eye(n)[:, :1]),
                lambda c=cell, h=h0, x=x, s=steps: rd.lyapunov_spectrum(c, h, x, steps=s, k=1, transient=2,
                                                                        return_history=True),
                lambda c=cell, h=h0, x=x, s=steps: rd.bptt(c, h, x, steps=s, loss="last"),
                lambda c=cell, h=h0, x=x, s=steps: rd.bptt(c, h, x, steps=s, loss="upstream",
                                                           dL_dh=np.ones((T + 1, n))),
                lambda c=cell, h=h0, x=x, s=steps: rd.bptt(c, h, x, steps=s, loss="readout", checkpoint=2,
                                                           readout=(np.ones((2, n)), np.zeros(2)), targets=1),
            ]
    lstm = rd.LSTM(rng.normal(0, 0.3, (8, 2)), rng.normal(0, 0.3, (8, 2)), np.zeros(8))
    for system, sname in ((rd.systems.henon(), "henon"), (lstm, "lstm")):
        dim = system.dim
        np.save(os.path.join(tmp, f"h{dim}.npy"), np.full((2, dim), 0.1))
        rows = np.load(os.path.join(tmp, f"h{dim}.npy"), mmap_mode="r")
        for hname, h0 in {"(dim,)": np.full(dim, 0.1), "list": [0.1] * dim, "read-only": rows[0],
                          "read-only batch": rows}.items():
            yield f"{sname}, h0 {hname}", [
                lambda s=system, h=h0: rd.simulate(s, h, steps=T),
                lambda s=system, h=h0: rd.tangent(s, h, steps=T),
                lambda s=system, h=h0: rd.lyapunov_spectrum(s, h, steps=T),
            ]
    yield "lstm, inputs read-only", [
        lambda: rd.simulate(lstm, np.zeros(4), np.load(os.path.join(tmp, "x.npy"), mmap_mode="r")),
        lambda: rd.lyapunov_spectrum(lstm, np.zeros(4), np.load(os.path.join(tmp, "x.npy"), mmap_mode="r")),
    ]
    yield "bifurcation", [
        lambda: bifurcation([2.5, 3.2], transient=10, keep=4),
        lambda: bifurcation([3, 4], x0=1, transient=np.int32(10), keep=4),
        lambda: bifurcation(np.load(os.path.join(tmp, "r.npy"), mmap_mode="r"), transient=10, keep=4),
        lambda: bifurcation(np.linspace(2.5, 4, 6, dtype=np.float32)[::2], x0=np.float32(0.5), keep=4),
    ]
    yield "phase_portrait", [lambda: rd.phase_portrait(rd.AntisymmetricRNN(rd.named_matrix("W0"), eps=0.1,
                                                                           gamma=0.15), steps=5, grid=3)]
    for kind in ("vanilla", "euler", "antisymmetric"):
        yield f"gradient_norms {kind}", [
            lambda k=kind: rd.gradient_norms(cell=k, activation="linear", size=4, steps=3, batch=3,
                                             inits=["orthogonal", "normal:std=3", "identity"]),
        ]


def _cli_grid(tmp):
    """argv lists: every command that runs kernels, over its cell, activation, init and matrix-file options."""
    w = os.path.join(tmp, "w4.npy")
    np.save(w, np.random.default_rng(1).normal(0, 0.3, (4, 4)))
    w32 = os.path.join(tmp, "w4_float32.npy")
    np.save(w32, np.load(w).astype(np.float32))
    wF = os.path.join(tmp, "w4_fortran.npy")
    np.save(wF, np.asfortranarray(np.load(w)))
    j = ["--json"]
    yield ["phase", "--matrix", "W0", "--gamma", "0.15"] + j
    yield ["phase", "--matrix", "Wdiff", "--cell", "euler", "--activation", "relu", "--steps", "5", "--random",
           "2"] + j
    for extra in ([], ["--activation", "linear", "--init", "normal:3"], ["--cell", "vanilla"], ["--h0", "0.5"],
                  ["--cell", "euler", "--activation", "relu"], ["--activation", "sigmoid", "--init", "orthogonal"]):
        yield ["gradients", "--size", "4", "--steps", "3"] + extra + j
    for extra in ([], ["--noise", "2"], ["--k", "2", "--history"], ["--cell", "euler", "--activation", "relu"],
                  ["--reortho", "2"]):
        yield ["lyapunov", "--size", "4", "--steps", "5", "--transient", "1"] + extra + j
    for m in (w, w32, wF):
        yield ["gradients", "--steps", "3", "--matrix", m] + j
        yield ["lyapunov", "--steps", "5", "--cell", "vanilla", "--matrix", m] + j
    for cell in ("henon", "logistic"):
        yield ["lyapunov", "--cell", cell, "--steps", "5"] + j
    yield ["lyapunov", "--cell", "lstm", "--size", "3", "--steps", "5"] + j
    for extra in ([], ["--cell", "vanilla"], ["--cell", "linear"], ["--init", "orthogonal"]):
        yield ["norms", "--size", "4", "--steps", "3"] + extra + j
    yield ["cobweb", "--map", "logistic:3.5", "--steps", "3"] + j


def _main(tmp) -> int:
    warnings.simplefilter("ignore")
    from tests.helpers import run_cli

    added_by, failed = {}, []

    def note(label):
        for name, count in _counts().items():
            if count > EXPECTED[name] and name not in added_by:
                added_by[name] = f"signature {count} of {name} added by: {label}"

    for label, calls in _library_grid(tmp):
        for call in calls:
            try:
                call()
            except Exception as exc:  # noqa: BLE001 - every failure is reported, the grid goes on
                failed.append(f"{label}: {type(exc).__name__}: {exc}"[:300])
        note(label)
    for argv in _cli_grid(tmp):
        res = run_cli(argv)
        if res.exit_code != 0:
            failed.append(f"rnndyn {' '.join(argv)}: exit {res.exit_code}: {res.output[-300:]}")
        note("rnndyn " + " ".join(argv))
    print(json.dumps({"counts": _counts(), "added_by": added_by, "failed": failed}))
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1]))
