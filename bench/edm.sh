#!/usr/bin/env bash
# edm.sh - what building and loading an exact-data-matching index costs.
#
#   bash bench/edm.sh BUILD_DIR        (BUILD_DIR: a Release build)
#
# Generates into a temporary directory (never the repo) a customer table of
# LW_BENCH_EDM_ROWS (default 1,000,000) rows with three values each (email,
# phone, card; fictional, see bench/edm_gen.c) and a key, then times, each
# LW_BENCH_RUNS times (default 3; median reported, all runs shown):
#   build   leakwatch-edm build (CSV parse, validate, normalise, keyed hash,
#           sort, dedupe, checksum, fsync'd atomic write), against a baseline
#           of `LC_ALL=C sort` of the same CSV into /dev/null in the same run:
#           both read the whole file and sort a million-line table;
#   load    leakwatch-edm stats -k (map, checksum, structure checks, key
#           check: everything the sensor does at start-up), against a
#           baseline of `b2sum` (BLAKE2b-512, coreutils) of the same index:
#           the load checksums the same bytes with BLAKE2b-256.
# and prints wall seconds, the ratios to the baselines, maximum resident
# memory of the tool (from /usr/bin/time, when installed) and the sizes.
#
# Environment: LW_BENCH_EDM_ROWS, LW_BENCH_RUNS, LW_BENCH_KEEP=1 keeps the
# temporary directory. No Python: the generator is plain C.
set -euo pipefail

build=${1:?usage: bench/edm.sh BUILD_DIR}
case "$build" in /*) ;; *) build=$PWD/$build ;; esac
top=$(cd "$(dirname "$0")/.." && pwd)
tool=$build/leakwatch-edm
gen=$build/bench/edm_gen
rows=${LW_BENCH_EDM_ROWS:-1000000}
runs=${LW_BENCH_RUNS:-3}
[ -x "$tool" ] || { echo "no executable $tool (build first: make build)" >&2; exit 1; }
# shellcheck source=bench/lib.bash
. "$(dirname "$0")/lib.bash"
bench_warn_unless_release "$build"

bench_make_tmp edm
if [ ! -x "$gen" ]; then
    # An older build tree without the edm_gen target: the generator is one file.
    cc -std=c11 -O2 -o "$tmp/edm_gen" "$top/bench/edm_gen.c"
    gen=$tmp/edm_gen
fi

"$gen" "$rows" > "$tmp/customers.csv"
"$tool" keygen -o "$tmp/site.key" 2>/dev/null
csv_bytes=$(stat -c %s "$tmp/customers.csv")

have_time=0
[ -x /usr/bin/time ] && have_time=1

# run_timed OUTVAR CMD... : wall seconds of one run (and max RSS in KB into
# $last_rss when /usr/bin/time is there). Output of CMD is discarded.
last_rss=0
run_timed() {
    local __out=$1
    shift
    local t0 t1
    if [ $have_time = 1 ]; then
        t0=$(date +%s%N)
        /usr/bin/time -f '%M' -o "$tmp/rss" "$@" > /dev/null 2> "$tmp/err" || {
            cat "$tmp/err" >&2
            exit 1
        }
        t1=$(date +%s%N)
        last_rss=$(tail -n 1 "$tmp/rss")
    else
        t0=$(date +%s%N)
        "$@" > /dev/null 2> "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
        t1=$(date +%s%N)
    fi
    printf -v "$__out" '%s' "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

b_build=() b_sort=() b_load=() b_sum=()
rss_build=0 rss_load=0
# Warm the page cache once, so every run reads the same cached file.
cat "$tmp/customers.csv" > /dev/null
for ((i = 0; i < runs; i++)); do
    rm -f "$tmp/customers.edm"
    run_timed t "$tool" build -k "$tmp/site.key" -o "$tmp/customers.edm" --canary-column canary \
        "$tmp/customers.csv"
    b_build+=("$t")
    rss_build=$last_rss
    run_timed t env LC_ALL=C sort -o /dev/null "$tmp/customers.csv"
    b_sort+=("$t")
    run_timed t "$tool" stats -k "$tmp/site.key" "$tmp/customers.edm"
    b_load+=("$t")
    rss_load=$last_rss
    run_timed t b2sum "$tmp/customers.edm"
    b_sum+=("$t")
done
"$tool" build -k "$tmp/site.key" -o "$tmp/customers.edm" --canary-column canary \
    "$tmp/customers.csv" 2> "$tmp/summary"
idx_bytes=$(stat -c %s "$tmp/customers.edm")
entries=$("$tool" stats "$tmp/customers.edm" | awk '/^entries:/ { print $2 }')

m_build=$(median "${b_build[@]}")
m_sort=$(median "${b_sort[@]}")
m_load=$(median "${b_load[@]}")
m_sum=$(median "${b_sum[@]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

printf 'rows %s, csv %.1f MB, index %.1f MB (%s entries), %s runs, %s CPUs\n' "$rows" \
    "$(awk -v b="$csv_bytes" 'BEGIN { print b / 1e6 }')" \
    "$(awk -v b="$idx_bytes" 'BEGIN { print b / 1e6 }')" "$entries" "$runs" "$(nproc)"
printf '%-8s %10s  %-24s %-10s %10s  %7s  %s\n' step "wall s" "(runs)" baseline "base s" ratio "max RSS"
printf '%-8s %10s  %-24s %-10s %10s  %7s  %s\n' build "$m_build" "(${b_build[*]})" "sort" "$m_sort" \
    "$(ratio "$m_build" "$m_sort")" "$((rss_build / 1024)) MB"
printf '%-8s %10s  %-24s %-10s %10s  %7s  %s\n' load "$m_load" "(${b_load[*]})" "b2sum" "$m_sum" \
    "$(ratio "$m_load" "$m_sum")" "$((rss_load / 1024)) MB"
printf 'build rate: %s rows/s; load rate: %s MB/s\n' \
    "$(awk -v r="$rows" -v s="$m_build" 'BEGIN { printf "%.0f", r / s }')" \
    "$(awk -v b="$idx_bytes" -v s="$m_load" 'BEGIN { printf "%.0f", b / 1e6 / s }')"
sed 's/^/  /' "$tmp/summary"
