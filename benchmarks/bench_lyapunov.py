"""Benchmark: full Lyapunov spectra by the Benettin/QR method.

Times ``rd.lyapunov_spectrum`` (cpu kernel, and the NumPy reference twin at the
small size) against the peer implementations of ``benchmarks/peers.py``
(``make_lyapunov``: a NumPy loop with ``np.linalg.qr``, the same in PyTorch, and
``jax.jit`` over ``lax.scan`` with ``jnp.linalg.qr``) on the peers' problem: an
autonomous Euler cell (M = W − γI, W ~ N(0, 1/n), γ = 0.1, ε = 0.1), one
trajectory, the full spectrum, QR every step, float64.

Sizes (``peers.SIZES["lyapunov"]``): n = 16, T = 2000 and n = 128, T = 1000.
Before timing, every contender's spectrum is checked against rnndyn's.

Second table, time to spectrum at equal accuracy: rnndyn with
``reortho_every`` = 1, 2, 5, 10 (fewer QRs; the tangent vectors stay well
conditioned here because the exponents are close together), each checked to
agree with the QR-every-step spectrum, against the peers' QR-every-step time.

Run::

    python benchmarks/bench_lyapunov.py [--repeats 7] [--max-time 30] [--sizes 0 1]
                                        [--backends numpy torch jax] [--json out.json]

The ratio column is rnndyn-cpu time / contender time (< 1: rnndyn is faster).
Targets: ≤ 0.5× JAX at n = 16, ≤ 1.0× at n = 128.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402
import peers  # noqa: E402

import rnndyn as rd  # noqa: E402

EVERY = (1, 2, 5, 10)


def make_rnndyn(backend, *, W, b, h0, T, gamma, eps, cell="euler", reortho_every=1, **_):
    """rd.lyapunov_spectrum on the peers' problem; returns the exponents, sorted descending."""
    kinds = {"antisymmetric": rd.AntisymmetricRNN, "euler": rd.EulerRNN}
    c = kinds[cell](W, b=b, eps=eps, gamma=gamma)

    def run():
        return rd.lyapunov_spectrum(c, h0, steps=T, reortho_every=reortho_every, backend=backend).exponents

    return run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    harness.add_common_args(ap, "lyapunov", peers.BACKENDS)
    args = ap.parse_args(argv)

    sizes, avail = harness.selected(args, "lyapunov", peers)
    rows, rows_every = [], []
    for size in sizes:
        p = peers.problem("lyapunov", n=size["n"], T=size["T"])
        label = peers.size_label("lyapunov", size)
        fns = {"rnndyn-cpu": make_rnndyn("cpu", **p)}
        if size["n"] <= 16:
            fns["rnndyn-reference"] = make_rnndyn("reference", **p)
        for bk in avail:
            fns[bk] = peers.make_lyapunov(bk, **p)
        ref = fns["rnndyn-cpu"]()
        for name, fn in fns.items():
            if name != "rnndyn-cpu":
                err = float(np.max(np.abs(np.asarray(fn()) - ref)))
                print(f"{label}: {name} agrees with rnndyn-cpu to {err:.1e}", file=sys.stderr)
        res = harness.time_interleaved(fns, repeats=args.repeats, max_time=args.max_time)
        ours = res["rnndyn-cpu"]["median"]
        for name, r in res.items():
            rows.append(dict(workload="lyapunov", size=label, backend=name, median=r["median"], iqr=r["iqr"],
                             min=r["min"], ratio=ours / r["median"]))

        # time to spectrum with fewer QRs, at the accuracy of QR every step
        every_fns = {f"rnndyn-cpu every={e}": make_rnndyn("cpu", reortho_every=e, **p) for e in EVERY}
        for name, fn in every_fns.items():
            err = float(np.max(np.abs(fn() - ref)))
            print(f"{label}: {name} agrees with QR every step to {err:.1e}", file=sys.stderr)
        res_e = harness.time_interleaved(every_fns, repeats=args.repeats, max_time=args.max_time)
        peer_t = {name: r["median"] for name, r in res.items() if name in avail}
        for name, r in res_e.items():
            row = dict(size=label, backend=name, median=r["median"], iqr=r["iqr"])
            for bk, t in peer_t.items():
                row[f"ratio_{bk}"] = r["median"] / t
            rows_every.append(row)

    lines = ["| size | backend | median ms | IQR ms | rnndyn-cpu / backend |", "| --- | --- | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(f"| {r['size']} | {r['backend']} | {1e3 * r['median']:.3f} | {1e3 * r['iqr']:.3f} "
                     f"| {r['ratio']:.3f} |")
    print("\n".join(lines))
    print()
    peer_cols = [bk for bk in avail]
    head = "| size | rnndyn | median ms | IQR ms | " + " | ".join(f"/ {bk} (every step)" for bk in peer_cols) + " |"
    lines = [head, "| --- | --- | ---: | ---: |" + " ---: |" * len(peer_cols)]
    for r in rows_every:
        lines.append(f"| {r['size']} | {r['backend']} | {1e3 * r['median']:.3f} | {1e3 * r['iqr']:.3f} | "
                     + " | ".join(f"{r.get(f'ratio_{bk}', float('nan')):.3f}" for bk in peer_cols) + " |")
    print("\n".join(lines))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": harness.machine_info(), "rows": rows, "rows_every": rows_every}, f, indent=1)


if __name__ == "__main__":
    main()
