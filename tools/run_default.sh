#!/bin/sh
# Fresh machine, one command: install dependencies, build, run the built-in default study.
set -eu
cd "$(dirname "$0")/.."
sh tools/install_deps.sh
sh tools/build.sh
./build/factorysim run -o out/default "$@"
