"""Driver of the covariant Lyapunov vectors: the forward and backward passes over chunks, with checkpoints.

:meth:`rnndyn.backends.KernelBackend.clv` calls :func:`clv_run` with its kernel
package (``clv_forward`` or ``map_clv_forward``, then ``clv_backward``).
"""

from __future__ import annotations

import numpy as np

from rnndyn import config
from rnndyn.backends.blas import blas_threads


def _qr_split(logr: np.ndarray) -> np.ndarray:
    """s of each trajectory from the forward pass: its number of positive QR exponents (Σ log R_jj > 0)."""
    return (logr > 0).sum(axis=1)


def _cuts(lo: int, hi: int, chunks: int) -> list[int]:
    """About ``chunks`` ascending cut points in (lo, hi], hi last."""
    if hi <= lo:
        return []
    pts = sorted({int(round(x)) for x in np.linspace(lo, hi, max(1, chunks) + 1)[1:]})
    return [p for p in pts if lo < p <= hi]


def clv_run(backend, family, args, h0, inputs, q0, transient, steps, transient_backward, every, samples,
            segment_rows, chunks=1, on_progress=None, split=None):
    """Run the two passes of Ginelli et al.'s method for a batch; returns (growth, V, angles, pairs, Hs,
    diverged_at, split).

    Parameters
    ----------
    backend : KernelBackend
        Whose kernel package runs the passes.
    family : str
        The system's family (which forward kernel).
    args : tuple
        The system's kernel arguments.
    h0 : (B, n)
    inputs : (Bi, T, d), T = transient + steps + transient_backward
    q0 : (n, k)
        Initial orthonormal tangent basis.
    transient, steps, transient_backward, every : int
        Forward transient; accumulated steps; extra steps that only drive the
        backward iteration's own transient; sampling interval.
    samples : int
        Sampled times transient + j·every, j < samples.
    segment_rows : int
        Most triangular factors kept at once. With fewer than the W = steps +
        transient_backward of the run, the forward pass keeps the state and the
        basis at the start of every segment of ``segment_rows`` steps and
        recomputes each segment's factors just before its backward pass
        (bit-identical: same kernel, same carried state), so the memory is
        O(segment_rows k²) instead of O(W k²) for one more forward pass.
    chunks, on_progress : int, callable
        ``on_progress(done, total)`` after each of about ``chunks`` pieces of
        each pass.
    split : (B,) int, optional
        s of each trajectory for ``angles``. None: the number of positive
        exponents of the forward pass's QR method over the accumulated steps
        (the covariant exponents differ from them by boundary terms
        O(1/steps), so a caller that wants s from those checks it afterwards).

    Returns
    -------
    growth : (B, steps, k)
        Log growth of each covariant vector in each accumulated step.
    V : (B, samples, n, k)
        Covariant vectors (unit columns) at the sampled times.
    angles : (B, samples)
        Minimal angle between span(v_1..v_s) and span(v_{s+1}..v_k) at the
        sampled times (NaN when s = 0 or s = k).
    pairs : (B, samples, k - 1)
        Angles between the lines of consecutive vectors.
    Hs : (B, samples, n)
        States at the sampled times.
    diverged_at : (B,)
    split : (B,) int
        The s used.
    """
    serial_blas = getattr(backend, "serial_blas", lambda: blas_threads(1))
    forward = backend.kernel("clv", family)
    backward = getattr(backend.kernels, "clv_backward")
    # ``args`` come normalised by the driver (cell_args / map_args: one compiled signature); an LSTM's arrays
    # are made writable and C-ordered here
    pargs = tuple(np.require(a, requirements=["C", "W"]) if isinstance(a, np.ndarray) else a for a in args)
    B, n = h0.shape
    k = q0.shape[1]
    W = steps + transient_backward
    total = transient + W
    L = max(1, min(int(segment_rows), W))
    starts = list(range(0, W, L))  # rows (steps after the transient) at which the segments begin
    h = np.array(h0, dtype=np.float64, order="C", copy=True)
    Q = np.array(np.broadcast_to(q0, (B, n, k)), dtype=np.float64, order="C")
    R = np.empty((B, L, k, k))
    V = np.full((B, samples, n, k), np.nan)
    Hs = np.full((B, samples, n), np.nan)
    angles = np.full((B, samples), np.nan)
    pairs = np.full((B, samples, max(k - 1, 0)), np.nan)
    logr = np.zeros((B, k))  # Σ log R_jj over the accumulated steps: the QR method's exponents × steps
    growth = np.full((B, steps, k), np.nan)
    diverged_at = np.full(B, -1, np.int64)
    lapack_min_n = int(config.QR_LAPACK_MIN_N)
    work_total = total + starts[-1] + W  # the forward pass, the recomputed segments, the backward pass
    done = 0
    no_V, no_Hs = np.empty((B, 0, n, k)), np.empty((B, 0, n))

    def tick(units):
        nonlocal done
        done += units
        if on_progress is not None:
            on_progress(done, work_total)

    def run_forward(hh, QQ, div, t_from, t_to, roff, Vs, Hss):
        t0 = t_from
        for t1 in _cuts(t_from, t_to, chunks):
            chunk = np.ascontiguousarray(inputs[:, t0:t1])
            with serial_blas():  # prange owns the cores; a threaded BLAS inside it oversubscribes them
                forward(hh, chunk, *pargs, QQ, R, Vs, Hss, t0, transient, every, roff, div, config.BLAS_MIN_N,
                        lapack_min_n)
            tick(t1 - t0)
            t0 = t1

    # Forward pass: every sampled basis is kept, the carried state at the start of every segment but the last
    # (a checkpoint to recompute its factors from), and each segment's factors until the next overwrites them:
    # the last segment's stay for the backward pass, and the QR exponents are summed from all of them.
    checkpoints = {}
    run_forward(h, Q, diverged_at, 0, transient, starts[-1], V, Hs)
    for i, lo in enumerate(starts):
        hi = starts[i + 1] if i + 1 < len(starts) else W
        if lo != starts[-1]:
            checkpoints[lo] = (h.copy(), Q.copy(), diverged_at.copy())
        run_forward(h, Q, diverged_at, transient + lo, transient + hi, lo, V, Hs)
        if lo < steps:
            with np.errstate(divide="ignore", invalid="ignore"):
                logr += np.log(np.diagonal(R[:, :min(hi, steps) - lo], axis1=2, axis2=3)).sum(axis=1)
    if split is None:
        split = _qr_split(logr)
    split = np.ascontiguousarray(np.broadcast_to(np.asarray(split, np.int64), (B,)))
    C = np.broadcast_to(np.eye(k), (B, k, k)).copy()
    # the sampled time at the very end (no backward transient): C is still the identity there, whose columns
    # are orthogonal
    if W % every == 0 and W // every < samples:
        angles[:, W // every] = np.where((split > 0) & (split < k), 0.5 * np.pi, np.nan)
        pairs[:, W // every] = 0.5 * np.pi
    for i in range(len(starts) - 1, -1, -1):
        lo = starts[i]
        hi = starts[i + 1] if i + 1 < len(starts) else W
        if lo != starts[-1]:
            # recomputed without sampling: the bases of its times are kept already, and the one at its end
            # has become a covariant vector
            hh, QQ, div = (a.copy() for a in checkpoints.pop(lo))
            run_forward(hh, QQ, div, transient + lo, transient + hi, lo, no_V, no_Hs)
        r_hi = hi
        for r_lo in reversed([lo] + _cuts(lo, hi, chunks)[:-1]):
            with serial_blas():
                backward(R, V, C, r_hi, r_lo, lo, steps, every, growth, split, angles, pairs, diverged_at,
                         config.BLAS_MIN_N)
            tick(r_hi - r_lo)
            r_hi = r_lo
    bad = diverged_at >= 0
    if bad.any():
        growth[bad] = np.nan
        V[bad] = np.nan
        angles[bad] = np.nan
        pairs[bad] = np.nan
    return growth, V, angles, pairs, Hs, diverged_at, split
