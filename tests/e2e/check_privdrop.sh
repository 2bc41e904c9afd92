#!/usr/bin/env bash
# Dropping privileges (run.user, --user): once captures, inputs and outputs
# are open, every thread of the sensor runs as the user and its group with
# no capability left and no way to gain one (tcpdump -Z does the same).
# The sensor reads the demo through a FIFO the test keeps open, so it is
# still running when /proc/PID/task/*/status is read: Uid and Gid (real,
# effective, saved, fs) are nobody's, no supplementary group is root's,
# CapPrm, CapEff and CapAmb are zero and NoNewPrivs is 1, for one worker
# and for runmode.workers=2. Closing the FIFO ends the run: exit 0, the
# demo's alert written. Also: --user of an unknown user is exit 2 with one
# line naming it; --pidfile writes the pid and removes it at exit.
# Needs root and a 'nobody' user; exits 77 (skipped) otherwise.
# shellcheck disable=SC2016 # wait_for eval's its condition later, on purpose
set -uo pipefail
bin=${1:?usage: check_privdrop.sh LEAKWATCH}
case "$bin" in /*) ;; *) bin=$PWD/$bin ;; esac
top=${LW_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
cfg=$top/etc/leakwatch.yaml
pcap=$top/pcaps/demo/demo.pcap
[ "$(id -u)" = 0 ] || { echo "skipped: needs root to switch users"; exit 77; }
nuid=$(id -u nobody 2>/dev/null) || { echo "skipped: no 'nobody' user"; exit 77; }
ngid=$(id -g nobody)
[ -f "$pcap" ] || { echo "skipped: capture pcaps/demo/demo.pcap missing"; exit 77; }
[ -x "$bin" ] || { echo "FAIL: no executable $bin"; exit 1; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/lw-privdrop.XXXXXX") || exit 1
chmod 0755 "$tmp"
pid=
cleanup() {
    exec 3>&- 2>/dev/null
    [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
pass=0
fail=0
say_fail() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
say_pass() { echo "PASS $1: $2"; pass=$((pass + 1)); }

# wait_for SECONDS COMMAND...: polls COMMAND every 50 ms; 1 when it never held.
wait_for() {
    local end=$((SECONDS + $1))
    shift
    while ! "$@"; do
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.05
    done
    return 0
}

# wait_exit SECONDS: waits for $pid; sets rc (124 when it did not exit).
wait_exit() {
    if wait_for "$1" eval '! kill -0 "$pid" 2>/dev/null'; then
        wait "$pid"
        rc=$?
    else
        kill -KILL "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
        rc=124
    fi
    pid=
}

sanitizer() { grep -qE 'ERROR: (Address|Leak|Memory|Thread)Sanitizer|runtime error:' "$1"; }

# start_on_fifo NAME ARGS...: the sensor on a FIFO held open as fd 3.
start_on_fifo() {
    local name=$1
    shift
    mkfifo "$tmp/$name.fifo"
    # O_RDWR does not wait for the reader; closing fd 3 later is the EOF.
    exec 3<>"$tmp/$name.fifo"
    "$bin" -c "$cfg" "$@" -r "$tmp/$name.fifo" -o "$tmp/$name.json" \
        >"$tmp/$name.stdout" 2>"$tmp/$name.err" </dev/null 3>&- &
    pid=$!
    cat "$pcap" >&3
}

uid_is_nobody() {
    [ -r "/proc/$pid/status" ] &&
        awk -v u="$nuid" '$1 == "Uid:" { exit !($2 == u) }' "/proc/$pid/status"
}
ntasks() { find "/proc/$pid/task" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

# check_status FILE: prints what is wrong with one task's credentials.
check_status() {
    awk -v u="$nuid" -v g="$ngid" '
        $1 == "Uid:" { if ($2 != u || $3 != u || $4 != u || $5 != u) print "Uid " $2 "," $3 "," $4 "," $5; su = 1 }
        $1 == "Gid:" { if ($2 != g || $3 != g || $4 != g || $5 != g) print "Gid " $2 "," $3 "," $4 "," $5; sg = 1 }
        $1 == "Groups:" { for (i = 2; i <= NF; i++) if ($i == 0) print "supplementary group 0" }
        $1 == "CapPrm:" || $1 == "CapEff:" || $1 == "CapAmb:" {
            if ($2 != "0000000000000000") print $1 " " $2; sc++ }
        $1 == "NoNewPrivs:" { if ($2 != 1) print "NoNewPrivs " $2; sn = 1 }
        END { if (!su || !sg || sc != 3 || !sn) print "status lines missing" }
    ' "$1"
}

for workers in 1 2; do
    name=drop$workers
    start_on_fifo "$name" --user nobody --set "runmode.workers=$workers"
    want_tasks=1
    [ "$workers" -gt 1 ] && want_tasks=$((workers + 1))
    if ! wait_for 10 eval '[ -f "$tmp/$name.json" ] && uid_is_nobody && [ "$(ntasks)" -ge "$want_tasks" ]'; then
        if kill -0 "$pid" 2>/dev/null; then
            say_fail "$name" "not running as nobody with $want_tasks threads within 10 s"
        else
            say_fail "$name" "the sensor exited before its credentials could be read"
        fi
    else
        bad=""
        n=0
        for st in /proc/"$pid"/task/*/status; do
            n=$((n + 1))
            what=$(check_status "$st" 2>/dev/null | tr '\n' ';')
            tid=${st%/status}
            [ -n "$what" ] && bad="$bad task ${tid##*/}: $what"
        done
        if [ -n "$bad" ]; then
            say_fail "$name" "credentials:$bad"
        else
            say_pass "$name" "$n threads as uid $nuid gid $ngid, no capabilities, NoNewPrivs"
        fi
    fi
    exec 3>&-
    wait_exit 20
    bash "$top/tests/e2e/run_case.sh" --leak-check "$tmp/$name.json" "$tmp/$name.err" \
        "$tmp/$name.stdout" >/dev/null || { say_fail "$name" "output holds a value in clear"; continue; }
    nalerts=$(grep -c '"event_type":"alert"' "$tmp/$name.json" 2>/dev/null)
    if sanitizer "$tmp/$name.err"; then
        say_fail "$name-exit" "sanitizer report"
    elif [ "$rc" != 0 ]; then
        say_fail "$name-exit" "exit $rc after the input closed, want 0: $(head -c 300 "$tmp/$name.err")"
    elif [ "$nalerts" != 1 ]; then
        say_fail "$name-exit" "$nalerts alerts, want 1 (the demo)"
    else
        say_pass "$name-exit" "exit 0, 1 alert"
    fi
done

# An unknown user: exit 2, one line naming it.
"$bin" -c "$cfg" --user no-such-user-xyz -r "$pcap" -o "$tmp/nouser.json" \
    >/dev/null 2>"$tmp/nouser.err" </dev/null
rc=$?
lines=$(wc -l <"$tmp/nouser.err")
if [ "$rc" != 2 ]; then
    say_fail no_such_user "exit $rc, want 2"
elif [ "$lines" != 1 ] || ! grep -q 'no-such-user-xyz' "$tmp/nouser.err"; then
    say_fail no_such_user "$lines stderr lines, want 1 naming the user: $(head -c 300 "$tmp/nouser.err")"
else
    say_pass no_such_user "exit 2, one line"
fi

# --pidfile: written with the pid while running, removed at exit.
start_on_fifo pidf --pidfile "$tmp/lw.pid"
spid=$pid
if ! wait_for 10 eval '[ "$(cat "$tmp/lw.pid" 2>/dev/null)" = "$spid" ]'; then
    say_fail pidfile "no pid file holding $spid within 10 s"
else
    exec 3>&-
    wait_exit 20
    if [ "$rc" != 0 ]; then
        say_fail pidfile "exit $rc, want 0"
    elif [ -e "$tmp/lw.pid" ]; then
        say_fail pidfile "the pid file is still there after exit"
    else
        say_pass pidfile "written while running, removed at exit"
    fi
fi
exec 3>&- 2>/dev/null
[ -n "$pid" ] && wait_exit 20

echo "privdrop: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
