"""The Dask engine of :func:`rnndyn.analysis.sweep.sweep`, imported only when a sweep runs on Dask.

Each chunk is one task; results come back to the calling process as they
finish (``as_completed``), where they are written to the sweep's folder. A
worker plugin sets numba's thread count on every worker, so that a node's
workers do not oversubscribe its cores, and loads (or compiles) the kernels
once per worker before the first chunk.
"""

from __future__ import annotations

import logging
import os
import uuid

try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # only ever imported where distributed is installed; a doctest collector may look first
    WorkerPlugin = object

#: The name of the worker plugin (registering it again replaces it).
PLUGIN = "rnndyn-sweep"


class SweepWorkerSetup(WorkerPlugin):
    """Set numba's threads on a worker and warm its kernels up for the measures of a sweep.

    ``measure_row`` is :func:`rnndyn.analysis.sweep.measure_row` (passed in, so that this module does not
    import the one that imports it); ``threads``: numba threads per worker; None gives each of the worker's
    task threads an equal share of the machine's cores.
    """

    name = PLUGIN

    def __init__(self, measure_row, measures, threads=None):
        self.measure_row = measure_row
        self.measures = tuple(measures)
        self.threads = threads

    def setup(self, worker):
        import numba

        nthreads = max(1, int(getattr(worker, "nthreads", 1) or 1))
        threads = self.threads or max(1, (os.cpu_count() or 1) // nthreads)
        numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))
        measures = tuple((m, min(k, 2)) for m, k in self.measures)
        for inputs in (None, "noise:1.0"):
            # a tiny row runs every kernel the measures use: cached kernels load, others compile, here and once
            self.measure_row(("antisymmetric", 2, 0.1, 0.0, "normal", "tanh"), 0, measures, 2, 1, inputs)


def local_cluster(workers: int, threads: int | None = None):
    """A ``LocalCluster`` of ``workers`` processes with one thread each and ``threads`` numba threads each."""
    from distributed import LocalCluster

    threads = threads or max(1, (os.cpu_count() or 1) // workers)
    env = {"NUMBA_NUM_THREADS": str(threads), "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1"}
    return LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                        silence_logs=logging.ERROR, env=env)


def run(run_chunk, measure_row, chunks, args, finished, client=None, workers: int = 1) -> str:
    """Run ``run_chunk(chunk, *args)`` for every chunk on Dask; ``finished(rows, k)`` as each one arrives.

    ``run_chunk`` and ``measure_row`` are those of :mod:`rnndyn.analysis.sweep`; ``args[0]`` is the measures.

    ``client=None`` starts a :func:`local_cluster` of ``workers`` (at most one per chunk) and closes it
    afterwards. Returns a description of the engine.
    """
    from distributed import Client, as_completed

    cluster = None
    threads = None
    if client is None:
        workers = max(1, min(workers, len(chunks)))
        threads = max(1, (os.cpu_count() or 1) // workers)
        cluster = local_cluster(workers, threads)
        client = Client(cluster)
    futures = []
    try:
        client.register_plugin(SweepWorkerSetup(measure_row, args[0], threads), name=PLUGIN)
        n = len(client.scheduler_info().get("workers", {}))
        token = uuid.uuid4().hex[:12]
        futures = [client.submit(run_chunk, chunk, *args, key=f"rnndyn-sweep-{token}-{k}", pure=False)
                   for k, chunk in enumerate(chunks)]
        for k, fut in enumerate(as_completed(futures), 1):
            finished(fut.result(), k)
            fut.release()
        return f"dask ({n} worker{'s' if n != 1 else ''})"
    finally:
        if futures:
            client.cancel([f for f in futures if not f.done()])
        if cluster is not None:
            client.close()
            cluster.close()
