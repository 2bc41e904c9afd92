#!/usr/bin/env python3
"""gen_floods.py - writes the flood captures that tests/e2e/check_floods.sh replays.

    python3 tests/tools/gen_floods.py OUTDIR [SCALE]
    python3 tests/tools/gen_floods.py --stream NAME [COUNT | BODY_SIZE]

They are generated at test time into a temporary directory and never committed
(the largest is ~100 MB). SCALE (default 1.0) multiplies the number of flood
packets, for trying the test at other sizes. --stream writes one capture
(NAME.pcap below, COUNT flood packets, or "body") to standard output instead, for
floods too large to write to disk: check_floods.sh and bench/floods_full.sh pipe
it into the sensor's stdin (-r -). Only the Python 3 standard library is used
and the output is deterministic (fixed clock, seeded random.Random).

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
  dns.pcap        100,000 DNS queries with maximal names, 10 us apart.
  overlap.pcap    100,000 overlap-evasion attempts on 4 connections whose first
                  segment never comes.
  body (--stream only)  one HTTP POST from 10.1.2.5 to 203.0.113.60:80 whose
                  body is BODY_SIZE bytes (default 32m; 1g for the full run) of
                  log-like filler without PII, with 25 customer records (name,
                  email) in its middle across a segment boundary, spread over
                  about 4 s of packet time; the 25-email POST starts 3 s in,
                  during the body. Generated as it is written, at a few hundred
                  MB/s: the body is never held in memory.

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


def leak_records(start_us=LEAK_START_US):
    """(ts_us, frame) of the 25-email POST, starting start_us after T0."""
    rng = random.Random("leakwatch-flood-leak")
    cap = g.Capture(start_us=g.T0_S * 1000000 + start_us)
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


BODY_CLI, BODY_SRV = "10.1.2.5", "203.0.113.60"
BODY_LEAK_ROWS = 25
BODY_SPAN_US = 4000000  # the body's packets are spread over about 4 s of packet time
BODY_LEAK_AT_US = 3000000  # the second leak (the 25-email POST) starts 3 s into the body
BODY_MIN = 16 * 1024


def filler_blocks(k=16, size=1448):
    """k distinct blocks of size bytes of log-like text with no PII: no '@', no
    run of more than four digits, each block starting with a digit and ending
    with a newline, so that no longer run forms across block boundaries."""
    words = ["inventory", "sync", "shelf", "batch", "pallet", "aisle", "ok", "retry", "queued", "done"]
    blocks = []
    for b in range(k):
        lines, n, i = [], 0, 0
        while n < size:
            line = "%04d %s %s: %s items %d, aisle %d, crate %s-%d; filler text without personal data\n" % (
                (b * 97 + i) % 10000, words[(b + i) % 10], words[(b * 3 + i) % 10], words[i % 10],
                (b * 31 + i * 7) % 1000, i % 40, "ABCDEFGH"[(b + i) % 8], (i * 13) % 100)
            lines.append(line)
            n += len(line)
            i += 1
        blocks.append(("".join(lines)[:size - 1] + "\n").encode())
    return blocks


def _fold(x):
    while x >> 16:
        x = (x & 0xFFFF) + (x >> 16)
    return x


def _word_sum(data):
    if len(data) % 2:
        data += b"\0"
    return sum(struct.unpack("!%dH" % (len(data) // 2), data))


def http_body_flood(size, mss=1448, ack_every=16):
    """One HTTP POST from BODY_CLI to BODY_SRV:80 whose body is `size` bytes:
    filler (filler_blocks) with BODY_LEAK_ROWS customer records (name, email)
    in the middle, straddling a segment boundary; the server ACKs every
    ack_every segments, answers 201 and the client closes. Yields (ts_us, frame)
    as it goes (the whole body is never held): most segments are one of a few
    filler blocks whose checksum sums are computed once, so the generator runs
    at a few hundred MB/s."""
    if size < BODY_MIN:
        raise ValueError("body size must be at least %d" % BODY_MIN)
    rng = random.Random("leakwatch-flood-body")
    cap = g.Capture()
    s = g.TcpSession(cap, rng, BODY_CLI, 50123, BODY_SRV, 80, mss=mss)
    s.handshake()
    for ts, frame, _ in cap.records:
        yield ts, frame
    t = cap.now_us
    head = g.http_request("POST", "/inventory/export", "sync.example.net", b"", "text/csv")
    head = head.replace(b"Content-Length: 0", b"Content-Length: %d" % size)
    blocks = filler_blocks(size=mss)
    f = g.Fake("leakwatch-flood-body-records")
    records = f.rows(BODY_LEAK_ROWS, ["name", "email"])
    # The middle: three segments, the records starting 700 bytes into the first.
    middle = blocks[0][:700] + records
    middle += (blocks[1] * 3)[:3 * mss - len(middle) - 1] + b"\n"
    first = head + blocks[2][:mss - len(head)]
    rest = size - (mss - len(head)) - len(middle)
    n_full, tail = divmod(rest, mss)
    n_before = n_full // 2
    nseg = 1 + n_full + 3 + (1 if tail else 0)
    step = max(1, BODY_SPAN_US // nseg)

    cli, srv = s.cli, s.srv
    eth_c = g.link_ethernet(g.ipv4_header(cli, srv, g.PROTO_TCP, 0, 0))[:14]
    ip_st = struct.Struct("!BBHHHBBH4s4s")
    tcp_st = struct.Struct("!HHIIBBHHH")
    ack = s.ack["c"]
    hdr_const = s.cport + s.sport + (ack >> 16) + (ack & 0xFFFF) + ((5 << 12) | g.TCP_ACK) + 64240
    ip_const = _word_sum(ip_st.pack(0x45, 0, 0, 0, 0x4000, 64, g.PROTO_TCP, 0, cli, srv))
    pseudo_const = _word_sum(cli + srv) + g.PROTO_TCP
    block_sums = [_word_sum(b) for b in blocks]
    seq0 = s.seq["c"]
    ident = 0x1000

    def segment(seq, payload, psum, flags):
        nonlocal ident
        ident = (ident + 1) & 0xFFFF
        tl = 40 + len(payload)
        seq &= 0xFFFFFFFF
        c = ~_fold(pseudo_const + 20 + len(payload) + hdr_const + (flags - g.TCP_ACK) + (seq >> 16) +
                   (seq & 0xFFFF) + psum) & 0xFFFF
        ipc = ~_fold(ip_const + tl + ident) & 0xFFFF
        return (eth_c + ip_st.pack(0x45, 0, tl, ident, 0x4000, 64, g.PROTO_TCP, ipc, cli, srv) +
                tcp_st.pack(s.cport, s.sport, seq, ack, 5 << 4, flags, 64240, c, 0) + payload)

    def acks(upto):
        a = g.Capture(start_us=t)
        s.cap = a
        s.seq["c"] = seq0
        s.ack["s"] = (seq0 + upto) & 0xFFFFFFFF
        s._emit("s", g.TCP_ACK, step=0)
        return a.records[0][1]

    off = 0
    k = 0

    def emit(payload, psum=None, flags=g.TCP_ACK):
        nonlocal off, k, t
        t += step
        frame = segment(seq0 + off, payload, _word_sum(payload) if psum is None else psum, flags)
        off += len(payload)
        k += 1
        out = [(t, frame)]
        if k % ack_every == 0:
            out.append((t, acks(off)))
        return out

    yield from emit(first)
    for j in range(n_full):
        if j == n_before:
            for m in range(3):
                yield from emit(middle[m * mss:(m + 1) * mss])
        b = j % len(blocks)
        yield from emit(blocks[b], block_sums[b])
    if n_full == n_before:
        for m in range(3):
            yield from emit(middle[m * mss:(m + 1) * mss])
    if tail:
        yield from emit(blocks[3][:tail - 1] + b"\n", None, g.TCP_ACK | g.TCP_PSH)
    assert off == len(head) + size
    end = g.Capture(start_us=t)
    s.cap = end
    s.seq["c"] = seq0
    s._advance("c", off)
    s._emit("s", g.TCP_ACK, step=step)
    s.send("s", g.http_response("201 Created", b'{"status":"ok"}\n', "application/json"))
    s.close()
    for ts, frame, _ in end.records:
        yield ts, frame


def write_pcap(path, flood, leak):
    """Merges the flood and the leak by time into a classic pcap at path (a
    file name, or an open binary file such as sys.stdout.buffer)."""
    if isinstance(path, str):
        with open(path, "wb") as fh:
            return write_pcap(fh, flood, leak)
    fh = path
    leak = list(leak)
    li = 0
    n = 0
    rec = struct.Struct("<IIII")
    fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, g.LINKTYPE_ETHERNET))

    def put(ts, frame):
        fh.write(rec.pack(ts // 1000000, ts % 1000000, len(frame), len(frame)))
        fh.write(frame)

    for ts, frame in flood:
        while li < len(leak) and leak[li][0] <= ts:
            put(*leak[li])
            li += 1
        put(ts, frame)
        n += 1
    for r in leak[li:]:
        put(*r)
    return n


def parse_size(text):
    """'1g', '32m', '64k' or a byte count."""
    mult = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}.get(text[-1:].lower(), 1)
    return int(float(text[:-1] if mult > 1 else text) * mult)


FLOODS = {
    # name: (flood generator for n, default n, extra leak records)
    "baseline": (lambda n: iter(()), 0, lambda: []),
    "syn": (syn_flood, 200000, lambda: []),
    "frag": (frag_flood, 100000, lambda: fragmented_leak_records(800000)),
    "ooo": (ooo_flood, 20000, lambda: []),
    "dns": (dns_flood, 100000, lambda: []),
    "overlap": (overlap_flood, 100000, lambda: []),
}


def stream(name, count):
    """Writes one capture to standard output, never to disk: the way to run a
    flood larger than the disk should hold (body 1g, syn 2000000)."""
    out = sys.stdout.buffer
    try:
        if name == "body":
            n = write_pcap(out, http_body_flood(parse_size(count or "32m")), leak_records(BODY_LEAK_AT_US))
        else:
            make, default, extra = FLOODS[name]
            n = write_pcap(out, make(int(count) if count else default), sorted(leak_records() + extra()))
        out.flush()
    except BrokenPipeError:
        # the reader is gone (it failed or was killed): say so and stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        print("gen_floods.py: %s: reader closed the pipe" % name, file=sys.stderr)
        return 1
    print("%s: %d flood packets" % (name, n), file=sys.stderr)
    return 0


def main():
    if len(sys.argv) in (3, 4) and sys.argv[1] == "--stream" and (sys.argv[2] in FLOODS or sys.argv[2] == "body"):
        return stream(sys.argv[2], sys.argv[3] if len(sys.argv) == 4 else None)
    if len(sys.argv) not in (2, 3) or sys.argv[1].startswith("-"):
        print("usage: gen_floods.py OUTDIR [SCALE]\n"
              "       gen_floods.py --stream {%s,body} [COUNT | BODY_SIZE]" % ",".join(FLOODS), file=sys.stderr)
        return 2
    out = sys.argv[1]
    scale = float(sys.argv[2]) if len(sys.argv) == 3 else 1.0
    os.makedirs(out, exist_ok=True)
    leak = leak_records()
    for name, (make, default, extra) in FLOODS.items():
        path = os.path.join(out, name + ".pcap")
        n = write_pcap(path, make(int(default * scale)), sorted(leak + extra()))
        print("%-14s %8d flood packets %11d bytes" % (name + ".pcap", n, os.path.getsize(path)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
