#!/bin/sh
# Fresh machine, one command: install dependencies, build, run every test (unit, scenarios, CLI).
set -eu
cd "$(dirname "$0")/.."
sh tools/install_deps.sh
sh tools/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)"
