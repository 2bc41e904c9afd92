#!/usr/bin/env bash
# check_real_pcaps.sh BIN - replays every third-party capture listed in
# $LW_SHARED_DIR/pcaps/real/MANIFEST.tsv, one leakwatch process per file, and fails when any
# run crashes, trips a sanitizer, hangs, or exits with anything but 0 or 2.
#
# The captures are real traffic from public test suites (HTTP, SMTP, DNS, TLS, fragments,
# VLANs, odd link types, deliberately broken files). They are not copied into the repo and
# are not compared with golden output: they check robustness. The rules per file:
#   - at most LW_REAL_TIMEOUT seconds (default 30), else "timeout";
#   - exit >= 128 (a signal) is a crash; "ERROR: AddressSanitizer" (or another sanitizer)
#     or "runtime error:" on stderr is a failure whatever the exit status;
#   - exit 0 is fine; exit 2 (a file leakwatch cannot read) must come with exactly one
#     non-empty line on stderr; any other status fails.
# Output files also go through run_case.sh --leak-check; a finding there is printed as a
# warning (real captures carry real-looking values, e.g. in URLs) without failing the run.
# Nothing a capture holds is printed: stderr lines of failed runs are shown with digit runs
# and emails blanked.
#
# Runs two files at a time (xargs -P, LW_REAL_JOBS) so the suite fits CI time.
# LW_SHARED_DIR defaults to $LW_SOURCE_DIR/../shared; LW_REAL_ARGS adds leakwatch arguments.
# Exit status: 0 all fine, 1 a failure, 77 no shared captures, 2 usage error.
set -u

if [ $# -ne 1 ]; then
    echo "usage: $0 BIN" >&2
    exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
export LW_SOURCE_DIR=${LW_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
LW_SHARED_DIR=${LW_SHARED_DIR:-$LW_SOURCE_DIR/../shared}
realdir=$LW_SHARED_DIR/pcaps/real
manifest=$realdir/MANIFEST.tsv
if [ ! -f "$manifest" ]; then
    echo "skipped: no shared captures"
    exit 77
fi
bin=$1
case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
if [ ! -x "$bin" ]; then
    echo "FAIL: no executable $bin"
    exit 1
fi
conf=$LW_SOURCE_DIR/etc/leakwatch.yaml
if [ ! -f "$conf" ]; then
    echo "FAIL: no config $conf"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/lw-real.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
export LW_BIN=$bin LW_CONF=$conf LW_REALDIR=$realdir LW_TMP=$tmp LW_RUN_CASE=$here/run_case.sh
export LW_REAL_TIMEOUT=${LW_REAL_TIMEOUT:-30} LW_REAL_ARGS=${LW_REAL_ARGS:-}

# run_one INDEX PATH: replays one capture and writes TMP/INDEX.res as
# "verdict<TAB>exit<TAB>path<TAB>reason" with verdict ok0, ok2 or FAIL.
run_one() {
    local i=$1 rel=$2 f out err rc verdict reason extra
    f=$LW_REALDIR/$rel
    out=$LW_TMP/$i.json
    err=$LW_TMP/$i.err
    if [ ! -f "$f" ]; then
        printf 'FAIL\t-\t%s\t%s\n' "$rel" "listed in MANIFEST.tsv but missing" >"$LW_TMP/$i.res"
        return 0
    fi
    read -r -a extra <<<"$LW_REAL_ARGS"
    timeout -k 5 "$LW_REAL_TIMEOUT" "$LW_BIN" -c "$LW_CONF" "${extra[@]}" -r "$f" -o "$out" \
        >/dev/null 2>"$err" </dev/null
    rc=$?
    verdict=FAIL
    reason=""
    if grep -qE 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' "$err"; then
        reason="sanitizer report (exit $rc)"
    elif [ "$rc" -eq 124 ]; then
        reason="timeout after ${LW_REAL_TIMEOUT} s"
    elif [ "$rc" -ge 128 ]; then
        reason="killed by signal $((rc - 128))"
    elif [ "$rc" -eq 0 ]; then
        verdict=ok0
    elif [ "$rc" -eq 2 ]; then
        if [ "$(grep -c . "$err")" -eq 1 ]; then
            verdict=ok2
        else
            reason="exit 2 with $(grep -c . "$err") non-empty stderr lines, expected exactly 1"
        fi
    else
        reason="exit $rc"
    fi
    if [ -s "$out" ] && ! bash "$LW_RUN_CASE" --leak-check "$out" >"$LW_TMP/$i.leak" 2>&1; then
        : # recorded in $i.leak, reported as a warning
    else
        rm -f "$LW_TMP/$i.leak"
    fi
    printf '%s\t%s\t%s\t%s\n' "$verdict" "$rc" "$rel" "$reason" >"$LW_TMP/$i.res"
    [ "$verdict" = FAIL ] || rm -f "$err"
    rm -f "$out"
    return 0
}
export -f run_one

# Path column of every data row, numbered so results can be read back in manifest order.
tail -n +2 "$manifest" | cut -f1 | grep -v '^$' | awk '{ printf "%d\t%s\n", NR, $0 }' >"$tmp/list"
total=$(wc -l <"$tmp/list")
# shellcheck disable=SC2016 # $1 and $2 belong to the inner bash
tr '\t' '\n' <"$tmp/list" |
    xargs -d '\n' -n 2 -P "${LW_REAL_JOBS:-2}" bash -c 'run_one "$1" "$2"' _

redact() {
    sed -E 's/[0-9]{5,}/<digits>/g; s/[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+/<email>/g' | cut -c1-200
}

n0=0 n2=0 nfail=0 nwarn=0
while IFS=$'\t' read -r i rel; do
    res=$tmp/$i.res
    if [ ! -f "$res" ]; then
        echo "FAIL $rel: no result (worker died)"
        nfail=$((nfail + 1))
        continue
    fi
    IFS=$'\t' read -r verdict rc path reason <"$res"
    case "$verdict" in
    ok0) n0=$((n0 + 1)) ;;
    ok2) n2=$((n2 + 1)) ;;
    *)
        nfail=$((nfail + 1))
        echo "FAIL $path: $reason"
        if [ -f "$tmp/$i.err" ]; then
            head -n 8 "$tmp/$i.err" | redact | sed 's/^/    /'
        fi
        ;;
    esac
    if [ -f "$tmp/$i.leak" ]; then
        nwarn=$((nwarn + 1))
        echo "WARN $path: output looks like it holds a value in clear:"
        sed "s|$tmp/$i.json|out.json|" "$tmp/$i.leak" | head -n 5 | sed 's/^/    /'
    fi
done <"$tmp/list"

replayed=$((n0 + n2 + nfail))
[ "$nwarn" -gt 0 ] && echo "real captures: $nwarn outputs with leak-check warnings"
echo "real captures: $replayed replayed, $n0 exit 0, $n2 exit 2, $nfail failed"
[ "$replayed" -eq "$total" ] || exit 1
[ "$nfail" -eq 0 ]
