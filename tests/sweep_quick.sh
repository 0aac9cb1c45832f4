#!/bin/sh
# The example sweep scenarios/sweeps/chips_quick.json end to end: run with -j 2, interrupted by SIGINT once its first
# point is in, resumed; a second resume changes nothing; --target-qps ranks; the report has its plots; the same sweep
# with --request-rows none has the same results and no requests.csv.
# Usage: sweep_quick.sh FACTORYSIM_BINARY (from the project root).
set -u
FS=$1
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
sw=scenarios/sweeps/chips_quick.json
"$FS" sweep $sw -j 2 -o "$T/s" >"$T/o1" 2>&1 &
pid=$!
i=0
until ls "$T"/s/points/*/point.json >/dev/null 2>&1; do
  i=$((i + 1)); [ $i -gt 1200 ] && fail "no point finished in 60 s"
  sleep 0.05
done
kill -INT $pid
wait $pid
rc=$?
[ $rc = 130 ] || fail "interrupted sweep exited $rc, expected 130: $(tail -n 2 "$T/o1")"
ls -d "$T"/s/points/.tmp-* >/dev/null 2>&1 && fail "staging folders left after SIGINT"
kept=$(ls "$T"/s/points | wc -l)
echo "interrupted with $kept points finished"
"$FS" sweep $sw -j 2 -o "$T/s" --target-qps 10 >"$T/o2" 2>&1 || fail "resume failed: $(tail -n 2 "$T/o2")"
grep -q "already done" "$T/o2" || fail "resume did not report the finished points"
rows=$(($(wc -l <"$T/s/results.csv") - 1))
[ $rows = 12 ] || fail "results.csv has $rows rows, expected 12 (6 points x 2 placements)"
[ -f "$T/s/ranking_qps_10.csv" ] || fail "no ranking_qps_10.csv"
grep -q "configurations serving 10 req/s" "$T/o2" || fail "no ranking printed"
cp "$T/s/results.csv" "$T/first.csv"
"$FS" sweep $sw -j 2 -o "$T/s" >"$T/o3" 2>&1 || fail "second resume failed"
grep -q "6 already done" "$T/o3" || fail "second resume ran points again: $(head -n 1 "$T/o3")"
cmp -s "$T/first.csv" "$T/s/results.csv" || fail "results.csv changed on a resume with nothing to do"
"$FS" report "$T/s" >"$T/o4" 2>&1 || fail "report failed: $(tail -n 2 "$T/o4")"
[ "$(ls "$T"/s/plots/*.svg | wc -l)" -ge 2 ] || fail "fewer than 2 plots"
grep -q "Ranking by" "$T/s/report.md" || fail "report.md has no ranking"
grep -q "data:image/svg+xml;base64," "$T/s/report.html" || fail "report.html does not inline its plots"
n=$(find "$T/s/points" -name requests.csv | wc -l)
[ "$n" -gt 0 ] || fail "the points wrote no requests.csv"
"$FS" sweep $sw -j 2 -o "$T/n" --request-rows none >"$T/o5" 2>&1 || fail "sweep --request-rows none failed"
[ "$(find "$T/n/points" -name requests.csv | wc -l)" = 0 ] || fail "--request-rows none wrote requests.csv"
cmp -s "$T/first.csv" "$T/n/results.csv" || fail "results.csv differs without request rows"
echo "sweep_quick: $rows rows, resume stable, report with plots, --request-rows none"
