#!/usr/bin/env bash
# workers.sh - what a second worker thread buys on a replay, and that it changes nothing found.
#
#   bash bench/workers.sh BUILD_DIR        (BUILD_DIR: a Release build)
#
# Generates into a temporary directory (never the repo) one capture of about
# LW_BENCH_MB (default 150) MB shaped like reassembly.sh's `inorder` one: HTTP
# POST uploads of CSV customer records (name,email,phone,card,ssn; fictional, as
# in tests/tools/gen_pcaps.py), 1 MB per connection in full 1448-byte segments,
# in order - but from 32 inside hosts (10.2.0.1-32) instead of 10, so that
# dispatch, which hashes the inside host, has enough hosts to balance.
# Then runs BUILD_DIR/leakwatch 3 times with runmode.workers=1 and 3 times with
# =2 (runs interleaved, the file already in the page cache) and prints, per
# mode, MB/s = capture bytes / wall seconds (MB = 10^6 bytes, median of the
# runs), the same over user + system CPU seconds of all the sensor's threads,
# the 2/1 ratios, the alerts and validated values of the last run and how many
# packets each worker got. Alerts and validated values must be the same in both
# modes (dispatch keeps every flow of an inside host on one worker); a
# difference is printed as MISMATCH and makes the exit status 1.
#
# With workers=1 there is no thread and no ring: the capture thread runs the
# engine itself. With workers=2 there are three threads (capture + 2 workers)
# and the packets cross a ring; on a 2-CPU machine they share two cores, so the
# header line says how many CPUs there are.
#
# Environment: LW_BENCH_MB (capture size), LW_BENCH_RUNS (default 3),
# LW_BENCH_KEEP=1 keeps the temporary directory. Python 3 standard library only.
set -euo pipefail

build=${1:?usage: bench/workers.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/leakwatch
case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
[ -x "$bin" ] || { echo "no executable $bin (build first: make build)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }
# shellcheck source=bench/lib.bash
. "$(dirname "$0")/lib.bash"
bench_warn_unless_release "$build"

bench_make_tmp workers

python3 - "$top" "$tmp" "${LW_BENCH_MB:-150}" <<'PY'
import json
import os
import random
import struct
import sys

top, out, mb = sys.argv[1], sys.argv[2], float(sys.argv[3])
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(top, "tests", "tools"))
import gen_pcaps as g  # noqa: E402

rng = random.Random("leakwatch-bench-workers")
MSS = 1448
UPLOAD = 1000000
HOSTS = 32


def row():
    return g.customer_csv_row(rng)


def frame(src, dst, sp, dp, seq, ack, flags, payload=b""):
    tcp = g.tcp_segment(src, dst, sp, dp, seq, ack, flags, payload)
    return g.link_ethernet(g.ipv4_header(src, dst, g.PROTO_TCP, len(tcp), 0) + tcp)


pool = [row() for _ in range(20000)]
uploads = max(HOSTS, int(mb * 1e6 / (UPLOAD * 1.05)))
t = g.T0_S * 1000000
values = 0
with open(os.path.join(out, "uploads.pcap"), "wb") as fh:
    fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, g.LINKTYPE_ETHERNET))

    def put(ts, f):
        fh.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(f), len(f)))
        fh.write(f)

    for u in range(uploads):
        cli, srv = g.ip4("10.2.0.%d" % (1 + u % HOSTS)), g.ip4("203.0.113.%d" % (100 + u % 5))
        cport = 40000 + u
        rows, size = [], 0
        while size < UPLOAD:
            r = pool[rng.randrange(len(pool))]
            rows.append(r)
            size += len(r)
        values += 4 * len(rows)
        body = ("name,email,phone,card,ssn\n" + "".join(rows)).encode()
        req = g.http_request("POST", "/api/import", "upload.example.net", body, "text/csv")
        cseq, sseq = rng.getrandbits(32), rng.getrandbits(32)
        for f in (frame(cli, srv, cport, 80, cseq, 0, g.TCP_SYN),
                  frame(srv, cli, 80, cport, sseq, cseq + 1, g.TCP_SYN | g.TCP_ACK),
                  frame(cli, srv, cport, 80, cseq + 1, sseq + 1, g.TCP_ACK)):
            t += 100
            put(t, f)
        n = 0
        for o in range(0, len(req), MSS):
            t += 10
            put(t, frame(cli, srv, cport, 80, cseq + 1 + o, sseq + 1, g.TCP_ACK | g.TCP_PSH, req[o:o + MSS]))
            n += 1
            held = min(o + MSS, len(req))
            if n % 2 == 0 or held == len(req):
                t += 10
                put(t, frame(srv, cli, 80, cport, sseq + 1, cseq + 1 + held, g.TCP_ACK))
        end = len(req)
        for f in (frame(cli, srv, cport, 80, cseq + 1 + end, sseq + 1, g.TCP_FIN | g.TCP_ACK),
                  frame(srv, cli, 80, cport, sseq + 1, cseq + 2 + end, g.TCP_FIN | g.TCP_ACK),
                  frame(cli, srv, cport, 80, cseq + 2 + end, sseq + 2, g.TCP_ACK)):
            t += 100
            put(t, f)
        t += 20000
with open(os.path.join(out, "empty.pcap"), "wb") as fh:
    fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, g.LINKTYPE_ETHERNET))
with open(os.path.join(out, "truth.json"), "w") as fh:
    json.dump({"uploads": uploads, "hosts": HOSTS, "values": values}, fh)
PY

python3 - "$bin" "$top" "$tmp" "${LW_BENCH_RUNS:-3}" <<'PY'
import json
import os
import statistics
import subprocess
import sys
import time

binary, top, tmp, runs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
conf = os.path.join(top, "etc", "leakwatch.yaml")
truth = json.load(open(os.path.join(tmp, "truth.json")))


def run(pcap, workers):
    """(wall s, cpu s, alerts, totals stats, [dispatched per worker]) of one run."""
    out = os.path.join(tmp, "out.json")
    if os.path.exists(out):
        os.unlink(out)  # leakwatch appends to an existing output file
    args = [binary, "-c", conf, "--set", "runmode.workers=%d" % workers, "-r", pcap, "-o", out]
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    secs = time.monotonic() - t0
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        sys.exit("leakwatch exited with %d on %s (workers=%d)" % (rc, pcap, workers))
    totals, per, alerts = {}, [], 0
    with open(out) as fh:
        for line in fh:
            if '"event_type":"alert"' in line:
                alerts += 1
            elif '"event_type":"stats"' in line:
                ev = json.loads(line)
                if "worker" in ev:
                    per.append(ev["stats"].get("capture.dispatched", 0))
                else:
                    totals = ev["stats"]
    return secs, ru.ru_utime + ru.ru_stime, alerts, totals, per


pcap = os.path.join(tmp, "uploads.pcap")
size = os.path.getsize(pcap)
with open(pcap, "rb") as fh:  # into the page cache before the first timed run
    while fh.read(1 << 20):
        pass
start = statistics.median(run(os.path.join(tmp, "empty.pcap"), 1)[0] for _ in range(runs))
print("workers bench: %s" % binary)
print("%d CPUs; %d uploads of ~1 MB from %d inside hosts, %.1f MB, %d values put in;"
      " median of %d runs" % (os.cpu_count() or 0, truth["uploads"], truth["hosts"], size / 1e6, truth["values"],
                               runs))
print("workers=1: the capture thread runs the engine (1 thread); workers=2: capture thread + 2 workers"
      " (3 threads) on %d CPUs" % (os.cpu_count() or 0))
print("startup (empty capture, median of %d): %.3f s, included in every wall time below" % (runs, start))
print()
res = {1: [], 2: []}
for _ in range(runs):
    for w in (1, 2):
        res[w].append(run(pcap, w))
hdr = "%-7s %7s %8s  %-17s %6s %10s  %s" % ("workers", "MB/s", "cpu MB/s", "wall s (runs)", "alerts", "validated",
                                           "packets per worker")
print(hdr)
print("-" * len(hdr))
rate, crate, found = {}, {}, {}
for w in (1, 2):
    secs = [r[0] for r in res[w]]
    rate[w] = size / 1e6 / statistics.median(secs)
    crate[w] = size / 1e6 / statistics.median(r[1] for r in res[w])
    # Every run of a mode must find the same; compare the last run's counts across modes.
    seen = {(r[2], sum(v for k, v in r[3].items() if k.startswith("match.validated."))) for r in res[w]}
    _, _, alerts, st, per = res[w][-1]
    validated = sum(v for k, v in st.items() if k.startswith("match.validated."))
    found[w] = (alerts, validated, len(seen))
    print("%-7d %7.1f %8.1f  %-17s %6d %10d  %s" % (
        w, rate[w], crate[w], " ".join("%.2f" % s for s in secs), alerts, validated,
        " ".join(str(n) for n in per) if per else "(inline)"))
print()
print("ratio workers 2/1: %.2f wall, %.2f cpu" % (rate[2] / rate[1], crate[2] / crate[1]))
bad = []
if found[1][:2] != found[2][:2]:
    bad.append("alerts/validated differ: workers=1 %d/%d, workers=2 %d/%d" % (found[1][:2] + found[2][:2]))
for w in (1, 2):
    if found[w][2] != 1:
        bad.append("workers=%d: runs disagree with each other" % w)
if bad:
    print("MISMATCH " + "; ".join(bad))
    sys.exit(1)
print("alerts and validated equal in both modes (%d values put in)" % truth["values"])
PY
