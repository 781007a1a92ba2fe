"""Check that the peer implementations agree (a script, not a pytest test).

Runs every workload of ``peers.py`` at a small size on every installed backend
(numpy, torch, jax) and asserts each agrees with the NumPy one to 1e-10, relative
in norm: ||x - x_numpy|| <= 1e-10 ||x_numpy|| (per returned array; bptt's loss
and each gradient separately). Also checks the numpy results against a few
independent facts (finite differences for bptt and tangent, the 2-D linear
rotation for euler2d_grid, the sum of exponents for lyapunov).

    python benchmarks/check_peers.py [--tol 1e-10]

Exit status 0 when everything agrees; prints one line per check.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import peers  # noqa: E402


def relerr(a, ref) -> float:
    a, ref = np.asarray(a, dtype=np.float64), np.asarray(ref, dtype=np.float64)
    if a.shape != ref.shape:
        return float("inf")
    den = np.linalg.norm(ref)
    num = np.linalg.norm(a - ref)
    return float(num / den) if den > 0 else float(num)


#: (workload, problem kwargs, factory options) at small sizes; d > 1 and every cell covered.
CASES = [
    ("euler2d_grid", dict(B=32 * 32, T=50), {}),
    ("euler2d_grid", dict(B=16 * 16, T=30), dict(record="all")),
    ("simulate", dict(n=8, B=4, T=60, d=2), dict(record="all")),
    ("simulate", dict(n=8, B=4, T=60, d=2), dict(record="last")),
    ("simulate", dict(n=6, B=3, T=40, d=1, cell="antisymmetric"), dict(record="all")),
    ("simulate", dict(n=6, B=3, T=40, d=2, cell="vanilla"), dict(record="all")),
    ("tangent", dict(n=6, B=3, T=50, d=2), {}),
    ("tangent", dict(n=6, B=3, T=50, d=1), dict(method="jacfwd")),
    ("tangent", dict(n=5, B=2, T=30, d=1, cell="antisymmetric"), {}),
    ("bptt", dict(n=5, B=3, T=50, d=2), {}),
    ("bptt", dict(n=8, B=1, T=100, d=1), {}),
    ("bptt", dict(n=5, B=2, T=30, d=2, cell="euler"), {}),
    ("bptt", dict(n=5, B=2, T=20, d=2, cell="vanilla"), {}),
    ("lyapunov", dict(n=6, T=200), {}),
    ("lyapunov", dict(n=6, T=200, cell="antisymmetric"), {}),
    ("lyapunov", dict(n=16, T=100, cell="vanilla", seed=3), {}),
]


def _arrays(res):
    if isinstance(res, dict):
        return {k: np.asarray(v) for k, v in res.items()}
    return {"out": np.asarray(res)}


def check_backends(tol: float) -> int:
    backends = peers.available_backends()
    print(f"backends: {backends}")
    failures = 0
    for workload, pk, opts in CASES:
        p = peers.problem(workload, **pk)
        ref = None
        for bk in backends:
            fn = peers.make(workload, bk, **p, **opts)
            fn()  # warm-up (compile)
            res = _arrays(fn())
            if bk == "numpy":
                ref = res
                for k, v in res.items():
                    assert np.all(np.isfinite(v)), f"{workload} numpy {k}: non-finite"
                continue
            errs = {k: relerr(res.get(k), v) for k, v in ref.items()}
            worst = max(errs.values())
            ok = worst <= tol
            failures += not ok
            label = f"{workload} {pk} {opts}".strip()
            print(f"{'ok  ' if ok else 'FAIL'} {bk:5s} vs numpy  {label}: max rel err {worst:.2e}"
                  + ("" if ok else f"  {errs}"))
    return failures


def check_facts() -> int:
    """Independent checks of the NumPy implementations."""
    failures = 0

    def report(name, err, tol):
        nonlocal failures
        ok = err <= tol
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} fact: {name}: {err:.2e} (tol {tol:g})")

    # bptt: central finite differences of the loss in every parameter entry
    for cell in ("antisymmetric", "euler", "vanilla"):
        p = peers.problem("bptt", n=4, B=2, T=15, d=2, cell=cell, seed=1)
        g = peers.make_bptt("numpy", **p)()

        def loss(**over):
            q = {**p, **over}
            h = peers.make_simulate("numpy", **q, record="last")()
            return 0.5 * np.sum(h * h)

        fds, gs = [], []
        for key in ("W", "V", "b", "h0"):
            base = p[key]
            fd = np.zeros_like(base)
            for idx in np.ndindex(base.shape):
                e = np.zeros_like(base)
                e[idx] = 1e-6
                fd[idx] = (loss(**{key: base + e}) - loss(**{key: base - e})) / 2e-6
            fds.append(fd.ravel())
            gs.append(np.ravel(g[key]))
        # relative to the whole gradient (vanilla's dL/dh0 is ~1e-5 of the rest)
        report(f"bptt {cell} gradients vs finite differences",
               relerr(np.concatenate(gs), np.concatenate(fds)), 1e-7)
        report(f"bptt {cell} loss vs simulate", abs(g["loss"] - loss()) / loss(), 1e-13)

    # tangent: finite differences of h_T in h0
    p = peers.problem("tangent", n=5, B=2, T=20, d=2, seed=2)
    A = peers.make_tangent("numpy", **p)()
    fd = np.zeros_like(A)
    for j in range(p["n"]):
        e = np.zeros_like(p["h0"])
        e[:, j] = 1e-6
        hp = peers.make_simulate("numpy", **{**p, "h0": p["h0"] + e}, record="last")()
        hm = peers.make_simulate("numpy", **{**p, "h0": p["h0"] - e}, record="last")()
        fd[:, :, j] = (hp - hm) / 2e-6
    report("tangent vs finite differences", relerr(A, fd), 1e-6)

    # simulate "all" ends with "last", starts with h0
    p = peers.problem("simulate", n=6, B=3, T=30, d=2)
    full = peers.make_simulate("numpy", **p, record="all")()
    last = peers.make_simulate("numpy", **p, record="last")()
    report("simulate all[:, -1] == last and all[:, 0] == h0",
           max(relerr(full[:, -1], last), relerr(full[:, 0], p["h0"])), 0.0)

    # euler2d_grid: from a tiny grid, tanh(a) ~ a -> h_T ~ (I + eps M)^T h0
    p = peers.problem("euler2d_grid", B=16 * 16, T=50)
    q = {**p, "h0": 1e-5 * p["h0"]}
    M = p["W"] - p["gamma"] * np.eye(2)
    lin = q["h0"] @ np.linalg.matrix_power(np.eye(2) + p["eps"] * M, 50).T
    out = peers.make_euler2d_grid("numpy", **q)()
    report("euler2d_grid ~ linear map near 0", relerr(out, lin), 1e-8)

    # lyapunov: sum of exponents = mean log|det J_t| along the orbit
    p = peers.problem("lyapunov", n=6, T=300, seed=4)
    lam = peers.make_lyapunov("numpy", **p)()
    M = p["W"] - p["gamma"] * np.eye(6)
    h = p["h0"].copy()
    s = 0.0
    for _ in range(p["T"]):
        y = np.tanh(M @ h + p["b"])
        s += np.linalg.slogdet(np.eye(6) + (p["eps"] * (1 - y * y))[:, None] * M)[1]
        h = h + p["eps"] * y
    report("lyapunov sum == mean log|det J|", abs(lam.sum() - s / p["T"]) / abs(s / p["T"]), 1e-10)
    report("lyapunov sorted descending", float(np.any(np.diff(lam) > 0)), 0.0)
    return failures


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tol", type=float, default=1e-10)
    args = ap.parse_args(argv)
    failures = check_facts() + check_backends(args.tol)
    print(f"{'all agree' if failures == 0 else f'{failures} FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
