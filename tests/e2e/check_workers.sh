#!/usr/bin/env bash
# Workers change nothing a reader sees: every e2e case is replayed with one
# worker and with runmode.workers=4 (a few also with 2). The alert and
# anomaly lines, sorted, must be equal; the totals stats line (the last
# "stats" line, the one without a "worker" key) must agree on decode.pkts,
# alert.alerts and burst.alerts; with 4 workers there must be per-worker
# stats lines for workers 0..3. One-worker replays of the demo must also be
# byte-identical from run to run (alerts and stats), as runtime.h promises.
#
# Every file the sensor writes goes through run_case.sh's leak check before
# anything is printed; a difference is reported as counts of lines, never
# as the lines. LW_JOBS (default 2) cases run at once.
# Exit 0 pass, 1 fail, 77 skip (no case could run).
set -uo pipefail
bin=${1:?usage: check_workers.sh LEAKWATCH}
case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
here=$(cd "$(dirname "$0")" && pwd)
top=${LW_SOURCE_DIR:-$(cd "$here/../.." && pwd)}
cfg=$top/etc/leakwatch.yaml
jobs=${LW_JOBS:-2}
per_run=${LW_WORKERS_TIMEOUT:-60}
command -v python3 >/dev/null || { echo "skipped: no python3"; exit 77; }
[ -x "$bin" ] || { echo "FAIL: no executable $bin"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lw-workers.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

# Cases also replayed with two workers (cheap, and they cover DNS,
# fragments and a multi-POST cool-down).
two_workers=" demo cooldown_three_posts dns_via_inside_resolver udp_fragmented "

# run_one DIR TAG ARGS...: one replay into DIR/TAG.{json,err,rc}.
run_one() {
    local dir=$1 tag=$2
    shift 2
    (cd "$top" && timeout -k 5 "$per_run" "$bin" -c "$cfg" "$@" -o "$dir/$tag.json" \
        >"$dir/$tag.stdout" 2>"$dir/$tag.err" </dev/null)
    echo $? >"$dir/$tag.rc"
    [ -f "$dir/$tag.json" ] || : >"$dir/$tag.json"
}

# compare.py REF OTHER NWORKERS: alerts/anomalies and totals; prints one
# reason per difference, no line content.
cat >"$tmp/compare.py" <<'PY'
import json, sys

def load(path):
    events, totals, workers = [], None, set()
    with open(path, encoding="utf-8", errors="replace") as fh:
        for no, line in enumerate(fh, 1):
            line = line.rstrip("\n")
            try:
                ev = json.loads(line)
            except ValueError:
                print("line %d of %s is not JSON" % (no, path.rsplit("/", 1)[-1]))
                sys.exit(1)
            et = ev.get("event_type")
            if et in ("alert", "anomaly"):
                events.append(line)
            elif et == "stats":
                if "worker" in ev:
                    workers.add(ev["worker"])
                else:
                    totals = ev.get("stats")
    return sorted(events), totals, workers

ref, other, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ea, ta, _ = load(ref)
eb, tb, wb = load(other)
bad = []
if ea != eb:
    only_a = len(set(ea) - set(eb))
    only_b = len(set(eb) - set(ea))
    bad.append("alert/anomaly lines differ (%d vs %d lines; %d only with 1 worker, "
               "%d only with %d)" % (len(ea), len(eb), only_a, only_b, n))
if not isinstance(ta, dict) or not isinstance(tb, dict):
    bad.append("no totals stats line")
else:
    for k in ("decode.pkts", "alert.alerts", "burst.alerts"):
        if ta.get(k) != tb.get(k):
            bad.append("%s %s vs %s" % (k, ta.get(k), tb.get(k)))
    if tb.get("runtime.workers") != n:
        bad.append("runtime.workers is %s, want %d" % (tb.get("runtime.workers"), n))
if n > 1 and wb != set(range(n)):
    bad.append("per-worker stats lines for %s, want 0..%d" % (sorted(wb), n - 1))
if bad:
    print("; ".join(bad))
    sys.exit(1)
print("%d events" % len(ea))
PY

# check_case CASEFILE: writes one result line to $tmp/NAME.result.
check_case() {
    local casefile=$1 name dir
    name=$(basename "$casefile" .case)
    dir=$tmp/$name
    mkdir -p "$dir"
    local PCAPS="" ARGS=""
    # shellcheck source=/dev/null
    . "$casefile"
    local rargs=() p extra=()
    for p in $PCAPS; do
        if [ ! -f "$top/$p" ]; then
            echo "SKIP $name: capture $p missing" >"$dir/result"
            return
        fi
        rargs+=(-r "$p")
    done
    read -r -a extra <<<"$ARGS"
    local counts="1 4"
    case "$two_workers" in *" $name "*) counts="1 4 2" ;; esac
    local n
    for n in $counts; do
        run_one "$dir" "w$n" "${extra[@]}" --set "runmode.workers=$n" "${rargs[@]}" &
    done
    wait
    local files=()
    for n in $counts; do files+=("$dir/w$n.json" "$dir/w$n.err" "$dir/w$n.stdout"); done
    if ! bash "$here/run_case.sh" --leak-check "${files[@]}" >"$dir/leak" 2>&1; then
        echo "FAIL $name: output holds a value in clear ($(wc -l <"$dir/leak") findings)" \
            >"$dir/result"
        cat "$dir/leak" >>"$dir/result"
        return
    fi
    local why=() rc1 rc msg
    rc1=$(cat "$dir/w1.rc")
    for n in $counts; do
        rc=$(cat "$dir/w$n.rc")
        if grep -qE 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' "$dir/w$n.err"; then
            why+=("sanitizer report with $n workers")
        fi
        [ "$rc" -ge 124 ] && why+=("$n workers: exit $rc (timeout or signal)")
        [ "$rc" != "$rc1" ] && why+=("exit $rc with $n workers, $rc1 with 1")
        [ "$n" = 1 ] && continue
        if ! msg=$(python3 "$tmp/compare.py" "$dir/w1.json" "$dir/w$n.json" "$n"); then
            why+=("$n workers: $msg")
        fi
    done
    if [ ${#why[@]} -eq 0 ]; then
        echo "PASS $name (workers $counts: $(python3 "$tmp/compare.py" "$dir/w1.json" \
            "$dir/w1.json" 1), exit $rc1)" >"$dir/result"
    else
        local IFS=';'
        echo "FAIL $name: ${why[*]}" >"$dir/result"
    fi
}

names=()
running=0
for casefile in "$top"/tests/e2e/cases/*.case; do
    names+=("$(basename "$casefile" .case)")
    check_case "$casefile" &
    running=$((running + 1))
    if [ "$running" -ge "$jobs" ]; then
        wait -n
        running=$((running - 1))
    fi
done
wait

pass=0 fail=0 skip=0
for name in "${names[@]}"; do
    if [ -f "$tmp/$name/result" ]; then
        cat "$tmp/$name/result"
    else
        echo "FAIL $name: no result (the check itself broke)"
    fi
    case "$(head -c 4 "$tmp/$name/result" 2>/dev/null)" in
    PASS) pass=$((pass + 1)) ;;
    SKIP) skip=$((skip + 1)) ;;
    *) fail=$((fail + 1)) ;;
    esac
done

# Determinism: two one-worker replays of the demo, byte for byte.
demo=pcaps/demo/demo.pcap
if [ -f "$top/$demo" ]; then
    mkdir -p "$tmp/det"
    run_one "$tmp/det" a --set runmode.workers=1 -r "$demo"
    run_one "$tmp/det" b --set runmode.workers=1 -r "$demo"
    if ! bash "$here/run_case.sh" --leak-check "$tmp"/det/*.json "$tmp"/det/*.err >/dev/null; then
        echo "FAIL determinism: output holds a value in clear"
        fail=$((fail + 1))
    elif [ "$(cat "$tmp/det/a.rc")" != 0 ] || [ "$(cat "$tmp/det/b.rc")" != 0 ]; then
        echo "FAIL determinism: exit $(cat "$tmp/det/a.rc") and $(cat "$tmp/det/b.rc"), want 0"
        fail=$((fail + 1))
    elif ! grep -q '"event_type":"alert"' "$tmp/det/a.json"; then
        echo "FAIL determinism: the demo gave no alert"
        fail=$((fail + 1))
    elif ! cmp -s "$tmp/det/a.json" "$tmp/det/b.json"; then
        echo "FAIL determinism: two one-worker demo runs differ" \
            "($(diff "$tmp/det/a.json" "$tmp/det/b.json" | grep -c '^[<>]') lines)"
        fail=$((fail + 1))
    else
        echo "PASS determinism ($(wc -l <"$tmp/det/a.json") lines identical over two runs)"
        pass=$((pass + 1))
    fi
fi

echo "workers: $pass passed, $fail failed, $skip skipped"
if [ "$fail" -eq 0 ] && [ "$pass" -eq 0 ]; then
    echo "skipped: no case could run (captures missing)"
    exit 77
fi
[ "$fail" -eq 0 ]
