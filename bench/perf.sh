#!/usr/bin/env bash
# perf.sh - leakwatch's throughput next to the floor a naive libpcap + Hyperscan
# scanner stands on, on web-server traffic, in one table.
#
#   bash bench/perf.sh BUILD_DIR        (BUILD_DIR: a Release build)
#
# bench/gen_traffic writes a deterministic capture of LW_BENCH_MB MiB (default
# 256; LW_BENCH_BIG=1 adds a 1 GiB one): web servers in 198.18.0.0/16 answering
# clients outside, 4096 TCP connections interleaved packet by packet, responses
# of 2-512 KiB of text with a PII value about every 4 KiB, ~3% UDP syslog; and a
# capture of LW_BENCH_FLOWS (default 1,000,000; 0 skips it) short connections
# all open at once. The servers are home_net, so the responses are egress and
# inspected. Rows, each the median of LW_BENCH_RUNS (default 3) runs of a whole
# process, the runs of rows a-d interleaved so that a slow patch of a shared
# machine hits all of them:
#   a  bench/naive_pipeline read: libpcap read, every byte touched
#   b  bench/naive_pipeline scan: + L2-L4 parse + Hyperscan block scan of every
#      L4 payload, six patterns, no SOM (see naive_pipeline.c)
#   c  leakwatch, runmode.workers=1          d  the same, runmode.workers=2
#   e  leakwatch, 1 worker, on the many-flows capture (flow.max_flows raised)
# Columns: MB/s and Gbit/s of frame bytes (sum of captured lengths; MB = 10^6)
# over wall seconds, packets/s, MB/s over user + system CPU seconds, and the
# measured process's own peak RSS (wait4's ru_maxrss). Then the ratios c/b and
# d/c, and the PII each found next to what the generator put in. leakwatch's
# totals stats line must show decode.pkts equal to the packets written, or the
# bench fails. leakwatch keeps its compiled signature databases in
# LW_BENCH_DIR/hscache (match.cache_dir), as a sensor that restarts would;
# LW_BENCH_CACHE=0 compiles at every start. The start-up line shows both.
#
# Captures live in LW_BENCH_DIR (default $TMPDIR/lw-bench-perf, never inside
# the repo) and are reused while their size and seed (LW_BENCH_SEED, default 1)
# match and the generator was not rebuilt since; LW_BENCH_KEEP=0 deletes them at the end. When the limits benchmarks
# are found (LW_LIMITS_DIR, $LW_SHARED_DIR/limits, ../shared/limits next to the
# repo, /work/shared/limits) their pcap_pipeline is compiled into LW_BENCH_DIR
# and its pipe_hs_block_nosom figure on the same capture is printed as a
# cross-check; LW_BENCH_REF=0 skips that. Python 3 standard library only.
set -euo pipefail

build=${1:?usage: bench/perf.sh BUILD_DIR}
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$build" && pwd)
bin=$build/leakwatch
naive=$build/bench/naive_pipeline
gen=$build/bench/gen_traffic
for x in "$bin" "$naive" "$gen"; do
    [ -x "$x" ] || { echo "no executable $x (build first: make build)" >&2; exit 1; }
done
command -v python3 >/dev/null || { echo "python3 is needed" >&2; exit 1; }
# shellcheck source=bench/lib.bash
. "$(dirname "$0")/lib.bash"
bench_warn_unless_release "$build"

dir=${LW_BENCH_DIR:-${TMPDIR:-/tmp}/lw-bench-perf}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)
case "$dir/" in
"$(cd "$top" && pwd -P)"/*) echo "LW_BENCH_DIR must be outside the repository" >&2; exit 1 ;;
esac
seed=${LW_BENCH_SEED:-1}
flows=${LW_BENCH_FLOWS:-1000000}
runs=${LW_BENCH_RUNS:-3}
sizes=${LW_BENCH_MB:-256}
if [ "${LW_BENCH_BIG:-0}" = 1 ] && [ "$sizes" != 1024 ]; then
    sizes="$sizes 1024"
fi

made=()
# capture NAME ARGS...: (re)generates $dir/NAME unless a finished one with the
# same arguments is there (gen_traffic writes the .meta last).
capture() {
    local name=$1
    shift
    local f=$dir/$name
    if [ -f "$f" ] && [ -f "$f.meta" ] && [ ! "$gen" -nt "$f.meta" ] &&
        [ "$(sed -n 's/^bytes=//p' "$f.meta")" = "$(stat -c %s "$f")" ]; then
        return
    fi
    rm -f "$f" "$f.meta"
    local t0=$SECONDS
    "$gen" "$@" -s "$seed" "$f"
    echo "generated $f ($(($(stat -c %s "$f") / 1048576)) MiB) in $((SECONDS - t0)) s" >&2
    made+=("$f" "$f.meta")
}
caps=()
for mb in $sizes; do
    capture "web-${mb}m-s$seed.pcap" -m "$mb"
    caps+=("$dir/web-${mb}m-s$seed.pcap")
done
flowcap=
if [ "$flows" -gt 0 ]; then
    capture "flows-$flows-s$seed.pcap" -f "$flows"
    flowcap=$dir/flows-$flows-s$seed.pcap
fi
if [ "${LW_BENCH_KEEP:-1}" = 0 ]; then
    trap 'rm -f "${made[@]}" "$dir"/empty.pcap "$dir"/eve-*.json "$dir"/out-*.txt; rm -rf "$dir/hscache"' EXIT
fi

# The optional cross-check against the limits benchmarks, built outside the repo.
ref=
if [ "${LW_BENCH_REF:-1}" != 0 ]; then
    for d in "${LW_LIMITS_DIR:-}" "${LW_SHARED_DIR:+$LW_SHARED_DIR/limits}" "$top/../shared/limits" \
        /work/shared/limits; do
        if [ -z "$d" ] || [ ! -f "$d/pcap_pipeline.c" ]; then continue; fi
        if [ ! -x "$dir/ref_pcap_pipeline" ] || [ "$d/pcap_pipeline.c" -nt "$dir/ref_pcap_pipeline" ]; then
            # shellcheck disable=SC2046
            cc -O2 -march=native -std=gnu11 -w -o "$dir/ref_pcap_pipeline" "$d/pcap_pipeline.c" \
                $(pkg-config --cflags --libs libhs libpcap 2>/dev/null || echo -lhs -lpcap) \
                -lm 2>/dev/null || true
        fi
        [ -x "$dir/ref_pcap_pipeline" ] && ref=$dir/ref_pcap_pipeline
        break
    done
fi

python3 - "$bin" "$naive" "$top" "$dir" "$runs" "$ref" "$flowcap" "${caps[@]}" <<'PY'
import json
import os
import statistics
import subprocess
import sys
import time

sys.stdout.reconfigure(line_buffering=True)  # progress shows when redirected
binary, naive, top, tmp, runs, ref, flowcap = sys.argv[1:8]
caps = sys.argv[8:]
runs = int(runs)
conf = os.path.join(top, "etc", "leakwatch.yaml")
HOME_NET = "198.18.0.0/16"
# A sensor compiles its signatures once at start; the bench, which starts
# it dozens of times, keeps the compiled databases (match.cache_dir) so
# that every run but the first loads them. LW_BENCH_CACHE=0 compiles each time.
CACHE = os.path.join(tmp, "hscache") if os.environ.get("LW_BENCH_CACHE", "1") != "0" else ""


def meta(cap):
    m = {}
    with open(cap + ".meta") as fh:
        for line in fh:
            k, _, v = line.strip().partition("=")
            m[k] = v if k == "mode" else int(v)
    # frame bytes: the file less the global header and one 16-byte header per record
    m["frame_bytes"] = m["bytes"] - 24 - 16 * m["packets"]
    return m


def run(args, out):
    """Runs one process; returns wall s, CPU s, peak RSS (KiB) of that process only."""
    with open(out, "w") as fh:
        t0 = time.monotonic()
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=fh, stderr=subprocess.PIPE)
        err = p.stderr.read()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit("%s exited with %d: %s" % (os.path.basename(args[0]), code, err.decode(errors="replace")[-500:]))
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss


def leakwatch(cap, workers, extra=()):
    out = os.path.join(tmp, "eve-%d.json" % workers)
    if os.path.exists(out):
        os.unlink(out)  # leakwatch appends
    args = [binary, "-c", conf, "--set", "home_net=" + HOME_NET, "--set", "runmode.workers=%d" % workers]
    if CACHE:
        args += ["--set", "match.cache_dir=" + CACHE]
    for e in extra:
        args += ["--set", e]
    res = run(args + ["-r", cap, "-o", out], os.path.join(tmp, "out-lw.txt"))
    totals = None
    with open(out) as fh:
        for line in fh:
            if '"event_type":"stats"' in line:
                ev = json.loads(line)
                if "worker" not in ev:
                    totals = ev["stats"]
    if totals is None:
        sys.exit("leakwatch wrote no totals stats line for %s" % cap)
    return res, totals


def naive_run(mode, cap):
    out = os.path.join(tmp, "out-naive.txt")
    res = run([naive, mode, cap], out)
    with open(out) as fh:
        kv = dict(f.split("=", 1) for f in fh.read().split())
    return res, kv


def warm(path):
    with open(path, "rb") as fh:
        while fh.read(1 << 22):
            pass


def lib_versions():
    hs = pcap = "?"
    for line in subprocess.run([binary, "-V"], capture_output=True, text=True).stdout.splitlines():
        line = line.strip()
        if line.startswith("hyperscan "):
            hs = line.split(" ", 1)[1]
        elif line.startswith("libpcap"):
            pcap = line
    return hs, pcap


cpu_model = "?"
with open("/proc/cpuinfo") as fh:
    for line in fh:
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
hs, pcap = lib_versions()
print("perf bench: %s" % binary)
print("machine: %d CPUs (nproc), %s; Hyperscan %s; %s" % (os.cpu_count(), cpu_model, hs, pcap))

empty = os.path.join(tmp, "empty.pcap")
with open(empty, "wb") as fh:
    fh.write(bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000"))
cold_lw = leakwatch(empty, 1)[0][0]  # compiles (and, with the cache, stores)
start_lw = statistics.median(leakwatch(empty, 1)[0][0] for _ in range(runs))
start_nv = statistics.median(naive_run("scan", empty)[0][0] for _ in range(runs))
print("start-up (empty capture, median of %d): leakwatch %.3f s (%s; %.3f s compiling), naive scan"
      " %.3f s; included in every wall time" % (
          runs, start_lw, "databases from match.cache_dir" if CACHE else "compiling", cold_lw, start_nv))
print()

rows = []  # (label, what, capture, frame_bytes, pkts, walls, cpus, rss_kib)
ratios, pii = [], []
for cap in caps:
    m = meta(cap)
    capname = "%d MiB" % m["size"]
    warm(cap)
    walls = {k: [] for k in "abcd"}
    cpus = {k: [] for k in "abcd"}
    rss = {k: 0 for k in "abcd"}
    last = {}
    for _ in range(runs):
        for k in "abcd":
            if k in "ab":
                (w, c, r), kv = naive_run("read" if k == "a" else "scan", cap)
                if int(kv["pkts"]) != m["packets"]:
                    sys.exit("naive_pipeline read %s packets of %d" % (kv["pkts"], m["packets"]))
            else:
                (w, c, r), kv = leakwatch(cap, 1 if k == "c" else 2)
                if kv.get("decode.pkts") != m["packets"]:
                    sys.exit("leakwatch decoded %s packets of %d in %s" % (kv.get("decode.pkts"), m["packets"], cap))
            walls[k].append(w)
            cpus[k].append(c)
            rss[k] = max(rss[k], r)
            last[k] = kv
    what = {"a": "libpcap read, every byte touched",
            "b": "naive: read + parse + HS block scan, 6 patterns",
            "c": "leakwatch, 1 worker",
            "d": "leakwatch, 2 workers"}
    for k in "abcd":
        rows.append((k, what[k], capname, m["frame_bytes"], m["packets"], walls[k], cpus[k], rss[k]))
    med = {k: statistics.median(walls[k]) for k in "abcd"}
    cmed = {k: statistics.median(cpus[k]) for k in "abcd"}
    ratios.append((capname, med["b"] / med["c"], cmed["b"] / cmed["c"], med["c"] / med["d"], cmed["c"] / cmed["d"]))
    pii.append((capname, m, last))

if flowcap:
    m = meta(flowcap)
    warm(flowcap)
    cap_flows = max(1100000, m["size"] * 11 // 10)
    walls, cpus, rss = [], [], 0
    for _ in range(runs):
        (w, c, r), st = leakwatch(flowcap, 1, ["flow.max_flows=%d" % cap_flows])
        if st.get("decode.pkts") != m["packets"]:
            sys.exit("leakwatch decoded %s packets of %d in %s" % (st.get("decode.pkts"), m["packets"], flowcap))
        walls.append(w)
        cpus.append(c)
        rss = max(rss, r)
    rows.append(("e", "leakwatch, 1 worker, %s flows open at once" % format(m["size"], ","),
                 "%d MB" % round(m["bytes"] / 1e6), m["frame_bytes"], m["packets"], walls, cpus, rss))
    flow_note = ("e: flow.max_flows=%d, flow.memcap default (1 GiB); flow.created %d, flow.evicted %d, "
                 "flow.memcap_evicted %d, flow.expired_idle %d" % (
                     cap_flows, st.get("flow.created", 0), st.get("flow.evicted", 0),
                     st.get("flow.memcap_evicted", 0), st.get("flow.expired_idle", 0)))
else:
    flow_note = None

print("| row | what | capture | MB/s | Gbit/s | packets/s | cpu MB/s | peak RSS MiB | wall s (runs) |")
print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
for k, what, capname, fb, pk, walls, cpus, rss_kib in rows:
    w, c = statistics.median(walls), statistics.median(cpus)
    print("| %s | %s | %s | %.1f | %.3f | %s | %.1f | %.1f | %s |" % (
        k, what, capname, fb / 1e6 / w, fb * 8 / 1e9 / w, format(round(pk / w), ","), fb / 1e6 / max(c, 1e-9),
        rss_kib / 1024, " ".join("%.2f" % x for x in walls)))
print()
for capname, cb, ccb, dc, cdc in ratios:
    print("%s: c/b %.2f wall, %.2f cpu (leakwatch 1 worker against the naive scan); "
          "d/c %.2f wall, %.2f cpu (2 workers against 1)" % (capname, cb, ccb, dc, cdc))
if flow_note:
    print(flow_note)
print()
for capname, m, last in pii:
    put = "email %d, phone %d (E.164 %d + NANP %d), card %d, ssn %d, iban %d" % (
        m["pii.email"], m["pii.e164"] + m["pii.nanp"], m["pii.e164"], m["pii.nanp"], m["pii.card"], m["pii.ssn"],
        m["pii.iban"])
    print("%s PII put in: %s" % (capname, put))
    b = last["b"]
    print("  b naive: %s match callbacks (%s); Luhn-valid card runs %s, mod-97-valid IBANs %s" % (
        format(int(b["callbacks"]), ","), ", ".join("%s %s" % (n, b["cb." + n]) for n in
                                                       ("email", "e164", "nanp", "card", "ssn", "iban")),
        b["luhn_ok"], b["mod97_ok"]))
    for k in "cd":
        st = last[k]
        v = ", ".join("%s %d" % (n, st.get("match.validated." + n, 0))
                      for n in ("email", "phone", "credit_card", "ssn", "iban"))
        print("  %s leakwatch match.validated: %s" % (k, v))

if ref:
    print()
    for cap in caps:
        capname = "%d MiB" % meta(cap)["size"]
        p = subprocess.run([ref, cap, str(runs)], capture_output=True, text=True)
        for line in p.stdout.splitlines():
            f = line.split()
            if len(f) > 2 and f[0] == "RESULT" and f[1] == "pipe_hs_block_nosom":
                kv = dict(x.split("=", 1) for x in f[2:] if "=" in x)
                print("cross-check %s: limits/pcap_pipeline pipe_hs_block_nosom %s MB/s, %s Gbit/s"
                      " (its own timer, no start-up; compare with row b)" % (capname, kv.get("MB/s"), kv.get("Gbit/s")))
PY
