#!/usr/bin/env python3
"""gen_floods.py - writes the flood captures that tests/e2e/check_floods.sh replays.

    python3 tests/tools/gen_floods.py OUTDIR [SCALE]

They are generated at test time into a temporary directory and never committed
(the largest is ~100 MB). SCALE (default 1.0) multiplies the number of flood
packets, for trying the test at other sizes. Only the Python 3 standard library
is used and the output is deterministic (fixed clock, seeded random.Random).

Every flood carries one real leak: an ordinary HTTP POST of 25 distinct emails
from 10.1.2.3 to 203.0.113.50:80, its packets spread through the middle of the
flood, so that a sensor that sheds state under pressure must still alert on it.
The flood packets themselves hold no PII.

  baseline.pcap   the leak alone: what the sensor needs for one small capture.
  syn.pcap        200,000 half-open TCP connections: one SYN each from
                  10.64.0.0/16 (distinct address and port per SYN) to
                  203.0.113.0/24:443, 20 us apart (4 s of packet time).
  frag.pcap       100,000 first IPv4 fragments (MF set, offset 0) of UDP
                  datagrams that are never completed, each its own datagram
                  (distinct source and identification), 10 us apart: the first
                  half with 256 data bytes, the second with 1,400. At 0.8 s it
                  also holds a second, fragmented leak: one UDP datagram of 40
                  distinct emails from 10.1.2.4 to 203.0.113.51:6514 in three
                  fragments.
  ooo.pcap        8 TCP connections from 10.1.9.1 to 198.51.100.9:80; after the
                  handshake each sends 2,500 segments of 400 bytes while the
                  first 400 bytes of the stream never come, shuffled within
                  windows of 32 segments, 50 us apart: 20,000 out-of-order
                  segments in all, 8 MB waiting for a hole that is never filled.

The pcap writer and packet builders come from gen_pcaps.py, next to this file.
"""

import os
import random
import struct
import sys

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_pcaps as g  # noqa: E402

FLOOD_STEP_US = 10
LEAK_START_US = 500000  # the leak's first packet, from T0


def leak_records():
    """(ts_us, frame) of the 25-email POST, starting LEAK_START_US after T0."""
    rng = random.Random("leakwatch-flood-leak")
    cap = g.Capture(start_us=g.T0_S * 1000000 + LEAK_START_US)
    f = g.Fake("leakwatch-flood-leak-records")
    body = "".join("%s\n" % f.email(f.name()) for _ in range(25)).encode()
    g.post_csv(cap, rng, g.Ports(), "10.1.2.3", "203.0.113.50", body, path="/crm/contacts/import")
    return [(ts, frame) for ts, frame, _ in cap.records]


def eth(ip):
    return g.link_ethernet(ip)


def syn_flood(n, step_us=20):
    rng = random.Random("leakwatch-flood-syn")
    t = g.T0_S * 1000000
    opts = struct.pack("!BBH", 2, 4, 1460)
    for i in range(n):
        t += step_us
        src = bytes([10, 64, (i >> 8) & 0xFF, i & 0xFF])
        dst = bytes([203, 0, 113, 1 + i % 200])
        sport = 1024 + (i * 7919) % 64000
        seg = g.tcp_segment(src, dst, sport, 443, rng.getrandbits(32), 0, g.TCP_SYN, options=opts)
        yield t, eth(g.ipv4_header(src, dst, g.PROTO_TCP, len(seg), i & 0xFFFF) + seg)


def frag_flood(n):
    t = g.T0_S * 1000000
    text = b"flood fragment that never completes " * 40
    for i in range(n):
        t += FLOOD_STEP_US
        src = bytes([10, 65, (i >> 8) & 0xFF, i & 0xFF])
        dst = bytes([203, 0, 113, 100 + i % 100])
        # Small fragments first (the datagram count cap is reached), then large
        # ones (the byte cap is reached). The UDP header claims 4,008 bytes; only
        # the first fragment ever comes.
        size = 256 if i < n // 2 else 1400
        udp = struct.pack("!HHHH", 1024 + i % 60000, 5000, 4008, 0) + text[:size - 8]
        yield t, eth(g.ipv4_fragment(src, dst, g.PROTO_UDP, (i * 40503) & 0xFFFF, 0, True, udp))


def fragmented_leak_records(at_us):
    """One UDP datagram of 40 distinct emails from 10.1.2.4 to 203.0.113.51:6514 in
    three IPv4 fragments, at T0 + at_us: a leak that needs reassembly."""
    f = g.Fake("leakwatch-flood-frag-leak-records")
    payload, _ = g.fragmented_body(f, random.Random("leakwatch-flood-frag-leak"), 4000, [1472, 2952], 0)
    cli, srv = g.ip4("10.1.2.4"), g.ip4("203.0.113.51")
    dg = g.udp_datagram(cli, srv, 40000, 6514, payload)
    t = g.T0_S * 1000000 + at_us
    return [(t + k, eth(g.ipv4_fragment(cli, srv, g.PROTO_UDP, 0x7777, o, o + 1480 < len(dg), dg[o:o + 1480])))
            for k, o in enumerate(range(0, len(dg), 1480))]


def ooo_flood(n, conns=8, seg=400, step_us=50):
    rng = random.Random("leakwatch-flood-ooo")
    cap = g.Capture()
    sessions = []
    for c in range(conns):
        s = g.TcpSession(cap, rng, "10.1.9.1", 40000 + c, "198.51.100.9", 80)
        s.handshake()
        sessions.append(s)
    for ts, frame, _ in cap.records:
        yield ts, frame
    t = cap.now_us
    per = n // conns
    text = (b"queued bytes behind a hole that the sender never fills " * 8)[:seg]
    orders = []
    for c in range(conns):
        # Segment k covers stream bytes [seg * k, seg * (k + 1)); k = 0 is never sent.
        order = sorted(range(1, per + 1), key=lambda k: (k + rng.uniform(0, 32), k))
        orders.append(order)
    for k in range(per):
        for c, s in enumerate(sessions):
            t += step_us
            src, dst, sp, dp, _ = s._ends("c")
            tcp = g.tcp_segment(src, dst, sp, dp, s.seq["c"] + seg * orders[c][k], s.ack["c"],
                                g.TCP_ACK | g.TCP_PSH, text)
            yield t, eth(g.ipv4_header(src, dst, g.PROTO_TCP, len(tcp), (k * conns + c) & 0xFFFF) + tcp)


def dns_flood(n, step_us=10):
    """n DNS queries with maximal names (four 63-byte labels under a
    registered domain of their own), inside host to an outside resolver:
    the names hold no PII, but every one is decoded and tried as hex,
    base32 and base64, and each creates a domain key."""
    rng = random.Random("leakwatch-flood-dns")
    t = g.T0_S * 1000000
    alphabet = b"bcdfghjklmnpqrstvwxz"
    src, dst = g.ip4("10.1.3.7"), g.ip4("203.0.113.53")
    for i in range(n):
        t += step_us
        labels = [bytes(rng.choice(alphabet) for _ in range(63)) for _ in range(3)]
        labels += [b"q%d" % i, b"net"]
        qname = b"".join(bytes([len(l)]) + l for l in labels) + b"\0"
        msg = struct.pack("!HHHHHH", i & 0xFFFF, 0x0100, 1, 0, 0, 0) + qname + struct.pack("!HH", 16, 1)
        dg = g.udp_datagram(src, dst, 1024 + i % 60000, 53, msg)
        yield t, eth(g.ipv4_header(src, dst, g.PROTO_UDP, len(dg), i & 0xFFFF) + dg)


def overlap_flood(n, conns=4, seg=400, step_us=20):
    """n overlap-evasion attempts: on a few connections whose first segment
    never comes, each buffered segment is followed by a copy of half of it
    carrying different bytes."""
    rng = random.Random("leakwatch-flood-overlap")
    cap = g.Capture()
    sessions = []
    for c in range(conns):
        s = g.TcpSession(cap, rng, "10.1.9.2", 41000 + c, "198.51.100.10", 80)
        s.handshake()
        sessions.append(s)
    for ts, frame, _ in cap.records:
        yield ts, frame
    t = cap.now_us
    real = (b"the bytes the receiver should see " * 16)[:seg]
    junk = (b"XXXX different bytes for the same range " * 16)[:seg // 2]
    for k in range(n // conns):
        for c, s in enumerate(sessions):
            src, dst, sp, dp, _ = s._ends("c")
            base = s.seq["c"] + seg * (k + 1)  # segment 0 is the hole
            for off, data in ((0, real), (seg // 4, junk)):
                t += step_us
                tcp = g.tcp_segment(src, dst, sp, dp, (base + off) & 0xFFFFFFFF, s.ack["c"],
                                    g.TCP_ACK | g.TCP_PSH, data)
                yield t, eth(g.ipv4_header(src, dst, g.PROTO_TCP, len(tcp), (k * conns + c) & 0xFFFF) + tcp)


def write_pcap(path, flood, leak):
    """Merges the flood and the leak by time into a classic pcap."""
    leak = list(leak)
    li = 0
    n = 0
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, g.LINKTYPE_ETHERNET))

        def put(ts, frame):
            fh.write(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(frame), len(frame)))
            fh.write(frame)

        for ts, frame in flood:
            while li < len(leak) and leak[li][0] <= ts:
                put(*leak[li])
                li += 1
            put(ts, frame)
            n += 1
        for rec in leak[li:]:
            put(*rec)
    return n


def main():
    if len(sys.argv) not in (2, 3):
        print("usage: gen_floods.py OUTDIR [SCALE]", file=sys.stderr)
        return 2
    out = sys.argv[1]
    scale = float(sys.argv[2]) if len(sys.argv) == 3 else 1.0
    os.makedirs(out, exist_ok=True)
    leak = leak_records()
    jobs = [("baseline.pcap", iter(())), ("syn.pcap", syn_flood(int(200000 * scale))),
            ("frag.pcap", frag_flood(int(100000 * scale))), ("ooo.pcap", ooo_flood(int(20000 * scale))),
            ("dns.pcap", dns_flood(int(100000 * scale))),
            ("overlap.pcap", overlap_flood(int(100000 * scale)))]
    for name, flood in jobs:
        path = os.path.join(out, name)
        extra = fragmented_leak_records(800000) if name == "frag.pcap" else []
        n = write_pcap(path, flood, sorted(leak + extra))
        print("%-14s %8d flood packets %11d bytes" % (name, n, os.path.getsize(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
