"""Benchmark: parameter sweeps on Dask (``rd.sweep``), against joblib (loky) running the same chunks.

The workload is the sweep of the figure "where the AntisymmetricRNN is stable
and critical" (``rnndyn.figures.sweeps.STABILITY_SWEEP``): 20 ε × 21 γ × 4 seeds
of n = 32 antisymmetric cells, T = 2000 after a transient of 200, measure
``lyapunov_max`` only. Measured:

1. the cost of one row in this process (``run_chunk`` on one chunk, numba on one thread);
2. the sweep's throughput (rows/s) on a LocalCluster of 1 and of 2 worker processes (one thread each),
   clusters started and warmed up before timing; the speed-up from the second worker (target ≥ 1.7×);
3. joblib with the loky backend and 2 workers running the same per-chunk function on the same chunks
   (target: Dask's throughput ≥ joblib's);
4. the scheduling overhead per task: wall time per empty task (``run_chunk([])``) submitted in bulk
   to the 2-worker cluster, and the overhead seen in the real sweep (wall − rows × cost / workers) per task;
5. from 1 and 4, a projection of a 10⁶-row sweep on 1, 10 and 100 eight-core nodes (8 workers each), and the
   chunk size that keeps the scheduler's share of the time under 1 %: the central scheduler handles the tasks
   one after another, so its time is tasks × overhead while the work is divided among the workers.

Run::

    python benchmarks/bench_sweep.py [--quick] [--json out.json]

``--quick`` shrinks the grid (for a smoke run). Needs dask[distributed] and joblib (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # this process measures one row on one core, as a worker does

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402

import rnndyn as rd  # noqa: E402
from rnndyn.analysis import sweep as sw  # noqa: E402
from rnndyn.figures.sweeps import STABILITY_SWEEP  # noqa: E402

NODES = (1, 10, 100)
CORES_PER_NODE = 8
PROJECTED_ROWS = 10**6


def _spec(quick: bool):
    grid = dict(STABILITY_SWEEP["grid"])
    if quick:
        grid.update(eps="log:0.01:0.5:4", gamma="0:1.5:5")
    return grid, ["lyapunov_max"], STABILITY_SWEEP["steps"], STABILITY_SWEEP["transient"], STABILITY_SWEEP["seeds"]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", default=None)
    args = ap.parse_args(argv)
    from distributed import Client
    from joblib import Parallel, delayed

    from rnndyn.analysis._sweep_dask import SweepWorkerSetup, local_cluster

    grid, measures, steps, transient, seeds = _spec(args.quick)
    plan = sw._plan(grid, measures, steps, transient, None, seeds)
    kw = dict(steps=steps, transient=transient, seeds=seeds, progress=False)
    task_args = (plan.measures, plan.steps, plan.transient, plan.inputs, "auto")
    chunks = sw._chunks(plan, range(plan.nrows), None, 2)
    info = harness.machine_info()
    res = {"machine": info, "rows": plan.nrows, "chunks": len(chunks), "chunk_rows": len(chunks[0])}
    print(f"sweep: {plan.nrows} rows ({len(plan.configs)} configurations × {seeds} seeds), n = 32, T = {steps} "
          f"+ {transient}; {len(chunks)} chunks of {len(chunks[0])} rows (automatic size, 2 workers)")
    res["loadavg_start"] = os.getloadavg()[0]
    print(f"load average at start: {res['loadavg_start']:.1f} on {os.cpu_count()} cores (a shared machine is noisy)")

    # 1. one row, this process
    sw.run_chunk(chunks[0][:2], *task_args)  # load the kernels
    sample = chunks[len(chunks) // 2][:40]
    t = min(_timed(lambda: sw.run_chunk(sample, *task_args)) for _ in range(3))
    per_row = t / len(sample)
    res["row_seconds"] = per_row
    print(f"one row in this process: {per_row * 1e3:.2f} ms")

    # 2. dask, 1 and 2 workers
    for n in (1, 2):
        cluster = local_cluster(n, threads=1)
        client = Client(cluster)
        try:
            client.register_plugin(SweepWorkerSetup(sw.measure_row, plan.measures, 1), name="rnndyn-sweep")
            best = min(_timed(lambda: rd.sweep(grid, measures, client=client, **kw)) for _ in range(2))
            res[f"dask_{n}_seconds"] = best
            print(f"dask, {n} worker{'s' if n > 1 else ''}: {best:.2f} s, {plan.nrows / best:.0f} rows/s")
            if n == 2:
                # 4. per-task overhead: empty tasks in bulk
                m = 400
                t0 = time.perf_counter()
                futs = [client.submit(sw.run_chunk, [], *task_args, pure=False) for _ in range(m)]
                client.gather(futs)
                res["overhead_empty_task_seconds"] = (time.perf_counter() - t0) / m
        finally:
            client.close()
            cluster.close()
    speedup = res["dask_1_seconds"] / res["dask_2_seconds"]
    res["speedup_2_workers"] = speedup
    print(f"speed-up from the second worker: {speedup:.2f}× (target ≥ 1.7×)")

    # 3. joblib loky, 2 workers, the same chunks
    with Parallel(n_jobs=2, backend="loky") as par:
        par(delayed(sw.run_chunk)(c[:1], *task_args) for c in chunks[:4])  # start and warm the workers
        best = min(_timed(lambda: par(delayed(sw.run_chunk)(c, *task_args) for c in chunks)) for _ in range(2))
    res["joblib_2_seconds"] = best
    ratio = best / res["dask_2_seconds"]
    res["dask_over_joblib_throughput"] = ratio
    print(f"joblib loky, 2 workers: {best:.2f} s, {plan.nrows / best:.0f} rows/s; Dask's throughput is "
          f"{ratio:.2f}× joblib's (target ≥ 1)")

    o_empty = res["overhead_empty_task_seconds"]
    o_sweep = max(0.0, (res["dask_2_seconds"] - plan.nrows * per_row / 2) / len(chunks))
    res["overhead_in_sweep_seconds"] = o_sweep
    print(f"overhead per task: {o_empty * 1e3:.2f} ms (empty tasks in bulk); "
          f"{o_sweep * 1e3:.1f} ms per chunk in the sweep (wall − rows × cost / 2, spread over its tasks)")

    # 5. projection
    o = o_empty
    print(f"\nprojection for {PROJECTED_ROWS:.0e} rows of this kind ({per_row * 1e3:.2f} ms each), "
          f"{CORES_PER_NODE} workers per node, scheduler {o * 1e3:.2f} ms per task:")
    print(f"{'nodes':>6} {'compute':>10} {'chunk for <1%':>14} {'tasks':>8} {'scheduler':>10} {'total':>10}")
    res["projection"] = []
    for nodes in NODES:
        w = nodes * CORES_PER_NODE
        compute = PROJECTED_ROWS * per_row / w
        # tasks × o ≤ 1 % of compute  ⇔  chunk ≥ 100 · o · w / per_row
        chunk = max(1, math.ceil(100 * o * w / per_row))
        tasks = math.ceil(PROJECTED_ROWS / chunk)
        sched = tasks * o
        total = compute + sched
        res["projection"].append({"nodes": nodes, "workers": w, "compute_s": compute, "chunk": chunk, "tasks": tasks,
                                  "scheduler_s": sched, "total_s": total})
        print(f"{nodes:>6} {_hms(compute):>10} {chunk:>14} {tasks:>8} {_hms(sched):>10} {_hms(total):>10}")
    res["loadavg_end"] = os.getloadavg()[0]
    print(f"load average at the end: {res['loadavg_end']:.1f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1, default=str)


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _hms(s: float) -> str:
    if s < 120:
        return f"{s:.1f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


if __name__ == "__main__":
    main()
