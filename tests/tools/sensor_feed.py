#!/usr/bin/env python3
"""sensor_feed.py - drives a running leakwatch through a FIFO, for the signal e2e checks.

The e2e checks in tests/e2e/check_signals.sh need the sensor to be in the middle of a
capture when a signal arrives. This module starts leakwatch on a FIFO (`-r FIFO`), keeps
the write end open and writes a classic pcap stream into it piece by piece: leak flows
(HTTP POSTs of fictional customer rows built with gen_pcaps.py), "nudge" packets (one
UDP datagram between two inside hosts, which no rule looks at) and raw records. It also
reads what the sensor wrote, with a deadline on every wait, so a sensor that stops
reading or hangs makes a check fail instead of hanging it.

Packet time starts at gen_pcaps.T0_S and only moves forward. Every leak flow goes to its
own (inside, outside) pair so that the burst cool-down never merges two of them.

Nothing here prints a packet or an output line: callers report counts only, and run the
leak check of tests/e2e/run_case.sh on every file before reporting anything else.
"""

import errno
import struct
import fcntl
import json
import os
import random
import select
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import gen_pcaps as g  # noqa: E402  (the capture builders of the e2e captures)

NUDGE_SRC, NUDGE_DST = "10.200.0.1", "10.200.0.2"


class Timeout(Exception):
    pass


class Stream:
    """Builds packets on one clock and remembers which were already written."""

    def __init__(self, seed="leakwatch-sensor-feed"):
        self.cap = g.Capture()
        self.rng = random.Random(seed + "-tcp")
        self.ports = g.Ports(40000)
        self.seed = seed
        self.sent = 0  # records already handed out by take()
        self.leaks = 0

    def header(self, snaplen=65535):
        return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, g.LINKTYPE_ETHERNET)

    def take(self):
        """Bytes of the records built since the last take()."""
        out = []
        for ts, frame, wire in self.cap.records[self.sent:]:
            out.append(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(frame), wire))
            out.append(frame)
        self.sent = len(self.cap.records)
        return b"".join(out)

    def records(self):
        return len(self.cap.records)

    def leak(self, rows=15, close=True, cli=None, srv=None):
        """One HTTP POST of `rows` CSV rows (name, email, phone): 2 x rows distinct
        values. Returns (inside, outside). close=False leaves the flow open (no
        response, no FIN)."""
        self.leaks += 1
        n = self.leaks
        cli = cli or "10.1.%d.%d" % (n // 200, 10 + n % 200)
        srv = srv or "203.0.113.%d" % (1 + n % 250)
        body = g.Fake("%s-rows-%d" % (self.seed, n)).rows(rows, ["name", "email", "phone"])
        req = g.http_request("POST", "/upload/%d" % n, "upload.example.net", body, "text/csv")
        s = g.TcpSession(self.cap, self.rng, cli, self.ports.take(), srv, 80)
        s.handshake()
        s.send("c", req)
        if close:
            s.send("s", g.http_response("201 Created", b'{"status":"ok"}\n', "application/json"))
            s.close()
        self.cap.tick(200000)
        return cli, srv

    def nudge(self, step_us=g.STEP_US):
        """One harmless UDP datagram between two inside hosts."""
        src, dst = g.addr(NUDGE_SRC), g.addr(NUDGE_DST)
        udp = g.udp_datagram(src, dst, 40000, 9, b"nudge")
        self.cap.add_ip(g.ip_packet(self.cap.ids, src, dst, g.PROTO_UDP, udp), step=step_us)


def write_all(fd, data, timeout=10.0):
    """Writes data to a non-blocking fd within timeout seconds (Timeout otherwise)."""
    view = memoryview(data)
    deadline = time.monotonic() + timeout
    while view:
        left = deadline - time.monotonic()
        if left <= 0:
            raise Timeout("the sensor stopped reading its input")
        _, w, _ = select.select([], [fd], [], left)
        if not w:
            continue
        try:
            n = os.write(fd, view)
        except BlockingIOError:
            continue
        except BrokenPipeError:
            raise Timeout("the sensor closed its input (stopped reading the FIFO)")
        view = view[n:]


class Sensor:
    """leakwatch reading a FIFO that this object keeps open."""

    def __init__(self, binary, top, workdir, args, name="run"):
        self.dir = workdir
        self.fifo = os.path.join(workdir, name + ".fifo")
        self.out = os.path.join(workdir, name + ".json")
        self.errpath = os.path.join(workdir, name + ".err")
        self.outpath_stdout = os.path.join(workdir, name + ".stdout")
        os.mkfifo(self.fifo)
        self.fd = None
        self.stream = Stream("leakwatch-%s" % name)
        self.written = 0  # records written into the FIFO
        cmd = [binary] + list(args) + ["-r", self.fifo, "-o", self.out]
        self.err = open(self.errpath, "wb")
        self.stdout = open(self.outpath_stdout, "wb")
        self.proc = subprocess.Popen(cmd, cwd=top, stdin=subprocess.DEVNULL, stdout=self.stdout,
                                     stderr=self.err, preexec_fn=lambda: os.umask(0o022))
        self.pid = self.proc.pid

    def open(self, timeout=15.0):
        """Opens the write end once the sensor opened the read end; writes the header."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError as e:
                if e.errno != errno.ENXIO:
                    raise
            if self.proc.poll() is not None:
                raise Timeout("the sensor exited (status %d) before opening its input"
                              % self.proc.returncode)
            if time.monotonic() > deadline:
                raise Timeout("the sensor did not open its input within %.0f s" % timeout)
            time.sleep(0.02)
        write_all(self.fd, self.stream.header())

    def flush(self, timeout=10.0):
        data = self.stream.take()
        write_all(self.fd, data, timeout)
        self.written = self.stream.records()

    def close_input(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def alive(self):
        return self.proc.poll() is None

    def kill(self, sig):
        if self.alive():
            os.kill(self.pid, sig)

    def wait(self, timeout=20.0):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Timeout("the sensor did not exit within %.0f s" % timeout)

    def stop(self):
        """Last resort at the end of a check: no process is left behind."""
        self.close_input()
        if self.alive():
            self.proc.kill()
            self.proc.wait(5)
        self.err.close()
        self.stdout.close()

    # ---- reading what the sensor wrote
    def stderr_text(self):
        with open(self.errpath, "rb") as fh:
            return fh.read().decode("utf-8", "replace")

    def stderr_count(self, needle):
        return sum(1 for line in self.stderr_text().splitlines() if needle in line)

    def wait_until(self, cond, what, timeout=10.0, need_alive=True):
        deadline = time.monotonic() + timeout
        while True:
            if cond():
                return
            if need_alive and not self.alive():
                raise Timeout("the sensor exited (status %d) while waiting for %s"
                              % (self.proc.returncode, what))
            if time.monotonic() > deadline:
                raise Timeout("no %s within %.0f s" % (what, timeout))
            time.sleep(0.02)


def read_events(*paths):
    """(events, problems): the JSON objects of whole lines in the files, in order,
    and a list of problems (a line not JSON, a file not ending in a newline)."""
    events, problems = [], []
    for path in paths:
        try:
            with open(path, "rb") as fh:
                data = fh.read()
        except FileNotFoundError:
            continue
        if data and not data.endswith(b"\n"):
            problems.append("%s does not end with a whole line" % os.path.basename(path))
        for no, line in enumerate(data.split(b"\n")[:-1], 1):
            try:
                events.append(json.loads(line))
            except ValueError:
                problems.append("line %d of %s is not a whole JSON object"
                                % (no, os.path.basename(path)))
    return events, problems


def whole_events(path):
    """The events of the whole lines written so far (a growing file)."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except FileNotFoundError:
        return []
    out = []
    for line in data.split(b"\n")[:-1]:
        try:
            out.append(json.loads(line))
        except ValueError:
            pass
    return out


def alerts(events):
    return [e for e in events if e.get("event_type") == "alert"]


def totals(events):
    """Stats lines without a "worker" key (the totals), in order."""
    return [e.get("stats", {}) for e in events if e.get("event_type") == "stats" and "worker" not in e]


def leak_check(top, files):
    """run_case.sh's "nothing in clear" check; True when clean. Prints only findings
    (file, line, key, kind), never a value."""
    files = [f for f in files if os.path.exists(f)]
    if not files:
        return True
    rc = subprocess.call(["bash", os.path.join(top, "tests", "e2e", "run_case.sh"), "--leak-check"]
                         + files)
    return rc == 0


SIG = {"HUP": signal.SIGHUP, "USR1": signal.SIGUSR1, "TERM": signal.SIGTERM, "INT": signal.SIGINT}
