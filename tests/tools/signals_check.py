#!/usr/bin/env python3
"""signals_check.py - the scenarios of tests/e2e/check_signals.sh.

    signals_check.py BIN TOP TMPDIR [SCENARIO[:WORKERS] ...]

Each scenario starts leakwatch on a FIFO that this script keeps open (sensor_feed.py),
so the sensor is in the middle of a capture when the signal arrives, then checks what
runtime.h promises:

  usr1     SIGUSR1 writes a stats line while the capture goes on.
  rotate   logrotate: the output is renamed, SIGHUP, more traffic: a new file is created
           mode 0640 and the old and new files together hold every line exactly once,
           each a whole JSON object.
  reload   SIGHUP with a broken config: one "reload failed" line, the sensor keeps
           running with the old config and still alerts; SIGHUP with a valid changed
           config (burst.threshold 20 -> 40): "reloaded", the new threshold is used,
           runtime.reloads 1 and runtime.reload_failures 1 in the final stats.
  storm    500 SIGHUPs as fast as os.kill goes while packets arrive: alive, exit 0,
           correct alerts, reloads counted once per "reloaded" line.
  term     SIGTERM while a leak flow is open (POST sent, no FIN) and the input idle:
           exit 0 within 10 s, the held alert and the final stats line are written.
  grow     a capture FILE that grows while being read: exit 0, at most a truncated-record
           warning, every packet counted that was complete when the sensor reached the end.

A signal is acted on at the latest when the next packet arrives, so after each signal a
"nudge" packet (UDP between two inside hosts) is written. Every file written goes through
run_case.sh's leak check before a result is printed; results name counts, never values.
Exit status 0 when every scenario passed, 1 otherwise.
"""

import os
import re
import shutil
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sensor_feed as f  # noqa: E402

BAD_READ = ("stopped reading", "Interrupted system call", "error reading")


class Fail(Exception):
    pass


def need(cond, msg):
    if not cond:
        raise Fail(msg)


def pairs(evs):
    return sorted((a.get("src_ip"), a.get("dest_ip")) for a in f.alerts(evs))


def common_end(s, want_alert_pairs, extra_files=()):
    """Closes the input, waits for exit 0 and checks the final totals line;
    returns (events, final totals)."""
    s.close_input()
    rc = s.wait(20)
    need(rc == 0, "exit status %d, want 0" % rc)
    evs, problems = f.read_events(*(list(extra_files) + [s.out]))
    need(not problems, "; ".join(problems[:3]))
    tot = f.totals(evs)
    need(tot, "no final totals stats line")
    final = tot[-1]
    need(final.get("decode.pkts") == s.written,
         "final decode.pkts %s, want %d (every packet written)" % (final.get("decode.pkts"), s.written))
    got = pairs(evs)
    need(got == sorted(want_alert_pairs),
         "%d alert lines, want %d (one per leak flow, distinct pairs)" % (len(got), len(want_alert_pairs)))
    need(final.get("alert.alerts") == len(want_alert_pairs),
         "final alert.alerts %s, want %d" % (final.get("alert.alerts"), len(want_alert_pairs)))
    return evs, final


def check_stderr(s, allowed=()):
    text = s.stderr_text()
    if re.search(r"ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:", text):
        raise Fail("sanitizer report on stderr")
    for line in text.splitlines():
        if any(b in line for b in BAD_READ) and not any(a in line for a in allowed):
            raise Fail("the sensor stopped reading its input on a signal: %r"
                       % line.split(": ", 1)[-1][:160])


def wait_alerts(s, n, timeout=10.0):
    s.wait_until(lambda: len(f.alerts(f.whole_events(s.out))) >= n, "alert number %d" % n, timeout)


def nudge(s):
    s.stream.nudge()
    s.flush()


def wait_totals(s, path, n, timeout=10.0):
    s.wait_until(lambda: len(f.totals(f.whole_events(path))) >= n, "stats line number %d" % n, timeout)


def sc_usr1(s, workers):
    want = [s.stream.leak()]
    s.flush()
    wait_alerts(s, 1)
    s.kill(f.SIG["USR1"])
    nudge(s)
    wait_totals(s, s.out, 1)
    check_stderr(s)
    need(s.alive(), "the sensor exited after SIGUSR1")
    evs = f.whole_events(s.out)
    st = f.totals(evs)[0]
    need(st.get("capture.packets") == s.written,
         "SIGUSR1 stats: capture.packets %s, want %d" % (st.get("capture.packets"), s.written))
    if workers > 1:
        ws = sorted({e.get("worker") for e in evs if e.get("event_type") == "stats" and "worker" in e})
        need(ws == list(range(workers)), "SIGUSR1 stats: worker lines %s, want 0..%d" % (ws, workers - 1))
    want.append(s.stream.leak())
    s.flush()
    wait_alerts(s, 2)
    evs, final = common_end(s, want)
    check_stderr(s)
    n = len(f.totals(evs))
    need(n == 2, "%d totals stats lines, want 2 (SIGUSR1 and exit)" % n)
    return "stats line while running, %d packets" % s.written


def sc_rotate(s, workers):
    want = []
    for _ in range(3):
        want.append(s.stream.leak())
    s.flush()
    wait_alerts(s, 3)
    old = s.out + ".1"
    os.rename(s.out, old)
    s.kill(f.SIG["HUP"])
    nudge(s)
    s.wait_until(lambda: s.stderr_count("reloaded") + s.stderr_count("reload failed") >= 1,
                 "reload message on stderr")
    check_stderr(s)
    need(s.stderr_count("reload failed") == 0, "the reload failed")
    s.wait_until(lambda: os.path.exists(s.out), "new output file after SIGHUP", 5)
    mode = os.stat(s.out).st_mode & 0o7777
    need(mode == 0o640, "new output file mode %o, want 640" % mode)
    for _ in range(3):
        want.append(s.stream.leak())
    s.flush()
    wait_alerts(s, 3)  # in the new file
    evs, final = common_end(s, want, [old])
    check_stderr(s)
    old_evs, _ = f.read_events(old)
    new_evs, _ = f.read_events(s.out)
    need(len(f.alerts(old_evs)) == 3 and len(f.alerts(new_evs)) == 3,
         "alerts %d in the old file and %d in the new, want 3 and 3"
         % (len(f.alerts(old_evs)), len(f.alerts(new_evs))))
    lines = []
    for p in (old, s.out):
        with open(p, "rb") as fh:
            lines += fh.read().split(b"\n")[:-1]
    need(len(set(lines)) == len(lines), "%d duplicated lines" % (len(lines) - len(set(lines))))
    need(final.get("runtime.reloads") == 1, "runtime.reloads %s, want 1" % final.get("runtime.reloads"))
    need(not f.totals(old_evs), "a totals stats line in the old file (the final one belongs in the new)")
    return "%d lines in old + new, mode 0640" % len(lines)


def sc_reload(s, workers, cfg):
    want = [s.stream.leak()]
    s.flush()
    wait_alerts(s, 1)
    good = open(cfg).read()
    with open(cfg, "w") as fh:
        fh.write(good + "\nburst:\n  threshold: [\n")
    s.kill(f.SIG["HUP"])
    nudge(s)
    s.wait_until(lambda: s.stderr_count("reload failed") >= 1, "\"reload failed\" on stderr")
    check_stderr(s)
    need(s.alive(), "the sensor exited after a failed reload")
    want.append(s.stream.leak())
    s.flush()
    wait_alerts(s, 2)
    changed = re.sub(r"(?m)^  threshold: 20$", "  threshold: 40", good, count=1)
    need(changed != good, "test setup: no 'threshold: 20' in the config copy")
    with open(cfg, "w") as fh:
        fh.write(changed)
    s.kill(f.SIG["HUP"])
    nudge(s)
    s.wait_until(lambda: s.stderr_count("reloaded") >= 1, "\"reloaded\" on stderr")
    s.stream.leak(rows=15)  # 30 distinct < 40: no alert any more
    want.append(s.stream.leak(rows=25))  # 50 distinct: one alert
    s.flush()
    wait_alerts(s, 3)
    evs, final = common_end(s, want)
    check_stderr(s)
    need(s.stderr_count("reload failed") == 1,
         "%d \"reload failed\" lines, want 1" % s.stderr_count("reload failed"))
    need(s.stderr_count("reloaded") == 1, "%d \"reloaded\" lines, want 1" % s.stderr_count("reloaded"))
    th = [a.get("pii", {}).get("threshold") for a in f.alerts(evs)]
    need(th == [20, 20, 40], "alert thresholds %s, want [20, 20, 40]" % th)
    need(final.get("runtime.reloads") == 1, "runtime.reloads %s, want 1" % final.get("runtime.reloads"))
    need(final.get("runtime.reload_failures") == 1,
         "runtime.reload_failures %s, want 1" % final.get("runtime.reload_failures"))
    return "bad config kept the old one, threshold 40 applied"


def sc_storm(s, workers):
    want = [s.stream.leak()]
    s.flush()
    wait_alerts(s, 1)
    stop = threading.Event()
    err = []

    def feeder():
        try:
            while not stop.is_set():
                nudge(s)
                time.sleep(0.02)
        except Exception as e:  # reported by the main thread
            err.append(str(e))

    t = threading.Thread(target=feeder)
    t.start()
    sent = 0
    try:
        for _ in range(500):
            if not s.alive():
                break
            s.kill(f.SIG["HUP"])
            sent += 1
    finally:
        time.sleep(0.1)
        stop.set()
        t.join(15)
    need(not err, "writing during the storm: %s" % (err[0] if err else ""))
    need(s.alive(), "the sensor died during the SIGHUP storm (after %d signals)" % sent)
    # Barrier: SIGUSR1 is handled after any pending SIGHUP.
    before = len(f.totals(f.whole_events(s.out)))
    s.kill(f.SIG["USR1"])
    nudge(s)
    wait_totals(s, s.out, before + 1, 30)
    check_stderr(s)
    want.append(s.stream.leak())
    s.flush()
    wait_alerts(s, 2)
    evs, final = common_end(s, want)
    check_stderr(s)
    n = s.stderr_count("reloaded")
    need(s.stderr_count("reload failed") == 0, "a reload failed during the storm")
    need(final.get("runtime.reloads") == n, "runtime.reloads %s but %d \"reloaded\" lines"
         % (final.get("runtime.reloads"), n))
    need(1 <= n <= 500, "%d reloads for 500 SIGHUPs" % n)
    return "500 SIGHUPs coalesced into %d reloads" % n


def sc_term(s, workers):
    want = [s.stream.leak(close=False)]
    s.flush()
    s.kill(f.SIG["USR1"])  # barrier: the open flow's packets were read
    nudge(s)
    wait_totals(s, s.out, 1)
    check_stderr(s)
    need(s.alive(), "the sensor exited before SIGTERM")
    need(not f.alerts(f.whole_events(s.out)), "the alert of the open flow came before SIGTERM")
    t0 = time.monotonic()
    s.kill(f.SIG["TERM"])
    try:
        rc = s.wait(10)  # the input stays open and idle
    except f.Timeout:
        raise Fail("SIGTERM with the input open but idle: no exit within 10 s")
    need(rc == 0, "exit status %d after SIGTERM, want 0" % rc)
    evs, problems = f.read_events(s.out)
    need(not problems, "; ".join(problems[:3]))
    need(pairs(evs) == sorted(want), "%d alert lines after SIGTERM, want 1 (the held alert)"
         % len(f.alerts(evs)))
    tot = f.totals(evs)
    need(len(tot) == 2, "%d totals stats lines, want 2 (SIGUSR1 and exit)" % len(tot))
    need(tot[-1].get("decode.pkts") == s.written,
         "final decode.pkts %s, want %d" % (tot[-1].get("decode.pkts"), s.written))
    # A read cut short by the stop signal itself may be reported; nothing else.
    check_stderr(s, allowed=("Interrupted system call",))
    note = ""
    if s.stderr_count("Interrupted system call"):
        note = " (stderr calls the stop a read error)"
    return "exit 0 in %.1f s with the held alert%s" % (time.monotonic() - t0, note)


def sc_grow(binary, top, tmp, cfg_args):
    """A regular file appended to while the sensor reads it."""
    st = f.Stream("leakwatch-grow")
    path = os.path.join(tmp, "grow.pcap")
    out = os.path.join(tmp, "grow.json")
    errp = os.path.join(tmp, "grow.err")
    first = [st.leak()]
    with open(path, "wb") as fh:
        fh.write(st.header() + st.take())
    n0 = st.records()
    # The rest: more leaks and nudges, appended record by record, each record in
    # two writes so the sensor may meet a half-written one.
    for _ in range(40):
        st.leak(rows=12)
        for _ in range(5):
            st.nudge()
    recs = []
    for ts, frame, wire in st.cap.records[n0:]:
        recs.append((struct.pack("<IIII", ts // 1000000, ts % 1000000, len(frame), wire), frame))
    complete = [(time.monotonic(), n0)]
    with open(errp, "wb") as err:
        proc = subprocess.Popen([binary] + cfg_args + ["-r", path, "-o", out], cwd=top,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        try:
            t_end = time.monotonic() + 1.0
            n = n0
            with open(path, "ab", buffering=0) as fh:
                for hdr, frame in recs:
                    if time.monotonic() > t_end:
                        break
                    fh.write(hdr + frame[: len(frame) // 2])
                    time.sleep(0.0005)
                    fh.write(frame[len(frame) // 2:])
                    n += 1
                    complete.append((time.monotonic(), n))
                    time.sleep(0.002)
            rc = proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise Fail("the sensor did not end within 20 s of the last append")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    if not f.leak_check(top, [out, errp]):
        raise Fail("output holds a value in clear")
    need(rc == 0, "exit status %d, want 0" % rc)
    text = open(errp, "rb").read().decode("utf-8", "replace")
    need(not re.search(r"Sanitizer|runtime error:", text), "sanitizer report on stderr")
    others = [l for l in text.splitlines() if "truncated" not in l]
    need(not others, "%d unexpected stderr lines, first: %r" % (len(others), others[0][:160] if others else ""))
    evs, problems = f.read_events(out)
    need(not problems, "; ".join(problems[:3]))
    tot = f.totals(evs)
    need(tot, "no final totals stats line")
    k = tot[-1].get("capture.packets")
    need(isinstance(k, int) and n0 <= k <= complete[-1][1],
         "capture.packets %s, want %d..%d" % (k, n0, complete[-1][1]))
    need(tot[-1].get("decode.pkts") == k, "decode.pkts %s != capture.packets %s"
         % (tot[-1].get("decode.pkts"), k))
    m = re.search(r"after (\d+) packets", text)
    if m:
        need(int(m.group(1)) == k, "the warning says %s packets, the stats %d" % (m.group(1), k))
    need(len(f.alerts(evs)) >= len(first), "the leak complete before the start gave no alert")
    return "%d of %d records read (%d complete at start)%s" % (
        k, complete[-1][1], n0, ", truncated record reported" if m else "")


def main():
    binary, top, tmp = sys.argv[1:4]
    wanted = sys.argv[4:] or ["usr1:1", "usr1:2", "rotate:1", "rotate:2", "reload:1", "reload:2",
                              "storm:1", "storm:2", "term:1", "term:2", "grow:1"]
    base_cfg = os.path.join(top, "etc", "leakwatch.yaml")
    fails = 0
    for item in wanted:
        name, _, w = item.partition(":")
        workers = int(w or 1)
        label = "%s (workers %d)" % (name, workers)
        d = os.path.join(tmp, "%s-%d" % (name, workers))
        os.makedirs(d)
        cfg = base_cfg
        if name == "reload":
            # A copy whose signature path still points at the repo.
            cfg = os.path.join(d, "leakwatch.yaml")
            text = open(base_cfg).read()
            sig = os.path.join(top, "signatures", "pii.yaml")
            text = re.sub(r"(?m)^signatures:.*$", "signatures: " + sig, text)
            open(cfg, "w").write(text)
        args = ["-c", cfg, "--set", "runmode.workers=%d" % workers]
        files = []
        try:
            if name == "grow":
                msg = sc_grow(binary, top, d, args)
            else:
                s = f.Sensor(binary, top, d, args, name)
                files = [s.out, s.out + ".1", s.errpath, s.outpath_stdout]
                try:
                    s.open()
                    fn = {"usr1": sc_usr1, "rotate": sc_rotate, "storm": sc_storm, "term": sc_term}
                    msg = sc_reload(s, workers, cfg) if name == "reload" else fn[name](s, workers)
                finally:
                    s.stop()
            if files and not f.leak_check(top, files):
                raise Fail("output holds a value in clear")
            print("PASS %s: %s" % (label, msg), flush=True)
        except (Fail, f.Timeout, OSError) as e:
            if files and not f.leak_check(top, files):
                e = "output holds a value in clear"
            elif files and os.path.exists(files[2]) and "stopped reading" not in str(e):
                why = [l for l in open(files[2], errors="replace").read().splitlines()
                       if any(b in l for b in BAD_READ)]
                if why:  # the usual cause: say it
                    e = "%s (stderr: %s)" % (e, why[0].split(": ", 1)[-1][:160])
            print("FAIL %s: %s" % (label, e), flush=True)
            fails += 1
        finally:
            if os.environ.get("LW_KEEP") != "1":
                shutil.rmtree(d, ignore_errors=True)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
