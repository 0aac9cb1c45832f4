#!/bin/sh
# Fuzzes the scenario parser, --set and the trace reader with clang's libFuzzer (ASan + UBSan) for
# FUZZ_SECONDS (default 60), seeded with tests/fuzz/corpus. A crash stops it, prints the input and fails; add
# the input (build-check/crashes/crash-*) to tests/fuzz/corpus once fixed, so the fuzz_replay test keeps it fixed.
# Uses the checking build of tools/sanitize.sh (made here when it is missing).
set -eu
cd "$(dirname "$0")/.."
if [ ! -x build-check/tests/fuzz_input ]; then
  CXX=clang++ CC=clang cmake -S . -B build-check -DCMAKE_BUILD_TYPE=Debug -DFS_SANITIZE=ON \
    -DCMAKE_CXX_FLAGS_DEBUG="-O0 -g1" >/dev/null
  cmake --build build-check -j"$(nproc)" --target fuzz_input
fi
mkdir -p build-check/corpus build-check/crashes
export ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
./build-check/tests/fuzz_input -max_total_time="${FUZZ_SECONDS:-60}" -timeout=20 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix=build-check/crashes/ build-check/corpus tests/fuzz/corpus
