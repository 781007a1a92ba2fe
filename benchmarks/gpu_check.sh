#!/usr/bin/env bash
# On a machine with an NVIDIA GPU: the CUDA tests on the device (no simulator), then the GPU benchmarks.
# Outputs go under $OUT when it is set (else benchmarks/results_cuda.*); extra arguments go to bench_cuda.py.
set -u
cd "$(dirname "$0")/.." && unset NUMBA_ENABLE_CUDASIM
[ -f .venv/bin/activate ] && . .venv/bin/activate
dest="${OUT:-benchmarks}"; mkdir -p "$dest"
python -m pytest -q -p no:cacheprovider tests/kernels/test_cuda*.py tests/kernels/test_basins.py 2>&1 | tee "$dest/gpu_tests.txt"
tests_rc=${PIPESTATUS[0]}
python benchmarks/bench_cuda.py --out-json "$dest/results_cuda.json" --out-md "$dest/results_cuda.md" "$@"
bench_rc=$?; echo "gpu_check: tests exit $tests_rc, benchmark exit $bench_rc"; exit $(( tests_rc || bench_rc ))
