"""Tunables of rnndyn in one place, so tests and users can patch them.

Nothing here is a result; these are performance and safety knobs. Kernels receive
the values as arguments (a compiled kernel cannot see a later change of a module
global), so drivers read them at call time.
"""

from __future__ import annotations

import os

_DEFAULT_MEMORY_LIMIT = 4 * 2**30


def _memory_limit_from_env(value: str | None) -> tuple[int, str | None]:
    """RNNDYN_MEMORY_LIMIT read as a positive number of bytes (``8e9`` or ``8000000000``), and the
    problem with it, if any (then the default is used)."""
    if value is None or not value.strip():
        return _DEFAULT_MEMORY_LIMIT, None
    try:
        limit = float(value)
    except ValueError:
        limit = float("nan")
    if not (1 <= limit < float("inf")):
        return _DEFAULT_MEMORY_LIMIT, (f"RNNDYN_MEMORY_LIMIT: expected a positive number of bytes such as 8e9, "
                                       f"got {value!r}; using the default of 4 GiB")
    return int(limit), None


#: Largest result (bytes) a call may allocate before it is refused with a
#: suggestion (``record="last"`` or a stride). Override with RNNDYN_MEMORY_LIMIT
#: (a positive number of bytes; anything else warns and keeps 4 GiB).
MEMORY_LIMIT_BYTES: int
MEMORY_LIMIT_BYTES, MEMORY_LIMIT_PROBLEM = _memory_limit_from_env(os.environ.get("RNNDYN_MEMORY_LIMIT"))
#: Why RNNDYN_MEMORY_LIMIT was not used (said once, as a warning, by the first size check), or None.
MEMORY_LIMIT_PROBLEM: str | None

#: LLVM fast-math flags allowed in kernels (defined with the kernels, which import
#: nothing from above them; read-only here).
from rnndyn.kernels.params import FASTMATH as FASTMATH_FLAGS  # noqa: E402,F401

#: Most batch elements one thread integrates together (a state block of shape
#: (n, chunk), batch innermost): large enough for SIMD over the batch and to
#: amortise the per-block work, small enough to stay in L1/L2.
BATCH_CHUNK: int = 2048

#: Target size (n * chunk elements) of one thread's state block; the chunk is
#: BLOCK_ELEMENTS // n, clipped to [8, BATCH_CHUNK] and to an even share of the batch.
#: 16384 (128 KiB of float64 state) gives the n >= 48 BLAS path wider products: simulate of
#: B = 256 ran 10-14 % faster at n = 128 and 29 % at n = 256 than with 4096, bit for bit the
#: same; n <= 16 is unchanged (its block is capped by BATCH_CHUNK or the batch share).
BLOCK_ELEMENTS: int = 16384

#: State size from which a step's matrix product goes to BLAS (np.dot) instead
#: of hand-written loops. Chosen by benchmarks/ (see RESULTS.md).
BLAS_MIN_N: int = 48

#: The same cut-over for ``tangent``'s (n, n) x (n, n) product per trajectory.
#: The register-tiled product (kernels/cpu/tiles.py) beats a single-threaded
#: dgemm call at every n measured, B = 8-16, one thread: 10.0 against 12.1 ms
#: at n = 16, 31.6 / 33.3 at n = 32, 127 / 141 at n = 64, 134 / 150 at n = 128;
#: BLAS's cache blocking is left the larger sizes.
TANGENT_BLAS_MIN_N: int = 160

#: Trajectories per block of ``tangent`` at n <= 16, where the batch runs in SIMD lanes (at most; the
#: batch is also shared evenly between threads). n = 8, B = 64, T = 300, one thread: blocks of 8, 16,
#: 32 and 64 took 11.2, 6.7, 6.2 and 5.5 ms.
TANGENT_CHUNK: int = 64

#: bptt: multiply-adds of one step's block product (chunk * n * n) from which
#: the kernel uses BLAS even below BLAS_MIN_N (its state-innermost (chunk, n)
#: blocks gain from GEMM once several trajectories share a thread; measured in
#: benchmarks/bench_bptt.py: n = 8, chunk = 32 and n = 32, chunk = 2 gain, n = 32,
#: chunk = 1 loses).
BPTT_BLAS_MIN_WORK: int = 2048

#: bptt keeps its scratch space (the stored trajectories) between calls up to
#: this size, per thread: fresh memory is page-faulted in on every call, which
#: at B > 1 costs more than the arithmetic. Larger workspaces are freed.
BPTT_WORKSPACE_CACHE_BYTES: int = 256 * 2**20

#: lyapunov and clv: state size from which the QR re-orthonormalisation calls
#: LAPACK (dgeqrf + dorgqr) instead of the kernel's own Householder QR. The
#: kernel's QR (reflections in register strips, a panel's run of them in one
#: pass over the rows) runs on one core; LAPACK's blocked QR puts its trailing
#: updates on all of BLAS's threads. On a 2-core Zen 4 (n = k, µs, kernel
#: against LAPACK): 128: 210 against 890, 256: 1420-1730 against 2840-5880,
#: 384: 4640-5370 against 5360-10700, 512: 11700-12900 against 16900-21800,
#: 640: 20900-21200 against 17000-22300. With more cores LAPACK catches up
#: sooner; lower this there.
QR_LAPACK_MIN_N: int = 384

#: "auto" backend: use CUDA only when a GPU is visible and the work
#: (B * T * n * n multiply-adds) is at least this large. An estimate (the work at
#: which a transfer and a launch stop dominating), not yet measured on a GPU.
CUDA_MIN_WORK: float = 1e9

#: "auto" backend: run a cell's NumPy twins (backend "reference") instead of compiled kernels when
#: their estimated time (:data:`REFERENCE_STEP_SECONDS` per step, :data:`REFERENCE_TRAJECTORY_STEP_SECONDS`
#: per step of each trajectory, :data:`REFERENCE_MADD_SECONDS` per multiply-add) is at most this many seconds. 0 (the
#: library's default) never does: a session amortises a kernel's compilation and loading over many
#: calls. A one-shot process does not: the CLI's single-analysis commands (phase, gradients, norms,
#: lyapunov) set 1.5, about what loading the cached compiled kernels into a fresh process costs
#: (1.2-1.6 s measured on a 2-core x86-64 machine), while compiling them costs 10-50 s.
AUTO_REFERENCE_SECONDS: float = 0.0
#: Seconds per step of each NumPy twin at small n (its Python and ufunc overhead), measured on a
#: 2-core x86-64 machine (NumPy 2, OpenBLAS) for cells: the estimate of :data:`AUTO_REFERENCE_SECONDS`.
#: An algorithm not listed here is never moved to its twin.
REFERENCE_STEP_SECONDS: dict = {"simulate": 6e-5, "tangent": 1.6e-4, "lyapunov": 2.6e-4, "bptt": 1.7e-4}
#: Seconds per step and trajectory of a batch beyond the first (the twins' batched small products and
#: factorisations), measured as above with B = 1, 8, 32 and 256 at n = 16.
REFERENCE_TRAJECTORY_STEP_SECONDS: dict = {"simulate": 5e-7, "tangent": 3.5e-5, "lyapunov": 3e-5, "bptt": 8e-6}
#: Seconds per multiply-add of the NumPy twins beyond their per-step overhead (BLAS-bound; measured
#: 0.3-0.7 ns, rounded up).
REFERENCE_MADD_SECONDS: float = 1e-9

#: CUDA launch geometry: threads per block of the grid-stride launches, read by the
#: "cuda" backend at every call (tests set it small so that several blocks run).
CUDA_THREADS_PER_BLOCK: int = 128
#: bptt on CUDA: n from which a block of threads runs each sequence (its matvecs through
#: shared memory) instead of one thread per sequence. A thread per sequence keeps the
#: whole δ_t and h_t in its own loops, which stops paying past a warp's width of state.
CUDA_BPTT_BLOCK_MIN_N: int = 33
