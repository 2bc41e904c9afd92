#!/usr/bin/env bash
# check_bench_smoke.sh BIN - bench/perf.sh (the `make bench` table) still runs.
#
# Runs perf.sh against BIN's build tree in its smallest mode (a 4 MiB capture, a
# 10,000-flow capture, one run each, no cross-check) in a temporary directory,
# and asserts only the shape of what it prints: the table header, rows a to e,
# and a number in every figure column of every row, plus the ratio and PII
# lines. Figures are never asserted: a sanitizer build on a shared CI machine
# says nothing about speed. Skips (77) when the build has no bench programs.
set -euo pipefail

bin=${1:?usage: check_bench_smoke.sh BIN}
src=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
build=$(cd "$(dirname "$bin")" && pwd)
for x in "$build/bench/naive_pipeline" "$build/bench/gen_traffic"; do
    [ -x "$x" ] || { echo "skip: no $x in this build" >&2; exit 77; }
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lw-bench-smoke.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

LW_BENCH_DIR=$tmp LW_BENCH_MB=4 LW_BENCH_RUNS=1 LW_BENCH_FLOWS=10000 LW_BENCH_REF=0 \
    LW_BENCH_BIG=0 LW_BENCH_KEEP=0 bash "$src/bench/perf.sh" "$build" >"$tmp/out.txt" 2>"$tmp/err.txt" || {
    echo "FAIL: perf.sh exited non-zero" >&2
    cat "$tmp/out.txt" "$tmp/err.txt" >&2
    exit 1
}

fail=0
grep -q '^| row | what | capture | MB/s | Gbit/s | packets/s | cpu MB/s | peak RSS MiB |' "$tmp/out.txt" ||
    { echo "FAIL: no table header" >&2; fail=1; }
for row in a b c d e; do
    line=$(grep "^| $row |" "$tmp/out.txt" || true)
    if [ "$(printf '%s\n' "$line" | grep -c .)" != 1 ]; then
        echo "FAIL: row $row printed $(printf '%s\n' "$line" | grep -c .) times" >&2
        fail=1
        continue
    fi
    # fields: | row | what | capture | MB/s | Gbit/s | packets/s | cpu MB/s | RSS | runs |
    printf '%s\n' "$line" | awk -F'|' '{
        for (i = 5; i <= 9; i++) {
            v = $i; gsub(/[ ,]/, "", v)
            if (v !~ /^[0-9]+(\.[0-9]+)?$/) { print "FAIL: row " $2 " column " i - 1 ": \"" $i "\""; bad = 1 }
        }
        w = $10; gsub(/ /, "", w)
        if (w !~ /^[0-9.]+$/) { print "FAIL: row " $2 " has no run times"; bad = 1 }
        exit bad
    }' >&2 || fail=1
done
grep -Eq '^4 MiB: c/b [0-9.]+ wall, [0-9.]+ cpu .* d/c [0-9.]+ wall, [0-9.]+ cpu' "$tmp/out.txt" ||
    { echo "FAIL: no ratio line" >&2; fail=1; }
grep -Eq '^  b naive: [0-9,]+ match callbacks' "$tmp/out.txt" || { echo "FAIL: no naive PII line" >&2; fail=1; }
grep -Eq '^  c leakwatch match.validated: email [0-9]+' "$tmp/out.txt" ||
    { echo "FAIL: no leakwatch PII line" >&2; fail=1; }
grep -Eq '^machine: [0-9]+ CPUs .*Hyperscan ' "$tmp/out.txt" || { echo "FAIL: no machine line" >&2; fail=1; }
if [ "$fail" != 0 ]; then
    cat "$tmp/out.txt" >&2
    exit 1
fi
echo "ok: perf.sh printed rows a-e with numbers"
