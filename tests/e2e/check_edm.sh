#!/usr/bin/env bash
# check_edm.sh - exact data matching and honeytokens, end to end: the customer table
# goes through `leakwatch-edm keygen` and `build`, the sensor replays the EDM
# captures against the index, and the alerts count customers and name canaries
# without ever showing a value or the key.
#
#   check_edm.sh LEAKWATCH        (leakwatch-edm is taken from the same directory)
#
# In a temporary directory (removed at exit): tests/tools/gen_customers.py writes the
# 10,000-row fictional customer table (11 canary rows, labels canary-00..canary-10),
# `leakwatch-edm keygen` a key, `leakwatch-edm build` the index (email, phone and card
# columns found by their headers; --canary-column canary --label-column label). Then:
#
#   tool      the key file is mode 0600 and 64 hex digits; keygen refuses to
#             overwrite it; stats (with and without -k) says records 10000 and
#             canaries 11; stats -k with another key exits 2 with "wrong key"
#   edm_30_of_200             exit 0; two alerts: the pair alert (9000001, distinct
#                             230, customer_records 30) and one customer_records alert
#                             (9000003, severity 1, customer_records 30); no canary
#                             alert; edm.customer_values 30, edm.canary_values 0
#   edm_canary_dns            exit 0; exactly one alert: 9000010, severity 1, detector
#                             canary, canary_label "canary-07"; edm.canary_values 1
#   edm_below_pair_threshold  exit 0; exactly one alert: customer_records (9000003)
#                             with customer_records 8 (burst.threshold 20 not reached)
#   no index                  edm_30_of_200 without edm.*: one pair alert and no
#                             customer_records field (the feature is off by default)
#   key mode 0644             exit 2, one stderr line that names the key file
#   another key               exit 2, one stderr line with "wrong key"
#   flipped byte              one byte in the middle of a copy of the index
#                             inverted: exit 2, one stderr line with "checksum"
#
# Every output (the sensor's JSON and stderr, the tool's stdout and stderr) goes
# through run_case.sh's leak check, and is also searched in memory for every email,
# phone (as written and in E.164), card and the canary's hex form from the table,
# and for the key's hex text. Findings name the file and the kind, never the value.
#
# Exit 0 pass, 1 fail, 77 skip (no python3, no leakwatch-edm, or a capture missing:
# python3 tests/tools/gen_pcaps.py writes them).
set -u

bin=${1:?usage: check_edm.sh LEAKWATCH}
case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
top=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tool=$(dirname "$bin")/leakwatch-edm

if ! command -v python3 >/dev/null; then
    echo "skipped: python3 is needed for the customer table and the JSON checks"
    exit 77
fi
if [ ! -x "$tool" ]; then
    echo "skipped: no $tool (the EDM tool is not built)"
    exit 77
fi
[ -x "$bin" ] || { echo "FAIL: no executable $bin"; exit 1; }
for p in edm_30_of_200 edm_canary_dns edm_below_pair_threshold; do
    if [ ! -f "$top/pcaps/$p.pcap" ]; then
        echo "skipped: pcaps/$p.pcap missing (python3 tests/tools/gen_pcaps.py writes it)"
        exit 77
    fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lw-edm.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

python3 - "$bin" "$tool" "$top" "$tmp" <<'PY'
import json
import os
import shutil
import stat
import subprocess
import sys

binary, tool, top, tmp = sys.argv[1:5]
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.join(top, "tests", "tools"))
import gen_customers  # noqa: E402

TABLE_ROWS = 10000
CANARY_LABEL = "canary-07"
PAIR_SID, CUST_SID, CANARY_SID = 9000001, 9000003, 9000010

failures = []
outputs = []  # every file a program wrote, for the leak checks at the end


def fail(msg):
    failures.append(msg)
    print("FAIL " + msg)


def expect(name, cond, what):
    if not cond:
        fail("%s: %s" % (name, what))
    return cond


def path(name):
    return os.path.join(tmp, name)


def read(name):
    with open(name, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def run(name, args, timeout=120):
    """Runs args with stdout and stderr in files; returns (exit status, stdout, stderr)."""
    out, err = path(name + ".stdout"), path(name + ".stderr")
    outputs.extend([out, err])
    with open(out, "wb") as o, open(err, "wb") as e:
        try:
            p = subprocess.run(args, cwd=top, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                               timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            rc = None
    text = read(err)
    if "Sanitizer" in text or "runtime error:" in text:
        print("\n".join(text.splitlines()[:20]))
        fail("%s: sanitizer report" % name)
    if rc is None:
        fail("%s: timed out after %d s" % (name, timeout))
    return rc, read(out), text


# ---- the table, the key, the index -----------------------------------------

rows = gen_customers.customers(TABLE_ROWS)
with open(path("customers.csv"), "w") as fh:
    fh.write(gen_customers.csv_text(rows))
key_file, index = path("site.key"), path("customers.edm")

rc, _, err = run("keygen", [tool, "keygen", "-o", key_file])
if rc != 0 or not os.path.isfile(key_file):
    print(err.strip())
    print("FAIL keygen exited %s" % rc)
    sys.exit(1)
mode = stat.S_IMODE(os.stat(key_file).st_mode)
if mode != 0o600:
    fail("keygen: key file mode %o, expected 600" % mode)
with open(key_file) as fh:
    key_text = fh.read().strip().lower()
if len(key_text) != 64 or any(c not in "0123456789abcdef" for c in key_text):
    fail("keygen: the key file is not 64 hex digits")

rc, _, _ = run("keygen-again", [tool, "keygen", "-o", key_file])
with open(key_file) as fh:
    unchanged = fh.read().strip().lower() == key_text
if rc == 0 or not unchanged:
    fail("keygen over an existing key file: exit %s, key %s" % (rc, "kept" if unchanged else "REPLACED"))

rc, _, err = run("build", [tool, "build", "-k", key_file, "-o", index, "--canary-column", "canary",
                           "--label-column", "label", path("customers.csv")])
if rc != 0 or not os.path.isfile(index):
    print(err.strip())
    print("FAIL build exited %s" % rc)
    sys.exit(1)


def stats_field(out, field):
    """The value of a "field:   value" line of `leakwatch-edm stats`, or None."""
    for line in out.splitlines():
        k, sep, v = line.partition(":")
        if sep and k.strip() == field:
            return v.strip()
    return None


for name, args in [("stats-key", [tool, "stats", "-k", key_file, index]), ("stats", [tool, "stats", index])]:
    rc, out, err = run(name, args)
    if expect(name, rc == 0, "exit %s, expected 0" % rc):
        expect(name, stats_field(out, "records") == "10000", "records %r, expected 10000"
               % stats_field(out, "records"))
        expect(name, stats_field(out, "canaries") == "11", "canaries %r, expected 11"
               % stats_field(out, "canaries"))


# ---- the sensor on the captures ---------------------------------------------

def sensor(name, pcap, settings):
    """Runs the sensor; returns (exit status, alerts as dicts, last stats dict, stderr)."""
    out = path(name + ".json")
    args = [binary, "-c", os.path.join(top, "etc", "leakwatch.yaml")]
    for s in settings:
        args += ["--set", s]
    args += ["-r", os.path.join(top, "pcaps", pcap + ".pcap"), "-o", out]
    rc, _, err = run(name, args)
    alerts, stats = [], {}
    if os.path.exists(out):  # a refused start may write nothing at all
        outputs.append(out)
        for line in read(out).splitlines():
            try:
                ev = json.loads(line)
            except ValueError:
                fail("%s: an output line is not JSON" % name)
                continue
            if ev.get("event_type") == "alert":
                alerts.append(ev)
            elif ev.get("event_type") == "stats":
                stats = ev.get("stats") or {}
    return rc, alerts, stats, err


EDM = ["edm.index=" + index, "edm.key=" + key_file]


def sid(a):
    return a.get("alert", {}).get("signature_id")


def describe(alerts):
    return ", ".join("%s/%s" % (sid(a), a.get("pii", {}).get("detector")) for a in alerts) or "none"


def counter(name, stats, key, want):
    expect(name, stats.get(key) == want, "%s is %r, expected %d" % (key, stats.get(key), want))


def check_alert(name, a, want_sid, detector, severity=None, **pii):
    p = a.get("pii", {})
    expect(name, p.get("detector") == detector, "alert %s: detector %r, expected %r"
           % (sid(a), p.get("detector"), detector))
    if severity is not None:
        got = a.get("alert", {}).get("severity")
        expect(name, got == severity, "alert %s: severity %r, expected %d" % (want_sid, got, severity))
    for k, v in pii.items():
        expect(name, p.get(k) == v, "alert %s: pii.%s is %r, expected %r" % (want_sid, k, p.get(k), v))
    expect(name, a.get("src_ip") == "10.1.2.3", "alert %s: src_ip %r" % (want_sid, a.get("src_ip")))


# 30 customers among 200 strangers: the pair alert counts them, and so does a
# customer_records alert of its own.
name = "edm_30_of_200"
rc, alerts, stats, err = sensor(name, name, EDM)
if expect(name, rc == 0, "exit %s, expected 0" % rc):
    by = {sid(a): [x for x in alerts if sid(x) == sid(a)] for a in alerts}
    if expect(name, len(alerts) == 2 and len(by.get(PAIR_SID, [])) == 1 and len(by.get(CUST_SID, [])) == 1,
              "alerts %s, expected one %d and one %d" % (describe(alerts), PAIR_SID, CUST_SID)):
        check_alert(name, by[PAIR_SID][0], PAIR_SID, "pair", distinct=230, customer_records=30)
        check_alert(name, by[CUST_SID][0], CUST_SID, "customer_records", severity=1, customer_records=30)
        expect(name, "canary_label" not in by[CUST_SID][0].get("pii", {}), "canary_label on a customer alert")
    counter(name, stats, "edm.customer_values", 30)
    counter(name, stats, "edm.canary_values", 0)

# One canary email in one DNS query: an alert at once, naming the canary.
name = "edm_canary_dns"
rc, alerts, stats, err = sensor(name, name, EDM)
if expect(name, rc == 0, "exit %s, expected 0" % rc):
    if expect(name, len(alerts) == 1 and sid(alerts[0]) == CANARY_SID,
              "alerts %s, expected one %d" % (describe(alerts), CANARY_SID)):
        check_alert(name, alerts[0], CANARY_SID, "canary", severity=1, canary_label=CANARY_LABEL)
        expect(name, alerts[0].get("dest_ip") == "203.0.113.53", "dest_ip %r" % alerts[0].get("dest_ip"))
    counter(name, stats, "edm.canary_values", 1)

# 8 customers, nothing else: under the pair threshold, over edm.threshold.
name = "edm_below_pair_threshold"
rc, alerts, stats, err = sensor(name, name, EDM)
if expect(name, rc == 0, "exit %s, expected 0" % rc):
    if expect(name, len(alerts) == 1 and sid(alerts[0]) == CUST_SID,
              "alerts %s, expected one %d" % (describe(alerts), CUST_SID)):
        check_alert(name, alerts[0], CUST_SID, "customer_records", severity=1, customer_records=8)
    counter(name, stats, "edm.customer_values", 8)

# Without an index nothing changes: one pair alert, no customer_records field.
name = "no_index"
rc, alerts, stats, err = sensor(name, "edm_30_of_200", [])
if expect(name, rc == 0, "exit %s, expected 0" % rc):
    if expect(name, len(alerts) == 1 and sid(alerts[0]) == PAIR_SID,
              "alerts %s, expected one %d" % (describe(alerts), PAIR_SID)):
        check_alert(name, alerts[0], PAIR_SID, "pair", distinct=230)
        expect(name, "customer_records" not in alerts[0].get("pii", {}), "customer_records without an index")


# ---- refusals: exit 2 and one stderr line ---------------------------------------

def refused(name, settings, must_name):
    rc, alerts, _, err = sensor(name, "edm_below_pair_threshold", settings)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    expect(name, rc == 2, "exit %s, expected 2" % rc)
    expect(name, not alerts, "%d alerts written before the refusal" % len(alerts))
    if expect(name, len(lines) == 1, "%d stderr lines, expected 1" % len(lines)):
        expect(name, must_name in lines[0], "stderr does not mention %r" % os.path.basename(must_name))


loose = path("loose.key")
shutil.copyfile(key_file, loose)
os.chmod(loose, 0o644)
refused("key_mode_0644", ["edm.index=" + index, "edm.key=" + loose], loose)

other = path("other.key")
rc, _, _ = run("keygen-other", [tool, "keygen", "-o", other])
if expect("wrong_key", rc == 0, "second keygen exited %s" % rc):
    refused("wrong_key", ["edm.index=" + index, "edm.key=" + other], "wrong key")
    rc, _, err = run("stats-wrong-key", [tool, "stats", "-k", other, index])
    expect("stats-wrong-key", rc == 2 and "wrong key" in err, "exit %s, expected 2 and \"wrong key\"" % rc)

bad = path("flipped.edm")
with open(index, "rb") as fh:
    data = bytearray(fh.read())
data[len(data) // 2] ^= 0xFF  # an entry, far past the header
with open(bad, "wb") as fh:
    fh.write(data)
refused("flipped_byte", ["edm.index=" + bad, "edm.key=" + key_file], "checksum")


# ---- nothing in clear -----------------------------------------------------------

lc = subprocess.run(["bash", os.path.join(top, "tests/e2e/run_case.sh"), "--leak-check"] + outputs)
if lc.returncode != 0:
    fail("an output holds a value in clear (see the leak check lines above)")

canary = [r for r in rows if r["label"] == CANARY_LABEL][0]
secrets = [("key", key_text), ("canary email as hex", canary["email"].encode().hex())]
for r in rows:
    digits = "".join(c for c in r["phone"] if c.isdigit())
    secrets += [("customer email", r["email"]), ("customer phone", r["phone"]),
                ("customer phone (E.164)", "+1" + digits), ("customer card", r["card"])]
for f in outputs:
    text = read(f).lower()
    for kind, value in secrets:
        if value.lower() in text:
            fail("%s holds a %s in clear" % (os.path.basename(f), kind))
            break

if failures:
    print("FAIL check_edm: %d failure(s)" % len(failures))
    sys.exit(1)
print("PASS check_edm: customer counts, the canary label, refusals, nothing in clear")
PY
