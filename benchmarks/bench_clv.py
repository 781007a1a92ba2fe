"""Benchmark: covariant Lyapunov vectors (Ginelli et al. 2007), rnndyn against lyapynov and JAX.

Problem: a vanilla tanh cell h_t = tanh(W h_{t-1}), W ~ N(0, g²/n), g = 2
(chaotic), n = 64, one trajectory, all n vectors, no forward transient,
T = 10 000 reported steps plus 1 000 backward-transient steps, the vectors
kept and the minimal unstable/stable angle computed at every step, float64.

Contenders, each timed in its own subprocess (min of ``--repeats`` runs after
one warm-up run that also compiles):

* ``rnndyn``: ``rd.covariant_lyapunov_vectors`` (cpu kernels), angles included;
* ``lyapynov``: ``lyapynov.CLV`` (NumPy) on the same trajectory and Jacobians,
  then the same angle computation in NumPy on its vectors;
* ``jax``: the same algorithm as a careful JAX user writes it: x64, ``jit``,
  a ``lax.scan`` forward pass (step, Jacobian product, QR with signs fixed)
  that keeps R and Q, a reversed ``lax.scan`` of the triangular solves, then
  V = Q C and the angles by batched QR and SVD.

Run::

    python benchmarks/bench_clv.py [--repeats 3] [--steps 10000] [--n 64] [--only rnndyn lyapynov jax]

Prints seconds per contender and the ratios contender / rnndyn (> 1: rnndyn is faster).
Targets of issue 22: ≥ 20× against lyapynov, faster than JAX.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

N, STEPS, TB, GAIN, SEED = 64, 10_000, 1_000, 2.0, 0


def problem(n):
    import numpy as np

    rng = np.random.default_rng(SEED)
    W = rng.standard_normal((n, n)) * GAIN / np.sqrt(n)
    h0 = 0.5 * rng.standard_normal(n)
    return W, h0


def _angles_numpy(V, s):
    """Minimal angle between span(V[:, :s]) and span(V[:, s:]) for a stack V (T, n, n)."""
    import numpy as np

    Uu = np.linalg.qr(V[:, :, :s])[0]
    Us = np.linalg.qr(V[:, :, s:])[0]
    M = np.swapaxes(Uu, 1, 2) @ Us
    cos = np.linalg.svd(M, compute_uv=False).max(axis=-1)
    P = Us - Uu @ M
    sin = np.linalg.svd(P, compute_uv=False).min(axis=-1)
    return np.arctan2(sin, cos)


def run_rnndyn(n, steps):
    import numpy as np

    import rnndyn as rd

    W, h0 = problem(n)
    cell = rd.VanillaRNN(W)

    def once():
        return rd.covariant_lyapunov_vectors(cell, h0, steps=steps, transient=0, transient_backward=TB)

    return once, lambda r: (np.asarray(r.exponents), int(r.split), float(np.nanmin(r.angles)))


def run_lyapynov(n, steps):
    import lyapynov
    import numpy as np

    W, h0 = problem(n)

    def f(x, t):
        return np.tanh(W @ x)

    def jac(x, t):
        return (1.0 - np.tanh(W @ x) ** 2)[:, None] * W

    def once():
        np.random.seed(0)
        V = np.array(lyapynov.CLV(lyapynov.DiscreteDS(h0.copy(), 0, f, jac), n, 0, 0, steps, TB, False))
        # exponents from the growth of the vectors (as rnndyn defines them), then the angles
        G = []
        x = h0.copy()
        for t in range(steps):
            J = jac(x, 0)
            x = f(x, 0)
            G.append(np.log(np.linalg.norm(J @ V[t], axis=0)))
        ex = np.mean(G, axis=0)
        s = int((ex > 0).sum())
        return ex, s, _angles_numpy(V, s)

    return once, lambda r: (r[0], r[1], float(r[2].min()))


def run_jax(n, steps):
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    import numpy as np
    from jax import lax
    from jax.scipy.linalg import solve_triangular

    W, h0 = problem(n)
    Wj = jnp.asarray(W)

    def fwd_step(carry, _):
        h, Q = carry
        a = Wj @ h
        hn = jnp.tanh(a)
        P = (1.0 - hn ** 2)[:, None] * (Wj @ Q)
        Qn, R = jnp.linalg.qr(P)
        sgn = jnp.where(jnp.diagonal(R) < 0, -1.0, 1.0)
        Qn, R = Qn * sgn, R * sgn[:, None]
        return (hn, Qn), (Qn, R)

    def bwd_step(C, R):
        X = solve_triangular(R, C, lower=False)
        nrm = jnp.linalg.norm(X, axis=0)
        Cn = X / nrm
        return Cn, (Cn, -jnp.log(nrm))

    @jax.jit
    def clv(h0):
        (_, _), (Qs, Rs) = lax.scan(fwd_step, (h0, jnp.eye(n)), None, length=steps + TB)
        C_end = jnp.eye(n)
        _, (Cs, growth) = lax.scan(bwd_step, C_end, Rs, reverse=True)
        # C after row r is C at time r; time 0's basis is the identity
        Q_all = jnp.concatenate([jnp.eye(n)[None], Qs[:steps - 1]], axis=0)
        V = jnp.einsum("tij,tjk->tik", Q_all, Cs[:steps])
        ex = growth[:steps].mean(axis=0)
        return V, ex, Cs[:steps]

    def once():
        V, ex, Cs = clv(jnp.asarray(h0))
        ex = np.asarray(ex)
        s = int((ex > 0).sum())
        Cs = Cs[:, :, s:]
        U = jnp.linalg.qr(Cs)[0]
        cos = jnp.linalg.svd(U[:, :s, :], compute_uv=False).max(axis=-1)
        sin = jnp.linalg.svd(U[:, s:, :], compute_uv=False).min(axis=-1)
        ang = jnp.arctan2(sin, cos).block_until_ready()
        V.block_until_ready()
        return ex, s, np.asarray(ang)

    return once, lambda r: (r[0], r[1], float(r[2].min()))


RUNNERS = {"rnndyn": run_rnndyn, "lyapynov": run_lyapynov, "jax": run_jax}


def child(name, n, steps, repeats):
    once, summary = RUNNERS[name](n, steps)
    t = time.perf_counter()
    res = once()  # warm-up (compiles)
    first = time.perf_counter() - t
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        res = once()
        times.append(time.perf_counter() - t)
    ex, s, amin = summary(res)
    print(json.dumps({"name": name, "first": first, "min": min(times), "times": times, "lambda1": float(ex[0]),
                      "split": s, "angle_min": amin}))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--n", type=int, default=N)
    ap.add_argument("--only", nargs="*", default=list(RUNNERS))
    ap.add_argument("--child", default=None)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.n, args.steps, args.repeats)
        return
    rows = {}
    for name in args.only:
        p = subprocess.run([sys.executable, __file__, "--child", name, "--n", str(args.n), "--steps", str(args.steps),
                            "--repeats", str(args.repeats)], capture_output=True, text=True)
        if p.returncode != 0:
            print(f"{name}: failed\n{p.stderr[-2000:]}")
            continue
        rows[name] = json.loads(p.stdout.strip().splitlines()[-1])
    print(f"CLVs, n = {args.n}, T = {args.steps} (+{TB} backward), all vectors, angles every step; "
          f"min of {args.repeats}")
    base = rows.get("rnndyn", {}).get("min")
    for name, r in rows.items():
        ratio = f"{r['min'] / base:8.1f}x" if base else ""
        print(f"{name:<10}{r['min']:10.3f} s  (first {r['first']:.2f} s)  {ratio}  λ_1 = {r['lambda1']:.5f}, "
              f"s = {r['split']}, min angle = {r['angle_min']:.3g}")


if __name__ == "__main__":
    main()
