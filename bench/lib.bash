# bench/lib.bash - what every benchmark script starts with; sourced, never
# run (bench/run.sh runs bench/*.sh only).

# Warns when BUILD is not a Release tree: figures from a Debug or sanitizer
# build say nothing about the sensor.
bench_warn_unless_release() {
    local btype
    btype=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$1/CMakeCache.txt" 2>/dev/null || true)
    if [ "$btype" != Release ]; then
        echo "warning: $1 is a '${btype:-unknown}' build, not Release: figures are not representative" >&2
    fi
}

# Sets $tmp to a fresh directory for NAME's captures, outside the repo, and
# removes it at exit unless LW_BENCH_KEEP=1.
bench_make_tmp() {
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/lw-bench-$1.XXXXXX")
    if [ "${LW_BENCH_KEEP:-0}" = 1 ]; then
        echo "keeping $tmp"
    else
        # shellcheck disable=SC2064 # expand now: $tmp is this run's directory
        trap "rm -rf '$tmp'" EXIT
    fi
}
