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
ctest --test-dir build-check --output-on-failure -j"$(nproc)" -E 'kernels_cuda_compile|layers'
