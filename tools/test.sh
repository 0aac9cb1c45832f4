#!/bin/sh
# Fresh machine, one command: install dependencies, build, run every test (unit, scenarios, CLI, schema, fuzz
# corpus), then the same tests under AddressSanitizer + UBSan, then a bounded fuzzing run of the input parsers.
set -eu
cd "$(dirname "$0")/.."
sh tools/install_deps.sh
sh tools/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
sh tools/sanitize.sh
FUZZ_SECONDS="${FUZZ_SECONDS:-60}" sh tools/fuzz.sh
