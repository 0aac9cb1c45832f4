#!/bin/sh
# The test suite built by clang with AddressSanitizer and UndefinedBehaviorSanitizer (into ./build-check): any
# memory error, leak or undefined behaviour fails it. The same build makes the fuzz target (tools/fuzz.sh).
set -eu
cd "$(dirname "$0")/.."
# -O0 -g1: compiles quickest; line tables are enough for the sanitizers' stack traces.
CXX=clang++ CC=clang cmake -S . -B build-check -DCMAKE_BUILD_TYPE=Debug -DFS_SANITIZE=ON \
  -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" >/dev/null
cmake --build build-check -j"$(nproc)" --target factorysim unit_tests fuzz_replay fuzz_input
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# The LPU studies step ~750k micro-batches each (3 minutes apiece at -O0 with ASan): the release build runs them
# whole, this build runs their SRAM-pipeline, CPX and GPU-to-LPU hand-off code on 10 s of traffic instead.
ctest --test-dir build-check --output-on-failure -j"$(nproc)" \
  -E 'kernels_cuda_compile|layers|scenario_hetero_cpx_prefill|scenario_hetero_h100_prefill_lpu_decode|scenario_hetero_placements_70b'
for sc in hetero_cpx_prefill hetero_h100_prefill_lpu_decode hetero_placements_70b; do
  build-check/factorysim run "scenarios/$sc.json" --set workload.duration_s=10 --set sim.warmup_s=1 >/dev/null
done
