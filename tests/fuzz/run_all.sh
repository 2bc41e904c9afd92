#!/usr/bin/env bash
# Runs every libFuzzer harness built in BUILD_DIR for FUZZ_SECONDS each.
#
# Seeds come from tests/fuzz/corpus/<target>/ (pcaps/ for the pipeline
# harness), read only; inputs libFuzzer
# finds go to .fuzz/corpus/<target>/ and crashes to .fuzz/artifacts/, both
# outside version control. Exits non-zero when any harness finds a crash,
# a leak, a timeout or an out-of-memory; its artifact path is printed.
set -euo pipefail
build=${1:?usage: run_all.sh BUILD_DIR}
seconds=${FUZZ_SECONDS:-10}
top=$(cd "$(dirname "$0")/../.." && pwd)
work="$top/.fuzz"
mkdir -p "$work/artifacts"

shopt -s nullglob
harnesses=("$build"/tests/fuzz/fuzz_*)
if [ ${#harnesses[@]} -eq 0 ]; then
    echo "no fuzz harnesses in $build/tests/fuzz" >&2
    exit 1
fi

failed=0
ran=0
for h in "${harnesses[@]}"; do
    [ -x "$h" ] || continue
    name=$(basename "$h")
    target=${name#fuzz_}
    corpus="$work/corpus/$target"
    mkdir -p "$corpus"
    seeds="$top/tests/fuzz/corpus/$target"
    # the whole-pipeline harness and the pcap walker are seeded with the
    # test captures themselves
    case $target in pipeline | pcapfile) seeds="$top/pcaps" ;; esac
    [ -d "$seeds" ] || seeds=""
    log="$work/$name.log"
    if "$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/$name-" "$corpus" ${seeds:+"$seeds"} >"$log" 2>&1; then
        runs=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
        echo "fuzz $name: ok, $runs runs in ${seconds}s"
        ran=$((ran + 1))
    else
        echo "fuzz $name: FAILED (log $log)"
        grep -E 'ERROR|SUMMARY|artifact' "$log" | head -5 || true
        failed=$((failed + 1))
    fi
done
echo "fuzz: $ran passed, $failed failed"
[ "$failed" -eq 0 ]
