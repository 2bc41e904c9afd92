#!/usr/bin/env bash
# Offline replay must be deterministic: the same capture and config give
# byte-identical output (alerts and stats), run after run, and reading the
# capture from standard input ('-r -') gives the same bytes as reading the
# file. Runs over every capture under pcaps/.
set -euo pipefail
bin=${1:?usage: check_determinism.sh LEAKWATCH}
top=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

checked=0
failed=0
while IFS= read -r -d '' pcap; do
    rel=${pcap#"$top"/}
    for run in 1 2; do
        "$bin" -c "$top/etc/leakwatch.yaml" --set burst.threshold=5 -r "$pcap" \
            -o "$tmp/out$run.json" 2>/dev/null || true
    done
    "$bin" -c "$top/etc/leakwatch.yaml" --set burst.threshold=5 -r - -o "$tmp/stdin.json" \
        <"$pcap" 2>/dev/null || true
    if ! cmp -s "$tmp/out1.json" "$tmp/out2.json"; then
        echo "FAIL $rel: two runs differ"
        failed=$((failed + 1))
    elif ! cmp -s "$tmp/out1.json" "$tmp/stdin.json"; then
        echo "FAIL $rel: reading from stdin differs from reading the file"
        failed=$((failed + 1))
    fi
    checked=$((checked + 1))
    rm -f "$tmp"/*.json
done < <(find "$top/pcaps" -type f \( -name '*.pcap' -o -name '*.pcapng' \) -print0 | sort -z)

echo "determinism: $checked captures checked, $failed differ"
[ "$checked" -gt 0 ] && [ "$failed" -eq 0 ]
