#!/usr/bin/env bash
# Never a leak: replays every capture under pcaps/ with a threshold of 2 (so
# that alerts fire and carry samples, and every detector's line is written)
# and the periodic stats on, and fails if any line of the event output or of
# stderr holds a full PII value: a run of 13 or more digits (cards), an
# SSN-shaped ddd-dd-dddd, an unmasked email, a full phone number or an
# IBAN-shaped string (run_case.sh --leak-check does the looking, and names
# only the line and kind it found, never the value).
set -uo pipefail
bin=${1:?usage: check_no_leak.sh LEAKWATCH}
top=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

checked=0
failed=0
while IFS= read -r -d '' pcap; do
    rel=${pcap#"$top"/}
    out="$tmp/out.json"
    err="$tmp/err.txt"
    rm -f "$out"
    "$bin" -c "$top/etc/leakwatch.yaml" --set burst.threshold=2 --set stats.interval=1 \
        -r "$pcap" -o "$out" 2>"$err"
    rc=$?
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
        echo "FAIL $rel: exit $rc"
        failed=$((failed + 1))
        continue
    fi
    if ! bash "$top/tests/e2e/run_case.sh" --leak-check "$out" "$err" >"$tmp/leak.txt" 2>&1; then
        echo "FAIL $rel: $(head -c 300 "$tmp/leak.txt")"
        failed=$((failed + 1))
    fi
    checked=$((checked + 1))
done < <(find "$top/pcaps" -type f \( -name '*.pcap' -o -name '*.pcapng' \) -print0 | sort -z)

echo "no-leak: $checked captures checked, $failed with a leak"
[ "$checked" -gt 0 ] && [ "$failed" -eq 0 ]
