#!/usr/bin/env python3
"""gen_pcaps.py - writes every synthetic capture under pcaps/ that the e2e tests replay.

Run from anywhere: `python3 tests/tools/gen_pcaps.py` rewrites all files. Output is
byte-identical from one run to the next: timestamps come from a fixed clock (start
2024-03-01T09:00:00Z, fixed steps), every random choice comes from a random.Random
seeded with a fixed string per capture, and nothing reads the wall clock or the
environment. Only the Python 3 standard library is used.

Everything in the captures is fictional:
  * emails are at example.com / example.org / example.net (RFC 2606);
  * phone numbers are NANP 555-0100..555-0199, the range set aside for fiction;
  * payment cards use the Visa (4) and Mastercard (51-55) prefixes with random
    digits and a correct Luhn digit; SSNs are structurally valid random numbers
    that avoid the well-known published ones; IBANs are DE / GB with correct
    ISO 7064 mod-97 check digits but invented bank codes and accounts.
Inside hosts are 10.0.0.0/8, 192.168.0.0/16 and fd00::/8 (inside the default
home_net); outside hosts are documentation ranges 198.51.100.0/24, 203.0.113.0/24
and 2001:db8::/32.

Captures (expected result at default thresholds: burst.threshold 20, window 60 s):

  demo/demo.pcap                 10.1.2.3 browses (GETs to 203.0.113.10 and
                                 198.51.100.20, HTML answers), then POSTs a text/csv
                                 body of 40 customer rows (name,email,phone,card) to
                                 203.0.113.50:80 in 1448-byte segments. One alert.
  http_post_records.pcap         10.1.2.3 -> 203.0.113.50:80 POST of 30 rows
                                 (name,email,phone,card,ssn). One alert.
  http_post_records_ipv6.pcap    the same rows over IPv6, fd00::10 -> 2001:db8::50.
  http_post_records_vlan.pcap    the same as http_post_records inside 802.1Q VLAN 100.
  http_post_records_qinq.pcap    the same inside QinQ: outer 0x88a8 VLAN 200, inner
                                 0x8100 VLAN 100.
  server_inside_answers.pcap     outside client 198.51.100.7 GETs /export from the
                                 inside server 10.9.9.9:8080, which answers with 50
                                 rows (name,email,phone,iban). One alert whose src_ip
                                 is the inside server.
  inside_to_inside.pcap          10.1.2.3 -> 10.5.5.5:80 POST of 100 rows. No alert.
  outside_to_inside.pcap         198.51.100.7 -> 10.9.9.9:80 POST of 100 rows. No alert.
  email_below_threshold.pcap     SMTP 10.1.2.3 -> 203.0.113.25:25: EHLO, MAIL FROM,
                                 RCPT TO, DATA with a short message; 3 distinct emails
                                 and 1 phone in all. No alert.
  repeated_values.pcap           one POST whose ~80 KB body holds 5,000 email
                                 occurrences that cycle through the same 3 addresses.
                                 No alert (3 distinct values).
  numeric_noise.pcap             POST of numbers that look like PII but must not
                                 validate: unix times, ISO dates, non-Luhn 16-digit
                                 ids, UUIDs, versions, IPv4 addresses, bare 9-digit
                                 numbers, SSN-shaped 000-/666-/9xx-, group 00, serial
                                 0000, phone-shaped N11/555/0xx/1xx area codes and
                                 0xx/1xx exchanges, IBAN-shaped with wrong check digits,
                                 hex strings. No alert (ideally no validated match).
  tls_bytes.pcap                 10.1.2.3 -> 203.0.113.80:443: TLS record headers
                                 (16 03 01 ClientHello, 16 03 03 ServerHello, 17 03 03
                                 Application Data) around seeded random bytes, about
                                 170 KB in all. No alert.
  malformed_interleaved.pcap     the http_post_records leak (own seed, 30 rows) with
                                 malformed frames between its packets: truncated
                                 Ethernet, IPv4 IHL < 5 and IHL > total length, total
                                 length > frame, a frame cut by the capture, TCP data
                                 offset 15 beyond the segment, UDP length too big and
                                 too small, IPv6 with 100 destination-options headers,
                                 with hop-by-hop after another header, and with an
                                 extension header longer than the packet, zero-length
                                 frames, seeded garbage. The malformed frames use the
                                 same hosts but other ports. Alert still expected.
  snaplen96.pcap                 the demo traffic with snaplen 96 (caplen <= 96,
                                 wire length kept). No alert, no crash.
  split_segments.pcap            25 rows (name,email,card) where every email and every
                                 card is cut in the middle by a TCP segment boundary
                                 (in-order segments). One alert, 50 distinct values.
  linktypes/sll.pcap             a 25-email POST as LINKTYPE_LINUX_SLL (113).
  linktypes/sll2.pcap            the same as LINKTYPE_LINUX_SLL2 (276).
  linktypes/raw.pcap             the same as LINKTYPE_RAW (101), bare IPv4.
  linktypes/null.pcap            the same as LINKTYPE_NULL (0), AF_INET = 2 as a
                                 little-endian 32-bit word (the writer's byte order).
  linktypes/ethernet.pcapng      the same as pcapng (SHB, IDB with if_name, EPBs).
  truncated_last_record.pcap     a complete 25-email leak (connection closed), then a
                                 last record header that claims 1514 bytes of which
                                 only 20 are in the file. The sensor reports the cut
                                 on stderr and still alerts on what came before.

Burst timing captures (times below are offsets from 09:00:00; a session's first packet
comes 1 ms after the offset it is set to):

  cooldown_three_posts.pcap      10.1.2.3 -> 203.0.113.50:80, three POST connections
                                 at t = 0 s, 10 s and 100 s, each with 25 emails, all
                                 75 distinct. One alert for the first connection
                                 (25 distinct), the second falls in its cool-down
                                 (suppressed), the third alerts again (25 distinct:
                                 the first two connections have left the window).
  udp_syslog_leak.pcap           10.1.2.3:5514 -> 203.0.113.9:514 UDP, 30 syslog
                                 lines 100 ms apart, each with one distinct email and
                                 one distinct phone. One UDP alert, 60 distinct.
  slow_drip_below_window.pcap    10.1.2.3 -> 203.0.113.70:80, 40 POST connections
                                 10 s apart, each with one distinct email: at most 6
                                 values in any 60 s window. No alert at defaults; with
                                 window 3600 s and threshold 30, one alert (the 30th
                                 email's connection, distinct 30).
  two_destinations.pcap          10.1.2.3 POSTs 15 distinct emails to 203.0.113.50:80
                                 and 15 other distinct emails to 198.51.100.60:80 over
                                 two connections whose segments alternate, one email
                                 per segment. No alert: each pair holds 15.

Reassembly captures:

  tcp_shuffled_csv.pcap          10.1.2.3 -> 203.0.113.70:9000 raw TCP (no HTTP): a CSV
                                 of 40 rows (name,email,phone,card) in 390 segments of
                                 5..9 bytes (the last one shorter), each sent at most
                                 ~20 places from its own (sort on index + U(0, 20)),
                                 54 of them sent again 3..30 places later with the
                                 same bytes; the server ACKs what it holds in order.
                                 No value fits in one segment. One alert, 120 distinct;
                                 with stream.reassembly=no, no value and no alert.
  udp_fragmented.pcap            10.1.2.3:40514 -> 203.0.113.90:6514, 10 UDP datagrams
                                 of 4,000 payload bytes (40 distinct emails each, one
                                 across each fragment boundary) as three IPv4
                                 fragments of up to 1,480 data bytes. Datagrams 1, 5,
                                 8 in reverse order, 6 and 9 shuffled, 3 and 4
                                 interleaved. One UDP alert, 400 distinct.
  ipv6_fragmented.pcap           the same over IPv6 (fd00::10 -> 2001:db8::70) with a
                                 Fragment header and 1,448 data bytes per fragment;
                                 datagram 6 has a Destination Options header before
                                 its Fragment header. One UDP alert, 400 distinct.
  tcp_overlap_evasion.pcap       10.1.2.3 -> 198.51.100.80:80 POST of 30 rows
                                 (name,email,phone) in 256-byte segments; segment 4
                                 comes before segment 3, then again with the same
                                 length and other bytes (letters turned to 'x'), then
                                 segment 3. 11 of the 60 values have a byte in
                                 segment 4. First copy kept: one alert, 60 distinct,
                                 and one overlap_mismatch anomaly event.
  tcp_gap_acked.pcap             10.1.2.3 -> 203.0.113.72:9000 raw TCP, 40 rows
                                 (name,email,phone,card); the 469-byte segment from
                                 the middle of row 16's card to the middle of row
                                 23's is not in the capture, and the server's next
                                 ACK covers it. The two card halves joined would be
                                 Luhn-valid. 22 values touch the hole: one alert, 98
                                 distinct (nothing stitched across the hole).

Application-decoding captures (the values appear only once the content is decoded
as its receiver decodes it; a raw scan validates none of them, or too few to alert):

  http_form_urlencoded.pcap      10.1.2.3 -> 203.0.113.40:80 form POST
                                 (x-www-form-urlencoded) of 100 records, fields
                                 customer[i][name|email|phone|card]: '@' as %40,
                                 spaces as '+', cards grouped in fours with %20.
                                 One HTTP alert, 300 distinct.
  http_chunked_gzip_csv.pcap     10.1.2.3 -> 203.0.113.41:80 POST of a 50-row CSV
                                 (name,email,phone,card), Content-Encoding gzip
                                 (DEFLATE written here, fixed Huffman codes, so the
                                 bytes do not depend on the zlib at hand) and
                                 chunked (10 chunks of 1..511 bytes, a chunk
                                 extension, a trailer); TCP segments end inside
                                 chunk-size lines, between CR and LF and inside the
                                 gzip header. One HTTP alert, 150 distinct.
  http_json_u0040.pcap           fd00::10 -> 2001:db8::51:80 JSON POST of 30 objects
                                 whose emails use \\u0040 for '@' and half of whose
                                 phones use \\u002d / \\u002D for '-'. One HTTP alert,
                                 60 distinct.
  smtp_base64_attachment.pcap    SMTP 10.1.2.3 -> 203.0.113.25:25, EHLO, MAIL FROM,
                                 two RCPT TO, DATA: multipart/mixed with a short
                                 text part and a base64 (76-character lines) text/csv
                                 attachment of 40 rows (name,email,phone,card). One
                                 SMTP alert, 123 distinct (43 emails with the three
                                 envelope addresses, 40 phones, 40 cards).
  dns_hex_base32.pcap            30 DNS queries over UDP from 10.1.2.3 (one source
                                 port each) to 203.0.113.53:53, answered NXDOMAIN;
                                 each name <payload>.exfil.example.net carries one
                                 email, 15 as lower-case hex over 2-3 labels, 15 as
                                 lower-case unpadded base32. One DNS alert, 30
                                 distinct, registered domain example.net.
  dns_via_inside_resolver.pcap   the same 30 names sent to the inside resolver
                                 10.0.0.53, which forwards each to 198.51.100.53:53.
                                 One DNS alert whose src_ip is 10.0.0.53, 30 distinct.
  dns_two_upstreams.pcap         the same, but the resolver forwards to 198.51.100.53
                                 and 198.51.100.54 in turn: 15 values per outside
                                 address, 30 per registered domain. One DNS alert
                                 (src_ip 10.0.0.53), 30 distinct.
  ftp_stor_csv.pcap              FTP control 10.1.2.3:50000 -> 203.0.113.21:21 (USER,
                                 PASS, TYPE I, PASV -> 227 port 40021, STOR
                                 customers.csv) and the data connection
                                 10.1.2.3:50001 -> 203.0.113.21:40021 with a 40-row
                                 CSV. One alert on the data connection, app_proto
                                 ftp-data, 120 distinct.
  http_gzip_bomb.pcap            10.1.2.3 -> 203.0.113.42:80 POST whose 65 KB gzip
                                 body (DEFLATE's best ratio, about 1,032:1) inflates
                                 to 64 MiB of zero bytes. No alert;
                                 app.http.decompress_bomb > 0.
  http_gzip_nested_bomb.pcap     10.1.2.3 -> 203.0.113.42:80 POST, Content-Encoding
                                 "gzip, gzip": 1,088 bytes that inflate to a 1 MiB
                                 gzip member that inflates to 1 GiB of zeros; then
                                 10.1.2.4 POSTs 25 emails to 203.0.113.43. One alert
                                 (the 25); the bomb is cut, app.http.decompress_bomb > 0.

Exact data matching captures (values from the customer table of gen_customers.py:
customers(10000) with its default seed, the table tests/e2e/check_edm.sh builds its
index from; replayed with edm.index and edm.key set, edm.threshold at its default 5):

  edm_30_of_200.pcap             10.1.2.3 -> 203.0.113.56:80 POST (text/csv, one
                                 "email" column) of 230 distinct emails in a seeded
                                 order: 30 of them are customers' (a fixed sample of
                                 non-canary rows), 200 are guest-NNNN.visitor@
                                 example.org addresses, a pattern the customer
                                 table never holds. One pair alert, 230 distinct,
                                 pii.customer_records 30; one customer_records alert.
  edm_canary_dns.pcap            one DNS query (A, EDNS) from 10.1.2.3 to
                                 203.0.113.53:53, answered NXDOMAIN, whose name is
                                 the email of the canary row labelled canary-07 as
                                 lower-case hex over two labels under
                                 exfil.example.net. One canary alert naming
                                 canary-07 (one value: far below every threshold).
  edm_below_pair_threshold.pcap  10.1.2.3 -> 203.0.113.57:80 POST (text/csv) of 8
                                 customers' emails (non-canary rows) and nothing
                                 else: below burst.threshold 20, above
                                 edm.threshold 5. Exactly one alert, a
                                 customer_records alert with 8 records.

Policy captures (replayed with a policy file from tests/e2e/policies/, some with the
test GeoIP databases pcaps/geoip/test-country.mmdb and test-asn.mmdb):

  spread.pcap                    10.1.2.3 POSTs 8 distinct emails to each of 12
                                 outside hosts 198.51.100.1..12 (one connection
                                 each, 2.5 s apart): 96 distinct in 30 s, 8 per pair.
                                 No alert from a pair detector (threshold 20); one
                                 from a source detector with threshold 40.
  slow_drip_40min.pcap           10.1.2.3 -> 203.0.113.70:80, 120 POST connections
                                 20 s apart (40 minutes), one distinct email each: at
                                 most 3 in any 60 s window, the 100th at 1980 s. One
                                 alert from a 3600 s / 100 detector, none from pair.
  allow_destinations.pcap        10.1.2.3 leaks 30 distinct emails to each of 8
                                 destinations, one second apart: 198.51.100.10
                                 (allowed by CIDR), 203.0.113.20 (by ASN 64500),
                                 192.0.2.30 (by country NL), Host crm.example.com
                                 at 198.51.100.40, Host upload.eu.example.org at
                                 198.51.100.50 (by *.example.org), a TLS ClientHello
                                 with SNI sync.vendor.example then a cleartext list
                                 to 198.51.100.60:443, 30 DNS queries with hex names
                                 under exfil.example.net to 198.51.100.53 (by
                                 registered domain example.net), and the control,
                                 Host drop.example.com at 198.51.100.99. 8 alerts
                                 at defaults; each allow entry silences one.
  paste_site.pcap                10.1.2.3 POSTs 6 distinct emails to Host
                                 pastebin.com at 198.51.100.80. No alert at defaults;
                                 one (threshold 5, severity 1) with etc/policy.yaml.
  incident_linked.pcap           10.1.2.3 POSTs 30 distinct emails to 203.0.113.60,
                                 then 8 to each of 198.51.100.61..66, 2 s apart: a
                                 pair alert (30 >= 20) and a source alert (40 by the
                                 second small POST) with one incident_id.
"""

import base64
import os
import random
import re
import struct
import sys
import urllib.parse
import zlib

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_customers  # noqa: E402

# 2024-03-01T09:00:00Z as seconds since the epoch.
T0_S = 1709283600
STEP_US = 1000  # one packet every millisecond unless a session says otherwise

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LINUX_SLL = 113
LINKTYPE_LINUX_SLL2 = 276

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_VLAN = 0x8100
ETH_QINQ = 0x88A8

PROTO_TCP = 6
PROTO_UDP = 17

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))


# ---------------------------------------------------------------------------
# Addresses and checksums
# ---------------------------------------------------------------------------


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def ip6(s):
    """Parses a textual IPv6 address (with at most one '::') into 16 bytes."""
    if "::" in s:
        head, tail = s.split("::")
        h = [int(x, 16) for x in head.split(":")] if head else []
        t = [int(x, 16) for x in tail.split(":")] if tail else []
        groups = h + [0] * (8 - len(h) - len(t)) + t
    else:
        groups = [int(x, 16) for x in s.split(":")]
    assert len(groups) == 8
    return struct.pack("!8H", *groups)


def addr(s):
    return ip6(s) if ":" in s else ip4(s)


def inet_sum(data):
    """RFC 1071 ones' complement sum, folded and complemented."""
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return (~total) & 0xFFFF


def mac_for(a):
    """A locally administered MAC derived from the address (stable per host)."""
    return b"\x02\x00" + a[-4:]


# ---------------------------------------------------------------------------
# Network and transport layers
# ---------------------------------------------------------------------------


def ipv4_header(src, dst, proto, payload_len, ident, ttl=64, ihl=5, total_len=None, options=b""):
    tl = 20 + len(options) + payload_len if total_len is None else total_len
    hdr = struct.pack("!BBHHHBBH4s4s", (4 << 4) | ihl, 0, tl, ident, 0x4000, ttl, proto, 0, src, dst)
    hdr += options
    csum = inet_sum(hdr)
    return hdr[:10] + struct.pack("!H", csum) + hdr[12:]


def ipv6_header(src, dst, next_hdr, payload_len, hop_limit=64):
    return struct.pack("!IHBB16s16s", 6 << 28, payload_len, next_hdr, hop_limit, src, dst)


def pseudo_header(src, dst, proto, length):
    if len(src) == 4:
        return struct.pack("!4s4sBBH", src, dst, 0, proto, length)
    return struct.pack("!16s16sIxxxB", src, dst, length, proto)


def tcp_segment(src, dst, sport, dport, seq, ack, flags, payload=b"", window=64240, options=b""):
    assert len(options) % 4 == 0
    doff = (20 + len(options)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, doff << 4, flags,
                      window, 0, 0) + options
    csum = inet_sum(pseudo_header(src, dst, PROTO_TCP, len(hdr) + len(payload)) + hdr + payload)
    return hdr[:16] + struct.pack("!H", csum) + hdr[18:] + payload


def udp_datagram(src, dst, sport, dport, payload):
    length = 8 + len(payload)
    hdr = struct.pack("!HHHH", sport, dport, length, 0)
    csum = inet_sum(pseudo_header(src, dst, PROTO_UDP, length) + hdr + payload)
    if csum == 0:
        csum = 0xFFFF  # RFC 768: a computed zero is sent as all ones
    return hdr[:6] + struct.pack("!H", csum) + payload


class IpIds:
    """Per-source IPv4 identification counters, so every run numbers alike."""

    def __init__(self):
        self.next = {}

    def take(self, src):
        v = self.next.get(src, 0x1000 + src[-1] * 16)
        self.next[src] = (v + 1) & 0xFFFF
        return v


def ip_packet(ids, src, dst, proto, l4):
    if len(src) == 4:
        return ipv4_header(src, dst, proto, len(l4), ids.take(src)) + l4
    return ipv6_header(src, dst, proto, len(l4)) + l4


# ---------------------------------------------------------------------------
# Link layers: each takes an IP packet and returns the frame
# ---------------------------------------------------------------------------


def ethertype_of(ip):
    return ETH_IPV6 if (ip[0] >> 4) == 6 else ETH_IPV4


def ip_addrs(ip):
    if (ip[0] >> 4) == 6:
        return ip[8:24], ip[24:40]
    return ip[12:16], ip[16:20]


def link_ethernet(ip):
    s, d = ip_addrs(ip)
    return mac_for(d) + mac_for(s) + struct.pack("!H", ethertype_of(ip)) + ip


def link_vlan(vid):
    def f(ip):
        s, d = ip_addrs(ip)
        return (mac_for(d) + mac_for(s) + struct.pack("!HHH", ETH_VLAN, vid & 0x0FFF, ethertype_of(ip)) + ip)

    return f


def link_qinq(outer_vid, inner_vid):
    def f(ip):
        s, d = ip_addrs(ip)
        return (mac_for(d) + mac_for(s) + struct.pack("!HHHHH", ETH_QINQ, outer_vid & 0x0FFF, ETH_VLAN,
                                                      inner_vid & 0x0FFF, ethertype_of(ip)) + ip)

    return f


def link_sll(ip):
    """Linux cooked v1: packet type, ARPHRD_ETHER, address length, address (8), protocol."""
    s, _ = ip_addrs(ip)
    pkttype = 4 if s[0] == 10 else 0  # 4 = sent by us, 0 = to us
    return struct.pack("!HHH8sH", pkttype, 1, 6, mac_for(s) + b"\0\0", ethertype_of(ip)) + ip


def link_sll2(ip):
    """Linux cooked v2: protocol, reserved, ifindex, ARPHRD_ETHER, pkttype, addr len, addr (8)."""
    s, _ = ip_addrs(ip)
    pkttype = 4 if s[0] == 10 else 0
    return struct.pack("!HHIHBB8s", ethertype_of(ip), 0, 2, 1, pkttype, 6, mac_for(s) + b"\0\0") + ip


def link_raw(ip):
    return ip


def link_null(ip):
    # DLT_NULL: the address family in the byte order of the host that wrote the
    # file; this writer is little-endian, and AF_INET is 2 everywhere.
    assert ethertype_of(ip) == ETH_IPV4
    return struct.pack("<I", 2) + ip


# ---------------------------------------------------------------------------
# Capture container and file writers
# ---------------------------------------------------------------------------


class Capture:
    """An ordered list of (timestamp_us, frame, wire_len) with a deterministic clock."""

    def __init__(self, linktype=LINKTYPE_ETHERNET, link=link_ethernet, start_us=None):
        self.linktype = linktype
        self.link = link
        self.now_us = T0_S * 1000000 if start_us is None else start_us
        self.records = []
        self.ids = IpIds()

    def tick(self, us=STEP_US):
        self.now_us += us

    def at(self, offset_us):
        """Moves the clock to T0 + offset_us; the next frame comes one step later.
        The clock never goes back."""
        t = T0_S * 1000000 + offset_us
        assert t >= self.now_us, "clock would go back"
        self.now_us = t

    def add_frame(self, frame, wire_len=None, step=STEP_US):
        self.tick(step)
        self.records.append((self.now_us, frame, len(frame) if wire_len is None else wire_len))

    def add_ip(self, ip, step=STEP_US):
        self.add_frame(self.link(ip), step=step)


def pcap_bytes(cap, snaplen=65535, truncate_tail=None):
    """Classic pcap, microsecond, little-endian. Frames longer than snaplen are cut
    to snaplen (caplen) while the wire length is kept."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, cap.linktype)]
    for ts, frame, wire in cap.records:
        data = frame[:snaplen]
        out.append(struct.pack("<IIII", ts // 1000000, ts % 1000000, len(data), wire))
        out.append(data)
    if truncate_tail is not None:
        claimed, present = truncate_tail
        ts = cap.records[-1][0] + STEP_US
        out.append(struct.pack("<IIII", ts // 1000000, ts % 1000000, claimed, claimed))
        out.append(bytes(range(present)))
    return b"".join(out)


def pcapng_option(code, value):
    pad = (-len(value)) % 4
    return struct.pack("<HH", code, len(value)) + value + b"\0" * pad


def pcapng_block(btype, body):
    total = 12 + len(body)
    assert total % 4 == 0
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def pcapng_bytes(cap, snaplen=65535):
    """pcapng: one SHB (with shb_userappl), one IDB (if_name, if_tsresol = 6) and one
    Enhanced Packet Block per frame, all little-endian."""
    shb_opts = pcapng_option(4, b"leakwatch gen_pcaps.py") + pcapng_option(0, b"")
    shb = pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + shb_opts)
    idb_opts = pcapng_option(2, b"eth0") + pcapng_option(9, b"\x06") + pcapng_option(0, b"")
    idb = pcapng_block(0x00000001, struct.pack("<HHI", cap.linktype, 0, snaplen) + idb_opts)
    out = [shb, idb]
    for ts, frame, wire in cap.records:
        data = frame[:snaplen]
        pad = (-len(data)) % 4
        body = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(data), wire) + data + b"\0" * pad
        out.append(pcapng_block(0x00000006, body))
    return b"".join(out)


# ---------------------------------------------------------------------------
# TCP session builder
# ---------------------------------------------------------------------------


class TcpSession:
    """One TCP connection with correct sequence and acknowledgement numbers.

    The client opens with SYN / SYN-ACK / ACK (MSS option on both SYNs), each
    send() cuts the bytes into segments of at most `mss` (or at the explicit cut
    points given), the peer acknowledges every second segment and the last one,
    and close() does FIN-ACK / FIN-ACK / ACK from the client side.
    """

    def __init__(self, cap, rng, cli, cport, srv, sport, mss=1448):
        self.cap = cap
        self.cli, self.srv = addr(cli), addr(srv)
        self.cport, self.sport = cport, sport
        self.mss = mss
        self.seq = {"c": rng.getrandbits(32), "s": rng.getrandbits(32)}
        self.ack = {"c": 0, "s": 0}

    def _ends(self, d):
        if d == "c":
            return self.cli, self.srv, self.cport, self.sport, "s"
        return self.srv, self.cli, self.sport, self.cport, "c"

    def _emit(self, d, flags, payload=b"", options=b"", step=STEP_US):
        src, dst, sp, dp, _ = self._ends(d)
        seg = tcp_segment(src, dst, sp, dp, self.seq[d], self.ack[d] if flags & TCP_ACK else 0, flags,
                          payload, options=options)
        self.cap.add_ip(ip_packet(self.cap.ids, src, dst, PROTO_TCP, seg), step=step)

    def _advance(self, d, n):
        other = self._ends(d)[4]
        self.seq[d] = (self.seq[d] + n) & 0xFFFFFFFF
        self.ack[other] = self.seq[d]

    def handshake(self):
        mss_c = struct.pack("!BBH", 2, 4, self.mss)
        self._emit("c", TCP_SYN, options=mss_c)
        self._advance("c", 1)
        self._emit("s", TCP_SYN | TCP_ACK, options=mss_c, step=20000)
        self._advance("s", 1)
        self._emit("c", TCP_ACK, step=20000)

    def send(self, d, data, cuts=None, ack_every=2):
        """Sends data from d ('c' or 's'). cuts: explicit segment end offsets."""
        if cuts is None:
            cuts = list(range(self.mss, len(data), self.mss))
        bounds = [0] + [c for c in cuts if 0 < c < len(data)] + [len(data)]
        other = self._ends(d)[4]
        n = len(bounds) - 1
        for i in range(n):
            piece = data[bounds[i]:bounds[i + 1]]
            assert len(piece) <= self.mss
            last = i == n - 1
            self._emit(d, TCP_ACK | (TCP_PSH if last else 0), piece)
            self._advance(d, len(piece))
            if last or (i + 1) % ack_every == 0:
                self._emit(other, TCP_ACK)

    def emit_at(self, d, rel, payload, flags=TCP_ACK | TCP_PSH, step=STEP_US):
        """One data segment of d at `rel` bytes past d's current sequence number,
        without moving it: for out-of-order, retransmitted, overlapping or lost
        data. advance() moves the sequence number once the data is all sent."""
        src, dst, sp, dp, _ = self._ends(d)
        seg = tcp_segment(src, dst, sp, dp, self.seq[d] + rel, self.ack[d], flags, payload)
        self.cap.add_ip(ip_packet(self.cap.ids, src, dst, PROTO_TCP, seg), step=step)

    def ack_at(self, d, rel, step=STEP_US):
        """The peer of d acknowledges d's data up to `rel` bytes past d's current
        sequence number (what a receiver that holds those bytes would send)."""
        src, dst, sp, dp, other = self._ends(d)
        seg = tcp_segment(dst, src, dp, sp, self.seq[other], self.seq[d] + rel, TCP_ACK)
        self.cap.add_ip(ip_packet(self.cap.ids, dst, src, PROTO_TCP, seg), step=step)

    def advance(self, d, n):
        self._advance(d, n)

    def close(self):
        self._emit("c", TCP_FIN | TCP_ACK, step=5000)
        self._advance("c", 1)
        self._emit("s", TCP_FIN | TCP_ACK, step=20000)
        self._advance("s", 1)
        self._emit("c", TCP_ACK, step=20000)


# ---------------------------------------------------------------------------
# Fake data (deterministic, fictional)
# ---------------------------------------------------------------------------

FIRST_NAMES = [
    "Alice", "Bruno", "Chloe", "Dmitri", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Kara", "Liam", "Maya", "Nils", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara",
    "Umar", "Vera", "Wes", "Xenia", "Yusuf", "Zoe", "Aaron", "Bianca", "Carlos", "Dana",
]
LAST_NAMES = [
    "Abbott", "Brennan", "Castillo", "Dubois", "Eriksen", "Fischer", "Gallo", "Hayes",
    "Ibarra", "Jansen", "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov",
    "Quintero", "Romano", "Schulz", "Tanaka", "Underwood", "Vasquez", "Weber", "Yilmaz",
    "Zimmer", "Arnaud", "Bauer", "Conti", "Delgado", "Engel",
]
EMAIL_DOMAINS = ["example.com", "example.org", "example.net"]
AREA_CODES = [202, 212, 312, 415, 617, 713]
PUBLISHED_SSNS = {"078-05-1120", "219-09-9999", "123-45-6789"}


def luhn_check_digit(partial):
    """The digit that makes partial + digit pass Luhn."""
    total = 0
    for i, ch in enumerate(reversed(partial)):
        d = int(ch)
        if i % 2 == 0:  # these positions are doubled once the check digit is appended
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def customer_csv_row(rng):
    """One invented "First Last,email,phone,card,ssn" line, the rows the benches upload."""
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    email = "%s.%s%d@%s" % (first.lower(), last.lower(), rng.randrange(1, 100000), rng.choice(EMAIL_DOMAINS))
    phone = "(%d) 555-%04d" % (rng.choice(AREA_CODES), rng.randrange(100, 200))
    partial = "4" + "".join(str(rng.randrange(10)) for _ in range(14))
    card = partial + luhn_check_digit(partial)
    ssn = "%03d-%02d-%04d" % (rng.randrange(1, 666), rng.randrange(1, 100), rng.randrange(1, 10000))
    return "%s %s,%s,%s,%s,%s\n" % (first, last, email, phone, card, ssn)


def luhn_ok(digits):
    return luhn_check_digit(digits[:-1]) == digits[-1]


def iban_check(country, bban):
    """ISO 13616 check digits: move country + '00' behind the BBAN, letters -> 10..35,
    98 - (number mod 97)."""
    s = bban + country + "00"
    num = "".join(str(int(c, 36)) for c in s)
    return "%02d" % (98 - int(num) % 97)


def iban_ok(iban):
    s = iban[4:] + iban[:4]
    return int("".join(str(int(c, 36)) for c in s)) % 97 == 1


class Fake:
    """Generates distinct fictional records from one seeded random.Random."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.seen = set()

    def _unique(self, make):
        for _ in range(10000):
            v = make()
            if v not in self.seen:
                self.seen.add(v)
                return v
        raise RuntimeError("value space exhausted")

    def name(self):
        return "%s %s" % (self.rng.choice(FIRST_NAMES), self.rng.choice(LAST_NAMES))

    def email(self, name):
        first, last = name.lower().split()
        r = self.rng

        def make():
            style = r.randrange(3)
            if style == 0:
                local = "%s.%s" % (first, last)
            elif style == 1:
                local = "%s%s%d" % (first[0], last, r.randrange(10, 100))
            else:
                local = "%s_%s%d" % (first, last[:3], r.randrange(1, 10))
            return "%s@%s" % (local, r.choice(EMAIL_DOMAINS))

        return self._unique(make)

    def phone(self):
        r = self.rng
        return self._unique(lambda: "(%d) 555-%04d" % (r.choice(AREA_CODES), r.randrange(100, 200)))

    def card(self):
        r = self.rng

        def make():
            if r.randrange(2):
                partial = "4" + "".join(str(r.randrange(10)) for _ in range(14))
            else:
                partial = str(r.randrange(51, 56)) + "".join(str(r.randrange(10)) for _ in range(13))
            return partial + luhn_check_digit(partial)

        return self._unique(make)

    def ssn(self):
        r = self.rng

        def make():
            while True:
                area = r.randrange(1, 666)
                s = "%03d-%02d-%04d" % (area, r.randrange(1, 100), r.randrange(1, 10000))
                if s not in PUBLISHED_SSNS:
                    return s

        return self._unique(make)

    def iban(self):
        r = self.rng

        def make():
            if r.randrange(2):
                bban = "".join(str(r.randrange(10)) for _ in range(18))
                return "DE" + iban_check("DE", bban) + bban
            bank = "".join(r.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(4))
            bban = bank + "".join(str(r.randrange(10)) for _ in range(14))
            return "GB" + iban_check("GB", bban) + bban

        return self._unique(make)

    def rows(self, n, fields):
        """n CSV rows (with a header line) of the named fields."""
        lines = [",".join(fields)]
        for _ in range(n):
            nm = self.name()
            row = []
            for f in fields:
                if f == "name":
                    row.append(nm)
                elif f == "email":
                    row.append(self.email(nm))
                else:
                    row.append(getattr(self, f)())
            lines.append(",".join(row))
        return ("\n".join(lines) + "\n").encode()


# ---------------------------------------------------------------------------
# Application payloads
# ---------------------------------------------------------------------------

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:123.0) Gecko/20100101 Firefox/123.0"


def http_request(method, path, host, body=b"", ctype=None):
    h = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % host, "User-Agent: %s" % USER_AGENT,
         "Accept: */*"]
    if body or method == "POST":
        h.append("Content-Type: %s" % (ctype or "application/octet-stream"))
        h.append("Content-Length: %d" % len(body))
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body


def http_response(status, body=b"", ctype="text/html; charset=utf-8"):
    h = ["HTTP/1.1 %s" % status, "Date: Fri, 01 Mar 2024 09:00:00 GMT", "Server: nginx",
         "Content-Type: %s" % ctype, "Content-Length: %d" % len(body)]
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body


LOREM = ("Network sensors read packets, rebuild streams and look for patterns. This page is "
         "filler text for a test capture and holds no personal data of any kind. ")


def html_page(title, paragraphs):
    body = "".join("<p>%s</p>\n" % (LOREM * (1 + i % 3)) for i in range(paragraphs))
    return ("<!DOCTYPE html>\n<html><head><title>%s</title></head>\n<body>\n<h1>%s</h1>\n%s</body></html>\n"
            % (title, title, body)).encode()


class Ports:
    """Ephemeral client ports handed out in order."""

    def __init__(self, first=49152):
        self.n = first

    def take(self):
        self.n += 1
        return self.n


def http_exchange(cap, rng, ports, cli, srv, sport, request, response, mss=1448, cuts=None):
    s = TcpSession(cap, rng, cli, ports.take(), srv, sport, mss=mss)
    s.handshake()
    s.send("c", request, cuts=cuts)
    s.send("s", response)
    s.close()
    cap.tick(200000)
    return s


def benign_browsing(cap, rng, ports, cli="10.1.2.3"):
    pages = [("203.0.113.10", "www.example.com", "/", 6), ("203.0.113.10", "www.example.com", "/about", 2),
             ("198.51.100.20", "news.example.org", "/today", 4)]
    for srv, host, path, paras in pages:
        http_exchange(cap, rng, ports, cli, srv, 80, http_request("GET", path, host),
                      http_response("200 OK", html_page(host + path, paras)))
    http_exchange(cap, rng, ports, cli, "203.0.113.10", 80, http_request("GET", "/style.css", "www.example.com"),
                  http_response("200 OK", b"body { font-family: sans-serif; margin: 2em; }\n", "text/css"))


def post_csv(cap, rng, ports, cli, srv, body, host="upload.example.net", path="/api/import", mss=1448,
             cuts=None, sport=80):
    req = http_request("POST", path, host, body, "text/csv")
    if cuts is not None:
        off = len(req) - len(body)
        cuts = [off + c for c in cuts]
    http_exchange(cap, rng, ports, cli, srv, sport, req,
                  http_response("201 Created", b'{"status":"ok"}\n', "application/json"), mss=mss, cuts=cuts)


# ---------------------------------------------------------------------------
# The captures
# ---------------------------------------------------------------------------


def demo_capture():
    rng = random.Random("leakwatch-demo")
    cap = Capture()
    ports = Ports()
    benign_browsing(cap, rng, ports)
    body = Fake("leakwatch-demo-records").rows(40, ["name", "email", "phone", "card"])
    post_csv(cap, rng, ports, "10.1.2.3", "203.0.113.50", body)
    http_exchange(cap, rng, ports, "10.1.2.3", "198.51.100.20", 80, http_request("GET", "/", "news.example.org"),
                  http_response("200 OK", html_page("news.example.org", 3)))
    return cap


def post_records_capture(link=link_ethernet, cli="10.1.2.3", srv="203.0.113.50", mss=1448,
                         seed="leakwatch-http-post-records"):
    rng = random.Random(seed + "-tcp")
    cap = Capture(link=link)
    ports = Ports()
    body = Fake(seed).rows(30, ["name", "email", "phone", "card", "ssn"])
    post_csv(cap, rng, ports, cli, srv, body, mss=mss)
    return cap


def server_inside_answers():
    rng = random.Random("leakwatch-server-inside")
    cap = Capture()
    body = Fake("leakwatch-server-inside-records").rows(50, ["name", "email", "phone", "iban"])
    http_exchange(cap, rng, Ports(51000), "198.51.100.7", "10.9.9.9", 8080,
                  http_request("GET", "/export?format=csv", "crm.internal.example.com"),
                  http_response("200 OK", body, "text/csv"))
    return cap


def bulk_upload(name, cli, srv):
    rng = random.Random("leakwatch-%s" % name)
    cap = Capture()
    body = Fake("leakwatch-%s-records" % name).rows(100, ["name", "email", "phone", "card", "ssn"])
    post_csv(cap, rng, Ports(), cli, srv, body, host="files.internal.example.com", path="/upload")
    return cap


def smtp_capture():
    rng = random.Random("leakwatch-smtp")
    cap = Capture()
    f = Fake("leakwatch-smtp-values")
    sender, rcpt, cc = f.email(f.name()), f.email(f.name()), f.email(f.name())
    phone = f.phone()
    s = TcpSession(cap, rng, "10.1.2.3", 49500, "203.0.113.25", 25)
    s.handshake()
    script = [
        ("s", "220 mail.example.net ESMTP ready\r\n"),
        ("c", "EHLO ws-0123.corp.example.com\r\n"),
        ("s", "250-mail.example.net Hello\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n250 HELP\r\n"),
        ("c", "MAIL FROM:<%s>\r\n" % sender),
        ("s", "250 2.1.0 Ok\r\n"),
        ("c", "RCPT TO:<%s>\r\n" % rcpt),
        ("s", "250 2.1.5 Ok\r\n"),
        ("c", "DATA\r\n"),
        ("s", "354 End data with <CR><LF>.<CR><LF>\r\n"),
        ("c", "From: <%s>\r\nTo: <%s>\r\nSubject: Lunch on Friday\r\n"
              "Date: Fri, 01 Mar 2024 09:00:00 +0000\r\nMessage-ID: <lunch-0001@corp>\r\n\r\n"
              "Hi,\r\n\r\nFriday works for me. I have also invited %s.\r\n"
              "If anything changes call me on %s.\r\n\r\nThanks\r\n.\r\n" % (sender, rcpt, cc, phone)),
        ("s", "250 2.0.0 Ok: queued as 4F2A1C0D\r\n"),
        ("c", "QUIT\r\n"),
        ("s", "221 2.0.0 Bye\r\n"),
    ]
    for d, text in script:
        s.send(d, text.encode())
    s.close()
    return cap


def repeated_values_capture():
    rng = random.Random("leakwatch-repeated")
    cap = Capture()
    f = Fake("leakwatch-repeated-values")
    emails = [f.email(f.name()) for _ in range(3)]
    body = "".join("%s\n" % emails[i % 3] for i in range(5000)).encode()
    post_csv(cap, rng, Ports(), "10.1.2.3", "203.0.113.50", body, path="/api/subscribers")
    return cap


def numeric_noise_body(rng):
    def digits(n):
        return "".join(str(rng.randrange(10)) for _ in range(n))

    lines = []
    for i in range(25):
        t = T0_S + rng.randrange(0, 86400 * 30)
        while True:
            ms = "%d%03d" % (t, rng.randrange(1000))
            if not luhn_ok(ms):  # 13 digits: keep clear of any Luhn-only signature
                break
        lines.append("ts=%d ts_ms=%s" % (t, ms))
        lines.append("date=2024-%02d-%02d time=%02d:%02d:%02d iso=2024-03-01T%02d:%02d:%02d.%06dZ" % (
            rng.randrange(1, 13), rng.randrange(1, 29), rng.randrange(24), rng.randrange(60), rng.randrange(60),
            rng.randrange(24), rng.randrange(60), rng.randrange(60), rng.randrange(1000000)))
        while True:
            oid = str(rng.randrange(1, 10)) + digits(15)
            if not luhn_ok(oid):
                break
        lines.append("order_id=%s" % oid)
        while True:
            grouped = "4" + digits(15)
            if not luhn_ok(grouped):
                break
        lines.append("ref=%s %s %s %s" % (grouped[0:4], grouped[4:8], grouped[8:12], grouped[12:16]))
        lines.append("uuid=%08x-%04x-4%03x-%04x-%012x" % (rng.getrandbits(32), rng.getrandbits(16),
                                                          rng.getrandbits(12), 0x8000 | rng.getrandbits(14),
                                                          rng.getrandbits(48)))
        lines.append("version=%d.%d.%d.%d" % (rng.randrange(1, 20), rng.randrange(10), rng.randrange(10),
                                              rng.randrange(1000, 10000)))
        lines.append("client=%d.%d.%d.%d" % (rng.randrange(1, 224), rng.randrange(256), rng.randrange(256),
                                             rng.randrange(1, 255)))
        lines.append("account=%s" % (str(rng.randrange(1, 10)) + digits(8)))
        lines.append("ssn_like=000-%02d-%04d" % (rng.randrange(1, 100), rng.randrange(1, 10000)))
        lines.append("ssn_like=666-%02d-%04d" % (rng.randrange(1, 100), rng.randrange(1, 10000)))
        lines.append("ssn_like=%d-%02d-%04d" % (rng.randrange(900, 1000), rng.randrange(1, 100),
                                               rng.randrange(1, 10000)))
        lines.append("ssn_like=%03d-00-%04d" % (rng.randrange(1, 666), rng.randrange(1, 10000)))
        lines.append("ssn_like=%03d-%02d-0000" % (rng.randrange(1, 666), rng.randrange(1, 100)))
        n11 = rng.choice([211, 311, 411, 511, 611, 711, 811, 911])
        lines.append("tel_like=(%d) 555-%04d" % (n11, rng.randrange(100, 200)))
        lines.append("tel_like=(555) %d%02d-%04d" % (rng.randrange(2, 10), rng.randrange(100),
                                                     rng.randrange(10000)))
        lines.append("tel_like=(%d%02d) %d%02d-%04d" % (rng.randrange(0, 2), rng.randrange(100),
                                                        rng.randrange(2, 10), rng.randrange(100),
                                                        rng.randrange(10000)))
        lines.append("tel_like=%d-%d%02d-%04d" % (rng.choice(AREA_CODES), rng.randrange(0, 2),
                                                  rng.randrange(100), rng.randrange(10000)))
        bban = digits(18)
        good = iban_check("DE", bban)
        bad = "%02d" % ((int(good) + 1 + rng.randrange(90)) % 97 + 2)
        if bad == good:
            bad = "%02d" % ((int(good) + 1) % 97 + 2)
        lines.append("iban_like=DE%s%s" % (bad, bban))
        while True:
            hx = "%040x" % rng.getrandbits(160)
            if not re.search(r"[0-9]{8}", hx):
                break
        lines.append("sha1=%s" % hx)
    return ("\n".join(lines) + "\n").encode()


def numeric_noise_capture():
    rng = random.Random("leakwatch-numeric-noise")
    cap = Capture()
    body = numeric_noise_body(random.Random("leakwatch-numeric-noise-body"))
    req = http_request("POST", "/metrics/ingest", "telemetry.example.net", body, "text/plain")
    http_exchange(cap, rng, Ports(), "10.1.2.3", "203.0.113.60", 80, req,
                  http_response("200 OK", b"ok\n", "text/plain"))
    return cap


def tls_record(ctype, payload, version=b"\x03\x03"):
    return bytes([ctype]) + version + struct.pack("!H", len(payload)) + payload


def tls_capture():
    rng = random.Random("leakwatch-tls")
    data = random.Random("leakwatch-tls-bytes")
    cap = Capture()
    s = TcpSession(cap, rng, "10.1.2.3", 50443, "203.0.113.80", 443)
    s.handshake()
    hello = b"\x01" + struct.pack("!I", 508)[1:] + b"\x03\x03" + data.randbytes(506)
    s.send("c", tls_record(22, hello, b"\x03\x01"))
    server_hello = b"\x02" + struct.pack("!I", 118)[1:] + b"\x03\x03" + data.randbytes(116)
    s.send("s", tls_record(22, server_hello) + tls_record(20, b"\x01") + tls_record(23, data.randbytes(3000)))
    s.send("c", tls_record(20, b"\x01") + tls_record(23, data.randbytes(80)))
    upload = b"".join(tls_record(23, data.randbytes(16384)) for _ in range(9))
    s.send("c", upload)
    s.send("s", tls_record(23, data.randbytes(4000)))
    s.close()
    return cap


def random_bytes_look_clean(cap):
    """The seeded random bytes must not happen to contain PII-shaped text."""
    blob = b"".join(f for _, f, _ in cap.records)
    assert not re.search(rb"[0-9]{9}", blob), "digit run in random bytes"
    assert not re.search(rb"[A-Za-z0-9._%+-]@[A-Za-z0-9-]+\.[A-Za-z]{2}", blob), "email-like text in random bytes"


def malformed_frames(rng, cli, srv):
    """Frames that each exercise one decoder error; hosts as in the leak, ports not."""
    c, s = ip4(cli), ip4(srv)
    eth = mac_for(s) + mac_for(c)
    ids = IpIds()
    frames = []  # (frame, wire_len)

    def ip_frame(ip):
        return eth + struct.pack("!H", ETH_IPV4) + ip

    seg = tcp_segment(c, s, 40001, 80, 1, 0, TCP_SYN)
    # 1. Ethernet header cut short (10 of 14 bytes).
    frames.append((eth[:10], 10))
    # 2. IPv4 IHL 3 (< 5).
    frames.append((ip_frame(ipv4_header(c, s, PROTO_TCP, len(seg), ids.take(c), ihl=3) + seg), None))
    # 3. IPv4 IHL 15 (60 bytes) but total length 40.
    hdr = ipv4_header(c, s, PROTO_TCP, 20, ids.take(c), ihl=15, total_len=40)
    frames.append((ip_frame(hdr + seg), None))
    # 4. IPv4 total length 1500 in a 74-byte frame that was captured whole.
    frames.append((ip_frame(ipv4_header(c, s, PROTO_TCP, 0, ids.take(c), total_len=1500) + seg + b"\0" * 20),
                   None))
    # 5. A frame the capture cut: wire length 1514, 74 bytes captured.
    big = tcp_segment(c, s, 40002, 80, 1, 1, TCP_ACK, b"x" * 1460)
    full = ip_frame(ipv4_header(c, s, PROTO_TCP, len(big), ids.take(c)) + big)
    frames.append((full[:74], len(full)))
    # 6. TCP data offset 15 (60 bytes) in a 20-byte segment.
    bad = bytearray(tcp_segment(c, s, 40003, 80, 1, 0, TCP_SYN))
    bad[12] = 15 << 4
    frames.append((ip_frame(ipv4_header(c, s, PROTO_TCP, len(bad), ids.take(c)) + bytes(bad)), None))
    # 7. TCP data offset 2 (< 5).
    bad = bytearray(tcp_segment(c, s, 40004, 80, 1, 0, TCP_SYN))
    bad[12] = 2 << 4
    frames.append((ip_frame(ipv4_header(c, s, PROTO_TCP, len(bad), ids.take(c)) + bytes(bad)), None))
    # 8. UDP length 200 in a 28-byte datagram; 9. UDP length 4 (< 8).
    for ulen in (200, 4):
        u = bytearray(udp_datagram(c, s, 40005, 53, b"\x12\x34" + b"\0" * 18))
        u[4:6] = struct.pack("!H", ulen)
        frames.append((ip_frame(ipv4_header(c, s, PROTO_UDP, len(u), ids.take(c)) + bytes(u)), None))
    # 10. IPv6 with 100 destination-options headers (8 bytes each, PadN 4), then UDP.
    v6c, v6s = ip6("fd00::10"), ip6("2001:db8::50")
    u6 = udp_datagram(v6c, v6s, 40006, 53, b"\0" * 12)
    chain = b"".join(struct.pack("!BB", 60 if i < 99 else PROTO_UDP, 0) + b"\x01\x04\0\0\0\0" for i in range(100))
    v6 = ipv6_header(v6c, v6s, 60, len(chain) + len(u6)) + chain + u6
    frames.append((mac_for(v6s) + mac_for(v6c) + struct.pack("!H", ETH_IPV6) + v6, None))
    # 11. IPv6 where hop-by-hop options follow a destination-options header, repeatedly.
    chain = b"".join(struct.pack("!BB", 0 if i % 2 == 0 else 60, 0) + b"\x01\x04\0\0\0\0" for i in range(40))
    chain = chain[:-8] + struct.pack("!BB", PROTO_UDP, 0) + b"\x01\x04\0\0\0\0"
    v6 = ipv6_header(v6c, v6s, 60, len(chain) + len(u6)) + chain + u6
    frames.append((mac_for(v6s) + mac_for(v6c) + struct.pack("!H", ETH_IPV6) + v6, None))
    # 12. IPv6 hop-by-hop header claiming 2048 bytes in a short packet.
    hbh = struct.pack("!BB", PROTO_UDP, 255) + b"\x01\x04\0\0\0\0"
    v6 = ipv6_header(v6c, v6s, 0, len(hbh) + len(u6)) + hbh + u6
    frames.append((mac_for(v6s) + mac_for(v6c) + struct.pack("!H", ETH_IPV6) + v6, None))
    # 13. Zero-length frames: nothing captured of an empty and of a 60-byte frame.
    frames.append((b"", 0))
    frames.append((b"", 60))
    # 14. Seeded garbage, some behind an IPv4/IPv6/VLAN EtherType.
    for i in range(16):
        n = rng.randrange(1, 200)
        g = bytearray(rng.randbytes(n))
        if n > 14 and i % 4:
            g[12:14] = struct.pack("!H", [ETH_IPV4, ETH_IPV6, ETH_VLAN][i % 4 - 1])
        if n > 34 and i % 8 == 1:
            g[14] = 0x45  # a plausible IPv4 header start over random lengths and addresses
            g[23] = PROTO_TCP
        frames.append((bytes(g), None))
    return frames


def malformed_capture():
    leak = post_records_capture(seed="leakwatch-malformed")
    rng = random.Random("leakwatch-malformed-frames")
    bad = malformed_frames(rng, "10.1.2.3", "203.0.113.50")
    cap = Capture()
    bi = 0
    for i, (ts, frame, wire) in enumerate(leak.records):
        # Two bad frames before every good packet (while they last), placed 100 us
        # earlier so time still only moves forward.
        for _ in range(2):
            if bi < len(bad):
                f, w = bad[bi]
                cap.records.append((ts - 200 + 50 * (bi % 2), f, len(f) if w is None else w))
                bi += 1
        cap.records.append((ts, frame, wire))
    while bi < len(bad):
        f, w = bad[bi]
        ts = cap.records[-1][0] + STEP_US
        cap.records.append((ts, f, len(f) if w is None else w))
        bi += 1
    return cap


def split_segments_capture():
    rng = random.Random("leakwatch-split")
    cap = Capture()
    f = Fake("leakwatch-split-records")
    text = "name,email,card\n"
    cuts = []
    for _ in range(25):
        nm = f.name()
        em, cd = f.email(nm), f.card()
        text += nm + ","
        cuts.append(len(text) + len(em) // 2)
        text += em + ","
        cuts.append(len(text) + len(cd) // 2)
        text += cd + "\n"
    post_csv(cap, rng, Ports(), "10.1.2.3", "203.0.113.50", text.encode(), cuts=cuts)
    return cap


def small_email_leak(linktype, link, seed="leakwatch-linktypes"):
    rng = random.Random(seed + "-tcp")
    cap = Capture(linktype=linktype, link=link)
    f = Fake(seed)
    body = "".join("%s\n" % f.email(f.name()) for _ in range(25)).encode()
    post_csv(cap, rng, Ports(), "10.1.2.3", "203.0.113.50", body, path="/newsletter/import")
    return cap


def cooldown_three_posts_capture():
    """Three 25-email POSTs from one inside host to one outside host at 0 s, 10 s and
    100 s: the second lands in the first alert's cool-down, the third after it."""
    rng = random.Random("leakwatch-cooldown")
    cap = Capture()
    ports = Ports()
    f = Fake("leakwatch-cooldown-records")  # one generator: all 75 emails distinct
    for start_s in (0, 10, 100):
        cap.at(start_s * 1000000)
        body = "".join("%s\n" % f.email(f.name()) for _ in range(25)).encode()
        post_csv(cap, rng, ports, "10.1.2.3", "203.0.113.50", body, path="/crm/contacts/import")
    return cap


def udp_syslog_capture():
    """30 RFC 3164-style syslog lines over UDP, one email and one phone each."""
    cap = Capture()
    f = Fake("leakwatch-udp-syslog-records")
    cli, srv = ip4("10.1.2.3"), ip4("203.0.113.9")
    for i in range(30):
        nm = f.name()
        em, ph = f.email(nm), f.phone()
        step = STEP_US if i == 0 else 100000  # datagrams exactly 100 ms apart
        secs = (cap.now_us + step) // 1000000 - T0_S
        line = "<134>Mar  1 09:%02d:%02d crm-app01 crm[2417]: customer updated email=%s phone=%s\n" % (
            secs // 60, secs % 60, em, ph)
        dg = udp_datagram(cli, srv, 5514, 514, line.encode())
        cap.add_ip(ip_packet(cap.ids, cli, srv, PROTO_UDP, dg), step=step)
    return cap


def slow_drip_capture():
    """40 small POSTs, 10 s apart, one distinct email each."""
    rng = random.Random("leakwatch-slow-drip")
    cap = Capture()
    ports = Ports()
    f = Fake("leakwatch-slow-drip-records")
    for i in range(40):
        cap.at(i * 10 * 1000000)
        body = ('{"email":"%s"}\n' % f.email(f.name())).encode()
        req = http_request("POST", "/api/subscribe", "forms.example.net", body, "application/json")
        http_exchange(cap, rng, ports, "10.1.2.3", "203.0.113.70", 80, req,
                      http_response("200 OK", b'{"status":"ok"}\n', "application/json"))
    return cap


def two_destinations_capture():
    """Two POST connections from one inside host to two outside hosts whose body
    segments alternate, 15 distinct emails each (30 distinct in all)."""
    rng = random.Random("leakwatch-two-destinations")
    cap = Capture()
    ports = Ports()
    f = Fake("leakwatch-two-destinations-records")
    dests = ["203.0.113.50", "198.51.100.60"]
    sessions, bodies = [], []
    for srv in dests:
        lines = ["%s\n" % f.email(f.name()) for _ in range(15)]
        s = TcpSession(cap, rng, "10.1.2.3", ports.take(), srv, 80)
        s.handshake()
        sessions.append(s)
        bodies.append(lines)
    for s, lines in zip(sessions, bodies):
        body = "".join(lines).encode()
        req = http_request("POST", "/import", "sync.example.net", body, "text/plain")
        s.send("c", req[:len(req) - len(body)])
    for i in range(15):  # one email per segment, the two connections in turn
        for s, lines in zip(sessions, bodies):
            s.send("c", lines[i].encode())
    for s in sessions:
        s.send("s", http_response("201 Created", b'{"status":"ok"}\n', "application/json"))
        s.close()
    return cap


# ---------------------------------------------------------------------------
# Reassembly captures: out-of-order TCP, overlaps, holes, IP fragments
# ---------------------------------------------------------------------------


def contiguous_end(have, start=0):
    """The end of the run of byte ranges in `have` ({start: end}) that begins at start."""
    end = start
    while end in have:
        end = have[end]
    return end


def tcp_shuffled_csv_capture():
    """A raw-TCP CSV upload cut into 5..9-byte segments sent in a shuffled order
    (each segment at most ~20 places from its own), ~15% of them sent twice."""
    rng = random.Random("leakwatch-tcp-shuffled")
    cap = Capture()
    body = Fake("leakwatch-tcp-shuffled-records").rows(40, ["name", "email", "phone", "card"])
    s = TcpSession(cap, rng, "10.1.2.3", 49153, "203.0.113.70", 9000)
    s.handshake()
    segs, off = [], 0
    while off < len(body):
        n = rng.randrange(5, 10)
        segs.append((off, min(off + n, len(body))))
        off += n
    # Sliding-window shuffle: sort on index + U(0, 20), so no segment moves more
    # than 20 places; then a retransmission of ~15% of them 3..30 places later.
    order = sorted(range(len(segs)), key=lambda i: (i + rng.uniform(0, 20), i))
    keyed = []
    for pos, i in enumerate(order):
        keyed.append((pos, 0, i))
        if rng.random() < 0.15:
            keyed.append((pos + rng.randrange(3, 31), 1, i))
    keyed.sort()
    have, acked, sent = {}, 0, 0
    for _, _, i in keyed:
        a, b = segs[i]
        s.emit_at("c", a, body[a:b], step=200)
        have[a] = b
        sent += 1
        # The server acknowledges what it holds in order, every fourth segment.
        if sent % 4 == 0:
            end = contiguous_end(have)
            if end > acked:
                s.ack_at("c", end, step=100)
                acked = end
    assert contiguous_end(have) == len(body)
    s.ack_at("c", len(body))
    s.advance("c", len(body))
    s.close()
    return cap


def csv_values(body, row_from=1):
    """(kind, start, end) of every email, phone and card cell of a name,email,phone,card
    CSV (header row skipped)."""
    out, pos = [], 0
    for no, line in enumerate(body.split(b"\n")):
        cells, cpos = line.split(b","), pos
        if no >= row_from and len(cells) == 4:
            for k, cell in enumerate(cells):
                if k:
                    out.append((("email", "phone", "card")[k - 1], cpos, cpos + len(cell)))
                cpos += len(cell) + 1
        pos += len(line) + 1
    return out


def tcp_overlap_evasion_capture():
    """An HTTP POST whose fifth body segment comes early, then again with other bytes
    (junk of the same length), before the missing fourth segment."""
    rng = random.Random("leakwatch-tcp-overlap")
    cap = Capture()
    body = Fake("leakwatch-tcp-overlap-records").rows(30, ["name", "email", "phone"])
    req = http_request("POST", "/api/import", "upload.example.net", body, "text/csv")
    s = TcpSession(cap, rng, "10.1.2.3", 49153, "198.51.100.80", 80)
    s.handshake()
    size = 256
    segs = [(a, min(a + size, len(req))) for a in range(0, len(req), size)]
    hole, early = 3, 4

    def junk(b):  # the same length and CSV shape, no value left
        return bytes(c if c in b",\n" else ord("x") for c in b)

    plan = [(i, False) for i in range(hole)] + [(early, False), (early, True), (hole, False)]
    plan += [(i, False) for i in range(early + 1, len(segs))]
    have, acked = {}, 0
    for i, is_junk in plan:
        a, b = segs[i]
        piece = req[a:b]
        s.emit_at("c", a, junk(piece) if is_junk else piece)
        if not is_junk:
            have[a] = b
        end = contiguous_end(have)
        s.ack_at("c", end)  # duplicate ACKs while the hole is open, as a receiver sends
        acked = end
    assert acked == len(req)
    s.advance("c", len(req))
    s.send("s", http_response("201 Created", b'{"status":"ok"}\n', "application/json"))
    s.close()
    return cap


def overlap_evasion_truth():
    """(values in the POST, values with a byte in segment 4, the one sent twice)."""
    body = Fake("leakwatch-tcp-overlap-records").rows(30, ["name", "email", "phone"])
    req = http_request("POST", "/api/import", "upload.example.net", body, "text/csv")
    off = len(req) - len(body)
    a, b = 4 * 256 - off, 5 * 256 - off
    vals = []
    pos = 0
    for no, line in enumerate(body.split(b"\n")):
        cells = line.split(b",")
        if no and len(cells) == 3:
            e0 = pos + len(cells[0]) + 1
            p0 = e0 + len(cells[1]) + 1
            vals += [(e0, e0 + len(cells[1])), (p0, p0 + len(cells[2]))]
        pos += len(line) + 1
    return len(vals), sum(1 for x, y in vals if x < b and y > a)


def gap_acked_layout():
    """The body of tcp_gap_acked and the hole [a, b): from the middle of the card of
    row i to the middle of the card of row j, j chosen so that the two halves
    joined would be a Luhn-valid card - a sensor that stitched across the hole
    would count one value too many. Returns (body, a, b, lost)."""
    body = Fake("leakwatch-tcp-gap-records").rows(40, ["name", "email", "phone", "card"])
    cards = [(st, en) for kind, st, en in csv_values(body) if kind == "card"]
    i = 15
    ci = body[cards[i][0]:cards[i][1]].decode()
    for j in range(i + 4, i + 11):
        cj = body[cards[j][0]:cards[j][1]].decode()
        if luhn_ok(ci[:8] + cj[8:]):
            break
    else:
        raise RuntimeError("no row gives a Luhn-valid stitched card")
    a, b = cards[i][0] + 8, cards[j][0] + 8
    lost = sum(1 for _, st, en in csv_values(body) if st < b and en > a)
    assert lost == 3 * (j - i) + 1
    return body, a, b, lost


def tcp_gap_acked_capture():
    """A raw-TCP CSV upload from which one segment is missing; the server's ACKs
    (it did get the segment) acknowledge past the hole."""
    rng = random.Random("leakwatch-tcp-gap")
    cap = Capture()
    body, a, b, _ = gap_acked_layout()
    cuts = sorted({c for c in range(300, len(body), 300) if not a <= c <= b} | {a, b})
    bounds = [0] + cuts + [len(body)]
    s = TcpSession(cap, rng, "10.1.2.3", 49153, "203.0.113.72", 9000)
    s.handshake()
    for k in range(len(bounds) - 1):
        st, en = bounds[k], bounds[k + 1]
        if st != a:  # the segment [a, b) is not in the capture
            s.emit_at("c", st, body[st:en])
        if k % 2 == 1 or en == len(body):
            s.ack_at("c", en)
    s.advance("c", len(body))
    s.close()
    return cap


FILLER = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "


def filler(n):
    return (FILLER * (n // len(FILLER) + 1))[:n]


def fragmented_body(f, rng, size, cuts, first_seq):
    """`size` bytes of audit-log lines, 40 of them with one distinct email each;
    for each offset in cuts (a fragment boundary inside the payload), one email
    is placed across it. Returns (bytes, emails)."""
    out, emails, todo = "", [], sorted(cuts)
    for n in range(40):
        em = f.email(f.name())
        head = "seq=%04d action=export note=" % (first_seq + n)
        pad = rng.randrange(5, 30)
        if todo and todo[0] - len(out) < 200:
            # Put the middle of this email on the cut.
            pad = todo.pop(0) - len(out) - len(head) - len(" user=") - len(em) // 2
            assert pad >= 0
        out += "%s%s user=%s\n" % (head, filler(pad), em)
        emails.append(em)
    assert not todo and len(out) < size - 20
    tail = "# end of batch "
    out += tail + filler(size - len(out) - len(tail) - 1) + "\n"
    assert len(out) == size
    return out.encode(), emails


def ipv4_fragment(src, dst, proto, ident, off, more, data):
    flags = (0x2000 if more else 0) | (off // 8)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(data), ident, flags, 64, proto, 0, src, dst)
    return hdr[:10] + struct.pack("!H", inet_sum(hdr)) + hdr[12:] + data


def ipv6_fragment(src, dst, proto, ident, off, more, data, destopts=False):
    frag = struct.pack("!BBHI", proto, 0, off | (1 if more else 0), ident)
    ext, first = frag, 44
    if destopts:  # a destination-options header (PadN) in front, per RFC 8200 4.1
        ext, first = struct.pack("!BB", 44, 0) + b"\x01\x04\0\0\0\0" + frag, 60
    return ipv6_header(src, dst, first, len(ext) + len(data)) + ext + data


# Fragment order of each of the 10 datagrams; "3/4" interleaves datagram 3 with 4.
FRAG_ORDERS = [[0, 1, 2], [2, 1, 0], [0, 1, 2], None, None, [2, 1, 0], [1, 0, 2], [0, 1, 2], [2, 1, 0], [2, 0, 1]]
FRAG_INTERLEAVE_3_4 = [(3, 0), (4, 2), (3, 1), (4, 1), (3, 2), (4, 0)]


def fragmented_capture(v6):
    """10 UDP datagrams of 4,000 payload bytes, each fragmented in three; see the
    description at the top. Returns (capture, distinct emails)."""
    name = "ipv6" if v6 else "udp"
    rng = random.Random("leakwatch-%s-fragmented" % name)
    f = Fake("leakwatch-%s-fragmented-records" % name)
    cap = Capture()
    cli, srv = (ip6("fd00::10"), ip6("2001:db8::70")) if v6 else (ip4("10.1.2.3"), ip4("203.0.113.90"))
    chunk = 1448 if v6 else 1480  # fragment data per fragment: 1500-byte MTU
    frags, emails = {}, []
    for d in range(10):
        # Fragment boundaries fall at chunk, 2*chunk of the UDP datagram, so at
        # chunk - 8 and 2*chunk - 8 of its payload.
        payload, ems = fragmented_body(f, rng, 4000, [chunk - 8, 2 * chunk - 8], d * 40)
        emails += ems
        dg = udp_datagram(cli, srv, 40514, 6514, payload)
        pieces = [(o, dg[o:o + chunk]) for o in range(0, len(dg), chunk)]
        assert len(pieces) == 3
        ident = (0x5A000000 + d) if v6 else cap.ids.take(cli)
        out = []
        for k, (o, data) in enumerate(pieces):
            more = k < len(pieces) - 1
            if v6:
                out.append(ipv6_fragment(cli, srv, PROTO_UDP, ident, o, more, data, destopts=(d == 6)))
            else:
                out.append(ipv4_fragment(cli, srv, PROTO_UDP, ident, o, more, data))
        frags[d] = out
    for d in range(10):
        if d == 3:
            for dd, k in FRAG_INTERLEAVE_3_4:
                cap.add_ip(frags[dd][k])
        elif d != 4:
            for k in FRAG_ORDERS[d]:
                cap.add_ip(frags[d][k])
    assert len(set(emails)) == 400
    return cap, len(set(emails))


# ---------------------------------------------------------------------------
# Application-decoding captures: values that only appear once the content is
# decoded as its receiver decodes it (percent-encoding, chunked + gzip, JSON
# escapes, MIME base64, DNS label encodings, an FTP data connection), and a
# decompression bomb.
# ---------------------------------------------------------------------------


class BitWriter:
    """DEFLATE bit packing (RFC 1951 section 3.1.1): data elements are packed
    from the least significant bit up, Huffman codes most significant bit first."""

    def __init__(self):
        self.out = bytearray()
        self.acc = 0
        self.n = 0

    def bits(self, value, count):
        self.acc |= value << self.n
        self.n += count
        while self.n >= 8:
            self.out.append(self.acc & 0xFF)
            self.acc >>= 8
            self.n -= 8

    def huff(self, code, length):
        rev = 0
        for _ in range(length):
            rev = (rev << 1) | (code & 1)
            code >>= 1
        self.bits(rev, length)

    def finish(self):
        if self.n:
            self.out.append(self.acc & 0xFF)
        self.acc, self.n = 0, 0
        return bytes(self.out)


# RFC 1951 section 3.2.5: length codes 257..285 and distance codes 0..29.
DEFLATE_LEN_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115,
                    131, 163, 195, 227, 258]
DEFLATE_LEN_EXTRA = [0] * 8 + [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4 + [0]
DEFLATE_DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
                     2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
DEFLATE_DIST_EXTRA = [0, 0, 0, 0] + [k for k in range(1, 14) for _ in range(2)]
# The order in which a dynamic block sends the code-length code's lengths (3.2.7).
DEFLATE_CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]


def fixed_litlen(w, sym):
    """One literal/length symbol in the fixed Huffman code (RFC 1951 3.2.6)."""
    if sym < 144:
        w.huff(0x30 + sym, 8)
    elif sym < 256:
        w.huff(0x190 + sym - 144, 9)
    elif sym < 280:
        w.huff(sym - 256, 7)
    else:
        w.huff(0xC0 + sym - 280, 8)


def deflate_fixed(data):
    """Raw DEFLATE, one fixed-Huffman block, greedy LZ77 over a 32 KiB window.
    Written here rather than taken from zlib so that the bytes are the same
    whichever zlib (or zlib-ng) the machine has."""
    w = BitWriter()
    w.bits(1, 1)  # BFINAL
    w.bits(1, 2)  # BTYPE 01: fixed Huffman codes
    heads = {}

    def remember(k):
        if k + 3 <= len(data):
            lst = heads.setdefault(data[k:k + 3], [])
            lst.append(k)
            if len(lst) > 16:
                del lst[0]

    i = 0
    while i < len(data):
        best, dist = 0, 0
        for j in reversed(heads.get(data[i:i + 3], [])):
            if i - j > 32768:
                break
            n = 3
            while n < 258 and i + n < len(data) and data[j + n] == data[i + n]:
                n += 1
            if n > best:
                best, dist = n, i - j
        if best >= 3:
            c = max(k for k in range(29) if DEFLATE_LEN_BASE[k] <= best)
            fixed_litlen(w, 257 + c)
            w.bits(best - DEFLATE_LEN_BASE[c], DEFLATE_LEN_EXTRA[c])
            d = max(k for k in range(30) if DEFLATE_DIST_BASE[k] <= dist)
            w.huff(d, 5)
            w.bits(dist - DEFLATE_DIST_BASE[d], DEFLATE_DIST_EXTRA[d])
            for k in range(i, i + best):
                remember(k)
            i += best
        else:
            fixed_litlen(w, data[i])
            remember(i)
            i += 1
    fixed_litlen(w, 256)  # end of block
    return w.finish()


def gzip_wrap(deflated, crc, size, name=None):
    """RFC 1952 member: fixed mtime, OS 3 (Unix), optional FNAME."""
    flags = 0x08 if name else 0
    head = struct.pack("<BBBBIBB", 0x1F, 0x8B, 8, flags, T0_S, 0, 3)
    if name:
        head += name + b"\0"
    return head + deflated + struct.pack("<II", crc & 0xFFFFFFFF, size & 0xFFFFFFFF)


def gzip_fixed(data, name=None):
    return gzip_wrap(deflate_fixed(data), zlib.crc32(data), len(data), name)


def gzip_zero_bomb(size):
    """A gzip member that inflates to `size` zero bytes at DEFLATE's best ratio
    (about 1032:1): one dynamic block whose literal/length code has three
    symbols - literal 0 and end-of-block in 2 bits, length 258 in 1 bit - and a
    one-symbol distance code (distance 1, 1 bit), so each 258 bytes cost 2 bits."""
    w = BitWriter()
    w.bits(1, 1)  # BFINAL
    w.bits(2, 2)  # BTYPE 10: dynamic Huffman codes
    w.bits(286 - 257, 5)  # HLIT: literal/length codes 0..285
    w.bits(1 - 1, 5)  # HDIST: one distance code
    w.bits(18 - 4, 4)  # HCLEN: code-length code lengths sent up to symbol 1
    cl_len = {18: 1, 1: 2, 2: 2}  # canonical: 18 -> 0, 1 -> 10, 2 -> 11
    cl_code = {18: 0, 1: 2, 2: 3}
    for sym in DEFLATE_CL_ORDER[:18]:
        w.bits(cl_len.get(sym, 0), 3)

    def cl(sym, extra=None):
        w.huff(cl_code[sym], cl_len[sym])
        if sym == 18:
            w.bits(extra - 11, 7)

    # Lengths of literal/length symbols 0..285, then of distance code 0:
    # 0 -> 2, 1..255 -> 0, 256 -> 2, 257..284 -> 0, 285 -> 1; distance 0 -> 1.
    cl(2)
    cl(18, 138)
    cl(18, 117)
    cl(2)
    cl(18, 28)
    cl(1)
    cl(1)
    # Canonical codes: 285 -> 0, literal 0 -> 10, end-of-block -> 11; distance 0 -> 0.
    w.huff(2, 2)  # one literal zero, then copies of 258 at distance 1
    matches, rest = divmod(size - 1, 258)
    w.bits(0, 2 * matches)  # each copy: code 285 (bit 0), distance code 0 (bit 0)
    for _ in range(rest):
        w.huff(2, 2)
    w.huff(3, 2)  # end of block
    crc, chunk = 0, bytes(1 << 20)
    left = size
    while left:
        n = min(left, len(chunk))
        crc = zlib.crc32(chunk[:n], crc)
        left -= n
    return gzip_wrap(w.finish(), crc, size)


def http_request_headers(method, path, host, extra):
    h = ["%s %s HTTP/1.1" % (method, path), "Host: %s" % host, "User-Agent: %s" % USER_AGENT,
         "Accept: */*"] + extra
    return ("\r\n".join(h) + "\r\n\r\n").encode()


def grouped_card(card):
    return " ".join(card[k:k + 4] for k in range(0, len(card), 4))


def form_records(f, n):
    """n records as (name, email, phone, card) from Fake f."""
    out = []
    for _ in range(n):
        nm = f.name()
        out.append((nm, f.email(nm), f.phone(), f.card()))
    return out


def http_form_urlencoded_capture():
    """A form POST (application/x-www-form-urlencoded, WHATWG URL standard
    encoding: '@' as %40, spaces as '+', parentheses as %28/%29) of 100
    records; the card numbers are sent grouped in fours with %20 between."""
    rng = random.Random("leakwatch-http-form")
    recs = form_records(Fake("leakwatch-http-form-records"), 100)
    fields = []
    for i, (nm, em, ph, cd) in enumerate(recs):
        key = "customer[%d][%%s]" % i
        fields += ["%s=%s" % (urllib.parse.quote_plus(key % "name"), urllib.parse.quote_plus(nm)),
                   "%s=%s" % (urllib.parse.quote_plus(key % "email"), urllib.parse.quote_plus(em)),
                   "%s=%s" % (urllib.parse.quote_plus(key % "phone"), urllib.parse.quote_plus(ph)),
                   "%s=%s" % (urllib.parse.quote_plus(key % "card"), urllib.parse.quote(grouped_card(cd), safe=""))]
    body = "&".join(fields).encode()
    assert b"@" not in body and b"(" not in body and b" " not in body
    req = http_request("POST", "/crm/customers/bulk", "crm.example.net", body, "application/x-www-form-urlencoded")
    cap = Capture()
    http_exchange(cap, rng, Ports(), "10.1.2.3", "203.0.113.40", 80, req,
                  http_response("303 See Other", b"", "text/html; charset=utf-8"))
    return cap, recs


def chunked(data, rng):
    """RFC 9112 section 7.1 chunked coding of data: chunk sizes drawn from 1..700
    (hex in both cases, one chunk extension), the last chunk and one trailer
    field. Returns (bytes, offsets of every chunk-size line)."""
    out, lines, off, k = b"", [], 0, 0
    while off < len(data):
        n = min(len(data) - off, rng.choice([1, 2, 3, 17, 64, 255, 256, 300, 511, 700]))
        size = ("%x" if k % 2 else "%X") % n
        ext = ";part=%d" % k if k == 3 else ""
        lines.append(len(out))
        out += ("%s%s\r\n" % (size, ext)).encode() + data[off:off + n] + b"\r\n"
        off += n
        k += 1
    lines.append(len(out))
    out += b"0\r\nX-Upload-Batch: 2024-03-01-0007\r\n\r\n"
    return out, lines


def http_chunked_gzip_csv_capture():
    """A CSV POST with Content-Encoding: gzip and Transfer-Encoding: chunked;
    TCP segments end inside chunk-size lines, between CR and LF, inside the
    gzip header and between the two CRLFs that end the headers."""
    rng = random.Random("leakwatch-http-chunked-gzip")
    f = Fake("leakwatch-http-chunked-gzip-records")
    csv = f.rows(50, ["name", "email", "phone", "card"])
    gz = gzip_fixed(csv, b"customers.csv")
    assert zlib.decompress(gz, 31) == csv
    body, lines = chunked(gz, rng)
    head = http_request_headers("POST", "/api/v2/import", "ingest.example.net",
                                ["Content-Type: text/csv; charset=utf-8", "Content-Encoding: gzip",
                                 "Transfer-Encoding: chunked"])
    req = head + body
    base = len(head)
    cuts = {base - 1, base + lines[0] + 2 + 1, base + lines[0] + 2 + 5}  # mid-CRLF; size line; gzip header
    for k, p in enumerate(lines):
        cr = body.index(b"\r\n", p)
        cuts.add(base + p + 1)  # inside the size line (between hex digits, or before CR)
        if k % 3 == 0:
            cuts.add(base + cr + 1)  # between CR and LF
    pos = 0
    for c in sorted(cuts):  # keep every segment under the MSS with extra cuts
        while c - pos > 1400:
            pos += rng.randrange(700, 1400)
            cuts.add(pos)
        pos = c
    while len(req) - pos > 1400:
        pos += rng.randrange(700, 1400)
        cuts.add(pos)
    cap = Capture()
    http_exchange(cap, rng, Ports(), "10.1.2.3", "203.0.113.41", 80, req,
                  http_response("202 Accepted", b'{"status":"queued"}\n', "application/json"),
                  cuts=sorted(cuts))
    return cap, csv


def http_json_u0040_capture():
    """A JSON POST (over IPv6) whose emails are written with \\u0040 for '@' and
    half of whose phone numbers use \\u002d (or \\u002D) for '-'."""
    rng = random.Random("leakwatch-http-json-u0040")
    recs = form_records(Fake("leakwatch-http-json-u0040-records"), 30)
    objs = []
    for i, (nm, em, ph, _) in enumerate(recs):
        ph_json = ph.replace("-", "\\u002d" if i % 4 == 1 else "\\u002D") if i % 2 else ph
        objs.append('{"id":%d,"name":"%s","email":"%s","phone":"%s","opt_in":%s}' % (
            1000 + i, nm, em.replace("@", "\\u0040"), ph_json, "true" if i % 3 else "false"))
    body = ("[" + ",\n ".join(objs) + "]\n").encode()
    assert b"@" not in body
    req = http_request("POST", "/v1/contacts:batchImport", "api.example.org", body, "application/json")
    cap = Capture()
    http_exchange(cap, rng, Ports(), "fd00::10", "2001:db8::51", 80, req,
                  http_response("200 OK", b'{"imported":30}\n', "application/json"), mss=1428)
    return cap, recs


def smtp_base64_attachment_capture():
    """An SMTP session with two recipients whose message is multipart/mixed: a
    short text part and a base64 (76-character lines) text/csv attachment."""
    rng = random.Random("leakwatch-smtp-attachment")
    f = Fake("leakwatch-smtp-attachment-values")
    people = [f.name() for _ in range(3)]
    sender, rcpt1, rcpt2 = (f.email(nm) for nm in people)
    csv = f.rows(40, ["name", "email", "phone", "card"]).replace(b"\n", b"\r\n")
    b64 = base64.b64encode(csv).decode()
    b64_lines = [b64[k:k + 76] for k in range(0, len(b64), 76)]
    boundary = "=_lw_7f3a91c2_part"
    msg = "\r\n".join([
        "From: %s <%s>" % (people[0], sender),
        "To: %s <%s>, %s <%s>" % (people[1], rcpt1, people[2], rcpt2),
        "Subject: Customer export for March",
        "Date: Fri, 01 Mar 2024 09:00:00 +0000",
        "Message-ID: <export-0002@corp>",
        "MIME-Version: 1.0",
        'Content-Type: multipart/mixed; boundary="%s"' % boundary,
        "",
        "This is a multi-part message in MIME format.",
        "",
        "--" + boundary,
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 7bit",
        "",
        "Hi both,",
        "",
        "the export you asked for is attached.",
        "",
        "Regards",
        "",
        "--" + boundary,
        'Content-Type: text/csv; charset=utf-8; name="customers-2024-03.csv"',
        'Content-Disposition: attachment; filename="customers-2024-03.csv"',
        "Content-Transfer-Encoding: base64",
        "",
    ] + b64_lines + ["", "--" + boundary + "--", ""])
    assert all(len(x) == 76 for x in b64_lines[:-1]) and not any(x.startswith(".") for x in msg.split("\r\n"))
    cap = Capture()
    s = TcpSession(cap, rng, "10.1.2.3", 49501, "203.0.113.25", 25)
    s.handshake()
    script = [
        ("s", "220 mx.example.net ESMTP Postfix\r\n"),
        ("c", "EHLO ws-0123.corp.example.com\r\n"),
        ("s", "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"),
        ("c", "MAIL FROM:<%s>\r\n" % sender),
        ("s", "250 2.1.0 Ok\r\n"),
        ("c", "RCPT TO:<%s>\r\n" % rcpt1),
        ("s", "250 2.1.5 Ok\r\n"),
        ("c", "RCPT TO:<%s>\r\n" % rcpt2),
        ("s", "250 2.1.5 Ok\r\n"),
        ("c", "DATA\r\n"),
        ("s", "354 End data with <CR><LF>.<CR><LF>\r\n"),
        ("c", msg + ".\r\n"),
        ("s", "250 2.0.0 Ok: queued as 7D1E20A4B3\r\n"),
        ("c", "QUIT\r\n"),
        ("s", "221 2.0.0 Bye\r\n"),
    ]
    for d, text in script:
        s.send(d, text.encode())
    s.close()
    return cap, [sender, rcpt1, rcpt2], csv


def dns_name_wire(name):
    return b"".join(bytes([len(lb)]) + lb.encode() for lb in name.split(".")) + b"\0"


def dns_message(ident, flags, name, qtype, edns=True):
    """One question; an EDNS(0) OPT record (RFC 6891, UDP size 1232) when edns."""
    out = struct.pack("!HHHHHH", ident, flags, 1, 0, 0, 1 if edns else 0)
    out += dns_name_wire(name) + struct.pack("!HH", qtype, 1)
    if edns:
        out += b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return out


def dns_exfil_names():
    """30 query names under exfil.example.net, each carrying one distinct email:
    even ones lower-case hex split over 2 or 3 labels at uneven places, odd ones
    lower-case unpadded base32 (RFC 4648 section 6) in one label.
    Returns (names, emails)."""
    rng = random.Random("leakwatch-dns-exfil-names")
    f = Fake("leakwatch-dns-exfil-records")
    names, emails = [], []
    for i in range(30):
        em = f.email(f.name())
        if i % 2 == 0:
            hx = em.encode().hex()
            parts = 3 if i % 4 == 2 else 2
            while True:  # no label of digits only: it could read as a phone number
                cuts = sorted(rng.sample(range(5, len(hx) - 4), parts - 1))
                labels = [hx[a:b] for a, b in zip([0] + cuts, cuts + [len(hx)])]
                if not any(lb.isdigit() for lb in labels):
                    break
        else:
            labels = [base64.b32encode(em.encode()).decode().rstrip("=").lower()]
        assert all(0 < len(lb) <= 63 and not lb.isdigit() for lb in labels)
        names.append(".".join(labels + ["exfil", "example", "net"]))
        emails.append(em)
    return names, emails


DNS_QTYPES = [1, 16, 28]  # A, TXT, AAAA


def dns_hex_base32_capture():
    """The 30 queries from 10.1.2.3 straight to an outside resolver, each from its
    own source port, 50 ms apart; every one answered NXDOMAIN."""
    rng = random.Random("leakwatch-dns-hex-base32")
    names, _ = dns_exfil_names()
    cap = Capture()
    cli, srv = ip4("10.1.2.3"), ip4("203.0.113.53")
    for i, name in enumerate(names):
        ident, port = rng.getrandbits(16), rng.randrange(32768, 61000)
        qtype = DNS_QTYPES[i % 3]
        q = udp_datagram(cli, srv, port, 53, dns_message(ident, 0x0100, name, qtype))
        cap.add_ip(ip_packet(cap.ids, cli, srv, PROTO_UDP, q), step=50000)
        r = udp_datagram(srv, cli, 53, port, dns_message(ident, 0x8183, name, qtype))
        cap.add_ip(ip_packet(cap.ids, srv, cli, PROTO_UDP, r), step=15000)
    return cap


def dns_via_inside_resolver_capture(upstreams=("198.51.100.53",), seed="leakwatch-dns-inside-resolver"):
    """The same 30 queries sent to the site's resolver 10.0.0.53, which forwards
    each (same name, its own ID and source port) to its upstream resolvers in
    turn and relays the NXDOMAIN back."""
    rng = random.Random(seed)
    names, _ = dns_exfil_names()
    cap = Capture()
    cli, res = ip4("10.1.2.3"), ip4("10.0.0.53")
    for i, name in enumerate(names):
        up = ip4(upstreams[i % len(upstreams)])
        qtype = DNS_QTYPES[i % 3]
        cid, cport = rng.getrandbits(16), rng.randrange(32768, 61000)
        fid, fport = rng.getrandbits(16), rng.randrange(1024, 65536)
        legs = [(cli, res, cport, 53, cid, 0x0100, 50000), (res, up, fport, 53, fid, 0x0100, 1000),
                (up, res, 53, fport, fid, 0x8183, 20000), (res, cli, 53, cport, cid, 0x8183, 1000)]
        for src, dst, sp, dp, ident, flags, step in legs:
            dg = udp_datagram(src, dst, sp, dp, dns_message(ident, flags, name, qtype))
            cap.add_ip(ip_packet(cap.ids, src, dst, PROTO_UDP, dg), step=step)
    return cap


def ftp_stor_csv_capture():
    """A passive-mode FTP upload: the control connection logs in, asks for PASV
    (227 names port 40021), the client opens the data connection, sends STOR and
    the CSV, closes the data connection, gets 226 and quits."""
    rng = random.Random("leakwatch-ftp-stor")
    csv = Fake("leakwatch-ftp-stor-records").rows(40, ["name", "email", "phone", "card"])
    cap = Capture()
    ctl = TcpSession(cap, rng, "10.1.2.3", 50000, "203.0.113.21", 21)
    ctl.handshake()
    for d, text in [("s", "220 files.example.net FTP server ready.\r\n"), ("c", "USER exporter\r\n"),
                    ("s", "331 Please specify the password.\r\n"), ("c", "PASS not-a-real-password\r\n"),
                    ("s", "230 Login successful.\r\n"), ("c", "TYPE I\r\n"),
                    ("s", "200 Switching to Binary mode.\r\n"), ("c", "PASV\r\n"),
                    ("s", "227 Entering Passive Mode (203,0,113,21,156,85).\r\n")]:
        ctl.send(d, text.encode())
    assert 156 * 256 + 85 == 40021
    data = TcpSession(cap, rng, "10.1.2.3", 50001, "203.0.113.21", 40021)
    data.handshake()
    ctl.send("c", b"STOR customers.csv\r\n")
    ctl.send("s", b"150 Ok to send data.\r\n")
    data.send("c", csv)
    data.close()
    for d, text in [("s", "226 Transfer complete.\r\n"), ("c", "QUIT\r\n"), ("s", "221 Goodbye.\r\n")]:
        ctl.send(d, text.encode())
    ctl.close()
    return cap, csv


GZIP_BOMB_SIZE = 64 << 20


def http_gzip_bomb_capture():
    """A POST whose gzip body (about 65 KB, DEFLATE's best ratio) inflates to
    64 MiB of zero bytes."""
    rng = random.Random("leakwatch-http-gzip-bomb")
    gz = gzip_zero_bomb(GZIP_BOMB_SIZE)
    head = http_request_headers("POST", "/api/telemetry", "collector.example.net",
                                ["Content-Type: application/octet-stream", "Content-Encoding: gzip",
                                 "Content-Length: %d" % len(gz)])
    cap = Capture()
    http_exchange(cap, rng, Ports(), "10.1.2.3", "203.0.113.42", 80, head + gz,
                  http_response("413 Content Too Large", b"", "text/plain"))
    return cap, gz


NESTED_BOMB_SIZE = 1 << 30


def http_gzip_nested_bomb_capture():
    """A POST with Content-Encoding "gzip, gzip" whose body (about 1 KiB) inflates
    to a 1 MiB gzip member that inflates to 1 GiB of zero bytes, then a 25-email
    POST from another inside host that must still alert."""
    rng = random.Random("leakwatch-http-gzip-nested-bomb")
    inner = gzip_zero_bomb(NESTED_BOMB_SIZE)
    c = zlib.compressobj(9, zlib.DEFLATED, 31)  # gzip framing, mtime 0: deterministic
    outer = c.compress(inner) + c.flush()
    head = http_request_headers("POST", "/api/telemetry", "collector.example.net",
                                ["Content-Type: application/octet-stream",
                                 "Content-Encoding: gzip, gzip", "Content-Length: %d" % len(outer)])
    cap = Capture()
    ports = Ports()
    http_exchange(cap, rng, ports, "10.1.2.3", "203.0.113.42", 80, head + outer,
                  http_response("413 Content Too Large", b"", "text/plain"))
    cap.at(2000000)
    post_csv(cap, rng, ports, "10.1.2.4", "203.0.113.43",
             email_lines(Fake("leakwatch-nested-bomb-records"), 25))
    return cap, outer


# ---------------------------------------------------------------------------
# Exact data matching (EDM) captures
# ---------------------------------------------------------------------------

EDM_TABLE_ROWS = 10000  # what tests/e2e/check_edm.sh indexes
EDM_CANARY_LABEL = "canary-07"


def edm_table():
    """The customer table the EDM index is built from (gen_customers defaults)."""
    return gen_customers.customers(EDM_TABLE_ROWS)


def edm_customer_emails(table, n, seed):
    """n emails of distinct non-canary customers, a seeded sample of the table."""
    rows = [r for r in table if r["canary"] != "yes"]
    return [r["email"] for r in random.Random(seed).sample(rows, n)]


def edm_30_of_200_capture(table):
    """230 emails in one CSV POST: 30 customers' among 200 that are no one's."""
    rng = random.Random("leakwatch-edm-30-of-200")
    mine = edm_customer_emails(table, 30, "leakwatch-edm-30-of-200-pick")
    others = [gen_customers.non_customer_email(i) for i in range(200)]
    emails = mine + others
    rng.shuffle(emails)
    body = ("email\n" + "".join(e + "\n" for e in emails)).encode()
    cap = Capture()
    post_csv(cap, rng, Ports(), "10.1.2.3", "203.0.113.56", body, host="crm-sync.example.net",
             path="/api/contacts")
    return cap, mine, others


def edm_canary_email(table):
    row = [r for r in table if r["label"] == EDM_CANARY_LABEL]
    assert len(row) == 1 and row[0]["canary"] == "yes"
    return row[0]["email"]


def edm_canary_dns_capture(table):
    """One query carrying the canary-07 email as hex in two labels, one answer."""
    rng = random.Random("leakwatch-edm-canary-dns")
    hx = edm_canary_email(table).encode().hex()
    while True:  # no label of digits only, each label at most 63 bytes
        cut = rng.randrange(len(hx) - 63, 64) if len(hx) > 63 else rng.randrange(5, len(hx) - 4)
        labels = [hx[:cut], hx[cut:]]
        if not any(lb.isdigit() for lb in labels) and all(0 < len(lb) <= 63 for lb in labels):
            break
    name = ".".join(labels + ["exfil", "example", "net"])
    cap = Capture()
    cli, srv = ip4("10.1.2.3"), ip4("203.0.113.53")
    ident, port = rng.getrandbits(16), rng.randrange(32768, 61000)
    q = udp_datagram(cli, srv, port, 53, dns_message(ident, 0x0100, name, 1))
    cap.add_ip(ip_packet(cap.ids, cli, srv, PROTO_UDP, q))
    r = udp_datagram(srv, cli, 53, port, dns_message(ident, 0x8183, name, 1))
    cap.add_ip(ip_packet(cap.ids, srv, cli, PROTO_UDP, r), step=15000)
    return cap, name


def edm_below_pair_threshold_capture(table):
    """8 customers' emails in one CSV POST, nothing else."""
    rng = random.Random("leakwatch-edm-below-pair-threshold")
    mine = edm_customer_emails(table, 8, "leakwatch-edm-below-pair-threshold-pick")
    body = ("email\n" + "".join(e + "\n" for e in mine)).encode()
    cap = Capture()
    post_csv(cap, rng, Ports(), "10.1.2.3", "203.0.113.57", body, host="crm-sync.example.net",
             path="/api/contacts")
    return cap


def edm_check(table, mine, others, name):
    """What the EDM captures promise about their values."""
    emails = {r["email"] for r in table}
    assert len(mine) == 30 and set(mine) <= emails and len(set(mine)) == 30
    assert len(set(others)) == 200 and not set(others) & emails
    payload = "".join(name.split(".")[:-3])
    assert bytes.fromhex(payload).decode() == edm_canary_email(table)


def app_truth():
    """Ground truth of the application captures, checked against what the
    generator wrote: distinct values per kind (and the decodings they need)."""
    truth = {}
    _, recs = http_form_urlencoded_capture()
    truth["form"] = (len({r[1] for r in recs}), len({r[2] for r in recs}), len({r[3] for r in recs}))
    _, csv = http_chunked_gzip_csv_capture()
    cells = [ln.split(b",") for ln in csv.split(b"\n")[1:] if ln]
    truth["chunked"] = tuple(len({c[k] for c in cells}) for k in (1, 2, 3))
    _, recs = http_json_u0040_capture()
    truth["json"] = (len({r[1] for r in recs}), len({r[2] for r in recs}))
    _, env, csv = smtp_base64_attachment_capture()
    cells = [ln.split(b",") for ln in csv.split(b"\r\n")[1:] if ln]
    truth["smtp"] = (len(set(env) | {c[1].decode() for c in cells}), len({c[2] for c in cells}),
                     len({c[3] for c in cells}))
    names, emails = dns_exfil_names()
    for name, em in zip(names, emails):
        payload = "".join(name.split(".")[:-3])
        try:
            dec = bytes.fromhex(payload)
        except ValueError:
            dec = base64.b32decode(payload.upper() + "=" * (-len(payload) % 8))
        assert dec == em.encode()
    truth["dns"] = len(set(emails))
    _, csv = ftp_stor_csv_capture()
    cells = [ln.split(b",") for ln in csv.split(b"\n")[1:] if ln]
    truth["ftp"] = tuple(len({c[k] for c in cells}) for k in (1, 2, 3))
    return truth


APP_TRUTH = {"form": (100, 100, 100), "chunked": (50, 50, 50), "json": (30, 30), "smtp": (43, 40, 40),
             "dns": 30, "ftp": (40, 40, 40)}


# ---------------------------------------------------------------------------
# Policy captures: detectors, allow-lists, per-destination rules, incidents
# ---------------------------------------------------------------------------


def email_lines(f, n):
    """n distinct emails of one Fake, one a line (single-kind values: counts are exact)."""
    return "".join("%s\n" % f.email(f.name()) for _ in range(n)).encode()


def spread_capture():
    """10.1.2.3 POSTs 8 distinct emails to each of 12 outside hosts 198.51.100.1..12,
    one connection each, 2.5 s apart (96 distinct in 27.5 s)."""
    rng = random.Random("leakwatch-spread")
    cap = Capture()
    ports = Ports()
    f = Fake("leakwatch-spread-records")
    for i in range(12):
        cap.at(i * 2500000)
        post_csv(cap, rng, ports, "10.1.2.3", "198.51.100.%d" % (i + 1), email_lines(f, 8),
                 host="share%02d.example.com" % (i + 1), path="/upload")
    return cap


def slow_drip_40min_capture():
    """120 small POSTs to 203.0.113.70, 20 s apart (t = 0 .. 2380 s), one distinct
    email each: at most 3 values in any 60 s window, 100 within the first 1980 s."""
    rng = random.Random("leakwatch-slow-drip-40min")
    cap = Capture()
    ports = Ports()
    f = Fake("leakwatch-slow-drip-40min-records")
    for i in range(120):
        cap.at(i * 20 * 1000000)
        body = ('{"email":"%s"}\n' % f.email(f.name())).encode()
        req = http_request("POST", "/api/subscribe", "forms.example.net", body, "application/json")
        http_exchange(cap, rng, ports, "10.1.2.3", "203.0.113.70", 80, req,
                      http_response("200 OK", b'{"ok":1}\n', "application/json"))
    return cap


def tls_client_hello(rng, sni):
    """A minimal TLS 1.3-style ClientHello record (RFC 8446 section 4.1.2) whose
    only extension is server_name (RFC 6066 section 3) with one host_name."""
    name = sni.encode()
    server_name = struct.pack("!HBH", len(name) + 3, 0, len(name)) + name
    exts = struct.pack("!HH", 0, len(server_name)) + server_name
    body = (b"\x03\x03" + rng.randbytes(32) + b"\x20" + rng.randbytes(32) + struct.pack("!H", 4)
            + b"\x13\x01\x13\x02" + b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
    return tls_record(22, b"\x01" + struct.pack("!I", len(body))[1:] + body, b"\x03\x01")


ALLOW_FLOWS = [  # (what the allow entry names, outside host, HTTP Host or SNI)
    ("cidr", "198.51.100.10", "ingest.example.com"),
    ("asn", "203.0.113.20", "api.example.com"),
    ("country", "192.0.2.30", "files.example.com"),
    ("host", "198.51.100.40", "crm.example.com"),
    ("wildcard", "198.51.100.50", "upload.eu.example.org"),
    ("sni", "198.51.100.60", "sync.vendor.example"),
    ("dns", "198.51.100.53", None),
    ("control", "198.51.100.99", "drop.example.com"),
]


def allow_destinations_capture():
    """10.1.2.3 leaks 30 distinct emails to each destination of ALLOW_FLOWS, one
    second apart: HTTP POSTs (text/plain) for most, a TLS ClientHello with SNI
    followed by a cleartext list on port 443 for "sni", and 30 DNS queries (hex
    names under exfil.example.net, the dns_hex_base32 names) for "dns"."""
    rng = random.Random("leakwatch-allow-destinations")
    cap = Capture()
    ports = Ports()
    f = Fake("leakwatch-allow-destinations-records")
    cli = "10.1.2.3"
    for i, (kind, srv, name) in enumerate(ALLOW_FLOWS):
        cap.at(i * 1000000)
        if kind == "sni":
            s = TcpSession(cap, rng, cli, ports.take(), srv, 443)
            s.handshake()
            s.send("c", tls_client_hello(rng, name))
            s.send("c", email_lines(f, 30))
            s.send("s", b"OK\n")
            s.close()
        elif kind == "dns":
            names, _ = dns_exfil_names()
            c, r = ip4(cli), ip4(srv)
            for j, qname in enumerate(names):
                ident, port = rng.getrandbits(16), rng.randrange(32768, 61000)
                q = udp_datagram(c, r, port, 53, dns_message(ident, 0x0100, qname, DNS_QTYPES[j % 3]))
                cap.add_ip(ip_packet(cap.ids, c, r, PROTO_UDP, q), step=10000)
                a = udp_datagram(r, c, 53, port, dns_message(ident, 0x8183, qname, DNS_QTYPES[j % 3]))
                cap.add_ip(ip_packet(cap.ids, r, c, PROTO_UDP, a), step=5000)
        else:
            req = http_request("POST", "/sync", name, email_lines(f, 30), "text/plain")
            http_exchange(cap, rng, ports, cli, srv, 80, req,
                          http_response("200 OK", b'{"ok":1}\n', "application/json"))
    return cap


def paste_site_capture():
    """10.1.2.3 POSTs 6 distinct emails to Host pastebin.com at 198.51.100.80."""
    rng = random.Random("leakwatch-paste-site")
    cap = Capture()
    req = http_request("POST", "/api/api_post.php", "pastebin.com",
                       email_lines(Fake("leakwatch-paste-site-records"), 6), "text/plain")
    http_exchange(cap, rng, Ports(), "10.1.2.3", "198.51.100.80", 80, req,
                  http_response("200 OK", b"https://pastebin.com/AbCdEfGh\n", "text/plain"))
    return cap


def incident_linked_capture():
    """10.1.2.3 POSTs 30 distinct emails to 203.0.113.60 at t = 0, then 8 others to
    each of 198.51.100.61..66 at t = 2, 4, .. 12 s: 78 distinct in 13 s."""
    rng = random.Random("leakwatch-incident-linked")
    cap = Capture()
    ports = Ports()
    f = Fake("leakwatch-incident-linked-records")
    post_csv(cap, rng, ports, "10.1.2.3", "203.0.113.60", email_lines(f, 30), host="crm.example.net",
             path="/export")
    for i in range(6):
        cap.at((i + 1) * 2000000)
        post_csv(cap, rng, ports, "10.1.2.3", "198.51.100.%d" % (61 + i), email_lines(f, 8),
                 host="share%02d.example.com" % (61 + i), path="/upload")
    return cap


# ---------------------------------------------------------------------------
# Self-checks and output
# ---------------------------------------------------------------------------


def self_check():
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert luhn_ok("5555555555554444")
    assert iban_ok("DE89370400440532013000") and iban_ok("GB82WEST12345698765432")
    assert iban_check("DE", "370400440532013000") == "89"
    assert iban_check("GB", "WEST12345698765432") == "82"
    assert inet_sum(bytes.fromhex("450000730000400040110000c0a80001c0a800c7")) == 0xB861
    f = Fake("self-check")
    for _ in range(200):
        s = f.ssn()
        area, group, serial = (int(x) for x in s.split("-"))
        assert 1 <= area <= 665 and 1 <= group <= 99 and 1 <= serial <= 9999 and s not in PUBLISHED_SSNS
        c = f.card()
        assert len(c) == 16 and luhn_ok(c) and (c[0] == "4" or 51 <= int(c[:2]) <= 55)
        assert iban_ok(f.iban())
        p = f.phone()
        assert int(p[1:4]) in AREA_CODES and "555-01" in p


def outputs():
    """(relative path, bytes) for every capture."""
    snap_demo = demo_capture()
    trunc = small_email_leak(LINKTYPE_ETHERNET, link_ethernet, seed="leakwatch-truncated")
    tls = tls_capture()
    random_bytes_look_clean(tls)
    assert overlap_evasion_truth() == (60, 11), "tcp_overlap_evasion no longer matches its description"
    assert app_truth() == APP_TRUTH, "an application capture no longer matches its description"
    bomb, gz = http_gzip_bomb_capture()
    out = zlib.decompress(gz, 31)  # the checker's zlib, not the writer's
    assert len(out) == GZIP_BOMB_SIZE and not out.strip(b"\0")
    del out
    nested_bomb, outer = http_gzip_nested_bomb_capture()
    inner = zlib.decompress(outer, 31)
    first = zlib.decompressobj(31).decompress(inner, 1 << 20)  # the first MiB of the GiB only
    assert len(outer) <= 2048 and len(inner) < 2 << 20 and len(first) == 1 << 20 and not first.strip(b"\0")
    del inner, first
    table = edm_table()
    edm30, mine, others = edm_30_of_200_capture(table)
    canary, canary_name = edm_canary_dns_capture(table)
    edm_check(table, mine, others, canary_name)
    return [
        ("pcaps/demo/demo.pcap", pcap_bytes(demo_capture())),
        ("pcaps/http_post_records.pcap", pcap_bytes(post_records_capture())),
        ("pcaps/http_post_records_ipv6.pcap",
         pcap_bytes(post_records_capture(cli="fd00::10", srv="2001:db8::50", mss=1428))),
        ("pcaps/http_post_records_vlan.pcap", pcap_bytes(post_records_capture(link=link_vlan(100)))),
        ("pcaps/http_post_records_qinq.pcap", pcap_bytes(post_records_capture(link=link_qinq(200, 100)))),
        ("pcaps/server_inside_answers.pcap", pcap_bytes(server_inside_answers())),
        ("pcaps/inside_to_inside.pcap", pcap_bytes(bulk_upload("inside-to-inside", "10.1.2.3", "10.5.5.5"))),
        ("pcaps/outside_to_inside.pcap",
         pcap_bytes(bulk_upload("outside-to-inside", "198.51.100.7", "10.9.9.9"))),
        ("pcaps/email_below_threshold.pcap", pcap_bytes(smtp_capture())),
        ("pcaps/repeated_values.pcap", pcap_bytes(repeated_values_capture())),
        ("pcaps/numeric_noise.pcap", pcap_bytes(numeric_noise_capture())),
        ("pcaps/tls_bytes.pcap", pcap_bytes(tls)),
        ("pcaps/malformed_interleaved.pcap", pcap_bytes(malformed_capture())),
        ("pcaps/snaplen96.pcap", pcap_bytes(snap_demo, snaplen=96)),
        ("pcaps/split_segments.pcap", pcap_bytes(split_segments_capture())),
        ("pcaps/linktypes/sll.pcap", pcap_bytes(small_email_leak(LINKTYPE_LINUX_SLL, link_sll))),
        ("pcaps/linktypes/sll2.pcap", pcap_bytes(small_email_leak(LINKTYPE_LINUX_SLL2, link_sll2))),
        ("pcaps/linktypes/raw.pcap", pcap_bytes(small_email_leak(LINKTYPE_RAW, link_raw))),
        ("pcaps/linktypes/null.pcap", pcap_bytes(small_email_leak(LINKTYPE_NULL, link_null))),
        ("pcaps/linktypes/ethernet.pcapng", pcapng_bytes(small_email_leak(LINKTYPE_ETHERNET, link_ethernet))),
        ("pcaps/truncated_last_record.pcap", pcap_bytes(trunc, truncate_tail=(1514, 20))),
        ("pcaps/cooldown_three_posts.pcap", pcap_bytes(cooldown_three_posts_capture())),
        ("pcaps/udp_syslog_leak.pcap", pcap_bytes(udp_syslog_capture())),
        ("pcaps/slow_drip_below_window.pcap", pcap_bytes(slow_drip_capture())),
        ("pcaps/two_destinations.pcap", pcap_bytes(two_destinations_capture())),
        ("pcaps/tcp_shuffled_csv.pcap", pcap_bytes(tcp_shuffled_csv_capture())),
        ("pcaps/udp_fragmented.pcap", pcap_bytes(fragmented_capture(v6=False)[0])),
        ("pcaps/ipv6_fragmented.pcap", pcap_bytes(fragmented_capture(v6=True)[0])),
        ("pcaps/tcp_overlap_evasion.pcap", pcap_bytes(tcp_overlap_evasion_capture())),
        ("pcaps/tcp_gap_acked.pcap", pcap_bytes(tcp_gap_acked_capture())),
        ("pcaps/http_form_urlencoded.pcap", pcap_bytes(http_form_urlencoded_capture()[0])),
        ("pcaps/http_chunked_gzip_csv.pcap", pcap_bytes(http_chunked_gzip_csv_capture()[0])),
        ("pcaps/http_json_u0040.pcap", pcap_bytes(http_json_u0040_capture()[0])),
        ("pcaps/smtp_base64_attachment.pcap", pcap_bytes(smtp_base64_attachment_capture()[0])),
        ("pcaps/dns_hex_base32.pcap", pcap_bytes(dns_hex_base32_capture())),
        ("pcaps/dns_via_inside_resolver.pcap", pcap_bytes(dns_via_inside_resolver_capture())),
        ("pcaps/dns_two_upstreams.pcap", pcap_bytes(dns_via_inside_resolver_capture(
            ("198.51.100.53", "198.51.100.54"), "leakwatch-dns-two-upstreams"))),
        ("pcaps/ftp_stor_csv.pcap", pcap_bytes(ftp_stor_csv_capture()[0])),
        ("pcaps/http_gzip_bomb.pcap", pcap_bytes(bomb)),
        ("pcaps/http_gzip_nested_bomb.pcap", pcap_bytes(nested_bomb)),
        ("pcaps/edm_30_of_200.pcap", pcap_bytes(edm30)),
        ("pcaps/edm_canary_dns.pcap", pcap_bytes(canary)),
        ("pcaps/edm_below_pair_threshold.pcap", pcap_bytes(edm_below_pair_threshold_capture(table))),
        ("pcaps/spread.pcap", pcap_bytes(spread_capture())),
        ("pcaps/slow_drip_40min.pcap", pcap_bytes(slow_drip_40min_capture())),
        ("pcaps/allow_destinations.pcap", pcap_bytes(allow_destinations_capture())),
        ("pcaps/paste_site.pcap", pcap_bytes(paste_site_capture())),
        ("pcaps/incident_linked.pcap", pcap_bytes(incident_linked_capture())),
    ]


def main():
    self_check()
    for rel, data in outputs():
        assert len(data) < 200 * 1024, "%s is %d bytes" % (rel, len(data))
        path = os.path.join(REPO, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as fh:
            fh.write(data)
        print("%-40s %7d bytes" % (rel, len(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
