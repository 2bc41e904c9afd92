#!/usr/bin/env bash
# live.sh - live capture under load: what the sensor sees, drops and finds as the rate rises.
#
#   bash bench/live.sh BUILD_DIR        (BUILD_DIR: a Release build; run as root)
#
# Generates into a temporary directory (never the repo) one capture of about
# LW_BENCH_MB (default 100) MB with real Ethernet headers: 50 leaks - 50 inside
# hosts 10.77.1.10-59, each POSTing a CSV of 30 fictional customer records
# (name,email,phone,card, built by tests/tools/gen_pcaps.py's Fake) to one of
# 4 outside hosts over its own TCP connection closed with FIN - interleaved
# packet by packet with filler: 1 MB HTTP uploads of random bytes (no PII) from
# 20 other inside hosts (10.77.200.1-20). Frames are at most 1502 bytes, so the
# veth pair keeps MTU 1500.
#
# Then, in two network namespaces of its own joined by a veth pair (IPv6 off,
# so the only frames on the link are the replayed ones), it runs the sensor in
# ns A on A's end (-i, promisc, home_net=10.77.0.0/16, stats.interval=1) and
# `tcpreplay --mbps=R` in ns B on B's end, for R in 200, 500, 1000 and
# --topspeed, each with runmode.workers=1 and =2 (interleaved). After each
# replay it waits until the sensor's packet count stops rising, sends SIGTERM
# and reads the final totals line (the last stats line without "worker").
# One row per (rate, workers): the rate asked, the rate tcpreplay reports, the
# packets it sent, capture.kernel_packets, decode.pkts, capture.kernel_drops,
# capture.ring_full, and how many of the 50 leaking hosts got an alert (other
# alerts, which there should be none of, are counted apart). A first line
# gives the sensor's own ceiling on this capture: replays from the file.
#
# Needs root, ip(8) with netns, veth and tcpreplay; without them it says why and
# exits 0 (a skipped bench is not a failure). The namespaces, the sensor and the
# temporary directory are removed on every exit path. About 2-3 minutes.
#
# Environment: LW_BENCH_MB (capture size), LW_BENCH_RATES (default
# "200 500 1000 top"), LW_BENCH_KEEP=1 keeps the temporary directory.
# Python 3 standard library only.
set -uo pipefail

build=${1:?usage: bench/live.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/leakwatch
case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
[ -x "$bin" ] || { echo "no executable $bin (build first: make build)" >&2; exit 1; }
skip() {
    echo "live bench skipped: $*"
    exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root for network namespaces"
command -v ip >/dev/null || skip "no ip(8) (apt-get install iproute2)"
command -v python3 >/dev/null || skip "no python3"
command -v tcpreplay >/dev/null || skip "no tcpreplay (apt-get install tcpreplay)"
# shellcheck source=bench/lib.bash
. "$(dirname "$0")/lib.bash"
bench_warn_unless_release "$build"

nsa=lwbA$$
nsb=lwbB$$
va=lwba$$
vb=lwbb$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lw-bench-live.XXXXXX") || exit 1
cleanup() {
    # The driver writes the running sensor's and tcpreplay's pids here.
    local pids p
    read -r -a pids <"$tmp/pids" 2>/dev/null
    for p in "${pids[@]}"; do
        kill -KILL "$p" 2>/dev/null
    done
    ip netns del "$nsa" 2>/dev/null
    ip netns del "$nsb" 2>/dev/null
    ip link del "$va" 2>/dev/null
    if [ "${LW_BENCH_KEEP:-0}" = 1 ]; then
        echo "keeping $tmp"
    else
        rm -rf "$tmp"
    fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if ! ip netns add "$nsa" 2>/dev/null || ! ip netns add "$nsb" 2>/dev/null; then
    skip "cannot create network namespaces (ip netns add failed)"
fi
ip link add "$va" type veth peer name "$vb" 2>/dev/null || skip "cannot create a veth pair"
setup() {
    local ns
    ip link set "$va" netns "$nsa" && ip link set "$vb" netns "$nsb" || return 1
    for ns in "$nsa" "$nsb"; do
        # No router solicitations or MLD reports: every frame on the link is replayed.
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 &&
            ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1 &&
            ip -n "$ns" link set lo up || return 1
    done
    ip -n "$nsa" link set "$va" mtu 1500 up && ip -n "$nsb" link set "$vb" mtu 1500 up
}
setup 2>"$tmp/setup.err" || skip "cannot set up the veth pair: $(head -c 200 "$tmp/setup.err")"

python3 - "$top" "$tmp" "${LW_BENCH_MB:-100}" <<'PY' || exit 1
import json
import os
import random
import struct
import sys

top, out, mb = sys.argv[1], sys.argv[2], float(sys.argv[3])
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(top, "tests", "tools"))
import gen_pcaps as g  # noqa: E402

rng = random.Random("leakwatch-bench-live")
MSS = 1448
LEAKS = 50
FILLER_HOSTS = 20
UPLOAD = 1000000


def frame(src, dst, sp, dp, seq, ack, flags, payload=b""):
    tcp = g.tcp_segment(src, dst, sp, dp, seq, ack, flags, payload)
    return g.link_ethernet(g.ipv4_header(src, dst, g.PROTO_TCP, len(tcp), 0) + tcp)


def session(cli, srv, cport, req):
    """Every frame of one HTTP POST: handshake, data (server ACKs every second
    segment), 201 answer, FIN both ways."""
    cseq, sseq = rng.getrandbits(32), rng.getrandbits(32)
    fr = [frame(cli, srv, cport, 80, cseq, 0, g.TCP_SYN),
          frame(srv, cli, 80, cport, sseq, cseq + 1, g.TCP_SYN | g.TCP_ACK),
          frame(cli, srv, cport, 80, cseq + 1, sseq + 1, g.TCP_ACK)]
    n = 0
    for o in range(0, len(req), MSS):
        fr.append(frame(cli, srv, cport, 80, cseq + 1 + o, sseq + 1, g.TCP_ACK | g.TCP_PSH, req[o:o + MSS]))
        n += 1
        held = min(o + MSS, len(req))
        if n % 2 == 0 or held == len(req):
            fr.append(frame(srv, cli, 80, cport, sseq + 1, cseq + 1 + held, g.TCP_ACK))
    resp = g.http_response("201 Created", b'{"status":"ok"}\n', "application/json")
    end = len(req)
    fr.append(frame(srv, cli, 80, cport, sseq + 1, cseq + 1 + end, g.TCP_ACK | g.TCP_PSH, resp))
    fr.append(frame(cli, srv, cport, 80, cseq + 1 + end, sseq + 1 + len(resp), g.TCP_FIN | g.TCP_ACK))
    fr.append(frame(srv, cli, 80, cport, sseq + 1 + len(resp), cseq + 2 + end, g.TCP_FIN | g.TCP_ACK))
    fr.append(frame(cli, srv, cport, 80, cseq + 2 + end, sseq + 2 + len(resp), g.TCP_ACK))
    return fr


sessions = []
leak_hosts = []
for i in range(LEAKS):
    cli = "10.77.1.%d" % (10 + i)
    leak_hosts.append(cli)
    body = g.Fake("leakwatch-bench-live-%d" % i).rows(30, ["name", "email", "phone", "card"])
    req = g.http_request("POST", "/api/import", "crm-sync.example.net", body, "text/csv")
    sessions.append(session(g.ip4(cli), g.ip4("203.0.113.%d" % (100 + i % 4)), 41000 + i, req))
n_filler = max(1, int((mb * 1e6 - sum(len(f) for s in sessions for f in s)) / (UPLOAD * 1.05)))
for u in range(n_filler):
    body = rng.randbytes(UPLOAD)  # a compressed backup, say: no PII to find
    req = g.http_request("POST", "/upload/part%d.bin" % u, "backup.example.org", body, "application/octet-stream")
    sessions.append(session(g.ip4("10.77.200.%d" % (1 + u % FILLER_HOSTS)), g.ip4("198.51.100.%d" % (10 + u % 3)),
                            50000 + u, req))
rng.shuffle(sessions)

# Interleave packet by packet: up to 6 connections open at once, the next frame
# taken from a random one of them, so leaks sit between filler frames.
frames = 0
t = g.T0_S * 1000000
with open(os.path.join(out, "live.pcap"), "wb") as fh:
    fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, g.LINKTYPE_ETHERNET))
    todo, active = list(reversed(sessions)), []
    while todo or active:
        while todo and len(active) < 6:
            active.append([todo.pop(), 0])
        k = rng.randrange(len(active))
        s = active[k]
        f = s[0][s[1]]
        s[1] += 1
        if s[1] == len(s[0]):
            active.pop(k)
        t += 10
        fh.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(f), len(f)))
        fh.write(f)
        frames += 1
with open(os.path.join(out, "truth.json"), "w") as fh:
    json.dump({"leaks": LEAKS, "leak_hosts": leak_hosts, "filler": n_filler, "frames": frames}, fh)
PY

python3 - "$bin" "$top" "$tmp" "$nsa" "$nsb" "$va" "$vb" "${LW_BENCH_RATES:-200 500 1000 top}" <<'PY'
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

binary, top, tmp, nsa, nsb, va, vb, rates = sys.argv[1:9]
conf = os.path.join(top, "etc", "leakwatch.yaml")
truth = json.load(open(os.path.join(tmp, "truth.json")))
pcap = os.path.join(tmp, "live.pcap")
leak_hosts = set(truth["leak_hosts"])


def note_pids(*pids):
    with open(os.path.join(tmp, "pids"), "w") as fh:
        fh.write(" ".join(str(p) for p in pids if p) + "\n")


def read_out(path):
    """(last totals stats, number of stats lines, leak hosts alerted, other alerts)."""
    totals, nstats, hit, other = None, 0, set(), 0
    try:
        fh = open(path)
    except FileNotFoundError:
        return None, 0, hit, other
    with fh:
        for line in fh:
            if not line.endswith("\n"):
                break  # being written
            if '"event_type":"stats"' in line:
                ev = json.loads(line)
                if "worker" not in ev:
                    totals = ev["stats"]
                    nstats += 1
            elif '"event_type":"alert"' in line:
                src = json.loads(line).get("src_ip")
                if src in leak_hosts:
                    hit.add(src)
                else:
                    other += 1
    return totals, nstats, hit, other


def wait_until(secs, cond):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def one(rate, workers):
    out = os.path.join(tmp, "eve-%s-%d.json" % (rate, workers))
    err = open(os.path.join(tmp, "sensor-%s-%d.err" % (rate, workers)), "w")
    # `ip netns exec` execs the command: the pid is the sensor's own.
    sensor = subprocess.Popen(["ip", "netns", "exec", nsa, binary, "-c", conf, "-i", va, "--set", "capture.promisc=yes",
                               "--set", "home_net=10.77.0.0/16", "--set", "stats.interval=1",
                               "--set", "runmode.workers=%d" % workers, "-o", out],
                              stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    note_pids(sensor.pid)
    # Ready when the first stats line is out: the capture is open by then.
    if not wait_until(15, lambda: read_out(out)[1] >= 1 or sensor.poll() is not None) or sensor.poll() is not None:
        sensor.kill()
        sensor.wait()
        err.close()
        sys.exit("the sensor did not start (workers=%d): %s" % (workers, open(err.name).read()[:300]))
    speed = ["--topspeed"] if rate == "top" else ["--mbps=%s" % rate]
    rep = subprocess.Popen(["ip", "netns", "exec", nsb, "tcpreplay", "--intf1=" + vb] + speed + [pcap],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    note_pids(sensor.pid, rep.pid)
    rout, rerr = rep.communicate()
    note_pids(sensor.pid)
    if rep.returncode != 0:
        sensor.kill()
        sensor.wait()
        sys.exit("tcpreplay failed: %s" % (rerr or rout)[:300])
    m = re.search(r"Rated:\s*[\d.]+\s*Bps,\s*([\d.]+)\s*Mbps", rout)
    achieved = float(m.group(1)) if m else float("nan")
    m = re.search(r"Successful packets:\s*(\d+)", rout)
    sent = int(m.group(1)) if m else -1
    # Settled when two stats lines in a row (one a second) show the same packet count.
    last = [None, 0]

    def settled():
        st, n, _, _ = read_out(out)
        if st is None or n == last[1]:
            return False
        pk = st.get("capture.kernel_packets")
        done = pk == last[0]
        last[0], last[1] = pk, n
        return done

    wait_until(30, settled)
    sensor.send_signal(signal.SIGTERM)
    try:
        rc = sensor.wait(30)
    except subprocess.TimeoutExpired:
        sensor.kill()
        rc = sensor.wait()
    err.close()
    note_pids()
    st, _, hit, other = read_out(out)
    if rc != 0 or st is None:
        sys.exit("the sensor exited with %d (workers=%d, rate %s): %s" % (rc, workers, rate,
                                                                          open(err.name).read()[:300]))
    return (rate, workers, achieved, sent, st.get("capture.kernel_packets", -1), st.get("decode.pkts", -1),
            st.get("capture.kernel_drops", -1), st.get("capture.ring_full", -1), len(hit), other)


size = os.path.getsize(pcap)
with open(pcap, "rb") as fh:  # into the page cache before the first replay
    while fh.read(1 << 20):
        pass
print("live bench: %s" % binary)
print("%d CPUs (sensor and tcpreplay share them); capture %.1f MB, %d frames: %d leaks of 30 records"
      " (one inside host each) among %d 1 MB filler uploads; veth MTU 1500, default capture.buffer_size" % (
          os.cpu_count() or 0, size / 1e6, truth["frames"], truth["leaks"], truth["filler"]))
# The ceiling: the same capture replayed from the file (-r, workers=1, no kernel ring).
ref = os.path.join(tmp, "eve-file.json")
walls = []
for _ in range(3):
    if os.path.exists(ref):
        os.unlink(ref)  # leakwatch appends to an existing output file
    t0 = time.monotonic()
    rc = subprocess.run([binary, "-c", conf, "--set", "home_net=10.77.0.0/16", "--set", "runmode.workers=1", "-r",
                         pcap, "-o", ref], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL).returncode
    walls.append(time.monotonic() - t0)
    if rc != 0:
        sys.exit("leakwatch exited with %d replaying the capture from the file" % rc)
secs = statistics.median(walls)
_, _, hit, other = read_out(ref)
print("from the file (-r, workers=1, median of 3): %.2f s = %.0f Mbps, %d/%d leaks alerted, %d other alerts" % (
    secs, size * 8 / 1e6 / secs, len(hit), truth["leaks"], other))
print()
hdr = "%-6s %7s %7s %8s %8s %8s %7s %9s %6s %6s" % (
    "Mbps", "workers", "achvd", "sent", "kernel", "decoded", "k.drops", "ring_full", "leaks", "other")
print(hdr)
print("-" * len(hdr))
for rate in rates.split():
    for workers in (1, 2):
        r = one(rate, workers)
        print("%-6s %7d %7.1f %8d %8d %8d %7d %9d %3d/%-2d %6d" % (
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], truth["leaks"], r[9]), flush=True)
print()
print("Mbps: asked (top = --topspeed); achvd: what tcpreplay reports; sent: its successful packets;")
print("kernel: capture.kernel_packets (the kernel counts its drops in it too); decoded: decode.pkts; k.drops: capture.kernel_drops;")
print("ring_full: packets dropped because a worker's ring was full; leaks: leaking hosts alerted;")
print("other: alerts from any other host (filler; should be 0)")
PY
