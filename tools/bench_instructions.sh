#!/bin/sh
# Instructions and cache misses per simulated request, as README "Speed" reports them: cachegrind counts, which do
# not drift with other users of the machine as wall time does. The cost is the marginal one between N1 and N2
# requests of build/bench_factory (same factory, same load per instance), so that set-up and warm-up cancel out.
# The simulated last-level cache is 512 KB, one core's L2 on the development machine: its misses are what a
# factory too large for that cache pays.
# usage: sh tools/bench_instructions.sh [colocated|disaggregated] [servers (8 = 64 GPUs)] [N1] [N2]
# N1 and N2 may be seconds of arrivals (20s 40s), as bench_factory takes them: the basis for comparing sizes (README).
# (as root on Debian 12 it installs valgrind; the build comes from tools/build.sh)
set -eu
cd "$(dirname "$0")/.."
P=${1:-disaggregated}
S=${2:-8}
N1=${3:-5000}
N2=${4:-15000}
case $P in colocated | disaggregated) ;; *) echo "placement must be colocated or disaggregated, not '$P'" >&2; exit 2 ;; esac
case $S in '' | *[!0-9]*) echo "servers must be a whole number, not '$S'" >&2; exit 2 ;; esac
for v in "$N1" "$N2"; do
  case ${v%s} in '' | *[!0-9]*) echo "N1, N2: whole numbers of requests or seconds (20s), not '$v'" >&2; exit 2 ;; esac
done
[ "${N2%s}" -gt "${N1%s}" ] || { echo "N2 ($N2) must be larger than N1 ($N1)" >&2; exit 2; }
if ! command -v valgrind >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq --no-install-recommends valgrind
fi
[ -x build/bench_factory ] || sh tools/build.sh
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
# Totals of one run: the out file's "events:" names and "summary:" counts, as name=count lines.
count() {
  valgrind --tool=cachegrind --cache-sim=yes --LL=524288,16,64 --cachegrind-out-file="$T/out" \
    build/bench_factory "$1" "$P" fast 0 "$S" >"$T/log" 2>&1 || { cat "$T/log" >&2; exit 1; }
  awk '/^events:/ { n = split($0, e, " ") } /^summary:/ { for (i = 2; i <= n; i++) print e[i] "=" $i }' "$T/out"
  awk '/^bench_factory:/ { print "requests=" $(NF - 4) }' "$T/log" # the count, when given in seconds
}
count "$N1" >"$T/a"
count "$N2" >"$T/b"
python3 - "$T/a" "$T/b" "$P" "$S" <<'PY'
import sys
a, b = (dict(l.strip().split("=") for l in open(f)) for f in sys.argv[1:3])
n1, n2, p, s = int(a.pop("requests")), int(b.pop("requests")), sys.argv[3], int(sys.argv[4])
per = {k: (int(b[k]) - int(a[k])) / (n2 - n1) for k in a}
print(f"{p}, {s * 8} GPUs, marginal cost per request between {n1} and {n2} requests:")
print(f"  instructions            {per['Ir']:,.0f}")
print(f"  L1 instruction misses   {per['I1mr']:,.0f}")
print(f"  L1 data misses          {per['D1mr'] + per['D1mw']:,.0f}")
print(f"  512 KB cache misses     {per['ILmr'] + per['DLmr'] + per['DLmw']:,.0f}")
PY
