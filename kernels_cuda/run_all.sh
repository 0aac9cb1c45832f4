#!/usr/bin/env bash
# Builds the CUDA calibration kit and runs every benchmark, writing OUT/<bench>.jsonl (JSON lines) plus
# OUT/nvidia-smi.txt (before) and OUT/nvidia-smi-after.txt.
#
# usage: kernels_cuda/run_all.sh [OUT_DIR]
#   OUT_DIR defaults to <repo>/calibration/<device-slug>/raw, slug from nvidia-smi's GPU name
#   ("NVIDIA H200" -> h200, "NVIDIA H100 80GB HBM3" -> h100, "NVIDIA H100 PCIe" -> h100-pcie).
# environment:
#   FS_BUILD_DIR     build directory (default kernels_cuda/build)
#   FS_BENCHES       space-separated subset to run (default: all)
#   FS_BENCH_ARGS    extra arguments for every benchmark, e.g. "--quick"
#   FS_BENCH_TIMEOUT per-benchmark time limit in seconds (default 300)
#   FS_CMAKE_ARGS    extra cmake configure arguments, e.g. -DCMAKE_CUDA_ARCHITECTURES=90a
#   FS_GIT_COMMIT    recorded in every provenance line (default: git rev-parse HEAD of the repo, "-dirty" if modified)
# Exit status: 0 if every benchmark exited 0; non-zero if the build or any benchmark failed (crash, timeout, or a
# failed self-test, which the benchmarks report with exit status 3).
set -u -o pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BUILD="${FS_BUILD_DIR:-$HERE/build}"
BENCHES="${FS_BENCHES:-launch h2d membw elementwise decode_attn prefill_attn gemm_own gemm}"
BENCH_ARGS="${FS_BENCH_ARGS:-}"
BENCH_TIMEOUT="${FS_BENCH_TIMEOUT:-300}"

device_slug() {
  # lowercase words of the GPU name minus "nvidia", memory sizes (80gb) and memory types (hbm3), joined by '-'
  tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9\n' ' ' | awk '{
    s = ""
    for (i = 1; i <= NF; i++) {
      if ($i == "nvidia" || $i ~ /^[0-9]+gb$/ || $i ~ /^hbm/) continue
      s = (s == "" ? $i : s "-" $i)
    }
    print s
  }'
}

if [ $# -ge 1 ] && [ -n "$1" ]; then
  OUT="$1"
else
  if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "run_all.sh: nvidia-smi not found; pass the output directory as \$1" >&2
    exit 2
  fi
  NAME="$(nvidia-smi --query-gpu=name --format=csv,noheader </dev/null | head -n 1)"
  SLUG="$(printf '%s\n' "$NAME" | device_slug)"
  if [ -z "$SLUG" ]; then
    echo "run_all.sh: could not derive a device slug from '$NAME'; pass the output directory as \$1" >&2
    exit 2
  fi
  OUT="$ROOT/calibration/$SLUG/raw"
fi
mkdir -p "$OUT" || exit 2
OUT="$(cd "$OUT" && pwd)"

if [ -z "${FS_GIT_COMMIT:-}" ]; then
  FS_GIT_COMMIT="$(git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo unknown)"
  if [ "$FS_GIT_COMMIT" != unknown ] && [ -n "$(git -C "$ROOT" status --porcelain -- kernels_cuda 2>/dev/null)" ]; then
    FS_GIT_COMMIT="$FS_GIT_COMMIT-dirty"
  fi
fi
export FS_GIT_COMMIT

echo "run_all.sh: output $OUT, build $BUILD, commit $FS_GIT_COMMIT" >&2
T0=$(date +%s)

# shellcheck disable=SC2086
if ! cmake -S "$HERE" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release ${FS_CMAKE_ARGS:-} </dev/null >&2; then
  echo "run_all.sh: cmake configure failed" >&2
  exit 1
fi
if ! cmake --build "$BUILD" -j "$(nproc 2>/dev/null || echo 4)" </dev/null >&2; then
  echo "run_all.sh: build failed" >&2
  exit 1
fi

if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi -q >"$OUT/nvidia-smi.txt" 2>&1 </dev/null || echo "run_all.sh: warning: nvidia-smi -q failed" >&2
fi

TIMEOUT=()
if command -v timeout >/dev/null 2>&1; then TIMEOUT=(timeout -k 10 "$BENCH_TIMEOUT"); fi

FAILED=()
for b in $BENCHES; do
  exe="$BUILD/fs_$b"
  if [ ! -x "$exe" ]; then
    echo "run_all.sh: no such benchmark: $b" >&2
    FAILED+=("$b(missing)")
    continue
  fi
  t0=$(date +%s)
  echo "== $b" >&2
  # shellcheck disable=SC2086
  ${TIMEOUT[@]+"${TIMEOUT[@]}"} "$exe" --out "$OUT/$b.jsonl" $BENCH_ARGS </dev/null 2>"$OUT/$b.stderr"
  rc=$?
  echo "   $b: exit $rc, $(($(date +%s) - t0)) s, $(wc -l <"$OUT/$b.jsonl" 2>/dev/null || echo 0) lines" >&2
  if [ $rc -ne 0 ]; then
    FAILED+=("$b(rc=$rc)")
    tail -n 20 "$OUT/$b.stderr" >&2
  fi
  [ -s "$OUT/$b.stderr" ] || rm -f "$OUT/$b.stderr"
done

if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi -q >"$OUT/nvidia-smi-after.txt" 2>&1 </dev/null || true
fi

echo "run_all.sh: done in $(($(date +%s) - T0)) s; results in $OUT" >&2
if [ ${#FAILED[@]} -ne 0 ]; then
  echo "run_all.sh: FAILED: ${FAILED[*]}" >&2
  exit 1
fi
exit 0
