#!/bin/sh
# Installs factorysim's build and test dependencies from Debian's packages (run as root on Debian 12).
set -eu
# clang + libclang-rt-14-dev: the libFuzzer build (tools/fuzz.sh); python3-jsonschema: the schema test;
# libopenmpi-dev + openmpi-bin: sweeps and pods over MPI ranks (factorysim sweep / run under mpirun); gnuplot-nox:
# the plots of factorysim report.
PKGS="cmake g++ make pkg-config python3 libsimgrid-dev libboost-graph-dev libboost-math-dev nlohmann-json3-dev \
libcli11-dev libeigen3-dev doctest-dev clang libclang-rt-14-dev python3-jsonschema procps \
libopenmpi-dev openmpi-bin gnuplot-nox"
missing=""
for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends $missing
fi
