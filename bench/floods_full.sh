#!/usr/bin/env bash
# floods_full.sh - the state floods of tests/e2e/check_floods.sh at the issue's full
# sizes, and one HTTP POST with a 1 GiB body, against one (Release) build.
#
#   bash bench/floods_full.sh BUILD_DIR
#
# Nothing large touches the disk: tests/tools/gen_floods.py --stream writes each
# capture to a pipe that is the sensor's stdin (-r -). Each flood carries the same
# real leak as in the test (a 25-email POST from 10.1.2.3); the body carries 25
# customer records in its middle (10.1.2.5 -> 203.0.113.60), with the 25-email POST
# sent 3 s into it. Runs, each with the caps of check_floods.sh (flow.max_flows=20000
# stream.memcap=1mb stream.max_buffer=256kb defrag.max_trains=5000 defrag.memcap=4mb
# burst.max_pairs=8192) unless it says "default caps":
#
#   syn      2,000,000 half-open TCP connections
#   syn      the same with the default caps: the flow table at its cap (262,144)
#   frag     1,000,000 first fragments never completed (and the fragmented leak)
#   overlap  100,000 overlap-evasion attempts
#   dns      100,000 DNS queries with maximal names
#   ooo      20,000 out-of-order segments behind holes never filled
#   body     one 1 GiB HTTP body, stream.depth 0 (everything inspected)
#
# For each: the sensor's own peak RSS (wait4's ru_maxrss) and its growth over a run on
# the leak alone with the same caps, its CPU seconds, the counters that show the cap
# at work, and whether the leaks were alerted. Prints a Markdown table (the one in
# docs/robustness.md). Exit 0 when every leak was alerted and every sensor exited 0.
# FLOODS_FULL_ONLY="syn body" runs a subset.
set -euo pipefail

build=${1:?usage: bench/floods_full.sh BUILD_DIR}
bin=$(cd "$build" && pwd)/leakwatch
top=$(cd "$(dirname "$0")/.." && pwd)
[ -x "$bin" ] || { echo "no executable $bin" >&2; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lw-floods-full.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

python3 - "$bin" "$top" "$tmp" "${FLOODS_FULL_ONLY:-}" <<'PY'
import json
import os
import subprocess
import sys
import time

binary, top, tmp, only = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4].split()
MIB = 1024 * 1024
TEST_CAPS = ["flow.max_flows=20000", "stream.memcap=1mb", "stream.max_buffer=256kb",
             "defrag.max_trains=5000", "defrag.memcap=4mb", "burst.max_pairs=8192"]
LEAK = ('"src_ip":"10.1.2.3"', '"dest_ip":"203.0.113.50"')
FRAG_LEAK = ('"src_ip":"10.1.2.4"', '"dest_ip":"203.0.113.51"')
BODY_LEAK = ('"src_ip":"10.1.2.5"', '"dest_ip":"203.0.113.60"')
# (label, generator name, count, caps, counters shown)
RUNS = [
    ("2,000,000 half-open TCP connections", "syn", "2000000", TEST_CAPS,
     ["flow.created", "flow.evicted", "flow.active"]),
    ("2,000,000 half-open TCP connections, default caps (flow table at its cap)", "syn", "2000000", [],
     ["flow.created", "flow.evicted", "flow.active"]),
    ("1,000,000 first fragments never completed", "frag", "1000000", TEST_CAPS,
     ["defrag.fragments", "defrag.trains_evicted", "defrag.memcap_reached", "defrag.buffered_bytes"]),
    ("100,000 overlap-evasion attempts", "overlap", "100000", TEST_CAPS,
     ["stream.overlap_mismatch", "engine.anomaly_events", "stream.memcap_reached", "stream.flow_cap_reached"]),
    ("100,000 DNS queries with maximal names", "dns", "100000", TEST_CAPS,
     ["app.dns.questions", "burst.keys_evicted"]),
    ("20,000 out-of-order segments", "ooo", "20000", TEST_CAPS,
     ["stream.out_of_order_segments", "stream.memcap_reached", "stream.flow_cap_reached"]),
    ("one HTTP POST with a 1 GiB body", "body", "1g", TEST_CAPS,
     ["stream.bytes_delivered", "app.http.body_bytes", "engine.egress_bytes_inspected", "stream.depth_reached",
      "stream.gap", "stream.buffered_bytes"]),
]


def run(gen, count, caps, tag):
    """gen_floods.py --stream GEN COUNT | leakwatch -r -; returns a dict of figures."""
    out, err = os.path.join(tmp, tag + ".json"), os.path.join(tmp, tag + ".stderr")
    args = [binary, "-c", os.path.join(top, "etc/leakwatch.yaml"), "--set", "stats.interval=1s"]
    for s in caps:
        args += ["--set", s]
    args += ["-r", "-", "-o", out]
    t0 = time.monotonic()
    with open(err, "wb") as errfh:
        g = subprocess.Popen([sys.executable, os.path.join(top, "tests/tools/gen_floods.py"), "--stream", gen, count],
                             stdout=subprocess.PIPE, stderr=errfh)
        p = subprocess.Popen(args, cwd=top, stdin=g.stdout, stdout=errfh, stderr=errfh)
        g.stdout.close()
        _, status, ru = os.wait4(p.pid, 0)
        p.returncode = 0  # reaped above
        g.wait()
    secs = time.monotonic() - t0
    stats, alerts = [], []
    with open(out, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            ev = json.loads(line)
            if ev.get("event_type") == "stats" and "worker" not in ev:
                stats.append(ev["stats"])
            elif ev.get("event_type") == "alert":
                alerts.append(line)
    return {"rc": os.waitstatus_to_exitcode(status), "gen_rc": g.returncode, "secs": secs,
            "cpu": ru.ru_utime + ru.ru_stime, "rss": ru.ru_maxrss * 1024, "stats": stats,
            "alerts": alerts}


def alerted(r, pair):
    return [a for a in r["alerts"] if all(k in a for k in pair)]


bad = 0
base = {}
for caps, key in ((TEST_CAPS, "test"), ([], "default")):
    base[key] = run("baseline", "0", caps, "baseline-" + key)
    print("baseline (%s caps): peak RSS %.1f MiB" % (key, base[key]["rss"] / MIB), file=sys.stderr)

rows = []
for i, (label, gen, count, caps, shown) in enumerate(RUNS):
    if only and gen not in only:
        continue
    r = run(gen, count, caps, "%d-%s" % (i, gen))
    last = r["stats"][-1] if r["stats"] else {}
    b = base["test" if caps else "default"]
    leaks = ["POST %s" % ("yes" if len(alerted(r, LEAK)) == 1 else "NO")]
    ok = r["rc"] == 0 and r["gen_rc"] == 0 and len(alerted(r, LEAK)) == 1
    if gen == "frag":
        got = len(alerted(r, FRAG_LEAK)) == 1
        leaks.append("fragmented leak after the caps %s" % ("yes" if got else "NO"))
        ok = ok and got
    if gen == "body":
        got = [a for a in alerted(r, BODY_LEAK) if '"distinct":25,' in a]
        leaks.append("records inside the body %s" % ("yes" if len(got) == 1 else "NO"))
        ok = ok and len(got) == 1
    counters = ", ".join("%s %s" % (k, format(last.get(k, 0), ",")) for k in shown)
    if gen == "syn":
        counters += "; peak flow.active %s" % format(max(s.get("flow.active", 0) for s in r["stats"]), ",")
    if gen in ("frag", "ooo", "overlap", "body"):
        k = "defrag.buffered_bytes" if gen == "frag" else "stream.buffered_bytes"
        counters += "; peak %s %s" % (k, format(max(s.get(k, 0) for s in r["stats"]), ","))
    speed = ""
    if gen == "body":
        speed = "; %.0f MB/s wall, %.0f MB per sensor CPU-second" % (2 ** 30 / 1e6 / r["secs"],
                                                                   2 ** 30 / 1e6 / r["cpu"])
    rows.append("| %s | %s | %.1f MiB (+%.1f) | %.1f s wall, %.1f s sensor CPU%s | %s |" % (
        label, counters, r["rss"] / MIB, (r["rss"] - b["rss"]) / MIB, r["secs"], r["cpu"], speed,
        "; ".join(leaks) + ("" if r["rc"] == 0 else "; exit %d" % r["rc"])))
    print(rows[-1], file=sys.stderr)
    bad += not ok

print("| flood (Release, stdin) | counters at exit | peak RSS (over baseline) | time | leak alerted |")
print("| --- | --- | --- | --- | --- |")
print("\n".join(rows))
print("baseline peak RSS: %.1f MiB with the test caps, %.1f MiB with the default caps" % (
    base["test"]["rss"] / MIB, base["default"]["rss"] / MIB))
sys.exit(1 if bad else 0)
PY
