#!/usr/bin/env bash
# Never a leak: replays every capture under pcaps/ with a threshold of 2 (so
# that alerts fire and carry samples, and every detector's line is written)
# and the periodic stats on, and fails if any line of the event output or of
# stderr holds a full PII value: a run of 13 or more digits (cards), an
# SSN-shaped ddd-dd-dddd, an unmasked email, a full phone number or an
# IBAN-shaped string (run_case.sh --leak-check does the looking, and names
# only the line and kind it found, never the value).
#
# Every output is on at once: the file, a unix stream socket, a unix
# datagram socket and syslog (RFC 5424 to a test socket), each received by a
# small listener here and checked the same way; every detector writes (a
# policy with pair and source detectors, GeoIP sections from the test
# databases).
set -uo pipefail
bin=${1:?usage: check_no_leak.sh LEAKWATCH}
top=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
listener=""
cleanup() {
    [ -n "$listener" ] && kill "$listener" 2>/dev/null && wait "$listener" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# The listeners: everything received goes to one file per socket.
python3 - "$tmp" <<'PY' &
import os, select, socket, sys
d = sys.argv[1]
socks, files = {}, {}
for name, kind in (("stream", socket.SOCK_STREAM), ("dgram", socket.SOCK_DGRAM),
                   ("syslog", socket.SOCK_DGRAM)):
    s = socket.socket(socket.AF_UNIX, kind)
    s.bind(os.path.join(d, name + ".sock"))
    if kind == socket.SOCK_STREAM:
        s.listen(8)
    socks[s] = name
    files[name] = open(os.path.join(d, name + ".out"), "ab", buffering=0)
open(os.path.join(d, "ready"), "w").close()
conns = {}
while True:
    r, _, _ = select.select(list(socks) + list(conns), [], [])
    for s in r:
        if s in socks and socks[s] == "stream":
            c, _ = s.accept()
            conns[c] = "stream"
        elif s in socks:
            data = s.recv(65536)
            files[socks[s]].write(data if data.endswith(b"\n") else data + b"\n")
        else:
            data = s.recv(65536)
            if not data:
                s.close()
                del conns[s]
            else:
                files["stream"].write(data)
PY
listener=$!
for _ in $(seq 100); do [ -f "$tmp/ready" ] && break; sleep 0.05; done
[ -f "$tmp/ready" ] || { echo "FAIL: the socket listeners did not start"; exit 1; }
cat >"$tmp/policy.yaml" <<'POL'
detectors:
  - {name: pair, key: pair, sid: 9000001}
  - {name: source, key: source, window: 60, threshold: 3, sid: 9000004}
POL

checked=0
failed=0
while IFS= read -r -d '' pcap; do
    rel=${pcap#"$top"/}
    out="$tmp/out.json"
    err="$tmp/err.txt"
    rm -f "$out"
    "$bin" -c "$top/etc/leakwatch.yaml" --set burst.threshold=2 --set stats.interval=1 \
        --set policy="$tmp/policy.yaml" \
        --set geoip.country_db="$top/pcaps/geoip/test-country.mmdb" \
        --set geoip.asn_db="$top/pcaps/geoip/test-asn.mmdb" \
        --set outputs="file:$out,unix-stream:$tmp/stream.sock,unix-dgram:$tmp/dgram.sock,syslog:local5@$tmp/syslog.sock" \
        -r "$pcap" 2>"$err"
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

# What the sockets received, all captures together. Syslog messages are
# "<PRI>1 TIMESTAMP HOST leakwatch PID - - LINE": the header is checked and
# stripped so the line is looked at as JSON like the others (a flow_id is a
# long number, fine in JSON, not in free text).
sleep 0.2
python3 - "$tmp/syslog.out" "$tmp/syslog.json" <<'PY' || failed=$((failed + 1))
import re, sys
head = re.compile(r"^<\d{1,3}>1 \S+ \S+ leakwatch \d+ - - ")
bad = 0
with open(sys.argv[1], encoding="utf-8", errors="replace") as src, open(sys.argv[2], "w") as dst:
    for no, line in enumerate(src, 1):
        m = head.match(line)
        if not m:
            print("FAIL syslog line %d: not an RFC 5424 leakwatch message" % no)
            bad += 1
            continue
        dst.write(line[m.end():])
sys.exit(1 if bad else 0)
PY
for f in stream dgram syslog; do
    [ "$f" = syslog ] && src="$tmp/syslog.json" || src="$tmp/$f.out"
    if [ ! -s "$src" ]; then
        echo "FAIL: the $f socket received nothing"
        failed=$((failed + 1))
    elif ! bash "$top/tests/e2e/run_case.sh" --leak-check "$src" >"$tmp/leak.txt" 2>&1; then
        echo "FAIL $f socket: $(head -c 300 "$tmp/leak.txt")"
        failed=$((failed + 1))
    fi
done
lines=$(cat "$tmp"/stream.out "$tmp"/dgram.out "$tmp"/syslog.out 2>/dev/null | wc -l)
echo "no-leak: $checked captures checked with file, stream, datagram and syslog outputs" \
    "($lines socket lines), $failed with a leak"
[ "$checked" -gt 0 ] && [ "$failed" -eq 0 ]
