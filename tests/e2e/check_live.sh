#!/usr/bin/env bash
# Live capture end to end, in two network namespaces of this test only:
# ns A holds the inside host 10.77.0.1 and the sensor, capturing on A's end
# of a veth pair; ns B holds an "outside" HTTP server at 10.77.0.2:8080 that
# reads and discards POST bodies and answers 201. home_net is the inside
# host alone (10.77.0.1/32), so the server counts as outside.
#
# A client in ns A POSTs a CSV of 40 fictional customers (example.com
# emails, NANP 555-01xx phones, Luhn-valid test card numbers; built by
# tests/tools/gen_pcaps.py's Fake). The alert must reach the -o file (held
# alerts are written when the flow ends). Then the file is renamed, SIGHUP,
# a second POST to another path, SIGTERM. Checked: exit 0; the two files
# hold exactly 2 alerts from 10.77.0.1 to 10.77.0.2; every stats line has
# capture.kernel_drops 0 and the last capture.packets > 0; nothing in clear.
# Needs root, `ip netns` and veth; exits 77 (skipped) otherwise. The
# namespaces are removed on every exit path.
# shellcheck disable=SC2016 # wait_for eval's its condition later, on purpose
set -uo pipefail
bin=${1:?usage: check_live.sh LEAKWATCH}
case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
top=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cfg=$top/etc/leakwatch.yaml
[ "$(id -u)" = 0 ] || { echo "skipped: needs root for network namespaces"; exit 77; }
command -v ip >/dev/null || { echo "skipped: no ip(8)"; exit 77; }
command -v python3 >/dev/null || { echo "skipped: no python3"; exit 77; }
[ -x "$bin" ] || { echo "FAIL: no executable $bin"; exit 1; }

nsa=lwA$$
nsb=lwB$$
va=lwa$$
vb=lwb$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lw-live.XXXXXX") || exit 1
spid=''
srvpid=''
cleanup() {
    [ -n "$spid" ] && kill -KILL "$spid" 2>/dev/null
    [ -n "$srvpid" ] && kill -KILL "$srvpid" 2>/dev/null
    wait 2>/dev/null
    ip netns del "$nsa" 2>/dev/null
    ip netns del "$nsb" 2>/dev/null
    ip link del "$va" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if ! ip netns add "$nsa" 2>/dev/null || ! ip netns add "$nsb" 2>/dev/null; then
    echo "skipped: cannot create network namespaces (ip netns add failed)"
    exit 77
fi
if ! ip link add "$va" type veth peer name "$vb" 2>/dev/null; then
    echo "skipped: cannot create a veth pair"
    exit 77
fi
setup() {
    ip link set "$va" netns "$nsa" &&
        ip link set "$vb" netns "$nsb" &&
        ip -n "$nsa" addr add 10.77.0.1/24 dev "$va" &&
        ip -n "$nsb" addr add 10.77.0.2/24 dev "$vb" &&
        ip -n "$nsa" link set lo up && ip -n "$nsb" link set lo up &&
        ip -n "$nsa" link set "$va" up && ip -n "$nsb" link set "$vb" up
}
if ! setup 2>"$tmp/setup.err"; then
    echo "skipped: cannot set up the veth pair in the namespaces: $(head -c 200 "$tmp/setup.err")"
    exit 77
fi

fail() {
    echo "FAIL live: $*"
    exit 1
}

# wait_for SECONDS COMMAND...: polls every 100 ms.
wait_for() {
    local end=$((SECONDS + $1))
    shift
    while ! "$@"; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.1
    done
}

cat >"$tmp/server.py" <<'PY'
import http.server, sys

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        left = int(self.headers.get("Content-Length", "0"))
        while left > 0:
            chunk = self.rfile.read(min(left, 65536))
            if not chunk:
                break
            left -= len(chunk)
        body = b'{"status":"ok"}\n'
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True

    def log_message(self, *a):
        pass

http.server.HTTPServer(("10.77.0.2", 8080), H).serve_forever()
PY

cat >"$tmp/client.py" <<'PY'
import sys, urllib.request
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
import gen_pcaps

body = gen_pcaps.Fake("leakwatch-live-" + sys.argv[2]).rows(40, ["name", "email", "phone", "card"])
req = urllib.request.Request("http://10.77.0.2:8080" + sys.argv[2], data=body, method="POST",
                             headers={"Content-Type": "text/csv", "Connection": "close"})
with urllib.request.urlopen(req, timeout=10) as r:
    r.read()
    sys.exit(0 if r.status == 201 else 1)
PY

ip netns exec "$nsb" python3 "$tmp/server.py" >"$tmp/server.log" 2>&1 &
srvpid=$!

out=$tmp/live.json
ip netns exec "$nsa" "$bin" -c "$cfg" -i "$va" --set capture.promisc=no \
    --set home_net=10.77.0.1/32 --set stats.interval=1 -o "$out" \
    >"$tmp/sensor.stdout" 2>"$tmp/sensor.err" </dev/null &
spid=$!

count() { local n; n=$(grep -c "$1" "$2" 2>/dev/null); echo "${n:-0}"; }
nstats() { count '"event_type":"stats"' "$1"; }
nalerts() { count '"event_type":"alert"' "$1"; }
server_up() { ip netns exec "$nsa" bash -c 'exec 3<>/dev/tcp/10.77.0.2/8080' 2>/dev/null; }

wait_for 15 eval '[ "$(nstats "$out")" -ge 1 ] || ! kill -0 "$spid" 2>/dev/null'
kill -0 "$spid" 2>/dev/null || fail "the sensor exited at start: $(head -c 300 "$tmp/sensor.err")"
[ "$(nstats "$out")" -ge 1 ] ||
    fail "no stats line within 15 s of the start: $(head -c 300 "$tmp/sensor.err")"
wait_for 10 server_up || fail "the test server did not come up"
# The probe connection above carried no data; the POSTs follow.

post() {
    timeout -k 5 20 ip netns exec "$nsa" python3 "$tmp/client.py" "$top/tests/tools" "$1" \
        >"$tmp/client.log" 2>&1 || fail "the POST to $1 failed"
}

post /upload/customers.csv
wait_for 20 eval '[ "$(nalerts "$out")" -ge 1 ]' || fail "no alert within 20 s of the first POST"
mv "$out" "$out.1"
kill -HUP "$spid"
wait_for 10 eval 'grep -q "reloaded" "$tmp/sensor.err"' || fail "no \"reloaded\" on stderr within 10 s of SIGHUP"
wait_for 10 eval '[ -f "$out" ]' || fail "no new output file within 10 s of SIGHUP"
post /export/second.csv
wait_for 20 eval '[ "$(nalerts "$out")" -ge 1 ]' || fail "no alert in the new file within 20 s of the second POST"
kill -TERM "$spid"
if wait_for 15 eval '! kill -0 "$spid" 2>/dev/null'; then
    wait "$spid"
    rc=$?
else
    rc=124
fi
spid=

bash "$top/tests/e2e/run_case.sh" --leak-check "$out.1" "$out" "$tmp/sensor.err" \
    "$tmp/sensor.stdout" || fail "output holds a value in clear"
grep -qE 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' "$tmp/sensor.err" &&
    fail "sanitizer report"
[ "$rc" = 124 ] && fail "no exit within 15 s of SIGTERM"
[ "$rc" = 0 ] || fail "exit $rc after SIGTERM, want 0: $(head -c 300 "$tmp/sensor.err")"

python3 - "$out.1" "$out" <<'PY' || exit 1
import json, sys

alerts, stats, bad = [], [], []
for path in sys.argv[1:]:
    data = open(path, "rb").read()
    if data and not data.endswith(b"\n"):
        bad.append("%s does not end with a whole line" % path.rsplit("/", 1)[-1])
    for line in data.split(b"\n")[:-1]:
        try:
            ev = json.loads(line)
        except ValueError:
            bad.append("a line is not a whole JSON object")
            continue
        if ev.get("event_type") == "alert":
            alerts.append(ev)
        elif ev.get("event_type") == "stats" and "worker" not in ev:
            stats.append(ev.get("stats", {}))
if len(alerts) != 2:
    bad.append("%d alerts in the two files, want 2" % len(alerts))
for a in alerts:
    if (a.get("src_ip"), a.get("dest_ip"), a.get("dest_port")) != ("10.77.0.1", "10.77.0.2", 8080):
        bad.append("an alert is not from 10.77.0.1 to 10.77.0.2:8080")
if not stats:
    bad.append("no stats lines")
else:
    drops = [s.get("capture.kernel_drops") for s in stats]
    if any(d != 0 for d in drops):
        bad.append("capture.kernel_drops not 0 in every stats line (max %s)"
                   % max(d for d in drops if isinstance(d, int)) if any(isinstance(d, int) for d in drops)
                   else "capture.kernel_drops missing")
    if not (isinstance(stats[-1].get("capture.packets"), int) and stats[-1]["capture.packets"] > 0):
        bad.append("capture.packets is %s in the last stats line" % stats[-1].get("capture.packets"))
if bad:
    print("FAIL live: " + "; ".join(bad))
    sys.exit(1)
print("PASS live: 2 alerts over a rotation, %d stats lines, %d packets, no kernel drops"
      % (len(stats), stats[-1]["capture.packets"]))
PY
