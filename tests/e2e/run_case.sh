#!/usr/bin/env bash
# run_case.sh - replays the captures of one e2e case and checks what leakwatch wrote.
#
#   run_case.sh BIN CASEFILE             run the case (what ctest does)
#   run_case.sh --update BIN CASEFILE    rewrite CASEFILE's .expected from this run
#   run_case.sh --leak-check FILE...     only the "nothing in clear" check on files
#
# A case file is bash, sourced here; it may set:
#   PCAPS            space-separated capture paths, relative to the repo root (required)
#   ARGS             extra leakwatch arguments, e.g. "--set burst.threshold=10"
#   EXPECT_EXIT      expected exit status (default 0)
#   EXPECT_STDERR    grep -E pattern that must appear on stderr
#   EXPECT_COUNTERS  space-separated name=value pairs checked against the "stats" object of
#                    the last event_type "stats" line; value is a number or ">0"
#   EXPECT_ALERTS    number of alert lines (a sanity check that holds before .expected exists)
#   EXPECT_ALERT_MATCH  grep -E pattern that every alert line must match
#   NO_ALERTS=1      no alert expected; then a missing .expected is not an error
#
# The run is, from the repo root:
#   BIN -c $LW_SOURCE_DIR/etc/leakwatch.yaml $ARGS -r PCAP [-r PCAP...] -o TMP/out.json
# The lines of out.json holding "event_type":"alert" must equal cases/<name>.expected byte for
# byte (an empty .expected means no alert). On a mismatch a unified diff is printed: alerts hold
# masked samples only, and the leak check below runs first, so the diff cannot print a value.
#
# Leak check (nothing in clear): every JSON string in out.json (keys and values; numbers are
# not looked at, community_id is skipped) and every stderr line is searched for runs of 13+
# digits, grouped card-like digits, ddd-dd-dddd, unmasked emails (2+ characters of local part
# before '@'), NANP "(ddd) ddd-dddd" and "+digits" phone numbers, and IBAN-shaped strings.
# A finding names the file, line, JSON key and kind, never the matched text.
#
# Exit status: 0 pass, 1 fail, 77 skip (a capture is missing), 2 usage error.
set -u

usage() {
    echo "usage: $0 [--update] BIN CASEFILE | $0 --leak-check FILE..." >&2
    exit 2
}

# leak_check FILE...: exit 1 (and one line per finding) when any file holds a clear value.
leak_check() {
    python3 - "$@" <<'PY'
import json, re, sys

CHECKS = [
    ("digit run of 13+", re.compile(r"\d{13,}")),
    ("grouped card-like digits", re.compile(r"(?<!\d)\d{4}[ -]\d{4}[ -]\d{4}[ -]\d{1,7}(?!\d)")),
    ("ddd-dd-dddd", re.compile(r"(?<!\d)\d{3}-\d{2}-\d{4}(?!\d)")),
    ("unmasked email", re.compile(r"[A-Za-z0-9._%+-]{2,}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")),
    ("NANP phone", re.compile(r"\(\d{3}\) ?\d{3}-\d{4}")),
    ("E.164 phone", re.compile(r"\+\d{10,15}(?!\d)")),
    ("IBAN-shaped", re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}[A-Z0-9]{11,30}(?![A-Za-z0-9])")),
]
SKIP_KEYS = {"community_id"}


def strings(obj, path):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield path + "." + k if path else k, k
            if k not in SKIP_KEYS:
                yield from strings(v, path + "." + k if path else k)
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from strings(v, "%s[%d]" % (path, i))
    elif isinstance(obj, str):
        yield path, obj


bad = 0
for name in sys.argv[1:]:
    try:
        fh = open(name, "r", encoding="utf-8", errors="replace")
    except OSError as e:
        print("leak check: cannot read %s: %s" % (name, e.strerror))
        bad += 1
        continue
    with fh:
        for no, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            try:
                items = list(strings(json.loads(line), ""))
            except ValueError:
                items = [("(text)", line)]
            for key, s in items:
                for kind, rx in CHECKS:
                    if rx.search(s):
                        print("leak check: %s line %d key %s: %s" % (name, no, key, kind))
                        bad += 1
sys.exit(1 if bad else 0)
PY
}

# check_counters OUT "name=value ...": compares with the last stats line.
check_counters() {
    python3 - "$1" "$2" <<'PY'
import json, sys

out, want = sys.argv[1], sys.argv[2].split()
stats = None
with open(out, encoding="utf-8", errors="replace") as fh:
    for line in fh:
        if '"event_type":"stats"' in line:
            try:
                stats = json.loads(line).get("stats")
            except ValueError:
                print("counters: a stats line is not valid JSON")
                sys.exit(1)
if not isinstance(stats, dict):
    print("counters: no stats line with a \"stats\" object in the output")
    sys.exit(1)
bad = 0
for pair in want:
    name, sep, value = pair.partition("=")
    if not sep:
        print("counters: bad EXPECT_COUNTERS entry %r" % pair)
        bad += 1
        continue
    got = stats.get(name)
    if not isinstance(got, int):
        print("counters: %s missing from stats" % name)
        bad += 1
    elif value == ">0":
        if got <= 0:
            print("counters: %s is %d, expected > 0" % (name, got))
            bad += 1
    elif got != int(value):
        print("counters: %s is %d, expected %s" % (name, got, value))
        bad += 1
sys.exit(1 if bad else 0)
PY
}

update=0
case "${1:-}" in
--leak-check)
    shift
    [ $# -ge 1 ] || usage
    leak_check "$@"
    exit $?
    ;;
--update)
    update=1
    shift
    ;;
esac
[ $# -eq 2 ] || usage

here=$(cd "$(dirname "$0")" && pwd)
LW_SOURCE_DIR=${LW_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
bin=$1
case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
casefile=$2
case "$casefile" in /*) ;; *) casefile=$PWD/$casefile ;; esac
name=$(basename "$casefile" .case)
expected=$(dirname "$casefile")/$name.expected
conf=$LW_SOURCE_DIR/etc/leakwatch.yaml

PCAPS="" ARGS="" EXPECT_EXIT=0 EXPECT_STDERR="" EXPECT_COUNTERS="" EXPECT_ALERTS=""
EXPECT_ALERT_MATCH="" NO_ALERTS=0
if [ ! -f "$casefile" ]; then
    echo "FAIL $name: no case file $casefile"
    exit 1
fi
# shellcheck source=/dev/null
. "$casefile"

fail() {
    echo "FAIL $name: $*"
    exit 1
}

[ -x "$bin" ] || fail "no executable $bin"
[ -f "$conf" ] || fail "no config $conf"
[ -n "$PCAPS" ] || fail "the case sets no PCAPS"
command -v python3 >/dev/null || fail "python3 is needed for the JSON checks"

rargs=()
for p in $PCAPS; do
    if [ ! -f "$LW_SOURCE_DIR/$p" ]; then
        echo "skipped $name: capture $p missing (python3 tests/tools/gen_pcaps.py writes it)"
        exit 77
    fi
    rargs+=(-r "$p")
done
read -r -a extra <<<"$ARGS"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lw-e2e-$name.XXXXXX") || fail "mktemp"
trap 'rm -rf "$tmp"' EXIT
out=$tmp/out.json
err=$tmp/stderr
actual=$tmp/alerts

cd "$LW_SOURCE_DIR" || fail "cd $LW_SOURCE_DIR"
timeout -k 5 "${LW_CASE_TIMEOUT:-240}" "$bin" -c "$conf" "${extra[@]}" "${rargs[@]}" -o "$out" \
    >"$tmp/stdout" 2>"$err" </dev/null
rc=$?
[ -f "$out" ] || : >"$out"

# The leak check comes before anything that prints what the sensor wrote.
if ! leak_check "$out" "$err" "$tmp/stdout"; then
    fail "output holds a value in clear (see the leak check lines above)"
fi
show_stderr() {
    echo "--- stderr (first 20 lines) ---"
    head -n 20 "$err"
    echo "---"
}
if grep -qE 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' "$err"; then
    show_stderr
    fail "sanitizer report"
fi
[ "$rc" -eq 124 ] && fail "timed out after ${LW_CASE_TIMEOUT:-240} s"
if [ "$rc" -ne "$EXPECT_EXIT" ]; then
    show_stderr
    [ "$rc" -ge 128 ] && fail "killed by signal $((rc - 128)), expected exit $EXPECT_EXIT"
    fail "exit status $rc, expected $EXPECT_EXIT"
fi
if [ -n "$EXPECT_STDERR" ] && ! grep -qE -- "$EXPECT_STDERR" "$err"; then
    show_stderr
    fail "stderr does not match /$EXPECT_STDERR/"
fi
if [ -n "$EXPECT_COUNTERS" ]; then
    check_counters "$out" "$EXPECT_COUNTERS" || fail "counters differ"
fi

grep -F '"event_type":"alert"' "$out" >"$actual"
nalerts=$(wc -l <"$actual")
if [ -n "$EXPECT_ALERTS" ] && [ "$nalerts" -ne "$EXPECT_ALERTS" ]; then
    fail "$nalerts alert lines, expected $EXPECT_ALERTS"
fi
if [ "$NO_ALERTS" = 1 ] && [ "$nalerts" -ne 0 ]; then
    fail "$nalerts alert lines, expected none (NO_ALERTS=1)"
fi
if [ -n "$EXPECT_ALERT_MATCH" ] && [ "$nalerts" -gt 0 ]; then
    if grep -vqE -- "$EXPECT_ALERT_MATCH" "$actual"; then
        fail "an alert line does not match /$EXPECT_ALERT_MATCH/"
    fi
fi

if [ "$update" = 1 ]; then
    cp "$actual" "$expected" || fail "cannot write $expected"
    echo "updated $expected ($nalerts alert lines): review it before committing"
    exit 0
fi

if [ ! -f "$expected" ]; then
    if [ "$NO_ALERTS" = 1 ]; then
        echo "PASS $name (no alerts)"
        exit 0
    fi
    fail "no $expected: run $0 --update BIN $casefile and review the result"
fi
if ! cmp -s "$expected" "$actual"; then
    diff -u --label "$name.expected" --label "$name.actual" "$expected" "$actual"
    fail "alerts differ from $name.expected"
fi
echo "PASS $name ($nalerts alerts)"
exit 0
