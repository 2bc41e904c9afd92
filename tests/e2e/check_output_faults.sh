#!/usr/bin/env bash
# Output on a full file system: the sensor writes its events to a 64 KiB
# tmpfs that is then filled. Write errors must be counted (not fatal), the
# capture must go on, writing must resume by itself once space returns,
# every line in the file must be a whole JSON object (nothing half
# written), and the exit status must say lines were lost (1, with one
# stderr line). The capture arrives through a FIFO in two halves, so the
# file system can be emptied between them.
# Needs root (to mount the tmpfs) and python3; exits 77 (skipped) otherwise.
set -uo pipefail
bin=${1:?usage: check_output_faults.sh LEAKWATCH}
top=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
command -v python3 >/dev/null || { echo "skipped: no python3"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "skipped: needs root to mount a tmpfs"; exit 77; }
tmp=$(mktemp -d)
fs="$tmp/fs"
mkdir -p "$fs"
if ! mount -t tmpfs -o size=64k tmpfs "$fs" 2>/dev/null; then
    rmdir "$fs"; rm -rf "$tmp"
    echo "skipped: cannot mount a tmpfs here"
    exit 77
fi
pid=
cleanup() {
    [ -n "$pid" ] && kill "$pid" 2>/dev/null
    umount "$fs" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

pcap="$top/pcaps/slow_drip_below_window.pcap"
# Split the capture: the file header and the first half of the records,
# then the rest (records are whole in each half).
python3 - "$pcap" "$tmp/a" "$tmp/b" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
hdr, off, recs = data[:24], 24, []
while off + 16 <= len(data):
    incl = struct.unpack('<I', data[off + 8:off + 12])[0]
    recs.append(data[off:off + 16 + incl])
    off += 16 + incl
half = len(recs) // 2
open(sys.argv[2], 'wb').write(hdr + b''.join(recs[:half]))
open(sys.argv[3], 'wb').write(b''.join(recs[half:]))
PY

# Fill the file system, leaving no room for a stats line.
dd if=/dev/zero of="$fs/filler" bs=1k count=64 2>/dev/null
mkfifo "$tmp/in"
"$bin" -c "$top/etc/leakwatch.yaml" --set stats.interval=5 -r - -o "$fs/eve.json" \
    <"$tmp/in" 2>"$tmp/err" &
pid=$!
exec 3>"$tmp/in"
cat "$tmp/a" >&3
# The first half is processed while the disk is full: wait until a write has
# failed (a fixed sleep raced a loaded machine), at most 60 s.
for _ in $(seq 600); do
    grep -q "write failed" "$tmp/err" 2>/dev/null && break
    sleep 0.1
done
rm -f "$fs/filler"
cat "$tmp/b" >&3
exec 3>&-
wait "$pid"
rc=$?
pid=

fail=0
say() { echo "FAIL: $*"; fail=1; }
[ "$rc" = 1 ] || say "exit $rc, want 1 (lines were lost)"
grep -q "write failed" "$tmp/err" || say "no write-failure message on stderr"
grep -q "writing again" "$tmp/err" || say "no message that writing resumed"
python3 - "$fs/eve.json" <<'PY' || fail=1
import json, sys
lines = open(sys.argv[1], 'rb').read().split(b'\n')
if lines[-1] != b'':
    print('FAIL: the file does not end with a whole line'); sys.exit(1)
stats = None
for i, l in enumerate(lines[:-1], 1):
    try:
        ev = json.loads(l)
    except ValueError:
        print(f'FAIL: line {i} is not a whole JSON object'); sys.exit(1)
    if ev.get('event_type') == 'stats':
        stats = ev['stats']
if stats is None:
    print('FAIL: no stats line made it after space returned'); sys.exit(1)
if stats.get('output.write_errors', 0) <= 0:
    print('FAIL: output.write_errors did not count the lost lines'); sys.exit(1)
if stats.get('decode.pkts', 0) <= 0:
    print('FAIL: the capture did not go on'); sys.exit(1)
print(f"output faults: {len(lines) - 1} whole lines written, "
      f"{stats['output.write_errors']} lost to the full disk, "
      f"{stats['decode.pkts']} packets processed")
PY
[ "$fail" = 0 ]
