#!/usr/bin/env bash
# reassembly.sh - what TCP reassembly costs in throughput, and what it buys in values.
#
#   bash bench/reassembly.sh BUILD_DIR        (BUILD_DIR: a Release build)
#
# Generates into a temporary directory (never the repo) two captures of about
# LW_BENCH_MB (default 150) MB each: HTTP POST uploads of CSV customer records
# (name,email,phone,card,ssn; fictional, as in tests/tools/gen_pcaps.py) from 10
# inside hosts to 5 outside hosts, 1 MB per connection, in full 1448-byte
# segments, the server ACKing every second one:
#   inorder   every segment in order;
#   swapped   the same frames, but about 10% of the segments sent as adjacent
#             swapped pairs (the later one first), ACKs only up to what is held.
# Then runs BUILD_DIR/leakwatch 3 times on each capture with stream.reassembly=yes
# and 3 times with =no (runs interleaved, the file already in the page cache) and
# prints, per capture and mode, MB/s = capture bytes / wall seconds (MB = 10^6
# bytes, median of the 3 runs), the same over user + system CPU seconds (less
# sensitive to other load on the machine), the yes/no ratios, and the alerts,
# validated values and burst values of the last run, next to the number of values
# the generator put in. Startup (signature compile, a run on an empty capture) is
# printed apart; it is part of every wall time.
#
# Environment: LW_BENCH_MB (capture size), LW_BENCH_RUNS (default 3),
# LW_BENCH_KEEP=1 keeps the temporary directory. Python 3 standard library only.
set -euo pipefail

build=${1:?usage: bench/reassembly.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
bin=$build/leakwatch
case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
[ -x "$bin" ] || { echo "no executable $bin (build first: make build)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }
# shellcheck source=bench/lib.bash
. "$(dirname "$0")/lib.bash"
bench_warn_unless_release "$build"

bench_make_tmp reassembly

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

rng = random.Random("leakwatch-bench-reassembly")
MSS = 1448
UPLOAD = 1000000


def row():
    return g.customer_csv_row(rng)


pool = [row() for _ in range(20000)]
uploads = max(1, int(mb * 1e6 / (UPLOAD * 1.05)))
t = g.T0_S * 1000000
inorder, swapped = [], []  # (ts, frame)
values = 0
swapped_segs = 0
total_segs = 0


def frame(src, dst, sp, dp, seq, ack, flags, payload=b""):
    tcp = g.tcp_segment(src, dst, sp, dp, seq, ack, flags, payload)
    return g.link_ethernet(g.ipv4_header(src, dst, g.PROTO_TCP, len(tcp), 0) + tcp)


for u in range(uploads):
    cli, srv = g.ip4("10.2.0.%d" % (1 + u % 10)), g.ip4("203.0.113.%d" % (100 + u % 5))
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
    head = [frame(cli, srv, cport, 80, cseq, 0, g.TCP_SYN),
            frame(srv, cli, 80, cport, sseq, cseq + 1, g.TCP_SYN | g.TCP_ACK),
            frame(cli, srv, cport, 80, cseq + 1, sseq + 1, g.TCP_ACK)]
    segs = [(o, frame(cli, srv, cport, 80, cseq + 1 + o, sseq + 1, g.TCP_ACK | g.TCP_PSH, req[o:o + MSS]))
            for o in range(0, len(req), MSS)]
    total_segs += len(segs)
    # The swapped order: adjacent pairs exchanged, about 10% of segments in all.
    order, i = [], 0
    while i < len(segs):
        if i + 1 < len(segs) and rng.random() < 0.0527:
            order += [i + 1, i]
            swapped_segs += 2
            i += 2
        else:
            order.append(i)
            i += 1
    end_len = len(req)
    tail = [frame(cli, srv, cport, 80, cseq + 1 + end_len, sseq + 1, g.TCP_FIN | g.TCP_ACK),
            frame(srv, cli, 80, cport, sseq + 1, cseq + 2 + end_len, g.TCP_FIN | g.TCP_ACK),
            frame(cli, srv, cport, 80, cseq + 2 + end_len, sseq + 2, g.TCP_ACK)]
    for variant, seq_order in ((inorder, range(len(segs))), (swapped, order)):
        tt = t
        for f in head:
            tt += 100
            variant.append((tt, f))
        held, have, n = 0, {}, 0
        for k in seq_order:
            o, f = segs[k]
            tt += 10
            variant.append((tt, f))
            have[o] = min(o + MSS, end_len)
            n += 1
            while held in have:
                held = have.pop(held)
            if n % 2 == 0 or n == len(segs):
                tt += 10
                variant.append((tt, frame(srv, cli, 80, cport, sseq + 1, cseq + 1 + held, g.TCP_ACK)))
        for f in tail:
            tt += 100
            variant.append((tt, f))
    t = tt + 20000

for name, recs in (("inorder", inorder), ("swapped", swapped)):
    with open(os.path.join(out, name + ".pcap"), "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, g.LINKTYPE_ETHERNET))
        for ts, f in recs:
            fh.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(f), len(f)))
            fh.write(f)
with open(os.path.join(out, "empty.pcap"), "wb") as fh:
    fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, g.LINKTYPE_ETHERNET))
with open(os.path.join(out, "truth.json"), "w") as fh:
    json.dump({"uploads": uploads, "values": values, "segments": total_segs, "swapped": swapped_segs}, fh)
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


cpu = []  # user + system seconds of each run, in order


def run(pcap, reasm):
    out = os.path.join(tmp, "out.json")
    if os.path.exists(out):
        os.unlink(out)  # leakwatch appends to an existing output file
    args = [binary, "-c", conf, "--set", "stream.reassembly=" + reasm, "-r", pcap, "-o", out]
    t0 = time.monotonic()
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    secs = time.monotonic() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode != 0:
        sys.exit("leakwatch exited with %d on %s" % (p.returncode, pcap))
    cpu.append(ru.ru_utime + ru.ru_stime)
    stats, alerts = {}, 0
    with open(out) as fh:
        for line in fh:
            if '"event_type":"alert"' in line:
                alerts += 1
            elif '"event_type":"stats"' in line:
                stats = json.loads(line)["stats"]
    return secs, alerts, stats


start = statistics.median(run(os.path.join(tmp, "empty.pcap"), "yes")[0] for _ in range(runs))
print("reassembly bench: %s" % binary)
print("%d uploads of ~1 MB, %d values put in (email, phone, card, ssn per row), %d data segments;"
      " swapped variant: %d segments (%.1f%%) in swapped pairs" % (
          truth["uploads"], truth["values"], truth["segments"], truth["swapped"],
          100.0 * truth["swapped"] / truth["segments"]))
print("startup (empty capture, median of %d): %.3f s, included in every wall time below" % (runs, start))
print()
hdr = "%-8s %-5s %7s %7s %8s  %-17s %6s %10s %10s %5s %6s" % (
    "capture", "reasm", "MB", "MB/s", "cpu MB/s", "wall s (runs)", "alerts", "validated", "burst.val", "gaps",
    "ooo")
print(hdr)
print("-" * len(hdr))
ratios = {}
for variant in ("inorder", "swapped"):
    pcap = os.path.join(tmp, variant + ".pcap")
    size = os.path.getsize(pcap)
    with open(pcap, "rb") as fh:  # into the page cache before the first timed run
        while fh.read(1 << 20):
            pass
    res, cpus = {"yes": [], "no": []}, {"yes": [], "no": []}
    for _ in range(runs):
        for mode in ("yes", "no"):
            res[mode].append(run(pcap, mode))
            cpus[mode].append(cpu[-1])
    rate, crate = {}, {}
    for mode in ("yes", "no"):
        secs = [r[0] for r in res[mode]]
        rate[mode] = size / 1e6 / statistics.median(secs)
        crate[mode] = size / 1e6 / statistics.median(cpus[mode])
        _, alerts, st = res[mode][-1]
        validated = sum(v for k, v in st.items() if k.startswith("match.validated."))
        print("%-8s %-5s %7.1f %7.1f %8.1f  %-17s %6d %10d %10d %5d %6d" % (
            variant, mode, size / 1e6, rate[mode], crate[mode], " ".join("%.2f" % s for s in secs), alerts,
            validated, st.get("burst.values", 0), st.get("stream.gap", 0),
            st.get("stream.out_of_order_segments", 0)))
    ratios[variant] = (rate["yes"] / rate["no"], crate["yes"] / crate["no"])
print()
for variant, (r, cr) in ratios.items():
    print("%-8s ratio reassembly yes/no: %.2f wall, %.2f cpu" % (variant, r, cr))
print("values put in: %d (validated counts each occurrence; burst.values the values sent to the burst"
      " counter)" % truth["values"])
PY
