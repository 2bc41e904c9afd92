#!/usr/bin/env bash
# match.cache_dir end to end: a cold start compiles and stores the
# signature databases (mode 0600 files in a 0700 directory it creates), a
# warm start loads them and writes the same bytes, a SIGHUP reload with the
# cache still alerts, and a directory others may write is ignored with one
# warning while the output stays the same. The unit tests (test_dbcache)
# cover damaged, foreign and untrusted files one by one.
set -euo pipefail
bin=${1:?usage: check_dbcache.sh LEAKWATCH}
top=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pcap=$top/pcaps/demo/demo.pcap
[ -f "$pcap" ] || { echo "no $pcap"; exit 1; }
fail=0
no() { echo "FAIL: $*"; fail=1; }
run() { # run OUT ERR [ARGS...]
    local out=$1 err=$2
    shift 2
    "$bin" -c "$top/etc/leakwatch.yaml" --set burst.threshold=5 "$@" -r "$pcap" -o "$out" 2>"$err"
}

run "$tmp/plain.json" "$tmp/plain.err"
grep -q '"event_type":"alert"' "$tmp/plain.json" || no "the demo capture gave no alert"

cache=$tmp/cache
run "$tmp/cold.json" "$tmp/cold.err" --set match.cache_dir="$cache"
[ "$(stat -c %a "$cache")" = 700 ] || no "cache directory mode $(stat -c %a "$cache"), want 700"
n=$(find "$cache" -name '*.hsdb' | wc -l)
[ "$n" -ge 2 ] || no "cold start stored $n databases"
bad=$(find "$cache" -name '*.hsdb' ! -perm 600 | wc -l)
[ "$bad" -eq 0 ] || no "$bad database files not mode 0600"
[ -z "$(find "$cache" -name '*.tmp')" ] || no "temporary files left behind"
cmp -s "$tmp/plain.json" "$tmp/cold.json" || no "cold start output differs from no cache"

before=$(stat -c "%n %i" "$cache"/*.hsdb | sort | md5sum)
run "$tmp/warm.json" "$tmp/warm.err" --set match.cache_dir="$cache"
cmp -s "$tmp/plain.json" "$tmp/warm.json" || no "warm start output differs"
[ "$(find "$cache" -name '*.hsdb' | wc -l)" -eq "$n" ] || no "warm start stored new databases"
[ "$before" = "$(stat -c "%n %i" "$cache"/*.hsdb | sort | md5sum)" ] || no "warm start rewrote databases"
[ ! -s "$tmp/warm.err" ] || no "warm start wrote to stderr: $(head -c 200 "$tmp/warm.err")"

chmod 0777 "$cache"
run "$tmp/open.json" "$tmp/open.err" --set match.cache_dir="$cache"
cmp -s "$tmp/plain.json" "$tmp/open.json" || no "output with an untrusted cache differs"
[ "$(grep -c 'match.cache_dir' "$tmp/open.err")" -eq 1 ] ||
    no "want one match.cache_dir warning, got: $(head -c 300 "$tmp/open.err")"
chmod 0700 "$cache"

# A reload compiles the same signatures again: from the cache this time.
mkfifo "$tmp/fifo"
"$bin" -c "$top/etc/leakwatch.yaml" --set burst.threshold=5 --set match.cache_dir="$cache" \
    -r - -o "$tmp/hup.json" <"$tmp/fifo" 2>"$tmp/hup.err" &
pid=$!
exec 3>"$tmp/fifo"
head -c 24 "$pcap" >&3 # the file header: the sensor is up
sleep 1 # let it load and start reading
kill -HUP "$pid"
sleep 0.5
tail -c +25 "$pcap" >&3
exec 3>&-
wait "$pid" || no "reload run exited $?"
grep -q '"event_type":"alert"' "$tmp/hup.json" || no "no alert after a reload with the cache"
grep -q '"runtime.reloads":1' "$tmp/hup.json" || no "the reload was not counted"
[ "$(find "$cache" -name '*.hsdb' | wc -l)" -eq "$n" ] || no "the reload stored new databases"

[ "$fail" -eq 0 ] && echo "dbcache: cold, warm, untrusted and reload runs agree ($n databases)"
exit "$fail"
