#!/usr/bin/env bash
# run.sh - runs every benchmark in bench/ against one build (what `make bench` calls).
#
#   bash bench/run.sh BUILD_DIR
#
# perf.sh runs first: its table (leakwatch against a naive libpcap + Hyperscan
# scan, see bench/README.md) is the headline. Then each other bench/<name>.sh,
# which takes BUILD_DIR as its only argument, writes its captures to a temporary
# directory and prints its own table. Stops at the first bench that fails.
set -euo pipefail

build=${1:?usage: bench/run.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
run_one() {
    echo "== $(basename "$1" .sh) ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs)"
    bash "$1" "$build"
    echo
}
run_one "$here/perf.sh"
for b in "$here"/*.sh; do
    case $(basename "$b") in run.sh | perf.sh) continue ;; esac
    run_one "$b"
done
