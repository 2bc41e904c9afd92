#!/usr/bin/env bash
# run.sh - runs every benchmark in bench/ against one build (what `make bench` calls).
#
#   bash bench/run.sh BUILD_DIR
#
# Each bench/<name>.sh other than this file takes BUILD_DIR as its only argument,
# writes its captures to a temporary directory and prints its own table; see
# bench/README.md for what the figures mean. Stops at the first bench that fails.
set -euo pipefail

build=${1:?usage: bench/run.sh BUILD_DIR}
here=$(cd "$(dirname "$0")" && pwd)
for b in "$here"/*.sh; do
    [ "$(basename "$b")" = run.sh ] && continue
    echo "== $(basename "$b" .sh) ($(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) CPUs)"
    bash "$b" "$build"
    echo
done
